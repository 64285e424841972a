"""The status of a DrsJobPause, built in one place from what a pass decided (pure).

:func:`render` makes the whole document: per-job entries (each with its pause and resume
legs), the summary, the object phase and the conditions. Conditions follow kstatus and
cert-manager's habits (``resource/conditions.py``): each carries observedGeneration, and
lastTransitionTime only moves when the condition's status flips.

kstatus (kpt, Flux, cli-utils) reads the first True condition of Reconciling and Stalled in list
order, so while an operator-level problem holds Reconciling is False and Stalled comes before it:
the object reads Failed there, not InProgress (tests/health/kstatus checks that with their code).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from drs_pause_operator.resource import plans, resuming
from drs_pause_operator.resource.conditions import ConditionTuple, merge_conditions
from drs_pause_operator.resource.delay import gate_waiting, largest
from drs_pause_operator.resource.formats import fmt_seconds, fmt_time, parse_time
from drs_pause_operator.resource.job import Job, jobs_from_status
from drs_pause_operator.resource.problem import NOT_PROBLEMS, Problem, carried_problem
from drs_pause_operator.resource.spec import RESUME_NOW_ANNOTATION, SKIP_RESUME_ANNOTATION
from drs_pause_operator.resource.verbs import (
    ACCEPTED,
    CATCHING_UP,
    FAILED,
    PAUSED,
    PENDING,
    RESUMED,
)

__all__ = ["NOT_PROBLEMS", "ObjectStatus", "Problem", "carried_problem", "render"]

# Object phases (besides Pending, Paused, Failed and the resume's)
IN_PROGRESS, PARTIALLY_PAUSED = "InProgress", "PartiallyPaused"
LONG_PAUSE_TEXT = "warning: pauseMode all for more than 24h"
DELETION_TEXT = "deletion waits for the resume"


@dataclass(frozen=True)
class Summary:
    total: int
    paused: int
    failed: int
    pending: int
    failed_codes: tuple[str, ...] = field(default=())

    @classmethod
    def of(cls, jobs: list[Job]) -> Summary:
        codes = sorted({j.pause.error_code for j in jobs if j.phase == FAILED and
                        j.pause.error_code})
        return cls(
            total=len(jobs),
            paused=sum(j.phase == PAUSED for j in jobs),
            failed=sum(j.phase == FAILED for j in jobs),
            pending=sum(j.active for j in jobs),
            failed_codes=tuple(codes),
        )

    def to_dict(self) -> dict[str, int]:
        return {
            "total": self.total,
            "paused": self.paused,
            "failed": self.failed,
            "pending": self.pending,
        }


def pause_phase(jobs: list[Job]) -> str:
    """The object phase the pauses give (a resume that counts overrides it)."""
    s = Summary.of(jobs)
    if s.pending:
        untouched = all(j.phase == PENDING and j.pause.attempts == 0 for j in jobs)
        return PENDING if untouched else IN_PROGRESS
    if s.total and s.paused == s.total:
        return PAUSED
    return PARTIALLY_PAUSED if s.paused else FAILED


def _failed_text(s: Summary) -> str:
    text = f"{s.failed} failed"
    if s.failed_codes:
        text += ": " + ", ".join(s.failed_codes[:5])
    return text


def _waiting_text(jobs: list[Job], gate_max: int | None) -> str:
    """"2 tasks wait for their replication delay: 7m12s > 5m" (empty: none waits)."""
    waiting = [j for j in jobs if gate_waiting(j)]
    if not waiting:
        return ""
    worst = largest(waiting)
    text = (f"{len(waiting)} tasks wait for their replication delay" if len(waiting) > 1
            else "1 task waits for its replication delay")
    if worst is not None and gate_max is not None:
        text += f": {fmt_seconds(worst)} > {fmt_seconds(gate_max)}"
    return text


def pause_conditions(
    jobs: list[Job], problem: Problem | None, gate_max: int | None = None
) -> list[ConditionTuple]:
    """Ready, Reconciling and Stalled as the pauses give them, in list order.

    An operator-level problem (missing Secret, endpoint not allowed, rejected credentials...)
    blocks every job until a person acts: the object is not reconciling then, whatever its jobs'
    phases, and Stalled is listed before Reconciling. Without a problem the order stays Ready,
    Reconciling, Stalled, so statuses already written do not change (and are not patched again).
    """
    s = Summary.of(jobs)
    phase = pause_phase(jobs)
    progress = f"{s.paused} of {s.total} jobs paused"
    if s.failed:
        progress += "; " + _failed_text(s)
    if s.pending:
        progress += f"; {s.pending} in progress"
    waiting = _waiting_text(jobs, gate_max)
    if waiting:
        progress += f"; {waiting}"

    if phase == PAUSED:
        ready = ("True", "Paused", progress)
    elif problem is not None:
        ready = ("False", problem.reason, problem.message)
    else:
        ready = ("False", phase, progress)

    if problem is not None:
        reconciling = ("False", problem.reason, progress)
    elif s.pending:
        active = [j for j in jobs if j.active]
        if all(gate_waiting(j) for j in active):
            why = "WaitingForDelay"
        elif all(j.phase == ACCEPTED for j in active):
            why = "Verifying"
        else:
            why = "Pausing"
        reconciling = ("True", why, progress)
    else:
        reconciling = ("False", "Done", progress)

    if problem is not None:
        stalled = ("True", problem.reason, problem.message)
    elif s.failed and not s.pending:
        stalled = (
            "True",
            "JobsFailed",
            _failed_text(s) + " (set the annotation "
            "drs.cloudops.dev/retry-failed to a new value to send them again)",
        )
    else:
        stalled = ("False", "NotStalled", "")
    if problem is not None:
        return [("Ready", *ready), ("Stalled", *stalled), ("Reconciling", *reconciling)]
    return [("Ready", *ready), ("Reconciling", *reconciling), ("Stalled", *stalled)]


def _resume_conditions(
    pause: list[ConditionTuple], jobs: list[Job], phase: str
) -> list[ConditionTuple]:
    """The conditions once a resume counts (and no operator-level problem holds)."""
    text, codes = resuming.summary(jobs)
    out = []
    for ctype, _status, _reason, _message in pause:
        if ctype == "Ready":
            out.append(("Ready", "True", "Resumed", text) if phase == RESUMED
                       else ("Ready", "False", phase, text))
        elif ctype == "Reconciling":
            if phase in (resuming.RESUMING, CATCHING_UP):
                reason = "Resuming" if phase == resuming.RESUMING else CATCHING_UP
                out.append(("Reconciling", "True", reason, text))
            else:
                out.append(("Reconciling", "False", "Done", text))
        elif phase == resuming.PARTIALLY_RESUMED:
            out.append((
                "Stalled",
                "True",
                "JobsFailed",
                text + (f": {', '.join(codes[:5])}" if codes else "")
                + f" (set the annotation {RESUME_NOW_ANNOTATION} to a new value to send them "
                "again)",
            ))
        else:
            out.append(("Stalled", "False", "NotStalled", ""))
    return out


@dataclass(frozen=True)
class ObjectStatus:
    """What a pass decided about an object: everything :func:`render` writes."""

    jobs: list[Job]
    generation: int
    problem: Problem | None = None
    retry_token: str | None = None  # the retry-failed annotation value acted upon
    paused_at: dt.datetime | None = None
    due_at: dt.datetime | None = None  # when the scheduled resume is due
    resume_token: str | None = None  # the resume-now annotation value acted upon
    warn_long: bool = False  # pauseMode all paused longer than 24 h by the schedule
    deleting: bool = False  # deleted while the resume finalizer holds it
    gate_max: int | None = None  # spec.delayGate.maxDelay in seconds, for the messages
    # A plan (spec.dryRun or --dry-run; resource/plans.py): whether the object only plans,
    # when its plan was made (None: none yet), the replan token acted on, and whether the
    # operator's --dry-run forced it.
    planning: bool = False
    planned_at: dt.datetime | None = None
    replan_token: str | None = None
    plan_forced: bool = False

    @classmethod
    def kept(
        cls, start: Mapping[str, Any], generation: int, problem: Problem | None
    ) -> ObjectStatus:
        """The status as it is, with this problem: for a pass that decides nothing else."""
        return cls(
            jobs=jobs_from_status(start),
            generation=generation,
            problem=problem,
            retry_token=start.get("retryFailedToken"),
            paused_at=parse_time(start.get("pausedTime")),
            due_at=parse_time(start.get("resumeTime")),
            resume_token=start.get("resumeNowToken"),
        )


def render(old: Mapping[str, Any] | None, s: ObjectStatus, now: dt.datetime) -> dict[str, Any]:
    """The complete status document (written as one patch)."""
    old = old or {}
    jobs = s.jobs
    summary = Summary.of(jobs)
    conds = pause_conditions(jobs, s.problem, s.gate_max)
    phase = pause_phase(jobs)
    resume_phase = resuming.object_phase(jobs)
    if resume_phase is not None:
        phase = resume_phase
        if s.problem is None:
            conds = _resume_conditions(conds, jobs, resume_phase)
    if (resume_phase is None or s.problem is not None) and s.due_at is not None and not (
        resuming.begun(jobs)
    ):
        conds = [_resumes_at(c, s) if c[0] == "Ready" else c for c in conds]
    if s.planning:
        phase, conds = plans.PLANNED, plans.conditions(jobs, s.problem, s.plan_forced)
    if s.deleting:
        conds = [
            (t, st, r, f"{DELETION_TEXT}: {m} (set the annotation {SKIP_RESUME_ANNOTATION}: "
             '"true" to delete without resuming)')
            if t == "Stalled" and st == "True" else (t, st, r, m)
            for t, st, r, m in conds
        ]
    status: dict[str, Any] = {
        "observedGeneration": s.generation,
        "phase": phase,
        "pausedText": f"{summary.paused}/{summary.total}",
        "summary": summary.to_dict(),
        "conditions": merge_conditions(old.get("conditions"), conds, s.generation, now),
        "jobs": [j.to_dict() for j in jobs],
    }
    if s.retry_token:
        status["retryFailedToken"] = s.retry_token
    # Written by the selection step (engine/selection.py) and kept as is by every other write.
    if isinstance(old.get("selection"), dict):
        status["selection"] = old["selection"]
    if s.paused_at is not None:
        status["pausedTime"] = fmt_time(s.paused_at)
    if s.due_at is not None:
        status["resumeTime"] = fmt_time(s.due_at)
    if s.resume_token:
        status["resumeNowToken"] = s.resume_token
    if s.planned_at is not None:
        status["plannedTime"] = fmt_time(s.planned_at)
        if s.replan_token:
            status["replanToken"] = s.replan_token
    return status


def _resumes_at(ready: ConditionTuple, s: ObjectStatus) -> ConditionTuple:
    ctype, cstatus, reason, message = ready
    message = f"{message}; resumes at {fmt_time(s.due_at)}"
    if s.warn_long:
        message += f"; {LONG_PAUSE_TEXT} (source logs may expire and the task may not resume)"
    return ctype, cstatus, reason, message
