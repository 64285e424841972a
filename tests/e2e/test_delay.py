"""The replication delay end to end (spec.delayGate, spec.resume.catchUp): kubectl-applied
objects on a real API server, the operator as a separate process, DRS as the simulator process.
What the operator sent is counted in the simulator's call log (requests that carried the job,
whatever DRS answered); timers are checked against the status the API server held, watched
from the test (StatusHistory), across SIGKILLs of the operator."""

from __future__ import annotations

import datetime as dt
import json
import math
import time

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
from .sent import StatusHistory, when

SECRET = {"credentialsSecretRef": {"name": "drs-credentials"}}
RUNNING = "INCRE_TRANSFER_STARTED"
# Read the delay every second: the timers below are a few seconds long.
POLL = ("--delay-poll-interval", "1")
# The machine is shared and slow: wait on conditions, generously.
LONG = 120.0
# A delay that stands still until the test changes it (the simulator's rates are per task).
STILL = {"delay_growth_per_second": 0, "delay_catch_up_per_second": 0}
# Where a resume ends, well or not.
ENDED = ("Resumed", "PartiallyResumed")


def _start(cluster, namespace, simulator, start_operator):
    cluster.kubectl("apply", "-f", "-", input=token_secret(namespace))
    return start_operator(operator_args(simulator.url, namespace, *POLL))


def _apply(cluster, namespace: str, name: str, job: str, **spec) -> None:
    cluster.kubectl("apply", "-f", "-", input=djp(namespace, name, [(job, "target")],
                                                  **SECRET, **spec))


def _job(cluster, namespace: str, name: str, job_id: str) -> dict:
    jobs = get_status(cluster, namespace, name).get("jobs") or []
    return next((j for j in jobs if j["jobId"] == job_id), {})






def _sent(simulator, endpoint: str, job_id: str) -> int:
    """Requests of ``endpoint`` that carried ``job_id``, whatever DRS answered."""
    return len(simulator.calls(endpoint, job_id=job_id))


def _task(simulator, job_id: str) -> dict:
    return next(t for t in simulator.tasks() if t["id"] == job_id)


def _events(cluster, namespace: str, name: str) -> list[tuple[str, str, str]]:
    """(type, reason, message) of the Events about the object ``name``."""
    items = json.loads(cluster.kubectl("get", "events", "-n", namespace, "-o", "json").stdout)
    return [(e["type"], e["reason"], e.get("message") or "") for e in items["items"]
            if e["involvedObject"]["name"] == name]


def _event(cluster, namespace: str, name: str, type_: str, reason: str) -> str:
    """The message of the first such Event, waited for (posted just after the status write)."""
    found = wait_for(lambda: [m for t, r, m in _events(cluster, namespace, name)
                              if (t, r) == (type_, reason)], 30, what=f"Event {reason}")
    return found[0]


def _time(value: str) -> float:
    return dt.datetime.fromisoformat(value).timestamp()


def _resume_now(cluster, namespace: str, name: str) -> None:
    cluster.kubectl("annotate", "djp", name, "-n", namespace, "drs.cloudops.dev/resume-now=1")


def test_the_gate_holds_a_high_delay_and_pauses_once_it_is_lowered(
    cluster, namespace, simulator, start_operator
):
    job = new_job_id()
    simulator.seed([{"id": job, "status": RUNNING, "delay_seconds": 600, **STILL}])
    _start(cluster, namespace, simulator, start_operator)
    _apply(cluster, namespace, "gated", job,
           delayGate={"maxDelay": "1m", "waitUpTo": "10m"})

    def held():
        status = get_status(cluster, namespace, "gated")
        reconciling = condition(status, "Reconciling")
        return status if reconciling.get("reason") == "WaitingForDelay" else None

    status = wait_for(held, LONG, what="the gate holding the job")
    entry = status["jobs"][0]
    assert status["phase"] != "Paused" and entry["phase"] == "Pending"
    assert entry["delaySeconds"] == 600 and entry["delayGateSince"]
    assert condition(status, "Reconciling")["status"] == "True"
    assert "10m > 1m" in condition(status, "Reconciling")["message"]
    # Read again every poll interval, and still nothing is sent.
    wait_for(lambda: _sent(simulator, "progress", job) >= 3, 30, what="three readings")
    assert _sent(simulator, "pause", job) == 0
    assert _task(simulator, job)["status"] == RUNNING

    simulator.set_delay(job, delay_seconds=42)
    paused = wait_for(phase_is(cluster, namespace, "gated", "Paused"), LONG, what="paused")
    entry = paused["jobs"][0]
    assert entry["delayAtPause"] == 42 and "delayGateSince" not in entry
    assert _sent(simulator, "pause", job) == 1
    assert _task(simulator, job)["pause_count"] == 1


