"""The operator end to end: kubectl-applied objects against the DRS simulator, on a real API
server, with the operator as a separate process."""

from __future__ import annotations

import datetime as dt
import json
import time

import pytest

from .conftest import (
    djp,
    get_status,
    new_job_id,
    operator_args,
    phase_is,
    token_secret,
    wait_for,
)
from .sent import kill_while_in_flight

SECRET = {"credentialsSecretRef": {"name": "drs-credentials"}}




def jobs_by_id(status: dict) -> dict[str, dict]:
    return {j["jobId"]: j for j in status.get("jobs", [])}


def setup(cluster, namespace, simulator, start_operator, *extra: str, secret: bool = True):
    if secret:
        cluster.kubectl("apply", "-f", "-", input=token_secret(namespace))
    return start_operator(operator_args(simulator.url, namespace, *extra))


def successful_pauses(simulator, job_id: str) -> list[dict]:
    """Pause calls whose answer says this job was paused."""
    found = []
    for call in simulator.calls("pause"):
        for result in call.get("results") or []:
            if result.get("id") == job_id and result.get("status") == "success":
                found.append(call)
    return found


def test_paused_partially_paused_and_failed(cluster, namespace, simulator, start_operator):
    ok1, ok2, paused, unknown = (new_job_id() for _ in range(4))
    simulator.seed([
        {"id": ok1, "status": "INCRE_TRANSFER_STARTED"},
        {"id": ok2, "status": "FULL_TRANSFER_COMPLETE"},
        {"id": paused, "status": "PAUSING"},
    ])
    setup(cluster, namespace, simulator, start_operator)
    apply = cluster.kubectl
    apply("apply", "-f", "-", input=djp(namespace, "all-good", [(ok1, "target"), (ok2, "all")],
                                        **SECRET))
    apply("apply", "-f", "-", input=djp(namespace, "mixed", [(paused, "target"),
                                                              (unknown, "target")], **SECRET))
    apply("apply", "-f", "-", input=djp(namespace, "hopeless", [(new_job_id(), "all")], **SECRET))

    wait = cluster.kubectl("wait", "--for=condition=Ready", "djp/all-good", "-n", namespace,
                           "--timeout=60s")
    assert "condition met" in wait.stdout
    good = get_status(cluster, namespace, "all-good")
    assert good["phase"] == "Paused" and good["summary"] == {
        "total": 2, "paused": 2, "failed": 0, "pending": 0}
    for job in good["jobs"]:
        assert job["phase"] == "Paused" and job["taskStatus"] == "PAUSING"
        assert job["apiStatus"] == "success" and job["errorCode"] == ""
        assert len(job["requestId"]) == 32 and job["lastAttemptTime"]
        # One attempt, or two when coalesced with the unknown job of "mixed": DRS rejects that
        # request as a whole, and the client splits it so that every job gets its own answer.
        assert 1 <= job["attempts"] <= 2
        assert len(successful_pauses(simulator, job["jobId"])) == 1
    assert jobs_by_id(good)[ok2]["pauseMode"] == "all"

    mixed = wait_for(phase_is(cluster, namespace, "mixed", "PartiallyPaused"), what="mixed")
    entries = jobs_by_id(mixed)
    # Already paused: DRS says M00304, batch-status shows PAUSING, so it counts as Paused.
    assert entries[paused]["phase"] == "Paused" and entries[paused]["errorCode"] == "DRS.M00304"
    assert entries[unknown]["phase"] == "Failed" and entries[unknown]["errorCode"] == "DRS.M00289"
    ready = next(c for c in mixed["conditions"] if c["type"] == "Ready")
    assert ready["status"] == "False" and "DRS.M00289" in ready["message"]
    stalled = next(c for c in mixed["conditions"] if c["type"] == "Stalled")
    assert stalled["status"] == "True" and stalled["reason"] == "JobsFailed"

    failed = wait_for(phase_is(cluster, namespace, "hopeless", "Failed"), what="hopeless")
    assert failed["summary"]["failed"] == 1

    table = cluster.kubectl("get", "djp", "-n", namespace).stdout
    lines = {line.split()[0]: line.split() for line in table.splitlines()[1:]}
    assert lines["all-good"][1:4] == ["Paused", "2/2", "0"]
    assert lines["mixed"][1:4] == ["PartiallyPaused", "1/2", "1"]
    assert lines["hopeless"][1:4] == ["Failed", "0/1", "1"]
    assert table.splitlines()[0].split()[:6] == [
        "NAME", "PHASE", "PAUSED", "FAILED", "RESUMES", "AGE"
    ]

    events = cluster.kubectl("get", "events", "-n", namespace, "-o", "json").stdout
    reasons = [(e["involvedObject"]["name"], e["reason"]) for e in json.loads(events)["items"]]
    assert reasons.count(("all-good", "Paused")) == 1
    assert ("mixed", "PartiallyPaused") in reasons and ("hopeless", "Failed") in reasons

    # GitOps-safe: nothing written outside status, no finalizers, no kopf annotations.
    body = json.loads(cluster.kubectl("get", "djp", "all-good", "-n", namespace,
                                      "-o", "json").stdout)
    assert "finalizers" not in body["metadata"]
    assert not [a for a in body["metadata"].get("annotations", {}) if "kopf" in a
                or "drs.cloudops.dev" in a]
    assert body["metadata"]["generation"] == 1


