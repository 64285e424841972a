"""The window controller's I/O (``engine.window_pass``): a fake Kubernetes, a clock that moves only
when told, and child DrsJobPause objects as plain dicts. The decisions of a pass
(``resource.window.plan``) are tested in tests/unit/resource/test_window.py."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from drs_pause_operator.engine.kube import ChildRejected, ObjectRef
from drs_pause_operator.engine.objects import WindowEntry
from drs_pause_operator.engine.startup import window_controller
from drs_pause_operator.engine.window_pass import ChildWatch, WindowReconciler

from .fakes import PROJECT, Clock

UTC = dt.UTC
CREATED = dt.datetime(2026, 5, 4, 9, 58, 30, tzinfo=UTC)
TEMPLATE = {"projectId": PROJECT, "jobs": [{"jobId": "a1b2c3d4-0000-0000-0000-000000000001",
                                            "pauseMode": "target"}]}


@dataclass
class FakeWindowKube:
    children: dict[str, dict[str, Any]] = field(default_factory=dict)
    statuses: list[dict[str, Any]] = field(default_factory=list)
    events: list[tuple[str, str, str]] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    lists: int = 0
    reject: str | None = None

    async def list_children(self, namespace: str, window: str) -> list[dict[str, Any]]:
        self.lists += 1
        return [dict(c) for c in self.children.values()]

    async def create_child(self, body: dict[str, Any]) -> bool:
        if self.reject:
            raise ChildRejected(self.reject)
        name = body["metadata"]["name"]
        if name in self.children:
            return False
        body = {**body, "metadata": {**body["metadata"], "uid": f"uid-{name}"}}
        self.children[name] = body
        self.created.append(name)
        return True

    async def delete_child(self, namespace: str, name: str, uid: str) -> None:
        self.children.pop(name, None)
        self.deleted.append(name)

    async def patch_status(self, ref: ObjectRef, status: dict[str, Any], plural: str = "") -> dict:
        assert plural == "drspausewindows"
        self.statuses.append(status)
        return {"metadata": {"resourceVersion": str(len(self.statuses) + 1)}, "status": status}

    async def post_event(self, ref: ObjectRef, type_: str, reason: str, message: str,
                         kind: str = "") -> None:
        assert kind == "DrsPauseWindow"
        self.events.append((type_, reason, message))

    def set_phase(self, name: str, phase: str) -> None:
        self.children[name] = {**self.children[name], "status": {"phase": phase}}

    def reasons(self) -> list[str]:
        return [e[1] for e in self.events]


def body(annotations: dict[str, str] | None = None, rv: str = "1", **spec: Any) -> dict:
    return {
        "metadata": {"namespace": "team-a", "name": "nightly", "uid": "w-uid", "generation": 1,
                     "resourceVersion": rv, "creationTimestamp": "2026-05-04T09:58:30Z",
                     "annotations": annotations or {}},
        "spec": {"schedule": "0 10 * * *", "duration": "2h", "template": TEMPLATE, **spec},
    }


def entry(**spec: Any) -> WindowEntry:
    return WindowEntry.of(body(**spec))


async def run(kube: FakeWindowKube, e: WindowEntry, clock: Clock) -> float | None:
    return (await WindowReconciler(kube, clock).reconcile(e)).wake_after


def ready(e: WindowEntry) -> dict[str, Any]:
    return {c["type"]: c for c in e.status["conditions"]}["Ready"]


async def test_a_child_the_api_server_refuses_stalls_the_window_without_a_start() -> None:
    kube, e = FakeWindowKube(reject="spec.jobs[0].jobId: Invalid value"), entry()
    clock = Clock(dt.datetime(2026, 5, 4, 10, 0, 1, tzinfo=UTC))
    await run(kube, e, clock)
    stalled = {c["type"]: c for c in e.status["conditions"]}["Stalled"]
    assert stalled["reason"] == "ChildRejected" and "jobId" in stalled["message"]
    assert "lastScheduleTime" not in e.status
    kube.reject = None  # the template was fixed: the same start happens, within its window
    clock.advance(60)
    await run(kube, e, clock)
    assert kube.created == ["nightly-29631480"] and "Recovered" in kube.reasons()


async def test_an_idle_window_costs_one_timer_and_child_events_wake_only_their_window() -> None:
    kube = FakeWindowKube()
    controller = window_controller(kube, Clock(CREATED + dt.timedelta(seconds=5)))
    children = ChildWatch(controller.nudge)
    body = {
        "metadata": {"namespace": "team-a", "name": "nightly", "uid": "w-uid", "generation": 1,
                     "resourceVersion": "1", "creationTimestamp": "2026-05-04T09:58:30Z"},
        "spec": {"schedule": "0 10 * * *", "duration": "2h", "template": TEMPLATE},
    }
    controller.observe("ADDED", body)
    await controller._process("w-uid")
    assert controller.queue.delayed == 1 and kube.lists == 1
    # A DrsJobPause no window owns, and a child's status write that keeps its phase: nothing.
    children.observe("MODIFIED", {"metadata": {"uid": "x"}, "status": {"phase": "Paused"}})
    owned = {"metadata": {"uid": "c1", "ownerReferences": [
        {"kind": "DrsPauseWindow", "uid": "w-uid", "controller": True}]},
        "status": {"phase": "Paused"}}
    children.observe("MODIFIED", owned)
    assert len(controller.queue) == 1
    controller.queue._queued.clear()
    children.observe("MODIFIED", owned)
    assert len(controller.queue) == 0
    children.observe("MODIFIED", {**owned, "status": {"phase": "Resumed"}})
    assert len(controller.queue) == 1
    controller.queue.shutdown()


async def test_the_skip_next_annotation_reaches_the_pass_and_its_event_is_posted() -> None:
    kube = FakeWindowKube()
    clock = Clock(dt.datetime(2026, 5, 4, 9, 59, tzinfo=UTC))
    controller = window_controller(kube, clock)
    controller.observe("ADDED", body())
    await controller._process("w-uid")
    assert kube.statuses[-1]["nextScheduleTime"] == "2026-05-04T10:00:00Z"
    # Setting the annotation changes the resourceVersion: the window gets a pass at once.
    controller.queue._queued.clear()
    annotated = body({"drs.cloudops.dev/skip-next": "t1"}, rv="7")
    controller.observe("MODIFIED", {**annotated, "status": kube.statuses[-1]})
    assert len(controller.queue) == 1
    e = controller.cache["w-uid"]
    assert e.meta.skip_next == "t1"
    await controller._process("w-uid")
    assert kube.statuses[-1]["nextScheduleTime"] == "2026-05-05T10:00:00Z"
    clock.now = dt.datetime(2026, 5, 4, 10, 0, 1, tzinfo=UTC)
    await controller._process("w-uid")
    assert kube.created == []
    assert kube.events[-1][:2] == ("Normal", "WindowSkipped") and "SkipNext" in kube.events[-1][2]
    assert e.status["skipNextToken"] == "t1"
    assert e.status["skippedStarts"] == [{"time": "2026-05-04T10:00:00Z", "reason": "SkipNext"}]
    controller.queue.shutdown()
