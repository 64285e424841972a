"""The per-object metrics around a pass: every way a pass ends tallies the object as its status
reads, an object deleted during its pass leaves no series behind, and a process that stops
reconciling (lost leadership) reports no object."""

from __future__ import annotations

import asyncio
from typing import Any

from drs_pause_operator.app.metrics import Metrics
from drs_pause_operator.engine.controller import Controller
from drs_pause_operator.engine.reconciler import PassResult

from ..operator.values import NOW
from .fakes import SETTINGS, Clock, FakeKube, ScriptedGateway, make_object, make_reconciler

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

    def __init__(self, ctl: Controller, status: dict[str, Any], during=None) -> None:
        self.ctl, self.status, self.during = ctl, status, during

    async def reconcile(self, entry) -> PassResult:
        if self.during is not None:
            self.during()
        self.ctl.tally.set(entry.ref, self.status)
        return PassResult(wake_after=None)

    def forget(self, uid: str) -> None:
        pass


def controller() -> tuple[Controller, Metrics]:
    metrics = Metrics()
    ctl = Controller(SETTINGS, FakeKube(), gateway=None, metrics=metrics)  # type: ignore[arg-type]
    ctl.observe("ADDED", BODY)
    return ctl, metrics


async def test_a_pass_sets_the_series_and_the_deletion_removes_them() -> None:
    ctl, m = controller()
    ctl.reconciler = TallyingReconciler(ctl, PAUSED)  # type: ignore[assignment]
    await ctl._process("uid-1")
    assert _per_object(m) == [
        "drs_pause_paused_since_timestamp_seconds", "drs_pause_task_delay_seconds"
    ]
    ctl.observe("DELETED", BODY)
    assert _per_object(m) == []
    ctl.queue.shutdown()


async def test_an_object_deleted_during_its_pass_leaves_no_series() -> None:
    ctl, m = controller()
    ctl.reconciler = TallyingReconciler(  # type: ignore[assignment]
        ctl, PAUSED, during=lambda: ctl.observe("DELETED", BODY)
    )
    await ctl._process("uid-1")
    assert _per_object(m) == []
    assert m.registry.get_sample_value("drs_pause_objects", {"phase": "Paused"}) == 0
    ctl.queue.shutdown()


async def test_stopping_the_workers_forgets_every_object() -> None:
    ctl, m = controller()
    ctl.reconciler = TallyingReconciler(ctl, PAUSED)  # type: ignore[assignment]
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
