"""Retry policy tables: transient or terminal, Retry-After, backoff."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drs_pause_operator.drs.retry import (
    MAX_RETRY_AFTER,
    backoff_delay,
    is_transient,
    next_delay,
    parse_retry_after,
)

NOW = datetime(2024, 1, 1, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        # no answer at all: network error, timeout
        (None, None, True),
        # statuses
        (429, None, True),
        (500, None, True),
        (502, None, True),
        (503, None, True),
        (504, None, True),
        (408, None, True),
        (400, None, False),
        (401, None, False),
        (403, None, False),
        (404, None, False),
        (422, None, False),
        (200, None, False),
        # DRS codes that mean "later"
        (400, "DRS.M01503", True),
        (202, "DRS.M01504", True),
        (200, "DRS.M01504", True),
        (500, "DRS.M00004", True),
        (422, "DRS.M00004", True),  # Huawei Cloud lists it as 422
        (401, "APIGW.0307", True),  # expired token: refresh and retry
        (403, "DRS.M00100", True),  # invalid token: refresh once
        (429, "APIGW.0308", True),
        (429, "APIG.0308", True),
        # terminal codes, whatever the status says
        (400, "DRS.M05003", False),
        (400, "DRS.M05004", False),
        (400, "DRS.M00289", False),
        (400, "DRS.M00304", False),
        (400, "DRS.M00201", False),
        (400, "DRS.M00202", False),
        (400, "DRS.M00301", False),
        (403, "DRS.M00261", False),
        (500, "DRS.M05003", False),
        (None, "DRS.M05004", False),
        # unknown codes fall back to the status
        (400, "DRS.M99999", False),
        (503, "DRS.M99999", True),
        (400, "", False),
    ],
)
def test_is_transient(status: int | None, code: str | None, expected: bool) -> None:
    assert is_transient(status, code) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        ("   ", None),
        ("0", 0.0),
        ("5", 5.0),
        (" 120 ", 120.0),
        ("1.5", 1.5),
        ("-1", None),
        ("-0.5", None),
        ("soon", None),
        ("nan", None),
        ("inf", None),
        ("1e309", None),
        ("99999999", MAX_RETRY_AFTER),  # capped
        ("Mon, 01 Jan 2024 12:00:30 GMT", 30.0),
        ("Mon, 01 Jan 2024 13:00:00 GMT", 3600.0),
        ("Mon, 01 Jan 2024 11:59:00 GMT", 0.0),  # in the past: now
        ("Tue, 01 Jan 2030 00:00:00 GMT", MAX_RETRY_AFTER),
        ("Mon, 32 Jan 2024 12:00:30 GMT", None),
        ("Mon, 01 Jan 2024 12:00:30", 30.0),  # no zone: taken as UTC
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, NOW) == expected


def test_parse_retry_after_custom_cap_and_naive_now() -> None:
    assert parse_retry_after("600", NOW, cap=60) == 60
    naive = datetime(2024, 1, 1, 12, 0, 0)
    assert parse_retry_after("Mon, 01 Jan 2024 12:00:10 GMT", naive) == 10.0


@pytest.mark.parametrize(
    ("attempt", "jitter", "mode", "expected"),
    [
        # equal jitter: [ceiling/2, ceiling)
        (1, 0.0, "equal", 0.5),
        (1, 0.5, "equal", 0.75),
        (2, 0.0, "equal", 1.0),
        (3, 0.0, "equal", 2.0),
        (4, 0.5, "equal", 6.0),
        (9, 0.0, "equal", 128.0),
        (10, 0.0, "equal", 150.0),  # 512 capped at 300
        (10, 0.999, "equal", 299.85),
        (1000, 0.0, "equal", 150.0),  # no overflow
        (0, 0.0, "equal", 0.5),  # attempt < 1 behaves like the first
        # full jitter: [0, ceiling)
        (1, 0.0, "full", 0.0),
        (1, 0.5, "full", 0.5),
        (4, 0.25, "full", 2.0),
        (20, 0.5, "full", 150.0),
    ],
)
def test_backoff_delay(attempt: int, jitter: float, mode: str, expected: float) -> None:
    assert backoff_delay(attempt, jitter=jitter, mode=mode) == pytest.approx(expected)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("attempt", "base", "cap", "jitter", "expected"),
    [
        (1, 0.1, 5.0, 0.0, 0.05),
        (3, 0.1, 5.0, 0.0, 0.2),
        (10, 0.1, 5.0, 0.0, 2.5),
        (2, 2.0, 300.0, 0.5, 3.0),
    ],
)
def test_backoff_base_and_cap(
    attempt: int, base: float, cap: float, jitter: float, expected: float
) -> None:
    assert backoff_delay(attempt, base=base, cap=cap, jitter=jitter) == pytest.approx(expected)


@pytest.mark.parametrize("jitter", [-0.1, 1.0, 2.0])
def test_backoff_rejects_jitter_outside_unit_interval(jitter: float) -> None:
    with pytest.raises(ValueError, match="jitter"):
        backoff_delay(1, jitter=jitter)


def test_backoff_draws_from_the_given_rng() -> None:
    first = backoff_delay(3, rng=random.Random(7))
    assert first == backoff_delay(3, rng=random.Random(7))
    assert 2.0 <= first < 4.0


@given(
    attempt=st.integers(min_value=-5, max_value=10_000),
    jitter=st.floats(min_value=0, max_value=1, exclude_max=True),
    mode=st.sampled_from(["full", "equal"]),
)
def test_backoff_always_within_cap(attempt: int, jitter: float, mode: str) -> None:
    delay = backoff_delay(attempt, jitter=jitter, mode=mode, cap=300.0)  # type: ignore[arg-type]
    assert 0.0 <= delay <= 300.0


@pytest.mark.parametrize(
    ("attempt", "retry_after", "expected"),
    [
        (1, None, 0.5),  # backoff only
        (1, 0.1, 0.5),  # backoff larger than Retry-After
        (1, 7.0, 7.0),  # Retry-After larger
        (5, 3.0, 8.0),
        (5, 60.0, 60.0),
        (1, 0.0, 0.5),
    ],
)
def test_next_delay_takes_the_larger(
    attempt: int, retry_after: float | None, expected: float
) -> None:
    assert next_delay(attempt, retry_after, jitter=0.0) == pytest.approx(expected)
