"""The keyed work queue: dedup, one worker per key, re-adds while processing, delayed adds."""

from __future__ import annotations

import asyncio
from collections.abc import Hashable

import pytest

from drs_pause_operator.engine.workqueue import WorkQueue


class Recorder:
    """A process() that records keys and can hold a key until released."""

    def __init__(self) -> None:
        self.seen: list[Hashable] = []
        self.active: set[Hashable] = set()
        self.max_parallel_same_key = 0
        self.gates: dict[Hashable, asyncio.Event] = {}
        self.started: dict[Hashable, asyncio.Event] = {}

    def hold(self, key: Hashable) -> None:
        self.gates[key] = asyncio.Event()
        self.started[key] = asyncio.Event()

    async def __call__(self, key: Hashable) -> None:
        if key in self.active:
            self.max_parallel_same_key = 2
        self.active.add(key)
        self.seen.append(key)
        try:
            if key in self.started:
                self.started[key].set()
            gate = self.gates.get(key)
            if gate is not None:
                await gate.wait()
                del self.gates[key]
            await asyncio.sleep(0)
        finally:
            self.active.discard(key)


async def _settle(rounds: int = 20) -> None:
    for _ in range(rounds):
        await asyncio.sleep(0)


@pytest.fixture
async def queue():
    q = WorkQueue()
    tasks: list[asyncio.Task[None]] = []
    yield q, tasks
    q.shutdown()
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def _start(q: WorkQueue, tasks: list, process, workers: int = 4) -> None:
    tasks.extend(asyncio.create_task(q.worker(process)) for _ in range(workers))


async def test_adding_a_queued_key_again_is_a_no_op(queue) -> None:
    q, tasks = queue
    for key in ("a", "b", "a", "a", "b", "c"):
        q.add(key)
    assert len(q) == 3
    rec = Recorder()
    _start(q, tasks, rec)
    await _settle()
    assert sorted(rec.seen) == ["a", "b", "c"]
    assert len(q) == 0


async def test_a_key_is_never_processed_concurrently_and_a_re_add_runs_once_more(queue) -> None:
    q, tasks = queue
    rec = Recorder()
    rec.hold("a")
    _start(q, tasks, rec, workers=4)
    q.add("a")
    await rec.started["a"].wait()
    for _ in range(5):  # many events while it runs: one more pass, not five
        q.add("a")
    await _settle()
    assert rec.seen == ["a"]  # idle workers did not pick up the dirty key
    assert len(q) == 1
    rec.gates["a"].set()
    await _settle()
    assert rec.seen == ["a", "a"]
    assert rec.max_parallel_same_key == 0
    assert len(q) == 0


async def test_other_keys_proceed_while_one_is_busy(queue) -> None:
    q, tasks = queue
    rec = Recorder()
    rec.hold("slow")
    _start(q, tasks, rec, workers=2)
    q.add("slow")
    await rec.started["slow"].wait()
    for key in ("x", "y", "z"):
        q.add(key)
    await _settle()
    assert rec.seen == ["slow", "x", "y", "z"]
    rec.gates["slow"].set()
    await _settle()


async def test_a_failing_process_does_not_lose_a_re_add(queue) -> None:
    q, tasks = queue
    calls: list[str] = []
    started = asyncio.Event()
    go = asyncio.Event()

    async def process(key: Hashable) -> None:
        calls.append(str(key))
        if len(calls) == 1:
            started.set()
            await go.wait()
            raise RuntimeError("boom")

    # The worker propagates the error (the controller catches its own); a fresh worker
    # still gets the re-added key.
    task = asyncio.create_task(q.worker(process))
    q.add("k")
    await started.wait()
    q.add("k")
    go.set()
    with pytest.raises(RuntimeError):
        await task
    _start(q, tasks, process, workers=1)
    await _settle()
    assert calls == ["k", "k"]


async def test_add_after_fires_later_and_keeps_the_earliest_time(queue) -> None:
    q, tasks = queue
    rec = Recorder()
    _start(q, tasks, rec, workers=1)
    q.add_after("a", 0.15)
    q.add_after("a", 5.0)  # later: ignored
    q.add_after("a", 0.05)  # earlier: replaces
    assert q.delayed == 1
    await asyncio.sleep(0.02)
    assert rec.seen == []
    await asyncio.sleep(0.07)
    await _settle()
    assert rec.seen == ["a"]
    assert q.delayed == 0
    await asyncio.sleep(0.1)  # the replaced 0.15 s timer does not fire again
    await _settle()
    assert rec.seen == ["a"]


@pytest.mark.parametrize("delay", [0, -1])
async def test_add_after_without_delay_is_add(queue, delay: float) -> None:
    q, _ = queue
    q.add_after("a", delay)
    assert len(q) == 1 and q.delayed == 0


async def test_forget_cancels_the_timer_and_a_pending_re_add(queue) -> None:
    q, tasks = queue
    rec = Recorder()
    _start(q, tasks, rec, workers=1)
    q.add_after("gone", 0.03)
    q.add_after("kept", 0.03)
    q.forget("gone")
    q.forget("never-seen")  # harmless
    assert q.delayed == 1
    await asyncio.sleep(0.08)
    await _settle()
    assert rec.seen == ["kept"]
    # Forgotten while being processed: no second pass.
    rec.hold("busy")
    q.add("busy")
    await rec.started["busy"].wait()
    q.add("busy")
    q.forget("busy")
    rec.gates["busy"].set()
    await _settle()
    assert rec.seen == ["kept", "busy"]


async def test_shutdown_cancels_every_timer(queue) -> None:
    q, tasks = queue
    rec = Recorder()
    _start(q, tasks, rec, workers=1)
    for key in "abc":
        q.add_after(key, 0.03)
    q.shutdown()
    assert q.delayed == 0
    await asyncio.sleep(0.06)
    assert rec.seen == []
