"""The steps of one action on a task, written once for every verb (pure).

A pass drives each verb's legs through the same steps (``engine/leg_io.py`` does the I/O):

    due_checks -> [batch-status] -> fold_status
      -> due_sends -> mark_attempts -> [write status] -> [send] -> fold_answers
      -> [batch-status] -> fold_status -> settle_refused
    ... expire -> next_wakeup

Two rules carry the restart safety. A leg whose phase is done or Failed is never sent again.
And the attempt is written to the status *before* the request leaves, so a leg that may have
been sent already (attempts > 0, still Pending) is looked up with batch-status first: a task
that already got there is never sent again, and one the lookup does not answer for is not sent
on that either (it is looked up again later).
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Collection, Iterable, Mapping
from typing import Protocol

from drs_pause_operator.resource.formats import MAX_MESSAGE, bounded
from drs_pause_operator.resource.job import Job, Leg
from drs_pause_operator.resource.policy import POLL_MAX, Policy, poll_interval
from drs_pause_operator.resource.verbs import (
    ACCEPTED,
    FAILED,
    GONE_STATES,
    NOT_FOUND_CODES,
    NOT_NOW,
    PENDING,
    Verb,
)

# Unanswered lookups of an overdue Accepted leg before it fails unseen (see expire).
UNSEEN_LOOKUPS = 3


class SendAnswer(Protocol):
    """DRS's answer for one job of a pause or resume request (``drs.outcomes.PauseOutcome``,
    a frozen dataclass: the members are read-only)."""

    @property
    def job_id(self) -> str: ...
    @property
    def api_status(self) -> str | None: ...
    @property
    def error_code(self) -> str | None: ...
    @property
    def error_message(self) -> str | None: ...
    @property
    def request_id(self) -> str | None: ...
    @property
    def transient(self) -> bool: ...
    @property
    def retry_after(self) -> float | None: ...
    @property
    def attempts(self) -> int: ...


class TaskAnswer(Protocol):
    """batch-status's answer for one task (``drs.models.JobStatus``), found by its job's id."""

    status: str | None
    error_code: str | None
    error_message: str | None


def due_checks(verb: Verb, jobs: Iterable[Job], now: dt.datetime) -> list[str]:
    """Jobs to look up with batch-status now: accepted legs whose poll is due, and pending
    legs sent before (attempts > 0: the earlier request may have reached the task)."""
    out = []
    for job in jobs:
        leg = job.leg(verb)
        if leg.due(now) and (
            leg.phase == ACCEPTED or (leg.phase == PENDING and leg.attempts > 0)
        ):
            out.append(job.job_id)
    return out


def due_sends(verb: Verb, jobs: Iterable[Job], now: dt.datetime) -> list[str]:
    return [j.job_id for j in jobs if j.leg(verb).phase == PENDING and j.leg(verb).due(now)]


def mark_attempts(
    verb: Verb, jobs: list[Job], ids: Collection[str], now: dt.datetime
) -> list[Job]:
    """Record the attempt before the request leaves (write-ahead; see the module docstring)."""
    return [
        j.with_leg(verb, j.leg(verb).update(attempts=j.leg(verb).attempts + 1,
                                             last_attempt_time=now))
        if j.job_id in ids
        else j
        for j in jobs
    ]


def fold_status(
    verb: Verb, jobs: list[Job], answers: Mapping[str, TaskAnswer], now: dt.datetime
) -> list[Job]:
    """Fold batch-status answers into the verb's legs (and the jobs' last seen task state)."""
    out = []
    for job in jobs:
        leg = job.leg(verb)
        answer = answers.get(job.job_id)
        if answer is None:
            if leg.phase == ACCEPTED and leg.due(now):
                # Asked about but not answered: poll again later, not at once (a hot loop).
                leg = leg.update(next_attempt_time=now + poll_interval(leg.accepted_time, now))
            elif leg.phase == PENDING and leg.attempts > 0 and leg.due(now):
                # A precheck without an answer for this job: it may have got there already,
                # so it is not sent on that; it is looked up again later (an answer decides).
                leg = leg.update(next_attempt_time=now + dt.timedelta(seconds=POLL_MAX))
            out.append(job.with_leg(verb, leg))
            continue
        state = bounded(answer.status or "", 64)
        job = job.update(task_status=state or job.task_status)
        if not leg.active:
            out.append(job)
        elif verb.reached(state):
            out.append(job.with_leg(verb, leg.update(phase=verb.done, next_attempt_time=None)))
        elif leg.phase == PENDING:
            out.append(job)  # a precheck: only a task that got there changes anything
        elif answer.error_code in NOT_FOUND_CODES or state in GONE_STATES:
            why = f"task {'is ' + state if state else 'not found'} {verb.waiting}"
            if answer.error_message:
                why += f": {answer.error_message}"
            failed = leg.update(
                phase=FAILED,
                next_attempt_time=None,
                error_code=bounded(answer.error_code or ""),
                error_message=bounded(why, MAX_MESSAGE),
            )
            out.append(job.with_leg(verb, failed))
        else:
            later = now + poll_interval(leg.accepted_time, now)
            out.append(job.with_leg(verb, leg.update(next_attempt_time=later)))
    return out


def fold_answers(
    verb: Verb,
    jobs: list[Job],
    answers: Mapping[str, SendAnswer],
    now: dt.datetime,
    policy: Policy,
    rng: random.Random | None = None,
) -> tuple[list[Job], list[str]]:
    """Fold the send's per-job answers in; also return the ids to look up with batch-status now.

    To look up: every accepted leg (when verification is on), and every leg answered
    DRS.M00304 (not possible in the task's state): its task may have got there already.
    """
    out, verify = [], []
    for job in jobs:
        leg = job.leg(verb)
        answer = answers.get(job.job_id)
        if answer is None or leg.phase != PENDING:
            out.append(job)
            continue
        common = {
            "error_code": bounded(answer.error_code or ""),
            "error_message": bounded(answer.error_message or "", MAX_MESSAGE),
            "request_id": bounded(answer.request_id or "") or leg.request_id,
            # mark_attempts counted one; inline retries inside the client add the rest.
            "attempts": leg.attempts + max(0, answer.attempts - 1),
        }
        if verb.writes_api_status:
            common["api_status"] = bounded(answer.api_status or "")
        if (answer.api_status or "").strip().lower() == "success":
            if policy.verify_timeout <= 0:
                leg = leg.update(
                    phase=verb.done, accepted_time=now, next_attempt_time=None, **common
                )
            else:
                leg = leg.update(phase=ACCEPTED, accepted_time=now, next_attempt_time=now,
                                 **common)
                verify.append(job.job_id)
        elif answer.transient or answer.error_code == NOT_NOW:
            # Transient: every HTTP attempt of this request failed for the job (the client's
            # inline retries included); sends cut off by a restart before are not in the count.
            # Not possible now: batch-status decides; should it not answer, the leg is looked
            # up (and sent) again after a backoff, not at once.
            failures = leg.transient_failures + (
                max(1, answer.attempts) if answer.transient else 1
            )
            at = policy.retry_at(
                failures, answer.retry_after if answer.transient else None, now, rng
            )
            leg = leg.update(next_attempt_time=at, transient_failures=failures, **common)
            if answer.error_code == NOT_NOW:
                verify.append(job.job_id)
        else:
            leg = leg.update(phase=FAILED, next_attempt_time=None, **common)
        out.append(job.with_leg(verb, leg))
    return out, verify


def settle_refused(
    verb: Verb, jobs: list[Job], answers: Mapping[str, TaskAnswer], ids: Iterable[str]
) -> list[Job]:
    """Legs answered DRS.M00304 whose task batch-status shows not there: Failed.

    (A task that is there already was made done by :func:`fold_status`; no answer: unknown,
    looked up and sent again later.)"""
    wanted = set(ids)
    out = []
    for job in jobs:
        leg = job.leg(verb)
        answer = answers.get(job.job_id)
        if (
            job.job_id in wanted
            and leg.phase == PENDING
            and leg.error_code == NOT_NOW
            and answer is not None
        ):
            state = bounded(answer.status or "", 64)
            leg = leg.update(
                phase=FAILED,
                next_attempt_time=None,
                error_message=bounded(
                    f"{leg.error_message} (task is {state or 'unknown'})", MAX_MESSAGE
                ),
            )
            job = job.with_leg(verb, leg)
        out.append(job)
    return out


SEEN, LOOK_AGAIN, FAIL_UNSEEN = "seen", "look-again", "fail-unseen"


def unseen_verdict(
    job_id: str,
    leg: Leg,
    now: dt.datetime,
    limit: dt.timedelta,
    observed: Collection[str] | None,
    asked: Collection[str] | None,
) -> tuple[Leg, str]:
    """An overdue Accepted leg: SEEN when this pass's lookups answered for it (decide on that);
    else LOOK_AGAIN a second later, with the lookup counted if it asked for it; FAIL_UNSEEN
    only past twice the timeout and after UNSEEN_LOOKUPS such lookups."""
    if observed is None or job_id in observed:
        return leg, SEEN
    missed = leg.unanswered_lookups + (asked is None or job_id in asked)
    assert leg.accepted_time is not None
    if now - leg.accepted_time < 2 * limit or missed < UNSEEN_LOOKUPS:
        soon = min(leg.next_attempt_time or now, now + dt.timedelta(seconds=1))
        return leg.update(next_attempt_time=soon, unanswered_lookups=missed), LOOK_AGAIN
    return leg.update(unanswered_lookups=missed), FAIL_UNSEEN


def expire(
    verb: Verb,
    jobs: list[Job],
    now: dt.datetime,
    policy: Policy,
    observed: Collection[str] | None = None,
    asked: Collection[str] | None = None,
) -> list[Job]:
    """Accepted legs whose task has not got there within the verification timeout fail.

    ``observed``: the jobs whose task state this pass's lookups answered; ``asked``: the jobs
    they asked about (None: all of them). When given, an overdue leg that was not observed (the
    lookup failed, left it out, or was not due) is looked up again first, for its task may well
    have got there by now. It fails unseen only past twice the timeout and after
    ``UNSEEN_LOOKUPS`` lookups that asked for it went unanswered: an operator that was down for
    a while must not fail, on its first lookup back, a task that got there long ago.
    """
    if policy.verify_timeout <= 0:
        return jobs
    limit = dt.timedelta(seconds=policy.verify_timeout)
    out = []
    for job in jobs:
        leg = job.leg(verb)
        if leg.phase == ACCEPTED and leg.accepted_time and now - leg.accepted_time >= limit:
            leg, verdict = unseen_verdict(job.job_id, leg, now, limit, observed, asked)
            if verdict != LOOK_AGAIN:
                unseen = leg.unanswered_lookups if verdict == FAIL_UNSEEN else None
                leg = leg.update(
                    phase=FAILED,
                    next_attempt_time=None,
                    error_message=bounded(
                        verb.expired(policy.verify_timeout, job.task_status, unseen),
                        MAX_MESSAGE,
                    ),
                )
            job = job.with_leg(verb, leg)
        out.append(job)
    return out


def next_wakeup(
    verb: Verb, jobs: Iterable[Job], now: dt.datetime, policy: Policy
) -> dt.datetime | None:
    """When something of the verb's legs is due again (a send, a poll or a timeout)."""
    times = []
    for job in jobs:
        leg = job.leg(verb)
        if not leg.active:
            continue
        times.append(leg.next_attempt_time or now)
        if leg.phase == ACCEPTED and leg.accepted_time and policy.verify_timeout > 0:
            deadline = leg.accepted_time + dt.timedelta(seconds=policy.verify_timeout)
            if deadline > now:  # past it, the leg waits for its lookup (see expire)
                times.append(deadline)
    return min(times) if times else None


def postpone(verb: Verb, jobs: list[Job], until: dt.datetime) -> list[Job]:
    """Nothing of the verb's active legs is due before ``until`` (e.g. DRS refused the
    credentials: the watch event of the pass's own status write must not send again at once)."""
    return [
        j.with_leg(verb, j.leg(verb).update(next_attempt_time=until)) if j.leg(verb).active
        else j
        for j in jobs
    ]
