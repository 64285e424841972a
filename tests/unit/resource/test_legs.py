"""The steps of a leg (resource/legs.py), one rule at a time, with fixed clocks and plain answers.

A pause and a resume go through the same steps, so every test here runs for both verbs: a rule
that drifts between them fails in one place. What differs is the verb's data (verbs.py): the
task state that is its goal, the status keys of its leg, the words of its messages; the
expectations of each verb are spelled out in :data:`X`, not read from the code under test.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from typing import Any

import pytest

from drs_pause_operator.drs.models import JobStatus
from drs_pause_operator.drs.outcomes import PauseOutcome
from drs_pause_operator.resource.formats import MAX_MESSAGE, MAX_SHORT
from drs_pause_operator.resource.job import Job, Leg, jobs_from_status
from drs_pause_operator.resource.legs import (
    FAIL_UNSEEN,
    LOOK_AGAIN,
    SEEN,
    UNSEEN_LOOKUPS,
    due_checks,
    due_sends,
    expire,
    fold_answers,
    fold_status,
    mark_attempts,
    next_wakeup,
    postpone,
    settle_refused,
    unseen_verdict,
)
from drs_pause_operator.resource.policy import POLL_MAX, POLL_MIN, Policy
from drs_pause_operator.resource.verbs import (
    ACCEPTED,
    FAILED,
    PAUSE,
    PAUSED,
    PENDING,
    RESUME,
    RESUMED,
    SKIPPED,
    Verb,
)

from ..values import J1, J2, J3, NOW, Pause, Task, at, on

pytestmark = pytest.mark.parametrize("verb", [PAUSE, RESUME], ids=["pause", "resume"])

VERIFY = Policy(verify_timeout=600)
NO_VERIFY = Policy(verify_timeout=0)
GONE = ["DELETED", "RELEASE_RESOURCE_STARTED", "RELEASE_RESOURCE_COMPLETE",
        "RELEASE_RESOURCE_FAILED"]


@dataclass(frozen=True)
class Expect:
    """What a verb's leg is expected to do, written out for each verb."""

    goal: tuple[str, ...]  # task states batch-status shows once the action is done
    held: str  # the task state before the action took effect
    not_goal: tuple[str, ...]  # states an Accepted leg keeps waiting on
    done: str
    settled: tuple[str, ...]  # phases a leg never leaves by itself (never looked up or sent)
    waiting: str  # words of a leg whose task went away
    missed: str  # words of a leg past its verification timeout
    # An unknown (garbled) task state: a pause keeps waiting for PAUSING; a resume reads any
    # state that is neither PAUSING nor gone as running again.
    garbled: str
    prefix: str  # of the leg's keys in the job's status entry


X = {
    "pause": Expect(
        goal=("PAUSING", "PAUSEING"),
        held="INCRE_TRANSFER_STARTED",
        not_goal=("pausing", " PAUSING", "PAUSED", "INCRE_TRANSFER_STARTED", ""),
        done=PAUSED,
        settled=(PAUSED, FAILED),
        waiting="while waiting for PAUSING",
        missed="did not reach PAUSING within 600s",
        garbled=ACCEPTED,
        prefix="",
    ),
    "resume": Expect(
        goal=("INCRE_TRANSFER_STARTED", "FULL_TRANSFER_STARTED"),
        held="PAUSING",
        not_goal=("PAUSING", "PAUSEING", ""),
        done=RESUMED,
        settled=(RESUMED, FAILED, SKIPPED, ""),
        waiting="while resuming",
        missed="was still PAUSING after 600s",
        garbled=RESUMED,
        prefix="resume",
    ),
}


def key(verb: Verb, name: str) -> str:
    """The status key of ``name`` for the verb's leg, spelled out per verb."""
    return {"pause": name, "resume": "resume" + name[0].upper() + name[1:]}[verb.name]


def leg(job: Job, verb: Verb) -> Leg:
    return job.leg(verb)


def other(verb: Verb) -> Verb:
    return RESUME if verb is PAUSE else PAUSE


def one(
    verb: Verb, answer: Any, policy: Policy = VERIFY, before: Job | None = None
) -> tuple[Job, list[str]]:
    """Fold one send answer into one leg (written ahead at NOW, answered a second later)."""
    before = before or on(verb, attempts=1, last_attempt_time=NOW)
    (after,), verify = fold_answers(verb, [before], {J1: answer}, at(1), policy, random.Random(1))
    return after, verify


def waited(after: Job, verb: Verb) -> float:
    next_at = leg(after, verb).next_attempt_time
    assert next_at is not None
    return (next_at - at(1)).total_seconds()


# --- due_checks / due_sends ------------------------------------------------------------------


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
    ],
)
def test_due(
    verb: Verb, phase: str, attempts: int, next_at: float | None, check: bool, send: bool
) -> None:
    j = on(verb, phase=phase, attempts=attempts,
           next_attempt_time=None if next_at is None else at(next_at))
    assert (J1 in due_checks(verb, [j], NOW)) is check
    assert (J1 in due_sends(verb, [j], NOW)) is send


@pytest.mark.parametrize("next_at", [None, -100, 100])
@pytest.mark.parametrize("attempts", [0, 1, 5])
def test_settled_legs_are_never_due(verb: Verb, attempts: int, next_at: float | None) -> None:
    for phase in X[verb.name].settled:
        j = on(verb, phase=phase, attempts=attempts,
               next_attempt_time=None if next_at is None else at(next_at))
        assert due_checks(verb, [j], NOW) == [] and due_sends(verb, [j], NOW) == [], phase


