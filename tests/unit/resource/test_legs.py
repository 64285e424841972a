"""The reconcile step functions, one rule at a time, with fixed clocks and plain answers."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from drs_pause_operator.drs.models import JobStatus
from drs_pause_operator.drs.outcomes import PauseOutcome
from drs_pause_operator.resource.reconcile import (
    POLL_MAX,
    POLL_MIN,
    UNSEEN_LOOKUPS,
    Policy,
    apply_pause,
    apply_status,
    due_checks,
    due_pauses,
    expire,
    jobs_from_status,
    mark_attempts,
    next_wakeup,
    settle_not_pausable,
    sync,
)
from drs_pause_operator.resource.status import (
    ACCEPTED,
    FAILED,
    MAX_MESSAGE,
    MAX_SHORT,
    PAUSED,
    PENDING,
)

from ..values import (
    J1,
    J2,
    J3,
    NOW,
    Pause,
    Task,
    at,
    job,
    spec_of,
)

VERIFY = Policy(verify_timeout=600)
NO_VERIFY = Policy(verify_timeout=0)


# --- sync -----------------------------------------------------------------------------------


def test_sync_adds_new_jobs_as_pending_and_drops_removed_ones_in_spec_order() -> None:
    current = [job(J1, phase=PAUSED, attempts=1), job(J2, phase=FAILED, attempts=1)]
    jobs, token = sync(spec_of(J3, J1), current, retry_token=None, acted_token=None)
    assert [j.job_id for j in jobs] == [J3, J1]
    assert jobs[0] == job(J3)  # fresh: Pending, no attempts
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
    assert (after.api_status, after.error_code, after.error_message) == ("", "", "")
    assert after.accepted_time is None
    assert after.next_attempt_time is None  # due at once
    assert after.attempts == 2  # history kept: a re-sent job is prechecked first
    assert J1 in [j.job_id for j in due_pauses([after], NOW)]


def test_sync_pause_mode_change_does_not_resend_a_paused_job() -> None:
    before = job(J1, phase=PAUSED, attempts=1, task_status="PAUSING")
    (after,), _ = sync(spec_of((J1, "all")), [before], retry_token=None, acted_token=None)
    assert after == before
    assert due_pauses([after], NOW) == [] and due_checks([after], NOW) == []


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
        assert jobs[0].phase == PENDING and jobs[0].error_code == ""
        assert jobs[0].attempts == 1
    else:
        assert jobs[0] == failed


# --- due_checks / due_pauses ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("phase", "attempts", "next_at", "check", "send"),
    [
        (PENDING, 0, None, False, True),  # never sent: send, no precheck
        (PENDING, 1, None, True, True),  # sent before: precheck, then send
        (PENDING, 1, -5, True, True),  # backoff elapsed
        (PENDING, 0, 0, False, True),  # due exactly now
        (PENDING, 3, 30, False, False),  # backing off
        (ACCEPTED, 1, None, True, False),
        (ACCEPTED, 1, -1, True, False),
        (ACCEPTED, 1, 5, False, False),  # next poll later
        (PAUSED, 1, None, False, False),
        (PAUSED, 1, -100, False, False),
        (FAILED, 1, None, False, False),
        (FAILED, 5, -100, False, False),
    ],
)
def test_due(phase: str, attempts: int, next_at: float | None, check: bool, send: bool) -> None:
    j = job(
        J1,
        phase=phase,
        attempts=attempts,
        next_attempt_time=None if next_at is None else at(next_at),
    )
    assert (J1 in due_checks([j], NOW)) is check
    assert (j in due_pauses([j], NOW)) is send


# --- apply_status ---------------------------------------------------------------------------


@pytest.mark.parametrize("state", ["PAUSING", "PAUSEING"])
@pytest.mark.parametrize("phase", [ACCEPTED, PENDING])
def test_apply_status_paused_states(state: str, phase: str) -> None:
    before = job(J1, phase=phase, attempts=1, accepted_time=NOW if phase == ACCEPTED else None)
    (after,) = apply_status([before], {J1: Task(J1, state)}, at(3), VERIFY)
    assert after.phase == PAUSED
    assert after.task_status == state
    assert after.next_attempt_time is None


@pytest.mark.parametrize("state", ["pausing", " PAUSING", "PAUSED", "INCRE_TRANSFER_STARTED", ""])
def test_apply_status_only_the_exact_paused_states_count(state: str) -> None:
    before = job(J1, phase=ACCEPTED, attempts=1, accepted_time=NOW, next_attempt_time=NOW)
    (after,) = apply_status([before], {J1: Task(J1, state)}, at(1), VERIFY)
    assert after.phase == ACCEPTED


def test_apply_status_precheck_of_a_pending_job_only_records_the_state() -> None:
    before = job(J1, attempts=1, task_status="")
    (after,) = apply_status([before], {J1: Task(J1, "INCRE_TRANSFER_STARTED")}, NOW, VERIFY)
    assert after == before.update(task_status="INCRE_TRANSFER_STARTED")
    # A pending job whose task is unknown is sent again (the pause answer says what it is).
    (after,) = apply_status([before], {J1: Task(J1, None, "DRS.M05003")}, NOW, VERIFY)
    assert after.phase == PENDING and due_pauses([after], NOW) == [after]


@pytest.mark.parametrize(
    "state",
    ["DELETED", "RELEASE_RESOURCE_STARTED", "RELEASE_RESOURCE_COMPLETE", "RELEASE_RESOURCE_FAILED"],
)
def test_apply_status_accepted_task_gone_fails_at_once(state: str) -> None:
    before = job(J1, phase=ACCEPTED, attempts=1, accepted_time=NOW)
    (after,) = apply_status([before], {J1: Task(J1, state)}, at(1), VERIFY)
    assert after.phase == FAILED
    assert after.task_status == state
    assert state in after.error_message and "PAUSING" in after.error_message
    assert after.next_attempt_time is None


@pytest.mark.parametrize("code", ["DRS.M05003", "DRS.M00289"])
def test_apply_status_accepted_task_not_found_fails_at_once(code: str) -> None:
    before = job(J1, phase=ACCEPTED, attempts=1, accepted_time=NOW)
    answer = Task(J1, None, code, "The task does not exist.")
    (after,) = apply_status([before], {J1: answer}, at(1), VERIFY)
    assert after.phase == FAILED
    assert after.error_code == code
    assert "not found" in after.error_message
    assert "The task does not exist." in after.error_message


@pytest.mark.parametrize(
    ("accepted_ago", "interval"),
    [(0, POLL_MIN), (1, POLL_MIN), (8, 2.0), (40, POLL_MAX), (500, POLL_MAX)],
)
def test_apply_status_accepted_not_yet_paused_polls_again(
    accepted_ago: float, interval: float
) -> None:
    before = job(J1, phase=ACCEPTED, attempts=1, accepted_time=at(-accepted_ago))
    (after,) = apply_status([before], {J1: Task(J1, "INCRE_TRANSFER_STARTED")}, NOW, VERIFY)
    assert after.phase == ACCEPTED
    assert after.task_status == "INCRE_TRANSFER_STARTED"
    assert after.next_attempt_time == at(interval)


def test_apply_status_accepted_job_missing_from_the_answer_polls_later() -> None:
    """A due job that batch-status did not mention must not stay due (a hot polling loop)."""
    before = job(J1, phase=ACCEPTED, attempts=1, accepted_time=at(-8), next_attempt_time=NOW)
    (after,) = apply_status([before], {J2: Task(J2)}, NOW, VERIFY)
    assert after.phase == ACCEPTED
    assert after.next_attempt_time is not None and after.next_attempt_time > NOW
    assert next_wakeup([after], NOW, VERIFY) == pytest.approx(2.0)
    # A job that was not due (not asked about) keeps its schedule.
    later = job(J1, phase=ACCEPTED, attempts=1, accepted_time=at(-8), next_attempt_time=at(7))
    assert apply_status([later], {}, NOW, VERIFY) == [later]


@pytest.mark.parametrize("phase", [PAUSED, FAILED])
def test_apply_status_never_touches_finished_jobs(phase: str) -> None:
    before = job(J1, phase=phase, attempts=1, task_status="X")
    for answer in (Task(J1, "PAUSING"), Task(J1, "DELETED"), Task(J1, None, "DRS.M05003")):
        assert apply_status([before], {J1: answer}, NOW, VERIFY) == [before]


def test_apply_status_accepts_real_jobstatus_models_and_bounds_remote_text() -> None:
    before = job(J1, phase=ACCEPTED, attempts=1, accepted_time=NOW)
    answer = JobStatus(
        id=J1,
        status="DELETED\n" + "X" * 10_000,
        error_code="E" * 1000,
        error_message="m\x00" * 500_000,
    )
    (after,) = apply_status([before], {J1: answer}, at(1), VERIFY)
    assert after.phase == ACCEPTED  # an unknown, garbled state is not "gone"
    assert len(after.task_status) <= 64 and "\n" not in after.task_status
    gone = JobStatus(id=J1, status=None, error_code="DRS.M05003", error_message="m\x00" * 500_000)
    (after,) = apply_status([before], {J1: gone}, at(1), VERIFY)
    assert after.phase == FAILED
    assert len(after.error_message) <= MAX_MESSAGE
    assert "\x00" not in after.error_message


# --- mark_attempts / apply_pause --------------------------------------------------------------


def test_mark_attempts_counts_only_the_sent_jobs() -> None:
    jobs = [job(J1), job(J2, attempts=2, last_attempt_time=at(-60))]
    out = mark_attempts(jobs, {J1}, NOW)
    assert out[0].attempts == 1 and out[0].last_attempt_time == NOW
    assert out[1] == jobs[1]


def _one(answer: Pause, policy: Policy = VERIFY, before=None):
    before = before or job(J1, attempts=1, last_attempt_time=NOW)
    (after,), verify = apply_pause([before], {J1: answer}, at(1), policy, random.Random(1))
    return after, verify


def test_success_with_verification_is_accepted_and_verified_now() -> None:
    after, verify = _one(Pause(J1, "success", request_id="req-9"))
    assert after.phase == ACCEPTED
    assert after.api_status == "success"
    assert after.request_id == "req-9"
    assert after.accepted_time == at(1) and after.next_attempt_time == at(1)
    assert verify == [J1]


def test_success_without_verification_is_paused_at_once() -> None:
    after, verify = _one(Pause(J1, "success"), NO_VERIFY)
    assert after.phase == PAUSED
    assert verify == []
    assert next_wakeup([after], at(1), NO_VERIFY) is None


@pytest.mark.parametrize("retry_after", [None, 0.0, 2.0, 120.0, 3600.0])
@pytest.mark.parametrize("prior", [0, 4, 40])
def test_transient_answers_back_off_and_honour_retry_after(
    retry_after: float | None, prior: int
) -> None:
    before = job(J1, attempts=prior + 1, last_attempt_time=NOW)
    answer = Pause(
        J1, None, "DRS.M01503", "too frequent", transient=True, retry_after=retry_after, attempts=2
    )
    after, verify = _one(answer, before=before)
    assert after.phase == PENDING
    assert verify == []
    assert after.attempts == prior + 2  # every HTTP attempt counts
    assert after.error_code == "DRS.M01503"
    assert after.next_attempt_time is not None
    assert after.next_attempt_time >= at(1) + dt.timedelta(seconds=retry_after or 0)
    assert after.next_attempt_time <= at(1) + dt.timedelta(seconds=max(300, retry_after or 0))
    assert due_pauses([after], at(1)) == []
    assert next_wakeup([after], at(1), VERIFY) == pytest.approx(
        (after.next_attempt_time - at(1)).total_seconds()
    )


def _wait(after) -> float:
    return (after.next_attempt_time - at(1)).total_seconds()


def test_sends_cut_off_by_restarts_do_not_lengthen_the_backoff() -> None:
    # Seven requests carried the job, six of them cut off by operator restarts: the first
    # transient answer waits the first step (about 1 s), not 2^6 s.
    before = job(J1, attempts=7, last_attempt_time=NOW)
    after, _ = _one(Pause(J1, None, "DRS.M01504", transient=True), before=before)
    assert after.attempts == 7 and after.transient_failures == 1
    assert 0.5 <= _wait(after) <= 1.0


@pytest.mark.parametrize("failures", [0, 1, 4, 8, 20])
def test_each_transient_answer_doubles_the_backoff_up_to_the_cap(failures: int) -> None:
    before = job(J1, attempts=failures + 1, last_attempt_time=NOW, transient_failures=failures)
    after, _ = _one(Pause(J1, None, "DRS.M01504", transient=True), before=before)
    assert after.transient_failures == failures + 1
    ceiling = min(300.0, 2.0**failures)
    assert ceiling / 2 <= _wait(after) <= ceiling


def test_inline_retries_count_as_transient_failures() -> None:
    after, _ = _one(Pause(J1, None, "DRS.M01503", transient=True, attempts=3))
    assert after.transient_failures == 3 and after.attempts == 3
    assert 2.0 <= _wait(after) <= 4.0


def test_not_pausable_backs_off_by_its_own_count() -> None:
    before = job(J1, attempts=9, last_attempt_time=NOW, transient_failures=2)
    after, verify = _one(Pause(J1, "failed", "DRS.M00304"), before=before)
    assert verify == [J1] and after.transient_failures == 3
    assert 2.0 <= _wait(after) <= 4.0


def test_a_job_sent_anew_starts_its_backoff_again() -> None:
    failed = job(J1, phase=FAILED, attempts=9, transient_failures=6, error_code="DRS.M05004")
    (retried,), _ = sync(spec_of(J1), [failed], retry_token="t1", acted_token=None)
    assert retried.phase == PENDING and retried.attempts == 9  # history kept for the precheck
    assert retried.transient_failures == 0
    pending = job(J1, attempts=5, transient_failures=5)
    (moved,), _ = sync(spec_of((J1, "all")), [pending], retry_token=None, acted_token=None)
    assert moved.pause_mode == "all" and moved.transient_failures == 0


def test_transient_failures_survive_the_status_and_are_absent_when_zero() -> None:
    counted = job(J1, attempts=4, transient_failures=3)
    assert counted.to_dict()["transientFailures"] == 3
    assert jobs_from_status({"jobs": [counted.to_dict()]}) == [counted]
    assert "transientFailures" not in job(J1, attempts=4).to_dict()


@pytest.mark.parametrize("retry_after", [float("inf"), 1e300, float("nan"), -5.0])
def test_absurd_retry_after_does_not_break_the_pass(retry_after: float) -> None:
    answer = Pause(J1, None, None, transient=True, retry_after=retry_after)
    after, _ = _one(answer)
    assert after.phase == PENDING
    assert at(1) < after.next_attempt_time <= at(1 + 3600)


@pytest.mark.parametrize(
    ("marked", "http_attempts", "expected"),
    [(1, 1, 1), (1, 3, 3), (5, 1, 5), (5, 4, 8), (1, 0, 1)],
)
def test_attempts_count_every_http_attempt(marked: int, http_attempts: int, expected: int) -> None:
    before = job(J1, attempts=marked)
    after, _ = _one(Pause(J1, "failed", "DRS.M05004", attempts=http_attempts), before=before)
    assert after.attempts == expected


@pytest.mark.parametrize(
    "code",
    ["DRS.M05003", "DRS.M00289", "DRS.M05004", "DRS.M00202", "DRS.M00201", "", None],
)
def test_terminal_answers_fail_the_job_with_code_and_message(code: str | None) -> None:
    after, verify = _one(Pause(J1, "failed", code, f"error {code}"))
    assert after.phase == FAILED
    assert after.error_code == (code or "")
    assert after.error_message == f"error {code}"
    assert after.api_status == "failed"
    assert after.next_attempt_time is None
    assert verify == []


def test_not_pausable_waits_for_batch_status() -> None:
    after, verify = _one(Pause(J1, "failed", "DRS.M00304", "not callable in this state"))
    assert after.phase == PENDING
    assert after.error_code == "DRS.M00304"
    assert verify == [J1]


def test_not_pausable_with_verification_off_is_still_looked_up() -> None:
    after, verify = _one(Pause(J1, "failed", "DRS.M00304"), NO_VERIFY)
    assert after.phase == PENDING and verify == [J1]


def test_not_pausable_and_paused_task_counts_as_paused() -> None:
    after, verify = _one(Pause(J1, "failed", "DRS.M00304", "not callable"))
    jobs = apply_status([after], {J1: Task(J1, "PAUSING")}, at(1), VERIFY)
    jobs = settle_not_pausable(jobs, {J1: Task(J1, "PAUSING")}, verify)
    assert jobs[0].phase == PAUSED


def test_not_pausable_and_other_state_fails_with_code_and_state() -> None:
    after, verify = _one(Pause(J1, "failed", "DRS.M00304", "not callable"))
    answers = {J1: Task(J1, "FULL_TRANSFER_STARTED")}
    jobs = settle_not_pausable(apply_status([after], answers, at(1), VERIFY), answers, verify)
    assert jobs[0].phase == FAILED
    assert jobs[0].error_code == "DRS.M00304"
    assert "FULL_TRANSFER_STARTED" in jobs[0].error_message
    assert "not callable" in jobs[0].error_message


def test_not_pausable_without_a_status_answer_is_retried_with_a_precheck() -> None:
    after, verify = _one(Pause(J1, "failed", "DRS.M00304"))
    (settled,) = settle_not_pausable([after], {}, verify)
    assert settled.phase == PENDING
    # Not at once (that would loop pause + lookup as fast as the rate limiter allows) ...
    assert due_checks([settled], at(1)) == [] and due_pauses([settled], at(1)) == []
    assert next_wakeup([settled], at(1), VERIFY) > 0
    # ... but after a backoff, looked up before it is sent again.
    assert due_checks([settled], at(2)) == [J1]


def test_settle_not_pausable_ignores_other_jobs() -> None:
    others = [job(J2, attempts=1, error_code="DRS.M00304"), job(J3, phase=ACCEPTED)]
    answers = {J2: Task(J2, "X"), J3: Task(J3, "X")}
    assert settle_not_pausable(others, answers, [J1]) == others


def test_apply_pause_ignores_answers_for_jobs_not_pending_or_unknown() -> None:
    jobs = [job(J1, phase=PAUSED), job(J2, phase=FAILED), job(J3, phase=ACCEPTED)]
    answers = {j: Pause(j, "failed", "DRS.M05003") for j in (J1, J2, J3, "unknown")}
    out, verify = apply_pause(jobs, answers, NOW, VERIFY)
    assert out == jobs and verify == []


def test_pending_job_without_an_answer_is_left_for_the_next_pass() -> None:
    before = job(J1, attempts=1, request_id="old")
    out, verify = apply_pause([before], {}, NOW, VERIFY)
    assert out == [before] and verify == []
    assert due_checks(out, NOW) == [J1]  # prechecked: the lost request may have paused it


def test_request_id_is_kept_when_the_answer_has_none() -> None:
    after, _ = _one(
        Pause(J1, "failed", "DRS.M05003", request_id=None),
        before=job(J1, attempts=1, request_id="earlier"),
    )
    assert after.request_id == "earlier"


def test_one_bad_job_never_changes_another_jobs_entry() -> None:
    answers = {
        J1: Pause(J1, "success", request_id="r"),
        J2: Pause(J2, "failed", "DRS.M05003", "x" * 1_000_000),
        J3: Pause(J3, None, None, transient=True, retry_after=5),
    }
    jobs = [job(J1, attempts=1), job(J2, attempts=1), job(J3, attempts=1)]
    together, _ = apply_pause(jobs, answers, NOW, VERIFY, random.Random(3))
    for i, j in enumerate(jobs):
        (alone,), _ = apply_pause([j], {j.job_id: answers[j.job_id]}, NOW, VERIFY, random.Random(3))
        assert together[i] == alone
    assert [j.phase for j in together] == [ACCEPTED, FAILED, PENDING]
    assert len(together[1].error_message) <= MAX_MESSAGE


def test_real_pause_outcomes_fold_like_the_protocol() -> None:
    outcome = PauseOutcome(
        job_id=J1, api_status="success", request_id="rid", http_status=200, attempts=2
    )
    after, verify = _one(outcome)  # type: ignore[arg-type]
    assert after.phase == ACCEPTED and after.attempts == 2 and verify == [J1]


def test_remote_text_in_pause_answers_is_bounded() -> None:
    huge = "é\n\t\x1b[31m" * 200_000
    after, _ = _one(Pause(J1, huge, huge, huge, request_id=huge))
    assert after.phase == FAILED
    for text, limit in (
        (after.api_status, MAX_SHORT),
        (after.error_code, MAX_SHORT),
        (after.request_id, MAX_SHORT),
        (after.error_message, MAX_MESSAGE),
    ):
        assert len(text) <= limit
        assert text.isprintable()


# --- expire / next_wakeup -------------------------------------------------------------------


@pytest.mark.parametrize(("age", "fails"), [(0, False), (599, False), (600, True), (5000, True)])
def test_expire_fails_accepted_jobs_after_the_verify_timeout(age: float, fails: bool) -> None:
    before = job(
        J1,
        phase=ACCEPTED,
        attempts=1,
        accepted_time=at(-age),
        task_status="INCRE_TRANSFER_STARTED",
        next_attempt_time=at(5),
    )
    (after,) = expire([before], NOW, VERIFY)
    if fails:
        assert after.phase == FAILED
        assert "did not reach PAUSING within 600s" in after.error_message
        assert "INCRE_TRANSFER_STARTED" in after.error_message
        assert after.next_attempt_time is None
    else:
        assert after == before


def _overdue(age: float, missed: int = 0):
    return job(J1, phase=ACCEPTED, attempts=1, accepted_time=at(-age),
               task_status="INCRE_TRANSFER_FAILED", next_attempt_time=at(-1),
               unanswered_lookups=missed)


def test_an_operator_back_from_an_outage_looks_again_before_failing_a_job_unseen() -> None:
    """Accepted, then the operator was down past twice the timeout; its first lookup back left
    the job out (results missing). It is looked up again in a second, not failed."""
    (after,) = expire([_overdue(1300)], NOW, VERIFY, observed=set(), asked={J1})
    assert after.phase == ACCEPTED and after.unanswered_lookups == 1
    assert after.next_attempt_time == at(-1)  # due at once: the next pass asks again
    # ... and a lookup that answers PAUSING then makes it Paused (apply_status), not Failed.
    (paused,) = apply_status([after], {J1: Task(J1, "PAUSING")}, NOW, VERIFY)
    assert paused.phase == PAUSED


def test_a_job_batch_status_never_answers_for_fails_after_a_few_lookups() -> None:
    jobs = [_overdue(1300)]
    for _ in range(UNSEEN_LOOKUPS - 1):
        jobs = expire(jobs, NOW, VERIFY, observed=set(), asked={J1})
        assert jobs[0].phase == ACCEPTED
    (failed,) = expire(jobs, NOW, VERIFY, observed=set(), asked={J1})
    assert failed.phase == FAILED and failed.unanswered_lookups == UNSEEN_LOOKUPS
    assert f"did not answer for it in {UNSEEN_LOOKUPS} lookups" in failed.error_message
    assert "last state: INCRE_TRANSFER_FAILED" in failed.error_message


def test_only_lookups_that_asked_for_the_job_count_and_not_before_twice_the_timeout() -> None:
    (not_asked,) = expire([_overdue(1300, missed=2)], NOW, VERIFY, observed=set(), asked=set())
    assert not_asked.phase == ACCEPTED and not_asked.unanswered_lookups == 2
    (early,) = expire([_overdue(700, missed=5)], NOW, VERIFY, observed=set(), asked={J1})
    assert early.phase == ACCEPTED and early.unanswered_lookups == 6
    # Seen (answered) past the timeout and not PAUSING: Failed at once, whatever the count.
    (seen,) = expire([_overdue(700)], NOW, VERIFY, observed={J1}, asked={J1})
    assert seen.phase == FAILED and "did not answer" not in seen.error_message


def test_unanswered_lookups_survive_the_status_and_are_absent_when_zero() -> None:
    counted = _overdue(1300, missed=2)
    assert counted.to_dict()["unansweredLookups"] == 2
    assert jobs_from_status({"jobs": [counted.to_dict()]})[0].unanswered_lookups == 2
    assert "unansweredLookups" not in _overdue(1300).to_dict()


def test_expire_leaves_other_phases_and_disabled_verification_alone() -> None:
    old = at(-10_000)
    jobs = [job(J1, phase=PENDING, accepted_time=old), job(J2, phase=PAUSED, accepted_time=old)]
    assert expire(jobs, NOW, VERIFY) == jobs
    accepted = [job(J3, phase=ACCEPTED, accepted_time=old)]
    assert expire(accepted, NOW, NO_VERIFY) == accepted


@pytest.mark.parametrize(
    ("jobs", "expected"),
    [
        ([], None),
        ([job(J1, phase=PAUSED), job(J2, phase=FAILED)], None),
        ([job(J1)], 0.0),  # due now
        ([job(J1, next_attempt_time=at(-30))], 0.0),  # overdue: never negative
        ([job(J1, next_attempt_time=at(30)), job(J2, next_attempt_time=at(12))], 12.0),
        ([job(J1, phase=ACCEPTED, accepted_time=at(-595), next_attempt_time=at(10))], 5.0),
        (
            [
                job(J1, phase=ACCEPTED, accepted_time=NOW, next_attempt_time=at(2)),
                job(J2, phase=PAUSED),
            ],
            2.0,
        ),
    ],
)
def test_next_wakeup(jobs, expected) -> None:
    assert next_wakeup(jobs, NOW, VERIFY) == expected


def test_jobs_from_status_skips_junk() -> None:
    assert jobs_from_status(None) == []
    assert jobs_from_status({}) == []
    assert jobs_from_status({"jobs": None}) == []
    status = {
        "jobs": [
            "x",
            3,
            {"phase": "Paused"},
            {"jobId": ""},
            {"jobId": J1, "pauseMode": "all", "phase": "Paused", "attempts": 2},
        ]
    }
    assert jobs_from_status(status) == [job(J1, pause_mode="all", phase=PAUSED, attempts=2)]


def test_a_precheck_without_an_answer_does_not_send() -> None:
    """A job sent before (it may be paused) whose lookup did not answer for it is looked up
    again later, never sent on the strength of no answer."""
    sent_before = job(J1, attempts=1)
    (after,) = apply_status([sent_before], {}, NOW, VERIFY)
    assert after.phase == PENDING
    assert due_pauses([after], NOW) == []
    assert after.next_attempt_time == at(POLL_MAX)
    # Never sent: nothing to look up, it is sent at once.
    (fresh,) = apply_status([job(J2)], {}, NOW, VERIFY)
    assert due_pauses([fresh], NOW) == [fresh]
