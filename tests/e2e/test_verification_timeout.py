"""A pause DRS accepts but that never shows up as PAUSING ends Failed after --verify-timeout,
with a message that says what happened: never Accepted forever."""

from __future__ import annotations

import datetime as dt
import json

from drs_pause_operator.resource.job import Job, Leg
from drs_pause_operator.resource.legs import expire, next_wakeup
from drs_pause_operator.resource.policy import Policy
from drs_pause_operator.resource.verbs import ACCEPTED, FAILED, PAUSE

from .conftest import djp, get_status, new_job_id, operator_args, token_secret, wait_for

SECRET = {"credentialsSecretRef": {"name": "drs-credentials"}}
VERIFY_TIMEOUT = 4


def test_task_that_never_reaches_pausing_fails_after_the_verification_timeout(
    cluster, namespace, simulator, start_operator
):
    stuck, lands_failed, lands_elsewhere, good = (new_job_id() for _ in range(4))
    simulator.seed([
        # The pause is answered "success" but the task never changes state.
        {"id": stuck, "status": "INCRE_TRANSFER_STARTED", "pause_outcome": "stuck"},
        # The task lands in a *_FAILED state instead of PAUSING.
        {"id": lands_failed, "status": "INCRE_TRANSFER_STARTED",
         "pause_outcome": "INCRE_TRANSFER_FAILED"},
        {"id": lands_elsewhere, "status": "FULL_TRANSFER_STARTED",
         "pause_outcome": "CHANGE_JOB_FAILED"},
        {"id": good, "status": "INCRE_TRANSFER_STARTED"},
    ])
    cluster.kubectl("apply", "-f", "-", input=token_secret(namespace))
    start_operator(operator_args(simulator.url, namespace, "--verify-timeout",
                                 str(VERIFY_TIMEOUT)))
    cluster.kubectl("apply", "-f", "-", input=djp(
        namespace, "never", [(stuck, "target"), (lands_failed, "all"),
                             (lands_elsewhere, "target"), (good, "target")], **SECRET))

    # First Accepted (the pause API said success), not yet Failed.
    def accepted():
        status = get_status(cluster, namespace, "never")
        phases = {j["jobId"]: j["phase"] for j in status.get("jobs", [])}
        return status if phases.get(stuck) == "Accepted" else None

    status = wait_for(accepted, timeout=30, interval=0.2, what="stuck job Accepted")
    assert status["phase"] == "InProgress"
    reconciling = next(c for c in status["conditions"] if c["type"] == "Reconciling")
    assert reconciling["status"] == "True"

    status = wait_for(
        lambda: (s := get_status(cluster, namespace, "never")).get("phase") == "PartiallyPaused"
        and s, timeout=VERIFY_TIMEOUT + 30, what="PartiallyPaused after the verify timeout")
    jobs = {j["jobId"]: j for j in status["jobs"]}
    assert jobs[good]["phase"] == "Paused" and jobs[good]["taskStatus"] == "PAUSING"
    expected_state = {stuck: "INCRE_TRANSFER_STARTED", lands_failed: "INCRE_TRANSFER_FAILED",
                      lands_elsewhere: "CHANGE_JOB_FAILED"}
    for job_id, state in expected_state.items():
        job = jobs[job_id]
        assert job["phase"] == "Failed", job
        assert job["apiStatus"] == "success", job  # DRS did accept the pause
        assert job["taskStatus"] == state, job
        message = job["errorMessage"]
        assert "did not reach PAUSING" in message and f"{VERIFY_TIMEOUT}s" in message, message
        assert state in message, message
        assert len(message) <= 512
    assert status["summary"] == {"total": 4, "paused": 1, "failed": 3, "pending": 0}
    conditions = {c["type"]: c for c in status["conditions"]}
    assert conditions["Reconciling"]["status"] == "False"
    assert conditions["Stalled"]["status"] == "True"
    assert conditions["Stalled"]["reason"] == "JobsFailed"
    assert conditions["Ready"]["status"] == "False"
    assert "1 of 4 jobs paused; 3 failed" in conditions["Ready"]["message"]

    # Ground truth: the simulator never paused them, and nothing was sent twice.
    tasks = {t["id"]: t for t in simulator.tasks()}
    for job_id, state in expected_state.items():
        assert tasks[job_id]["status"] == state
        assert tasks[job_id]["pause_count"] == 1
    events = json.loads(cluster.kubectl("get", "events", "-n", namespace, "-o", "json").stdout)
    reasons = [e["reason"] for e in events["items"] if e["involvedObject"]["name"] == "never"]
    assert "PartiallyPaused" in reasons


