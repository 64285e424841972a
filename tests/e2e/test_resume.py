"""spec.resume end to end: kubectl-applied objects on a real API server, the operator as a
separate process, DRS as the simulator process. Resumes are counted from the simulator's call
log (batch-retry-task requests that carried the job), never from success answers."""

from __future__ import annotations

import datetime as dt
import json
import time

from .conftest import (
    KILLED_LEASE,
    djp,
    get_object,
    new_job_id,
    operator_args,
    token_secret,
    wait_for,
)
from .sent import StatusHistory, wait_in_flight, when

SECRET = {"credentialsSecretRef": {"name": "drs-credentials"}}
FINALIZER = "drs.cloudops.dev/resume"
RUNNING = "INCRE_TRANSFER_STARTED"
# The machine is shared and slow: wait on conditions, generously.
LONG = 180.0


def _get(cluster, namespace: str, name: str) -> dict | None:
    return get_object(cluster, "drsjobpauses", namespace, name, missing_ok=True)


def _status(cluster, namespace: str, name: str) -> dict:
    return (_get(cluster, namespace, name) or {}).get("status") or {}


def _phase(cluster, namespace: str, name: str, *phases: str):
    def check():
        status = _status(cluster, namespace, name)
        return status if status.get("phase") in phases else None

    return check


def _job(status: dict, job_id: str) -> dict:
    return next(j for j in status.get("jobs", []) if j["jobId"] == job_id)


def _task(simulator, job_id: str) -> str:
    return next(t["status"] for t in simulator.tasks() if t["id"] == job_id)


def _resumes(simulator, job_id: str) -> int:
    """batch-retry-task requests that carried ``job_id``, whatever DRS answered."""
    return len(simulator.calls("resume", job_id=job_id))


def _apply(cluster, namespace: str, name: str, jobs, **spec) -> None:
    cluster.kubectl("apply", "-f", "-", input=djp(namespace, name, jobs, **SECRET, **spec))


def _setup(cluster, namespace, simulator, start_operator, *extra: str, **env: str):
    cluster.kubectl("apply", "-f", "-", input=token_secret(namespace))
    return start_operator(operator_args(simulator.url, namespace, *extra), **env)


def _finalizers(cluster, namespace: str, name: str) -> list[str]:
    return ((_get(cluster, namespace, name) or {}).get("metadata") or {}).get("finalizers") or []


def _utc(seconds: float) -> str:
    when = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_resume_after_a_duration_and_skip_what_someone_else_paused(
    cluster, namespace, simulator, start_operator
):
    mine, theirs = new_job_id(), new_job_id()
    simulator.seed([{"id": mine, "status": RUNNING}, {"id": theirs, "status": "PAUSING"}])
    _setup(cluster, namespace, simulator, start_operator)
    with StatusHistory(cluster.kubeconfig, namespace) as history:
        _apply(cluster, namespace, "five", [(mine, "target"), (theirs, "target")],
               resume={"after": "5s"})
        done = wait_for(_phase(cluster, namespace, "five", "Resumed"), LONG, what="resumed")
    # Every status version on the way: Paused first, and while Paused it says when it resumes.
    paused = [status for _, name, status in history.versions
              if name == "five" and status.get("phase") == "Paused"]
    assert paused, [s.get("phase") for _, _, s in history.versions]
    for status in paused:
        ready = next(c for c in status["conditions"] if c["type"] == "Ready")
        assert status["resumeTime"] == done["resumeTime"], status
        assert ready["message"].endswith(f"resumes at {done['resumeTime']}"), ready
    assert _job(done, mine)["resumePhase"] == "Resumed"
    assert _job(done, theirs)["resumePhase"] == "Skipped"
    assert _task(simulator, mine) not in ("PAUSING", "PAUSEING")
    assert _task(simulator, theirs) == "PAUSING"
    assert _resumes(simulator, mine) == 1 and _resumes(simulator, theirs) == 0
    paused_at = dt.datetime.fromisoformat(done["pausedTime"].replace("Z", "+00:00"))
    resume_at = dt.datetime.fromisoformat(done["resumeTime"].replace("Z", "+00:00"))
    assert resume_at - paused_at == dt.timedelta(seconds=5)
    # No onDelete, no finalizer, ever.
    assert _finalizers(cluster, namespace, "five") == []


