"""The resume's own rules (resource/resuming.py) with plain values: when it begins, what it
covers, its object phase, its finalizer, the long-pause warning and its summary."""

from __future__ import annotations

import datetime as dt
from typing import Any

from drs_pause_operator.resource import resuming
from drs_pause_operator.resource.job import Job, Leg
from drs_pause_operator.resource.resuming import PARTIALLY_RESUMED, RESUMING
from drs_pause_operator.resource.verbs import (
    ACCEPTED,
    FAILED,
    PAUSED,
    PENDING,
    RESUMED,
    SKIPPED,
)

from ..values import J1, J2, J3, NOW, at, job, spec_of


def mine(job_id: str = J1, resume: Leg | None = None, **kw: Any) -> Job:
    """Paused by this object (its request was answered success)."""
    return job(job_id, phase=PAUSED, api_status="success", resume=resume or Leg(), **kw)


def theirs(job_id: str = J2, resume: Leg | None = None) -> Job:
    """Found paused already: DRS.M00304, and batch-status showed PAUSING."""
    return job(job_id, phase=PAUSED, api_status="failed", error_code="DRS.M00304",
               resume=resume or Leg())


def resumed(phase: str, **kw: Any) -> Leg:
    return Leg(phase=phase, **kw)


# --- when ------------------------------------------------------------------------------------


def test_a_resume_at_time_is_due_in_utc() -> None:
    spec = spec_of(J1, resume={"at": "2026-12-01T07:00:00+01:00", "onDelete": True})
    assert spec.resume is not None and spec.resume.on_delete
    assert resuming.resume_time(spec.resume, None) == dt.datetime(2026, 12, 1, 6, tzinfo=dt.UTC)
    assert spec_of(J1).resume is None
    assert resuming.resume_time(None, NOW) is None


def test_paused_time_is_set_when_the_pause_settles_and_kept() -> None:
    assert resuming.paused_time([job(phase=ACCEPTED)], None, NOW) is None
    assert resuming.paused_time([], at(-50), NOW) is None
    assert resuming.paused_time([mine(), job(J2, phase=FAILED)], None, NOW) == NOW
    assert resuming.paused_time([mine()], at(-50), NOW) == at(-50)
    # A job added later is being paused: the pause has not settled any more.
    assert resuming.paused_time([mine(), job(J2)], at(-50), NOW) is None


def test_after_counts_from_the_paused_time() -> None:
    spec = spec_of(J1, resume={"after": "1h"}).resume
    assert resuming.resume_time(spec, None) is None
    assert resuming.resume_time(spec, NOW) == at(3600)


def test_trigger_waits_for_the_pause_to_settle_and_for_the_time() -> None:
    spec = spec_of(J1, resume={"after": "5s", "onDelete": True}).resume
    kw: dict[str, Any] = {"now": NOW, "resume_now": False, "deleting": False}
    assert resuming.trigger(spec, [job(phase=ACCEPTED)], due_at=at(-1), **kw) is None
    assert resuming.trigger(spec, [], due_at=at(-1), **kw) is None
    assert resuming.trigger(spec, [mine()], due_at=at(1), **kw) is None
    assert resuming.trigger(spec, [mine()], due_at=NOW, **kw) == resuming.BY_SCHEDULE
    assert (
        resuming.trigger(spec, [mine()], due_at=at(9), now=NOW, resume_now=False, deleting=True)
        == resuming.BY_DELETION
    )
    assert (
        resuming.trigger(None, [mine()], due_at=None, now=NOW, resume_now=True, deleting=False)
        == resuming.BY_ANNOTATION
    )
    # Begun once: the schedule does not begin it again; a new resume-now value does.
    began = [mine(resume=resumed(RESUMED))]
    assert resuming.trigger(spec, began, due_at=at(-9), **kw) is None
    assert (
        resuming.trigger(spec, began, due_at=at(-9), now=NOW, resume_now=True, deleting=False)
        == resuming.BY_ANNOTATION
    )


def test_deletion_without_on_delete_does_not_resume() -> None:
    spec = spec_of(J1, resume={"after": "1h"}).resume
    assert resuming.trigger(spec, [mine()], due_at=at(60), now=NOW, resume_now=False,
                            deleting=True) is None


def test_new_token() -> None:
    assert resuming.new_token("a", None) and resuming.new_token("b", "a")
    assert not resuming.new_token("a", "a") and not resuming.new_token(None, "a")
    assert not resuming.new_token("", None)


# --- begin -----------------------------------------------------------------------------------


def test_begin_resumes_only_what_this_object_paused() -> None:
    jobs = [mine(J1), theirs(J2), job(J3, phase=FAILED, error_code="DRS.M05003")]
    began = resuming.begin(jobs)
    assert [j.resume.phase for j in began] == [PENDING, SKIPPED, SKIPPED]
    assert "someone else" in began[1].resume.error_message
    assert began[2].resume.error_message == "not paused by this object"
    assert [j.pause for j in began] == [j.pause for j in jobs]  # the pauses stay as they are
    # A pause whose answer was lost but whose task showed PAUSING was ours.
    lost = job(J1, phase=PAUSED, attempts=1)
    assert resuming.begin([lost])[0].resume.phase == PENDING
    assert resuming.paused_by_us(lost) and not resuming.paused_by_us(theirs())