def test_transient_faults_are_retried_and_terminal_ones_fail(
    cluster, namespace, simulator, start_operator
):
    a, b, c, busy, gone = (new_job_id() for _ in range(5))
    simulator.seed([{"id": j, "status": "INCRE_TRANSFER_STARTED"} for j in (a, b, c, busy)]
                   + [{"id": gone, "status": "DELETED"}])
    # Three whole-request faults in a row, then success: 429, 5xx, a dropped connection.
    simulator.add_fault(kind="rate_limit", endpoint="pause", job_id=a, retry_after=1)
    simulator.add_fault(kind="http_error", endpoint="pause", job_id=b, status=503)
    simulator.add_fault(kind="drop", endpoint="pause", job_id=c)
    simulator.add_fault(kind="job_error", endpoint="pause", job_id=busy,
                        error_code="DRS.M01504", times=2)
    setup(cluster, namespace, simulator, start_operator)
    try:
        cluster.kubectl("apply", "-f", "-", input=djp(
            namespace, "flaky", [(a, "target"), (b, "target"), (c, "target")], **SECRET))
        cluster.kubectl("apply", "-f", "-", input=djp(
            namespace, "busy-and-gone", [(busy, "all"), (gone, "all")], **SECRET))
        flaky = wait_for(phase_is(cluster, namespace, "flaky", "Paused"), timeout=90,
                         what="flaky Paused")
        for job in flaky["jobs"]:
            assert job["phase"] == "Paused" and job["attempts"] > 1, job
        other = wait_for(phase_is(cluster, namespace, "busy-and-gone", "PartiallyPaused"),
                         timeout=90, what="busy-and-gone")
        entries = jobs_by_id(other)
        assert entries[busy]["phase"] == "Paused" and entries[busy]["attempts"] >= 3
        assert entries[gone]["phase"] == "Failed" and entries[gone]["errorCode"] == "DRS.M05004"
        # Terminal: never sent again after the answer that failed it. (Its attempts may exceed
        # one: coalesced with the flaky object's jobs, it shared their retried requests.)
        carrying = [c for c in simulator.calls("pause") if gone in (c.get("job_ids") or [])]
        assert len(carrying) == entries[gone]["attempts"]
        last = {r["id"]: r for r in carrying[-1].get("results") or []}
        assert last[gone]["error_code"] == "DRS.M05004"
    finally:
        simulator.clear_faults()


