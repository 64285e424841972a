"""What the operator SENT, per job: the checks that can see a double pause.

A second pause of a task is answered DRS.M00304 or DRS.M01504 by DRS (never ``success``), and
``pause_count`` counts only accepted pauses, so neither can show that the operator sent a job
twice. These checks read the simulator's call log instead: every pause request that carried the
job, whatever its answer (also refused, throttled and faulted ones).

A request carrying a job that an earlier request had already paused (DRS answered it
``success``) is a possible double pause. (Repeats before any success are retries of a job DRS
had not paused: counted, not judged.) A possible double pause is *excused* only when the
operator could not know the job was paused, and did what the design promises before sending it
again:

1. no status write had recorded the job as answered (Accepted, Paused or Failed) before it: the
   status history, watched from the API server, never shows the job going from one of those back
   to Pending (a new write-ahead), and no such version was seen before the request arrived;
2. and either it looked first: a batch-status answer about the job, not PAUSING, arrived after
   the previous request carrying the job and before this one (a restart with a write-ahead
   attempt, a transient answer, a lost answer: every later pass looks before it sends);
   (a request DRS refused as a whole, e.g. HTTP 400 DRS.M00289 for an unknown id in the
   batch, touched no task: a look before it still counts for the request after it);
3. or it is the client's inline retry of a whole request that got no per-job answer (dropped,
   cut off, 429, 5xx, unreadable), carrying the same jobs; or, when DRS refused that retry as a
   whole, the client's split of it (some of its jobs, sent at once).

Everything else is a double pause: e.g. an operator that re-sends after a restart without the
batch-status look (built on the test side: see test_double_pause_detection.py).
"""

from __future__ import annotations

import datetime as dt
import itertools
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PAUSED_STATES = {"PAUSING", "PAUSEING"}
ANSWERED = {"Accepted", "Paused", "Failed"}
# Only a request with no readable per-job answer is retried inline by the client.
NO_ANSWER_FAULTS = {"drop", "timeout", "malformed", "busy"}
# The client sends the parts of a refused request at once; a new pass would look first.
SPLIT_SECONDS = 2.0


def when(call: dict[str, Any], key: str = "received") -> float:
    return dt.datetime.fromisoformat(call.get(key) or call["time"]).timestamp()


class StatusHistory:
    """Every status version of the namespace's DrsJobPause objects, as the API server had them.

    A watch from the API server in a thread (re-listed after outages: versions written while
    the watch was down and overwritten before it came back are missed, and counted in
    ``relists``). ``versions``: (time seen, object name, status) in order.
    """

    def __init__(self, kubeconfig: Path, namespace: str) -> None:
        from kubernetes import client, config

        self.api = client.CustomObjectsApi(
            config.new_client_from_config(config_file=str(kubeconfig))
        )
        self.namespace = namespace
        self.versions: list[tuple[float, str, dict[str, Any]]] = []
        self.relists = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> StatusHistory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(15)

    def _run(self) -> None:
        from kubernetes import watch

        args = ("drs.cloudops.dev", "v1alpha1", self.namespace, "drsjobpauses")
        while not self._stop.is_set():
            try:
                listed = self.api.list_namespaced_custom_object(*args, _request_timeout=10)
                self.relists += 1
                for item in listed["items"]:
                    self._add(item)
                rv = listed["metadata"]["resourceVersion"]
                while not self._stop.is_set():
                    stream = watch.Watch().stream(
                        self.api.list_namespaced_custom_object, *args,
                        resource_version=rv, timeout_seconds=5, _request_timeout=15,
                    )
                    for event in stream:
                        if event["type"] == "ERROR":
                            raise RuntimeError(event["raw_object"])
                        rv = event["object"]["metadata"]["resourceVersion"]
                        if event["type"] in ("ADDED", "MODIFIED"):
                            self._add(event["object"])
            except Exception:  # the API server is down or restarting: list again
                self._stop.wait(1.0)

    def _add(self, obj: dict[str, Any]) -> None:
        status = obj.get("status") or {}
        name = obj["metadata"]["name"]
        last = next((s for _, n, s in reversed(self.versions) if n == name), None)
        if status and status != last:
            self.versions.append((time.time(), name, status))

    def job_phases(self, job_id: str) -> list[tuple[float, str, int]]:
        """(time seen, phase, attempts) of each status version that holds the job."""
        out = []
        for seen, _, status in self.versions:
            for job in status.get("jobs") or []:
                if job.get("jobId") == job_id:
                    out.append((seen, job.get("phase", ""), int(job.get("attempts") or 0)))
        return out


