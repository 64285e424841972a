"""Retry policy as pure functions: which failures are transient, Retry-After, backoff.

Nothing here sleeps or does I/O; the client and the operator both call these, and
``tests/unit/drs/test_retry.py`` pins them with tables.
"""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Literal

__all__ = [
    "MAX_RETRY_AFTER",
    "TERMINAL_CODES",
    "TOKEN_EXPIRED_CODES",
    "TRANSIENT_CODES",
    "backoff_delay",
    "code_is_transient",
    "is_transient",
    "next_delay",
    "parse_retry_after",
]

#: Codes that say "try again later": throttling, busy task, server fault, expired token.
TRANSIENT_CODES = frozenset(
    {
        "DRS.M01503",  # operation too frequent
        "DRS.M01504",  # another operation is running on the task / task abnormal
        "DRS.M00004",  # service is abnormal
        "APIG.0308",  # gateway throttling (Huawei Cloud)
        "APIGW.0308",  # gateway throttling
        "APIGW.0307",  # the token must be updated: refresh, then retry
        "DRS.M00100",  # invalid token: refresh once, then retry
    }
)
#: The subset of TRANSIENT_CODES that is transient only because a token refresh may cure it.
TOKEN_EXPIRED_CODES = frozenset({"APIGW.0307", "DRS.M00100"})

#: Codes that never get better by waiting. Listed so a surprising HTTP status (say a 500
#: carrying DRS.M05003) cannot turn a definite answer into an endless retry.
TERMINAL_CODES = frozenset(
    {
        "DRS.M05003",  # task not found
        "DRS.M05004",  # task deleted / resources released
        "DRS.M00289",  # task does not exist (undocumented, seen in 400 bodies)
        "DRS.M00304",  # not callable in the current task status
        "DRS.M00201",  # parameter empty
        "DRS.M00202",  # parameter invalid
        "DRS.M00200",  # parameter error
        "DRS.M00007",  # invalid request parameter
        "DRS.M00301",  # duplicate ids
        "DRS.M00300",  # invalid request
        "DRS.M00305",  # parameter error
        "DRS.M00261",  # invalid project id
        "DRS.M00102",  # insufficient permissions
        "DRS.M00103",  # no operation permission
        "DRS.M00105",  # user restricted
        "APIGW.0301",  # incorrect IAM authentication information
    }
)

#: Upper bound on a server-requested delay; anything above is treated as this (1 hour).
MAX_RETRY_AFTER = 3600.0

_TRANSIENT_STATUSES = frozenset({408, 429})


def code_is_transient(error_code: str | None) -> bool | None:
    """True/False when the error code alone decides, None when it does not."""
    if not error_code:
        return None
    if error_code in TRANSIENT_CODES:
        return True
    if error_code in TERMINAL_CODES:
        return False
    return None


def is_transient(http_status: int | None, error_code: str | None) -> bool:
    """Whether a failure may go away by retrying later.

    ``http_status`` None means no answer at all (network error, timeout): transient. A known
    error code decides before the status (DRS sends M01503 with HTTP 400, M05003 is final
    whatever the status); otherwise 408, 429 and 5xx are transient, anything else is not.
    """
    by_code = code_is_transient(error_code)
    if by_code is not None:
        return by_code
    if http_status is None:
        return True
    return http_status in _TRANSIENT_STATUSES or http_status >= 500


def parse_retry_after(
    value: str | None, now: datetime, *, cap: float = MAX_RETRY_AFTER
) -> float | None:
    """Seconds to wait according to a ``Retry-After`` header value.

    Accepts delta-seconds (``"120"``, also ``"1.5"``) and HTTP dates (a date in the past means
    0). Negative, non-finite or unparseable values give None; values above ``cap`` give ``cap``.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        until = _seconds_until_http_date(text, now)
        if until is None:
            return None
        seconds = max(until, 0.0)
    if not math.isfinite(seconds) or seconds < 0:
        return None
    return min(seconds, cap)


def _seconds_until_http_date(text: str, now: datetime) -> float | None:
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    return (moment - now).total_seconds()


JitterMode = Literal["full", "equal"]


def backoff_delay(
    attempt: int,
    *,
    base: float = 1.0,
    cap: float = 300.0,
    jitter: float | None = None,
    rng: random.Random | None = None,
    mode: JitterMode = "equal",
) -> float:
    """Capped exponential backoff with jitter for the ``attempt``-th retry (1-based).

    The ceiling is ``min(cap, base * 2 ** (attempt - 1))``. ``jitter`` in [0, 1) is the random
    draw (pass it for determinism); without it one is drawn from ``rng`` (or ``random``).
    ``full`` jitter spreads over [0, ceiling); ``equal`` over [ceiling/2, ceiling), so a retry
    never comes back at once.
    """
    if jitter is None:
        jitter = (rng or random).random()
    if not 0.0 <= jitter < 1.0:
        raise ValueError(f"jitter must be in [0, 1), got {jitter}")
    exponent = max(attempt, 1) - 1
    # 2**1100 overflows a float: past 60 doublings the cap has long been reached.
    ceiling = cap if exponent > 60 else min(cap, base * 2.0**exponent)
    if mode == "full":
        return ceiling * jitter
    return ceiling / 2 + ceiling / 2 * jitter


def next_delay(
    attempt: int,
    retry_after: float | None,
    *,
    base: float = 1.0,
    cap: float = 300.0,
    jitter: float | None = None,
    rng: random.Random | None = None,
    mode: JitterMode = "equal",
) -> float:
    """The delay before retry number ``attempt``: the backoff, but never less than what the
    server asked for with Retry-After."""
    delay = backoff_delay(attempt, base=base, cap=cap, jitter=jitter, rng=rng, mode=mode)
    if retry_after is not None and retry_after > delay:
        return retry_after
    return delay
