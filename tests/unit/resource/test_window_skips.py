"""Starts a window skips on purpose: spec.exclusions and the drs.cloudops.dev/skip-next
annotation, through whole passes (``resource.window.plan``) and alone
(``resource.window_skips``)."""

from __future__ import annotations

import time

import pytest

from drs_pause_operator.resource.window import child_name
from drs_pause_operator.resource.window_skips import (
    MAX_SKIPPED,
    SkippedStart,
    pending_skip_token,
    record_skip,
    skipped_starts,
)

from .harness import Harness, utc, window

HOLIDAY = [{"from": "2026-05-05", "reason": "holidays"}]


def start_name(*args: int) -> str:
    return child_name("nightly", utc(*args))


# -- exclusions --------------------------------------------------------------------------------


def test_an_excluded_start_creates_no_child_and_the_next_start_does() -> None:
    h = window(exclusions=HOLIDAY)
    h.at(2026, 5, 4, 10, 0, 1)
    assert h.created == [start_name(2026, 5, 4, 10)]
    # The 5 May start is left out of the next start already.
    assert h.status["nextScheduleTime"] == "2026-05-06T10:00:00Z"
    h.set_phase(h.created[0], "Resumed")

    p = h.at(2026, 5, 5, 9, 0)
    assert p.wake_after == pytest.approx(3600)  # it still looks at the excluded start
    p = h.at(2026, 5, 5, 10, 0, 1)
    assert len(h.created) == 1 and p.missed == 0
    assert h.events[-1] == ("Normal", "WindowSkipped",
                            "skipped the window starting 2026-05-05T10:00+00:00: "
                            "Excluded: holidays")
    assert h.skipped() == [("2026-05-05T10:00:00Z", "Excluded: holidays")]
    assert h.status["lastScheduleTime"] == "2026-05-04T10:00:00Z"  # the last one made
    assert h.ready()["reason"] == "Scheduled" and "2026-05-06T10:00" in h.ready()["message"]
    assert p.wake_after == pytest.approx(24 * 3600 - 1)
    h.run()  # another pass: recorded once, one Event
    assert h.reasons().count("WindowSkipped") == 1 and len(h.skipped()) == 1

    h.at(2026, 5, 6, 10, 0, 1)
    assert h.created[-1] == start_name(2026, 5, 6, 10)


def test_an_exclusion_without_a_reason_names_its_dates() -> None:
    h = window(exclusions=[{"from": "2026-05-05", "to": "2026-05-07"}])
    h.at(2026, 5, 5, 10, 0, 1)
    assert h.skipped() == [("2026-05-05T10:00:00Z", "Excluded: 2026-05-05 to 2026-05-07")]
    assert h.status["nextScheduleTime"] == "2026-05-08T10:00:00Z"


def test_an_exclusion_never_cuts_short_an_open_window() -> None:
    h = window()
    h.at(2026, 5, 4, 10, 0, 1)
    (name,) = h.created
    h.set_phase(name, "Paused")
    # An exclusion added while the window is open, covering the rest of its time.
    h.spec = {**h.spec, "exclusions": [{"from": "2026-05-04T10:30", "to": "2026-05-05T12:00"}]}
    p = h.at(2026, 5, 4, 10, 31)
    assert p.create is None and p.delete == [] and h.children[name]["spec"]["resume"] == {
        "at": "2026-05-04T12:00:00Z", "onDelete": True}
    assert h.status["active"] == [{"name": name}] and h.ready()["reason"] == "Active"
    assert h.status["nextScheduleTime"] == "2026-05-06T10:00:00Z"


