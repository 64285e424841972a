"""Exceptions raised by the DRS client.

::

    DrsError                          base; ``.transient`` says whether a later retry may succeed
     ├── DrsTransportError            network failure or timeout (transient)
     ├── DrsTLSError                  certificate / TLS configuration problem (NOT transient)
     ├── DrsProtocolError             malformed, unparseable or oversized body (transient)
     └── DrsResponseError             DRS answered with an error (status_code, error_code, ...)
          ├── DrsAuthenticationError  credentials rejected or lacking permission (NOT transient)
          ├── DrsThrottledError       429, DRS.M01503, DRS.M01504, APIG(W).0308 (transient)
          ├── DrsServerError          5xx, DRS.M00004 (transient)
          └── DrsRequestError         any other 4xx: the request itself is wrong (NOT transient)
               └── DrsInvalidProjectError   HTTP 403 DRS.M00261: the project id is wrong

:func:`make_response_error` picks the class from an HTTP status and DRS error code;
:func:`transport_error` turns an ``httpx`` exception into the matching class. Messages never hold
credentials: they are built from status, code, the server's message (redacted) and request id.
"""

from __future__ import annotations

import ssl
from typing import TYPE_CHECKING, Any

import httpx

from drs_pause_operator.drs import retry
from drs_pause_operator.drs.redact import REDACTOR

if TYPE_CHECKING:
    from drs_pause_operator.drs.models import ErrorBody

__all__ = [
    "DrsAuthenticationError",
    "DrsError",
    "DrsInvalidProjectError",
    "DrsProtocolError",
    "DrsRequestError",
    "DrsResponseError",
    "DrsServerError",
    "DrsTLSError",
    "DrsThrottledError",
    "DrsTransportError",
    "ResponseTooLargeError",
    "make_response_error",
    "transport_error",
]


class DrsError(Exception):
    """Base class of every error the DRS client raises.

    The answer-related attributes are None unless the subclass knows them, so callers can read
    them on any DrsError.
    """

    transient: bool = False
    status_code: int | None = None
    error_code: str | None = None
    error_msg: str | None = None
    request_id: str | None = None
    retry_after: float | None = None


class DrsTransportError(DrsError):
    """The request did not get an answer: connection refused or dropped, DNS, a timeout."""

    transient = True

    def __init__(self, message: str, *, phase: str | None = None) -> None:
        super().__init__(message)
        #: ``connect`` / ``read`` / ``write`` / ``pool`` for timeouts, else None.
        self.phase = phase


class DrsTLSError(DrsError):
    """TLS could not be established because of the configuration (unknown CA, wrong host name,
    plain HTTP port): retrying does not help, fixing ``--ca-bundle`` or the endpoint does."""

    transient = False


