"""The operator's single door to DRS: request coalescing, rate limiting, client reuse.

Jobs that many objects want paused at about the same time, on the same endpoint, project,
credentials and language, go out as one batch-pause request (up to the batch size) gathered
within a short window; each object gets back exactly its own jobs' outcomes. The same holds for
batch-status lookups. A request DRS rejects as a whole because of one bad job is split by the
client until every job has its own answer, so one object's bad job never fails another's.

Every HTTP request to a key (endpoint + credentials) first takes a token from that key's bucket;
a 429 or DRS.M01503 answer slows the whole key down (halves its rate, recovering gradually).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from dataclasses import dataclass

import httpx

from .credentials import Credentials, Target
from .drs.auth import AkSkAuth, IamPasswordAuth, TokenAuth, TokenCache
from .drs.client import DrsClient, PauseOutcome
from .drs.models import JobStatus, PauseInfo
from .metrics import Metrics
from .settings import Settings

log = logging.getLogger(__name__)

THROTTLE_CODES = frozenset({"DRS.M01503", "APIGW.0308", "APIG.0308"})


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
        # Recover 10% of the configured rate per second without throttling.
        self.rate = min(self.max_rate, self.rate + elapsed * self.max_rate * 0.1)

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
                self.bucket.throttled()
            try:
                outgoing = await flow.asend(response)
            except StopAsyncIteration:
                return

    def __repr__(self) -> str:
        return f"RateLimitedAuth({self.inner!r})"


@dataclass(frozen=True)
class Key:
    endpoint: str
    project_id: str
    fingerprint: str
    language: str


class _Batcher:
    """Gathers items for one key during a short window, then sends them in one call."""

    def __init__(
        self,
        send: Callable[[list[str]], Awaitable[dict[str, object]]],
        window: float,
        limit: int,
    ) -> None:
        self._send = send
        self._window = window
        self._limit = limit
        self._pending: dict[str, asyncio.Future[object]] = {}
        self._timer: asyncio.TimerHandle | None = None

    def submit(self, ids: Sequence[str]) -> list[asyncio.Future[object]]:
        loop = asyncio.get_running_loop()
        futures = []
        for job_id in ids:
            # Two objects listing the same job share one entry: DRS rejects duplicates.
            fut = self._pending.get(job_id)
            if fut is None:
                fut = loop.create_future()
                self._pending[job_id] = fut
            futures.append(fut)
        if len(self._pending) >= self._limit:
            self._flush()
        elif self._timer is None:
            self._timer = loop.call_later(self._window, self._flush)
        return futures

    def _flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        batch, self._pending = self._pending, {}
        if batch:
            asyncio.get_running_loop().create_task(self._run(batch))

    async def _run(self, batch: dict[str, asyncio.Future[object]]) -> None:
        try:
            results = await self._send(list(batch))
        except Exception as err:  # whole-call failure: every waiter gets it
            for fut in batch.values():
                if not fut.done():
                    fut.set_exception(err)
            return
        for job_id, fut in batch.items():
            if not fut.done():
                fut.set_result(results.get(job_id))


class DrsGateway:
    """Owns the shared HTTP client, the IAM token cache, and one client per key."""

    def __init__(self, settings: Settings, metrics: Metrics, http: httpx.AsyncClient) -> None:
        self.settings = settings
        self.metrics = metrics
        self.http = http
        self.tokens = TokenCache()
        self._clients: dict[Key, DrsClient] = {}
        self._buckets: dict[tuple[str, str], TokenBucket] = {}
        self._pause: dict[Key, _Batcher] = {}
        self._status: dict[Key, _Batcher] = {}
        self._modes: dict[Key, dict[str, str]] = {}

    async def aclose(self) -> None:
        await self.http.aclose()

    def _key(self, target: Target, creds: Credentials, language: str) -> Key:
        return Key(target.endpoint, target.project_id, creds.fingerprint, language)

    def _bucket(self, endpoint: str, fingerprint: str) -> TokenBucket:
        bucket = self._buckets.get((endpoint, fingerprint))
        if bucket is None:
            bucket = TokenBucket(self.settings.rate_limit, self.settings.rate_burst)
            self._buckets[(endpoint, fingerprint)] = bucket
        return bucket

    def _auth(self, target: Target, creds: Credentials) -> httpx.Auth:
        v = creds.values
        if creds.kind == "aksk":
            return AkSkAuth(
                v["accessKey"],
                v["secretKey"],
                target.project_id,
                security_token=v.get("securityToken"),
            )
        if creds.kind == "password":
            return IamPasswordAuth(
                v.get("iamEndpoint") or target.iam_endpoint,
                v["username"],
                v["password"],
                v["domainName"],
                target.project_id,
                cache=self.tokens,
                http=self.http,
            )
        return TokenAuth(v["token"])

    def client(self, target: Target, creds: Credentials, language: str) -> DrsClient:
        key = self._key(target, creds, language)
        client = self._clients.get(key)
        if client is None:
            bucket = self._bucket(target.endpoint, creds.fingerprint)
            auth = RateLimitedAuth(
                self._auth(target, creds), bucket, on_wait=self.metrics.rate_limit_wait.observe
            )

            def on_attempt(name: str, status: int, seconds: float, label: str) -> None:
                self.metrics.drs_request(name, status, seconds, label)
                if label == "throttled" and status != 429:  # 429 was seen by the auth wrapper
                    bucket.throttled()

            client = DrsClient(
                self.http,
                target.endpoint,
                target.project_id,
                auth,
                language=language,
                batch_size=self.settings.batch_size,
                max_concurrency=self.settings.max_concurrency,
                on_attempt=on_attempt,
            )
            self._clients[key] = client
        return client

    async def pause(
        self, target: Target, creds: Credentials, language: str, jobs: Sequence[PauseInfo]
    ) -> dict[str, PauseOutcome]:
        key = self._key(target, creds, language)
        modes = self._modes.setdefault(key, {})
        for job in jobs:
            modes[job.job_id] = job.pause_mode
        batcher = self._pause.get(key)
        if batcher is None:
            client = self.client(target, creds, language)

            async def send(ids: list[str]) -> dict[str, object]:
                infos = [PauseInfo(job_id=i, pause_mode=modes.pop(i)) for i in ids]  # type: ignore[arg-type]
                outcomes = await client.pause(infos)
                if any((o.error_code or "") in THROTTLE_CODES for o in outcomes):
                    self._bucket(target.endpoint, creds.fingerprint).throttled()
                self.metrics.pause_batch(len(infos))
                return {o.job_id: o for o in outcomes}

            batcher = self._pause[key] = _Batcher(
                send, self.settings.coalesce_window, self.settings.batch_size
            )
        futures = batcher.submit([j.job_id for j in jobs])
        results = await asyncio.gather(*futures)
        return {j.job_id: r for j, r in zip(jobs, results, strict=True) if r is not None}  # type: ignore[misc]

    async def status(
        self, target: Target, creds: Credentials, language: str, ids: Sequence[str]
    ) -> dict[str, JobStatus]:
        key = self._key(target, creds, language)
        batcher = self._status.get(key)
        if batcher is None:
            client = self.client(target, creds, language)

            async def send(batch: list[str]) -> dict[str, object]:
                return dict(await client.batch_status(batch))

            # batch-status pages hold at most 100 ids; the client pages beyond that.
            batcher = self._status[key] = _Batcher(send, self.settings.coalesce_window, 100)
        results = await asyncio.gather(*batcher.submit(list(ids)))
        return {i: r for i, r in zip(ids, results, strict=True) if r is not None}  # type: ignore[misc]
