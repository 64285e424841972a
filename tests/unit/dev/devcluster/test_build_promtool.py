"""promtool's version stamp: Prometheus 3.x releases are published as Go module v0.3MM.P."""

from __future__ import annotations

import pytest

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