class DrsProtocolError(DrsError):
    """The server answered something that is not the documented JSON (or far too much of it)."""

    transient = True

    def __init__(
        self, message: str, *, status_code: int | None = None, request_id: str | None = None
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.request_id = request_id


class ResponseTooLargeError(DrsProtocolError):
    """The response body exceeded the configured size limit; reading stopped there."""


class DrsResponseError(DrsError):
    """DRS (or its API gateway, or IAM) answered with an error status or error code."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        error_code: str | None = None,
        error_msg: str | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
        body: ErrorBody | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.error_code = error_code
        self.error_msg = error_msg
        self.request_id = request_id
        #: Seconds from the ``Retry-After`` header, when the server sent one.
        self.retry_after = retry_after
        #: The parsed error body (may carry per-job ``results``), when there was one.
        self.body = body


class DrsAuthenticationError(DrsResponseError):
    """The credentials were rejected (also after one token refresh) or lack permission."""

    transient = False


class DrsThrottledError(DrsResponseError):
    """The service asks to come back later (rate limit, task busy)."""

    transient = True


class DrsServerError(DrsResponseError):
    """The service failed on its side."""

    transient = True


class DrsRequestError(DrsResponseError):
    """The request was refused as wrong (unknown job, not pausable, invalid parameter)."""

    transient = False


class DrsInvalidProjectError(DrsRequestError):
    """HTTP 403 DRS.M00261: the project id does not exist for these credentials/region."""


_AUTH_CODES = frozenset(
    {"DRS.M00100", "DRS.M00102", "DRS.M00103", "APIGW.0301", "APIGW.0307", "APIGW.0302"}
)
_THROTTLE_CODES = frozenset({"DRS.M01503", "DRS.M01504", "APIG.0308", "APIGW.0308"})
_SERVER_CODES = frozenset({"DRS.M00004"})
INVALID_PROJECT = "DRS.M00261"


def make_response_error(
    status_code: int,
    error_code: str | None = None,
    error_msg: str | None = None,
    *,
    request_id: str | None = None,
    retry_after: float | None = None,
    body: ErrorBody | None = None,
    what: str = "DRS request",
    secrets: tuple[str, ...] = (),
) -> DrsResponseError:
    """Build the right :class:`DrsResponseError` subclass for an error answer."""
    code = error_code or ""
    cls: type[DrsResponseError]
    if code == INVALID_PROJECT:
        cls = DrsInvalidProjectError
    elif code in _AUTH_CODES or status_code in (401, 403):
        cls = DrsAuthenticationError
    elif code in _THROTTLE_CODES or status_code == 429:
        cls = DrsThrottledError
    elif code in _SERVER_CODES or status_code >= 500:
        cls = DrsServerError
    elif retry.is_transient(status_code, error_code):
        cls = DrsServerError  # e.g. 408
    else:
        cls = DrsRequestError
    safe_msg = REDACTOR(error_msg, secrets) if error_msg else None
    parts = [f"{what} failed: HTTP {status_code}"]
    if error_code:
        parts.append(error_code)
    text = " ".join(parts)
    if safe_msg:
        text += f": {safe_msg}"
    if request_id:
        text += f" (request id {request_id})"
    return cls(
        text,
        status_code=status_code,
        error_code=error_code,
        error_msg=safe_msg,
        request_id=request_id,
        retry_after=retry_after,
        body=body,
    )


def _causes(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen and len(seen) < 16:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


_TLS_CONFIG_REASONS = ("CERTIFICATE_VERIFY_FAILED", "WRONG_VERSION_NUMBER", "UNSUPPORTED_PROTOCOL")


def _is_tls_config_problem(exc: BaseException) -> bool:
    for cause in _causes(exc):
        if isinstance(cause, ssl.SSLCertVerificationError):
            return True
        reason = getattr(cause, "reason", None) or ""
        if isinstance(cause, ssl.SSLError) and reason in _TLS_CONFIG_REASONS:
            return True
        if any(reason in str(cause) for reason in _TLS_CONFIG_REASONS):
            return True
    return False


_TIMEOUT_PHASES: dict[type[Any], str] = {
    httpx.ConnectTimeout: "connect",
    httpx.ReadTimeout: "read",
    httpx.WriteTimeout: "write",
    httpx.PoolTimeout: "pool",
}


def transport_error(exc: Exception, *, what: str, url: httpx.URL | str) -> DrsError:
    """Map an exception from ``httpx`` (or the size guard) to a :class:`DrsError`.

    ``url`` should not carry credentials (ours never do: they travel in headers).
    """
    if isinstance(exc, DrsError):
        return exc
    where = f"{what} to {url}"
    if _is_tls_config_problem(exc):
        detail = next(
            (str(c) for c in _causes(exc) if isinstance(c, ssl.SSLError)), type(exc).__name__
        )
        return DrsTLSError(f"{where}: TLS failed ({detail}); check the CA bundle and endpoint")
    if isinstance(exc, httpx.TimeoutException):
        phase = next((p for cls, p in _TIMEOUT_PHASES.items() if isinstance(exc, cls)), None)
        return DrsTransportError(f"{where}: {phase or 'request'} timeout", phase=phase)
    if isinstance(exc, httpx.TransportError):
        reason = str(exc) or type(exc).__name__
        return DrsTransportError(f"{where}: {type(exc).__name__}: {reason}")
    return DrsProtocolError(f"{where}: {type(exc).__name__}: {exc}")
