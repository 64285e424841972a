"""Plans as pure functions (resource/plans.py): each verdict from what the lookups showed, when
a plan is made again, and what a plan's status says."""

from __future__ import annotations

import datetime as dt

import pytest

from drs_pause_operator.resource import plans
from drs_pause_operator.resource.job import Job, Leg
from drs_pause_operator.resource.problem import Problem
from drs_pause_operator.resource.spec import DelayGate
from drs_pause_operator.resource.status import ObjectStatus, render
from drs_pause_operator.resource.verbs import PENDING

from ..values import J1, NOW, Task
from .test_delay import Progress

GATE = DelayGate.model_validate({"maxDelay": "5m"})


@pytest.mark.parametrize(
    ("task", "progress", "gate", "verdict", "message"),
    [
        (Task(J1, "INCRE_TRANSFER_STARTED"), None, None, plans.WOULD_PAUSE, ""),
        (Task(J1, "FULL_TRANSFER_FAILED"), None, None, plans.WOULD_PAUSE, ""),
        (Task(J1, "PAUSING"), None, None, plans.ALREADY_PAUSED, ""),
        (Task(J1, "PAUSEING"), None, None, plans.ALREADY_PAUSED, ""),
        (Task(J1, "CONFIGURATION"), None, None, plans.NOT_PAUSABLE,
         "task is CONFIGURATION, not one of the pausable states"),
        (Task(J1, None, "DRS.M00289"), None, None, plans.NOT_FOUND, "DRS.M00289"),
        (Task(J1, None, "DRS.M05003"), None, None, plans.NOT_FOUND, "DRS.M05003"),
        (None, None, None, plans.NOT_FOUND, "no answer for the task"),
        (Task(J1, "INCRE_TRANSFER_STARTED"), Progress(J1, 900), GATE, plans.WAITS_FOR_DELAY,
         "replication delay 15m > 5m"),
        (Task(J1, "INCRE_TRANSFER_STARTED"), None, GATE, plans.WAITS_FOR_DELAY,
         "replication delay unknown > 5m"),
        (Task(J1, "INCRE_TRANSFER_STARTED"), Progress(J1, 299), GATE, plans.WOULD_PAUSE, ""),
        (Task(J1, "FULL_TRANSFER_STARTED"), Progress(J1, None), GATE, plans.WOULD_PAUSE, ""),
        (Task(J1, "INCRE_TRANSFER_STARTED"), Progress(J1, 900), None, plans.WOULD_PAUSE, ""),
    ],
)
def test_each_verdict(task, progress, gate, verdict: str, message: str) -> None:
    assert plans.verdict(task, progress, gate) == (verdict, message)


def test_a_plan_is_made_again_on_a_spec_change_a_new_token_or_when_old() -> None:
    planned = {"phase": plans.PLANNED, "plannedTime": "2026-11-28T10:00:00Z",
               "observedGeneration": 2, "replanToken": "a"}
    assert not plans.due(planned, 2, "a", NOW + dt.timedelta(minutes=4))
    assert plans.due(planned, 3, "a", NOW)  # spec changed
    assert plans.due(planned, 2, "b", NOW)  # a new replan token
    assert plans.due(planned, 2, "a", NOW + plans.REPLAN_AFTER)
    assert plans.due({}, 1, None, NOW)  # none yet
    assert plans.due({**planned, "phase": "Paused"}, 2, "a", NOW)  # acted, then dryRun again


def test_a_verdict_stays_until_the_job_is_sent() -> None:
    jobs = [Job(J1, "target", plan=plans.WOULD_PAUSE),
            Job("x", "target", plan=plans.NOT_FOUND, pause=Leg(phase=PENDING, attempts=1))]
    kept, sent = plans.sent(jobs)
    assert kept.plan == plans.WOULD_PAUSE and sent.plan == ""


def test_a_planned_status_is_ready_and_says_so() -> None:
    jobs = plans.apply([Job(J1, "target"), Job("x", "target")],
                       {J1: Task(J1, "INCRE_TRANSFER_STARTED")}, {}, None, NOW)
    status = render(None, ObjectStatus(jobs, 1, planning=True, planned_at=NOW), NOW)
    assert status["phase"] == plans.PLANNED and status["plannedTime"] == "2026-11-28T10:00:00Z"
    ready = status["conditions"][0]
    assert (ready["status"], ready["reason"]) == ("True", "Planned")
    assert ready["message"] == ("plan: 1 would pause, 1 not found (spec.dryRun: nothing is "
                                "paused or resumed)")
    assert [e["plan"] for e in status["jobs"]] == ["WouldPause", "NotFound"]
    forced = render(None, ObjectStatus(jobs, 1, planning=True, planned_at=NOW,
                                       plan_forced=True), NOW)
    assert "operator runs with --dry-run" in forced["conditions"][0]["message"]
    stalled = render(None, ObjectStatus(jobs, 1, Problem("CredentialsNotFound", "no Secret"),
                                        planning=True), NOW)
    assert [c["status"] for c in stalled["conditions"]] == ["False", "True", "False"]
    assert "plannedTime" not in stalled  # no plan made yet
