"""Chaos: 200 objects x 5 jobs against a simulator that fails about a fifth of all calls, while
the operator is SIGKILLed at random moments and the API server restarts once (etcd keeps its
data). Bounded: a few minutes, every loop capped in count and time.

Then, from the simulator's ground truth and its call log:
- every object converges (observedGeneration current, no job Pending or Accepted);
- every job's final phase agrees with its task's real state: Paused exactly when the task is
  PAUSING, Failed otherwise (never Paused for a task that is not PAUSING);
- nothing is paused twice, counted as SENT (tests/e2e/sent.py): every pause request that carried
  a job after DRS had paused it must be excused (no status write had shown the job answered, and
  the process that sent it looked it up first, or it is the client's inline retry of an
  unanswered request, within its retry budget), and none comes from the operator process that
  had read DRS's success for that job (only a new process, knowing what the status holds, may
  look and send again). Each kill comes while a pause request is in flight;
- no job is excused more often than something gave the operator a reason to send it again (a
  request of a killed process, an answer that did not settle the job: dropped, 5xx, 429,
  DRS.M01504, stripped...): per job and in total.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import time
from collections import Counter
from collections.abc import Iterator

import pytest

from drs_pause_operator.dev.simulator.testing import SimulatorProcess

from .conftest import KILLED_LEASE, TOKEN, operator_args, token_secret
from .sent import (
    StatusHistory,
    judge,
    process_of,
    resent_in_same_process,
    trail,
    wait_in_flight,
)

OBJECTS, JOBS_PER_OBJECT = 200, 5
KILLS = 6
VERIFY_TIMEOUT = 15
REQUEST_TIMEOUT = 2.0
CONVERGE_TIMEOUT = 150
SEED = int(os.environ.get("DRS_CHAOS_SEED", "0")) or random.SystemRandom().randrange(1, 10**6)
# The simulator draws its faults from a stream of its own. Seeded with SEED itself, it shared
# the plan's Mersenne Twister stream, and some seeds then drew far fewer faults than the rules
# ask for (821760: 7-10% of calls in four runs, three of them failing the >10% check below;
# 17% with a stream of its own).
SIMULATOR_SEED = SEED + 1
PAUSABLE = ["FULL_TRANSFER_STARTED", "FULL_TRANSFER_FAILED", "FULL_TRANSFER_COMPLETE",
            "INCRE_TRANSFER_STARTED", "INCRE_TRANSFER_FAILED"]
# Faults on every call, by probability (about 20% of calls fail as a whole), plus latency.
FAULTS = [
    {"kind": "http_error", "status": 503, "probability": 0.04},
    {"kind": "http_error", "status": 500, "error_code": "DRS.M00004", "probability": 0.02},
    {"kind": "rate_limit", "retry_after": 1, "probability": 0.03},
    {"kind": "drop", "probability": 0.02},
    {"kind": "drop", "endpoint": "pause", "after_processing": True, "probability": 0.02},
    {"kind": "timeout", "seconds": 4, "probability": 0.01},
    {"kind": "malformed", "probability": 0.02},
    {"kind": "malformed", "endpoint": "pause", "after_processing": True, "probability": 0.01},
    {"kind": "http_error", "status": 502, "endpoint": "pause", "after_processing": True,
     "probability": 0.01},
    {"kind": "missing_results", "omit": "some", "probability": 0.02},
    {"kind": "missing_results", "omit": "all", "probability": 0.01},
    {"kind": "job_error", "endpoint": "pause", "error_code": "DRS.M01504", "probability": 0.02},
    {"kind": "latency", "latency_ms": 150, "probability": 0.2},
    # Pause requests stay in flight a while: the kills come while one is out.
    {"kind": "latency", "endpoint": "pause", "latency_ms": 400},
]
FINAL_PHASES = {"Paused", "PartiallyPaused", "Failed"}


def job_id(rng: random.Random) -> str:
    return "-".join("".join(rng.choice("0123456789abcdef") for _ in range(n))
                    for n in (8, 4, 4, 4, 12))


def plan_tasks(rng: random.Random) -> tuple[list[list[str]], list[dict], dict[str, str]]:
    """Job ids per object, the tasks to seed, and what each job should end as."""
    objects, seeds, expect = [], [], {}
    for _ in range(OBJECTS):
        ids = []
        for _ in range(JOBS_PER_OBJECT):
            jid, roll = job_id(rng), rng.random()
            ids.append(jid)
            if roll < 0.01:  # not a task DRS knows
                expect[jid] = "Failed"
                continue
            seed = {"id": jid, "status": rng.choice(PAUSABLE)}
            if roll < 0.02:
                seed["status"] = rng.choice(
                    ["CREATING", "CONFIGURATION", "RELEASE_RESOURCE_COMPLETE"])
            elif roll < 0.03:
                seed["pause_outcome"] = "stuck"
            elif roll < 0.04:
                seed["pause_outcome"] = "INCRE_TRANSFER_FAILED"
            expect[jid] = "Paused" if roll >= 0.04 else "Failed"
            seeds.append(seed)
        objects.append(ids)
    return objects, seeds, expect


def manifest(namespace: str, objects: list[list[str]], first: int, rng: random.Random) -> str:
    items = [{
        "apiVersion": "drs.cloudops.dev/v1alpha1", "kind": "DrsJobPause",
        "metadata": {"name": f"chaos-{first + i:03d}", "namespace": namespace},
        "spec": {"projectId": "054ba152d480d55b2f5dc0069e7ddef0",
                 "credentialsSecretRef": {"name": "drs-credentials"},
                 "jobs": [{"jobId": j, "pauseMode": rng.choice(["target", "all"])} for j in ids]},
    } for i, ids in enumerate(objects)]
    return json.dumps({"apiVersion": "v1", "kind": "List", "items": items})


def longest_waits(history, count: int = 3) -> list[tuple[float, str, int, int, str]]:
    """The longest retry waits any status version set, from the moment it was seen: (seconds,
    object, attempts, transient failures, error code). Waits follow transientFailures, so a
    job whose requests were cut off by the kills does not wait longer for it."""
    waits = []
    for seen, name, status in history.versions:
        for job in status.get("jobs", []):
            if job.get("phase") == "Pending" and job.get("nextAttemptTime"):
                wait = dt.datetime.fromisoformat(job["nextAttemptTime"]).timestamp() - seen
                waits.append((round(wait, 1), name, job.get("attempts", 0),
                              job.get("transientFailures", 0), job.get("errorCode", "")))
    return sorted(waits, reverse=True)[:count]


def explain_unsettled(items: list[dict], names: list[str], operators: list, history) -> None:
    """What a failed convergence needs to be understood: each unsettled object's status, the
    status versions the watch saw, and every operator log line that names the object."""
    by_name = {o["metadata"]["name"]: o for o in items}
    for name in names:
        obj = by_name[name]
        print(f"=== {name}: generation {obj['metadata']['generation']} rv "
              f"{obj['metadata']['resourceVersion']}\n{json.dumps(obj.get('status'), indent=1)}")
        for seen, who, status in history.versions:
            if who == name:
                print(f"  version seen {seen:.3f}: phase {status.get('phase')} jobs "
                      f"{[(j['phase'], j.get('attempts')) for j in status.get('jobs', [])]}")
        for index, op in enumerate(operators):
            lines = [line for line in op.log.splitlines() if f"/{name}" in line]
            print(f"  operator {index}: {len(lines)} lines")
            for line in lines[-40:]:
                print(f"    {line[:300]}")
    print(f"longest retry waits set: {longest_waits(history)}")
    print(operators[-1].log[-6000:])
    # What each pass in progress waits on, and whether the object has a pass at all.
    print(operators[-1].dump()[:40000])


def unsettled_job_slots(calls: list[dict], starts: list[float]) -> int:
    """From the call log alone, an upper bound of repeats anything could excuse: the jobs of
    each pause request with a fault (latency aside), an answer other than HTTP 200, a per-job
    answer other than success, or sent by a process that was killed later."""
    process = process_of(starts)
    last = len(starts)
    return sum(len(c["job_ids"]) for c in calls if c["endpoint"] == "pause" and (
        set(c.get("fault") or []) - {"latency"} or c.get("status") != 200
        or any(r.get("status") != "success" for r in c.get("results") or [])
        or process(c) < last))


@pytest.fixture
def chaos_simulator() -> Iterator[SimulatorProcess]:
    with SimulatorProcess(["--token", TOKEN, "--seed", str(SIMULATOR_SEED), "--latency-ms", "5",
                           "--pause-delay", "0.5", "--log-level", "WARNING"]) as sim:
        yield sim


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_chaos_nothing_lost_nothing_paused_twice_needlessly(
    cluster, namespace, chaos_simulator, start_operator, request
):
    sim = chaos_simulator
    rng = random.Random(SEED)
    print(f"\nchaos seed {SEED} (DRS_CHAOS_SEED={SEED} repeats the plan)")
    objects, seeds, expect = plan_tasks(rng)
    sim.seed(seeds)
    sim.admin("POST", "/admin/faults", [{**f, "times": None} for f in FAULTS])
    cluster.kubectl("apply", "-f", "-", input=token_secret(namespace))
    # Small batches: many requests, so many faults and many moments to be killed in.
    # (DEBUG: the log tells which answers the operator read; see ANSWER_READ.)
    args = operator_args(sim.url, namespace, "--verify-timeout", str(VERIFY_TIMEOUT),
                         "--request-timeout", str(REQUEST_TIMEOUT), "--batch-size", "10")
    operators = []

    started = time.monotonic()
    history = StatusHistory(cluster.kubeconfig, namespace).__enter__()
    request.addfinalizer(lambda: history.__exit__(None, None, None))  # also when a check fails
    in_flight: list[dict] = []
    starts: list[float] = []  # when each operator process was started
    waves = [objects[i::KILLS + 1] for i in range(KILLS + 1)]
    first = 0

    def apply_wave(index: int) -> None:
        nonlocal first
        cluster.kubectl("apply", "-f", "-", input=manifest(namespace, waves[index], first, rng))
        first += len(waves[index])

    for run in range(KILLS):
        # New objects arrive in waves, so every run has work in hand when it is killed.
        apply_wave(run)
        began = time.time()
        starts.append(began)
        op = start_operator([*args, *KILLED_LEASE])
        operators.append(op)
        time.sleep(rng.uniform(0.0, 2.0))
        in_flight += wait_in_flight(sim, began)
        op.kill()  # SIGKILL, with a pause request out
    # The last operator lives on through an API server restart (etcd keeps the data), and the
    # last wave arrives after it: its watch must come back by itself.
    began = time.time()
    starts.append(began)
    final = start_operator(args)
    operators.append(final)
    # Once it works (its kopf has resolved what to watch: a restart during that discovery is a
    # dead end the liveness probe reports, engine/watchcheck.py), the API server restarts.
    wait_in_flight(sim, began, timeout=90)
    time.sleep(rng.uniform(0.0, 2.0))
    cluster.restart_apiserver()
    apply_wave(KILLS)
    chaos_seconds = time.monotonic() - started

    # -- every object converges ------------------------------------------------------------
    deadline = time.monotonic() + CONVERGE_TIMEOUT
    while True:
        items = json.loads(cluster.kubectl("get", "djp", "-n", namespace, "-o", "json").stdout)
        items = items["items"]
        unsettled = [
            o["metadata"]["name"] for o in items
            if (o.get("status") or {}).get("observedGeneration") != o["metadata"]["generation"]
            or o["status"].get("phase") not in FINAL_PHASES
            or any(j["phase"] in ("Pending", "Accepted") for j in o["status"].get("jobs", []))
        ]
        if len(items) == OBJECTS and not unsettled:
            break
        if time.monotonic() > deadline:
            history.__exit__(None, None, None)
            explain_unsettled(items, unsettled[:3], operators, history)
            raise AssertionError(f"{len(unsettled)} objects did not converge: {unsettled[:10]}")
        time.sleep(2)
    converged_seconds = time.monotonic() - started
    assert final.proc.poll() is None, "the operator died"

    # -- every job's phase agrees with the task's real state -------------------------------
    tasks = {t["id"]: t for t in sim.tasks()}
    phases = {j["jobId"]: j for o in items for j in o["status"]["jobs"]}
    assert len(phases) == OBJECTS * JOBS_PER_OBJECT
    wrong = []
    for jid, job in phases.items():
        task = tasks.get(jid)
        real = task["status"] if task else None
        if job["phase"] == "Paused" and real != "PAUSING":
            wrong.append((jid, "reported Paused, task is", real))
        elif job["phase"] != "Paused" and real == "PAUSING":
            wrong.append((jid, f"reported {job['phase']}, task is PAUSING", job["errorMessage"]))
        elif job["phase"] != expect[jid]:
            wrong.append((jid, f"reported {job['phase']}, expected {expect[jid]}", real))
    if wrong:
        calls = sim.calls()
        for jid, *_ in wrong[:3]:
            print(f"--- {jid}: status {json.dumps(phases[jid])}\n    task {tasks.get(jid)}")
            for call in calls:
                if jid in (call.get("job_ids") or []):
                    result = next((r for r in call.get("results") or [] if r.get("id") == jid),
                                  None)
                    print(f"    {call['seq']} {call['time']} {call['endpoint']} {call['status']}"
                          f" fault={call['fault']} {result}")
    assert not wrong, wrong[:20]
    for o in items:
        summary = o["status"]["summary"]
        assert summary["pending"] == 0 and summary["total"] == JOBS_PER_OBJECT

    # -- nothing paused twice, counted as sent ---------------------------------------------
    time.sleep(1.0)  # the last status versions reach the watch
    history.__exit__(None, None, None)
    calls = sim.calls()
    assert calls and calls[0]["seq"] == 1, "the call log overflowed"
    verdict = judge(calls, list(phases), history, starts=starts,
                    request_timeout=REQUEST_TIMEOUT)
    successes = Counter(r["id"] for c in calls if c["endpoint"] == "pause"
                        for r in c.get("results") or [] if r.get("status") == "success")
    for jid, task in tasks.items():
        assert task["pause_count"] == successes[jid], jid
    print(f"sent: {verdict.summary()}; in flight at the kills: "
          f"{sum(len(c['job_ids']) for c in in_flight)} jobs; status relists {history.relists}")
    print(f"excused: {dict(Counter(why for _, _, why in verdict.excused))}")

    faults = Counter(f for call in calls for f in call.get("fault") or [])
    # A fault is an answer gone wrong; latency alone is not one.
    faulty_calls = sum(1 for call in calls if set(call.get("fault") or []) - {"latency"})
    by_endpoint = Counter(call["endpoint"] for call in calls)
    print(f"objects: {OBJECTS} x {JOBS_PER_OBJECT} jobs; final phases: "
          f"{dict(Counter(o['status']['phase'] for o in items))}; jobs: "
          f"{dict(Counter(j['phase'] for j in phases.values()))}")
    print(f"calls: {len(calls)} {dict(by_endpoint)}; with a fault: {faulty_calls} "
          f"({100 * faulty_calls / len(calls):.0f}%): {dict(faults)}")
    print(f"operator SIGKILLs: {KILLS}; API server restarts: 1 (under the last operator)")
    print(f"chaos phase {chaos_seconds:.0f}s, converged after {converged_seconds:.0f}s")
    print(f"longest retry waits set: {longest_waits(history)}")
    print(f"attempts per job: {sorted(Counter(j['attempts'] for j in phases.values()).items())};"
          f" most transient failures of a job: "
          f"{max(j.get('transientFailures', 0) for j in phases.values())}")
    assert not verdict.regressions, verdict.regressions[:10]
    assert faulty_calls / len(calls) > 0.1
    per_job = verdict.excused_per_job()
    same_process = resent_in_same_process(calls, list(phases), starts,
                                          request_timeout=REQUEST_TIMEOUT)
    over = verdict.over_budget()
    shown = [j for j, _ in per_job.most_common(2)] + [j for j, _, _ in verdict.double[:3]]
    for job in dict.fromkeys(shown + [j for j, _, _ in same_process[:3]] + list(over)[:3]):
        print(f"--- {job}: excused {per_job[job]} of {verdict.opportunities[job]} "
              f"opportunities, in flight at a kill "
              f"{[c['received'] for c in in_flight if job in c['job_ids']]}\n"
              f"{trail(calls, history, job)}")
    unsettled = unsettled_job_slots(calls, starts)
    print(f"excused repeats per job: at most {max(per_job.values(), default=0)}; in total "
          f"{len(verdict.excused)}, opportunities {sum(verdict.opportunities.values())} "
          f"{dict(verdict.reasons)}, unsettled job slots in the log {unsettled}")
    # Every repeat after a success is excused (looked up first, or an inline retry) ...
    assert not verdict.double, verdict.double[:10]
    # ... never sent by the process that had read the success (it knows DRS accepted it) ...
    assert not same_process, same_process[:10]
    # ... and backed by what left the operator without an answer settling the job: per job
    # (the judge's count), and in total (counted from the log alone, more loosely).
    assert not over, list(over.items())[:10]
    assert len(verdict.excused) <= unsettled
