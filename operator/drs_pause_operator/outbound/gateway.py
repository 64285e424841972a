"""The operator's single door to DRS: request coalescing, rate limiting, client reuse.

Jobs that many objects want paused at about the same time, on the same endpoint, project,
credentials and language, go out as one batch-pause request (up to the batch size); each object
gets back exactly its own jobs' outcomes. The same holds for resumes and for the lookups by id
(batch-status, batch-progress). Batching is
adaptive, not timed: an idle key sends at once (a lone object waits for nobody), while a busy
key (a call of the same kind in flight, or the rate limiter making calls wait) lets later jobs
gather into the next call instead of queueing up as calls of their own. A request DRS rejects
as a whole because of one bad job is split by the client until every job has its own answer, so
one object's bad job never fails another's.

Every HTTP request to a key (endpoint + credentials) first takes a token from that key's bucket
(``ratelimit.py``); a 429 or DRS.M01503 answer slows the whole key down.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

import httpx

from drs_pause_operator.app.metrics import Metrics
from drs_pause_operator.app.settings import Settings
from drs_pause_operator.drs.auth import TokenCache, auth_for
from drs_pause_operator.drs.client import DrsClient
from drs_pause_operator.drs.errors import DrsTransportError
from drs_pause_operator.drs.lookups import PROGRESS_BATCH
from drs_pause_operator.drs.models import JobInfo, JobStatus, ListJobsRequest, PauseInfo, PauseMode
from drs_pause_operator.drs.outcomes import PauseOutcome
from drs_pause_operator.drs.progress import JobProgress
from drs_pause_operator.outbound.ratelimit import THROTTLE_CODES, RateLimitedAuth, TokenBucket
from drs_pause_operator.resource.credentials import Credentials, Target

log = logging.getLogger(__name__)

#: The coalesced calls: pause and resume (batch-pause-task, batch-retry-task) and the lookups
#: by id (batch-status, batch-progress).
Kind = Literal["pause", "resume", "status", "progress"]
#: Kinds whose partial batches wait for announced callers (see DrsGateway.announce).
ANNOUNCED_KINDS: frozenset[Kind] = frozenset({"pause", "resume"})
#: Ids per lookup call: batch-status pages hold at most 100 (the client pages beyond that), and
#: batch-progress goes out 100 at a time.
LOOKUP_BATCH = PROGRESS_BATCH
A = TypeVar("A")
#: One batcher's call: ids in, answers (of type A) by id out.
Send = Callable[[list[str]], Awaitable[Mapping[str, A]]]


@dataclass(frozen=True)
class Key:
    endpoint: str
    project_id: str
    fingerprint: str
    language: str


class _Batcher(Generic[A]):
    """Gathers items for one key and sends them in as few calls as possible.

    A full batch (``limit`` items) goes at once. A partial batch goes as soon as the key is
    free: no call of this batcher in flight, no more items announced as on their way
    (``expecting``), and a token from the rate limiter (``ready``); until then later items
    join it. So an idle key adds no delay, and a busy one sends full calls. No item waits for
    company longer than ``window`` seconds (a slow call in flight must not hold the others
    back); the limiter's own wait comes on top, as it would for any call.
    """

    def __init__(
        self,
        send: Send[A],
        window: float,
        limit: int,
        ready: Callable[[], Awaitable[None]] | None = None,
        expecting: Callable[[], bool] | None = None,
    ) -> None:
        self._send = send
        self._window = window
        self._limit = limit
        self._ready = ready
        self._expecting = expecting
        self._pending: dict[str, asyncio.Future[A | None]] = {}
        self._oldest = 0.0  # loop time at which the oldest pending item arrived
        self._in_flight = 0
        self._changed = asyncio.Event()
        self._driver: asyncio.Task[None] | None = None
        self._calls: set[asyncio.Task[None]] = set()

    def submit(self, ids: Sequence[str]) -> list[asyncio.Future[A | None]]:
        loop = asyncio.get_running_loop()
        if not self._pending:
            self._oldest = loop.time()
        futures = []
        for job_id in ids:
            # Two objects listing the same job share one entry: DRS rejects duplicates.
            fut = self._pending.get(job_id)
            if fut is None or fut.done():  # done before its call: a waiter cancelled it
                fut = loop.create_future()
                self._pending[job_id] = fut
            futures.append(fut)
        while len(self._pending) >= self._limit:
            self._cut()
        if self._pending and self._driver is None:
            self._driver = loop.create_task(self._drive())
        self._changed.set()
        return futures

    def poke(self) -> None:
        """Something the batcher waits on changed (e.g. an announced item was withdrawn)."""
        self._changed.set()

    def _busy(self) -> bool:
        return self._in_flight > 0 or (self._expecting is not None and self._expecting())

    def _cut(self) -> None:
        """Send the oldest ``limit`` pending items as one call."""
        ids = list(self._pending)[: self._limit]
        batch = {job_id: self._pending.pop(job_id) for job_id in ids}
        self._oldest = asyncio.get_running_loop().time()
        self._in_flight += 1
        task = asyncio.get_running_loop().create_task(self._run(batch))
        self._calls.add(task)
        task.add_done_callback(self._calls.discard)

    async def _drive(self) -> None:
        """Send partial batches when the key is free (see the class docstring)."""
        loop = asyncio.get_running_loop()
        try:
            # Callers woken by one answer (e.g. every object of a pause call, now verifying)
            # submit within the next loop iterations: let them join before the first cut.
            for _ in range(3):
                await asyncio.sleep(0)
            while self._pending:
                deadline = self._oldest + self._window
                while self._pending and self._busy() and loop.time() < deadline:
                    self._changed.clear()
                    try:
                        await asyncio.wait_for(self._changed.wait(), deadline - loop.time())
                    except TimeoutError:
                        break
                if self._pending and self._ready is not None:
                    await self._ready()
                if self._pending:
                    self._cut()
                    await asyncio.sleep(0)  # the call takes its token before we look again
        finally:
            self._driver = None

    async def _run(self, batch: dict[str, asyncio.Future[A | None]]) -> None:
        try:
            results = await self._send(list(batch))
        except Exception as err:  # whole-call failure: every waiter gets it
            for fut in batch.values():
                if not fut.done():
                    fut.set_exception(err)
            return
        except BaseException:
            # Cancelled (e.g. the loop shutting down): the waiters must not wait for ever.
            for fut in batch.values():
                if not fut.done():
                    fut.set_exception(DrsTransportError("the call was cancelled"))
            raise
        finally:
            self._in_flight -= 1
            self._changed.set()
        for job_id, fut in batch.items():
            if not fut.done():
                fut.set_result(results.get(job_id))


async def _wait(futures: list[asyncio.Future[A | None]]) -> list[A | None]:
    """The results of a caller's futures. A caller that is cancelled stops waiting without
    cancelling them: another object listing the same job shares its future."""
    return list(await asyncio.gather(*(asyncio.shield(f) for f in futures)))


class DrsGateway:
    """Owns the shared HTTP client, the IAM token cache, one client per key, and one batcher
    per (kind of call, key)."""

    def __init__(self, settings: Settings, metrics: Metrics, http: httpx.AsyncClient) -> None:
        self.settings = settings
        self.metrics = metrics
        self.http = http
        self.tokens = TokenCache()
        self._clients: dict[Key, DrsClient] = {}
        self._buckets: dict[tuple[str, str], TokenBucket] = {}
        # A batcher's answers are of its kind's type (PauseOutcome for pause and resume,
        # JobStatus, JobProgress): one map for all kinds cannot say which.
        self._batchers: dict[tuple[Kind, Key], _Batcher[Any]] = {}
        self._modes: dict[Key, dict[str, PauseMode]] = {}
        self._announced: dict[Key, int] = {}

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

    def client(self, target: Target, creds: Credentials, language: str) -> DrsClient:
        key = self._key(target, creds, language)
        client = self._clients.get(key)
        if client is None:
            bucket = self._bucket(target.endpoint, creds.fingerprint)
            inner = auth_for(
                creds.kind,
                creds.values,
                target.project_id,
                iam_endpoint=target.iam_endpoint,
                cache=self.tokens,
                http=self.http,
            )
            auth = RateLimitedAuth(inner, bucket, on_wait=self.metrics.rate_limit_wait.observe)

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

    @contextlib.contextmanager
    def announce(self, target: Target, creds: Credentials, language: str) -> Iterator[None]:
        """A pause or resume for this key is on its way (its caller is writing the attempt down
        first): while the block runs, partial pause and resume batches of the key wait for it,
        up to the coalescing window, instead of leaving without it. Call :meth:`pause` or
        :meth:`resume` right after."""
        key = self._key(target, creds, language)
        self._announced[key] = self._announced.get(key, 0) + 1
        try:
            yield
        finally:
            left = self._announced[key] - 1
            if left:
                self._announced[key] = left
            else:
                del self._announced[key]
            for kind in ANNOUNCED_KINDS:
                batcher = self._batchers.get((kind, key))
                if batcher is not None:
                    batcher.poke()

    async def _submit(
        self,
        kind: Kind,
        target: Target,
        creds: Credentials,
        language: str,
        ids: list[str],
        sender: Callable[[DrsClient, Key], Send[A]],
        limit: int,
    ) -> dict[str, A]:
        """``ids`` through the key's batcher of ``kind`` (made on first use: calls of at most
        ``limit`` ids, built by ``sender`` for the key's client, each after a token of the key's
        bucket); the answers that came back, by id."""
        key = self._key(target, creds, language)
        batcher = self._batchers.get((kind, key))
        if batcher is None:
            batcher = self._batchers[(kind, key)] = _Batcher(
                sender(self.client(target, creds, language), key),
                self.settings.coalesce_window,
                limit,
                ready=self._bucket(key.endpoint, key.fingerprint).ready,
                expecting=(lambda: key in self._announced) if kind in ANNOUNCED_KINDS else None,
            )
        results = await _wait(batcher.submit(ids))
        return {i: r for i, r in zip(ids, results, strict=True) if r is not None}

    def _slow_down_if_asked(self, key: Key, outcomes: Sequence[PauseOutcome]) -> None:
        """A per-job throttling code (DRS.M01503) slows the whole key down."""
        if any((o.error_code or "") in THROTTLE_CODES for o in outcomes):
            self._bucket(key.endpoint, key.fingerprint).throttled()

    async def pause(
        self, target: Target, creds: Credentials, language: str, jobs: Sequence[PauseInfo]
    ) -> dict[str, PauseOutcome]:
        modes = self._modes.setdefault(self._key(target, creds, language), {})
        for job in jobs:
            modes[job.job_id] = job.pause_mode

        def sender(client: DrsClient, key: Key) -> Send[PauseOutcome]:
            async def send(ids: list[str]) -> dict[str, PauseOutcome]:
                infos = [PauseInfo(job_id=i, pause_mode=modes.pop(i)) for i in ids]
                outcomes = await client.pause(infos)
                self._slow_down_if_asked(key, outcomes)
                self.metrics.pause_batch(len(infos))
                return {o.job_id: o for o in outcomes}

            return send

        ids = [j.job_id for j in jobs]
        limit = self.settings.batch_size
        return await self._submit("pause", target, creds, language, ids, sender, limit)

    async def resume(
        self, target: Target, creds: Credentials, language: str, ids: Sequence[str]
    ) -> dict[str, PauseOutcome]:
        """Resume paused tasks (batch-retry-task with ``is_sync_re_edit: true``), coalesced,
        rate-limited, retried and split exactly like :meth:`pause`."""

        def sender(client: DrsClient, key: Key) -> Send[PauseOutcome]:
            async def send(batch: list[str]) -> dict[str, PauseOutcome]:
                outcomes = await client.resume(batch, is_sync_re_edit=True)
                self._slow_down_if_asked(key, outcomes)
                return {o.job_id: o for o in outcomes}

            return send

        limit = self.settings.batch_size
        return await self._submit("resume", target, creds, language, list(ids), sender, limit)

    async def status(
        self, target: Target, creds: Credentials, language: str, ids: Sequence[str]
    ) -> dict[str, JobStatus]:
        """Task states (batch-status), coalesced across callers, at most 100 ids a call."""

        def sender(client: DrsClient, key: Key) -> Send[JobStatus]:
            async def send(batch: list[str]) -> dict[str, JobStatus]:
                return dict(await client.batch_status(batch))

            return send

        return await self._submit(
            "status", target, creds, language, list(ids), sender, LOOKUP_BATCH
        )

    async def progress(
        self, target: Target, creds: Credentials, language: str, ids: Sequence[str]
    ) -> dict[str, JobProgress]:
        """Progress and replication delay (batch-progress), coalesced across callers, at most
        100 ids a call, rate-limited through the key's bucket: exactly like :meth:`status`.
        Ids the answer did not mention are absent."""

        def sender(client: DrsClient, key: Key) -> Send[JobProgress]:
            async def send(batch: list[str]) -> dict[str, JobProgress]:
                return dict(await client.progress(batch))

            return send

        return await self._submit(
            "progress", target, creds, language, list(ids), sender, LOOKUP_BATCH
        )

    async def list_jobs(
        self, target: Target, creds: Credentials, language: str, query: ListJobsRequest
    ) -> AsyncIterator[JobInfo]:
        """The project's tasks matching ``query``, page by page, through the key's client (its
        auth and rate limit); not coalesced: each caller's filters are its own."""
        async for job in self.client(target, creds, language).list_jobs(query):
            yield job
