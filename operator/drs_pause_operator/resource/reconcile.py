"""The level-based reconcile, as pure functions of (spec, status, DRS answers, now).

A pass (driven by ``controller.py``) goes:

    sync -> due_checks -> [batch-status] -> apply_status
         -> due_pauses -> mark_attempts -> [write status] -> [pause] -> apply_pause
         -> due_checks of the just-accepted -> [batch-status] -> apply_status
         -> expire -> render -> [write status if changed] -> next_wakeup

Nothing here does I/O, so every rule is unit-tested with plain values. Two rules carry the
restart safety: a Paused or Failed job (for its current pauseMode) is never sent again, and the
attempt is recorded in status *before* the pause request leaves, so a job that may already have
been paused is checked with batch-status before it is sent again.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from drs_pause_operator.drs.retry import MAX_RETRY_AFTER, next_delay
from drs_pause_operator.resource.spec import DrsJobPauseSpec
from drs_pause_operator.resource.status import (
    ACCEPTED,
    FAILED,
    MAX_MESSAGE,
    PAUSED,
    PENDING,
    JobState,
    Problem,
    bounded,
    condition,
    parse_time,
)

NOT_PAUSABLE = "DRS.M00304"
NOT_FOUND_CODES = frozenset({"DRS.M05003", "DRS.M00289"})
PAUSED_STATES = frozenset({"PAUSING", "PAUSEING"})  # one OTC page spells it PAUSEING
# States after which a task cannot become PAUSING any more: stop waiting at once.
GONE_STATES = frozenset(
    {
        "DELETED",
        "RELEASE_RESOURCE_STARTED",
        "RELEASE_RESOURCE_COMPLETE",
        "RELEASE_RESOURCE_FAILED",
    }
)
# Stalled reasons that are about jobs, not about the operator's access to DRS.
NOT_PROBLEMS = frozenset({"JobsFailed", "NotStalled"})
# Verification polls: quick at first (a pause usually lands within a second), then every 10 s.
POLL_MIN, POLL_MAX = 0.5, 10.0
# Unanswered lookups of an overdue Accepted job before it fails unseen (see expire).
UNSEEN_LOOKUPS = 3


class PauseAnswer(Protocol):
    job_id: str
    api_status: str | None
    error_code: str | None
    error_message: str | None
    request_id: str | None
    transient: bool
    retry_after: float | None
    attempts: int


class TaskAnswer(Protocol):
    id: str
    status: str | None
    error_code: str | None
    error_message: str | None


@dataclass(frozen=True)
class Policy:
    """When to try again: the one home of every delay a pass may choose.

    Whether an answer is transient at all is decided in ``drs/retry.py``; this says how long to
    wait after each kind of setback.
    """

    verify_timeout: float = 600.0  # 0 = trust the pause API's "success" without batch-status
    # A job's own pause answer was transient: capped exponential backoff with jitter.
    backoff_base: float = 1.0
    backoff_cap: float = 300.0
    # An operator-level problem (Secret, endpoint, credentials): re-checked soon after it
    # appeared, then less often (half the time it has lasted, within these bounds).
    stalled_min: float = 2.0
    stalled_max: float = 60.0
    # A whole DRS call failed transiently: nothing of the object is tried again sooner, whatever
    # its jobs' own schedule says (no hot loop while DRS is down).
    transient_retry: float = 3.0
    # The Kubernetes API was unreachable or answered 429/5xx: look again soon, with jitter
    # (nothing is lost: the status holds the write-ahead attempt).
    kube_retry_min: float = 2.0
    kube_retry_max: float = 5.0
    # A pass failed with an unexpected error (a bug): try again, but not in a loop.
    error_retry: float = 60.0

    def stalled_backoff(self, status: Mapping[str, Any] | None, now: dt.datetime) -> float:
        """Seconds until a stalled object is re-checked (from its Stalled transition time)."""
        since = parse_time((condition(status, "Stalled") or {}).get("lastTransitionTime")) or now
        waited = (now - since).total_seconds()
        return min(self.stalled_max, max(self.stalled_min, waited / 2))

    def kube_retry(self, rng: random.Random) -> float:
        return rng.uniform(self.kube_retry_min, self.kube_retry_max)


def carried_problem(status: Mapping[str, Any] | None) -> Problem | None:
    """The operator-level problem the status shows, if any (kept until a pass shows it gone)."""
    stalled = condition(status, "Stalled") or {}
    if stalled.get("status") == "True" and stalled.get("reason") not in NOT_PROBLEMS:
        return Problem(str(stalled.get("reason")), str(stalled.get("message", "")))
    return None


def sync(
    spec: DrsJobPauseSpec,
    current: Iterable[JobState],
    *,
    retry_token: str | None,
    acted_token: str | None,
) -> tuple[list[JobState], str | None]:
    """Align status jobs with spec jobs; apply a new retry-failed annotation value.

    Returns the jobs in spec order and the retry token now acted upon.
    """
    by_id = {j.job_id: j for j in current}
    retry = bool(retry_token) and retry_token != acted_token
    jobs = []
    for want in spec.jobs:
        job = by_id.get(want.job_id)
        if job is None:
            job = JobState(job_id=want.job_id, pause_mode=want.pause_mode)
        elif job.pause_mode != want.pause_mode and job.phase != PAUSED:
            # A new pause mode is a new request, unless the task is already paused.
            job = _reset(job, want.pause_mode)
        elif retry and job.phase == FAILED:
            job = _reset(job, job.pause_mode)
        jobs.append(job)
    return jobs, retry_token or acted_token


def _reset(job: JobState, mode: str) -> JobState:
    """Sent anew: a new request, with its own backoff (the attempts stay, for the precheck)."""
    return job.update(
        pause_mode=mode,
        phase=PENDING,
        api_status="",
        error_code="",
        error_message="",
        accepted_time=None,
        next_attempt_time=None,
        transient_failures=0,
    )


def _due(job: JobState, now: dt.datetime) -> bool:
    return job.next_attempt_time is None or job.next_attempt_time <= now


def due_checks(jobs: Iterable[JobState], now: dt.datetime) -> list[str]:
    """Jobs to look up with batch-status now.

    Accepted jobs whose poll is due, and Pending jobs that were sent before (attempts > 0):
    the earlier request may have paused the task (a crash or a lost response), and a task
    already in PAUSING must not be paused again.
    """
    return [
        j.job_id
        for j in jobs
        if _due(j, now) and (j.phase == ACCEPTED or (j.phase == PENDING and j.attempts > 0))
    ]


def apply_status(
    jobs: list[JobState], answers: Mapping[str, TaskAnswer], now: dt.datetime, policy: Policy
) -> list[JobState]:
    out = []
    for job in jobs:
        answer = answers.get(job.job_id)
        if answer is None and job.phase == ACCEPTED and _due(job, now):
            # Asked about but not answered: poll again later, not at once (a hot loop).
            out.append(job.update(next_attempt_time=now + _poll_interval(job, now)))
            continue
        if answer is None and job.phase == PENDING and job.attempts > 0 and _due(job, now):
            # A precheck without an answer for this job: it may be paused already, so it is
            # not sent on that; it is looked up again later (an answer decides).
            out.append(job.update(next_attempt_time=now + dt.timedelta(seconds=POLL_MAX)))
            continue
        if answer is None or job.phase not in (PENDING, ACCEPTED):
            out.append(job)
            continue
        state = bounded(answer.status or "", 64)
        if state in PAUSED_STATES:
            out.append(job.update(phase=PAUSED, task_status=state, next_attempt_time=None))
        elif job.phase == PENDING:
            # A precheck before re-sending: only a PAUSING task changes anything.
            out.append(job.update(task_status=state or job.task_status))
        elif answer.error_code in NOT_FOUND_CODES or state in GONE_STATES:
            out.append(
                job.update(
                    phase=FAILED,
                    task_status=state,
                    next_attempt_time=None,
                    error_code=bounded(answer.error_code or ""),
                    error_message=bounded(
                        f"task {'is ' + state if state else 'not found'} "
                        "while waiting for PAUSING"
                        + (f": {answer.error_message}" if answer.error_message else ""),
                        MAX_MESSAGE,
                    ),
                )
            )
        else:
            out.append(
                job.update(task_status=state, next_attempt_time=now + _poll_interval(job, now))
            )
    return out


def _poll_interval(job: JobState, now: dt.datetime) -> dt.timedelta:
    waited = (now - (job.accepted_time or now)).total_seconds()
    return dt.timedelta(seconds=min(POLL_MAX, max(POLL_MIN, waited / 4)))


def due_pauses(jobs: Iterable[JobState], now: dt.datetime) -> list[JobState]:
    return [j for j in jobs if j.phase == PENDING and _due(j, now)]


def mark_attempts(jobs: list[JobState], ids: set[str], now: dt.datetime) -> list[JobState]:
    """Record the attempt before the request leaves (write-ahead; see the module docstring)."""
    return [
        j.update(attempts=j.attempts + 1, last_attempt_time=now) if j.job_id in ids else j
        for j in jobs
    ]


def retry_at(
    failures: int,
    retry_after: float | None,
    now: dt.datetime,
    policy: Policy,
    rng: random.Random | None,
) -> dt.datetime:
    """When a job (or resume) goes again after its ``failures``-th transient answer: capped
    exponential backoff with jitter, never sooner than Retry-After."""
    delay = next_delay(
        failures, retry_after, base=policy.backoff_base, cap=policy.backoff_cap, rng=rng
    )
    # The client caps Retry-After already; an absurd value must not break the pass.
    delay = min(delay, max(MAX_RETRY_AFTER, policy.backoff_cap))
    return now + dt.timedelta(seconds=delay)


def apply_pause(
    jobs: list[JobState],
    outcomes: Mapping[str, PauseAnswer],
    now: dt.datetime,
    policy: Policy,
    rng: random.Random | None = None,
) -> tuple[list[JobState], list[str]]:
    """Fold pause answers into the jobs; also return the ids to verify with batch-status now.

    To verify: every accepted job (when verification is on), and every job answered
    DRS.M00304 (not pausable now), which counts as Paused if its task is already PAUSING.
    """
    out, verify = [], []
    for job in jobs:
        answer = outcomes.get(job.job_id)
        if answer is None or job.phase != PENDING:
            out.append(job)
            continue
        common = {
            "api_status": bounded(answer.api_status or ""),
            "error_code": bounded(answer.error_code or ""),
            "error_message": bounded(answer.error_message or "", MAX_MESSAGE),
            "request_id": bounded(answer.request_id or "") or job.request_id,
            # mark_attempts counted one; inline retries inside the client add the rest.
            "attempts": job.attempts + max(0, answer.attempts - 1),
        }
        if (answer.api_status or "").strip().lower() == "success":
            if policy.verify_timeout <= 0:
                out.append(
                    job.update(phase=PAUSED, accepted_time=now, next_attempt_time=None, **common)
                )
            else:
                out.append(
                    job.update(phase=ACCEPTED, accepted_time=now, next_attempt_time=now, **common)
                )
                verify.append(job.job_id)
        elif answer.transient:
            # Every HTTP attempt of this request failed for the job (the client's inline
            # retries included); sends cut off by a restart before are not in the count.
            failures = job.transient_failures + max(1, answer.attempts)
            at = retry_at(failures, answer.retry_after, now, policy, rng)
            out.append(job.update(next_attempt_time=at, transient_failures=failures, **common))
        elif answer.error_code == NOT_PAUSABLE:
            # Maybe paused already: batch-status decides between Paused and Failed. Should it
            # not answer, the job is looked up (and sent) again after a backoff, not at once.
            failures = job.transient_failures + 1
            at = retry_at(failures, None, now, policy, rng)
            out.append(job.update(next_attempt_time=at, transient_failures=failures, **common))
            verify.append(job.job_id)
        else:
            out.append(job.update(phase=FAILED, next_attempt_time=None, **common))
    return out, verify


def settle_not_pausable(
    jobs: list[JobState], answers: Mapping[str, TaskAnswer], ids: Iterable[str]
) -> list[JobState]:
    """Jobs answered DRS.M00304 whose task batch-status does not show PAUSING: Failed."""
    wanted = set(ids)
    out = []
    for job in jobs:
        if job.job_id in wanted and job.phase == PENDING and job.error_code == NOT_PAUSABLE:
            answer = answers.get(job.job_id)
            if answer is not None:  # no answer: unknown, retried (with a precheck) later
                state = bounded(answer.status or "", 64)
                job = job.update(
                    phase=FAILED,
                    task_status=state,
                    error_message=bounded(
                        f"{job.error_message} (task is {state or 'unknown'})", MAX_MESSAGE
                    ),
                )
        out.append(job)
    return out


SEEN, LOOK_AGAIN, FAIL_UNSEEN = "seen", "look-again", "fail-unseen"


def unseen_verdict(
    item: Any,
    now: dt.datetime,
    limit: dt.timedelta,
    observed: Collection[str] | None,
    asked: Collection[str] | None,
) -> tuple[Any, str]:
    """An overdue Accepted job (or resume, resume.py): SEEN when this pass's lookups answered
    for it (decide on that); else LOOK_AGAIN a second later, with the lookup counted if it asked
    for it; FAIL_UNSEEN only past twice the timeout and after UNSEEN_LOOKUPS such lookups."""
    if observed is None or item.job_id in observed:
        return item, SEEN
    missed = item.unanswered_lookups + (asked is None or item.job_id in asked)
    if now - item.accepted_time < 2 * limit or missed < UNSEEN_LOOKUPS:
        soon = min(item.next_attempt_time or now, now + dt.timedelta(seconds=1))
        return item.update(next_attempt_time=soon, unanswered_lookups=missed), LOOK_AGAIN
    return item.update(unanswered_lookups=missed), FAIL_UNSEEN


def expire(
    jobs: list[JobState],
    now: dt.datetime,
    policy: Policy,
    observed: Collection[str] | None = None,
    asked: Collection[str] | None = None,
) -> list[JobState]:
    """Accepted jobs whose task has not reached PAUSING within the verification timeout fail.

    ``observed``: the jobs whose task state this pass's lookups answered; ``asked``: the jobs
    they asked about (None: all of them). When given, an overdue job that was not observed
    (the lookup failed, left it out, or was not due) is looked up again first, for it may well
    be PAUSING by now. It fails unseen only past twice the timeout and after
    ``UNSEEN_LOOKUPS`` lookups that asked for it went unanswered: an operator that was down for
    a while must not fail, on its first lookup back, a task that paused long ago.
    """
    if policy.verify_timeout <= 0:
        return jobs
    limit = dt.timedelta(seconds=policy.verify_timeout)
    out = []
    for job in jobs:
        if job.phase == ACCEPTED and job.accepted_time and now - job.accepted_time >= limit:
            job, verdict = unseen_verdict(job, now, limit, observed, asked)
            if verdict == LOOK_AGAIN:
                out.append(job)
                continue
            unseen = verdict == FAIL_UNSEEN
            why = f"last state: {job.task_status or 'unknown'}"
            if unseen:
                why += f"; batch-status did not answer for it in {job.unanswered_lookups} lookups"
            job = job.update(
                phase=FAILED,
                next_attempt_time=None,
                error_message=bounded(
                    f"the pause was accepted but the task did not reach PAUSING within "
                    f"{policy.verify_timeout:g}s ({why})",
                    MAX_MESSAGE,
                ),
            )
        out.append(job)
    return out


def next_wakeup(jobs: Iterable[JobState], now: dt.datetime, policy: Policy) -> float | None:
    """Seconds until something is due again (a retry, a poll or a timeout); None when done."""
    times = []
    for job in jobs:
        if not job.active:
            continue
        times.append(job.next_attempt_time or now)
        if job.phase == ACCEPTED and job.accepted_time and policy.verify_timeout > 0:
            deadline = job.accepted_time + dt.timedelta(seconds=policy.verify_timeout)
            if deadline > now:  # past it, the job waits for its lookup (see expire)
                times.append(deadline)
    if not times:
        return None
    return max(0.0, (min(times) - now).total_seconds())


def jobs_from_status(status: Mapping[str, Any] | None) -> list[JobState]:
    entries = (status or {}).get("jobs") or []
    return [JobState.from_dict(e) for e in entries if isinstance(e, dict) and e.get("jobId")]