@dataclass
class Verdict:
    requests: dict[str, int] = field(default_factory=dict)  # job -> pause requests carrying it
    excused: list[tuple[str, int, str]] = field(default_factory=list)  # (job, seq, why)
    double: list[tuple[str, int, str]] = field(default_factory=list)  # (job, seq, why)
    retries: list[tuple[str, int, str]] = field(default_factory=list)  # before any success
    regressions: list[tuple[str, str]] = field(default_factory=list)  # answered -> Pending

    def summary(self) -> str:
        repeated = sum(1 for n in self.requests.values() if n > 1)
        return (f"{len(self.requests)} jobs, {sum(self.requests.values())} pause requests, "
                f"{repeated} jobs sent more than once; retries before a success "
                f"{len(self.retries)}; repeats after a success: excused {len(self.excused)}, "
                f"double pauses {len(self.double)}, answered->Pending in status "
                f"{len(self.regressions)}")


def _answered_about(call: dict[str, Any], job_id: str) -> dict[str, Any] | None:
    return next((r for r in call.get("results") or [] if r.get("id") == job_id), None)


def _no_answer(call: dict[str, Any], job_id: str) -> bool:
    status = call.get("status")
    faults = set(call.get("fault") or [])
    return (status is None or status == 429 or status >= 500 or bool(faults & NO_ANSWER_FAULTS)
            or (status == 200 and _answered_about(call, job_id) is None))


def _refused(call: dict[str, Any]) -> bool:
    """DRS refused the request as a whole and touched no task: a 4xx other than 429 (e.g.
    DRS.M00289 for an unknown job id in the batch, whose results name only the unknown ids),
    no success in it, and no fault (a fault's answer says nothing of what DRS did). A look
    made before such a request still tells the operator what it needs for the next one."""
    status = call.get("status")
    return (
        status is not None and 400 <= status < 500 and status != 429
        and not any(r.get("status") == "success" for r in call.get("results") or [])
        and not set(call.get("fault") or []) - {"latency"}
    )


def judge(
    calls: list[dict[str, Any]], jobs: Iterable[str], history: StatusHistory | None
) -> Verdict:
    """Every pause request per job, and whether each repeat is excused (module docstring)."""
    verdict = Verdict()
    pauses = sorted((c for c in calls if c["endpoint"] == "pause"), key=when)
    looks = [c for c in calls if c["endpoint"] == "status"]
    for job in jobs:
        sent = [c for c in pauses if job in (c.get("job_ids") or [])]
        verdict.requests[job] = len(sent)
        phases = history.job_phases(job) if history is not None else []
        for before, after in itertools.pairwise(phases):
            if before[1] in ANSWERED and after[1] == "Pending":
                verdict.regressions.append((job, f"{before[1]} -> Pending"))
        known = [seen for seen, phase, _ in phases if phase in ANSWERED]
        paused_by: dict[str, Any] | None = None
        reached: dict[str, Any] | None = None  # the last request DRS did not refuse as a whole
        for previous, request in itertools.pairwise(sent):
            if not _refused(previous):
                reached = previous
            answer = _answered_about(previous, job)
            if paused_by is None and answer is not None and answer.get("status") == "success":
                paused_by = previous
            if paused_by is None:
                # DRS had not paused it yet: a retry, not a double pause (reported).
                verdict.retries.append((job, request["seq"], "retry of a job not paused yet"))
                continue
            arrived = when(request)
            if known and known[0] < arrived - 0.2:
                verdict.double.append((job, request["seq"], "sent after the status showed it "
                                       "answered"))
                continue
            looked = [
                look for look in looks
                if reached is not None and when(reached) < when(look)
                and when(look, "time") < arrived
                and (answer := _answered_about(look, job)) is not None
                and answer.get("status") not in PAUSED_STATES
            ]
            inline = _no_answer(previous, job) and set(previous.get("job_ids") or []) == set(
                request.get("job_ids") or [])
            # The client's split of a request DRS refused as a whole (400 DRS.M00289 for an
            # unknown id), when that request was the inline retry of an unanswered one: the
            # refusal touched no task, so this is still that retry, with fewer jobs.
            split = (
                _refused(previous) and reached is not None and reached is not previous
                and _no_answer(reached, job)
                and set(request.get("job_ids") or []) <= set(reached.get("job_ids") or [])
                and arrived - when(previous, "time") < SPLIT_SECONDS
            )
            if looked:
                verdict.excused.append((job, request["seq"], "looked up first, not paused"))
            elif inline:
                verdict.excused.append((job, request["seq"], "inline retry of an unanswered "
                                        "request"))
            elif split:
                verdict.excused.append((job, request["seq"], "split of a refused inline retry"))
            else:
                verdict.double.append((job, request["seq"], "sent again without a batch-status "
                                       "look"))
    return verdict


# Faults after which the operator may not have read a per-job answer the log shows.
ANSWER_LOST = NO_ANSWER_FAULTS | {"http_error", "missing_results"}


