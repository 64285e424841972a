"""The committed health-check fixtures are what status.render() produces now.

When this fails after a change to the status, regenerate with `python -m tests.health.fixtures`,
then read the diff: it is what Argo CD, kstatus and Flux will see differently.
"""

from __future__ import annotations

import pytest

from . import fixtures

FILES = fixtures.expected_files()


@pytest.mark.parametrize("path", sorted(FILES), ids=lambda p: p.name)
def test_committed_fixture_matches_render(path) -> None:
    assert path.exists(), f"{path} is missing: run python -m tests.health.fixtures"
    assert path.read_text() == FILES[path], (
        f"{path.relative_to(fixtures.ROOT)} differs from status.render(): run "
        "python -m tests.health.fixtures and review the diff"
    )


def test_no_stray_testdata() -> None:
    assert set(fixtures.TESTDATA.glob("*.yaml")) == {
        p for p in FILES if p.parent == fixtures.TESTDATA
    }


def test_cases_cover_every_object_phase_and_argo_health() -> None:
    objects = [c.build() for c in fixtures.CASES]
    phases = {o["status"]["phase"] for o in objects if "status" in o}
    assert phases == {"Pending", "InProgress", "Paused", "PartiallyPaused", "Failed",
                      "Resuming", "CatchingUp", "Resumed", "PartiallyResumed", "Planned"}
    assert {c.health for c in fixtures.CASES} == {"Healthy", "Progressing", "Degraded"}