def test_an_excluded_start_does_not_wait_for_the_previous_child_and_is_not_missed() -> None:
    h = window(schedule="0 * * * *", duration="90m", startingDeadlineSeconds=600,
               exclusions=[{"from": "2026-05-04T11:00"}])
    h.at(2026, 5, 4, 10, 0, 1)
    h.set_phase(h.created[0], "Paused")  # still open at 11:00
    p = h.at(2026, 5, 4, 11, 0, 1)
    assert p.missed == 0 and h.ready()["reason"] == "Active"
    assert h.events[-1][:2] == ("Normal", "WindowSkipped")
    assert h.skipped() == [("2026-05-04T11:00:00Z", "Excluded: 2026-05-04T11:00")]
    assert "WaitingForPrevious" not in str(h.status)
    h.set_phase(h.created[0], "Resumed")
    h.at(2026, 5, 4, 11, 5)  # within the deadline: the excluded start is not made late
    assert len(h.created) == 1
    h.at(2026, 5, 4, 12, 0, 1)
    assert h.created[-1] == start_name(2026, 5, 4, 12)


def test_an_excluded_start_past_its_deadline_is_still_recorded_and_not_missed() -> None:
    h = window(startingDeadlineSeconds=5, exclusions=HOLIDAY)
    p = h.at(2026, 5, 5, 10, 20)
    assert p.missed == 0 and h.skipped() == [("2026-05-05T10:00:00Z", "Excluded: holidays")]


def test_an_excluded_start_supersedes_a_start_held_for_the_previous_child() -> None:
    h = window(schedule="0 * * * *", duration="90m", exclusions=[{"from": "2026-05-04T12:00"}])
    h.at(2026, 5, 4, 10, 0, 1)
    h.set_phase(h.created[0], "Paused")
    h.at(2026, 5, 4, 11, 0, 1)
    assert h.ready()["reason"] == "WaitingForPrevious"
    h.at(2026, 5, 4, 12, 0, 1)  # the most recent start is excluded: the 11:00 one is given up
    h.set_phase(h.created[0], "Resumed")
    h.at(2026, 5, 4, 12, 5)  # 11:00's window is open until 12:30, but it is not made
    assert len(h.created) == 1 and h.ready()["reason"] == "Scheduled"


def test_after_an_outage_whose_most_recent_start_was_excluded_nothing_starts() -> None:
    h = window(schedule="0 * * * *", duration="3h", exclusions=[{"from": "2026-05-04T11:00"}])
    h.now = utc(2026, 5, 4, 9, 59)
    h.run()
    p = h.at(2026, 5, 4, 11, 30)  # the operator was down at 10:00 and 11:00
    assert h.created == [] and p.missed == 1  # 10:00 is missed; 11:00 is excluded, not missed
    assert h.skipped() == [("2026-05-04T11:00:00Z", "Excluded: 2026-05-04T11:00")]
    h.at(2026, 5, 4, 12, 0, 1)
    assert h.created == [start_name(2026, 5, 4, 12)]


def test_next_start_jumps_over_a_long_exclusion_at_once() -> None:
    h = window(utc(2026, 1, 1), schedule="* * * * *", duration="1m",
               exclusions=[{"from": "2026-01-01", "to": "2026-12-30", "reason": "frozen"}])
    began = time.perf_counter()
    h.run()
    assert time.perf_counter() - began < 1.0  # not half a million minutes one by one
    assert h.status["nextScheduleTime"] == "2026-12-31T00:00:00Z"


def test_invalid_exclusions_stall_the_window_and_a_fix_recovers_it() -> None:
    h = window(exclusions=[HOLIDAY[0], {"from": "2026-12-26", "to": "2026-12-24"}])
    h.at(2026, 5, 4, 10, 0, 1)
    stalled = {c["type"]: c for c in h.status["conditions"]}["Stalled"]
    assert stalled["reason"] == "InvalidExclusion"
    assert stalled["message"] == "spec.exclusions[1]: from 2026-12-26 is after to 2026-12-24"
    assert h.created == [] and "nextScheduleTime" not in h.status
    h.spec = {**h.spec, "exclusions": HOLIDAY}
    h.at(2026, 5, 4, 10, 1)
    assert h.reasons() == ["InvalidExclusion", "WindowStarted", "Recovered"]
    assert h.created == [start_name(2026, 5, 4, 10)]


# -- skip-next ---------------------------------------------------------------------------------


