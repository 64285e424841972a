"""The controller's scheduling around a pass: what keeps an object's next pass coming, and what
a dump (engine/dump.py) shows of the passes in progress."""

from __future__ import annotations

import asyncio
import os
import signal

import kopf
import pytest

from drs_pause_operator.engine import dump
from drs_pause_operator.engine.controller import Controller, RetryPolicy
from drs_pause_operator.engine.object_pass import PassResult
from drs_pause_operator.engine.objects import Entry

BODY = {
    "metadata": {"namespace": "team-a", "name": "nightly", "uid": "uid-1", "generation": 1,
                 "resourceVersion": "1"},
    "spec": {},
    "status": {},
}


class StubReconciler:
    """Stands in for the pass: each call runs the next scripted step."""

    def __init__(self, *steps) -> None:
        self.steps = list(steps)
        self.calls = 0

    async def reconcile(self, entry) -> PassResult:
        self.calls += 1
        return await self.steps.pop(0)()

    def forget(self, uid: str) -> None:
        pass


def controller(*steps) -> tuple[Controller[Entry], StubReconciler]:
    stub = StubReconciler(*steps)
    ctl = Controller(
        "DrsJobPause",
        Entry.of,
        stub.reconcile,
        workers=2,
        retry=RetryPolicy(error=60.0, kube_unavailable=lambda: 2.0, cancelled=3.0),
        forget=(stub.forget,),
    )
    ctl.observe("ADDED", BODY)
    return ctl, stub


async def test_a_cancellation_nobody_requested_keeps_the_worker_and_the_next_pass(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def leaked() -> PassResult:
        raise asyncio.CancelledError  # e.g. from a timeout deep in a library

    ctl, stub = controller(leaked)
    ctl.queue.add = lambda uid: None  # type: ignore[method-assign]  # only the timer matters
    await ctl._process("uid-1")  # returns: the worker that called it would live on
    assert stub.calls == 1
    assert ctl.queue.delayed == 1  # the next pass is scheduled
    assert "cancellation nobody requested" in caplog.text
    ctl.queue.shutdown()


async def test_stopping_the_workers_still_cancels_a_pass_in_progress() -> None:
    entered = asyncio.Event()

    async def slow() -> PassResult:
        entered.set()
        await asyncio.sleep(60)
        return PassResult(wake_after=None)

    ctl, stub = controller(slow)
    ctl.start()
    await asyncio.wait_for(entered.wait(), 5)
    assert ctl.describe()[1].startswith("  pass of team-a/nightly running for ")
    await asyncio.wait_for(ctl.stop(), 5)
    assert stub.calls == 1
    assert len(ctl.describe()) == 1  # no pass in progress any more
    assert ctl.queue.delayed == 0


async def test_describe_counts_workers_timers_and_passes() -> None:
    ctl, _ = controller()
    (line,) = ctl.describe()
    assert line.startswith(
        "controller DrsJobPause: 1 objects cached, 1 queued or in progress, 0 timers,"
    )
    assert "0/0 workers alive" in line


async def test_a_dump_shows_what_a_pass_in_progress_awaits(
    caplog: pytest.LogCaptureFixture,
) -> None:
    entered = asyncio.Event()

    async def waiting_for_drs() -> PassResult:
        entered.set()
        await asyncio.Event().wait()  # an answer that never comes
        return PassResult(wake_after=None)

    ctl, _ = controller(waiting_for_drs)
    ctl.start()
    await asyncio.wait_for(entered.wait(), 5)
    memo = kopf.Memo()
    memo.controller = ctl
    dump.install(memo)
    try:
        os.kill(os.getpid(), signal.SIGUSR1)
        for _ in range(100):
            if "dump on request" in caplog.text:
                break
            await asyncio.sleep(0.01)
    finally:
        dump.uninstall()
        await ctl.stop()
    text = caplog.text
    assert "pass of team-a/nightly running for" in text
    assert "in waiting_for_drs" in text  # the awaiting frame of the pass
    assert "thread MainThread:" in text
