"""A pause window's pass (``engine.windows``) driven directly: a fake Kubernetes, a clock that
moves only when told, and child DrsJobPause objects as plain dicts."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pytest

from drs_pause_operator.engine.windows import (
    ChildRejected,
    WindowController,
    WindowEntry,
    WindowReconciler,
)
from drs_pause_operator.resource.window import WindowMeta, child_name

from ..engine.fakes import PROJECT, Clock

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

    async def patch_window_status(self, meta: WindowMeta, status: dict[str, Any]) -> dict:
        self.statuses.append(status)
        return {"metadata": {"resourceVersion": str(len(self.statuses) + 1)}, "status": status}

    async def post_window_event(self, meta: WindowMeta, type_: str, reason: str,
                                message: str) -> None:
        self.events.append((type_, reason, message))

    def set_phase(self, name: str, phase: str) -> None:
        self.children[name] = {**self.children[name], "status": {"phase": phase}}

    def reasons(self) -> list[str]:
        return [e[1] for e in self.events]


def entry(**spec: Any) -> WindowEntry:
    body_spec = {"schedule": "0 10 * * *", "duration": "2h", "template": TEMPLATE, **spec}
    return WindowEntry.of({
        "metadata": {"namespace": "team-a", "name": "nightly", "uid": "w-uid", "generation": 1,
                     "resourceVersion": "1", "creationTimestamp": "2026-05-04T09:58:30Z"},
        "spec": body_spec,
    })


async def run(kube: FakeWindowKube, e: WindowEntry, clock: Clock) -> float | None:
    return await WindowReconciler(kube, clock).reconcile(e)


def ready(e: WindowEntry) -> dict[str, Any]:
    return {c["type"]: c for c in e.status["conditions"]}["Ready"]


async def test_an_idle_window_computes_its_next_start_and_creates_nothing() -> None:
    kube, e, clock = FakeWindowKube(), entry(), Clock(CREATED + dt.timedelta(seconds=5))
    wake = await run(kube, e, clock)
    assert kube.created == [] and e.status["nextScheduleTime"] == "2026-05-04T10:00:00Z"
    assert wake == pytest.approx(85.0)
    assert ready(e)["status"] == "True" and ready(e)["reason"] == "Scheduled"
    assert e.status["active"] == [] and "lastScheduleTime" not in e.status


async def test_at_its_start_a_window_creates_one_owned_child_that_resumes_at_its_end() -> None:
    kube, e = FakeWindowKube(), entry()
    clock = Clock(dt.datetime(2026, 5, 4, 10, 0, 1, tzinfo=UTC))
    wake = await run(kube, e, clock)
    name = child_name("nightly", dt.datetime(2026, 5, 4, 10, tzinfo=UTC))
    assert name == "nightly-29631480" and kube.created == [name]
    child = kube.children[name]
    assert child["kind"] == "DrsJobPause"
    assert child["spec"] == {**TEMPLATE, "resume": {"at": "2026-05-04T12:00:00Z",
                                                    "onDelete": True}}
    assert child["metadata"]["ownerReferences"] == [{
        "apiVersion": "drs.cloudops.dev/v1alpha1", "kind": "DrsPauseWindow", "name": "nightly",
        "uid": "w-uid", "controller": True, "blockOwnerDeletion": True}]
    assert child["metadata"]["labels"] == {"drs.cloudops.dev/window": "nightly"}
    assert e.status["active"] == [{"name": name}]
    assert e.status["lastScheduleTime"] == "2026-05-04T10:00:00Z"
    assert e.status["nextScheduleTime"] == "2026-05-05T10:00:00Z"
    assert kube.reasons() == ["WindowStarted"] and ready(e)["reason"] == "Active"
    assert wake == pytest.approx(24 * 3600 - 1)

    # The next pass (the watch event of the child, or of the status) creates nothing more.
    await run(kube, e, clock)
    assert kube.created == [name] and kube.reasons() == ["WindowStarted"]


async def test_a_child_created_before_a_lost_status_write_is_not_created_twice() -> None:
    kube, e = FakeWindowKube(), entry()
    clock = Clock(dt.datetime(2026, 5, 4, 10, 0, 1, tzinfo=UTC))
    await run(kube, e, clock)
    e.status = {}  # the status write was lost (crash after the create)
    await run(kube, e, clock)
    assert kube.created == ["nightly-29631480"]
    assert e.status["lastScheduleTime"] == "2026-05-04T10:00:00Z"


async def test_a_start_waits_for_the_previous_child_and_is_skipped_past_its_deadline() -> None:
    kube = FakeWindowKube()
    e = entry(schedule="0 * * * *", duration="90m", startingDeadlineSeconds=600)
    clock = Clock(dt.datetime(2026, 5, 4, 10, 0, 1, tzinfo=UTC))
    await run(kube, e, clock)
    first = kube.created[0]
    kube.set_phase(first, "Paused")
    clock.now = dt.datetime(2026, 5, 4, 11, 0, 1, tzinfo=UTC)
    wake = await run(kube, e, clock)
    assert kube.created == [first]
    assert ready(e)["reason"] == "WaitingForPrevious" and first in ready(e)["message"]
    assert kube.reasons() == ["WindowStarted", "WindowSkipped"]
    assert wake == pytest.approx(599)  # the held start's deadline
    await run(kube, e, clock)  # another pass: no second Event
    assert kube.reasons() == ["WindowStarted", "WindowSkipped"]

    clock.now = dt.datetime(2026, 5, 4, 11, 10, 1, tzinfo=UTC)
    await run(kube, e, clock)
    assert kube.created == [first] and ready(e)["reason"] == "Active"
    assert e.status["lastScheduleTime"] == "2026-05-04T10:00:00Z"


async def test_a_held_start_starts_late_when_the_previous_child_resumes_in_time() -> None:
    kube = FakeWindowKube()
    e = entry(schedule="0 * * * *", duration="90m", startingDeadlineSeconds=600)
    clock = Clock(dt.datetime(2026, 5, 4, 10, 0, 1, tzinfo=UTC))
    await run(kube, e, clock)
    clock.now = dt.datetime(2026, 5, 4, 11, 0, 1, tzinfo=UTC)
    await run(kube, e, clock)
    kube.set_phase(kube.created[0], "Resumed")
    clock.now = dt.datetime(2026, 5, 4, 11, 4, 0, tzinfo=UTC)
    await run(kube, e, clock)
    late = kube.created[1]
    assert late == child_name("nightly", dt.datetime(2026, 5, 4, 11, tzinfo=UTC))
    # Late, but to the same end: start + duration.
    assert kube.children[late]["spec"]["resume"]["at"] == "2026-05-04T12:30:00Z"
    assert e.status["lastRun"] == {"name": kube.created[0], "phase": "Resumed"}


async def test_history_limit_deletes_the_oldest_finished_children_first() -> None:
    kube = FakeWindowKube()
    e = entry(schedule="0 * * * *", duration="30m", historyLimit=1)
    clock = Clock(dt.datetime(2026, 5, 4, 10, 0, 1, tzinfo=UTC))
    for hour in (10, 11, 12, 13):
        clock.now = dt.datetime(2026, 5, 4, hour, 0, 1, tzinfo=UTC)
        await run(kube, e, clock)
        kube.set_phase(kube.created[-1], "Resumed" if hour != 12 else "PartiallyResumed")
    clock.now = dt.datetime(2026, 5, 4, 13, 40, tzinfo=UTC)
    await run(kube, e, clock)
    assert kube.deleted == kube.created[:3]
    assert list(kube.children) == [kube.created[3]]
    assert e.status["lastRun"] == {"name": kube.created[3], "phase": "Resumed"}


async def test_a_child_being_deleted_is_still_resuming() -> None:
    kube = FakeWindowKube()
    e = entry(schedule="0 * * * *", duration="30m", historyLimit=0)
    clock = Clock(dt.datetime(2026, 5, 4, 10, 0, 1, tzinfo=UTC))
    await run(kube, e, clock)
    first = kube.created[0]
    kube.children[first]["metadata"]["deletionTimestamp"] = "2026-05-04T10:20:00Z"
    kube.set_phase(first, "Resumed")
    clock.now = dt.datetime(2026, 5, 4, 11, 0, 1, tzinfo=UTC)
    await run(kube, e, clock)
    assert kube.created == [first] and ready(e)["reason"] == "WaitingForPrevious"


async def test_a_child_that_paused_nothing_finishes_at_its_end() -> None:
    kube = FakeWindowKube()
    e = entry(schedule="0 * * * *", duration="30m", historyLimit=0)
    clock = Clock(dt.datetime(2026, 5, 4, 10, 0, 1, tzinfo=UTC))
    await run(kube, e, clock)
    kube.set_phase(kube.created[0], "Failed")
    clock.now = dt.datetime(2026, 5, 4, 10, 5, tzinfo=UTC)
    wake = await run(kube, e, clock)
    assert wake == pytest.approx(25 * 60)  # its end, before the next start
    clock.now = dt.datetime(2026, 5, 4, 10, 30, tzinfo=UTC)
    await run(kube, e, clock)
    assert kube.deleted == kube.created and e.status["active"] == []
    assert e.status["lastRun"]["phase"] == "Failed"


async def test_suspended_windows_start_nothing_and_set_no_timer() -> None:
    kube, e = FakeWindowKube(), entry(suspend=True)
    wake = await run(kube, e, Clock(dt.datetime(2026, 5, 4, 10, 0, 1, tzinfo=UTC)))
    assert kube.created == [] and wake is None and "nextScheduleTime" not in e.status
    assert ready(e)["reason"] == "Suspended"


@pytest.mark.parametrize(
    ("spec", "reason"),
    [
        ({"schedule": "every night"}, "InvalidSchedule"),
        ({"timeZone": "Europe/Atlantis"}, "UnknownTimeZone"),
        ({"duration": "2d"}, "InvalidSpec"),
        ({"template": {**TEMPLATE, "resume": {"after": "1h"}}}, "InvalidSpec"),
        ({"template": {"projectId": PROJECT}}, "InvalidTemplate"),
    ],
)
async def test_a_window_that_cannot_work_is_stalled_and_says_why(
    spec: dict[str, Any], reason: str
) -> None:
    kube, e = FakeWindowKube(), entry(**spec)
    clock = Clock(dt.datetime(2026, 5, 4, 10, 0, 1, tzinfo=UTC))
    wake = await run(kube, e, clock)
    assert kube.created == [] and wake is None
    conditions = {c["type"]: c for c in e.status["conditions"]}
    assert conditions["Stalled"]["status"] == "True" and conditions["Stalled"]["reason"] == reason
    assert conditions["Ready"]["status"] == "False"
    assert kube.reasons() == [reason]
    await run(kube, e, clock)
    assert kube.reasons() == [reason]  # one Event per problem, not per pass


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


async def test_berlin_spring_forward_start_in_the_gap_happens_once() -> None:
    kube = FakeWindowKube()
    e = entry(schedule="30 2 * * *", timeZone="Europe/Berlin", duration="1h")
    e.meta = WindowMeta("team-a", "nightly", "w-uid", 1, dt.datetime(2026, 3, 28, tzinfo=UTC))
    clock = Clock(dt.datetime(2026, 3, 29, 0, 59, tzinfo=UTC))  # 01:59 CET
    wake = await run(kube, e, clock)
    assert e.status["nextScheduleTime"] == "2026-03-29T01:00:00Z"  # 03:00 CEST
    assert wake == pytest.approx(60)
    clock.now = dt.datetime(2026, 3, 29, 1, 0, 1, tzinfo=UTC)
    await run(kube, e, clock)
    assert kube.created == [child_name("nightly", dt.datetime(2026, 3, 29, 1, tzinfo=UTC))]
    assert "+02:00" in kube.events[0][2]  # the message speaks local time
    assert e.status["nextScheduleTime"] == "2026-03-30T00:30:00Z"


async def test_berlin_fall_back_repeated_hour_starts_once() -> None:
    kube = FakeWindowKube()
    e = entry(schedule="30 2 * * *", timeZone="Europe/Berlin", duration="30m", historyLimit=5)
    e.meta = WindowMeta("team-a", "nightly", "w-uid", 1, dt.datetime(2026, 10, 24, tzinfo=UTC))
    clock = Clock(dt.datetime(2026, 10, 25, 0, 30, 1, tzinfo=UTC))  # 02:30 CEST
    await run(kube, e, clock)
    kube.set_phase(kube.created[0], "Resumed")
    clock.now = dt.datetime(2026, 10, 25, 1, 30, 1, tzinfo=UTC)  # 02:30 CET, the second time
    await run(kube, e, clock)
    assert len(kube.created) == 1
    assert e.status["nextScheduleTime"] == "2026-10-26T01:30:00Z"


async def test_an_idle_window_costs_one_timer_and_child_events_wake_only_their_window() -> None:
    kube = FakeWindowKube()
    controller = WindowController(kube, Clock(CREATED + dt.timedelta(seconds=5)))
    body = {
        "metadata": {"namespace": "team-a", "name": "nightly", "uid": "w-uid", "generation": 1,
                     "resourceVersion": "1", "creationTimestamp": "2026-05-04T09:58:30Z"},
        "spec": {"schedule": "0 10 * * *", "duration": "2h", "template": TEMPLATE},
    }
    controller.observe("ADDED", body)
    await controller._process("w-uid")
    assert controller.queue.delayed == 1 and kube.lists == 1
    # A DrsJobPause no window owns, and a child's status write that keeps its phase: nothing.
    controller.observe_child("MODIFIED", {"metadata": {"uid": "x"}, "status": {"phase": "Paused"}})
    owned = {"metadata": {"uid": "c1", "ownerReferences": [
        {"kind": "DrsPauseWindow", "uid": "w-uid", "controller": True}]},
        "status": {"phase": "Paused"}}
    controller.observe_child("MODIFIED", owned)
    assert len(controller.queue) == 1
    controller.queue._queued.clear()
    controller.observe_child("MODIFIED", owned)
    assert len(controller.queue) == 0
    controller.observe_child("MODIFIED", {**owned, "status": {"phase": "Resumed"}})
    assert len(controller.queue) == 1
    controller.queue.shutdown()
