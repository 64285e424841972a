"""promtool's version stamp: Prometheus 3.x releases are published as Go module v0.3MM.P."""

from __future__ import annotations

from pathlib import Path

import pytest

from drs_pause_operator.dev.devcluster import build
from drs_pause_operator.dev.devcluster.build import (
    PROMTOOL_VERSION,
    DevClusterError,
    prometheus_release,
)


@pytest.mark.parametrize(
    ("module", "release"),
    [("v0.316.0", "3.16.0"), ("v0.300.2", "3.0.2"), ("v0.310.11", "3.10.11"),
     ("v0.401.0", "4.1.0")],
)
def test_prometheus_release_of_a_module_version(module: str, release: str) -> None:
    assert prometheus_release(module) == release


@pytest.mark.parametrize("module", ["v2.53.0", "v0.316", "v0.316.0-rc.0", "latest", ""])
def test_other_versions_are_refused(module: str) -> None:
    with pytest.raises(DevClusterError, match=r"not a Prometheus 3\.x module version"):
        prometheus_release(module)


def test_the_pinned_version_is_one() -> None:
    assert prometheus_release(PROMTOOL_VERSION).startswith("3.")


def test_promtool_is_built_without_the_optional_service_discoveries(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    calls: list[list[str]] = []

    def fake_go(args: list[str], cwd: Path, what: str, env: dict[str, str] | None = None) -> None:
        calls.append(args)
        assert env is not None
        gobin = Path(env["GOBIN"])
        gobin.mkdir(parents=True, exist_ok=True)
        (gobin / "promtool").write_text("built")

    monkeypatch.setattr(build, "cache_root", lambda: tmp_path)
    monkeypatch.setattr(build, "_run_go", fake_go)
    target = build.ensure_promtool(log=lambda *_: None)
    assert target == tmp_path / "tools" / f"promtool-{PROMTOOL_VERSION}-remove_all_sd"
    assert target.read_text() == "built"
    (args,) = calls
    assert args[args.index("-tags") + 1] == "remove_all_sd"
    assert args[-1] == f"github.com/prometheus/prometheus/cmd/promtool@{PROMTOOL_VERSION}"
    # Cached: a second call builds nothing.
    assert build.ensure_promtool(log=lambda *_: None) == target and len(calls) == 1