def test_spec_edit_pauses_only_the_new_job(cluster, namespace, simulator, start_operator):
    first, second = new_job_id(), new_job_id()
    simulator.seed([{"id": j, "status": "INCRE_TRANSFER_STARTED"} for j in (first, second)])
    setup(cluster, namespace, simulator, start_operator)
    cluster.kubectl("apply", "-f", "-", input=djp(namespace, "grow", [(first, "target")],
                                                  **SECRET))
    status = wait_for(phase_is(cluster, namespace, "grow", "Paused"), what="first Paused")
    assert status["observedGeneration"] == 1
    cluster.kubectl("apply", "-f", "-", input=djp(
        namespace, "grow", [(first, "target"), (second, "all")], **SECRET))
    status = wait_for(lambda: (s := get_status(cluster, namespace, "grow")).get(
        "observedGeneration") == 2 and s.get("phase") == "Paused" and s, what="second Paused")
    assert status["summary"]["total"] == 2
    assert all(c["observedGeneration"] == 2 for c in status["conditions"])
    assert len(successful_pauses(simulator, first)) == 1
    assert len(successful_pauses(simulator, second)) == 1
    assert sum(first in (call.get("job_ids") or []) for call in simulator.calls("pause")) == 1
    # A job removed from spec leaves status.
    cluster.kubectl("apply", "-f", "-", input=djp(namespace, "grow", [(second, "all")], **SECRET))
    status = wait_for(lambda: (s := get_status(cluster, namespace, "grow")).get(
        "observedGeneration") == 3 and s, what="generation 3")
    assert [j["jobId"] for j in status["jobs"]] == [second]


def test_missing_secret_stalls_then_recovers(cluster, namespace, simulator, start_operator):
    job = new_job_id()
    simulator.seed([{"id": job, "status": "INCRE_TRANSFER_STARTED"}])
    setup(cluster, namespace, simulator, start_operator, secret=False)
    cluster.kubectl("apply", "-f", "-", input=djp(namespace, "nosecret", [(job, "all")],
                                                  **SECRET))

    def stalled():
        s = get_status(cluster, namespace, "nosecret")
        cond = next((c for c in s.get("conditions", []) if c["type"] == "Stalled"), {})
        return s if cond.get("status") == "True" else None

    status = wait_for(stalled, what="Stalled")
    cond = next(c for c in status["conditions"] if c["type"] == "Stalled")
    assert cond["reason"] == "CredentialsNotFound" and "drs-credentials" in cond["message"]
    assert status["phase"] == "Pending"
    cluster.kubectl("apply", "-f", "-", input=token_secret(namespace))
    status = wait_for(phase_is(cluster, namespace, "nosecret", "Paused"), timeout=60,
                      what="recovery")
    cond = next(c for c in status["conditions"] if c["type"] == "Stalled")
    assert cond["status"] == "False"
    events = json.loads(cluster.kubectl("get", "events", "-n", namespace, "-o", "json").stdout)
    reasons = [e["reason"] for e in events["items"]]
    assert "CredentialsNotFound" in reasons and "Recovered" in reasons


def test_forbidden_endpoint_with_default_credentials_sends_nothing(
    cluster, namespace, simulator, start_operator
):
    job = new_job_id()
    simulator.seed([{"id": job, "status": "INCRE_TRANSFER_STARTED"}])
    cluster.kubectl("apply", "-f", "-", input=token_secret(namespace, "default-creds"))
    before = len(simulator.calls())
    start_operator(operator_args(simulator.url, namespace,
                                 "--default-credentials-secret", f"{namespace}/default-creds"))
    # The simulator's own URL, but not through the template: an attacker-chosen endpoint.
    evil = simulator.url.replace("127.0.0.1", "localhost")
    cluster.kubectl("apply", "-f", "-", input=djp(namespace, "evil", [(job, "all")],
                                                  endpoint=evil))

    def stalled():
        s = get_status(cluster, namespace, "evil")
        cond = next((c for c in s.get("conditions", []) if c["type"] == "Stalled"), {})
        return cond if cond.get("status") == "True" else None

    cond = wait_for(stalled, what="EndpointNotAllowed")
    assert cond["reason"] == "EndpointNotAllowed" and evil in cond["message"]
    time.sleep(2)
    assert len(simulator.calls()) == before
    # The endpoint is fixed at creation: the same jobs through the allowed template, in an
    # object created anew, work with the default credentials.
    cluster.kubectl("delete", "djp", "evil", "-n", namespace, "--wait=true")
    cluster.kubectl("apply", "-f", "-", input=djp(namespace, "fixed", [(job, "all")]))
    wait_for(phase_is(cluster, namespace, "fixed", "Paused"), what="Paused via template")


