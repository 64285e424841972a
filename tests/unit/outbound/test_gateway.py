"""The DRS gateway: the token bucket, request coalescing, and pause/status/progress routed per
caller (with fake clients, and over HTTP against the simulator)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest

from drs_pause_operator.app.metrics import Metrics
from drs_pause_operator.app.settings import Settings
from drs_pause_operator.dev.simulator.testing import running_simulator
from drs_pause_operator.drs.errors import DrsTransportError
from drs_pause_operator.drs.models import JobStatus, PauseInfo
from drs_pause_operator.drs.outcomes import PauseOutcome
from drs_pause_operator.drs.progress import JobProgress
from drs_pause_operator.drs.transport import Timeouts, make_http_client
from drs_pause_operator.outbound import ratelimit
from drs_pause_operator.outbound.gateway import DrsGateway, _Batcher
from drs_pause_operator.outbound.ratelimit import TokenBucket
from drs_pause_operator.resource.credentials import Credentials, SecretRef, Target

from ..values import J1, J2, J3, J4

_real_sleep = asyncio.sleep


class FakeTime:
    """A monotonic clock that only moves when the code under test sleeps (or the test says)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        # A real clock always moves on; a float sum may not (1000.1 + 1e-14 == 1000.1).
        self.now += max(seconds, 1e-9)
        await _real_sleep(0)


class _AsyncioWithSleep:
    def __init__(self, sleep: Any) -> None:
        self.sleep = sleep

    def __getattr__(self, name: str) -> Any:
        return getattr(asyncio, name)


@pytest.fixture
def fake_time(monkeypatch: pytest.MonkeyPatch) -> FakeTime:
    ft = FakeTime()
    monkeypatch.setattr(ratelimit, "asyncio", _AsyncioWithSleep(ft.sleep))
    return ft


# --- TokenBucket ----------------------------------------------------------------------------


