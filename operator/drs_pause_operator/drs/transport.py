"""The process-wide HTTP client under every DRS and IAM call: one connection pool, per-phase
timeouts plus an overall deadline, TLS verification, and a cap on response size.

:func:`make_http_client` builds it once per process; :class:`DrsClient` instances share it.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from drs_pause_operator import __version__
from drs_pause_operator.drs.errors import ResponseTooLargeError
from drs_pause_operator.drs.redact import RedactingFilter

__all__ = [
    "DEFAULT_MAX_RESPONSE_BYTES",
    "USER_AGENT",
    "LimitedTransport",
    "Timeouts",
    "make_http_client",
    "make_ssl_context",
]

log = logging.getLogger(__name__)
log.addFilter(RedactingFilter())

DEFAULT_MAX_RESPONSE_BYTES = 4 * 1024 * 1024
USER_AGENT = f"drs-pause-operator/{__version__}"


@dataclass(frozen=True)
class Timeouts:
    """Timeouts in seconds, one per phase of a request."""

    connect: float = 5.0  # TCP connect plus TLS handshake
    read: float = 30.0  # longest wait for the next bytes of the answer
    write: float = 10.0  # longest wait to send the next bytes of the request
    pool: float = 10.0  # longest wait for a free connection of the shared pool
    # Longest time for one whole request, from sending it to the last byte of the answer: the
    # per-phase timeouts alone let a server that drips a byte now and then hold a request for
    # ever. None = connect + write + read.
    total: float | None = None

    def as_httpx(self) -> httpx.Timeout:
        return httpx.Timeout(connect=self.connect, read=self.read, write=self.write, pool=self.pool)

    @property
    def deadline(self) -> float:
        return self.total if self.total is not None else self.connect + self.write + self.read


def make_ssl_context(*, ca_bundle: str | None = None, verify: bool = True) -> ssl.SSLContext:
    """TLS settings: the system trust store, or only ``ca_bundle`` when given.

    ``verify=False`` switches verification off (for experiments only; it logs a warning).
    Raises ValueError naming the file when the CA bundle cannot be loaded.
    """
    if not verify:
        log.warning("TLS certificate verification is switched off")
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    if ca_bundle:
        try:
            return ssl.create_default_context(cafile=ca_bundle)
        except (OSError, ssl.SSLError) as err:
            raise ValueError(f"cannot load CA bundle {ca_bundle!r}: {err}") from err
    context = ssl.create_default_context()
    paths = ssl.get_default_verify_paths()
    has_system_store = any(p and Path(p).exists() for p in (paths.cafile, paths.capath))
    if not has_system_store:  # slim images without ca-certificates: fall back to certifi
        try:
            import certifi

            context.load_verify_locations(cafile=certifi.where())
        except ImportError:
            pass
    return context


def _too_slow(request: httpx.Request, seconds: float | None) -> httpx.ReadTimeout:
    return httpx.ReadTimeout(
        f"no complete answer from {request.url} within {seconds:g}s", request=request
    )


class _LimitedStream(httpx.AsyncByteStream):
    def __init__(
        self,
        inner: httpx.AsyncByteStream,
        limit: int,
        url: httpx.URL,
        ends: float | None = None,
        request: httpx.Request | None = None,
        seconds: float | None = None,
    ) -> None:
        self._inner = inner
        self._limit = limit
        self._url = url
        self._ends = ends  # event loop time by which the whole answer must be in
        self._request = request
        self._seconds = seconds

    async def __aiter__(self) -> AsyncIterator[bytes]:
        seen = 0
        chunks = self._inner.__aiter__()
        while True:
            try:
                async with asyncio.timeout_at(self._ends):
                    chunk = await chunks.__anext__()
            except StopAsyncIteration:
                return
            except TimeoutError:
                assert self._request is not None
                raise _too_slow(self._request, self._seconds) from None
            seen += len(chunk)
            if seen > self._limit:
                raise ResponseTooLargeError(
                    f"response from {self._url} exceeds {self._limit} bytes; not read further"
                )
            yield chunk

    async def aclose(self) -> None:
        await self._inner.aclose()


class LimitedTransport(httpx.AsyncBaseTransport):
    """Refuses response bodies larger than ``limit`` bytes while they stream in, so neither the
    client nor an auth flow can be made to hold an oversized body in memory; and, with
    ``deadline``, answers that take longer than that many seconds in all (``httpx.ReadTimeout``).
    """

    def __init__(
        self, inner: httpx.AsyncBaseTransport, limit: int, deadline: float | None = None
    ) -> None:
        self._inner = inner
        self._limit = limit
        self._deadline = deadline

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        ends = None
        if self._deadline is not None:
            ends = asyncio.get_running_loop().time() + self._deadline
        try:
            async with asyncio.timeout_at(ends):
                response = await self._inner.handle_async_request(request)
        except TimeoutError:
            raise _too_slow(request, self._deadline) from None
        length = response.headers.get("Content-Length", "")
        if length.isdigit() and int(length) > self._limit:
            await response.aclose()
            raise ResponseTooLargeError(
                f"response from {request.url} announces {length} bytes, over the"
                f" {self._limit} byte limit",
                status_code=response.status_code,
                request_id=response.headers.get("X-Request-Id"),
            )
        if isinstance(response.stream, httpx.AsyncByteStream):
            response.stream = _LimitedStream(
                response.stream, self._limit, request.url, ends, request, self._deadline
            )
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


def make_http_client(
    *,
    ca_bundle: str | None = None,
    verify: bool = True,
    timeouts: Timeouts | None = None,
    max_connections: int = 10,
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    proxy: str | None = None,
) -> httpx.AsyncClient:
    """The process-wide HTTP client: one connection pool for DRS and IAM calls.

    The caller owns it (``await client.aclose()`` at shutdown). Environment proxies and
    certificate variables are ignored on purpose: pass ``proxy`` / ``ca_bundle`` explicitly.
    """
    if max_connections < 1:
        raise ValueError("max_connections must be at least 1")
    transport = httpx.AsyncHTTPTransport(
        verify=make_ssl_context(ca_bundle=ca_bundle, verify=verify),
        limits=httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=max_connections
        ),
        proxy=proxy,
        retries=0,  # retries are a policy decision made by DrsClient, never silently below it
    )
    timeouts = timeouts or Timeouts()
    return httpx.AsyncClient(
        transport=LimitedTransport(transport, max_response_bytes, timeouts.deadline),
        timeout=timeouts.as_httpx(),
        headers={"User-Agent": USER_AGENT},
        follow_redirects=False,
        trust_env=False,
    )