@pytest.mark.slow  # three kills, each with a pause request held in flight
def test_operator_killed_mid_run_converges_without_pausing_twice(
    cluster, namespace, simulator, start_operator
):
    # Killed three times, each time while one of its pause requests is in flight (held 2 s by
    # the simulator); counted as sent, per job, from the call log (tests/e2e/sent.py).
    verdict, jobs, in_flight = kill_while_in_flight(
        cluster, namespace, simulator, start_operator, operator_args(simulator.url, namespace))
    print(verdict.summary())
    tasks = {t["id"]: t for t in simulator.tasks()}
    for job in jobs:
        assert tasks[job]["status"] == "PAUSING" and tasks[job]["pause_count"] == 1, job
    assert not verdict.double, verdict.double
    assert not verdict.regressions, verdict.regressions
    # A repeat is excused only for a job whose request was out when the operator died.
    cut_off = {j for call in in_flight for j in call["job_ids"]}
    assert cut_off
    assert {job for job, _, _ in verdict.excused} <= cut_off, verdict.excused
    assert len(verdict.excused) <= 2 * len(cut_off), verdict.excused
    assert all(n >= 1 for n in verdict.requests.values())


def test_retry_failed_annotation_sends_failed_jobs_once(
    cluster, namespace, simulator, start_operator
):
    job = new_job_id()
    setup(cluster, namespace, simulator, start_operator)
    cluster.kubectl("apply", "-f", "-", input=djp(namespace, "retry", [(job, "all")], **SECRET))
    status = wait_for(phase_is(cluster, namespace, "retry", "Failed"), what="Failed")
    assert status["jobs"][0]["errorCode"] == "DRS.M00289"
    # The task appears (e.g. created late); nothing happens until the user asks.
    simulator.seed([{"id": job, "status": "INCRE_TRANSFER_STARTED"}])
    time.sleep(2)
    assert get_status(cluster, namespace, "retry")["phase"] == "Failed"
    cluster.kubectl("annotate", "djp", "retry", "-n", namespace,
                    "drs.cloudops.dev/retry-failed=2026-11-28T10:00:00Z")
    status = wait_for(phase_is(cluster, namespace, "retry", "Paused"), what="Paused after retry")
    assert status["retryFailedToken"] == "2026-11-28T10:00:00Z"
    assert status["jobs"][0]["attempts"] == 2 and status["jobs"][0]["errorCode"] == ""
    body = json.loads(cluster.kubectl("get", "djp", "retry", "-n", namespace, "-o", "json").stdout)
    assert body["metadata"]["generation"] == 1  # annotations do not bump the generation


