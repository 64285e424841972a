"""The per-object metrics around a pass: every way a pass ends tallies the object as its status
reads, an object deleted during its pass leaves no series behind, and a process that stops
reconciling (lost leadership) reports no object."""

from __future__ import annotations

import asyncio
from typing import Any

from drs_pause_operator.app.metrics import Metrics, PhaseTally
from drs_pause_operator.engine.controller import Controller, RetryPolicy
from drs_pause_operator.engine.object_pass import PassResult
from drs_pause_operator.engine.objects import Entry

from ..values import NOW
from .fakes import Clock, FakeKube, ScriptedGateway, make_object, make_reconciler

BODY = {
    "metadata": {"namespace": "team-a", "name": "nightly", "uid": "uid-1", "generation": 1,
                 "resourceVersion": "1"},
    "spec": {},
    "status": {},
}
PAUSED = {
    "phase": "Paused",
    "pausedTime": "2026-11-28T10:00:00Z",
    "jobs": [{"jobId": "j1", "phase": "Paused", "delaySeconds": 5}],
}
KEY = {"namespace": "team-a", "name": "nightly"}


def _per_object(m: Metrics) -> list[str]:
    return sorted(
        s.name for f in m.registry.collect() for s in f.samples
        if s.labels.get("name") == "nightly"
    )


class TallyingReconciler:
    """Stands in for the pass: tallies the object as if its pass had written ``status``."""

    def __init__(self, tally: PhaseTally, status: dict[str, Any], during=None) -> None:
        self.tally, self.status, self.during = tally, status, during

    async def reconcile(self, entry: Entry) -> PassResult:
        if self.during is not None:
            self.during()
        self.tally.set(entry.ref, self.status)
        return PassResult(wake_after=None)


def controller(during=None) -> tuple[Controller[Entry], Metrics]:
    """The DrsJobPause controller as start-up wires its tally (forget, and clear on stop)."""
    metrics = Metrics()
    tally = PhaseTally(metrics)
    stub = TallyingReconciler(tally, PAUSED)
    ctl = Controller(
        "DrsJobPause",
        Entry.of,
        stub.reconcile,
        workers=2,
        retry=RetryPolicy(error=60.0, kube_unavailable=lambda: 2.0, cancelled=3.0),
        forget=(tally.forget,),
        on_stop=(tally.clear,),
    )
    if during is not None:
        stub.during = lambda: during(ctl)
    ctl.observe("ADDED", BODY)
    return ctl, metrics


async def test_a_pass_sets_the_series_and_the_deletion_removes_them() -> None:
    ctl, m = controller()
    await ctl._process("uid-1")
    assert _per_object(m) == [
        "drs_pause_paused_since_timestamp_seconds", "drs_pause_task_delay_seconds"
    ]
    ctl.observe("DELETED", BODY)
    assert _per_object(m) == []
    ctl.queue.shutdown()


async def test_an_object_deleted_during_its_pass_leaves_no_series() -> None:
    ctl, m = controller(during=lambda c: c.observe("DELETED", BODY))
    await ctl._process("uid-1")
    assert _per_object(m) == []
    assert m.registry.get_sample_value("drs_pause_objects", {"phase": "Paused"}) == 0
    ctl.queue.shutdown()


async def test_stopping_the_workers_forgets_every_object() -> None:
    ctl, m = controller()
    ctl.start()
    for _ in range(200):
        if _per_object(m):
            break
        await asyncio.sleep(0.01)
    assert _per_object(m)
    await asyncio.wait_for(ctl.stop(), 5)
    assert _per_object(m) == []
    assert m.registry.get_sample_value("drs_pause_objects", {"phase": "Paused"}) == 0


async def test_a_pass_that_ends_early_on_an_invalid_spec_still_tallies_the_object() -> None:
    """The stalled alert needs every Stalled object, also those whose pass stops before DRS."""
    kube = FakeKube()
    reconciler = make_reconciler(ScriptedGateway(), kube, clock=Clock(NOW))
    obj = make_object({"projectId": "p", "jobs": "not a list"})
    await reconciler.reconcile(obj)
    assert kube.statuses, "the pass wrote no status"
    r = reconciler.metrics.registry
    assert r.get_sample_value("drs_pause_stalled_objects", {"reason": "InvalidSpec"}) == 1
    assert r.get_sample_value("drs_pause_object_stalled", {**KEY, "reason": "InvalidSpec"}) == 1
