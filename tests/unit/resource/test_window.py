"""A pause window's pass (``resource.window.plan``) driven directly through the harness. The
engine's own I/O is tested in tests/unit/engine/test_window_pass.py; exclusions and skip-next in
test_window_skips.py."""

from __future__ import annotations

from typing import Any

import pytest

from drs_pause_operator.resource.window import WindowMeta, child_name

from ..engine.fakes import PROJECT
from .harness import TEMPLATE, utc, window


def test_an_idle_window_computes_its_next_start_and_creates_nothing() -> None:
    h = window()
    p = h.run()
    assert h.created == [] and h.status["nextScheduleTime"] == "2026-05-04T10:00:00Z"
    assert p.wake_after == pytest.approx(85.0)
    assert h.ready()["status"] == "True" and h.ready()["reason"] == "Scheduled"
    assert h.status["active"] == [] and "lastScheduleTime" not in h.status
    assert "skippedStarts" not in h.status and "skipNextToken" not in h.status


def test_at_its_start_a_window_creates_one_owned_child_that_resumes_at_its_end() -> None:
    h = window()
    p = h.at(2026, 5, 4, 10, 0, 1)
    name = child_name("nightly", utc(2026, 5, 4, 10))
    assert name == "nightly-29631480" and h.created == [name]
    child = h.children[name]
    assert child["kind"] == "DrsJobPause"
    assert child["spec"] == {**TEMPLATE, "resume": {"at": "2026-05-04T12:00:00Z",
                                                    "onDelete": True}}
    assert child["metadata"]["ownerReferences"] == [{
        "apiVersion": "drs.cloudops.dev/v1alpha1", "kind": "DrsPauseWindow", "name": "nightly",
        "uid": "w-uid", "controller": True, "blockOwnerDeletion": True}]
    assert child["metadata"]["labels"] == {"drs.cloudops.dev/window": "nightly"}
    assert h.status["active"] == [{"name": name}]
    assert h.status["lastScheduleTime"] == "2026-05-04T10:00:00Z"
    assert h.status["nextScheduleTime"] == "2026-05-05T10:00:00Z"
    assert h.reasons() == ["WindowStarted"] and h.ready()["reason"] == "Active"
    assert p.wake_after == pytest.approx(24 * 3600 - 1)

    # The next pass (the watch event of the child, or of the status) creates nothing more.
    h.run()
    assert h.created == [name] and h.reasons() == ["WindowStarted"]


def test_a_child_created_before_a_lost_status_write_is_not_created_twice() -> None:
    h = window()
    h.at(2026, 5, 4, 10, 0, 1)
    h.status = {}  # the status write was lost (crash after the create)
    h.run()
    assert h.created == ["nightly-29631480"]
    assert h.status["lastScheduleTime"] == "2026-05-04T10:00:00Z"


def test_a_start_waits_for_the_previous_child_and_is_skipped_past_its_deadline() -> None:
    h = window(schedule="0 * * * *", duration="90m", startingDeadlineSeconds=600)
    h.at(2026, 5, 4, 10, 0, 1)
    first = h.created[0]
    h.set_phase(first, "Paused")
    p = h.at(2026, 5, 4, 11, 0, 1)
    assert h.created == [first]
    assert h.ready()["reason"] == "WaitingForPrevious" and first in h.ready()["message"]
    assert h.reasons() == ["WindowStarted", "WindowSkipped"]
    assert h.events[-1][0] == "Warning"
    assert p.wake_after == pytest.approx(599)  # the held start's deadline
    h.run()  # another pass: no second Event
    assert h.reasons() == ["WindowStarted", "WindowSkipped"]

    h.at(2026, 5, 4, 11, 10, 1)
    assert h.created == [first] and h.ready()["reason"] == "Active"
    assert h.status["lastScheduleTime"] == "2026-05-04T10:00:00Z"


def test_a_held_start_starts_late_when_the_previous_child_resumes_in_time() -> None:
    h = window(schedule="0 * * * *", duration="90m", startingDeadlineSeconds=600)
    h.at(2026, 5, 4, 10, 0, 1)
    h.at(2026, 5, 4, 11, 0, 1)
    h.set_phase(h.created[0], "Resumed")
    h.at(2026, 5, 4, 11, 4, 0)
    late = h.created[1]
    assert late == child_name("nightly", utc(2026, 5, 4, 11))
    # Late, but to the same end: start + duration.
    assert h.children[late]["spec"]["resume"]["at"] == "2026-05-04T12:30:00Z"
    assert h.status["lastRun"] == {"name": h.created[0], "phase": "Resumed"}


def test_history_limit_deletes_the_oldest_finished_children_first() -> None:
    h = window(schedule="0 * * * *", duration="30m", historyLimit=1)
    for hour in (10, 11, 12, 13):
        h.at(2026, 5, 4, hour, 0, 1)
        h.set_phase(h.created[-1], "Resumed" if hour != 12 else "PartiallyResumed")
    h.at(2026, 5, 4, 13, 40)
    assert h.deleted == h.created[:3]
    assert list(h.children) == [h.created[3]]
    assert h.status["lastRun"] == {"name": h.created[3], "phase": "Resumed"}