def test_pause_mode_change_resends_only_jobs_not_yet_paused(
    cluster, namespace, simulator, start_operator
):
    done, failing = new_job_id(), new_job_id()
    simulator.seed([{"id": done, "status": "INCRE_TRANSFER_STARTED"},
                    {"id": failing, "status": "CONFIGURATION"}])  # not pausable: M00304
    setup(cluster, namespace, simulator, start_operator)
    cluster.kubectl("apply", "-f", "-", input=djp(
        namespace, "modes", [(done, "target"), (failing, "target")], **SECRET))
    wait_for(phase_is(cluster, namespace, "modes", "PartiallyPaused"), what="first pass")
    simulator.seed([{"id": failing, "status": "INCRE_TRANSFER_STARTED"}])
    cluster.kubectl("apply", "-f", "-", input=djp(
        namespace, "modes", [(done, "all"), (failing, "all")], **SECRET))
    status = wait_for(lambda: (s := get_status(cluster, namespace, "modes")).get(
        "observedGeneration") == 2 and s.get("phase") == "Paused" and s, what="all Paused")
    entries = jobs_by_id(status)
    assert entries[failing]["pauseMode"] == "all" and entries[failing]["phase"] == "Paused"
    assert entries[done]["phase"] == "Paused"
    assert sum(done in (c.get("job_ids") or []) for c in simulator.calls("pause")) == 1


def test_sigusr1_shows_what_a_pass_in_progress_waits_on(
    cluster, namespace, simulator, start_operator
):
    job = new_job_id()
    simulator.seed([{"id": job, "status": "INCRE_TRANSFER_STARTED"}])
    simulator.add_fault(kind="latency", endpoint="pause", job_id=job, latency_ms=8000, times=1)
    op = setup(cluster, namespace, simulator, start_operator)
    cluster.kubectl("apply", "-f", "-", input=djp(namespace, "slow", [(job, "all")], **SECRET))
    wait_for(lambda: simulator.in_flight("pause"), timeout=60, what="a pause in flight")
    dump = op.dump()
    assert dump, "no dump within 10 s of SIGUSR1"
    assert f"pass of {namespace}/slow running for" in dump
    # The pass's await chain ends in the gateway, waiting for its batched pause call ...
    assert "outbound/gateway.py" in dump and "in _wait" in dump
    # ... and that call's own task is in DRS's client, mid-request.
    assert "drs/client.py" in dump
    # The operator goes on: the pause completes.
    wait_for(phase_is(cluster, namespace, "slow", "Paused"), timeout=60, what="Paused")
    assert op.proc.poll() is None


def test_requests_cut_off_by_restarts_do_not_lengthen_the_retry_wait(
    cluster, namespace, simulator, start_operator
):
    """A job sent six times by operators that were killed before any answer, then answered
    DRS.M01504 (busy): its retry comes after about a second, the first backoff step, not
    after 2^6 s (the backoff counts transient answers, not the requests that carried it)."""
    job = new_job_id()
    simulator.seed([{"id": job, "status": "INCRE_TRANSFER_STARTED"}])
    simulator.add_fault(kind="job_error", endpoint="pause", job_id=job,
                        error_code="DRS.M01504", times=1)
    cluster.kubectl("apply", "-f", "-", input=token_secret(namespace))
    cluster.kubectl("apply", "-f", "-", input=djp(namespace, "cut", [(job, "all")], **SECRET))
    # The status as six killed operators would leave it: written ahead six times, no answer.
    cut_off = {"observedGeneration": 1, "phase": "InProgress", "jobs": [{
        "jobId": job, "pauseMode": "all", "phase": "Pending", "attempts": 6,
        "lastAttemptTime": "2026-11-30T08:00:00Z"}]}
    cluster.kubectl("patch", "djp", "cut", "-n", namespace, "--subresource=status",
                    "--type=merge", "-p", json.dumps({"status": cut_off}))
    try:
        start_operator(operator_args(simulator.url, namespace))
        status = wait_for(phase_is(cluster, namespace, "cut", "Paused"), timeout=60,
                          what="Paused")
        assert status["jobs"][0]["attempts"] == 8  # looked up first, busy, then paused
        sent = [c for c in simulator.calls("pause") if job in (c.get("job_ids") or [])]
        busy, paused = sent
        assert busy["results"][0]["error_code"] == "DRS.M01504"
        waited = (dt.datetime.fromisoformat(paused["received"])
                  - dt.datetime.fromisoformat(busy["time"])).total_seconds()
        assert waited < 5, f"the retry came {waited:.1f}s after the busy answer"
    finally:
        simulator.clear_faults()