@pytest.mark.parametrize(("phase", "attempts"), [(PENDING, 0), (PENDING, 2), (ACCEPTED, 1)])
@pytest.mark.parametrize("ahead", [0.001, 1, 30, 3600])
def test_a_leg_waiting_for_its_next_attempt_is_neither_looked_up_nor_sent(
    verb: Verb, phase: str, attempts: int, ahead: float
) -> None:
    """A leg's next attempt time holds it back, whatever its phase: a step that ignored it would
    look up and send as fast as passes come (a hot loop against DRS)."""
    j = on(verb, phase=phase, attempts=attempts, next_attempt_time=at(ahead))
    assert due_checks(verb, [j], NOW) == [] and due_sends(verb, [j], NOW) == []
    # Nothing happens to it in a pass before then either: no lookup answer folds into it.
    assert fold_status(verb, [j], {}, NOW) == [j]
    # Its time come, it goes: looked up (sent before or accepted), or sent (never sent).
    then = at(ahead)
    assert (due_checks(verb, [j], then) + due_sends(verb, [j], then)) != []


def test_due_steps_read_only_their_own_verbs_leg(verb: Verb) -> None:
    """A job whose other leg is due is not due for this verb (and the other way round)."""
    mine = on(verb, phase=ACCEPTED, attempts=1, next_attempt_time=at(60))
    theirs = mine.with_leg(other(verb), Leg(phase=PENDING, attempts=1))
    assert due_checks(verb, [theirs], NOW) == [] and due_sends(verb, [theirs], NOW) == []
    assert due_checks(other(verb), [theirs], NOW) == [J1]


# --- fold_status -----------------------------------------------------------------------------


@pytest.mark.parametrize("phase", [ACCEPTED, PENDING])
def test_fold_status_goal_states_make_the_leg_done(verb: Verb, phase: str) -> None:
    x = X[verb.name]
    before = on(verb, phase=phase, attempts=1, accepted_time=NOW if phase == ACCEPTED else None,
                next_attempt_time=NOW)
    for state in x.goal:
        (after,) = fold_status(verb, [before], {J1: Task(J1, state)}, at(3))
        assert leg(after, verb).phase == x.done
        assert after.task_status == state
        assert leg(after, verb).next_attempt_time is None


def test_fold_status_only_the_goal_states_count(verb: Verb) -> None:
    before = on(verb, phase=ACCEPTED, attempts=1, accepted_time=NOW, next_attempt_time=NOW)
    for state in X[verb.name].not_goal:
        (after,) = fold_status(verb, [before], {J1: Task(J1, state)}, at(1))
        assert leg(after, verb).phase == ACCEPTED, state


def test_fold_status_precheck_of_a_pending_leg_only_records_the_state(verb: Verb) -> None:
    x = X[verb.name]
    before = on(verb, attempts=1, task_status="")
    (after,) = fold_status(verb, [before], {J1: Task(J1, x.held)}, NOW)
    assert after == before.update(task_status=x.held)
    # A pending leg whose task is unknown is sent (the send's answer says what it is).
    (after,) = fold_status(verb, [before], {J1: Task(J1, None, "DRS.M05003")}, NOW)
    assert leg(after, verb).phase == PENDING and due_sends(verb, [after], NOW) == [J1]


@pytest.mark.parametrize("state", GONE)
def test_fold_status_accepted_task_gone_fails_at_once(verb: Verb, state: str) -> None:
    before = on(verb, phase=ACCEPTED, attempts=1, accepted_time=NOW)
    (after,) = fold_status(verb, [before], {J1: Task(J1, state)}, at(1))
    assert leg(after, verb).phase == FAILED
    assert after.task_status == state
    message = leg(after, verb).error_message
    assert state in message and X[verb.name].waiting in message
    assert leg(after, verb).next_attempt_time is None


@pytest.mark.parametrize("code", ["DRS.M05003", "DRS.M00289"])
def test_fold_status_accepted_task_not_found_fails_at_once(verb: Verb, code: str) -> None:
    before = on(verb, phase=ACCEPTED, attempts=1, accepted_time=NOW)
    answer = Task(J1, None, code, "The task does not exist.")
    (after,) = fold_status(verb, [before], {J1: answer}, at(1))
    assert leg(after, verb).phase == FAILED
    assert leg(after, verb).error_code == code
    assert "not found" in leg(after, verb).error_message
    assert "The task does not exist." in leg(after, verb).error_message


@pytest.mark.parametrize(
    ("accepted_ago", "interval"),
    [(0, POLL_MIN), (1, POLL_MIN), (8, 2.0), (40, POLL_MAX), (500, POLL_MAX)],
)
def test_fold_status_accepted_not_there_yet_polls_again(
    verb: Verb, accepted_ago: float, interval: float
) -> None:
    held = X[verb.name].held
    before = on(verb, phase=ACCEPTED, attempts=1, accepted_time=at(-accepted_ago))
    (after,) = fold_status(verb, [before], {J1: Task(J1, held)}, NOW)
    assert leg(after, verb).phase == ACCEPTED
    assert after.task_status == held
    assert leg(after, verb).next_attempt_time == at(interval)


def test_fold_status_accepted_leg_missing_from_the_answer_polls_later(verb: Verb) -> None:
    """A due leg that batch-status did not mention must not stay due (a hot polling loop)."""
    before = on(verb, phase=ACCEPTED, attempts=1, accepted_time=at(-8), next_attempt_time=NOW)
    (after,) = fold_status(verb, [before], {J2: Task(J2)}, NOW)
    assert leg(after, verb).phase == ACCEPTED
    assert leg(after, verb).next_attempt_time == at(2.0)
    assert next_wakeup(verb, [after], NOW, VERIFY) == at(2.0)
    # A leg that was not due (not asked about) keeps its schedule.
    later = on(verb, phase=ACCEPTED, attempts=1, accepted_time=at(-8), next_attempt_time=at(7))
    assert fold_status(verb, [later], {}, NOW) == [later]


