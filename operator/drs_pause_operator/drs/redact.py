"""Keep credentials out of logs and exception text.

Two layers: values of credential-bearing fields (``X-Auth-Token: ...``, ``"password": "..."``,
``Authorization=SDK-HMAC-SHA256 ...``) are masked by pattern, and every secret value known to a
:class:`Redactor` is replaced wherever it appears. The auth classes register their secrets with
the process-wide :data:`REDACTOR`, so :class:`RedactingFilter` catches them in any log line.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable

__all__ = ["REDACTED", "REDACTOR", "RedactingFilter", "Redactor", "redact", "register_secret"]

REDACTED = "<redacted>"

#: Shorter values are not replaced by value (they would mangle ordinary text); real secrets are
#: longer (IAM passwords have at least 6 characters, tokens and keys far more).
MIN_SECRET_LENGTH = 4

_FIELDS = (
    r"x-auth-token|x-subject-token|x-security-token|authorization|"
    r"password|secret[_-]?key|securitytoken|security[_-]token|token"
)
_FIELD_VALUE = re.compile(
    rf"""(?ix)
    (?P<name>\b(?:{_FIELDS})\b)          # the field name
    (?P<sep>["']?\s*[:=]\s*)             # "name": / name= / 'name':
    (?P<value>
        "(?:[^"\\]|\\.)*"                # a double-quoted value
      | '(?:[^'\\]|\\.)*'                # a single-quoted value
      | SDK-HMAC-SHA256[^\r\n"']*        # an AK/SK Authorization value, up to end of line
      | (?:Bearer|Basic)\s+[^\s,;"']+    # other schemes
      | [^\s,;"'{{}}\[\]]+               # a bare word
    )
    """
)

# Header pairs as httpcore logs them at DEBUG: (b'X-Subject-Token', b'<the IAM token>').
_HEADER_PAIR = re.compile(
    rf"""(?ix)
    (?P<head>b?(?P<q1>["'])(?:{_FIELDS})(?P=q1)\s*,\s*b?)
    (?P<value>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
    """
)


def _mask_fields(text: str) -> str:
    def replace(match: re.Match[str]) -> str:
        value = match.group("value")
        quote = value[0] if value[:1] in ("'", '"') else ""
        return f"{match.group('name')}{match.group('sep')}{quote}{REDACTED}{quote}"

    def replace_pair(match: re.Match[str]) -> str:
        quote = match.group("value")[0]
        return f"{match.group('head')}{quote}{REDACTED}{quote}"

    return _FIELD_VALUE.sub(replace, _HEADER_PAIR.sub(replace_pair, text))


class Redactor:
    """Replaces known secret values and credential fields with ``<redacted>``. Thread-safe.

    Holds at most ``max_secrets`` values, forgetting the least recently added first, so a
    long-running process that sees many credential sets keeps a bounded cost per log line.
    """

    def __init__(self, secrets: Iterable[str | None] = (), *, max_secrets: int = 4096) -> None:
        self._lock = threading.Lock()
        self._max = max_secrets
        self._order: dict[str, None] = {}
        self._secrets: tuple[str, ...] = ()
        self.add(*secrets)

    def add(self, *secrets: str | None) -> None:
        """Remember more secret values (empty and very short values are ignored)."""
        fresh = [s for s in secrets if s and len(s) >= MIN_SECRET_LENGTH]
        if not fresh:
            return
        with self._lock:
            for secret in fresh:
                self._order.pop(secret, None)
                self._order[secret] = None
            while len(self._order) > self._max:
                del self._order[next(iter(self._order))]
            # Longest first, so a secret containing another is replaced whole.
            self._secrets = tuple(sorted(self._order, key=len, reverse=True))

    def __call__(self, text: str, extra: Iterable[str | None] = ()) -> str:
        return redact(text, (*self._secrets, *extra))

    def redact(self, text: str, extra: Iterable[str | None] = ()) -> str:
        """Same as calling the redactor (``REDACTOR.redact(text)`` reads better at call sites)."""
        return self(text, extra)

    def __len__(self) -> int:
        return len(self._secrets)

    def __repr__(self) -> str:
        return f"Redactor(<{len(self._secrets)} secrets>)"


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """``text`` with every given secret value and credential field value masked."""
    values = sorted(
        {s for s in secrets if s and len(s) >= MIN_SECRET_LENGTH}, key=len, reverse=True
    )
    for value in values:
        if value in text:
            text = text.replace(value, REDACTED)
    return _mask_fields(text)


#: The process-wide redactor: auth classes add their secrets here.
REDACTOR = Redactor()


def register_secret(*secrets: str | None) -> None:
    """Add values to the process-wide :data:`REDACTOR`."""
    REDACTOR.add(*secrets)


class RedactingFilter(logging.Filter):
    """A logging filter that redacts the formatted message and exception text of each record.

    Install it on handlers (``handler.addFilter(RedactingFilter())``) to cover every logger;
    a filter on a logger only sees records logged on that very logger. It never drops records.
    """

    def __init__(self, redactor: Redactor | None = None, name: str = "") -> None:
        super().__init__(name)
        self._redactor = redactor or REDACTOR

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: leave the record for logging to report
            return True
        record.msg = self._redactor(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self._redactor(record.exc_text)
        return True
