"""One DRS project's requests: a POST, its answer, and the inline retries around it.

:class:`Exchange` sends a JSON body to one of the project's job endpoints with the given auth,
reads at most ``max_response_bytes`` of the answer, and turns it into the parsed response model
(a 2xx) or the matching :class:`DrsError` (anything else, or a 2xx that carries an error instead
of results). :meth:`Exchange.post_retrying` tries again inline while the error is transient and
the wait is short; errors about the whole configuration are raised at once. Each HTTP attempt is
reported to ``on_attempt`` (metrics).
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import BaseModel

from drs_pause_operator.drs.errors import (
    DrsAuthenticationError,
    DrsError,
    DrsInvalidProjectError,
    DrsProtocolError,
    DrsRequestError,
    DrsServerError,
    DrsThrottledError,
    DrsTLSError,
    DrsTransportError,
    ResponseTooLargeError,
    make_response_error,
    transport_error,
)
from drs_pause_operator.drs.models import error_fields
from drs_pause_operator.drs.outcomes import error_body
from drs_pause_operator.drs.parsing import load_json, parse_json
from drs_pause_operator.drs.redact import RedactingFilter
from drs_pause_operator.drs.retry import next_delay, parse_retry_after
from drs_pause_operator.drs.transport import DEFAULT_MAX_RESPONSE_BYTES

__all__ = ["FATAL_ERRORS", "LIST", "Answer", "Exchange", "OnAttempt", "Tried", "label"]

log = logging.getLogger(__name__)
log.addFilter(RedactingFilter())

#: on_attempt(endpoint name, HTTP status or 0, seconds, outcome label)
OnAttempt = Callable[[str, int, float, str], None]

#: The list call's name (metrics, logs); its path is the jobs collection itself.
LIST = "list"

#: Errors about the whole configuration: raised, never turned into per-job outcomes.
FATAL_ERRORS = (DrsAuthenticationError, DrsTLSError, DrsInvalidProjectError)


@dataclass(frozen=True)
class Answer:
    status: int
    request_id: str | None
    retry_after: float | None
    body: Any  # the parsed response model


@dataclass(frozen=True)
class Tried:
    """The end of an inline retry loop: an answer, or the last error with the pending delay."""

    answer: Answer | None
    error: DrsError | None
    attempts: int
    delay: float | None = None


def label(err: DrsError) -> str:
    """The outcome label of a failed attempt (metrics)."""
    for cls, name in (
        (DrsInvalidProjectError, "invalid_project"),
        (DrsAuthenticationError, "auth_error"),
        (DrsThrottledError, "throttled"),
        (DrsServerError, "server_error"),
        (DrsRequestError, "client_error"),
        (DrsTLSError, "tls_error"),
        (DrsProtocolError, "protocol_error"),
    ):
        if isinstance(err, cls):
            return name
    if isinstance(err, DrsTransportError):
        return "timeout" if err.phase else "transport_error"
    return "error"


class Exchange:
    """POSTs to ``{endpoint}/v3/{project_id}/jobs[/name]`` (see the module docstring)."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        endpoint: str,
        project_id: str,
        auth: httpx.Auth,
        *,
        language: str = "en-us",
        max_inline_retries: int = 2,
        max_inline_delay: float = 10.0,
        rng: random.Random | None = None,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        on_attempt: OnAttempt | None = None,
        max_concurrency: int = 4,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        backoff_base: float = 1.0,
        backoff_cap: float = 300.0,
    ) -> None:
        self._http = http
        self.endpoint = endpoint
        self._base_path = f"/v3/{quote(project_id, safe='')}/jobs"
        self._auth = auth
        self._language = language
        self._max_retries = max_inline_retries
        self._max_delay = max_inline_delay
        self._rng = rng or random.Random()
        self._sleep = sleep
        self._on_attempt = on_attempt
        self._slots = asyncio.Semaphore(max_concurrency)
        self._max_bytes = max_response_bytes
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap

    async def post_retrying(
        self, name: str, build: Callable[[], dict[str, Any]], model: type[BaseModel]
    ) -> Tried:
        """POST until an answer, a terminal error, or the inline retry budget is spent.
        Configuration errors are raised."""
        attempt = 0
        while True:
            attempt += 1
            try:
                return Tried(await self.post(name, build(), model), None, attempt)
            except FATAL_ERRORS:
                raise
            except DrsError as err:
                if not err.transient:
                    return Tried(None, err, attempt)
                delay = next_delay(
                    attempt,
                    err.retry_after,
                    base=self._backoff_base,
                    cap=self._backoff_cap,
                    rng=self._rng,
                )
                if attempt > self._max_retries or delay > self._max_delay:
                    return Tried(None, err, attempt, delay)
                log.debug("%s: %s; retry %d in %.2fs", name, err, attempt, delay)
                await self._sleep(delay)

    async def post(self, name: str, payload: dict[str, Any], model: type[BaseModel]) -> Answer:
        """One POST: the parsed answer, or the matching DrsError (raised)."""
        path = self._base_path if name == LIST else f"{self._base_path}/{name}"
        url = self.endpoint + path
        content = json.dumps(payload).encode("utf-8")
        headers = {"Content-Type": "application/json", "X-Language": self._language}
        status, outcome, request_id = 0, "error", None
        async with self._slots:
            started = time.monotonic()
            try:
                request = self._http.build_request("POST", url, content=content, headers=headers)
                response = await self._http.send(request, auth=self._auth, stream=True)
                status = response.status_code
                request_id = response.headers.get("X-Request-Id")
                try:
                    raw = await self._read_limited(response)
                finally:
                    await response.aclose()
                answer = _interpret(name, response, raw, model)
                outcome = "ok"
                return answer
            except DrsError as err:
                outcome = label(err)
                if isinstance(err, DrsProtocolError) and err.status_code is None and status:
                    err.status_code, err.request_id = status, request_id
                raise
            except httpx.HTTPError as err:
                mapped = transport_error(err, what=f"POST {name}", url=url)
                outcome = label(mapped)
                raise mapped from err
            finally:
                elapsed = time.monotonic() - started
                log.debug(
                    "POST %s -> %s %s request_id=%s in %.3fs",
                    path,
                    status or "-",
                    outcome,
                    request_id or "-",
                    elapsed,
                )
                self._record(name, status, elapsed, outcome)

    async def _read_limited(self, response: httpx.Response) -> bytes:
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > self._max_bytes:
                raise ResponseTooLargeError(
                    f"response from {response.url.path} exceeds {self._max_bytes} bytes",
                    status_code=response.status_code,
                    request_id=response.headers.get("X-Request-Id"),
                )
            chunks.append(chunk)
        return b"".join(chunks)

    def _record(self, name: str, status: int, elapsed: float, outcome: str) -> None:
        if self._on_attempt is None:
            return
        try:
            self._on_attempt(name, status, elapsed, outcome)
        except Exception:  # a metrics bug must not break a pause
            log.exception("on_attempt callback failed")


