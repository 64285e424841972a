"""Text and time as the status holds them: bounded remote text, RFC 3339 times (pure)."""

from __future__ import annotations

import datetime as dt
from typing import Any

# Bounds on remote text copied into status: a hostile or broken endpoint must not be able to grow
# the object towards etcd's 1.5 MiB limit (500 jobs x these bounds stays far below it).
MAX_MESSAGE = 512
MAX_SHORT = 128


def bounded(text: str | None, limit: int = MAX_SHORT) -> str:
    if not text:
        return ""
    text = str(text)
    # Clean only what is kept: a megabyte of remote text costs no more than a short one.
    clean = "".join(ch if ch.isprintable() else " " for ch in text[:limit])
    return clean if len(text) <= limit else clean[: limit - 1] + "…"


def fmt_time(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value: Any) -> dt.datetime | None:
    if not value or not isinstance(value, str):
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def fmt_seconds(seconds: float) -> str:
    """``7m12s``, ``2h``, ``45s``: a duration as a person reads it."""
    total = max(0, round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{hours}h" if hours else "", f"{minutes}m" if minutes else "",
             f"{secs}s" if secs or not (hours or minutes) else ""]
    return "".join(parts)
