"""Exclusions of pause windows: dates and date-times on the wall clock of the window's zone,
both ends included, across daylight-saving changes, and every bad entry named in its error."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import pytest

from drs_pause_operator.resource.exclusions import (
    ExclusionError,
    Exclusions,
    parse_exclusion,
    parse_exclusions,
)
from drs_pause_operator.resource.schedule import Schedule

UTC = dt.UTC
BERLIN = Schedule.parse("0 0 * * *", "Europe/Berlin")
US = dt.timedelta(microseconds=1)

# Europe/Berlin 2026: clocks go forward on 29 March at 02:00 CET (01:00 UTC) to 03:00 CEST, and
# back on 25 October at 03:00 CEST (01:00 UTC) to 02:00 CET: 02:00-02:59 happens twice, first
# as CEST (00:00-00:59 UTC), then as CET (01:00-01:59 UTC).


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def span(raw: dict[str, Any], schedule: Schedule = BERLIN) -> tuple[dt.datetime, dt.datetime]:
    e = parse_exclusion(raw, schedule)
    return e.first, e.last


def excluded_starts(expression: str, raw: dict[str, Any], after: dt.datetime,
                    until: dt.datetime) -> list[dt.datetime]:
    schedule = Schedule.parse(expression, "Europe/Berlin")
    exclusions = parse_exclusions([raw], schedule)
    starts = itertools.takewhile(lambda s: s < until, schedule.starts(after))
    return [s for s in starts if exclusions.excludes(s)]


def test_a_date_is_the_whole_day_and_a_date_time_its_own_instant() -> None:
    utc_schedule = Schedule.parse("0 0 * * *")
    assert span({"from": "2026-12-24"}, utc_schedule) == (utc(2026, 12, 24),
                                                           utc(2026, 12, 25) - US)
    assert span({"from": "2026-12-24", "to": "2026-12-26"}, utc_schedule) == (
        utc(2026, 12, 24), utc(2026, 12, 27) - US)
    assert span({"from": "2026-12-24T18:00"}, utc_schedule) == (utc(2026, 12, 24, 18),) * 2
    assert span({"from": "2026-12-24T18:00", "to": "2026-12-24T20:00:30"}, utc_schedule) == (
        utc(2026, 12, 24, 18), utc(2026, 12, 24, 20, 0, 30))
    # Mixed: from a time to the end of a day.
    assert span({"from": "2026-12-24T18:00", "to": "2026-12-24"}, utc_schedule) == (
        utc(2026, 12, 24, 18), utc(2026, 12, 25) - US)


def test_both_ends_are_included() -> None:
    schedule = Schedule.parse("0 * * * *")
    exclusions = parse_exclusions([{"from": "2026-12-24T18:00", "to": "2026-12-24T20:00"}],
                                  schedule)
    assert [exclusions.excludes(utc(2026, 12, 24, h)) for h in (17, 18, 19, 20, 21)] == [
        False, True, True, True, False]


def test_wall_times_are_read_in_the_window_zone() -> None:
    # 24 December is CET (+01:00): midnight in Berlin is 23:00 UTC the day before.
    assert span({"from": "2026-12-24", "to": "2026-12-24T18:00"}) == (
        utc(2026, 12, 23, 23), utc(2026, 12, 24, 17))


def test_labels_carry_the_reason_or_the_dates() -> None:
    assert parse_exclusion({"from": "2026-12-24", "reason": " holidays "}, BERLIN).label == (
        "Excluded: holidays")
    assert parse_exclusion({"from": "2026-12-24"}, BERLIN).label == "Excluded: 2026-12-24"
    assert parse_exclusion({"from": "2026-12-24", "to": "2026-12-26"}, BERLIN).label == (
        "Excluded: 2026-12-24 to 2026-12-26")
    assert parse_exclusion({"from": "2026-12-24", "reason": "a\nb"}, BERLIN).label == (
        "Excluded: a b")


# -- daylight saving -----------------------------------------------------------------------------


def test_a_time_in_the_skipped_hour_is_the_first_instant_after_the_gap() -> None:
    assert span({"from": "2026-03-29T02:30"}) == (utc(2026, 3, 29, 1), utc(2026, 3, 29, 1))
    assert span({"from": "2026-03-29T02:00", "to": "2026-03-29T02:59"}) == (
        utc(2026, 3, 29, 1), utc(2026, 3, 29, 1))


def test_an_exclusion_ending_in_the_skipped_hour_excludes_a_start_written_for_the_gap() -> None:
    raw = {"from": "2026-03-29T01:30", "to": "2026-03-29T02:30"}
    # 30 2 * * * starts at 03:00 CEST that day: the instant `to` means, so it is excluded...
    assert excluded_starts("30 2 * * *", raw, utc(2026, 3, 28), utc(2026, 3, 31)) == [
        utc(2026, 3, 29, 1)]
    # ...and so is 0 3 * * *, the same instant; 1 3 * * * is after it.
    assert excluded_starts("0 3 * * *", raw, utc(2026, 3, 28), utc(2026, 3, 31)) == [
        utc(2026, 3, 29, 1)]
    assert excluded_starts("1 3 * * *", raw, utc(2026, 3, 28), utc(2026, 3, 31)) == []
    # Before the gap: 01:45 CET is in, 01:29 is not.
    assert excluded_starts("45 1 * * *", raw, utc(2026, 3, 28), utc(2026, 3, 31)) == [
        utc(2026, 3, 29, 0, 45)]
    assert excluded_starts("29 1 * * *", raw, utc(2026, 3, 28), utc(2026, 3, 31)) == []


def test_an_exclusion_starting_in_the_skipped_hour_begins_at_the_end_of_the_gap() -> None:
    raw = {"from": "2026-03-29T02:15", "to": "2026-03-29T04:00"}
    assert span(raw) == (utc(2026, 3, 29, 1), utc(2026, 3, 29, 2))
    assert excluded_starts("59 1 * * *", raw, utc(2026, 3, 28), utc(2026, 3, 31)) == []
    assert excluded_starts("30 2 * * *", raw, utc(2026, 3, 28), utc(2026, 3, 31)) == [
        utc(2026, 3, 29, 1)]


def test_a_time_in_the_repeated_hour_is_the_first_occurrence_in_from_the_last_in_to() -> None:
    # from 02:30 CEST (00:30 UTC) to 02:30 CET (01:30 UTC): the whole ambiguous stretch between.
    assert span({"from": "2026-10-25T02:30"}) == (utc(2026, 10, 25, 0, 30),
                                                  utc(2026, 10, 25, 1, 30))
    # Every quarter hour: the schedule starts 02:00, 02:15, 02:30, 02:45 CEST once each.
    assert excluded_starts("*/15 * * * *", {"from": "2026-10-25T02:30"}, utc(2026, 10, 24, 23),
                           utc(2026, 10, 25, 3)) == [utc(2026, 10, 25, 0, 30),
                                                     utc(2026, 10, 25, 0, 45)]


def test_an_exclusion_ending_in_the_repeated_hour_covers_its_first_occurrence() -> None:
    raw = {"from": "2026-10-25T01:00", "to": "2026-10-25T02:10"}
    assert span(raw) == (utc(2026, 10, 24, 23), utc(2026, 10, 25, 1, 10))
    # 30 2 * * * starts at 02:30 CEST (00:30 UTC), before 02:10 CET: excluded.
    assert excluded_starts("30 2 * * *", raw, utc(2026, 10, 24), utc(2026, 10, 27)) == [
        utc(2026, 10, 25, 0, 30)]


def test_an_exclusion_starting_in_the_repeated_hour_begins_at_its_first_occurrence() -> None:
    raw = {"from": "2026-10-25T02:50", "to": "2026-10-25T04:00"}
    assert span(raw) == (utc(2026, 10, 25, 0, 50), utc(2026, 10, 25, 3))
    assert excluded_starts("55 2 * * *", raw, utc(2026, 10, 24), utc(2026, 10, 27)) == [
        utc(2026, 10, 25, 0, 55)]
    assert excluded_starts("45 2 * * *", raw, utc(2026, 10, 24), utc(2026, 10, 27)) == []


@pytest.mark.parametrize(("day", "hours"), [("2026-03-29", 23), ("2026-10-25", 25),
                                            ("2026-06-01", 24)])
def test_a_date_is_midnight_to_midnight_however_long_the_day(day: str, hours: int) -> None:
    first, last = span({"from": day})
    assert last + US - first == dt.timedelta(hours=hours)
    # Every start of the day's schedule is excluded, the next day's first is not.
    starts = excluded_starts("0 * * * *", {"from": day}, first - US, first + dt.timedelta(days=2))
    assert starts[0] == first and starts[-1] == last + US - dt.timedelta(hours=1)
    # An hourly schedule has no start in the repeated hour (see test_schedule.py).
    assert len(starts) == min(hours, 24)


# -- the next start that is not excluded ------------------------------------------------------


def test_next_start_passes_over_exclusions_and_pending_skips() -> None:
    schedule = Schedule.parse("0 10 * * *")
    exclusions = parse_exclusions([{"from": "2026-05-05", "to": "2026-05-06"},
                                   {"from": "2026-05-07T10:00"}], schedule)
    after = utc(2026, 5, 4, 12)
    assert exclusions.next_start(schedule, after) == utc(2026, 5, 8, 10)
    assert exclusions.next_start(schedule, after, skip=1) == utc(2026, 5, 9, 10)
    assert Exclusions().next_start(schedule, after, skip=2) == utc(2026, 5, 7, 10)


def test_overlapping_exclusions_jump_to_the_latest_end() -> None:
    schedule = Schedule.parse("0 * * * *")
    exclusions = parse_exclusions([{"from": "2026-05-05T00:00", "to": "2026-05-05T05:00"},
                                   {"from": "2026-05-05T03:00", "to": "2026-05-05T09:00"}],
                                  schedule)
    assert exclusions.next_start(schedule, utc(2026, 5, 4, 23, 30)) == utc(2026, 5, 5, 10)


# -- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "message"), [
    ({"from": "2026-12-26", "to": "2026-12-24"},
     "spec.exclusions[0]: from 2026-12-26 is after to 2026-12-24"),
    ({"from": "2026-12-25", "to": "2026-12-24T23:00"},
     "spec.exclusions[0]: from 2026-12-25 is after to 2026-12-24T23:00"),
    ({"from": "2026-12-24T18:01", "to": "2026-12-24T18:00"},
     "spec.exclusions[0]: from 2026-12-24T18:01 is after to 2026-12-24T18:00"),
    ({"from": "2026-12-24T18:00Z"},
     "spec.exclusions[0].from: '2026-12-24T18:00Z' is not a date (2026-12-24) or a date-time "
     "(2026-12-24T18:00) (no offset or Z: it is read in spec.timeZone)"),
    ({"from": "2026-12-24", "to": "2026-12-24T18:00+01:00"},
     "spec.exclusions[0].to: '2026-12-24T18:00+01:00' is not a date (2026-12-24) or a date-time "
     "(2026-12-24T18:00) (no offset or Z: it is read in spec.timeZone)"),
    ({"from": "24.12.2026"},
     "spec.exclusions[0].from: '24.12.2026' is not a date (2026-12-24) or a date-time "
     "(2026-12-24T18:00)"),
    ({"from": "2026-02-30"},
     "spec.exclusions[0].from: '2026-02-30' is not a valid date or time: day is out of range "
     "for month"),
    ({"from": "2026-12-24T24:00"},
     "spec.exclusions[0].from: '2026-12-24T24:00' is not a valid date or time: hour must be in "
     "0..23"),
    ({"to": "2026-12-24"}, "spec.exclusions[0].from: Field required"),
    ({"from": "2026-12-24", "until": "2026-12-26"},
     "spec.exclusions[0].until: Extra inputs are not permitted"),
    ({"from": "2026-12-24", "reason": "x" * 101},
     "spec.exclusions[0].reason: String should have at most 100 characters"),
    ("2026-12-24", "spec.exclusions[0]: must be an object with from, and optionally to and "
                   "reason"),
])
def test_each_bad_entry_is_named_in_its_error(raw: Any, message: str) -> None:
    with pytest.raises(ExclusionError) as err:
        parse_exclusions([raw], BERLIN)
    assert str(err.value) == message


def test_the_entry_is_named_by_its_index() -> None:
    with pytest.raises(ExclusionError, match=r"^spec\.exclusions\[2\]\.to: "):
        parse_exclusions([{"from": "2026-12-24"}, {"from": "2026-12-31"},
                          {"from": "2027-01-01", "to": "soon"}], BERLIN)


def test_at_most_fifty_entries_and_a_list_only() -> None:
    fifty = [{"from": f"2026-01-{d:02d}"} for d in range(1, 31)] * 2
    with pytest.raises(ExclusionError, match=r"60 entries, at most 50"):
        parse_exclusions(fifty, BERLIN)
    assert len(parse_exclusions(fifty[:50], BERLIN).entries) == 50
    with pytest.raises(ExclusionError, match=r"^spec\.exclusions: must be a list"):
        parse_exclusions({"from": "2026-12-24"}, BERLIN)
    assert parse_exclusions(None, BERLIN) == Exclusions()