def _interpret(name: str, response: httpx.Response, raw: bytes, model: type[BaseModel]) -> Answer:
    """The parsed answer of a 2xx, or the matching error (raised)."""
    status = response.status_code
    request_id = response.headers.get("X-Request-Id")
    retry_after = _retry_after(response)
    what = f"{name} (HTTP {status})"
    if response.is_success:
        try:
            data = load_json(raw, what=what)
        except DrsProtocolError as err:
            raise DrsProtocolError(str(err), status_code=status, request_id=request_id) from err
        if not isinstance(data, dict):
            raise DrsProtocolError(
                f"{what}: expected a JSON object", status_code=status, request_id=request_id
            )
        code, message = error_fields(data)
        if code and not data.get("results"):
            # A 2xx that carries an error instead of results (e.g. 202 DRS.M01504).
            raise make_response_error(
                status,
                code,
                message,
                request_id=request_id,
                retry_after=retry_after,
                body=error_body(data),
                what=f"POST {name}",
            )
        body = parse_json(model, data, what=f"{name} response")
        return Answer(status, request_id, retry_after, body)
    try:
        data = json.loads(raw) if raw.strip() else None
    except ValueError:
        data = None
    code, message = error_fields(data)
    if message is None and raw.strip() and data is None:
        message = raw[:200].decode("utf-8", "replace").strip()  # e.g. a proxy's HTML page
    raise make_response_error(
        status,
        code,
        message,
        request_id=request_id,
        retry_after=retry_after,
        body=error_body(data),
        what=f"POST {name}",
    )


def _retry_after(response: httpx.Response) -> float | None:
    return parse_retry_after(response.headers.get("Retry-After"), datetime.now(UTC))
