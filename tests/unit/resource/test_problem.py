"""An operator-level problem carried by the status (resource/problem.py)."""

from __future__ import annotations

import pytest

from drs_pause_operator.resource.problem import Problem, carried_problem


def _stalled(status: str, reason: str, message: str = "m") -> dict[str, object]:
    return {"conditions": [{"type": "Stalled", "status": status, "reason": reason,
                            "message": message}]}


def test_a_stalled_problem_is_carried() -> None:
    assert carried_problem(_stalled("True", "CredentialsNotFound", "no secret")) == Problem(
        "CredentialsNotFound", "no secret")


@pytest.mark.parametrize(
    "status",
    [None, {}, {"conditions": None}, _stalled("False", "CredentialsNotFound"),
     _stalled("True", "JobsFailed"), _stalled("True", "NotStalled")],
)
def test_failed_jobs_and_no_stall_are_not_problems(status: dict[str, object] | None) -> None:
    assert carried_problem(status) is None