def test_fold_status_never_changes_a_settled_leg(verb: Verb) -> None:
    """Only the job's last seen task state (one per job, shared by its legs) follows."""
    for phase in X[verb.name].settled:
        before = on(verb, phase=phase, attempts=1, task_status="X")
        for answer in (Task(J1, "PAUSING"), Task(J1, "INCRE_TRANSFER_STARTED"),
                       Task(J1, "DELETED"), Task(J1, None, "DRS.M05003")):
            (after,) = fold_status(verb, [before], {J1: answer}, NOW)
            assert leg(after, verb) == leg(before, verb), (phase, answer)
            assert after.task_status == (answer.status or "X")
            assert after.leg(other(verb)) == before.leg(other(verb))


def test_fold_status_accepts_real_jobstatus_models_and_bounds_remote_text(verb: Verb) -> None:
    before = on(verb, phase=ACCEPTED, attempts=1, accepted_time=NOW)
    answer = JobStatus(
        id=J1,
        status="DELETED\n" + "X" * 10_000,
        error_code="E" * 1000,
        error_message="m\x00" * 500_000,
    )
    (after,) = fold_status(verb, [before], {J1: answer}, at(1))
    assert leg(after, verb).phase == X[verb.name].garbled  # an unknown state is not "gone"
    assert len(after.task_status) <= 64 and "\n" not in after.task_status
    gone = JobStatus(id=J1, status=None, error_code="DRS.M05003", error_message="m\x00" * 500_000)
    (after,) = fold_status(verb, [before], {J1: gone}, at(1))
    assert leg(after, verb).phase == FAILED
    assert len(leg(after, verb).error_message) <= MAX_MESSAGE
    assert "\x00" not in leg(after, verb).error_message


def test_a_precheck_without_an_answer_does_not_send(verb: Verb) -> None:
    """A leg sent before (its task may have got there) whose lookup did not answer for it is
    looked up again later, never sent on the strength of no answer."""
    sent_before = on(verb, attempts=1)
    # The pass: look up what is due, fold the answers in, send what is still due.
    assert due_checks(verb, [sent_before], NOW) == [J1]
    (after,) = fold_status(verb, [sent_before], {}, NOW)
    assert leg(after, verb).phase == PENDING
    assert due_sends(verb, [after], NOW) == []
    assert leg(after, verb).next_attempt_time == at(POLL_MAX)
    # Later it is looked up again (first), not sent straight away.
    assert due_checks(verb, [after], at(POLL_MAX)) == [J1]
    # A lookup that leaves out another job changes nothing for this one's schedule either.
    (answered,) = fold_status(verb, [sent_before], {J2: Task(J2)}, NOW)
    assert due_sends(verb, [answered], NOW) == []
    # Never sent: nothing to look up, it is sent at once.
    (fresh,) = fold_status(verb, [on(verb, J2)], {}, NOW)
    assert due_sends(verb, [fresh], NOW) == [J2]


# --- mark_attempts ----------------------------------------------------------------------------


def test_mark_attempts_counts_only_the_sent_legs(verb: Verb) -> None:
    jobs = [on(verb, J1), on(verb, J2, attempts=2, last_attempt_time=at(-60))]
    out = mark_attempts(verb, jobs, {J1}, NOW)
    assert leg(out[0], verb).attempts == 1 and leg(out[0], verb).last_attempt_time == NOW
    assert out[1] == jobs[1]
    assert out[0].leg(other(verb)) == jobs[0].leg(other(verb))  # the other verb's leg is its own


# --- fold_answers -----------------------------------------------------------------------------


def test_success_with_verification_is_accepted_and_verified_now(verb: Verb) -> None:
    after, verify = one(verb, Pause(J1, "success", request_id="req-9"))
    got = leg(after, verb)
    assert got.phase == ACCEPTED
    assert got.api_status == ("success" if verb is PAUSE else "")  # only the pause records it
    assert got.request_id == "req-9"
    assert got.accepted_time == at(1) and got.next_attempt_time == at(1)
    assert verify == [J1]


def test_success_without_verification_is_done_at_once(verb: Verb) -> None:
    after, verify = one(verb, Pause(J1, "success"), NO_VERIFY)
    assert leg(after, verb).phase == X[verb.name].done
    assert verify == []
    assert next_wakeup(verb, [after], at(1), NO_VERIFY) is None


@pytest.mark.parametrize("retry_after", [None, 0.0, 2.0, 120.0, 3600.0])
@pytest.mark.parametrize("prior", [0, 4, 40])
def test_transient_answers_back_off_and_honour_retry_after(
    verb: Verb, retry_after: float | None, prior: int
) -> None:
    before = on(verb, attempts=prior + 1, last_attempt_time=NOW)
    answer = Pause(
        J1, None, "DRS.M01503", "too frequent", transient=True, retry_after=retry_after, attempts=2
    )
    after, verify = one(verb, answer, before=before)
    got = leg(after, verb)
    assert got.phase == PENDING
    assert verify == []
    assert got.attempts == prior + 2  # every HTTP attempt counts
    assert got.error_code == "DRS.M01503"
    assert got.next_attempt_time is not None
    assert got.next_attempt_time >= at(1) + dt.timedelta(seconds=retry_after or 0)
    assert got.next_attempt_time <= at(1) + dt.timedelta(seconds=max(300, retry_after or 0))
    assert due_sends(verb, [after], at(1)) == [] and due_checks(verb, [after], at(1)) == []
    assert next_wakeup(verb, [after], at(1), VERIFY) == got.next_attempt_time