def test_begin_leaves_a_begun_resume_alone() -> None:
    going = [mine(J1, resume=resumed(ACCEPTED, attempts=1, accepted_time=NOW)),
             mine(J2, resume=resumed(RESUMED, attempts=1))]
    assert resuming.begin(going) == going


def test_resume_now_again_retries_failed_resumes_only() -> None:
    jobs = [mine(J1, resume=resumed(FAILED, error_code="DRS.M05004", attempts=2,
                                    error_message="x", next_attempt_time=at(9))),
            mine(J2, resume=resumed(RESUMED))]
    again = resuming.begin(jobs, again=True)
    assert [j.resume.phase for j in again] == [PENDING, RESUMED]
    first = again[0].resume
    assert first.attempts == 2 and first.error_code == "" and first.error_message == ""
    assert first.next_attempt_time is None
    counted = [jobs[0].update(resume=jobs[0].resume.update(transient_failures=4)), jobs[1]]
    assert resuming.begin(counted, again=True)[0].resume.transient_failures == 0
    assert resuming.begin(jobs)[0].resume.phase == FAILED


# --- object level ------------------------------------------------------------------------------


def test_object_phases() -> None:
    assert resuming.object_phase([mine()]) is None
    assert resuming.object_phase([mine(resume=resumed(SKIPPED))]) is None
    assert resuming.object_phase([mine(J1, resumed(ACCEPTED)),
                                  mine(J2, resumed(RESUMED))]) == RESUMING
    assert resuming.object_phase([mine(J1, resumed(PENDING))]) == RESUMING
    assert resuming.object_phase([mine(J1, resumed(RESUMED)),
                                  theirs(J2, resumed(SKIPPED))]) == RESUMED
    assert resuming.object_phase([mine(J1, resumed(FAILED)),
                                  mine(J2, resumed(RESUMED))]) == PARTIALLY_RESUMED


def test_begun_settled_and_finished() -> None:
    assert not resuming.begun([mine()]) and resuming.begun([mine(resume=resumed(SKIPPED))])
    assert resuming.settled([mine(), job(J2, phase=FAILED)])
    assert not resuming.settled([mine(), job(J2, phase=ACCEPTED)])
    assert not resuming.finished([mine()])
    assert resuming.finished([mine(J1, resumed(RESUMED)), theirs(J2, resumed(SKIPPED))])
    assert not resuming.finished([mine(J1, resumed(RESUMED)), mine(J2, resumed(FAILED))])
    assert not resuming.finished([mine(J1, resumed(ACCEPTED))])


def test_the_finalizer_is_wanted_only_with_on_delete_until_done() -> None:
    on = spec_of(J1, resume={"onDelete": True}).resume
    off = spec_of(J1, resume={"after": "1h"}).resume
    assert resuming.finalizer_wanted(on, [mine()])
    assert resuming.finalizer_wanted(on, [mine(resume=resumed(FAILED))])
    assert not resuming.finalizer_wanted(on, [mine(resume=resumed(RESUMED))])
    assert not resuming.finalizer_wanted(on, [mine(resume=resumed(SKIPPED))])
    assert not resuming.finalizer_wanted(off, [mine()])
    assert not resuming.finalizer_wanted(None, [mine()])


def test_long_pause_warning_only_for_mode_all() -> None:
    all_mode = [mine(pause_mode="all")]
    assert resuming.long_pause(all_mode, NOW, at(24 * 3600 + 1), NOW)
    assert not resuming.long_pause(all_mode, NOW, at(24 * 3600), NOW)
    assert not resuming.long_pause([mine()], NOW, at(48 * 3600), NOW)
    assert not resuming.long_pause(all_mode, NOW, None, NOW)
    # Still being paused counts (the pause is wanted); someone else's pause does not.
    assert resuming.long_pause([job(J1, pause_mode="all")], None, at(25 * 3600), NOW)
    other = [theirs().update(pause_mode="all")]
    assert not resuming.long_pause(other, NOW, at(25 * 3600), NOW)


def test_summary_counts_what_this_object_resumes() -> None:
    assert resuming.summary([mine()]) == ("0 of 0 jobs resumed", [])
    jobs = [
        mine(J1, resumed(RESUMED)),
        mine(J2, resumed(FAILED, error_code="DRS.M05004")),
        mine("j3", resumed(FAILED, error_code="DRS.M05004")),
        mine("j4", resumed(FAILED, error_code="DRS.M00202")),
        mine("j5", resumed(ACCEPTED)),
        mine("j6", resumed(PENDING)),
        theirs("j7", resumed(SKIPPED)),
    ]
    text, codes = resuming.summary(jobs)
    assert text == "1 of 6 jobs resumed; 3 failed to resume; 2 in progress; 1 skipped"
    assert codes == ["DRS.M00202", "DRS.M05004"]
    assert [j.job_id for j in resuming.counted(jobs)] == [J1, J2, "j3", "j4", "j5", "j6"]