def test_a_child_being_deleted_is_still_resuming() -> None:
    h = window(schedule="0 * * * *", duration="30m", historyLimit=0)
    h.at(2026, 5, 4, 10, 0, 1)
    first = h.created[0]
    h.children[first]["metadata"]["deletionTimestamp"] = "2026-05-04T10:20:00Z"
    h.set_phase(first, "Resumed")
    h.at(2026, 5, 4, 11, 0, 1)
    assert h.created == [first] and h.ready()["reason"] == "WaitingForPrevious"


def test_a_child_that_paused_nothing_finishes_at_its_end() -> None:
    h = window(schedule="0 * * * *", duration="30m", historyLimit=0)
    h.at(2026, 5, 4, 10, 0, 1)
    h.set_phase(h.created[0], "Failed")
    p = h.at(2026, 5, 4, 10, 5)
    assert p.wake_after == pytest.approx(25 * 60)  # its end, before the next start
    h.at(2026, 5, 4, 10, 30)
    assert h.deleted == h.created and h.status["active"] == []
    assert h.status["lastRun"]["phase"] == "Failed"


def test_suspended_windows_start_nothing_and_set_no_timer() -> None:
    h = window(utc(2026, 5, 4, 10, 0, 1), suspend=True)
    p = h.run()
    assert h.created == [] and p.wake_after is None and "nextScheduleTime" not in h.status
    assert h.ready()["reason"] == "Suspended"


@pytest.mark.parametrize(
    ("spec", "reason"),
    [
        ({"schedule": "every night"}, "InvalidSchedule"),
        ({"timeZone": "Europe/Atlantis"}, "UnknownTimeZone"),
        ({"duration": "2d"}, "InvalidSpec"),
        ({"template": {**TEMPLATE, "resume": {"after": "1h"}}}, "InvalidSpec"),
        ({"template": {"projectId": PROJECT}}, "InvalidTemplate"),
        ({"exclusions": [{"from": "2026-12-26", "to": "2026-12-24"}]}, "InvalidExclusion"),
    ],
)
def test_a_window_that_cannot_work_is_stalled_and_says_why(
    spec: dict[str, Any], reason: str
) -> None:
    h = window(utc(2026, 5, 4, 10, 0, 1), **spec)
    p = h.run()
    assert h.created == [] and p.wake_after is None
    conditions = {c["type"]: c for c in h.status["conditions"]}
    assert conditions["Stalled"]["status"] == "True" and conditions["Stalled"]["reason"] == reason
    assert conditions["Ready"]["status"] == "False"
    assert h.reasons() == [reason]
    h.run()
    assert h.reasons() == [reason]  # one Event per problem, not per pass


def test_berlin_spring_forward_start_in_the_gap_happens_once() -> None:
    h = window(schedule="30 2 * * *", timeZone="Europe/Berlin", duration="1h")
    h.meta = WindowMeta("team-a", "nightly", "w-uid", 1, utc(2026, 3, 28))
    p = h.at(2026, 3, 29, 0, 59)  # 01:59 CET
    assert h.status["nextScheduleTime"] == "2026-03-29T01:00:00Z"  # 03:00 CEST
    assert p.wake_after == pytest.approx(60)
    h.at(2026, 3, 29, 1, 0, 1)
    assert h.created == [child_name("nightly", utc(2026, 3, 29, 1))]
    assert "+02:00" in h.events[0][2]  # the message speaks local time
    assert h.status["nextScheduleTime"] == "2026-03-30T00:30:00Z"


def test_berlin_fall_back_repeated_hour_starts_once() -> None:
    h = window(schedule="30 2 * * *", timeZone="Europe/Berlin", duration="30m", historyLimit=5)
    h.meta = WindowMeta("team-a", "nightly", "w-uid", 1, utc(2026, 10, 24))
    h.at(2026, 10, 25, 0, 30, 1)  # 02:30 CEST
    h.set_phase(h.created[0], "Resumed")
    h.at(2026, 10, 25, 1, 30, 1)  # 02:30 CET, the second time
    assert len(h.created) == 1
    assert h.status["nextScheduleTime"] == "2026-10-26T01:30:00Z"


def test_a_template_s_catch_up_and_delay_gate_reach_each_child() -> None:
    """The template may carry resume.catchUp (the window sets the rest of resume) and
    delayGate; a child catching up is not finished, so the next start waits for it."""
    template = {**TEMPLATE, "delayGate": {"maxDelay": "5m"},
                "resume": {"catchUp": {"maxDelay": "1m", "timeout": "2h"}}}
    h = window(template=template)
    h.at(2026, 5, 4, 10, 0, 1)
    (name,) = h.created
    assert h.children[name]["spec"]["resume"] == {
        "catchUp": {"maxDelay": "1m", "timeout": "2h"}, "at": "2026-05-04T12:00:00Z",
        "onDelete": True}
    assert h.children[name]["spec"]["delayGate"] == {"maxDelay": "5m"}
    h.set_phase(name, "CatchingUp")
    h.at(2026, 5, 5, 10, 0, 1)  # the next start: the previous child still catches up
    assert h.created == [name] and "WindowSkipped" in h.reasons()