def test_sends_cut_off_by_restarts_do_not_lengthen_the_backoff(verb: Verb) -> None:
    # Seven requests carried the leg, six of them cut off by operator restarts: the first
    # transient answer waits the first step (about 1 s), not 2^6 s.
    before = on(verb, attempts=7, last_attempt_time=NOW)
    after, _ = one(verb, Pause(J1, None, "DRS.M01504", transient=True), before=before)
    assert leg(after, verb).attempts == 7 and leg(after, verb).transient_failures == 1
    assert 0.5 <= waited(after, verb) <= 1.0


@pytest.mark.parametrize("failures", [0, 1, 4, 8, 20])
def test_each_transient_answer_doubles_the_backoff_up_to_the_cap(
    verb: Verb, failures: int
) -> None:
    before = on(verb, attempts=failures + 1, last_attempt_time=NOW, transient_failures=failures)
    after, _ = one(verb, Pause(J1, None, "DRS.M01504", transient=True), before=before)
    assert leg(after, verb).transient_failures == failures + 1
    ceiling = min(300.0, 2.0**failures)
    assert ceiling / 2 <= waited(after, verb) <= ceiling


def test_inline_retries_count_as_transient_failures(verb: Verb) -> None:
    after, _ = one(verb, Pause(J1, None, "DRS.M01503", transient=True, attempts=3))
    assert leg(after, verb).transient_failures == 3 and leg(after, verb).attempts == 3
    assert 2.0 <= waited(after, verb) <= 4.0


def test_not_now_backs_off_by_its_own_count(verb: Verb) -> None:
    before = on(verb, attempts=9, last_attempt_time=NOW, transient_failures=2)
    after, verify = one(verb, Pause(J1, "failed", "DRS.M00304"), before=before)
    assert verify == [J1] and leg(after, verb).transient_failures == 3
    assert 2.0 <= waited(after, verb) <= 4.0


@pytest.mark.parametrize("retry_after", [float("inf"), 1e300, float("nan"), -5.0])
def test_absurd_retry_after_does_not_break_the_pass(verb: Verb, retry_after: float) -> None:
    after, _ = one(verb, Pause(J1, None, None, transient=True, retry_after=retry_after))
    got = leg(after, verb)
    assert got.phase == PENDING
    assert got.next_attempt_time is not None and at(1) < got.next_attempt_time <= at(1 + 3600)


@pytest.mark.parametrize(
    ("marked", "http_attempts", "expected"),
    [(1, 1, 1), (1, 3, 3), (5, 1, 5), (5, 4, 8), (1, 0, 1)],
)
def test_attempts_count_every_http_attempt(
    verb: Verb, marked: int, http_attempts: int, expected: int
) -> None:
    before = on(verb, attempts=marked)
    after, _ = one(verb, Pause(J1, "failed", "DRS.M05004", attempts=http_attempts), before=before)
    assert leg(after, verb).attempts == expected


@pytest.mark.parametrize(
    "code",
    ["DRS.M05003", "DRS.M00289", "DRS.M05004", "DRS.M00202", "DRS.M00201", "", None],
)
def test_terminal_answers_fail_the_leg_with_code_and_message(verb: Verb, code: str | None) -> None:
    after, verify = one(verb, Pause(J1, "failed", code, f"error {code}"))
    got = leg(after, verb)
    assert got.phase == FAILED
    assert got.error_code == (code or "")
    assert got.error_message == f"error {code}"
    assert got.api_status == ("failed" if verb is PAUSE else "")
    assert got.next_attempt_time is None
    assert verify == []


def test_not_now_waits_for_batch_status(verb: Verb) -> None:
    after, verify = one(verb, Pause(J1, "failed", "DRS.M00304", "not callable in this state"))
    assert leg(after, verb).phase == PENDING
    assert leg(after, verb).error_code == "DRS.M00304"
    assert verify == [J1]


def test_not_now_with_verification_off_is_still_looked_up(verb: Verb) -> None:
    after, verify = one(verb, Pause(J1, "failed", "DRS.M00304"), NO_VERIFY)
    assert leg(after, verb).phase == PENDING and verify == [J1]


def test_fold_answers_ignores_answers_for_legs_not_pending_or_unknown(verb: Verb) -> None:
    jobs = [on(verb, J1, phase=X[verb.name].done), on(verb, J2, phase=FAILED),
            on(verb, J3, phase=ACCEPTED)]
    if verb is RESUME:
        jobs += [on(verb, "s", phase=SKIPPED), on(verb, "n", phase="")]
    answers = {j.job_id: Pause(j.job_id, "failed", "DRS.M05003") for j in jobs}
    answers["unknown"] = Pause("unknown", "failed", "DRS.M05003")
    out, verify = fold_answers(verb, jobs, answers, NOW, VERIFY)
    assert out == jobs and verify == []


def test_pending_leg_without_an_answer_is_left_for_the_next_pass(verb: Verb) -> None:
    before = on(verb, attempts=1, request_id="old")
    out, verify = fold_answers(verb, [before], {}, NOW, VERIFY)
    assert out == [before] and verify == []
    assert due_checks(verb, out, NOW) == [J1]  # prechecked: the lost request may have landed


def test_request_id_is_kept_when_the_answer_has_none(verb: Verb) -> None:
    after, _ = one(
        verb,
        Pause(J1, "failed", "DRS.M05003", request_id=None),
        before=on(verb, attempts=1, request_id="earlier"),
    )
    assert leg(after, verb).request_id == "earlier"


