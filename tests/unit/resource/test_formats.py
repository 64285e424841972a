"""Text and time as the status holds them (resource/formats.py): bounded remote text, RFC 3339
times, durations as a person reads them."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from drs_pause_operator.resource.formats import (
    MAX_MESSAGE,
    MAX_SHORT,
    bounded,
    fmt_seconds,
    fmt_time,
    parse_time,
)

from ..values import NOW


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (NOW, "2026-11-28T10:00:00Z"),
        (NOW + dt.timedelta(microseconds=999_999), "2026-11-28T10:00:00Z"),
        (NOW.astimezone(dt.timezone(dt.timedelta(hours=2))), "2026-11-28T10:00:00Z"),
        (None, None),
    ],
)
def test_fmt_time_is_utc_seconds(value: dt.datetime | None, expected: str | None) -> None:
    assert fmt_time(value) == expected
    if expected:
        assert parse_time(expected) == NOW


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-11-28T10:00:00Z", NOW),
        ("2026-11-28T10:00:00", NOW),  # naive: UTC
        ("2026-11-28T11:00:00+01:00", NOW),
        ("not a time", None),
        ("", None),
        (None, None),
        (12345, None),
    ],
)
def test_parse_time(value: object, expected: dt.datetime | None) -> None:
    assert parse_time(value) == expected


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        (None, 10, ""),
        ("", 10, ""),
        ("short", 10, "short"),
        ("exactly10!", 10, "exactly10!"),
        ("eleven chars", 10, "eleven ch…"),
        ("a\nb\tc\x00d\x1b", 20, "a b c d "),
        ("line\u2028sep\ud800", 20, "line sep "),
        ("DRS.M00304", MAX_SHORT, "DRS.M00304"),
        ("ünïcödé 暂停", 20, "ünïcödé 暂停"),
    ],
)
def test_bounded(text: str | None, limit: int, expected: str) -> None:
    assert bounded(text, limit) == expected
    assert len(bounded(text, limit)) <= limit


def test_bounded_default_limit_and_a_megabyte() -> None:
    out = bounded("\x07" * 1_000_000)
    assert len(out) == MAX_SHORT and out.isprintable()
    assert bounded("x" * 1_000_000, MAX_MESSAGE).endswith("…")


def test_max_short_is_what_the_contract_says() -> None:
    assert (MAX_SHORT, MAX_MESSAGE) == (128, 512)


def test_bounded_cost_does_not_grow_with_the_input() -> None:
    huge = "\x00" * 50_000_000
    started = time.perf_counter()
    for _ in range(20):
        assert bounded(huge, MAX_MESSAGE) == " " * (MAX_MESSAGE - 1) + "…"
    assert time.perf_counter() - started < 1.0  # cleaning 1 GB of text would take minutes


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (45, "45s"), (60, "1m"), (432, "7m12s"), (7200, "2h"), (3661, "1h1m1s"),
     (-5, "0s"), (59.6, "1m")],
)
def test_fmt_seconds(seconds: float, text: str) -> None:
    assert fmt_seconds(seconds) == text