def test_on_timeout_skip_leaves_the_task_running_and_pause_warns(
    cluster, namespace, simulator, start_operator
):
    skip, anyway = new_job_id(), new_job_id()
    simulator.seed([{"id": j, "status": RUNNING, "delay_seconds": 900, **STILL}
                    for j in (skip, anyway)])
    _start(cluster, namespace, simulator, start_operator)
    _apply(cluster, namespace, "skip", skip,
           delayGate={"maxDelay": "5m", "waitUpTo": "2s", "onTimeout": "Skip"})
    _apply(cluster, namespace, "anyway", anyway,
           delayGate={"maxDelay": "5m", "waitUpTo": "2s", "onTimeout": "Pause"})

    failed = wait_for(phase_is(cluster, namespace, "skip", "Failed", "Paused"), LONG,
                      what="the gate's timeout")
    entry = failed["jobs"][0]
    assert failed["phase"] == "Failed"
    assert (entry["phase"], entry["errorCode"]) == ("Failed", "DelayTooHigh")
    assert "15m > 5m" in entry["errorMessage"] and "onTimeout: Skip" in entry["errorMessage"]
    assert _task(simulator, skip)["status"] == RUNNING
    assert _sent(simulator, "pause", skip) == 0
    assert "not pausing" in _event(cluster, namespace, "skip", "Warning", "DelayGateTimedOut")

    paused = wait_for(phase_is(cluster, namespace, "anyway", "Paused"), LONG, what="paused anyway")
    assert paused["jobs"][0]["delayAtPause"] == 900
    assert _sent(simulator, "pause", anyway) == 1
    message = _event(cluster, namespace, "anyway", "Warning", "DelayGateTimedOut")
    assert "pausing anyway" in message and anyway in message
    # Still Failed, still not sent: the gate's verdict is final.
    assert _sent(simulator, "pause", skip) == 0
    assert _task(simulator, skip)["status"] == RUNNING


def test_a_resume_catches_up_or_times_out(cluster, namespace, simulator, start_operator):
    fast, stuck = new_job_id(), new_job_id()
    simulator.seed([{"id": j, "status": RUNNING, "delay_seconds": 60, **STILL}
                    for j in (fast, stuck)])
    _start(cluster, namespace, simulator, start_operator)
    with StatusHistory(cluster.kubeconfig, namespace) as history:
        _apply(cluster, namespace, "fast", fast,
               resume={"catchUp": {"maxDelay": "10s", "timeout": "5m"}})
        _apply(cluster, namespace, "stuck", stuck,
               resume={"catchUp": {"maxDelay": "10s", "timeout": "3s"}})
        for name in ("fast", "stuck"):
            wait_for(phase_is(cluster, namespace, name, "Paused"), LONG, what=f"{name} paused")
        # Once replicating again, "fast" loses 10 s of delay per second: 60 s -> 10 s in 5 s.
        simulator.set_delay(fast, delay_catch_up_per_second=10)
        for name in ("fast", "stuck"):
            _resume_now(cluster, namespace, name)

        done = wait_for(phase_is(cluster, namespace, "fast", *ENDED), LONG, what="caught up")
        late = wait_for(phase_is(cluster, namespace, "stuck", *ENDED), LONG,
                        what="the catch-up timeout")
    assert (done["phase"], late["phase"]) == ("Resumed", "PartiallyResumed")

    entry = done["jobs"][0]
    assert entry["resumePhase"] == "Resumed" and entry["delaySeconds"] <= 10
    waited = _time(entry["caughtUpTime"]) - _time(entry["resumeAcceptedTime"])
    assert 4 <= waited <= 30, waited  # (60 - 10) / 10 s, in whole seconds
    catching = [s for _, n, s in history.versions if n == "fast" and s.get("phase") == "CatchingUp"]
    assert catching, "fast was never seen CatchingUp"
    assert all(s["jobs"][0]["resumePhase"] == "CatchingUp" for s in catching)
    assert {(condition(s, "Reconciling")["status"], condition(s, "Reconciling")["reason"])
            for s in catching} == {("True", "CatchingUp")}
    assert any((s["jobs"][0].get("delaySeconds") or 0) > 10 for s in catching)
    # Resumed only once caught up: never before the last CatchingUp version.
    phases = [s.get("phase") for _, n, s in history.versions if n == "fast"]
    last = max(i for i, p in enumerate(phases) if p == "CatchingUp")
    assert "Resumed" not in phases[:last], phases
    assert fast in _event(cluster, namespace, "fast", "Normal", "CaughtUp")

    entry = late["jobs"][0]
    assert (entry["resumePhase"], entry["resumeErrorCode"]) == ("Failed", "CatchUpTimeout")
    assert condition(late, "Stalled")["status"] == "True"
    message = _event(cluster, namespace, "stuck", "Warning", "CatchUpTimedOut")
    assert stuck in message and "keep running" in message
    for job in (fast, stuck):
        assert _task(simulator, job)["status"] == RUNNING
        assert _sent(simulator, "pause", job) == 1 and _sent(simulator, "resume", job) == 1