def test_one_bad_job_never_changes_another_jobs_leg(verb: Verb) -> None:
    answers = {
        J1: Pause(J1, "success", request_id="r"),
        J2: Pause(J2, "failed", "DRS.M05003", "x" * 1_000_000),
        J3: Pause(J3, None, None, transient=True, retry_after=5),
    }
    jobs = [on(verb, J1, attempts=1), on(verb, J2, attempts=1), on(verb, J3, attempts=1)]
    together, _ = fold_answers(verb, jobs, answers, NOW, VERIFY, random.Random(3))
    for i, j in enumerate(jobs):
        (alone,), _ = fold_answers(
            verb, [j], {j.job_id: answers[j.job_id]}, NOW, VERIFY, random.Random(3)
        )
        assert together[i] == alone
    assert [leg(j, verb).phase for j in together] == [ACCEPTED, FAILED, PENDING]
    assert len(leg(together[1], verb).error_message) <= MAX_MESSAGE


def test_real_outcomes_fold_like_the_protocol(verb: Verb) -> None:
    outcome = PauseOutcome(
        job_id=J1, api_status="success", request_id="rid", http_status=200, attempts=2
    )
    after, verify = one(verb, outcome)
    assert leg(after, verb).phase == ACCEPTED and leg(after, verb).attempts == 2
    assert verify == [J1]


def test_remote_text_in_send_answers_is_bounded(verb: Verb) -> None:
    huge = "é\n\t\x1b[31m" * 200_000
    after, _ = one(verb, Pause(J1, huge, huge, huge, request_id=huge))
    got = leg(after, verb)
    assert got.phase == FAILED
    for text, limit in (
        (got.api_status, MAX_SHORT),
        (got.error_code, MAX_SHORT),
        (got.request_id, MAX_SHORT),
        (got.error_message, MAX_MESSAGE),
    ):
        assert len(text) <= limit
        assert text.isprintable()


# --- settle_refused ---------------------------------------------------------------------------


def test_not_now_and_a_task_at_the_goal_counts_as_done(verb: Verb) -> None:
    x = X[verb.name]
    after, verify = one(verb, Pause(J1, "failed", "DRS.M00304", "not callable"))
    answers = {J1: Task(J1, x.goal[0])}
    jobs = settle_refused(verb, fold_status(verb, [after], answers, at(1)), answers, verify)
    assert leg(jobs[0], verb).phase == x.done


def test_not_now_and_another_state_fails_with_code_and_state(verb: Verb) -> None:
    held = X[verb.name].held
    after, verify = one(verb, Pause(J1, "failed", "DRS.M00304", "not callable"))
    answers = {J1: Task(J1, held)}
    jobs = settle_refused(verb, fold_status(verb, [after], answers, at(1)), answers, verify)
    got = leg(jobs[0], verb)
    assert got.phase == FAILED and got.next_attempt_time is None
    assert got.error_code == "DRS.M00304"
    assert f"(task is {held})" in got.error_message
    assert "not callable" in got.error_message


def test_not_now_without_a_status_answer_is_retried_with_a_precheck(verb: Verb) -> None:
    after, verify = one(verb, Pause(J1, "failed", "DRS.M00304"))
    (settled,) = settle_refused(verb, [after], {}, verify)
    assert leg(settled, verb).phase == PENDING
    # Not at once (that would loop send + lookup as fast as the rate limiter allows) ...
    assert due_checks(verb, [settled], at(1)) == [] and due_sends(verb, [settled], at(1)) == []
    wake = next_wakeup(verb, [settled], at(1), VERIFY)
    assert wake is not None and wake > at(1)
    # ... but after a backoff, looked up before it is sent again.
    assert due_checks(verb, [settled], at(2)) == [J1]


def test_settle_refused_ignores_other_legs(verb: Verb) -> None:
    others = [on(verb, J2, attempts=1, error_code="DRS.M00304"), on(verb, J3, phase=ACCEPTED)]
    answers = {J2: Task(J2, "X"), J3: Task(J3, "X")}
    assert settle_refused(verb, others, answers, [J1]) == others


# --- expire / unseen_verdict ------------------------------------------------------------------


@pytest.mark.parametrize(("age", "fails"), [(0, False), (599, False), (600, True), (5000, True)])
def test_expire_fails_accepted_legs_after_the_verify_timeout(
    verb: Verb, age: float, fails: bool
) -> None:
    held = X[verb.name].held
    before = on(verb, phase=ACCEPTED, attempts=1, accepted_time=at(-age), task_status=held,
                next_attempt_time=at(5))
    (after,) = expire(verb, [before], NOW, VERIFY)
    if fails:
        got = leg(after, verb)
        assert got.phase == FAILED
        assert f"the {verb.name} was accepted but the task {X[verb.name].missed}" in (
            got.error_message
        )
        assert f"last state: {held}" in got.error_message
        assert got.next_attempt_time is None
    else:
        assert after == before


def _overdue(verb: Verb, age: float, missed: int = 0) -> Job:
    return on(verb, phase=ACCEPTED, attempts=1, accepted_time=at(-age),
              task_status="INCRE_TRANSFER_FAILED", next_attempt_time=at(-1),
              unanswered_lookups=missed)


def test_an_operator_back_from_an_outage_looks_again_before_failing_a_leg_unseen(
    verb: Verb,
) -> None:
    """Accepted, then the operator was down past twice the timeout; its first lookup back left
    the job out (results missing). It is looked up again in a second, not failed."""
    (after,) = expire(verb, [_overdue(verb, 1300)], NOW, VERIFY, observed=set(), asked={J1})
    assert leg(after, verb).phase == ACCEPTED and leg(after, verb).unanswered_lookups == 1
    assert leg(after, verb).next_attempt_time == at(-1)  # due at once: the next pass asks again
    # ... and a lookup that answers with the goal then makes it done (fold_status), not Failed.
    goal = X[verb.name].goal[0]
    (done,) = fold_status(verb, [after], {J1: Task(J1, goal)}, NOW)
    assert leg(done, verb).phase == X[verb.name].done


