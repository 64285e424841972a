"""Starts a window skips on purpose, and the record of them (pure).

Two things skip a start: an entry of ``spec.exclusions`` that covers it (see
``resource/exclusions.py``), and the annotation ``drs.cloudops.dev/skip-next`` set to a value the
window has not acted on yet, which skips the next start the window would make, once. The value
acted on is kept in ``status.skipNextToken``, so a restart or another pass does not skip again;
each new value skips one more start. ``status.skippedStarts`` keeps the last few skipped starts
with their reasons; its newest entry also tells a pass which starts are already dealt with.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from drs_pause_operator.resource.formats import bounded, fmt_time, parse_time
from drs_pause_operator.resource.spec import GROUP

SKIP_NEXT_ANNOTATION = f"{GROUP}/skip-next"
#: The reason of a start skipped by the annotation (in status.skippedStarts and the Event).
SKIP_NEXT = "SkipNext"
#: Entries kept in status.skippedStarts, newest last.
MAX_SKIPPED = 5
_MAX_REASON = 128


@dataclass(frozen=True)
class SkippedStart:
    time: dt.datetime
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"time": fmt_time(self.time) or "", "reason": self.reason}


def skipped_starts(status: dict[str, Any]) -> list[SkippedStart]:
    """status.skippedStarts, oldest first; entries that do not parse are dropped."""
    found: dict[dt.datetime, SkippedStart] = {}
    for item in status.get("skippedStarts") or []:
        if not isinstance(item, dict):
            continue
        when = parse_time(item.get("time"))
        if when is not None:
            found[when] = SkippedStart(when, bounded(str(item.get("reason") or ""), _MAX_REASON))
    return [found[t] for t in sorted(found)]


def record_skip(
    skipped: list[SkippedStart], when: dt.datetime, reason: str
) -> list[SkippedStart]:
    """The list with ``when`` recorded (once: a pass that repeats a lost write adds nothing),
    trimmed to the newest :data:`MAX_SKIPPED`."""
    kept = [s for s in skipped if s.time != when]
    kept.append(SkippedStart(when, bounded(reason, _MAX_REASON)))
    kept.sort(key=lambda s: s.time)
    return kept[-MAX_SKIPPED:]


def pending_skip_token(annotation: str | None, status: dict[str, Any]) -> str | None:
    """The skip-next value not acted on yet, if the annotation holds one."""
    if not annotation or annotation == status.get("skipNextToken"):
        return None
    return annotation


def skip_message(start: str, reason: str) -> str:
    why = (
        f"{SKIP_NEXT} (the annotation {SKIP_NEXT_ANNOTATION} was set to a new value)"
        if reason == SKIP_NEXT
        else reason
    )
    return f"skipped the window starting {start}: {why}"