def test_all_jobs_stuck_ends_failed(cluster, namespace, simulator, start_operator):
    stuck = new_job_id()
    simulator.seed([{"id": stuck, "status": "FULL_TRANSFER_COMPLETE", "pause_outcome": "stuck"}])
    cluster.kubectl("apply", "-f", "-", input=token_secret(namespace))
    start_operator(operator_args(simulator.url, namespace, "--verify-timeout", "2"))
    cluster.kubectl("apply", "-f", "-", input=djp(namespace, "stuck", [(stuck, "all")], **SECRET))
    status = wait_for(
        lambda: (s := get_status(cluster, namespace, "stuck")).get("phase") == "Failed" and s,
        timeout=40, what="Failed")
    job = status["jobs"][0]
    assert job["phase"] == "Failed" and "did not reach PAUSING within 2s" in job["errorMessage"]
    # Failed is terminal: not sent again.
    assert sum(stuck in (c.get("job_ids") or []) for c in simulator.calls("pause")) == 1


# -- the rule behind it, as plain values (no cluster) ---------------------------------------------

NOW = dt.datetime(2026, 11, 28, 10, 0, tzinfo=dt.UTC)
POLICY = Policy(verify_timeout=600)


def _accepted(age: float, next_poll: float = 5.0) -> Job:
    return Job(job_id="8d0e8e36-a618-490d-8a46-8c61ac9jb502", pause_mode="all",
               task_status="INCRE_TRANSFER_STARTED",
               pause=Leg(phase=ACCEPTED, attempts=1,
                         accepted_time=NOW - dt.timedelta(seconds=age),
                         next_attempt_time=NOW + dt.timedelta(seconds=next_poll)))


def test_an_overdue_job_is_looked_up_before_it_fails() -> None:
    """A lookup that failed or left the job out must not fail a task that did pause."""
    (job,) = expire(PAUSE, [_accepted(601)], NOW, POLICY, observed=set())
    assert job.phase == ACCEPTED  # not seen in this pass: look first
    assert job.pause.next_attempt_time == NOW + dt.timedelta(seconds=1)
    # soon, but no busy loop
    assert next_wakeup(PAUSE, [job], NOW, POLICY) == NOW + dt.timedelta(seconds=1)
    (job,) = expire(PAUSE, [_accepted(601)], NOW, POLICY, observed={job.job_id})
    assert job.phase == FAILED and "did not reach PAUSING within 600s" in job.pause.error_message
    # Unseen past twice the timeout: looked up again until 3 lookups asked for it in vain
    # (an operator back from an outage must not fail, on its first lookup, a task that paused).
    (job,) = expire(PAUSE, [_accepted(1200)], NOW, POLICY, observed=set(), asked={job.job_id})
    assert job.phase == ACCEPTED and job.pause.unanswered_lookups == 1
    (job,) = expire(PAUSE, [job], NOW, POLICY, observed=set(), asked={job.job_id})
    (job,) = expire(PAUSE, [job], NOW, POLICY, observed=set(), asked={job.job_id})
    assert job.phase == FAILED and "did not answer for it in 3 lookups" in job.pause.error_message
    (job,) = expire(PAUSE, [_accepted(601)], NOW, POLICY)  # callers that do not say: as before
    assert job.phase == FAILED
    (job,) = expire(PAUSE, [_accepted(599)], NOW, POLICY, observed=set())
    assert job == _accepted(599)
