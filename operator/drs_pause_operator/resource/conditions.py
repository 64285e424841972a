"""The one place that sets a condition (cert-manager's ``SetCertificateCondition``).

Callers say type, status, reason and message; this owns ``observedGeneration`` (stamped on
every condition) and ``lastTransitionTime`` (kept unless the condition's status flips), and the
clock is given, not read.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from drs_pause_operator.resource.formats import MAX_MESSAGE, bounded, fmt_time

#: (type, status, reason, message)
ConditionTuple = tuple[str, str, str, str]


def condition(status: Mapping[str, Any] | None, ctype: str) -> dict[str, Any] | None:
    """The condition of this type in a status, if any."""
    for c in (status or {}).get("conditions") or []:
        if isinstance(c, dict) and c.get("type") == ctype:
            return c
    return None


def set_condition(
    previous: Mapping[str, Any] | None,
    ctype: str,
    status: str,
    reason: str,
    message: str,
    generation: int,
    now: dt.datetime,
) -> dict[str, Any]:
    """The condition as it is written now, given the one of its type the object had."""
    if previous is not None and previous.get("status") == status and previous.get(
        "lastTransitionTime"
    ):
        when = previous["lastTransitionTime"]
    else:
        when = fmt_time(now)
    return {
        "type": ctype,
        "status": status,
        "reason": reason,
        "message": bounded(message, MAX_MESSAGE),
        "observedGeneration": generation,
        "lastTransitionTime": when,
    }


def merge_conditions(
    old: Iterable[Any] | None,
    new: Iterable[ConditionTuple],
    generation: int,
    now: dt.datetime,
) -> list[dict[str, Any]]:
    """The conditions ``new`` lists, in its order, each set against the old one of its type."""
    previous = {c.get("type"): c for c in (old or []) if isinstance(c, dict)}
    return [
        set_condition(previous.get(ctype), ctype, status, reason, message, generation, now)
        for ctype, status, reason, message in new
    ]
