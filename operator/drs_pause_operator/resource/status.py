"""The status of a DrsJobPause: per-job entries, summary, phase and conditions (pure).

Conditions follow kstatus and cert-manager's habits: each carries observedGeneration, and
lastTransitionTime only moves when the condition's status flips.

kstatus (kpt, Flux, cli-utils) reads the first True condition of Reconciling and Stalled in list
order, so while an operator-level problem holds Reconciling is False and Stalled comes before it:
the object reads Failed there, not InProgress (tests/health/kstatus checks that with their code).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from typing import Any

# Per-job phases
PENDING, ACCEPTED, PAUSED, FAILED = "Pending", "Accepted", "Paused", "Failed"
# Object phases (besides Pending, Paused, Failed)
IN_PROGRESS, PARTIALLY_PAUSED = "InProgress", "PartiallyPaused"

# Bounds on remote text copied into status: a hostile or broken endpoint must not be able to grow
# the object towards etcd's 1.5 MiB limit (500 jobs x these bounds stays far below it).
MAX_MESSAGE = 512
MAX_SHORT = 128


def bounded(text: str | None, limit: int = MAX_SHORT) -> str:
    if not text:
        return ""
    text = str(text)
    # Clean only what is kept: a megabyte of remote text costs no more than a short one.
    clean = "".join(ch if ch.isprintable() else " " for ch in text[:limit])
    return clean if len(text) <= limit else clean[: limit - 1] + "…"


def fmt_time(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value: Any) -> dt.datetime | None:
    if not value or not isinstance(value, str):
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


@dataclass(frozen=True)
class JobState:
    """One job's entry in status.jobs; every field survives a restart through the status."""

    job_id: str
    pause_mode: str
    phase: str = PENDING
    task_status: str = ""
    api_status: str = ""
    error_code: str = ""
    error_message: str = ""
    request_id: str = ""
    attempts: int = 0
    last_attempt_time: dt.datetime | None = None
    accepted_time: dt.datetime | None = None
    next_attempt_time: dt.datetime | None = None
    # Transient answers since the job was last sent anew: the retry backoff's step. Unlike
    # attempts, a request cut off by an operator restart does not count (it failed nothing).
    transient_failures: int = 0
    # Accepted and past the verification timeout: lookups that asked for the job and got no
    # answer about it. Only after a few of those does it fail unseen (see reconcile.expire).
    unanswered_lookups: int = 0

    @property
    def active(self) -> bool:
        return self.phase in (PENDING, ACCEPTED)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "jobId": self.job_id,
            "pauseMode": self.pause_mode,
            "phase": self.phase,
            "taskStatus": self.task_status,
            "apiStatus": self.api_status,
            "errorCode": self.error_code,
            "errorMessage": self.error_message,
            "requestId": self.request_id,
            "attempts": self.attempts,
        }
        if self.transient_failures:
            data["transientFailures"] = self.transient_failures
        if self.unanswered_lookups:
            data["unansweredLookups"] = self.unanswered_lookups
        for key, value in (
            ("lastAttemptTime", self.last_attempt_time),
            ("acceptedTime", self.accepted_time),
            ("nextAttemptTime", self.next_attempt_time),
        ):
            if value is not None:
                data[key] = fmt_time(value)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> JobState:
        phase = data.get("phase")
        return cls(
            job_id=str(data.get("jobId", "")),
            pause_mode=str(data.get("pauseMode", "")),
            phase=phase if phase in (PENDING, ACCEPTED, PAUSED, FAILED) else PENDING,
            task_status=str(data.get("taskStatus") or ""),
            api_status=str(data.get("apiStatus") or ""),
            error_code=str(data.get("errorCode") or ""),
            error_message=str(data.get("errorMessage") or ""),
            request_id=str(data.get("requestId") or ""),
            attempts=int(data.get("attempts") or 0),
            last_attempt_time=parse_time(data.get("lastAttemptTime")),
            accepted_time=parse_time(data.get("acceptedTime")),
            next_attempt_time=parse_time(data.get("nextAttemptTime")),
            transient_failures=int(data.get("transientFailures") or 0),
            unanswered_lookups=int(data.get("unansweredLookups") or 0),
        )

    def update(self, **changes: Any) -> JobState:
        return replace(self, **changes)


@dataclass(frozen=True)
class Problem:
    """An object-level reason the operator cannot progress (missing Secret, bad endpoint...)."""

    reason: str
    message: str


@dataclass(frozen=True)
class Summary:
    total: int
    paused: int
    failed: int
    pending: int
    failed_codes: tuple[str, ...] = field(default=())

    @classmethod
    def of(cls, jobs: list[JobState]) -> Summary:
        codes = sorted({j.error_code for j in jobs if j.phase == FAILED and j.error_code})
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


def object_phase(jobs: list[JobState]) -> str:
    s = Summary.of(jobs)
    if s.pending:
        untouched = all(j.phase == PENDING and j.attempts == 0 for j in jobs)
        return PENDING if untouched else IN_PROGRESS
    if s.total and s.paused == s.total:
        return PAUSED
    return PARTIALLY_PAUSED if s.paused else FAILED


