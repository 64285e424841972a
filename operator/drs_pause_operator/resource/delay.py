"""What a DBA checks by hand around a pause: the replication delay (pure).

Two steps around the legs, both optional and both reading DRS's batch-progress
(``incre_trans_delay``); without ``spec.delayGate`` and ``spec.resume.catchUp`` no such reading
is ever made.

- **The gate** (``spec.delayGate``), a step before a pause leg's first send: a task is paused
  only once its delay is at most ``maxDelay``. While it is higher the job stays Pending and is
  read again every poll interval, for at most ``waitUpTo`` counted from the first high reading
  (``delayGateSince`` in the status, so a restart does not wait from zero). Then ``onTimeout``
  decides: Pause (pause anyway, Warning Event ``DelayGateTimedOut``) or Skip (the job is Failed,
  errorCode ``DelayTooHigh``, the task keeps running). A leg sent once is never gated again.
- **Catch-up** (``spec.resume.catchUp``), a step after a resume is verified: the leg is
  ``CatchingUp`` until the delay is at most ``maxDelay`` (then Resumed, ``caughtUpTime``), for at
  most ``timeout`` counted from the resume's acceptance (``resumeAcceptedTime``); then the
  resume is Failed with errorCode ``CatchUpTimeout`` (the task keeps running; Warning Event).

A delay that does not apply (``-1``, empty, or the task is not in its incremental phase) passes
the gate and counts as caught up; the status then has ``delayTime`` without ``delaySeconds``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

from drs_pause_operator.resource.formats import MAX_MESSAGE, bounded, fmt_seconds
from drs_pause_operator.resource.job import Job
from drs_pause_operator.resource.spec import CatchUp, DelayGate
from drs_pause_operator.resource.verbs import (
    CATCHING_UP,
    FAILED,
    PENDING,
    RESUMED,
    Verb,
)

DELAY_TOO_HIGH = "DelayTooHigh"
CATCH_UP_TIMEOUT = "CatchUpTimeout"
#: An answer without a usable delay for the job (left out, or unparsable): read again soon.
UNKNOWN_RETRY = dt.timedelta(seconds=5)

#: (type, reason, message)
Event = tuple[str, str, str]


class ProgressAnswer(Protocol):
    """batch-progress's answer for one task (``drs.models.JobProgress``)."""

    job_id: str
    delay_seconds: int | None  # None: does not apply
    protocol_error: str | None  # the answer's delay could not be read
    error_code: str | None


@dataclass(frozen=True)
class Reading:
    """One job's delay as this pass read it."""

    known: bool  # False: no usable answer (left out, unparsable, an error for the job)
    seconds: int | None = None  # None with known: does not apply

    def within(self, limit: int) -> bool:
        return self.known and (self.seconds is None or self.seconds <= limit)

    def text(self) -> str:
        if not self.known:
            return "unknown"
        return "n/a" if self.seconds is None else fmt_seconds(self.seconds)


def reading(answer: ProgressAnswer | None) -> Reading:
    if answer is None or answer.protocol_error or answer.error_code:
        return Reading(known=False)
    return Reading(known=True, seconds=answer.delay_seconds)


def _read(job: Job, r: Reading, now: dt.datetime) -> Job:
    """The job with this reading recorded (an unknown one changes nothing)."""
    if not r.known:
        return job
    return job.update(delay_seconds=r.seconds, delay_time=now)


# -- the gate ------------------------------------------------------------------------------


def gate_due(gate: DelayGate | None, jobs: Iterable[Job], now: dt.datetime) -> list[str]:
    """Jobs whose delay the gate reads now: pause legs never sent, due now."""
    if gate is None:
        return []
    return [
        j.job_id
        for j in jobs
        if j.pause.phase == PENDING and j.pause.attempts == 0 and j.pause.due(now)
    ]


def gate_waiting(job: Job) -> bool:
    """Does the gate hold this job's pause back?"""
    return job.delay_gate_since is not None and job.pause.phase == PENDING and (
        job.pause.attempts == 0
    )


def apply_gate(
    gate: DelayGate,
    jobs: list[Job],
    ids: Iterable[str],
    answers: Mapping[str, ProgressAnswer],
    now: dt.datetime,
    poll: dt.timedelta,
) -> tuple[list[Job], list[Event]]:
    """Let the jobs read in ``ids`` through (their pause goes out in this pass), hold them, or
    time them out; the Events of the timeouts."""
    wanted = set(ids)
    limit = gate.max_delay_seconds
    out: list[Job] = []
    paused_anyway: list[str] = []
    skipped: list[str] = []
    for job in jobs:
        if job.job_id not in wanted:
            out.append(job)
            continue
        r = reading(answers.get(job.job_id))
        job = _read(job, r, now)
        if r.within(limit):
            out.append(job.update(delay_at_pause=r.seconds, delay_gate_since=None))
            continue
        since = job.delay_gate_since or now
        deadline = since + gate.wait
        if now < deadline:
            later = now + (poll if r.known else min(poll, UNKNOWN_RETRY))
            leg = job.pause.update(next_attempt_time=min(later, deadline))
            out.append(job.update(pause=leg, delay_gate_since=since))
            continue
        why = f"replication delay {r.text()} > {fmt_seconds(limit)} after waiting " \
              f"{fmt_seconds((now - since).total_seconds())}"
        if gate.on_timeout == "Pause":
            paused_anyway.append(f"{job.job_id} ({r.text()})")
            out.append(job.update(delay_at_pause=r.seconds, delay_gate_since=None))
        else:
            skipped.append(f"{job.job_id} ({r.text()})")
            leg = job.pause.update(
                phase=FAILED,
                next_attempt_time=None,
                error_code=DELAY_TOO_HIGH,
                error_message=bounded(f"{why}: not paused (delayGate.onTimeout: Skip)",
                                      MAX_MESSAGE),
            )
            out.append(job.update(pause=leg, delay_gate_since=None))
    waited = f"after waiting {gate.wait_up_to} for a replication delay <= {gate.max_delay}"
    return out, _events(
        ("Warning", "DelayGateTimedOut", f"pausing anyway {waited} (delayGate.onTimeout: "
         "Pause)", paused_anyway),
        ("Warning", "DelayGateTimedOut", f"not pausing {waited} (delayGate.onTimeout: Skip)",
         skipped),
    )