def test_a_leg_batch_status_never_answers_for_fails_after_a_few_lookups(verb: Verb) -> None:
    jobs = [_overdue(verb, 1300)]
    for _ in range(UNSEEN_LOOKUPS - 1):
        jobs = expire(verb, jobs, NOW, VERIFY, observed=set(), asked={J1})
        assert leg(jobs[0], verb).phase == ACCEPTED
    (failed,) = expire(verb, jobs, NOW, VERIFY, observed=set(), asked={J1})
    got = leg(failed, verb)
    assert got.phase == FAILED and got.unanswered_lookups == UNSEEN_LOOKUPS
    assert f"did not answer for it in {UNSEEN_LOOKUPS} lookups" in got.error_message
    assert "last state: INCRE_TRANSFER_FAILED" in got.error_message


def test_only_lookups_that_asked_count_and_not_before_twice_the_timeout(verb: Verb) -> None:
    (not_asked,) = expire(verb, [_overdue(verb, 1300, missed=2)], NOW, VERIFY, observed=set(),
                          asked=set())
    assert leg(not_asked, verb).phase == ACCEPTED and leg(not_asked, verb).unanswered_lookups == 2
    (early,) = expire(verb, [_overdue(verb, 700, missed=5)], NOW, VERIFY, observed=set(),
                      asked={J1})
    assert leg(early, verb).phase == ACCEPTED and leg(early, verb).unanswered_lookups == 6
    # Seen (answered) past the timeout and not there: Failed at once, whatever the count.
    (seen,) = expire(verb, [_overdue(verb, 700)], NOW, VERIFY, observed={J1}, asked={J1})
    assert leg(seen, verb).phase == FAILED
    assert "did not answer" not in leg(seen, verb).error_message


def test_unseen_verdict(verb: Verb) -> None:
    limit = dt.timedelta(seconds=600)
    overdue = leg(_overdue(verb, 1300, missed=UNSEEN_LOOKUPS - 1), verb)
    # Answered for (or no lookup record at all): decide on what the pass saw.
    assert unseen_verdict(J1, overdue, NOW, limit, None, None) == (overdue, SEEN)
    assert unseen_verdict(J1, overdue, NOW, limit, {J1}, {J1}) == (overdue, SEEN)
    # Asked for and not answered, for the last allowed time: fail unseen.
    counted, verdict = unseen_verdict(J1, overdue, NOW, limit, set(), {J1})
    assert verdict == FAIL_UNSEEN and counted.unanswered_lookups == UNSEEN_LOOKUPS
    # Not asked for: look again within a second, nothing counted.
    soon = overdue.update(next_attempt_time=at(30))
    again, verdict = unseen_verdict(J1, soon, NOW, limit, set(), set())
    assert verdict == LOOK_AGAIN and again.unanswered_lookups == UNSEEN_LOOKUPS - 1
    assert again.next_attempt_time == at(1)


def test_expire_leaves_other_phases_and_disabled_verification_alone(verb: Verb) -> None:
    old = at(-10_000)
    jobs = [on(verb, J1, phase=PENDING, accepted_time=old),
            *[on(verb, f"s{i}", phase=p, accepted_time=old)
              for i, p in enumerate(X[verb.name].settled)]]
    assert expire(verb, jobs, NOW, VERIFY) == jobs
    accepted = [on(verb, J3, phase=ACCEPTED, accepted_time=old)]
    assert expire(verb, accepted, NOW, NO_VERIFY) == accepted


# --- next_wakeup / postpone -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("legs", "expected"),
    [
        ([], None),
        ([{"phase": "<done>"}, {"phase": FAILED}], None),
        ([{}], NOW),  # due now
        ([{"next_attempt_time": at(-30)}], at(-30)),  # overdue: its own time (the pass clamps)
        ([{"next_attempt_time": at(30)}, {"next_attempt_time": at(12)}], at(12)),
        ([{"phase": ACCEPTED, "accepted_time": at(-595), "next_attempt_time": at(10)}], at(5)),
        (
            [{"phase": ACCEPTED, "accepted_time": NOW, "next_attempt_time": at(2)},
             {"phase": "<done>"}],
            at(2),
        ),
    ],
)
def test_next_wakeup(verb: Verb, legs: list[dict[str, Any]], expected: dt.datetime | None) -> None:
    done = X[verb.name].done
    jobs = [
        on(verb, f"j{i}", **{**fields, "phase": done if fields.get("phase") == "<done>"
                              else fields.get("phase", PENDING)})
        for i, fields in enumerate(legs)
    ]
    assert next_wakeup(verb, jobs, NOW, VERIFY) == expected


def test_next_wakeup_reads_only_its_own_verbs_legs(verb: Verb) -> None:
    mine = on(verb, phase=X[verb.name].done)
    theirs = mine.with_leg(other(verb), Leg(phase=PENDING, next_attempt_time=at(4)))
    assert next_wakeup(verb, [theirs], NOW, VERIFY) is None
    assert next_wakeup(other(verb), [theirs], NOW, VERIFY) == at(4)
    # A new job: its pause is due now; its resume has not begun and wants nothing.
    assert next_wakeup(verb, [Job(J1, "target")], NOW, VERIFY) == (NOW if verb is PAUSE else None)


