"""JSON log lines: UTC RFC 3339 timestamps with milliseconds, the object, redacted exceptions."""

from __future__ import annotations

import json
import logging
import re
import time
from datetime import datetime

import pytest

from drs_pause_operator.app.logs import JsonFormatter, rfc3339_utc

RFC3339_UTC_MS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


def _record(created: float | None = None, **extra: object) -> logging.LogRecord:
    record = logging.LogRecord(
        "drs_pause_operator.test", logging.INFO, __file__, 1, "hi %s", ("there",), None
    )
    if created is not None:
        record.created = created
        record.msecs = (created - int(created)) * 1000
    record.__dict__.update(extra)
    return record


@pytest.mark.parametrize(
    ("created", "expected"),
    [
        (0.0, "1970-01-01T00:00:00.000Z"),
        (1796011680.123456, "2026-11-30T04:08:00.123Z"),
        (1796011680.9999, "2026-11-30T04:08:00.999Z"),  # truncated, never rounded to next second
        (1796011680.0005, "2026-11-30T04:08:00.000Z"),
    ],
)
def test_rfc3339_utc(created: float, expected: str) -> None:
    assert rfc3339_utc(created) == expected


def test_json_time_is_utc_rfc3339_with_milliseconds(monkeypatch: pytest.MonkeyPatch) -> None:
    # A local zone far from UTC: the line must not follow it.
    monkeypatch.setenv("TZ", "Asia/Kathmandu")
    time.tzset()
    try:
        data = json.loads(JsonFormatter().format(_record(1796011680.123)))
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
    assert data["time"] == "2026-11-30T04:08:00.123Z"
    assert RFC3339_UTC_MS.fullmatch(data["time"])
    assert datetime.fromisoformat(data["time"]).timestamp() == pytest.approx(1796011680.123)
    assert (data["level"], data["logger"], data["message"]) == (
        "INFO",
        "drs_pause_operator.test",
        "hi there",
    )


def test_json_time_of_a_fresh_record() -> None:
    before = time.time()
    data = json.loads(JsonFormatter().format(_record()))
    assert RFC3339_UTC_MS.fullmatch(data["time"])
    assert datetime.fromisoformat(data["time"]).timestamp() == pytest.approx(before, abs=1)


def test_json_object_from_our_extra_or_kopfs() -> None:
    assert json.loads(JsonFormatter().format(_record(object="ns/a")))["object"] == "ns/a"
    kopf = _record(k8s_ref={"namespace": "ns", "name": "b"})
    assert json.loads(JsonFormatter().format(kopf))["object"] == "ns/b"
    assert "object" not in json.loads(JsonFormatter().format(_record()))
