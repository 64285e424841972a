"""Property tests of the status document (resource/status.py): any jobs, either leg in any
phase, any problem: render is stable, well formed and bounded."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drs_pause_operator.resource.job import Job
from drs_pause_operator.resource.problem import Problem
from drs_pause_operator.resource.status import ObjectStatus, render

from ..strategies import jobs, problem
from ..values import NOW, assert_well_formed

SETTINGS = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
def _render(old: dict[str, Any] | None, js: list[Job], generation: int,
            p: Problem | None, now: dt.datetime) -> dict[str, Any]:
    return render(old, ObjectStatus(js, generation, p), now)


@SETTINGS
@given(current=jobs, p=problem, generation=st.integers(1, 10), later=st.integers(1, 10**6))
def test_render_is_stable(
    current: list[Job], p: Problem | None, generation: int, later: int
) -> None:
    first = _render(None, current, generation, p, NOW)
    assert _render(None, current, generation, p, NOW) == first
    assert_well_formed(first)
    then = NOW + dt.timedelta(seconds=later)
    again = _render(first, current, generation, p, then)
    assert again == first  # nothing flipped: not even a transition time moves
    bumped = _render(first, current, generation + 1, p, then)
    assert [c["lastTransitionTime"] for c in bumped["conditions"]] == [
        c["lastTransitionTime"] for c in first["conditions"]
    ]
    assert {c["observedGeneration"] for c in bumped["conditions"]} == {generation + 1}
