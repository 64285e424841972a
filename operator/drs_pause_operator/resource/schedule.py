"""When pause windows start: a 5-field cron schedule read on the wall clock of an IANA time zone
(pure).

Parsing and matching are cronsim's (the parser healthchecks.io runs). The time-zone rule is
this module's, so it holds for every expression alike:

- The schedule is matched against local wall-clock time, minute by minute.
- Skipped hour (spring forward): a start time that does not exist that day starts once, at the
  first instant after the gap (Europe/Berlin: 02:30 starts at 03:00 CEST). Several start times
  in the gap, or one in the gap and one at its end, make one start.
- Repeated hour (fall back): a start time that exists twice starts once, at its first occurrence
  (Europe/Berlin: 02:30 CEST, not again at 02:30 CET).

Consequences worth knowing: an hourly schedule has one start less on the day the clocks go
back (the repeated hour has none) and a shorter hour on the day they go forward. UTC, the
default, has neither.

Missed starts follow CronJob (kubernetes ``pkg/controller/cronjob/utils.go``): after an outage
only the most recent missed start counts, only within the starting deadline, and only while its
window is still open. An excluded start (``resource/exclusions.py``) counts as the most recent
start like any other, but is never made and never missed.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError

UTC = dt.UTC
# A gap (skipped local time) is at most a day long (Samoa skipped 30 December 2011).
_MAX_GAP_MINUTES = 24 * 60 + 1
_FIELD = re.compile(r"[0-9A-Za-z*/,\-]+")


class ScheduleError(ValueError):
    """A schedule or time zone that cannot be used; ``reason`` is the Stalled reason."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class Schedule:
    expression: str
    zone: dt.tzinfo

    @classmethod
    def parse(cls, expression: str, time_zone: str | None = None) -> Schedule:
        fields = expression.split()
        if len(fields) != 5 or not all(_FIELD.fullmatch(f) for f in fields):
            raise ScheduleError(
                "InvalidSchedule",
                f"schedule {expression!r} is not a 5-field cron expression "
                "(minute hour day-of-month month day-of-week)",
            )
        zone = load_zone(time_zone or "UTC")
        try:
            # Probe once: cronsim parses in its constructor and finds empty schedules (31 Feb)
            # only when iterating.
            next(CronSim(" ".join(fields), dt.datetime(2000, 1, 1)))
        except (CronSimError, StopIteration) as err:
            detail = str(err) or "it never matches"
            raise ScheduleError(
                "InvalidSchedule", f"schedule {expression!r} is not valid: {detail}"
            ) from None
        return cls(" ".join(fields), zone)

    def starts(self, after: dt.datetime) -> Iterator[dt.datetime]:
        """Start instants strictly after ``after`` (aware), in order, as UTC datetimes."""
        wall = after.astimezone(self.zone).replace(tzinfo=None, fold=0)
        last: dt.datetime | None = None
        # Naive datetimes: cronsim matches plain wall-clock time and leaves zones to us. Every
        # wall time maps to an instant no later than that of the next one (gaps map to their
        # end, repeated times to their first occurrence), so the instants come out in order;
        # the wall time of ``after`` itself maps to ``after`` or earlier, never later.
        for local in CronSim(self.expression, wall):
            instant = self.instant(local)
            if instant <= after or (last is not None and instant <= last):
                continue
            last = instant
            yield instant

    def next_after(self, after: dt.datetime) -> dt.datetime | None:
        return next(self.starts(after), None)

    def instant(self, local: dt.datetime, *, last_occurrence: bool = False) -> dt.datetime:
        """The instant of a naive wall-clock time under this module's rule: a time in a gap is
        the first instant after it; a repeated time its first occurrence (or, asked for, its
        last: the end of an exclusion)."""
        for _ in range(_MAX_GAP_MINUTES):
            aware = local.replace(tzinfo=self.zone, fold=1 if last_occurrence else 0)
            as_utc = aware.astimezone(UTC)
            if as_utc.astimezone(self.zone).replace(tzinfo=None) == local:
                return as_utc
            # Not a real local time (inside a gap): the first minute after the gap.
            local = local.replace(second=0, microsecond=0) + dt.timedelta(minutes=1)
        raise ScheduleError("UnknownTimeZone", f"time zone {self.zone} has a gap over a day long")


def load_zone(name: str) -> dt.tzinfo:
    if name == "UTC":
        return UTC
    # Reject paths before zoneinfo sees them ("../../etc/passwd" must not be read as a zone).
    if not re.fullmatch(r"[A-Za-z0-9_+\-]+(/[A-Za-z0-9_+\-]+)*", name) or len(name) > 64:
        raise ScheduleError("UnknownTimeZone", f"time zone {name!r} is not an IANA name")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ScheduleError(
            "UnknownTimeZone", f"time zone {name!r} is not in the IANA time zone database"
        ) from None


@dataclass(frozen=True)
class Due:
    """What the schedule says at ``now``."""

    #: The start to act on now: the most recent one not yet acted on, within the starting
    #: deadline and before its window's end. None when there is none.
    start: dt.datetime | None
    #: Starts of windows still open at ``now`` that will never start (older than the most
    #: recent, or past the starting deadline). Windows that already ended, and excluded
    #: starts, are not counted.
    missed: int
    #: The first start after ``now`` (excluded or not: the window looks then).
    next: dt.datetime | None
    #: The most recent start not yet acted on, when it is excluded: it is not made (whatever
    #: the deadline), it is not missed, and it supersedes older starts as a made one would.
    excluded: dt.datetime | None = None


def _never(_: dt.datetime) -> bool:
    return False


def due(
    schedule: Schedule,
    now: dt.datetime,
    *,
    since: dt.datetime,
    duration: dt.timedelta,
    starting_deadline: dt.timedelta | None,
    excluded: Callable[[dt.datetime], bool] = _never,
) -> Due:
    """The start due at ``now``, like CronJob's ``mostRecentScheduleTime`` with its deadline.

    ``since`` is the last start acted on (made or skipped) or the window's creation: only
    starts strictly after it count. Only the most recent start not acted on can start, and only
    while ``now`` is before its deadline and before its window's end; the older ones are missed.
    When ``excluded`` says the most recent one is excluded, nothing starts now.
    """
    # Starts whose window ended before now can never start: iterating from there keeps an
    # every-minute schedule after a week's outage to one window's worth of candidates.
    floor = max(since, now - duration)
    latest: dt.datetime | None = None
    older = 0  # candidates before ``latest`` that no exclusion covers
    upcoming: dt.datetime | None = None
    for start in schedule.starts(floor):
        if start > now:
            upcoming = start
            break
        if latest is not None and not excluded(latest):
            older += 1
        latest = start
    if latest is None:
        return Due(None, 0, upcoming)
    if excluded(latest):
        return Due(None, older, upcoming, excluded=latest)
    open_window = now < latest + duration
    in_deadline = starting_deadline is None or now <= latest + starting_deadline
    if open_window and in_deadline:
        return Due(latest, older, upcoming)
    return Due(None, older + 1, upcoming)