def test_postpone_holds_back_the_active_legs_only(verb: Verb) -> None:
    jobs = [on(verb, J1), on(verb, J2, phase=ACCEPTED, accepted_time=NOW),
            on(verb, J3, phase=FAILED)]
    out = postpone(verb, jobs, at(60))
    assert [leg(j, verb).next_attempt_time for j in out] == [at(60), at(60), None]
    assert out[2] == jobs[2]
    assert [j.leg(other(verb)) for j in out] == [j.leg(other(verb)) for j in jobs]
    assert due_checks(verb, out, at(59)) == [] and due_sends(verb, out, at(59)) == []
    assert next_wakeup(verb, out, NOW, VERIFY) == at(60)


# --- the leg in its job's status entry --------------------------------------------------------


def _their_keys(verb: Verb) -> dict[str, Any]:
    """The keys the pause leg of :func:`on`'s resume jobs writes beside a resume leg."""
    if verb is PAUSE:
        return {}
    return {"phase": PAUSED, "apiStatus": "success", "errorCode": "", "errorMessage": "",
            "requestId": "", "attempts": 1}


def test_a_leg_round_trips_through_its_jobs_entry(verb: Verb) -> None:
    full = on(
        verb,
        pause_mode="all",
        phase=ACCEPTED,
        task_status="INCRE_TRANSFER_STARTED",
        api_status="success" if verb is PAUSE else "",
        error_code="DRS.M01503",
        error_message="busy",
        request_id="rid",
        attempts=3,
        last_attempt_time=at(-10),
        accepted_time=at(-5),
        next_attempt_time=at(5),
        transient_failures=2,
        unanswered_lookups=1,
    )
    mine = {
        "phase": ACCEPTED,
        **({"apiStatus": "success"} if verb is PAUSE else {}),
        "errorCode": "DRS.M01503",
        "errorMessage": "busy",
        "requestId": "rid",
        "attempts": 3,
        "transientFailures": 2,
        "unansweredLookups": 1,
        "lastAttemptTime": "2026-11-28T09:59:50Z",
        "acceptedTime": "2026-11-28T09:59:55Z",
        "nextAttemptTime": "2026-11-28T10:00:05Z",
    }
    data = full.to_dict()
    assert data == {
        "jobId": J1,
        "pauseMode": "all",
        "taskStatus": "INCRE_TRANSFER_STARTED",
        **_their_keys(verb),
        **{key(verb, k): v for k, v in mine.items()},
    }
    assert Job.from_dict(data) == full
    assert jobs_from_status({"jobs": [data]}) == [full]


def test_every_phase_of_the_verb_round_trips_and_others_read_as_the_initial_one(
    verb: Verb,
) -> None:
    initial = {"pause": PENDING, "resume": ""}[verb.name]
    phases = {"pause": (PENDING, ACCEPTED, PAUSED, FAILED),
              "resume": (PENDING, ACCEPTED, RESUMED, FAILED, SKIPPED)}[verb.name]
    for phase in phases:
        entry = on(verb, phase=phase).to_dict()
        assert entry[key(verb, "phase")] == phase
        assert leg(Job.from_dict(entry), verb).phase == phase
    for odd in ("Bogus", None, "", "paused", *(p for p in (RESUMED, SKIPPED, PAUSED)
                                               if p not in phases)):
        entry = {"jobId": J1, "pauseMode": "target", key(verb, "phase"): odd}
        assert leg(Job.from_dict(entry), verb).phase == initial, odd


def test_counters_are_left_out_when_zero(verb: Verb) -> None:
    counted = on(verb, attempts=4, transient_failures=3, unanswered_lookups=2).to_dict()
    assert counted[key(verb, "transientFailures")] == 3
    assert counted[key(verb, "unansweredLookups")] == 2
    plain = on(verb, attempts=4).to_dict()
    assert key(verb, "transientFailures") not in plain
    assert key(verb, "unansweredLookups") not in plain
    assert not {key(verb, t) for t in ("lastAttemptTime", "acceptedTime", "nextAttemptTime")} & (
        set(plain)
    )


def test_a_resume_that_has_not_begun_writes_no_keys_and_a_pause_always_does(verb: Verb) -> None:
    fresh = Job(J1, "target")  # as sync makes a job the spec lists
    written = {k for k in fresh.to_dict() if k not in ("jobId", "pauseMode", "taskStatus")}
    mine = {k for k in written if k.startswith("resume") == (verb is RESUME)}
    expected = {
        "pause": {"phase", "apiStatus", "errorCode", "errorMessage", "requestId", "attempts"},
        "resume": set(),
    }[verb.name]
    assert mine == expected
    assert Job.from_dict(fresh.to_dict()) == fresh


# --- the steps in a row -----------------------------------------------------------------------


def test_write_ahead_then_a_look_before_sending_again(verb: Verb) -> None:
    x = X[verb.name]
    jobs = [on(verb)]
    assert due_checks(verb, jobs, NOW) == [] and due_sends(verb, jobs, NOW) == [J1]
    sent = mark_attempts(verb, jobs, {J1}, NOW)
    assert leg(sent[0], verb).attempts == 1 and leg(sent[0], verb).last_attempt_time == NOW
    # After a crash: looked up first; a task already there is done and not sent again.
    assert due_checks(verb, sent, NOW) == [J1]
    looked = fold_status(verb, sent, {J1: Task(J1, x.goal[0])}, NOW)
    assert leg(looked[0], verb).phase == x.done and due_sends(verb, looked, NOW) == []
    # Not there yet: it is sent.
    still = fold_status(verb, sent, {J1: Task(J1, x.held)}, NOW)
    assert leg(still[0], verb).phase == PENDING and due_sends(verb, still, NOW) == [J1]


