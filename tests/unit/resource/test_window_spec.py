"""The spec of a pause window, parsed: durations, and which Stalled reason each bad field gets."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from drs_pause_operator.resource.window_spec import WindowSpecError, parse_duration, parse_window

from .harness import TEMPLATE

SPEC = {"schedule": "0 10 * * *", "duration": "2h", "template": TEMPLATE}


@pytest.mark.parametrize(("text", "minutes"), [("2h", 120), ("90m", 90), ("1h30m", 90),
                                               ("168h", 7 * 24 * 60)])
def test_durations(text: str, minutes: int) -> None:
    assert parse_duration(text) == dt.timedelta(minutes=minutes)


@pytest.mark.parametrize("text", ["", "0s", "169h", "30m1h", "2d"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError, match=r"duration|at most 168h"):
        parse_duration(text)


def test_exclusions_are_parsed_in_the_window_zone() -> None:
    window = parse_window({**SPEC, "timeZone": "Europe/Berlin",
                           "exclusions": [{"from": "2026-12-24", "reason": "holidays"}]})
    (entry,) = window.exclusions.entries
    assert entry.first == dt.datetime(2026, 12, 23, 23, tzinfo=dt.UTC)
    assert entry.label == "Excluded: holidays"
    assert parse_window(SPEC).exclusions.entries == ()


@pytest.mark.parametrize(("extra", "reason", "message"), [
    ({"exclusions": [{"from": "2026-12-24"}, {"from": "2026-12-24", "to": "2026-12-23"}]},
     "InvalidExclusion", "spec.exclusions[1]: from 2026-12-24 is after to 2026-12-23"),
    ({"exclusions": "2026-12-24"}, "InvalidExclusion",
     "spec.exclusions: must be a list of {from, to, reason}"),
    ({"exclusions": [{"from": "2026-12-24"}], "timeZone": "Mars/Olympus"}, "UnknownTimeZone",
     "time zone 'Mars/Olympus' is not in the IANA time zone database"),
    ({"exclusion": []}, "InvalidSpec", "spec.exclusion: Extra inputs are not permitted"),
])
def test_each_bad_field_gets_its_reason(extra: dict[str, Any], reason: str, message: str) -> None:
    with pytest.raises(WindowSpecError) as err:
        parse_window({**SPEC, **extra})
    assert (err.value.reason, err.value.message) == (reason, message)
