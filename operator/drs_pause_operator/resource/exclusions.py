"""Exclusions of a pause window: spans of wall-clock time in which no window starts (pure).

``spec.exclusions`` is a list of ``{from, to, reason}``. ``from`` and ``to`` are each a date
(``2026-12-24``: the whole day) or a date-time without offset (``2026-12-24T18:00``, seconds
optional), read on the wall clock of the window's ``spec.timeZone``. Both ends are included: a
date ``to`` runs to the end of that day, a date-time ``to`` includes that instant. ``to`` left
out is ``from`` (a date: that day; a date-time: that one minute's start).

Daylight-saving changes, chosen so that an exclusion covers at least what its wall times say
(conservative), and so that a wall time means the same instant here as in the schedule:

- Skipped hour (spring forward): a wall time that does not exist that day is the first instant
  after the gap, for ``from`` and ``to`` alike (Europe/Berlin, 29 March 2026: ``02:30`` is
  03:00 CEST). That is where the schedule makes a start written for the gap, so ``to: 02:30``
  excludes a ``30 2 * * *`` start (made at 03:00 CEST), and so also a ``0 3 * * *`` one.
- Repeated hour (fall back): a wall time that exists twice is its first occurrence for ``from``
  and its second for ``to`` (Europe/Berlin, 25 October 2026: ``from: 02:30`` is 02:30 CEST,
  ``to: 02:30`` is 02:30 CET), so the exclusion spans the whole ambiguous stretch between them.
- A date is midnight to midnight of that day, however long the day is (23 or 25 hours).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from drs_pause_operator.resource.formats import bounded
from drs_pause_operator.resource.schedule import Schedule

MAX_EXCLUSIONS = 50
MAX_REASON = 100
_WALL = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2}))?)?")
_ONE_MICROSECOND = dt.timedelta(microseconds=1)


class ExclusionError(ValueError):
    """An exclusion that cannot be used; the message names the entry (``spec.exclusions[i]``)."""


class ExclusionSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    start: str = Field(alias="from")
    end: str | None = Field(None, alias="to")
    reason: str = Field("", max_length=MAX_REASON)


@dataclass(frozen=True)
class WallTime:
    """``from`` or ``to`` as written: a naive wall-clock time, and whether it was a date."""

    text: str
    local: dt.datetime
    is_date: bool

    @property
    def last_local(self) -> dt.datetime:
        """The latest wall time it names (a date: the end of that day)."""
        if self.is_date:
            return self.local + dt.timedelta(days=1) - _ONE_MICROSECOND
        return self.local


def parse_wall_time(text: str) -> WallTime:
    match = _WALL.fullmatch(text)
    if match is None:
        hint = " (no offset or Z: it is read in spec.timeZone)" if re.search(
            r"(Z|[+-]\d{2}:?\d{2})$", text) else ""
        raise ValueError(
            f"{text!r} is not a date (2026-12-24) or a date-time (2026-12-24T18:00){hint}"
        )
    year, month, day, hour, minute, second = match.groups()
    try:
        local = dt.datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0),
                            int(second or 0))
    except ValueError as err:
        raise ValueError(f"{text!r} is not a valid date or time: {err}") from None
    return WallTime(text, local, is_date=hour is None)


@dataclass(frozen=True)
class Exclusion:
    """One entry, as the instants it covers: from ``first`` to ``last``, both included."""

    first: dt.datetime
    last: dt.datetime
    #: The skip reason written to status.skippedStarts and the Event: ``Excluded: <reason>``.
    label: str

    def covers(self, when: dt.datetime) -> bool:
        return self.first <= when <= self.last


def parse_exclusion(raw: Any, schedule: Schedule) -> Exclusion:
    """One entry of spec.exclusions; ValueError with a message that starts with the field."""
    if not isinstance(raw, dict):
        raise ValueError("must be an object with from, and optionally to and reason")
    try:
        entry = ExclusionSpec.model_validate(raw)
    except ValidationError as err:
        e = err.errors()[0]
        field = ".".join(str(p) for p in e["loc"])
        raise ValueError(f".{field}: {str(e['msg']).removeprefix('Value error, ')}") from None
    try:
        start = parse_wall_time(entry.start)
    except ValueError as err:
        raise ValueError(f".from: {err}") from None
    try:
        end = parse_wall_time(entry.end) if entry.end is not None else start
    except ValueError as err:
        raise ValueError(f".to: {err}") from None
    if start.local > end.last_local:
        raise ValueError(f": from {start.text} is after to {end.text}")
    if end.is_date:
        # The end of the day: just before the next midnight (its first occurrence).
        last = schedule.instant(end.local + dt.timedelta(days=1)) - _ONE_MICROSECOND
    else:
        last = schedule.instant(end.local, last_occurrence=True)
    first = schedule.instant(start.local)
    reason = bounded(entry.reason, MAX_REASON).strip()
    if reason:
        label = f"Excluded: {reason}"
    elif entry.end is None or entry.end == entry.start:
        label = f"Excluded: {start.text}"
    else:
        label = f"Excluded: {start.text} to {end.text}"
    return Exclusion(first=first, last=max(first, last), label=label)


@dataclass(frozen=True)
class Exclusions:
    entries: tuple[Exclusion, ...] = ()

    def covering(self, when: dt.datetime) -> Exclusion | None:
        """The first entry that covers ``when``, if any."""
        return next((e for e in self.entries if e.covers(when)), None)

    def excludes(self, when: dt.datetime) -> bool:
        return self.covering(when) is not None

    def next_start(
        self, schedule: Schedule, after: dt.datetime, *, skip: int = 0
    ) -> dt.datetime | None:
        """The first start strictly after ``after`` that no entry covers, past ``skip`` such
        starts (those a pending skip-next annotation will skip).

        An excluded start jumps past the end of the entry that covers it, so a year-long
        exclusion of an every-minute schedule costs one step, not half a million.
        """
        cursor = after
        while True:
            start = schedule.next_after(cursor)
            if start is None:
                return None
            covering = [e for e in self.entries if e.covers(start)]
            if covering:
                cursor = max(e.last for e in covering)
                continue
            if skip <= 0:
                return start
            skip -= 1
            cursor = start


def parse_exclusions(raw: Any, schedule: Schedule) -> Exclusions:
    """spec.exclusions; ExclusionError naming the entry (``spec.exclusions[2].to: ...``)."""
    if raw is None:
        return Exclusions()
    if not isinstance(raw, Sequence) or isinstance(raw, str):
        raise ExclusionError("spec.exclusions: must be a list of {from, to, reason}")
    if len(raw) > MAX_EXCLUSIONS:
        raise ExclusionError(
            f"spec.exclusions: {len(raw)} entries, at most {MAX_EXCLUSIONS} are allowed "
            "(join neighbouring spans, or remove those that are over)"
        )
    entries = []
    for index, item in enumerate(raw):
        try:
            entries.append(parse_exclusion(item, schedule))
        except ValueError as err:
            text = str(err)
            sep = "" if text.startswith((".", ":")) else ": "
            raise ExclusionError(f"spec.exclusions[{index}]{sep}{text}") from None
    return Exclusions(tuple(entries))
