"""spec.resume: the pure steps of resource/resume.py with plain values."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from drs_pause_operator.resource import resume
from drs_pause_operator.resource.reconcile import UNSEEN_LOOKUPS, Policy
from drs_pause_operator.resource.resume import (
    PARTIALLY_RESUMED,
    R_ACCEPTED,
    R_FAILED,
    R_PENDING,
    RESUMED,
    RESUMING,
    SKIPPED,
    ResumeState,
)
from drs_pause_operator.resource.spec import SpecError, parse_duration, parse_spec
from drs_pause_operator.resource.status import ACCEPTED, FAILED, PAUSED, PENDING, render

from ..values import J1, J2, J3, NOW, Pause, Task, at, job, spec_of

POLICY = Policy(verify_timeout=60, backoff_base=1, backoff_cap=30)


def mine(job_id: str = J1, **kw) -> object:
    return job(job_id, phase=PAUSED, api_status="success", **kw)


def theirs(job_id: str = J2) -> object:
    return job(job_id, phase=PAUSED, api_status="failed", error_code="DRS.M00304")


# --- spec ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("5s", 5), ("15m", 900), ("2h", 7200), ("1h30m", 5400), ("1h0m10s", 3610)],
)
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text) == dt.timedelta(seconds=seconds)


@pytest.mark.parametrize("resume_spec", [{"after": "5"}, {"after": "1d"}, {"after": ""},
                                         {"after": "30m1h"},
                                         {"after": "1h", "at": "2026-12-01T06:00:00Z"},
                                         {"at": "2026-12-01T06:00:00"}, {"when": "later"}])
def test_bad_resume_specs_are_refused(resume_spec: dict) -> None:
    with pytest.raises(SpecError):
        parse_spec({"projectId": "p", "jobs": [{"jobId": J1, "pauseMode": "all"}],
                    "resume": resume_spec})


def test_a_resume_spec_parses() -> None:
    spec = spec_of(J1, resume={"at": "2026-12-01T07:00:00+01:00", "onDelete": True})
    assert spec.resume is not None and spec.resume.on_delete
    assert resume.resume_time(spec.resume, None) == dt.datetime(2026, 12, 1, 6, tzinfo=dt.UTC)
    assert spec_of(J1).resume is None


# --- when ------------------------------------------------------------------------------------


def test_paused_time_is_set_when_the_pause_settles_and_kept() -> None:
    assert resume.paused_time([job(phase=ACCEPTED)], None, NOW) is None
    assert resume.paused_time([mine(), job(J2, phase=FAILED)], None, NOW) == NOW
    assert resume.paused_time([mine()], at(-50), NOW) == at(-50)
    # A job added later is being paused: the pause has not settled any more.
    assert resume.paused_time([mine(), job(J2)], at(-50), NOW) is None


def test_after_counts_from_the_paused_time() -> None:
    spec = spec_of(J1, resume={"after": "1h"}).resume
    assert resume.resume_time(spec, None) is None
    assert resume.resume_time(spec, NOW) == at(3600)


def test_trigger_waits_for_the_pause_to_settle_and_for_the_time() -> None:
    spec = spec_of(J1, resume={"after": "5s", "onDelete": True}).resume
    states = [ResumeState(J1)]
    kw = {"now": NOW, "resume_now": False, "deleting": False}
    assert resume.trigger(spec, [job(phase=ACCEPTED)], states, due_at=at(-1), **kw) is None
    assert resume.trigger(spec, [mine()], states, due_at=at(1), **kw) is None
    assert resume.trigger(spec, [mine()], states, due_at=NOW, **kw) == resume.BY_SCHEDULE
    assert (
        resume.trigger(spec, [mine()], states, due_at=at(9), now=NOW, resume_now=False,
                       deleting=True)
        == resume.BY_DELETION
    )
    assert (
        resume.trigger(None, [mine()], states, due_at=None, now=NOW, resume_now=True,
                       deleting=False)
        == resume.BY_ANNOTATION
    )
    # Begun once: the schedule does not begin it again.
    began = [ResumeState(J1, phase=RESUMED)]
    assert resume.trigger(spec, [mine()], began, due_at=at(-9), **kw) is None


def test_deletion_without_on_delete_does_not_resume() -> None:
    spec = spec_of(J1, resume={"after": "1h"}).resume
    assert resume.trigger(spec, [mine()], [ResumeState(J1)], due_at=at(60), now=NOW,
                          resume_now=False, deleting=True) is None


def test_new_token() -> None:
    assert resume.new_token("a", None) and resume.new_token("b", "a")
    assert not resume.new_token("a", "a") and not resume.new_token(None, "a")


def test_begin_resumes_only_what_this_object_paused() -> None:
    jobs = [mine(J1), theirs(J2), job(J3, phase=FAILED, error_code="DRS.M05003")]
    states = resume.begin(jobs, [ResumeState(j.job_id) for j in jobs])
    assert [s.phase for s in states] == [R_PENDING, SKIPPED, SKIPPED]
    assert "someone else" in states[1].error_message
    # A pause whose answer was lost but whose task showed PAUSING was ours.
    lost = job(J1, phase=PAUSED, attempts=1)
    assert resume.begin([lost], [ResumeState(J1)])[0].phase == R_PENDING


def test_resume_now_again_retries_failed_resumes_only() -> None:
    jobs = [mine(J1), mine(J2)]
    states = [ResumeState(J1, phase=R_FAILED, error_code="DRS.M05004", attempts=2),
              ResumeState(J2, phase=RESUMED)]
    again = resume.begin(jobs, states, again=True)
    assert [s.phase for s in again] == [R_PENDING, RESUMED]
    assert again[0].attempts == 2 and again[0].error_code == ""
    counted = [states[0].update(transient_failures=4), states[1]]
    assert resume.begin(jobs, counted, again=True)[0].transient_failures == 0
    assert resume.begin(jobs, states)[0].phase == R_FAILED


def test_after_the_resume_began_new_jobs_are_not_paused() -> None:
    jobs = [mine(J1), job(J2), job(J3, phase=ACCEPTED)]
    held = resume.hold_new_pauses(jobs, [ResumeState(J1, phase=RESUMED), ResumeState(J2),
                                         ResumeState(J3)])
    assert [j.phase for j in held] == [PAUSED, FAILED, ACCEPTED]
    assert resume.hold_new_pauses(jobs, [ResumeState(j.job_id) for j in jobs]) == jobs


# --- the loop --------------------------------------------------------------------------------


def test_write_ahead_then_a_look_before_sending_again() -> None:
    states = [ResumeState(J1, phase=R_PENDING)]
    assert resume.due_checks(states, NOW) == [] and resume.due_resumes(states, NOW) == [J1]
    sent = resume.mark_attempts(states, {J1}, NOW)
    assert sent[0].attempts == 1 and sent[0].last_attempt_time == NOW
    # After a crash: looked up first; a task out of PAUSING is Resumed and not sent again.
    assert resume.due_checks(sent, NOW) == [J1]
    looked = resume.apply_status(sent, {J1: Task(J1, "INCRE_TRANSFER_STARTED")}, NOW)
    assert looked[0].phase == RESUMED and resume.due_resumes(looked, NOW) == []
    # Still PAUSING: it is sent.
    still = resume.apply_status(sent, {J1: Task(J1, "PAUSING")}, NOW)
    assert still[0].phase == R_PENDING and resume.due_resumes(still, NOW) == [J1]


def test_success_is_verified_out_of_pausing() -> None:
    states = resume.mark_attempts([ResumeState(J1, phase=R_PENDING)], {J1}, NOW)
    states, verify = resume.apply_resume(states, {J1: Pause(J1, request_id="r1")}, NOW, POLICY)
    assert states[0].phase == R_ACCEPTED and verify == [J1] and states[0].request_id == "r1"
    polled = resume.apply_status(states, {J1: Task(J1, "PAUSING")}, NOW)
    assert polled[0].phase == R_ACCEPTED and polled[0].next_attempt_time > NOW
    done = resume.apply_status(polled, {J1: Task(J1, "FULL_TRANSFER_STARTED")}, at(5))
    assert done[0].phase == RESUMED and done[0].next_attempt_time is None
    # Without verification the answer is trusted.
    trusted, verify = resume.apply_resume(
        resume.mark_attempts([ResumeState(J1, phase=R_PENDING)], {J1}, NOW),
        {J1: Pause(J1)}, NOW, Policy(verify_timeout=0))
    assert trusted[0].phase == RESUMED and verify == []


def test_transient_answers_back_off_and_terminal_ones_fail() -> None:
    states = resume.mark_attempts([ResumeState(J1, phase=R_PENDING),
                                   ResumeState(J2, phase=R_PENDING)], {J1, J2}, NOW)
    out, verify = resume.apply_resume(
        states,
        {J1: Pause(J1, "failed", "DRS.M01504", transient=True, retry_after=7),
         J2: Pause(J2, "failed", "DRS.M05004", "deleted")},
        NOW, POLICY)
    assert out[0].phase == R_PENDING and out[0].next_attempt_time >= at(7)
    assert out[1].phase == R_FAILED and out[1].error_code == "DRS.M05004" and verify == []


def test_the_resume_backoff_counts_transient_answers_not_cut_off_sends() -> None:
    # Six resume requests cut off by restarts, then a transient answer: about 1 s, not 2^6 s.
    cut = [ResumeState(J1, phase=R_PENDING, attempts=6)]
    out, _ = resume.apply_resume(resume.mark_attempts(cut, {J1}, NOW),
                                 {J1: Pause(J1, "failed", "DRS.M01504", transient=True)},
                                 NOW, POLICY, random.Random(1))
    assert out[0].attempts == 7 and out[0].transient_failures == 1
    assert at(0.5) <= out[0].next_attempt_time <= at(1)
    # A third transient answer in a row: the third step (2 to 4 s).
    again = [out[0].update(transient_failures=2)]
    out, _ = resume.apply_resume(again, {J1: Pause(J1, "failed", "DRS.M01504", transient=True)},
                                 NOW, POLICY, random.Random(1))
    assert out[0].transient_failures == 3 and at(2) <= out[0].next_attempt_time <= at(4)
    assert out[0].fields()["resumeTransientFailures"] == 3
    assert ResumeState.from_dict({"jobId": J1, **out[0].fields()}).transient_failures == 3
    assert "resumeTransientFailures" not in cut[0].fields()


def test_not_resumable_is_looked_up() -> None:
    states = resume.mark_attempts([ResumeState(J1, phase=R_PENDING),
                                   ResumeState(J2, phase=R_PENDING)], {J1, J2}, NOW)
    out, verify = resume.apply_resume(
        states, {j: Pause(j, "failed", "DRS.M00304") for j in (J1, J2)}, NOW, POLICY)
    assert verify == [J1, J2]
    answers = {J1: Task(J1, "INCRE_TRANSFER_STARTED"), J2: Task(J2, "PAUSING")}
    out = resume.settle_not_resumable(resume.apply_status(out, answers, NOW), answers, verify)
    assert [s.phase for s in out] == [RESUMED, R_FAILED]
    assert "task is PAUSING" in out[1].error_message


def test_a_resume_that_never_leaves_pausing_fails_after_the_timeout() -> None:
    states = [ResumeState(J1, phase=R_ACCEPTED, accepted_time=NOW, attempts=1)]
    assert resume.expire(states, at(59), POLICY)[0].phase == R_ACCEPTED
    assert resume.expire(states, at(60), POLICY, observed={J1})[0].phase == R_FAILED
    # Not looked up in this pass: looked up first.
    assert resume.expire(states, at(60), POLICY, observed=set())[0].phase == R_ACCEPTED
    # Past twice the timeout, the first lookup that leaves it out does not fail it; a few do.
    late = resume.expire(states, at(130), POLICY, observed=set(), asked={J1})
    assert late[0].phase == R_ACCEPTED and late[0].unanswered_lookups == 1
    assert late[0].fields()["resumeUnansweredLookups"] == 1
    for _ in range(UNSEEN_LOOKUPS - 1):
        late = resume.expire(late, at(130), POLICY, observed=set(), asked={J1})
    assert late[0].phase == R_FAILED


def test_a_gone_task_fails_the_resume() -> None:
    states = [ResumeState(J1, phase=R_ACCEPTED, accepted_time=NOW, attempts=1)]
    out = resume.apply_status(states, {J1: Task(J1, None, "DRS.M05003", "not found")}, NOW)
    assert out[0].phase == R_FAILED and out[0].error_code == "DRS.M05003"


def test_next_wakeup_includes_the_schedule() -> None:
    assert resume.next_wakeup([ResumeState(J1)], NOW, POLICY, at(3600)) == 3600
    assert resume.next_wakeup([ResumeState(J1)], NOW, POLICY, None) is None
    began = [ResumeState(J1, phase=R_PENDING, next_attempt_time=at(4))]
    assert resume.next_wakeup(began, NOW, POLICY, at(-10)) == 4


# --- object level ------------------------------------------------------------------------------


def test_object_phases() -> None:
    assert resume.object_phase([ResumeState(J1)]) is None
    assert resume.object_phase([ResumeState(J1, phase=SKIPPED)]) is None
    assert resume.object_phase([ResumeState(J1, phase=R_ACCEPTED),
                                ResumeState(J2, phase=RESUMED)]) == RESUMING
    assert resume.object_phase([ResumeState(J1, phase=RESUMED),
                                ResumeState(J2, phase=SKIPPED)]) == RESUMED
    assert resume.object_phase([ResumeState(J1, phase=R_FAILED),
                                ResumeState(J2, phase=RESUMED)]) == PARTIALLY_RESUMED


def test_the_finalizer_is_wanted_only_with_on_delete_until_done() -> None:
    on = spec_of(J1, resume={"onDelete": True}).resume
    off = spec_of(J1, resume={"after": "1h"}).resume
    assert resume.finalizer_wanted(on, [ResumeState(J1)])
    assert resume.finalizer_wanted(on, [ResumeState(J1, phase=R_FAILED)])
    assert not resume.finalizer_wanted(on, [ResumeState(J1, phase=RESUMED)])
    assert not resume.finalizer_wanted(on, [ResumeState(J1, phase=SKIPPED)])
    assert not resume.finalizer_wanted(off, [ResumeState(J1)])
    assert not resume.finalizer_wanted(None, [ResumeState(J1)])


def test_long_pause_warning_only_for_mode_all() -> None:
    all_mode = [mine(pause_mode="all")]
    assert resume.long_pause(all_mode, NOW, at(24 * 3600 + 1), NOW)
    assert not resume.long_pause(all_mode, NOW, at(24 * 3600), NOW)
    assert not resume.long_pause([mine()], NOW, at(48 * 3600), NOW)
    assert not resume.long_pause(all_mode, NOW, None, NOW)


def _decorated(states, jobs, due_at=None, **kw):
    base = render(None, jobs, 1, None, NOW)
    d = resume.Decoration(states, NOW, due_at, kw.pop("token", None), **kw)
    return resume.decorate(None, base, d, 1, NOW)


def _cond(status, ctype):
    return next(c for c in status["conditions"] if c["type"] == ctype)


def test_waiting_for_the_resume_is_ready_and_says_when() -> None:
    status = _decorated([ResumeState(J1)], [mine()], due_at=at(3600))
    assert status["phase"] == "Paused" and status["resumeTime"] == "2026-11-28T11:00:00Z"
    assert status["pausedTime"] == "2026-11-28T10:00:00Z"
    ready = _cond(status, "Ready")
    assert ready["status"] == "True" and "resumes at 2026-11-28T11:00:00Z" in ready["message"]
    assert _cond(status, "Reconciling")["status"] == "False"
    assert "resumePhase" not in status["jobs"][0]


def test_resumed_and_partially_resumed_conditions() -> None:
    jobs = [mine(J1), mine(J2), theirs(J3)]
    done = _decorated([ResumeState(J1, phase=RESUMED), ResumeState(J2, phase=RESUMED),
                       ResumeState(J3, phase=SKIPPED)], jobs)
    assert done["phase"] == "Resumed" and _cond(done, "Ready")["status"] == "True"
    assert [j["resumePhase"] for j in done["jobs"]] == [RESUMED, RESUMED, SKIPPED]
    part = _decorated([ResumeState(J1, phase=RESUMED),
                       ResumeState(J2, phase=R_FAILED, error_code="DRS.M05004"),
                       ResumeState(J3, phase=SKIPPED)], jobs)
    assert part["phase"] == PARTIALLY_RESUMED
    stalled = _cond(part, "Stalled")
    assert stalled["status"] == "True" and "DRS.M05004" in stalled["message"]
    assert "resume-now" in stalled["message"]
    going = _decorated([ResumeState(J1, phase=R_ACCEPTED), ResumeState(J2, phase=RESUMED),
                        ResumeState(J3, phase=SKIPPED)], jobs)
    assert going["phase"] == RESUMING and _cond(going, "Reconciling")["status"] == "True"
    blocked = _decorated([ResumeState(J1, phase=R_FAILED)], [mine()], deleting=True)
    assert "skip-resume" in _cond(blocked, "Stalled")["message"]


def test_events_for_long_pauses_and_blocked_deletions() -> None:
    quiet = _decorated([ResumeState(J1)], [mine(pause_mode="all")], due_at=at(3600))
    loud = _decorated([ResumeState(J1)], [mine(pause_mode="all")], due_at=at(25 * 3600),
                      warn_long=True)
    assert [e[1] for e in resume.events(quiet, loud, None)] == ["LongPause"]
    assert resume.events(loud, loud, None) == []
    assert [e[1] for e in resume.events(None, quiet, resume.BY_SCHEDULE)] == ["ResumeDue"]


def test_states_roundtrip_through_status() -> None:
    state = ResumeState(J1, phase=R_ACCEPTED, error_code="x", request_id="r", attempts=2,
                        last_attempt_time=NOW, accepted_time=NOW, next_attempt_time=at(1))
    entry = {"jobId": J1, **state.fields()}
    assert resume.states_from_status({"jobs": [entry]}, [job(J1)]) == [state]
    assert resume.states_from_status({}, [job(J1)]) == [ResumeState(J1)]
    assert job(J1).phase == PENDING