def test_success_is_verified_until_the_task_gets_there(verb: Verb) -> None:
    x = X[verb.name]
    policy = Policy(verify_timeout=60, backoff_base=1, backoff_cap=30)
    jobs = mark_attempts(verb, [on(verb)], {J1}, NOW)
    jobs, verify = fold_answers(verb, jobs, {J1: Pause(J1, request_id="r1")}, NOW, policy)
    assert leg(jobs[0], verb).phase == ACCEPTED and verify == [J1]
    assert leg(jobs[0], verb).request_id == "r1"
    polled = fold_status(verb, jobs, {J1: Task(J1, x.held)}, NOW)
    assert leg(polled[0], verb).phase == ACCEPTED
    assert leg(polled[0], verb).next_attempt_time == at(POLL_MIN)
    done = fold_status(verb, polled, {J1: Task(J1, x.goal[-1])}, at(5))
    assert leg(done[0], verb).phase == x.done and leg(done[0], verb).next_attempt_time is None
    # Without verification the answer is trusted.
    trusted, verify = fold_answers(verb, mark_attempts(verb, [on(verb)], {J1}, NOW),
                                   {J1: Pause(J1)}, NOW, Policy(verify_timeout=0))
    assert leg(trusted[0], verb).phase == x.done and verify == []


def test_transient_answers_back_off_and_terminal_ones_fail(verb: Verb) -> None:
    policy = Policy(verify_timeout=60, backoff_base=1, backoff_cap=30)
    jobs = mark_attempts(verb, [on(verb, J1), on(verb, J2)], {J1, J2}, NOW)
    out, verify = fold_answers(
        verb,
        jobs,
        {J1: Pause(J1, "failed", "DRS.M01504", transient=True, retry_after=7),
         J2: Pause(J2, "failed", "DRS.M05004", "deleted")},
        NOW, policy)
    first = leg(out[0], verb)
    assert first.phase == PENDING
    assert first.next_attempt_time is not None and first.next_attempt_time >= at(7)
    assert leg(out[1], verb).phase == FAILED and leg(out[1], verb).error_code == "DRS.M05004"
    assert verify == []


def test_refused_not_now_is_looked_up_and_decided_by_the_task_state(verb: Verb) -> None:
    x = X[verb.name]
    policy = Policy(verify_timeout=60)
    jobs = mark_attempts(verb, [on(verb, J1), on(verb, J2)], {J1, J2}, NOW)
    out, verify = fold_answers(
        verb, jobs, {j: Pause(j, "failed", "DRS.M00304") for j in (J1, J2)}, NOW, policy)
    assert verify == [J1, J2]
    answers = {J1: Task(J1, x.goal[0]), J2: Task(J2, x.held)}
    out = settle_refused(verb, fold_status(verb, out, answers, NOW), answers, verify)
    assert [leg(j, verb).phase for j in out] == [x.done, FAILED]
    assert f"task is {x.held}" in leg(out[1], verb).error_message


def test_an_accepted_leg_that_never_gets_there_fails_after_the_timeout(verb: Verb) -> None:
    policy = Policy(verify_timeout=60)
    jobs = [on(verb, phase=ACCEPTED, accepted_time=NOW, attempts=1)]
    assert leg(expire(verb, jobs, at(59), policy)[0], verb).phase == ACCEPTED
    assert leg(expire(verb, jobs, at(60), policy, observed={J1})[0], verb).phase == FAILED
    # Not looked up in this pass: looked up first.
    assert leg(expire(verb, jobs, at(60), policy, observed=set())[0], verb).phase == ACCEPTED
    # Past twice the timeout, the first lookup that leaves it out does not fail it; a few do.
    late = expire(verb, jobs, at(130), policy, observed=set(), asked={J1})
    assert leg(late[0], verb).phase == ACCEPTED and leg(late[0], verb).unanswered_lookups == 1
    assert late[0].to_dict()[key(verb, "unansweredLookups")] == 1
    for _ in range(UNSEEN_LOOKUPS - 1):
        late = expire(verb, late, at(130), policy, observed=set(), asked={J1})
    assert leg(late[0], verb).phase == FAILED


def test_a_gone_task_fails_the_leg(verb: Verb) -> None:
    jobs = [on(verb, phase=ACCEPTED, accepted_time=NOW, attempts=1)]
    out = fold_status(verb, jobs, {J1: Task(J1, None, "DRS.M05003", "not found")}, NOW)
    assert leg(out[0], verb).phase == FAILED and leg(out[0], verb).error_code == "DRS.M05003"


def test_the_backoff_counts_transient_answers_not_cut_off_sends(verb: Verb) -> None:
    policy = Policy(verify_timeout=60, backoff_base=1, backoff_cap=30)
    busy = Pause(J1, "failed", "DRS.M01504", transient=True)
    # Six requests cut off by restarts, then a transient answer: about 1 s, not 2^6 s.
    cut = [on(verb, attempts=6)]
    out, _ = fold_answers(verb, mark_attempts(verb, cut, {J1}, NOW), {J1: busy}, NOW, policy,
                          random.Random(1))
    got = leg(out[0], verb)
    assert got.attempts == 7 and got.transient_failures == 1
    assert got.next_attempt_time is not None and at(0.5) <= got.next_attempt_time <= at(1)
    # A third transient answer in a row: the third step (2 to 4 s).
    again = [out[0].with_leg(verb, got.update(transient_failures=2))]
    out, _ = fold_answers(verb, again, {J1: busy}, NOW, policy, random.Random(1))
    got = leg(out[0], verb)
    assert got.transient_failures == 3
    assert got.next_attempt_time is not None and at(2) <= got.next_attempt_time <= at(4)
    assert out[0].to_dict()[key(verb, "transientFailures")] == 3
    assert leg(Job.from_dict(out[0].to_dict()), verb).transient_failures == 3
    assert key(verb, "transientFailures") not in cut[0].to_dict()
