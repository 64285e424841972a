"""The outbound rate limit: one token bucket per DRS endpoint + credentials.

Every HTTP request (retries and splits included) waits for a token; a 429 or a throttling code
halves the key's rate, which then recovers gradually (AIMD).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import AsyncGenerator, Callable

import httpx

from drs_pause_operator.drs.retry import parse_retry_after

THROTTLE_CODES = frozenset({"DRS.M01503", "APIGW.0308", "APIG.0308"})
# Share of the configured rate regained per second without throttling (additive increase).
# Slow on purpose: after a 429 the rate is halved, and a quick climb back only runs into the
# service's limit again (bench, service at 5/s and operator at 10/s, 500 x 10 jobs: 429s were
# 5.4-6.5% of requests at 0.1/s, 4.6% at 0.05/s, 2.9% at 0.02/s, wall time unchanged).
RECOVERY = 0.02


class TokenBucket:
    """Token bucket with multiplicative slow-down on throttling and additive recovery (AIMD)."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic):
        self.max_rate = rate
        self.rate = rate
        self.burst = float(burst)
        self.tokens = float(burst)
        self._clock = clock
        self._stamp = clock()
        self._blocked_until = 0.0
        self._lock = asyncio.Lock()

    def _refill(self, now: float) -> None:
        elapsed = max(0.0, now - self._stamp)
        self._stamp = now
        self.tokens = min(self.burst, self.tokens + elapsed * self.rate)
        self.rate = min(self.max_rate, self.rate + elapsed * self.max_rate * RECOVERY)

    async def acquire(self) -> float:
        """Wait for a token; return the seconds waited (for the throttling metric)."""
        waited = 0.0
        async with self._lock:  # FIFO: waiters are served in order
            while True:
                now = self._clock()
                self._refill(now)
                delay = max(self._blocked_until - now, 0.0)
                if delay == 0.0 and self.tokens >= 1.0:
                    self.tokens -= 1.0
                    return waited
                if delay == 0.0:
                    delay = (1.0 - self.tokens) / self.rate
                await asyncio.sleep(delay)
                waited += delay

    async def ready(self) -> None:
        """Return once a token could be taken at once, without taking it (batchers use this
        to keep gathering jobs while the limiter would make their call wait anyway)."""
        while True:
            now = self._clock()
            self._refill(now)
            delay = max(self._blocked_until - now, 0.0)
            if delay == 0.0 and self.tokens >= 1.0 and not self._lock.locked():
                return
            if delay == 0.0:  # no token yet, or another caller is about to take it
                delay = max((1.0 - self.tokens) / self.rate, 0.005)
            await asyncio.sleep(delay)

    def throttled(self, retry_after: float | None = None) -> None:
        now = self._clock()
        self._refill(now)
        self.rate = max(self.max_rate / 16, self.rate / 2)
        self.tokens = min(self.tokens, 0.0)
        self._blocked_until = max(
            self._blocked_until, now + max(retry_after or 0.0, 1.0 / self.rate)
        )


class RateLimitedAuth(httpx.Auth):
    """Wraps the real auth: every request (retries and splits included) waits for a token."""

    def __init__(self, inner: httpx.Auth, bucket: TokenBucket, on_wait: Callable[[float], None]):
        self.inner = inner
        self.bucket = bucket
        self._on_wait = on_wait

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        flow = self.inner.async_auth_flow(request)
        outgoing = await flow.__anext__()
        while True:
            waited = await self.bucket.acquire()
            if waited:
                self._on_wait(waited)
            response = yield outgoing
            if response.status_code == 429:
                # Nothing more leaves for this key before Retry-After: the calls queued behind
                # this one would only collect 429s of their own.
                self.bucket.throttled(
                    parse_retry_after(response.headers.get("Retry-After"), dt.datetime.now(dt.UTC))
                )
            try:
                outgoing = await flow.asend(response)
            except StopAsyncIteration:
                return

    def __repr__(self) -> str:
        return f"RateLimitedAuth({self.inner!r})"