def _failed_text(s: Summary) -> str:
    text = f"{s.failed} failed"
    if s.failed_codes:
        text += ": " + ", ".join(s.failed_codes[:5])
    return text


def conditions_for(
    jobs: list[JobState], problem: Problem | None
) -> list[tuple[str, str, str, str]]:
    """(type, status, reason, message) for Ready, Reconciling and Stalled, in list order.

    An operator-level problem (missing Secret, endpoint not allowed, rejected credentials...)
    blocks every job until a person acts: the object is not reconciling then, whatever its jobs'
    phases, and Stalled is listed before Reconciling. Without a problem the order stays Ready,
    Reconciling, Stalled, so statuses already written do not change (and are not patched again).
    """
    s = Summary.of(jobs)
    phase = object_phase(jobs)
    progress = f"{s.paused} of {s.total} jobs paused"
    if s.failed:
        progress += "; " + _failed_text(s)
    if s.pending:
        progress += f"; {s.pending} in progress"

    if phase == PAUSED:
        ready = ("True", "Paused", progress)
    elif problem is not None:
        ready = ("False", problem.reason, problem.message)
    else:
        ready = ("False", phase, progress)

    if problem is not None:
        reconciling = ("False", problem.reason, progress)
    elif s.pending:
        verifying = all(j.phase == ACCEPTED for j in jobs if j.active)
        reconciling = ("True", "Verifying" if verifying else "Pausing", progress)
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


def merge_conditions(
    old: list[dict[str, Any]] | None,
    new: list[tuple[str, str, str, str]],
    generation: int,
    now: dt.datetime,
) -> list[dict[str, Any]]:
    previous = {c.get("type"): c for c in (old or []) if isinstance(c, dict)}
    out = []
    for ctype, status, reason, message in new:
        before = previous.get(ctype)
        if (
            before is not None
            and before.get("status") == status
            and before.get("lastTransitionTime")
        ):
            when = before["lastTransitionTime"]
        else:
            when = fmt_time(now)
        out.append(
            {
                "type": ctype,
                "status": status,
                "reason": reason,
                "message": bounded(message, MAX_MESSAGE),
                "observedGeneration": generation,
                "lastTransitionTime": when,
            }
        )
    return out


def render(
    old_status: dict[str, Any] | None,
    jobs: list[JobState],
    generation: int,
    problem: Problem | None,
    now: dt.datetime,
    retry_token: str | None = None,
) -> dict[str, Any]:
    """The complete status document for these jobs (written as one merge patch)."""
    old_status = old_status or {}
    s = Summary.of(jobs)
    status: dict[str, Any] = {
        "observedGeneration": generation,
        "phase": object_phase(jobs),
        "pausedText": f"{s.paused}/{s.total}",
        "summary": s.to_dict(),
        "conditions": merge_conditions(
            old_status.get("conditions"), conditions_for(jobs, problem), generation, now
        ),
        "jobs": [j.to_dict() for j in jobs],
    }
    if retry_token:
        status["retryFailedToken"] = retry_token
    # Written by the selection step (engine/selection.py) and kept as is by every other write.
    if isinstance(old_status.get("selection"), dict):
        status["selection"] = old_status["selection"]
    return status


def condition(status: dict[str, Any] | None, ctype: str) -> dict[str, Any] | None:
    for c in (status or {}).get("conditions") or []:
        if isinstance(c, dict) and c.get("type") == ctype:
            return c
    return None


def transition_events(
    old: dict[str, Any] | None, new: dict[str, Any]
) -> list[tuple[str, str, str]]:
    """Kubernetes Events (type, reason, message) for what changed: one per transition."""
    events: list[tuple[str, str, str]] = []
    old_phase = (old or {}).get("phase")
    phase = new.get("phase")
    summary = new.get("summary") or {}
    ready = condition(new, "Ready") or {}
    if phase not in (old_phase, PENDING):
        kind = "Warning" if phase in (FAILED, PARTIALLY_PAUSED, "PartiallyResumed") else "Normal"
        reason = {
            IN_PROGRESS: "Pausing",
            PAUSED: "Paused",
            PARTIALLY_PAUSED: "PartiallyPaused",
            FAILED: "Failed",
        }.get(phase or "", phase or "Unknown")
        message = ready.get("message") or f"{summary.get('paused', 0)}/{summary.get('total', 0)}"
        events.append((kind, reason, message))
    old_stalled = condition(old, "Stalled") or {}
    stalled = condition(new, "Stalled") or {}
    problem_reasons = {"JobsFailed", "NotStalled"}
    if stalled.get("status") == "True" and stalled.get("reason") not in problem_reasons:
        if (old_stalled.get("status"), old_stalled.get("reason")) != (
            "True",
            stalled.get("reason"),
        ):
            events.append(("Warning", str(stalled.get("reason")), str(stalled.get("message", ""))))
    elif old_stalled.get("status") == "True" and old_stalled.get("reason") not in problem_reasons:
        events.append(("Normal", "Recovered", f"{old_stalled.get('reason')} resolved"))
    return events
