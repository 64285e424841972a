"""Logging: text or JSON lines, each with the object's namespace/name when there is one, and
every known secret redacted on the handler (so records of every logger pass through it)."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

from drs_pause_operator.drs.redact import RedactingFilter


def rfc3339_utc(created: float) -> str:
    """A record's time as RFC 3339 in UTC with milliseconds: 2026-11-30T04:08:00.123Z."""
    return datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data = {
            "time": rfc3339_utc(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        obj = getattr(record, "object", None)
        if obj is None:  # kopf puts the object's identity in its own extras
            k8s_skip = getattr(record, "k8s_ref", None)
            if isinstance(k8s_skip, dict):
                obj = f"{k8s_skip.get('namespace', '')}/{k8s_skip.get('name', '')}"
        if obj:
            data["object"] = obj
        # exc_text is what RedactingFilter left: formatting exc_info again would undo it.
        if record.exc_text:
            data["exception"] = record.exc_text
        elif record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        obj = getattr(record, "object", None)
        return f"{text} [{obj}]" if obj else text


def configure(fmt: str = "text", level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter()
        if fmt == "json"
        else TextFormatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s")
    )
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # httpx logs every request at INFO; ours are counted in metrics and logged at DEBUG.
    if level != "DEBUG":
        logging.getLogger("httpx").setLevel(logging.WARNING)
        # kopf logs "Handler 'on_event' succeeded." for every watch event: thousands of lines
        # on a restart over many objects, with nothing a person needs.
        logging.getLogger("kopf.objects").setLevel(logging.WARNING)