def resent_in_same_process(
    calls: list[dict[str, Any]], jobs: Iterable[str], starts: list[float]
) -> list[tuple[str, int, int]]:
    """Pause requests that carried a job after the *same* operator process had read DRS's
    ``success`` for it: (job, seq of the success, seq of the repeat).

    A process that read the success knows the task was accepted; it never sends the job again,
    whatever a later look shows (DRS may take a while to show PAUSING, or land the task in
    another state) and whatever failed meanwhile (a status write during an API server outage).
    Only a new process, knowing no more than the status holds, looks and may send again.
    ``starts``: when each operator process was started, in order (time.time()).
    """

    def process(t: float) -> int:
        return sum(1 for s in starts if s <= t)

    out = []
    pauses = sorted((c for c in calls if c["endpoint"] == "pause"), key=when)
    for job in jobs:
        read: dict[str, Any] | None = None  # the success this process read
        for call in (c for c in pauses if job in (c.get("job_ids") or [])):
            if (read is not None and when(read, "time") < when(call)
                    and process(when(call)) == process(when(read))):
                out.append((job, read["seq"], call["seq"]))
            answer = _answered_about(call, job)
            delivered = call.get("status") == 200 and not set(call.get("fault") or []) & (
                ANSWER_LOST)
            if delivered and answer is not None and answer.get("status") == "success":
                read = call
    return out


def trail(calls: list[dict[str, Any]], history: StatusHistory | None, job: str) -> str:
    """Every pause and batch-status call about ``job`` and every status version holding it, in
    time order: what a failed check prints so the repeat can be read without a re-run."""
    lines = []
    for call in calls:
        if call["endpoint"] in ("pause", "status") and job in (call.get("job_ids") or []):
            answer = _answered_about(call, job)
            lines.append((when(call), f"{call['seq']:>5} {call['endpoint']:<6} "
                          f"received {call.get('received')} answered {call['time']} "
                          f"http {call.get('status')} fault={call.get('fault')} "
                          f"jobs={len(call.get('job_ids') or [])} answer={answer}"))
    for seen, phase, attempts in history.job_phases(job) if history is not None else []:
        stamp = dt.datetime.fromtimestamp(seen, dt.UTC).isoformat()
        lines.append((seen, f"      status seen {stamp} phase={phase} attempts={attempts}"))
    return "\n".join(f"  {line}" for _, line in sorted(lines, key=lambda item: item[0]))


def wait_in_flight(sim, since: float, timeout: float = 60.0) -> list[dict[str, Any]]:
    """Poll the simulator until a pause request received after ``since`` is in flight."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [c for c in sim.in_flight("pause") if c.get("job_ids")
                 and when(c) >= since]
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"no pause request in flight within {timeout}s")


def kill_while_in_flight(
    cluster, namespace: str, sim, start_operator, args: list[str], *,
    kills: int = 3, env: dict[str, str] | None = None, objects: int = 6, per_object: int = 5,
) -> tuple[Verdict, list[str], list[dict[str, Any]]]:
    """SIGKILL the operator ``kills`` times, each time while one of its pause requests is in
    flight (the simulator holds pause requests 2 s), new objects arriving before each start;
    then let a last operator converge. Returns the verdict, the job ids and the in-flight
    requests seen at the kills. ``env``: for the operators started after the first kill."""
    from .conftest import djp, get_status, new_job_id, token_secret, wait_for

    jobs = [new_job_id() for _ in range(objects * per_object)]
    sim.seed([{"id": j, "status": "INCRE_TRANSFER_STARTED"} for j in jobs])
    sim.configure(pause_delay_seconds=1.0)
    sim.add_fault(kind="latency", endpoint="pause", latency_ms=2000, times=None)
    waves = [list(range(objects))[i::kills + 1] for i in range(kills + 1)]
    in_flight: list[dict[str, Any]] = []
    try:
        cluster.kubectl("apply", "-f", "-", input=token_secret(namespace))
        with StatusHistory(cluster.kubeconfig, namespace) as history:
            for run in range(kills + 1):
                for i in waves[run]:
                    chunk = [(j, "target") for j in jobs[i * per_object:(i + 1) * per_object]]
                    cluster.kubectl("apply", "-f", "-", input=djp(
                        namespace, f"obj-{i}", chunk,
                        credentialsSecretRef={"name": "drs-credentials"}))
                started = time.time()
                op = start_operator(args, **((env or {}) if run else {}))
                if run == kills:
                    break
                in_flight += wait_in_flight(sim, started)
                op.kill()
            for i in range(objects):
                wait_for(lambda i=i: get_status(cluster, namespace, f"obj-{i}").get("phase")
                         == "Paused", timeout=120, what=f"obj-{i} Paused")
            time.sleep(1.0)  # the last status versions reach the watch
    finally:
        sim.clear_faults()
        sim.configure(pause_delay_seconds=0.0)
    return judge(sim.calls(), jobs, history), jobs, in_flight