async def test_burst_then_one_token_per_interval(fake_time: FakeTime) -> None:
    bucket = TokenBucket(rate=10, burst=3, clock=fake_time)
    assert [await bucket.acquire() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert fake_time.sleeps == []
    waited = [await bucket.acquire() for _ in range(3)]
    assert waited == pytest.approx([0.1, 0.1, 0.1])
    assert fake_time.now == pytest.approx(1000.3)


async def test_idle_time_refills_up_to_the_burst(fake_time: FakeTime) -> None:
    bucket = TokenBucket(rate=10, burst=4, clock=fake_time)
    for _ in range(4):
        await bucket.acquire()
    fake_time.now += 0.25  # 2.5 tokens
    assert [await bucket.acquire() for _ in range(2)] == [0.0, 0.0]
    assert await bucket.acquire() == pytest.approx(0.05)
    fake_time.now += 3600  # a long idle time never gives more than the burst
    assert [await bucket.acquire() for _ in range(4)] == [0.0] * 4
    assert await bucket.acquire() > 0


async def test_throttling_halves_the_rate_and_honours_retry_after(fake_time: FakeTime) -> None:
    bucket = TokenBucket(rate=10, burst=5, clock=fake_time)
    bucket.throttled(retry_after=2.0)
    assert bucket.rate == 5
    assert bucket.tokens <= 0
    waited = await bucket.acquire()
    assert waited >= 2.0  # nothing goes out before Retry-After
    assert fake_time.now >= 1002.0


async def test_throttling_without_retry_after_waits_one_interval(fake_time: FakeTime) -> None:
    bucket = TokenBucket(rate=8, burst=5, clock=fake_time)
    bucket.throttled()
    assert bucket.rate == 4
    assert await bucket.acquire() >= 0.25


def test_throttling_has_a_floor_and_recovers_gradually() -> None:
    clock = FakeTime()
    bucket = TokenBucket(rate=16, burst=5, clock=clock)
    for _ in range(20):
        bucket.throttled()
    assert bucket.rate == 1.0  # max_rate / 16, not zero
    clock.now += 2
    bucket._refill(clock())
    # ratelimit.RECOVERY (a share of the full rate) per second
    assert bucket.rate == pytest.approx(1.0 + 2 * 16 * ratelimit.RECOVERY)
    clock.now += 60
    bucket._refill(clock())
    assert bucket.rate == 16  # back to the configured rate, never above


async def test_ready_waits_for_a_token_without_taking_it(fake_time: FakeTime) -> None:
    bucket = TokenBucket(rate=10, burst=2, clock=fake_time)
    await bucket.ready()
    assert fake_time.sleeps == [] and bucket.tokens == 2
    bucket.throttled(retry_after=1.5)
    await bucket.ready()
    assert fake_time.now >= 1001.5
    tokens = bucket.tokens
    assert tokens >= 1
    assert await bucket.acquire() == 0.0  # ready() left the token for the call


def test_a_clock_going_backwards_does_not_add_tokens() -> None:
    clock = FakeTime()
    bucket = TokenBucket(rate=10, burst=2, clock=clock)
    bucket.tokens = 0.0
    clock.now -= 100
    bucket._refill(clock())
    assert bucket.tokens == 0.0


async def test_waiters_are_served_in_order(fake_time: FakeTime) -> None:
    bucket = TokenBucket(rate=10, burst=1, clock=fake_time)
    order: list[int] = []

    async def take(i: int) -> None:
        await bucket.acquire()
        order.append(i)

    await asyncio.gather(*(take(i) for i in range(5)))
    assert order == [0, 1, 2, 3, 4]
    assert fake_time.now == pytest.approx(1000.4)


async def test_acquire_really_waits_with_the_real_clock() -> None:
    bucket = TokenBucket(rate=50, burst=1)
    started = time.monotonic()
    for _ in range(4):
        await bucket.acquire()
    elapsed = time.monotonic() - started
    assert 0.05 <= elapsed < 1.0  # three waits of 20 ms


# --- _Batcher -------------------------------------------------------------------------------


class Sender:
    def __init__(self, fail: Exception | None = None, drop: set[str] | None = None) -> None:
        self.batches: list[list[str]] = []
        self.fail = fail
        self.drop = drop or set()

    async def __call__(self, ids: list[str]) -> dict[str, object]:
        self.batches.append(list(ids))
        await _real_sleep(0)
        if self.fail:
            raise self.fail
        return {i: f"result-{i}" for i in ids if i not in self.drop} | {"stranger": "x"}


async def test_submits_of_the_same_moment_go_out_as_one_call() -> None:
    send = Sender()
    batcher = _Batcher(send, window=5.0, limit=100)
    a = batcher.submit([J1, J2])
    b = batcher.submit([J3])
    assert await asyncio.gather(*a, *b) == [f"result-{J1}", f"result-{J2}", f"result-{J3}"]
    assert send.batches == [[J1, J2, J3]]
    # A later submit to an idle batcher is a new call, sent without waiting for company.
    started = time.monotonic()
    assert await asyncio.gather(*batcher.submit([J4])) == [f"result-{J4}"]
    assert time.monotonic() - started < 1.0  # well below the 5 s window
    assert send.batches == [[J1, J2, J3], [J4]]


async def test_submits_while_a_call_is_in_flight_gather_into_the_next_call() -> None:
    gate = asyncio.Event()
    batches: list[list[str]] = []

    async def send(ids: list[str]) -> dict[str, object]:
        batches.append(list(ids))
        if len(batches) == 1:
            await gate.wait()
        return {i: i for i in ids}

    batcher = _Batcher(send, window=5.0, limit=100)
    first = batcher.submit([J1])
    while not batches:
        await _real_sleep(0)
    later = batcher.submit([J2]) + batcher.submit([J3]) + batcher.submit([J2, J4])
    for _ in range(10):
        await _real_sleep(0)
    assert batches == [[J1]]  # still gathering behind the call in flight
    gate.set()
    assert await asyncio.wait_for(asyncio.gather(*first, *later), 1) == [J1, J2, J3, J2, J4]
    assert batches == [[J1], [J2, J3, J4]]


async def test_a_slow_call_holds_the_others_back_no_longer_than_the_window() -> None:
    gate = asyncio.Event()
    batches: list[list[str]] = []

    async def send(ids: list[str]) -> dict[str, object]:
        batches.append(list(ids))
        if len(batches) == 1:
            await gate.wait()
        return {i: i for i in ids}

    batcher = _Batcher(send, window=0.05, limit=100)
    first = batcher.submit([J1])
    while not batches:
        await _real_sleep(0)
    (second,) = batcher.submit([J2])
    assert await asyncio.wait_for(second, 1) == J2  # sent while the first is still out
    assert batches == [[J1], [J2]]
    gate.set()
    await asyncio.gather(*first)


async def test_reaching_the_limit_sends_full_calls_at_once() -> None:
    send = Sender()
    batcher = _Batcher(send, window=30.0, limit=3)
    first = batcher.submit([J1, J2])
    second = batcher.submit([J3, J4])
    results = await asyncio.wait_for(asyncio.gather(*first, *second), timeout=1)
    assert results == [f"result-{j}" for j in (J1, J2, J3, J4)]
    assert sorted(map(len, send.batches)) == [1, 3]  # never more than the limit per call
    assert sorted(j for b in send.batches for j in b) == sorted([J1, J2, J3, J4])
    assert send.batches[0] == [J1, J2, J3]  # oldest first


async def test_duplicate_ids_share_one_future_and_one_entry() -> None:
    send = Sender()
    batcher = _Batcher(send, window=0.01, limit=100)
    a = batcher.submit([J1, J2])
    b = batcher.submit([J2, J1])
    c = batcher.submit([J1, J1])
    assert a[0] is b[1] is c[0] is c[1]
    assert a[1] is b[0]
    await asyncio.gather(*a, *b, *c)
    assert send.batches == [[J1, J2]]


async def test_a_whole_call_failure_reaches_every_waiter() -> None:
    send = Sender(fail=RuntimeError("connection reset"))
    batcher = _Batcher(send, window=0.01, limit=100)
    futures = batcher.submit([J1]) + batcher.submit([J2, J3])
    results = await asyncio.gather(*futures, return_exceptions=True)
    assert all(isinstance(r, RuntimeError) and str(r) == "connection reset" for r in results)
    assert len(send.batches) == 1


async def test_missing_results_are_none_and_strangers_are_ignored() -> None:
    send = Sender(drop={J2})
    batcher = _Batcher(send, window=0.01, limit=100)
    assert await asyncio.gather(*batcher.submit([J1, J2])) == [f"result-{J1}", None]


async def test_a_waiter_that_gave_up_does_not_break_the_others() -> None:
    send = Sender()
    batcher = _Batcher(send, window=0.02, limit=100)
    (gone,) = batcher.submit([J1])
    (kept,) = batcher.submit([J2])
    gone.cancel()
    assert await kept == f"result-{J2}"
    assert send.batches == [[J1, J2]]


async def test_a_cancelled_call_fails_its_waiters_instead_of_leaving_them_waiting() -> None:
    entered = asyncio.Event()

    async def send(ids: list[str]) -> dict[str, object]:
        entered.set()
        await asyncio.Event().wait()
        return {}

    batcher = _Batcher(send, window=0.01, limit=100)
    futures = batcher.submit([J1, J2])
    await asyncio.wait_for(entered.wait(), 1)
    (call,) = batcher._calls
    call.cancel()
    results = await asyncio.wait_for(asyncio.gather(*futures, return_exceptions=True), 1)
    assert all(isinstance(r, DrsTransportError) and r.transient for r in results)


async def test_a_job_given_up_before_its_call_gets_a_new_future() -> None:
    send = Sender()
    batcher = _Batcher(send, window=0.05, limit=100)
    (gone,) = batcher.submit([J1])
    gone.cancel()
    (again,) = batcher.submit([J1])
    assert again is not gone
    assert await asyncio.wait_for(again, 1) == f"result-{J1}"
    assert send.batches == [[J1]]


# --- DrsGateway -----------------------------------------------------------------------------


class FakeClient:
    def __init__(self, fail: Exception | None = None) -> None:
        self.pauses: list[list[PauseInfo]] = []
        self.lookups: list[list[str]] = []
        self.progress_lookups: list[list[str]] = []
        self.fail = fail
        self.codes: dict[str, str] = {}

    async def pause(self, infos: list[PauseInfo]) -> list[PauseOutcome]:
        self.pauses.append(list(infos))
        await _real_sleep(0)
        if self.fail:
            raise self.fail
        out = []
        for info in infos:
            code = self.codes.get(info.job_id)
            if code == "missing":
                continue
            out.append(
                PauseOutcome(
                    job_id=info.job_id,
                    api_status="failed" if code else "success",
                    error_code=code,
                    request_id="rid",
                    attempts=1,
                    transient=code == "DRS.M01503",
                )
            )
        return out

    async def batch_status(self, ids: list[str]) -> dict[str, JobStatus]:
        self.lookups.append(list(ids))
        await _real_sleep(0)
        return {i: JobStatus(id=i, status="PAUSING") for i in ids if i != J4}

    async def progress(self, ids: list[str]) -> dict[str, JobProgress]:
        self.progress_lookups.append(list(ids))
        await _real_sleep(0)
        return {i: JobProgress(job_id=i, delay_seconds=7) for i in ids if i != J4}


def _target(endpoint: str = "https://drs.eu-de.otc.t-systems.com") -> Target:
    return Target(
        endpoint,
        "https://iam.eu-de.otc.t-systems.com",
        "p" * 32,
        SecretRef("ns", "s", default=True),
    )


def _creds(fp: str = "f" * 64) -> Credentials:
    return Credentials(kind="token", values={"token": "TOKEN-VALUE"}, fingerprint=fp)


@pytest.fixture
async def gw():
    metrics = Metrics()
    http = httpx.AsyncClient()
    g = DrsGateway(Settings(coalesce_window=0.01), metrics, http)
    clients: dict[str, FakeClient] = {}

    def client(target: Target, creds: Credentials, language: str) -> FakeClient:
        return clients.setdefault(creds.fingerprint, FakeClient())

    g.client = client  # type: ignore[method-assign]
    g.fakes = clients  # type: ignore[attr-defined]
    yield g
    await g.aclose()


def _infos(*pairs: tuple[str, str]) -> list[PauseInfo]:
    return [PauseInfo(job_id=j, pause_mode=m) for j, m in pairs]  # type: ignore[arg-type]


async def test_pauses_of_two_objects_share_one_request_and_get_their_own_answers(gw) -> None:
    t, c = _target(), _creds()
    a, b = await asyncio.gather(
        gw.pause(t, c, "en-us", _infos((J1, "target"), (J2, "all"))),
        gw.pause(t, c, "en-us", _infos((J2, "all"), (J3, "target"))),
    )
    (fake,) = gw.fakes.values()
    assert [(i.job_id, i.pause_mode) for i in fake.pauses[0]] == [
        (J1, "target"),
        (J2, "all"),
        (J3, "target"),
    ]
    assert len(fake.pauses) == 1
    assert set(a) == {J1, J2} and set(b) == {J2, J3}
    assert a[J2] is b[J2]
    assert all(o.succeeded for o in (*a.values(), *b.values()))
    hist = gw.metrics.registry
    assert hist.get_sample_value("drs_pause_batch_jobs_count") == 1
    assert hist.get_sample_value("drs_pause_batch_jobs_sum") == 3


async def test_a_caller_that_is_cancelled_leaves_a_shared_job_to_the_other(gw) -> None:
    t, c = _target(), _creds()
    first = asyncio.ensure_future(gw.pause(t, c, "en-us", _infos((J1, "target"))))
    second = asyncio.ensure_future(gw.pause(t, c, "en-us", _infos((J1, "target"))))
    await _real_sleep(0)
    first.cancel()  # e.g. its pass ended with the leadership
    answer = await asyncio.wait_for(second, 1)
    assert answer[J1].succeeded
    assert first.cancelled()


async def test_different_credentials_or_languages_are_never_mixed(gw) -> None:
    t = _target()
    await asyncio.gather(
        gw.pause(t, _creds("a" * 64), "en-us", _infos((J1, "target"))),
        gw.pause(t, _creds("b" * 64), "en-us", _infos((J2, "target"))),
    )
    assert {fp[0]: [[i.job_id for i in p] for p in f.pauses] for fp, f in gw.fakes.items()} == {
        "a": [[J1]],
        "b": [[J2]],
    }


async def test_missing_outcomes_are_left_out_and_one_bad_job_stays_its_own(gw) -> None:
    t, c = _target(), _creds()
    await gw.pause(t, c, "en-us", _infos((J1, "target")))  # creates the fake client
    fake = gw.fakes[c.fingerprint]
    fake.codes = {J2: "DRS.M05003", J3: "missing"}
    a, b = await asyncio.gather(
        gw.pause(t, c, "en-us", _infos((J1, "target"), (J2, "target"))),
        gw.pause(t, c, "en-us", _infos((J3, "all"))),
    )
    assert a[J1].succeeded and a[J2].error_code == "DRS.M05003"
    assert b == {}


async def test_throttling_codes_slow_the_key_down(gw) -> None:
    t, c = _target(), _creds()
    await gw.pause(t, c, "en-us", _infos((J1, "target")))
    bucket = gw._bucket(t.endpoint, c.fingerprint)
    assert bucket.rate == bucket.max_rate
    gw.fakes[c.fingerprint].codes = {J2: "DRS.M01503"}
    out = await gw.pause(t, c, "en-us", _infos((J2, "target")))
    assert out[J2].transient
    assert bucket.rate < bucket.max_rate * 0.6  # halved (then recovering slowly)


async def test_a_failed_pause_call_fails_every_caller(gw) -> None:
    t, c = _target(), _creds()
    gw.fakes[c.fingerprint] = FakeClient(fail=RuntimeError("down"))
    results = await asyncio.gather(
        gw.pause(t, c, "en-us", _infos((J1, "target"))),
        gw.pause(t, c, "en-us", _infos((J2, "target"))),
        return_exceptions=True,
    )
    assert [str(r) for r in results] == ["down", "down"]
    # Nothing is left behind: the next call sends only its own job.
    gw.fakes[c.fingerprint].fail = None
    assert set(await gw.pause(t, c, "en-us", _infos((J3, "all")))) == {J3}
    assert [i.job_id for i in gw.fakes[c.fingerprint].pauses[-1]] == [J3]


async def test_status_lookups_are_coalesced_and_routed(gw) -> None:
    t, c = _target(), _creds()
    a, b = await asyncio.gather(
        gw.status(t, c, "en-us", [J1, J2]),
        gw.status(t, c, "en-us", [J2, J4]),
    )
    (fake,) = gw.fakes.values()
    assert fake.lookups == [[J1, J2, J4]]
    assert set(a) == {J1, J2}
    assert set(b) == {J2}  # J4 unanswered: absent, not None
    assert a[J1].paused


async def test_progress_lookups_are_coalesced_and_routed(gw) -> None:
    t, c = _target(), _creds()
    a, b = await asyncio.gather(
        gw.progress(t, c, "en-us", [J1, J2]),
        gw.progress(t, c, "en-us", [J2, J4]),
    )
    (fake,) = gw.fakes.values()
    assert fake.progress_lookups == [[J1, J2, J4]]
    assert fake.lookups == []  # not a batch-status
    assert set(a) == {J1, J2} and set(b) == {J2}  # J4 unanswered: absent, not None
    assert a[J2] is b[J2] and a[J1].delay_seconds == 7


async def test_each_kind_of_call_has_its_own_batcher_per_key(gw) -> None:
    t = _target()
    await asyncio.gather(
        gw.status(t, _creds("a" * 64), "en-us", [J1]),
        gw.progress(t, _creds("a" * 64), "en-us", [J1]),
        gw.progress(t, _creds("a" * 64), "de-de", [J2]),
        gw.progress(t, _creds("b" * 64), "en-us", [J3]),
    )
    a, b = gw.fakes["a" * 64], gw.fakes["b" * 64]
    assert a.lookups == [[J1]]
    assert sorted(map(tuple, a.progress_lookups)) == sorted([(J1,), (J2,)])  # one per language
    assert b.progress_lookups == [[J3]]
    kinds = sorted(kind for kind, _ in gw._batchers)
    assert kinds == ["progress", "progress", "progress", "status"]


# --- DrsGateway over HTTP, against the simulator ----------------------------------------------

TOKEN = "t0k3n-gateway-tests"
PROJECT = "054ba152d480d55b2f5dc0069e7ddef0"


def _ids(n: int, prefix: str = "0") -> list[str]:
    return [f"{prefix * 8}-0000-0000-0000-{i:012d}" for i in range(n)]


@pytest.fixture
async def sim_gw():
    """A real gateway (token auth) on an in-process simulator: (simulator, gateway, target)."""
    async with running_simulator(tokens=[TOKEN], seed=3) as sim:
        http = make_http_client(timeouts=Timeouts(read=5, total=5), max_connections=4)
        gateway = DrsGateway(Settings(coalesce_window=0.2), Metrics(), http)
        target = Target(sim.url, sim.url, PROJECT, SecretRef("ns", "drs", default=True))
        try:
            yield sim, gateway, target
        finally:
            await gateway.aclose()


def _token_creds() -> Credentials:
    return Credentials(kind="token", values={"token": TOKEN}, fingerprint="c" * 64)


async def test_two_callers_progress_goes_out_as_one_request(sim_gw) -> None:
    sim, gateway, target = sim_gw
    mine, theirs = _ids(3, "1"), _ids(2, "2")
    sim.seed({"id": i, "delay_seconds": 40, "delay_catch_up_per_second": 0} for i in mine + theirs)
    a, b = await asyncio.gather(
        gateway.progress(target, _token_creds(), "en-us", [*mine, theirs[0]]),
        gateway.progress(target, _token_creds(), "en-us", theirs),
    )
    (call,) = sim.calls("progress")  # one HTTP request for both callers
    assert sorted(call["job_ids"]) == sorted(mine + theirs)  # the shared id sent once
    assert set(a) == {*mine, theirs[0]} and set(b) == set(theirs)
    assert {p.delay_seconds for p in (*a.values(), *b.values())} == {40}
    assert gateway.metrics.registry.get_sample_value(
        "drs_pause_requests_total",
        {"api": "batch-progress", "outcome": "ok", "http_status": "200"},
    ) == 1


async def test_progress_of_many_ids_is_split_at_100(sim_gw) -> None:
    sim, gateway, target = sim_gw
    first, second = _ids(80, "3"), _ids(70, "4")
    sim.seed({"id": i} for i in first + second)
    a, b = await asyncio.gather(
        gateway.progress(target, _token_creds(), "en-us", first),
        gateway.progress(target, _token_creds(), "en-us", second),
    )
    assert set(a) == set(first) and set(b) == set(second)
    sent = [c["job_ids"] for c in sim.calls("progress")]
    assert sorted(map(len, sent)) == [50, 100]
    assert sorted(j for batch in sent for j in batch) == sorted(first + second)


async def test_progress_takes_tokens_from_the_keys_bucket_and_slows_down_on_429(sim_gw) -> None:
    sim, gateway, target = sim_gw
    ids = _ids(2, "5")
    sim.seed({"id": i} for i in ids)
    creds = _token_creds()
    bucket = gateway._bucket(target.endpoint, creds.fingerprint)
    full = bucket.tokens
    await gateway.progress(target, creds, "en-us", ids[:1])
    assert bucket.tokens == pytest.approx(full - 1, abs=0.1)
    sim.add_fault(kind="rate_limit", endpoint="progress", retry_after=None)
    answer = await gateway.progress(target, creds, "en-us", ids)
    assert set(answer) == set(ids)  # retried inline after the 429
    assert bucket.rate < bucket.max_rate * 0.6  # halved (then recovering slowly)
    assert [c["status"] for c in sim.calls("progress")] == [200, 429, 200]
