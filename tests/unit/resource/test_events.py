"""The Events of a pass (resource/events.py): one per transition of the object's phase or of
an operator-level problem, and the resume's own, each posted once."""

from __future__ import annotations

from typing import Any

import pytest

from drs_pause_operator.resource import resuming
from drs_pause_operator.resource.conditions import condition
from drs_pause_operator.resource.events import resume_events, transition_events
from drs_pause_operator.resource.job import Job, Leg
from drs_pause_operator.resource.problem import Problem
from drs_pause_operator.resource.status import ObjectStatus, render
from drs_pause_operator.resource.verbs import FAILED, PAUSED, PENDING, RESUMED

from ..values import J1, J2, NOW, at, job


def _status(
    jobs: list[Job],
    problem: Problem | None = None,
    old: dict[str, Any] | None = None,
    now: Any = NOW,
    **extra: Any,
) -> dict[str, Any]:
    return render(old, ObjectStatus(jobs, 1, problem, **extra), now)


def test_no_events_when_nothing_changed() -> None:
    for jobs in (
        [job(J1)],
        [job(J1, attempts=1)],
        [job(J1, phase=PAUSED)],
        [job(J1, phase=FAILED)],
    ):
        s = _status(jobs)
        assert transition_events(s, s) == []
        assert transition_events(s, _status(jobs, old=s, now=at(60))) == []
    s = _status([job(J1)], Problem("CredentialsNotFound", "no secret"))
    assert (
        transition_events(
            s, _status([job(J1)], Problem("CredentialsNotFound", "no secret"), old=s, now=at(5))
        )
        == []
    )


def test_first_status_while_pending_posts_nothing() -> None:
    assert transition_events(None, _status([job(J1)])) == []
    assert transition_events({}, _status([job(J1)])) == []


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        ([job(J1)], [job(J1, attempts=1)], [("Normal", "Pausing")]),
        ([job(J1, attempts=1)], [job(J1, phase=PAUSED)], [("Normal", "Paused")]),
        (
            [job(J1, attempts=1), job(J2, attempts=1)],
            [job(J1, phase=PAUSED), job(J2, phase=FAILED)],
            [("Warning", "PartiallyPaused")],
        ),
        ([job(J1, attempts=1)], [job(J1, phase=FAILED)], [("Warning", "Failed")]),
        ([job(J1)], [job(J1, phase=PAUSED)], [("Normal", "Paused")]),
        ([job(J1, phase=FAILED)], [job(J1, phase=PAUSED)], [("Normal", "Paused")]),
        (
            [job(J1, phase=PAUSED)],
            [job(J1, phase=PAUSED, resume=Leg(phase=PENDING))],
            [("Normal", "Resuming")],
        ),
        (
            [job(J1, phase=PAUSED, resume=Leg(phase=PENDING))],
            [job(J1, phase=PAUSED, resume=Leg(phase=RESUMED))],
            [("Normal", "Resumed")],
        ),
        (
            [job(J1, phase=PAUSED, resume=Leg(phase=PENDING)),
             job(J2, phase=PAUSED, resume=Leg(phase=PENDING))],
            [job(J1, phase=PAUSED, resume=Leg(phase=RESUMED)),
             job(J2, phase=PAUSED, resume=Leg(phase=FAILED))],
            [("Warning", "PartiallyResumed")],
        ),
    ],
)
def test_one_event_per_phase_transition(
    before: list[Job], after: list[Job], expected: list[tuple[str, str]]
) -> None:
    old = _status(before)
    events = transition_events(old, _status(after, old=old, now=at(10)))
    assert [(t, r) for t, r, _ in events] == expected
    assert all(m for _, _, m in events)


def test_problem_events_warn_once_and_recover_once() -> None:
    ok = _status([job(J1)])
    stalled = _status([job(J1)], Problem("EndpointNotAllowed", "use an allowed endpoint"), ok)
    assert transition_events(ok, stalled) == [
        ("Warning", "EndpointNotAllowed", "use an allowed endpoint")
    ]
    other = _status([job(J1)], Problem("CredentialsNotFound", "no secret"), stalled)
    assert transition_events(stalled, other) == [("Warning", "CredentialsNotFound", "no secret")]
    fixed = _status([job(J1, attempts=1)], None, other)
    assert transition_events(other, fixed) == [
        ("Normal", "Pausing", fixed["conditions"][0]["message"]),
        ("Normal", "Recovered", "CredentialsNotFound resolved"),
    ]


def test_jobs_failed_is_not_a_problem_event() -> None:
    old = _status([job(J1, attempts=1)])
    new = _status([job(J1, phase=FAILED, error_code="DRS.M05003")], old=old)
    stalled, ready = condition(new, "Stalled"), condition(new, "Ready")
    assert stalled is not None and stalled["reason"] == "JobsFailed"
    assert ready is not None
    assert transition_events(old, new) == [("Warning", "Failed", ready["message"])]
    again = _status([job(J1, phase=PENDING, attempts=1)], old=new)  # retried
    assert [r for _, r, _ in transition_events(new, again)] == ["Pausing"]


def _mine(pause_mode: str = "target") -> Job:
    return job(J1, phase=PAUSED, api_status="success", pause_mode=pause_mode)


def test_resume_events_for_long_pauses_and_blocked_deletions() -> None:
    quiet = _status([_mine("all")], paused_at=NOW, due_at=at(3600))
    loud = _status([_mine("all")], paused_at=NOW, due_at=at(25 * 3600), warn_long=True)
    assert [e[1] for e in resume_events(quiet, loud, None)] == ["LongPause"]
    (long_pause,) = resume_events(quiet, loud, None)
    assert long_pause[0] == "Warning" and "resumes at 2026-11-29T11:00:00Z" in long_pause[2]
    assert resume_events(loud, loud, None) == []
    assert [e[1] for e in resume_events(None, quiet, resuming.BY_SCHEDULE)] == ["ResumeDue"]
    failed = [_mine().update(resume=Leg(phase=FAILED, error_code="DRS.M05004"))]
    blocked = _status(failed, deleting=True)
    events = resume_events(_status(failed), blocked, None)
    assert [(e[0], e[1]) for e in events] == [("Warning", "DeletionBlocked")]
    assert "deletion waits for the resume" in events[0][2]
    assert resume_events(blocked, blocked, None) == []


@pytest.mark.parametrize(
    ("why", "text"),
    [
        (resuming.BY_ANNOTATION, "resuming now (drs.cloudops.dev/resume-now)"),
        (resuming.BY_DELETION, "resuming before the object goes (spec.resume.onDelete)"),
        (resuming.BY_SCHEDULE, "resuming as scheduled"),
    ],
)
def test_why_a_resume_began(why: str, text: str) -> None:
    s = _status([_mine()])
    assert resume_events(s, s, why) == [("Normal", why, text)]