def test_skip_next_skips_the_next_start_once() -> None:
    h = window()
    h.annotate("2026-05-04T09:59:00Z")
    h.at(2026, 5, 4, 9, 59)
    # The pending skip leaves 4 May out of the next start, and the Ready message says why.
    assert h.status["nextScheduleTime"] == "2026-05-05T10:00:00Z"
    assert "the start at 2026-05-04T10:00+00:00 is skipped" in h.ready()["message"]
    assert "skipNextToken" not in h.status

    h.at(2026, 5, 4, 10, 0, 1)
    assert h.created == []
    assert h.events[-1] == (
        "Normal", "WindowSkipped",
        "skipped the window starting 2026-05-04T10:00+00:00: SkipNext (the annotation "
        "drs.cloudops.dev/skip-next was set to a new value)")
    assert h.skipped() == [("2026-05-04T10:00:00Z", "SkipNext")]
    assert h.status["skipNextToken"] == "2026-05-04T09:59:00Z"
    assert h.status["nextScheduleTime"] == "2026-05-05T10:00:00Z"
    assert "skipped" not in h.ready()["message"]

    # The annotation stays: another pass, and a restart (a new pass from the written status
    # alone), skip nothing more, and the next start is made.
    h.run()
    restarted = Harness(h.spec, h.now, h.meta, dict(h.status))
    restarted.run()
    assert restarted.events == [] and restarted.skipped() == h.skipped()
    h.at(2026, 5, 5, 10, 0, 1)
    assert h.created == [start_name(2026, 5, 5, 10)]
    assert h.reasons().count("WindowSkipped") == 1


def test_skip_next_used_twice_skips_two_starts() -> None:
    h = window()
    h.annotate("one")
    h.at(2026, 5, 4, 10, 0, 1)
    h.annotate("two")
    h.at(2026, 5, 4, 11)
    assert h.status["nextScheduleTime"] == "2026-05-06T10:00:00Z"
    h.at(2026, 5, 5, 10, 0, 1)
    assert h.created == [] and h.status["skipNextToken"] == "two"
    assert h.skipped() == [("2026-05-04T10:00:00Z", "SkipNext"), ("2026-05-05T10:00:00Z",
                                                                  "SkipNext")]
    h.at(2026, 5, 6, 10, 0, 1)
    assert h.created == [start_name(2026, 5, 6, 10)]


def test_a_value_changed_before_its_start_skips_once_and_removing_it_cancels() -> None:
    h = window()
    h.annotate("one")
    h.at(2026, 5, 4, 9, 59)
    h.annotate("two")
    h.at(2026, 5, 4, 10, 0, 1)
    h.at(2026, 5, 5, 10, 0, 1)
    assert h.created == [start_name(2026, 5, 5, 10)] and len(h.skipped()) == 1
    h.set_phase(h.created[0], "Resumed")
    h.annotate("three")
    h.at(2026, 5, 5, 11)
    assert h.status["nextScheduleTime"] == "2026-05-07T10:00:00Z"
    h.annotate(None)  # removed before its start: no skip
    h.at(2026, 5, 5, 12)
    assert h.status["nextScheduleTime"] == "2026-05-06T10:00:00Z"
    h.at(2026, 5, 6, 10, 0, 1)
    assert h.created[-1] == start_name(2026, 5, 6, 10)
    assert h.status["skipNextToken"] == "two"


def test_skip_next_set_while_a_window_is_open_does_not_end_it() -> None:
    h = window()
    h.at(2026, 5, 4, 10, 0, 1)
    (name,) = h.created
    h.set_phase(name, "Paused")
    h.annotate("now")
    p = h.at(2026, 5, 4, 10, 30)
    assert p.delete == [] and h.status["active"] == [{"name": name}]
    assert h.ready()["reason"] == "Active" and "skip-next" in h.ready()["message"]
    assert h.status["nextScheduleTime"] == "2026-05-06T10:00:00Z"
    assert "skipNextToken" not in h.status and h.events[-1][1] == "WindowStarted"


