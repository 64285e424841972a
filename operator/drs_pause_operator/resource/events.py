"""The Events of a pass, from the status it started from and the one it wrote (pure).

One Event per transition: the object's phase, an operator-level problem appearing or going,
a resume beginning, and the warnings a person should see once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from drs_pause_operator.resource import resuming
from drs_pause_operator.resource.conditions import condition
from drs_pause_operator.resource.spec import RESUME_NOW_ANNOTATION
from drs_pause_operator.resource.status import (
    DELETION_TEXT,
    IN_PROGRESS,
    LONG_PAUSE_TEXT,
    NOT_PROBLEMS,
    PARTIALLY_PAUSED,
)
from drs_pause_operator.resource.verbs import FAILED, PAUSED, PENDING

#: (type, reason, message)
Event = tuple[str, str, str]
WARNING_PHASES = frozenset({FAILED, PARTIALLY_PAUSED, resuming.PARTIALLY_RESUMED})
PHASE_REASONS = {
    IN_PROGRESS: "Pausing",
    PAUSED: "Paused",
    PARTIALLY_PAUSED: "PartiallyPaused",
    FAILED: "Failed",
}
RESUME_TEXT = {
    resuming.BY_ANNOTATION: f"resuming now ({RESUME_NOW_ANNOTATION})",
    resuming.BY_DELETION: "resuming before the object goes (spec.resume.onDelete)",
    resuming.BY_SCHEDULE: "resuming as scheduled",
}


def transition_events(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> list[Event]:
    """Events for what changed between two statuses: one per transition."""
    events: list[Event] = []
    old_phase = (old or {}).get("phase")
    phase = new.get("phase")
    summary = new.get("summary") or {}
    ready = condition(new, "Ready") or {}
    if phase not in (old_phase, PENDING):
        kind = "Warning" if phase in WARNING_PHASES else "Normal"
        reason = PHASE_REASONS.get(phase or "", phase or "Unknown")
        message = ready.get("message") or f"{summary.get('paused', 0)}/{summary.get('total', 0)}"
        events.append((kind, reason, message))
    old_stalled = condition(old, "Stalled") or {}
    stalled = condition(new, "Stalled") or {}
    if stalled.get("status") == "True" and stalled.get("reason") not in NOT_PROBLEMS:
        if (old_stalled.get("status"), old_stalled.get("reason")) != (
            "True",
            stalled.get("reason"),
        ):
            events.append(("Warning", str(stalled.get("reason")), str(stalled.get("message", ""))))
    elif old_stalled.get("status") == "True" and old_stalled.get("reason") not in NOT_PROBLEMS:
        events.append(("Normal", "Recovered", f"{old_stalled.get('reason')} resolved"))
    return events


def _message(status: Mapping[str, Any] | None, ctype: str) -> str:
    return str((condition(status, ctype) or {}).get("message") or "")


def resume_events(
    old: Mapping[str, Any] | None, new: Mapping[str, Any], why: str | None
) -> list[Event]:
    """Resume Events besides the phase ones: why it began, and warnings shown once."""
    out: list[Event] = []
    if why is not None:
        out.append(("Normal", why, RESUME_TEXT[why]))
    if LONG_PAUSE_TEXT in _message(new, "Ready") and LONG_PAUSE_TEXT not in _message(
        old, "Ready"
    ):
        out.append(
            (
                "Warning",
                "LongPause",
                "a job with pauseMode all stays paused for more than 24h before its resume "
                f"(resumes at {new.get('resumeTime')}): source logs may expire and the task "
                "may not resume",
            )
        )
    if DELETION_TEXT in _message(new, "Stalled") and DELETION_TEXT not in _message(
        old, "Stalled"
    ):
        out.append(("Warning", "DeletionBlocked", _message(new, "Stalled")))
    return out
