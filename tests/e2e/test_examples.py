"""The manifests in examples/ are valid against the real API server (server-side dry run)."""

from __future__ import annotations

from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples").glob("*.yaml"))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_is_accepted(cluster, path: Path) -> None:
    if cluster.kubectl("get", "namespace", "data-platform", check=False).returncode != 0:
        cluster.kubectl("create", "namespace", "data-platform")
    result = cluster.kubectl("apply", "--dry-run=server", "-f", str(path))
    assert "(server dry run)" in result.stdout
    assert "Warning" not in result.stderr