def test_skip_next_passes_over_excluded_starts() -> None:
    h = window(exclusions=HOLIDAY)
    h.annotate("x")
    h.at(2026, 5, 5, 9, 0)
    # 5 May is excluded, 6 May is skipped: 7 May is the next start made.
    assert h.status["nextScheduleTime"] == "2026-05-07T10:00:00Z"
    h.at(2026, 5, 5, 10, 0, 1)
    assert "skipNextToken" not in h.status
    h.at(2026, 5, 6, 10, 0, 1)
    assert h.skipped() == [("2026-05-05T10:00:00Z", "Excluded: holidays"),
                           ("2026-05-06T10:00:00Z", "SkipNext")]
    h.at(2026, 5, 7, 10, 0, 1)
    assert h.created == [start_name(2026, 5, 7, 10)]


def test_skip_next_skips_a_start_held_for_the_previous_child() -> None:
    h = window(schedule="0 * * * *", duration="90m")
    h.at(2026, 5, 4, 10, 0, 1)
    h.set_phase(h.created[0], "Paused")
    h.at(2026, 5, 4, 11, 0, 1)
    assert h.ready()["reason"] == "WaitingForPrevious"
    h.annotate("x")
    h.at(2026, 5, 4, 11, 2)
    assert h.skipped() == [("2026-05-04T11:00:00Z", "SkipNext")]
    assert h.ready()["reason"] == "Active"
    h.set_phase(h.created[0], "Resumed")
    h.at(2026, 5, 4, 11, 5)
    assert len(h.created) == 1  # the skipped start is not made late


def test_a_stalled_window_keeps_its_skip_record_and_a_pending_skip() -> None:
    h = window()
    h.annotate("one")
    h.at(2026, 5, 4, 10, 0, 1)
    h.annotate("two")
    h.spec = {**h.spec, "exclusions": [{"from": "soon"}]}
    h.at(2026, 5, 4, 11)
    assert h.status["skipNextToken"] == "one" and len(h.skipped()) == 1
    h.spec = {k: v for k, v in h.spec.items() if k != "exclusions"}
    h.at(2026, 5, 5, 10, 0, 1)
    assert h.created == [] and h.status["skipNextToken"] == "two"


def test_suspended_windows_skip_nothing() -> None:
    h = window(suspend=True, exclusions=HOLIDAY)
    h.annotate("x")
    h.at(2026, 5, 4, 10, 0, 1)
    h.at(2026, 5, 5, 10, 0, 1)
    assert "skippedStarts" not in h.status and "skipNextToken" not in h.status


# -- the record alone ------------------------------------------------------------------------


def test_skipped_starts_keeps_the_newest_five_in_order_once_each() -> None:
    skipped: list[SkippedStart] = []
    for day in (7, 3, 4, 5, 6, 8, 4):
        skipped = record_skip(skipped, utc(2026, 5, day, 10), f"r{day}")
    assert [(s.time.day, s.reason) for s in skipped] == [(4, "r4"), (5, "r5"), (6, "r6"),
                                                         (7, "r7"), (8, "r8")]
    assert len(skipped) == MAX_SKIPPED


def test_skipped_starts_read_from_status_drop_what_does_not_parse() -> None:
    status = {"skippedStarts": [
        {"time": "2026-05-05T10:00:00Z", "reason": "SkipNext"}, "junk", {"time": "never"},
        {"time": "2026-05-04T10:00:00Z", "reason": "x" * 500 + "\n"}]}
    got = skipped_starts(status)
    assert [s.time for s in got] == [utc(2026, 5, 4, 10), utc(2026, 5, 5, 10)]
    assert len(got[0].reason) <= 128 and "\n" not in got[0].reason


@pytest.mark.parametrize(("annotation", "acted", "pending"), [
    (None, None, None), ("", None, None), ("a", None, "a"), ("a", "a", None), ("b", "a", "b")])
def test_a_skip_is_pending_for_a_value_not_acted_on(
    annotation: str | None, acted: str | None, pending: str | None
) -> None:
    status = {"skipNextToken": acted} if acted else {}
    assert pending_skip_token(annotation, status) == pending