def hold(verb: Verb, jobs: list[Job], ids: Iterable[str], until: dt.datetime) -> list[Job]:
    """No reading this pass (the call failed): the verb's legs read in ``ids`` wait until
    ``until`` (a gated pause is not sent meanwhile)."""
    wanted = set(ids)
    return [
        j.with_leg(verb, j.leg(verb).update(next_attempt_time=until)) if j.job_id in wanted
        else j
        for j in jobs
    ]


# -- catch-up ------------------------------------------------------------------------------


def begin_catch_up(catch_up: CatchUp | None, jobs: list[Job]) -> list[Job]:
    """Resumes verified whose task has not been seen caught up wait for it (CatchingUp)."""
    if catch_up is None:
        return jobs
    return [
        j.update(resume=j.resume.update(phase=CATCHING_UP, next_attempt_time=None))
        if j.resume.phase == RESUMED and j.caught_up_time is None
        else j
        for j in jobs
    ]


def catch_up_due(catch_up: CatchUp | None, jobs: Iterable[Job], now: dt.datetime) -> list[str]:
    if catch_up is None:
        return []
    return [j.job_id for j in jobs if j.resume.phase == CATCHING_UP and j.resume.due(now)]


def apply_catch_up(
    catch_up: CatchUp,
    jobs: list[Job],
    ids: Iterable[str],
    answers: Mapping[str, ProgressAnswer],
    now: dt.datetime,
    poll: dt.timedelta,
) -> tuple[list[Job], list[Event]]:
    """Resumed once caught up, Failed (CatchUpTimeout) past the timeout, else read again."""
    wanted = set(ids)
    limit = catch_up.max_delay_seconds
    out: list[Job] = []
    caught: list[str] = []
    late: list[str] = []
    for job in jobs:
        if job.job_id not in wanted or job.resume.phase != CATCHING_UP:
            out.append(job)
            continue
        r = reading(answers.get(job.job_id))
        job = _read(job, r, now)
        if r.within(limit):
            caught.append(job.job_id)
            leg = job.resume.update(phase=RESUMED, next_attempt_time=None)
            out.append(job.update(resume=leg, caught_up_time=now))
            continue
        deadline = (job.resume.accepted_time or now) + catch_up.limit
        if now >= deadline:
            late.append(f"{job.job_id} ({r.text()})")
            leg = job.resume.update(
                phase=FAILED,
                next_attempt_time=None,
                error_code=CATCH_UP_TIMEOUT,
                error_message=bounded(
                    f"resumed, but the replication delay is {r.text()} > "
                    f"{fmt_seconds(limit)} after {catch_up.timeout}: the task keeps running",
                    MAX_MESSAGE,
                ),
            )
            out.append(job.update(resume=leg))
            continue
        later = now + (poll if r.known else min(poll, UNKNOWN_RETRY))
        out.append(job.update(resume=job.resume.update(next_attempt_time=min(later, deadline))))
    return out, _events(
        ("Normal", "CaughtUp",
         f"{len(caught)} task(s) caught up (replication delay <= {catch_up.max_delay})", caught),
        ("Warning", "CatchUpTimedOut", f"not caught up within {catch_up.timeout} (replication "
         f"delay > {catch_up.max_delay}); the tasks keep running", late),
    )


def _events(*kinds: tuple[str, str, str, list[str]]) -> list[Event]:
    """One Event per kind that has tasks: its text, then the tasks."""
    return [(type_, reason, f"{text}: " + ", ".join(tasks))
            for type_, reason, text, tasks in kinds if tasks]


def next_reading(jobs: Iterable[Job], now: dt.datetime) -> dt.datetime | None:
    """When a catching-up leg is read again (gated legs are Pending: the legs' own wake-up)."""
    times = [j.resume.next_attempt_time or now for j in jobs if j.resume.phase == CATCHING_UP]
    return min(times) if times else None


def largest(jobs: Iterable[Job]) -> int | None:
    """The largest delay the jobs' last readings show (None: none applies)."""
    known = [j.delay_seconds for j in jobs if j.delay_seconds is not None]
    return max(known) if known else None