def test_editing_at_reschedules_and_resume_now_resumes_at_once(
    cluster, namespace, simulator, start_operator
):
    later, now = new_job_id(), new_job_id()
    simulator.seed([{"id": later, "status": RUNNING}, {"id": now, "status": RUNNING}])
    _setup(cluster, namespace, simulator, start_operator)
    far = _utc(3600)
    _apply(cluster, namespace, "later", [(later, "target")], resume={"at": far})
    _apply(cluster, namespace, "now", [(now, "target")])

    waiting = wait_for(_phase(cluster, namespace, "later", "Paused"), LONG, what="paused")
    assert waiting["resumeTime"] == far
    table = cluster.kubectl("get", "djp", "later", "-n", namespace).stdout
    assert "RESUMES" in table and far in table
    soon = _utc(8)
    cluster.kubectl("patch", "djp", "later", "-n", namespace, "--type=merge",
                    "-p", json.dumps({"spec": {"resume": {"at": soon}}}))
    done = wait_for(_phase(cluster, namespace, "later", "Resumed"), LONG, what="rescheduled")
    assert done["resumeTime"] == soon and _resumes(simulator, later) == 1

    wait_for(_phase(cluster, namespace, "now", "Paused"), LONG, what="paused")
    cluster.kubectl("annotate", "djp", "now", "-n", namespace,
                    "drs.cloudops.dev/resume-now=first")
    done = wait_for(_phase(cluster, namespace, "now", "Resumed"), LONG, what="resumed now")
    assert done["resumeNowToken"] == "first" and "resumeTime" not in done
    assert _task(simulator, now) == RUNNING and _resumes(simulator, now) == 1
    for name in ("later", "now"):
        assert _finalizers(cluster, namespace, name) == []


def test_on_delete_resumes_before_the_object_goes(cluster, namespace, simulator, start_operator):
    job = new_job_id()
    simulator.seed([{"id": job, "status": RUNNING}])
    _setup(cluster, namespace, simulator, start_operator)
    _apply(cluster, namespace, "ondelete", [(job, "all")], resume={"onDelete": True})
    wait_for(_phase(cluster, namespace, "ondelete", "Paused"), LONG, what="paused")
    wait_for(lambda: _finalizers(cluster, namespace, "ondelete") == [FINALIZER], LONG,
             what="the finalizer")
    # kubectl delete waits for the object to be gone: by then the task is resumed.
    cluster.kubectl("delete", "djp", "ondelete", "-n", namespace, "--timeout=110s")
    assert _get(cluster, namespace, "ondelete") is None
    assert _task(simulator, job) == RUNNING and _resumes(simulator, job) == 1


def test_a_deletion_drs_refuses_stays_until_skip_resume(
    cluster, namespace, simulator, start_operator
):
    job = new_job_id()
    simulator.seed([{"id": job, "status": RUNNING}])
    _setup(cluster, namespace, simulator, start_operator)
    _apply(cluster, namespace, "refused", [(job, "target")], resume={"onDelete": True})
    wait_for(_phase(cluster, namespace, "refused", "Paused"), LONG, what="paused")
    wait_for(lambda: _finalizers(cluster, namespace, "refused") == [FINALIZER], LONG,
             what="the finalizer")
    simulator.add_fault(kind="job_error", endpoint="resume", job_id=job,
                        error_code="DRS.M05004", times=None)
    try:
        cluster.kubectl("delete", "djp", "refused", "-n", namespace, "--wait=false")

        def blocked():
            status = _status(cluster, namespace, "refused")
            stalled = next((c for c in status.get("conditions", [])
                            if c["type"] == "Stalled"), {})
            return status if stalled.get("status") == "True" and "deletion waits" in stalled.get(
                "message", "") else None

        status = wait_for(blocked, LONG, what="a blocked deletion")
        assert status["phase"] == "PartiallyResumed"
        assert _job(status, job)["resumeErrorCode"] == "DRS.M05004"
        events = cluster.kubectl("get", "events", "-n", namespace, "-o", "json").stdout
        reasons = {e["reason"] for e in json.loads(events)["items"]
                   if e["involvedObject"]["name"] == "refused"}
        assert {"DeletionBlocked", "PartiallyResumed"} <= reasons
        assert _get(cluster, namespace, "refused") is not None
        cluster.kubectl("annotate", "djp", "refused", "-n", namespace,
                        "drs.cloudops.dev/skip-resume=true")
        wait_for(lambda: _get(cluster, namespace, "refused") is None, LONG, what="released")
        assert _task(simulator, job) == "PAUSING"
    finally:
        simulator.clear_faults()