# The restart test. A timer that keeps its start ends at its original deadline, or at the new
# process's first reading when that comes later, plus at most SLACK (the poll interval, a pass,
# the test's polling). One that the new process started again when it first read the job ends
# a whole timer later. The operator stays down until DOWN seconds after the timers began
# (DOWN > SLACK), so the two are never confused. The timers are made longer than a restart
# takes (start-up is slow on a loaded machine), so that the new process usually has to wait out
# the rest of them; when it is back only after a deadline, the bound still holds.
SLACK = 6
DOWN = 8
MIN_TIMER = 20


def _first_read_after(simulator, job_id: str, since: float) -> float:
    """When the first batch-progress request carrying the job after ``since`` arrived."""
    return min(when(c) for c in simulator.calls("progress", job_id=job_id) if when(c) > since)


def _timer_longer_than_a_restart(start) -> tuple[object, int]:
    """Start the operator; a timer length (seconds) well beyond the time it took to start."""
    launched = time.time()
    op = start()
    wait_for(lambda: "leadership gained" in op.log, LONG, what="the operator leading")
    return op, max(MIN_TIMER, DOWN + math.ceil(1.5 * (time.time() - launched)))


def test_sigkill_keeps_the_gate_and_catch_up_timers(
    cluster, namespace, simulator, start_operator
):
    gated, resumed = new_job_id(), new_job_id()
    simulator.seed([{"id": gated, "status": RUNNING, "delay_seconds": 600, **STILL},
                    {"id": resumed, "status": RUNNING, "delay_seconds": 600, **STILL}])
    op, timer = _timer_longer_than_a_restart(
        lambda: _start(cluster, namespace, simulator, start_operator))
    with StatusHistory(cluster.kubeconfig, namespace) as history:
        _apply(cluster, namespace, "resumed", resumed,
               resume={"catchUp": {"maxDelay": "10s", "timeout": f"{timer}s"}})
        wait_for(phase_is(cluster, namespace, "resumed", "Paused"), LONG, what="paused")
        _resume_now(cluster, namespace, "resumed")
        _apply(cluster, namespace, "gated", gated,
               delayGate={"maxDelay": "1m", "waitUpTo": f"{timer}s"})
        catching = wait_for(lambda: _job(cluster, namespace, "resumed", resumed).get(
            "resumePhase") == "CatchingUp" and _job(cluster, namespace, "resumed", resumed),
            LONG, what="catching up")
        waiting = wait_for(lambda: _job(cluster, namespace, "gated", gated).get(
            "delayGateSince") and _job(cluster, namespace, "gated", gated), LONG,
            what="the gate waiting")
        accepted, since = _time(catching["resumeAcceptedTime"]), _time(waiting["delayGateSince"])
        op.kill()
        killed_at = time.time()
        # Both timers were running, well before their end, and nothing was sent twice so far.
        assert killed_at < min(accepted, since) + timer - SLACK, killed_at - min(accepted, since)
        assert _sent(simulator, "pause", gated) == 0
        assert _sent(simulator, "resume", resumed) == 1
        # The killed process's Lease would hold the new one back for its 15 s: gone, the new
        # process leads as soon as it is up (the election has tests of its own).
        cluster.kubectl("delete", "lease", "drs-pause-operator", "-n", namespace)
        # A deliberate outage: the new process must not come back within SLACK of the starts.
        time.sleep(max(0.0, max(accepted, since) + DOWN - time.time()))
        start_operator(operator_args(simulator.url, namespace, *POLL))

        late = wait_for(lambda: _job(cluster, namespace, "resumed", resumed).get(
            "resumePhase") == "Failed" and time.time(), LONG, what="the catch-up timeout")
        paused = wait_for(phase_is(cluster, namespace, "gated", "Paused"), LONG,
                          what="paused at the gate's timeout")
        time.sleep(1.0)  # the last status versions reach the watch

    # The catch-up timeout counted from the resume's acceptance, not from the restart.
    back = _first_read_after(simulator, resumed, killed_at)
    print(f"catch-up ({timer}s): killed at +{killed_at - accepted:.1f}s, read again at "
          f"+{back - accepted:.1f}s, seen Failed at +{late - accepted:.1f}s")
    assert accepted + timer <= late <= max(accepted + timer, back) + SLACK, (
        f"failed {late - accepted:.1f}s after the acceptance, the new process first read "
        f"{back - accepted:.1f}s after it")
    entry = _job(cluster, namespace, "resumed", resumed)
    assert entry["resumeErrorCode"] == "CatchUpTimeout"
    assert _time(entry["resumeAcceptedTime"]) == accepted
    # The gate kept its start through the restart, and paused at its end.
    back = _first_read_after(simulator, gated, killed_at)
    entry = paused["jobs"][0]
    sent_at = _time(entry["lastAttemptTime"])  # whole seconds
    print(f"gate ({timer}s): killed at +{killed_at - since:.1f}s, read again at "
          f"+{back - since:.1f}s, paused at +{sent_at - since:.0f}s")
    assert since + timer - 1 <= sent_at <= max(since + timer, back) + SLACK, (
        f"sent {sent_at - since:.1f}s after the gate began, the new process first read "
        f"{back - since:.1f}s after it")
    assert entry["delayAtPause"] == 600
    starts = {j["delayGateSince"] for _, n, s in history.versions if n == "gated"
              for j in s.get("jobs") or [] if j.get("delayGateSince")}
    assert starts == {waiting["delayGateSince"]}
    accepts = {j["resumeAcceptedTime"] for _, n, s in history.versions if n == "resumed"
               for j in s.get("jobs") or [] if j.get("resumeAcceptedTime")}
    assert accepts == {catching["resumeAcceptedTime"]}
    _event(cluster, namespace, "gated", "Warning", "DelayGateTimedOut")
    _event(cluster, namespace, "resumed", "Warning", "CatchUpTimedOut")
    # Nothing went out twice.
    assert _sent(simulator, "pause", gated) == 1
    assert _sent(simulator, "pause", resumed) == 1 and _sent(simulator, "resume", resumed) == 1


def test_without_a_gate_or_catch_up_no_delay_is_read(
    cluster, namespace, simulator, start_operator
):
    job = new_job_id()
    simulator.seed([{"id": job, "status": RUNNING, "delay_seconds": 600}])
    _start(cluster, namespace, simulator, start_operator)
    _apply(cluster, namespace, "plain", job, resume={"after": "1s"})
    done = wait_for(phase_is(cluster, namespace, "plain", "Resumed"), LONG, what="resumed")
    entry = done["jobs"][0]
    assert _sent(simulator, "pause", job) == 1 and _sent(simulator, "resume", job) == 1
    assert simulator.calls("progress", job_id=job) == []
    assert not {"delaySeconds", "delayTime", "delayAtPause", "caughtUpTime"} & set(entry)
