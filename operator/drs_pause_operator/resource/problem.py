"""An object-level reason the operator cannot progress, and how the status carries it (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from drs_pause_operator.resource.conditions import condition

# Stalled reasons that are about jobs, not about the operator's access to DRS.
NOT_PROBLEMS = frozenset({"JobsFailed", "NotStalled"})


@dataclass(frozen=True)
class Problem:
    """Missing Secret, endpoint not allowed, rejected credentials...: a person must act."""

    reason: str
    message: str


def carried_problem(status: Mapping[str, Any] | None) -> Problem | None:
    """The operator-level problem the status shows, if any (kept until a pass shows it gone)."""
    stalled = condition(status, "Stalled") or {}
    if stalled.get("status") == "True" and stalled.get("reason") not in NOT_PROBLEMS:
        return Problem(str(stalled.get("reason")), str(stalled.get("message", "")))
    return None