def _killed_while_resuming(cluster, namespace, simulator, start_operator, *,
                          drs_acts: bool) -> None:
    """Paused, then resume-now: the batch-retry-task request is held by the simulator (a
    latency fault) and the operator is SIGKILLed while it is in flight, its attempt written
    ahead in status. ``drs_acts``: when the hold ends DRS resumes the task (the answer dies
    with the process); else DRS refuses it (DRS.M01504: the task stays PAUSING, as if the
    request had never come). The next process looks the task up before it sends anything: it
    resumes what is still PAUSING, once, and nothing else."""
    job = new_job_id()
    simulator.seed([{"id": job, "status": RUNNING}])
    op = _setup(cluster, namespace, simulator, start_operator, *KILLED_LEASE)
    _apply(cluster, namespace, "killed", [(job, "target")])
    wait_for(_phase(cluster, namespace, "killed", "Paused"), LONG, what="paused")
    simulator.add_fault(kind="latency", endpoint="resume", job_id=job, latency_ms=4000, times=1)
    if not drs_acts:
        simulator.add_fault(kind="job_error", endpoint="resume", job_id=job,
                            error_code="DRS.M01504", times=1)
    try:
        asked = time.time()
        cluster.kubectl("annotate", "djp", "killed", "-n", namespace,
                        "drs.cloudops.dev/resume-now=1")
        wait_in_flight(simulator, asked, timeout=LONG, endpoint="retry")
        op.kill()
        # The attempt was written before the request left; the request is the only one.
        assert _job(_status(cluster, namespace, "killed"), job).get("resumeAttempts") == 1
        wait_for(lambda: _resumes(simulator, job) == 1, 30, interval=0.1,
                 what="the held resume to be answered")
        task = next(t for t in simulator.tasks() if t["id"] == job)
        assert task["resume_count"] == (1 if drs_acts else 0), task
    finally:
        simulator.clear_faults()
    restarted = time.time()
    start_operator(operator_args(simulator.url, namespace))
    done = wait_for(_phase(cluster, namespace, "killed", "Resumed"), LONG, what="resumed")
    assert _job(done, job)["resumePhase"] == "Resumed"
    task = next(t for t in simulator.tasks() if t["id"] == job)
    assert task["status"] == RUNNING and task["resume_count"] == 1, task
    # The new process looked before anything else, and sent again only what DRS had not done.
    resumes = simulator.calls("resume", job_id=job)
    looks = [c for c in simulator.calls("status", job_id=job) if when(c) > restarted]
    assert looks and looks[0]["status"] == 200, looks
    assert len(resumes) == (1 if drs_acts else 2), resumes
    assert all(when(c) > when(looks[0], "time") for c in resumes[1:]), (looks, resumes)


def test_sigkill_while_a_resume_drs_refused_is_in_flight(
    cluster, namespace, simulator, start_operator
):
    _killed_while_resuming(cluster, namespace, simulator, start_operator, drs_acts=False)


def test_sigkill_while_a_resume_drs_carried_out_is_in_flight(
    cluster, namespace, simulator, start_operator
):
    _killed_while_resuming(cluster, namespace, simulator, start_operator, drs_acts=True)


def test_kubectl_explain_teaches_resume(cluster):
    out = cluster.kubectl("explain", "drsjobpause.spec.resume").stdout
    assert "onDelete" in out and "after" in out
    bad = djp("default", "both", [(new_job_id(), "target")],
              resume={"after": "1h", "at": "2026-12-01T06:00:00Z"})
    result = cluster.kubectl("apply", "--dry-run=server", "-f", "-", input=bad, check=False)
    assert result.returncode != 0 and "at most one" in result.stderr
