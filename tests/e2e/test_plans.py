"""Plans end to end (spec.dryRun, the operator's --dry-run): kubectl-applied objects on a real
API server, the operator as a separate process, DRS as the simulator process. That a plan sends
nothing is counted in the simulator's call log: every batch-pause-task and batch-retry-task
request that reached it, whatever its answer, before and after."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from .conftest import (
    condition,
    djp,
    get_status,
    new_job_id,
    operator_args,
    phase_is,
    token_secret,
    wait_for,
)

SECRET = {"credentialsSecretRef": {"name": "drs-credentials"}}
RUNNING = "INCRE_TRANSFER_STARTED"
LONG = 120.0
# Where a pass leaves an object that planned, or (wrongly) acted.
SETTLED = ("Planned", "Paused", "PartiallyPaused", "Failed", "Resuming", "Resumed")
# An operator whose plan path also drives the pause (built on the test side).
BROKEN = Path(__file__).resolve().parent / "broken" / "plan_sends"


def _sends(simulator) -> int:
    """Every pause and resume request the simulator has received (the whole session's)."""
    return len(simulator.calls("pause")) + len(simulator.calls("resume"))






def _plans(status: dict) -> dict[str, str]:
    return {j["jobId"]: j.get("plan", "") for j in status.get("jobs") or []}


@dataclass
class Mixed:
    """A planned object over one job of each kind, and what the plan showed."""

    would: str  # INCRE_TRANSFER_STARTED
    paused: str  # PAUSING
    unknown: str  # not a DRS task
    config: str  # CONFIGURATION: not pausable
    planned: dict  # the status after the first plan
    replanned: dict  # the status after a replan
    sent: int  # pause + resume requests received meanwhile

    @property
    def expected(self) -> dict[str, str]:
        return {self.would: "WouldPause", self.paused: "AlreadyPaused",
                self.unknown: "NotFound", self.config: "NotPausable"}


def _plan_mixed(
    cluster, namespace, simulator, start_operator, *, resume_now: bool = True, **env: str
) -> Mixed:
    would, paused, unknown, config = (new_job_id() for _ in range(4))
    simulator.seed([{"id": would, "status": RUNNING}, {"id": paused, "status": "PAUSING"},
                    {"id": config, "status": "CONFIGURATION"}])
    before = _sends(simulator)
    cluster.kubectl("apply", "-f", "-", input=token_secret(namespace))
    start_operator(operator_args(simulator.url, namespace), **env)
    jobs = [(j, "target") for j in (would, paused, unknown, config)]
    cluster.kubectl("apply", "-f", "-", input=djp(namespace, "plan", jobs, dryRun=True,
                                                  **SECRET))
    planned = wait_for(phase_is(cluster, namespace, "plan", *SETTLED), LONG, what="a plan")
    # Another pass: a replan, with a resume-now (which a plan ignores) when asked for.
    cluster.kubectl("annotate", "djp", "plan", "-n", namespace, "drs.cloudops.dev/replan=again",
                    *(["drs.cloudops.dev/resume-now=x"] if resume_now else []))
    replanned = wait_for(lambda: (s := get_status(cluster, namespace, "plan")).get(
        "replanToken") == "again" and s, LONG, what="the replan")
    return Mixed(would, paused, unknown, config, planned, replanned,
                 _sends(simulator) - before)


def _check_plan(m: Mixed) -> None:
    """What a plan must show, whatever it sent."""
    for status in (m.planned, m.replanned):
        assert _plans(status) == m.expected
        assert status["phase"] == "Planned" and status["plannedTime"]
        ready = condition(status, "Ready")
        assert (ready["status"], ready["reason"]) == ("True", "Planned")
        assert ready["message"].startswith("plan: 1 would pause, 1 already paused, "
                                           "1 not pausable, 1 not found (spec.dryRun")
    assert "CONFIGURATION" in next(j["planMessage"] for j in m.planned["jobs"]
                                   if j["jobId"] == m.config)
    assert m.replanned["plannedTime"] >= m.planned["plannedTime"]


def test_a_plan_gives_each_job_its_verdict_and_sends_nothing(
    cluster, namespace, simulator, start_operator
):
    m = _plan_mixed(cluster, namespace, simulator, start_operator)
    _check_plan(m)
    assert m.sent == 0
    assert all(j["attempts"] == 0 for j in m.replanned["jobs"])


def test_turning_dry_run_off_pauses_exactly_the_would_pause_jobs_once(
    cluster, namespace, simulator, start_operator
):
    m = _plan_mixed(cluster, namespace, simulator, start_operator, resume_now=False)
    assert m.sent == 0
    cluster.kubectl("patch", "djp", "plan", "-n", namespace, "--type=merge",
                    "-p", json.dumps({"spec": {"dryRun": False}}))
    done = wait_for(phase_is(cluster, namespace, "plan", "PartiallyPaused"), LONG,
                    what="paused for real")
    counts = {t["id"]: t["pause_count"] for t in simulator.tasks()
              if t["id"] in (m.would, m.paused, m.config)}
    assert counts == {m.would: 1, m.paused: 0, m.config: 0}
    assert [c["job_ids"] for c in simulator.calls("resume", job_id=m.would)] == []
    jobs = {j["jobId"]: j for j in done["jobs"]}
    assert jobs[m.would]["phase"] == jobs[m.paused]["phase"] == "Paused"
    assert "plan" not in jobs[m.would] and "plannedTime" not in done


def test_an_operator_in_dry_run_mode_only_plans(cluster, namespace, simulator, start_operator):
    would, high = new_job_id(), new_job_id()
    simulator.seed([{"id": would, "status": RUNNING, "delay_seconds": 0},
                    {"id": high, "status": RUNNING, "delay_seconds": 900,
                     "delay_growth_per_second": 0, "delay_catch_up_per_second": 0}])
    before = _sends(simulator)
    cluster.kubectl("apply", "-f", "-", input=token_secret(namespace))
    start_operator(operator_args(simulator.url, namespace, "--dry-run"))
    # No dryRun: a plain object with a gate and a resume, which the operator only plans.
    cluster.kubectl("apply", "-f", "-", input=djp(
        namespace, "plain", [(would, "target"), (high, "target")], **SECRET,
        delayGate={"maxDelay": "5m"}, resume={"after": "1s"}))
    planned = wait_for(phase_is(cluster, namespace, "plain", *SETTLED), LONG, what="a plan")
    assert planned["phase"] == "Planned"
    ready = condition(planned, "Ready")
    assert (ready["status"], ready["reason"]) == ("True", "Planned")
    assert "operator runs with --dry-run" in ready["message"]
    assert _plans(planned) == {would: "WouldPause", high: "WaitsForDelay"}
    assert "15m > 5m" in next(j["planMessage"] for j in planned["jobs"] if j["jobId"] == high)
    read = len(simulator.calls("progress", job_id=high))  # the gate's reading
    assert read >= 1
    cluster.kubectl("annotate", "djp", "plain", "-n", namespace, "drs.cloudops.dev/replan=1")
    wait_for(lambda: get_status(cluster, namespace, "plain").get("replanToken") == "1", LONG,
             what="the replan")
    assert len(simulator.calls("progress", job_id=high)) > read  # read again for the new plan
    assert _sends(simulator) - before == 0


def test_a_plan_that_sends_is_caught(cluster, namespace, simulator, start_operator):
    """The zero-sends check has teeth: an operator whose plan also drives the pause fails it.
    DRS takes its time to show the pause (pause_delay_seconds), so what the plan shows is still
    right: only the count of what was sent can see it."""
    path = os.pathsep.join([str(BROKEN), *filter(None, [os.environ.get("PYTHONPATH")])])
    simulator.configure(pause_delay_seconds=120.0)
    try:
        m = _plan_mixed(cluster, namespace, simulator, start_operator, PYTHONPATH=path)
    finally:
        simulator.configure(pause_delay_seconds=0.0)
    _check_plan(m)  # what the plan shows is clean...
    assert m.sent > 0  # ...but pause requests went out: the first test's `m.sent == 0` fails
    assert len(simulator.calls("pause", job_id=m.would)) >= 1
