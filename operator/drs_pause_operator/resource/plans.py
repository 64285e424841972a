"""Plans: what a pause would do, decided from lookups alone; nothing is sent (pure).

An object with ``spec.dryRun: true`` (or every object, when the operator runs with
``--dry-run``) is looked at, not acted on: each task is looked up with batch-status (and its
replication delay read when a delay gate is set), and each job gets a verdict in its status
entry (``plan``). The object's phase is ``Planned``. No pause and no resume request leaves:
the plan path in ``engine/object_pass.py`` has no way to send one.

A plan is made again on every spec change, on a new value of the ``drs.cloudops.dev/replan``
annotation, and when the last one is older than :data:`REPLAN_AFTER`. Turning ``dryRun`` off
is a spec change: the object then pauses as usual, and each job keeps its verdict until its
pause is sent.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from drs_pause_operator.resource.conditions import ConditionTuple
from drs_pause_operator.resource.delay import ProgressAnswer, reading
from drs_pause_operator.resource.formats import bounded, fmt_seconds, parse_time
from drs_pause_operator.resource.job import Job
from drs_pause_operator.resource.legs import TaskAnswer
from drs_pause_operator.resource.problem import Problem
from drs_pause_operator.resource.selector import PAUSABLE_STATES
from drs_pause_operator.resource.spec import GROUP, DelayGate
from drs_pause_operator.resource.verbs import NOT_FOUND_CODES, PAUSED_STATES

REPLAN_ANNOTATION = f"{GROUP}/replan"
PLANNED = "Planned"
REPLAN_AFTER = dt.timedelta(minutes=5)

WOULD_PAUSE, ALREADY_PAUSED, NOT_PAUSABLE, NOT_FOUND, WAITS_FOR_DELAY = (
    "WouldPause",
    "AlreadyPaused",
    "NotPausable",
    "NotFound",
    "WaitsForDelay",
)
VERDICTS = (WOULD_PAUSE, ALREADY_PAUSED, NOT_PAUSABLE, NOT_FOUND, WAITS_FOR_DELAY)
_WORDS = {
    WOULD_PAUSE: "would pause",
    ALREADY_PAUSED: "already paused",
    NOT_PAUSABLE: "not pausable",
    NOT_FOUND: "not found",
    WAITS_FOR_DELAY: "wait for their replication delay",
}


def due(status: Mapping[str, Any], generation: int, token: str | None, now: dt.datetime) -> bool:
    """Is a new plan due: none yet, the spec changed, a new replan token, or an old plan?"""
    planned = parse_time(status.get("plannedTime"))
    if planned is None or status.get("phase") != PLANNED:
        return True
    if status.get("observedGeneration") != generation:
        return True
    if token and token != status.get("replanToken"):
        return True
    return now - planned >= REPLAN_AFTER


def verdict(
    answer: TaskAnswer | None, progress: ProgressAnswer | None, gate: DelayGate | None
) -> tuple[str, str]:
    """A job's verdict, and a message saying why where the verdict alone does not."""
    if answer is None or answer.error_code in NOT_FOUND_CODES:
        return NOT_FOUND, bounded(answer.error_code if answer else "no answer for the task")
    state = bounded(answer.status or "", 64)
    if not state:
        return NOT_FOUND, bounded(answer.error_code or "no state for the task")
    if state in PAUSED_STATES:
        return ALREADY_PAUSED, ""
    if state not in PAUSABLE_STATES:
        return NOT_PAUSABLE, f"task is {state}, not one of the pausable states"
    if gate is not None:
        r = reading(progress)
        if not r.within(gate.max_delay_seconds):
            return WAITS_FOR_DELAY, (
                f"replication delay {r.text()} > {fmt_seconds(gate.max_delay_seconds)}"
            )
    return WOULD_PAUSE, ""


def apply(
    jobs: list[Job],
    answers: Mapping[str, TaskAnswer],
    progress: Mapping[str, ProgressAnswer],
    gate: DelayGate | None,
    now: dt.datetime,
) -> list[Job]:
    """Each job with its verdict and what the lookups showed of its task."""
    out = []
    for job in jobs:
        answer = answers.get(job.job_id)
        plan, message = verdict(answer, progress.get(job.job_id), gate)
        job = job.update(plan=plan, plan_message=message)
        if answer is not None and answer.status:
            job = job.update(task_status=bounded(answer.status, 64))
        r = reading(progress.get(job.job_id))
        if gate is not None and r.known:
            job = job.update(delay_seconds=r.seconds, delay_time=now)
        out.append(job)
    return out


def sent(jobs: Iterable[Job]) -> list[Job]:
    """A verdict stays until the job's pause is sent."""
    return [j.update(plan="", plan_message="") if j.pause.attempts and j.plan else j
            for j in jobs]


def counts(jobs: Iterable[Job]) -> str:
    """"2 would pause, 1 already paused, 1 not found"."""
    tally = {v: 0 for v in VERDICTS}
    for job in jobs:
        if job.plan in tally:
            tally[job.plan] += 1
    return ", ".join(f"{n} {_WORDS[v]}" for v, n in tally.items() if n) or "no jobs"


def conditions(
    jobs: list[Job], problem: Problem | None, forced: bool
) -> list[ConditionTuple]:
    """Ready (True: a plan is a finished result), Reconciling, Stalled of a planned object."""
    why = "operator runs with --dry-run" if forced else "spec.dryRun"
    text = f"plan: {counts(jobs)} ({why}: nothing is paused or resumed)"
    if problem is not None:
        return [
            ("Ready", "False", problem.reason, problem.message),
            ("Stalled", "True", problem.reason, problem.message),
            ("Reconciling", "False", problem.reason, text),
        ]
    return [
        ("Ready", "True", PLANNED, text),
        ("Reconciling", "False", PLANNED, text),
        ("Stalled", "False", "NotStalled", ""),
    ]


def wake_after(planned: dt.datetime, now: dt.datetime) -> float:
    """Seconds until the plan is made again."""
    return max(0.0, (planned + REPLAN_AFTER - now).total_seconds())

