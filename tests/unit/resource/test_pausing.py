"""The pause's own rules (resource/pausing.py): which jobs want a pause, a new pauseMode, the
retry-failed annotation, and no new pause once a resume has begun."""

from __future__ import annotations

import pytest

from drs_pause_operator.resource.job import Leg
from drs_pause_operator.resource.legs import due_checks, due_sends
from drs_pause_operator.resource.pausing import hold_new_pauses, sync
from drs_pause_operator.resource.verbs import (
    ACCEPTED,
    FAILED,
    PAUSE,
    PAUSED,
    PENDING,
    RESUMED,
)

from ..values import J1, J2, J3, NOW, at, job, spec_of


def test_sync_adds_new_jobs_as_pending_and_drops_removed_ones_in_spec_order() -> None:
    current = [job(J1, phase=PAUSED, attempts=1), job(J2, phase=FAILED, attempts=1)]
    jobs, token = sync(spec_of(J3, J1), current, retry_token=None, acted_token=None)
    assert [j.job_id for j in jobs] == [J3, J1]
    assert jobs[0] == job(J3)  # fresh: Pending, no attempts, no resume leg
    assert jobs[0].resume == Leg()
    assert jobs[1] == current[0]  # untouched
    assert token is None


@pytest.mark.parametrize("phase", [PENDING, ACCEPTED, FAILED])
def test_sync_pause_mode_change_resets_a_job_that_is_not_paused(phase: str) -> None:
    before = job(
        J1,
        phase=phase,
        attempts=2,
        api_status="failed",
        error_code="DRS.M05004",
        error_message="gone",
        accepted_time=NOW,
        next_attempt_time=at(60),
        request_id="r1",
    )
    (after,), _ = sync(spec_of((J1, "all")), [before], retry_token=None, acted_token=None)
    assert after.pause_mode == "all"
    assert after.phase == PENDING
    p = after.pause
    assert (p.api_status, p.error_code, p.error_message) == ("", "", "")
    assert p.accepted_time is None
    assert p.next_attempt_time is None  # due at once
    assert p.attempts == 2  # history kept: a re-sent job is prechecked first
    assert J1 in due_sends(PAUSE, [after], NOW)


def test_sync_pause_mode_change_does_not_resend_a_paused_job() -> None:
    before = job(J1, phase=PAUSED, attempts=1, task_status="PAUSING")
    (after,), _ = sync(spec_of((J1, "all")), [before], retry_token=None, acted_token=None)
    assert after == before
    assert due_sends(PAUSE, [after], NOW) == [] and due_checks(PAUSE, [after], NOW) == []


@pytest.mark.parametrize(
    ("retry_token", "acted", "resets", "returned"),
    [
        ("t1", None, True, "t1"),  # first value ever
        ("t2", "t1", True, "t2"),  # a new value
        ("t1", "t1", False, "t1"),  # the same value again: nothing
        (None, "t1", False, "t1"),  # annotation removed: remember what was acted on
        ("", "t1", False, "t1"),
        (None, None, False, None),
    ],
)
def test_sync_retry_token_resets_failed_jobs_once(
    retry_token: str | None, acted: str | None, resets: bool, returned: str | None
) -> None:
    failed = job(J1, phase=FAILED, attempts=1, error_code="DRS.M05004", error_message="x")
    others = [
        job(J2, phase=PAUSED, attempts=1),
        job(J3, phase=ACCEPTED, attempts=1, accepted_time=NOW),
    ]
    jobs, token = sync(
        spec_of(J1, J2, J3), [failed, *others], retry_token=retry_token, acted_token=acted
    )
    assert token == returned
    assert jobs[1:] == others  # only Failed jobs are ever reset
    if resets:
        assert jobs[0].phase == PENDING and jobs[0].pause.error_code == ""
        assert jobs[0].pause.attempts == 1
    else:
        assert jobs[0] == failed


def test_a_job_sent_anew_starts_its_backoff_again() -> None:
    failed = job(J1, phase=FAILED, attempts=9, transient_failures=6, error_code="DRS.M05004")
    (retried,), _ = sync(spec_of(J1), [failed], retry_token="t1", acted_token=None)
    assert retried.phase == PENDING and retried.pause.attempts == 9  # kept for the precheck
    assert retried.pause.transient_failures == 0
    pending = job(J1, attempts=5, transient_failures=5)
    (moved,), _ = sync(spec_of((J1, "all")), [pending], retry_token=None, acted_token=None)
    assert moved.pause_mode == "all" and moved.pause.transient_failures == 0


def test_sync_keeps_each_jobs_resume_leg() -> None:
    resumed = Leg(phase=RESUMED, attempts=1)
    failed = job(J1, phase=FAILED, attempts=1, resume=resumed)
    moved = job(J2, phase=ACCEPTED, attempts=1, resume=Leg(phase=FAILED))
    jobs, _ = sync(spec_of(J1, (J2, "all")), [failed, moved], retry_token="t", acted_token=None)
    assert [j.resume for j in jobs] == [resumed, Leg(phase=FAILED)]


def test_after_the_resume_began_new_jobs_are_not_paused() -> None:
    jobs = [job(J1, phase=PAUSED, resume=Leg(phase=RESUMED)), job(J2),
            job(J3, phase=ACCEPTED)]
    held = hold_new_pauses(jobs, resume_begun=True)
    assert [j.phase for j in held] == [PAUSED, FAILED, ACCEPTED]
    assert held[1].pause.error_message == "not paused: this object's resume had begun"
    assert held[1].pause.next_attempt_time is None
    assert hold_new_pauses(jobs, resume_begun=False) == jobs


def test_a_job_sent_before_the_resume_began_is_not_held() -> None:
    """It may have been paused by that request: it goes on (precheck first) to find out."""
    sent = job(J1, attempts=1)
    assert hold_new_pauses([sent], resume_begun=True) == [sent]
