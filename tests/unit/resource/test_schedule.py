"""Schedule maths of pause windows: wall-clock cron in a time zone, daylight-saving changes in
both directions, the starting deadline and at most one catch-up after an outage."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from drs_pause_operator.resource.schedule import Schedule, ScheduleError, due

UTC = dt.UTC


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def starts(schedule: Schedule, after: dt.datetime, n: int) -> list[dt.datetime]:
    return list(itertools.islice(schedule.starts(after), n))


def berlin(*args: int) -> str:
    return utc(*args).astimezone(Schedule.parse("0 0 * * *", "Europe/Berlin").zone).isoformat()


# Europe/Berlin 2026: clocks go forward on 29 March at 02:00 CET (01:00 UTC) to 03:00 CEST,
# and back on 25 October at 03:00 CEST (01:00 UTC) to 02:00 CET.


def test_daily_start_in_the_skipped_hour_starts_once_at_the_end_of_the_gap() -> None:
    s = Schedule.parse("30 2 * * *", "Europe/Berlin")
    got = starts(s, utc(2026, 3, 27, 12), 3)
    assert got == [
        utc(2026, 3, 28, 1, 30),  # 02:30 CET
        utc(2026, 3, 29, 1, 0),  # 02:30 does not exist: 03:00 CEST, once
        utc(2026, 3, 30, 0, 30),  # 02:30 CEST
    ]


def test_starts_inside_and_at_the_end_of_the_gap_make_one_start() -> None:
    s = Schedule.parse("*/20 2,3 * * *", "Europe/Berlin")
    got = starts(s, utc(2026, 3, 29, 0, 0), 3)
    # 02:00, 02:20, 02:40 do not exist and 03:00 is the gap's end: one start at 03:00 CEST.
    assert got == [utc(2026, 3, 29, 1, 0), utc(2026, 3, 29, 1, 20), utc(2026, 3, 29, 1, 40)]


def test_daily_start_in_the_repeated_hour_starts_once_at_its_first_occurrence() -> None:
    s = Schedule.parse("30 2 * * *", "Europe/Berlin")
    got = starts(s, utc(2026, 10, 24, 12), 3)
    assert got == [
        utc(2026, 10, 25, 0, 30),  # 02:30 CEST; not again at 02:30 CET (01:30 UTC)
        utc(2026, 10, 26, 1, 30),  # 02:30 CET
        utc(2026, 10, 27, 1, 30),
    ]
    assert berlin(2026, 10, 25, 0, 30).endswith("02:30:00+02:00")


def test_every_quarter_hour_in_the_repeated_hour_never_repeats_a_wall_time() -> None:
    s = Schedule.parse("*/15 2 * * *", "Europe/Berlin")
    got = starts(s, utc(2026, 10, 24, 12), 5)
    assert got[:4] == [utc(2026, 10, 25, 0, m) for m in (0, 15, 30, 45)]  # CEST only
    assert got[4] == utc(2026, 10, 26, 1, 0)  # next day's 02:00 CET


def test_hourly_schedule_across_both_changes() -> None:
    s = Schedule.parse("0 * * * *", "Europe/Berlin")
    spring = starts(s, utc(2026, 3, 28, 23, 30), 4)
    # 01:00 CET, 03:00 CEST (02:00 is skipped: the gap's start and end make one), 04:00 CEST
    assert spring == [utc(2026, 3, 29, 0), utc(2026, 3, 29, 1), utc(2026, 3, 29, 2),
                      utc(2026, 3, 29, 3)]
    autumn = starts(s, utc(2026, 10, 24, 23, 30), 3)
    # 02:00 CEST, then 03:00 CET: the repeated 02:00 CET is not a second start.
    assert autumn == [utc(2026, 10, 25, 0), utc(2026, 10, 25, 2), utc(2026, 10, 25, 3)]


def test_iteration_from_inside_the_repeated_hour_goes_forward() -> None:
    s = Schedule.parse("45 2 * * *", "Europe/Berlin")
    # 02:10 CET, the second pass through 02:xx: 02:45 CEST already happened.
    assert s.next_after(utc(2026, 10, 25, 1, 10)) == utc(2026, 10, 26, 1, 45)


def test_utc_is_the_default_and_has_no_daylight_saving() -> None:
    s = Schedule.parse("30 2 * * *")
    assert starts(s, utc(2026, 3, 28, 12), 2) == [utc(2026, 3, 29, 2, 30), utc(2026, 3, 30, 2, 30)]


@pytest.mark.parametrize(
    ("expression", "zone", "reason"),
    [
        ("0 1 * *", "UTC", "InvalidSchedule"),
        ("0 0 1 * * *", "UTC", "InvalidSchedule"),  # seconds field: not 5-field cron
        ("61 1 * * *", "UTC", "InvalidSchedule"),
        ("0 1 31 2 *", "UTC", "InvalidSchedule"),  # never matches
        ("@daily", "UTC", "InvalidSchedule"),
        ("0 1 * * *", "Mars/Olympus", "UnknownTimeZone"),
        ("0 1 * * *", "../../etc/passwd", "UnknownTimeZone"),
        ("0 1 * * *", "", "UnknownTimeZone"),
    ],
)
def test_invalid_schedules_and_zones_say_why(expression: str, zone: str, reason: str) -> None:
    with pytest.raises(ScheduleError) as err:
        Schedule.parse(expression, zone if zone else " ")
    assert err.value.reason == reason


# -- what is due -----------------------------------------------------------------------------

EVERY_MINUTE = Schedule.parse("* * * * *")
HOUR = dt.timedelta(hours=1)


def test_nothing_is_due_before_the_first_start_after_creation() -> None:
    created = utc(2026, 5, 4, 10, 0, 30)
    d = due(EVERY_MINUTE, utc(2026, 5, 4, 10, 0, 50), since=created, duration=HOUR,
            starting_deadline=None)
    assert d.start is None and d.next == utc(2026, 5, 4, 10, 1)


def test_a_start_is_due_once() -> None:
    now = utc(2026, 5, 4, 10, 1, 2)
    d = due(EVERY_MINUTE, now, since=utc(2026, 5, 4, 10, 0, 30), duration=HOUR,
            starting_deadline=None)
    assert d.start == utc(2026, 5, 4, 10, 1) and d.missed == 0
    again = due(EVERY_MINUTE, now, since=d.start, duration=HOUR, starting_deadline=None)
    assert again.start is None and again.next == utc(2026, 5, 4, 10, 2)


def test_after_an_outage_only_the_most_recent_missed_start_is_due() -> None:
    last = utc(2026, 5, 4, 10, 0)
    now = utc(2026, 5, 4, 10, 7, 20)
    d = due(EVERY_MINUTE, now, since=last, duration=HOUR, starting_deadline=None)
    assert d.start == utc(2026, 5, 4, 10, 7) and d.missed == 6
    assert d.next == utc(2026, 5, 4, 10, 8)


def test_a_start_past_its_deadline_is_not_due() -> None:
    s = Schedule.parse("0 1 * * *", "Europe/Berlin")
    since = utc(2026, 5, 3, 0)
    start = utc(2026, 5, 3, 23)  # 01:00 CEST
    within = due(s, start + dt.timedelta(seconds=600), since=since, duration=2 * HOUR,
                 starting_deadline=dt.timedelta(seconds=600))
    assert within.start == start
    late = due(s, start + dt.timedelta(seconds=601), since=since, duration=2 * HOUR,
               starting_deadline=dt.timedelta(seconds=600))
    assert late.start is None and late.missed == 1 and late.next == start + dt.timedelta(days=1)


def test_a_window_that_already_ended_never_starts() -> None:
    s = Schedule.parse("0 1 * * *")
    start = utc(2026, 5, 4, 1)
    d = due(s, start + 2 * HOUR, since=utc(2026, 5, 3, 12), duration=2 * HOUR,
            starting_deadline=None)
    assert d.start is None
    d = due(s, start + 2 * HOUR - dt.timedelta(seconds=1), since=utc(2026, 5, 3, 12),
            duration=2 * HOUR, starting_deadline=None)
    assert d.start == start


def test_a_week_long_outage_of_an_every_minute_window_looks_at_one_window_only() -> None:
    now = utc(2026, 5, 11, 10, 0, 30)
    d = due(EVERY_MINUTE, now, since=utc(2026, 5, 4, 10), duration=dt.timedelta(minutes=5),
            starting_deadline=None)
    assert d.start == utc(2026, 5, 11, 10, 0) and d.missed == 4


def test_catch_up_across_the_spring_gap() -> None:
    s = Schedule.parse("30 2 * * *", "Europe/Berlin")
    # The operator was down over the change: the gap's start (03:00 CEST) is due until its end.
    d = due(s, utc(2026, 3, 29, 1, 20), since=utc(2026, 3, 28, 1, 30), duration=HOUR,
            starting_deadline=None)
    assert d.start == utc(2026, 3, 29, 1, 0)


def test_no_second_start_in_the_repeated_hour_after_the_first() -> None:
    s = Schedule.parse("30 2 * * *", "Europe/Berlin")
    first = utc(2026, 10, 25, 0, 30)
    # At 02:31 CET (the wall clock's second 02:30 has just passed) nothing is due.
    d = due(s, utc(2026, 10, 25, 1, 31), since=first, duration=4 * HOUR, starting_deadline=None)
    assert d.start is None and d.next == utc(2026, 10, 26, 1, 30)


def test_a_wall_time_asked_for_its_last_occurrence() -> None:
    s = Schedule.parse("0 0 * * *", "Europe/Berlin")
    repeated = dt.datetime(2026, 10, 25, 2, 30)
    assert s.instant(repeated) == utc(2026, 10, 25, 0, 30)  # CEST
    assert s.instant(repeated, last_occurrence=True) == utc(2026, 10, 25, 1, 30)  # CET
    # Times that happen once, and times in the gap, have one answer whichever is asked.
    for wall, instant in ((dt.datetime(2026, 10, 25, 3, 30), utc(2026, 10, 25, 2, 30)),
                          (dt.datetime(2026, 3, 29, 2, 30), utc(2026, 3, 29, 1))):
        assert s.instant(wall) == s.instant(wall, last_occurrence=True) == instant


def _at_ten_past(start: dt.datetime) -> bool:
    return start.minute == 10


def test_an_excluded_most_recent_start_is_reported_not_due_and_not_missed() -> None:
    now = utc(2026, 5, 4, 10, 10, 20)
    d = due(EVERY_MINUTE, now, since=utc(2026, 5, 4, 10, 7), duration=HOUR,
            starting_deadline=dt.timedelta(seconds=5), excluded=_at_ten_past)
    # 10:08 and 10:09 are missed (superseded); 10:10 is excluded: past its deadline, yet
    # reported, and not counted as missed.
    assert d.start is None and d.excluded == utc(2026, 5, 4, 10, 10) and d.missed == 2
    assert d.next == utc(2026, 5, 4, 10, 11)


def test_excluded_older_starts_are_not_missed() -> None:
    now = utc(2026, 5, 4, 10, 12, 2)
    d = due(EVERY_MINUTE, now, since=utc(2026, 5, 4, 10, 9), duration=HOUR,
            starting_deadline=None, excluded=_at_ten_past)
    assert d.start == utc(2026, 5, 4, 10, 12) and d.excluded is None and d.missed == 1  # 10:11
