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
2. and either it looked first: the process that sends read a batch-status answer about the job,
   not PAUSING, that DRS gave after it had answered the previous request carrying the job and
   before this one (HTTP 200, no fault that replaced the answer or stripped the job from it);
   (a request DRS refused as a whole, e.g. HTTP 400 DRS.M00289 for an unknown id in the
   batch, touched no task: a look before it still counts for the request after it);
3. or it is the client's inline retry of a whole request that got no readable answer (dropped,
   cut off, 408, 429, 5xx, unreadable, a transient error code), carrying the same jobs, from
   the same process, within inline_seconds() of that answer, and no more of them in a row than
   the client's budget (MAX_INLINE_RETRIES); or, when DRS refused that retry as a whole, the
   client's split of it (some of its jobs, sent at once).

And every repeat needs a reason the process had to send it again at all: the previous request
carrying the job left that process without an answer that settles the job (no answer, a
transient one, DRS.M00304, a refusal for another job), or the process that sent it was killed
(whatever it had read died with it). ``Verdict.opportunities`` counts those per job; excused
repeats beyond them are a double pause in disguise (``Verdict.over_budget``).

Everything else is a double pause: e.g. an operator that re-sends after a restart without the
batch-status look (built on the test side: see test_double_pause_detection.py).
What reached the operator is read from the call log's ``answered_ids`` (the ids the answer's
body really carried); ``results`` is what DRS did, kept also where a ``missing_results`` fault
stripped the body afterwards: after that fault, a call without ``answered_ids`` answered none.
"""

from __future__ import annotations

import bisect
import datetime as dt
import inspect
import itertools
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from drs_pause_operator.app.settings import Settings
from drs_pause_operator.drs.client import DrsClient
from drs_pause_operator.drs.retry import code_is_transient

PAUSED_STATES = {"PAUSING", "PAUSEING"}
ANSWERED = {"Accepted", "Paused", "Failed"}
NOT_PAUSABLE = "DRS.M00304"  # "maybe paused already": the operator looks, and may send again
# Faults that replace the whole answer with none the client can read: it retries inline.
NO_ANSWER_FAULTS = {"drop", "timeout", "malformed", "busy"}
# Faults that leave DRS's per-job answers readable (missing_results only as answered_ids say).
ANSWER_KEPT = {"latency", "missing_results", "job_error"}
# The client sends the parts of a refused request at once; a new pass would look first.
SPLIT_SECONDS = 2.0


def _client_default(name: str) -> Any:
    return inspect.signature(DrsClient.__init__).parameters[name].default


# The client's inline retries (drs/client.py; the operator's gateway keeps these defaults): a
# request whose whole answer was transient goes again at most MAX_INLINE_RETRIES times in a row,
# each after a backoff or Retry-After of at most MAX_INLINE_DELAY (a longer one ends the loop
# and hands the jobs to the next pass, which looks first).
MAX_INLINE_RETRIES: int = _client_default("max_inline_retries")
MAX_INLINE_DELAY: float = _client_default("max_inline_delay")
# Then the retry waits for a client slot (held at worst for a request timeout) and for a token
# of the outbound rate limit behind the other slots' requests, at a sixteenth of the rate at
# worst (outbound/ratelimit.py, after 429s), by the operator's defaults.
_SETTINGS = Settings.model_fields
LIMITER_WAIT: float = _SETTINGS["max_concurrency"].default / (_SETTINGS["rate_limit"].default / 16)
# The operator's --request-timeout by default: an answer DRS gave later than that (less a
# margin: the client's clock starts before the simulator's) may never have been read.
DEFAULT_REQUEST_TIMEOUT: float = _SETTINGS["request_timeout"].default
TIMEOUT_MARGIN = 0.5


def inline_seconds(request_timeout: float) -> float:
    """The longest a failed answer may precede the client's inline retry of it."""
    return MAX_INLINE_DELAY + LIMITER_WAIT + request_timeout


def when(call: dict[str, Any], key: str = "received") -> float:
    return dt.datetime.fromisoformat(call.get(key) or call["time"]).timestamp()


def process_of(starts: Sequence[float] | None) -> Callable[[dict[str, Any]], int]:
    """Which operator process sent a call: the last one started at or before it arrived.
    ``starts``: when each process began (time.time()), in order; None: one process."""
    ordered = sorted(starts or [])
    return lambda call: bisect.bisect_right(ordered, when(call))


class PhaseHistory(Protocol):
    def job_phases(self, job_id: str) -> list[tuple[float, str, int]]: ...


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
    # job -> repeats after a success that had a reason to be sent (module docstring), and why
    opportunities: dict[str, int] = field(default_factory=dict)
    reasons: Counter[str] = field(default_factory=Counter)
    inline_gaps: list[float] = field(default_factory=list)  # seconds, failed answer -> retry

    def excused_per_job(self) -> Counter[str]:
        return Counter(job for job, _, _ in self.excused)

    def over_budget(self) -> dict[str, tuple[int, int]]:
        """Jobs excused more often than something could excuse: (excused, opportunities)."""
        return {job: (n, self.opportunities.get(job, 0))
                for job, n in self.excused_per_job().items()
                if n > self.opportunities.get(job, 0)}

    def summary(self) -> str:
        repeated = sum(1 for n in self.requests.values() if n > 1)
        return (f"{len(self.requests)} jobs, {sum(self.requests.values())} pause requests, "
                f"{repeated} jobs sent more than once; retries before a success "
                f"{len(self.retries)}; repeats after a success: excused {len(self.excused)} "
                f"of {sum(self.opportunities.values())} opportunities "
                f"({dict(self.reasons)}), double pauses {len(self.double)}, "
                f"answered->Pending in status {len(self.regressions)}; longest inline retry "
                f"gap {max(self.inline_gaps, default=0.0):.1f}s")


def _answered_about(call: dict[str, Any], job_id: str) -> dict[str, Any] | None:
    """What DRS answered about the job (the log keeps it even when a fault hid it)."""
    return next((r for r in call.get("results") or [] if r.get("id") == job_id), None)


def _faults(call: dict[str, Any]) -> set[str]:
    return set(call.get("fault") or [])


def _no_answer(call: dict[str, Any], request_timeout: float) -> bool:
    """The client read no answer to the request as a whole, and takes that as transient (it
    retries inline): nothing came, 408, 429, 5xx, a body it cannot read, an error without
    results, a transient error code, or an answer later than it waits."""
    status = call.get("status")
    return (status is None or status in (408, 429) or status >= 500
            or bool(_faults(call) & NO_ANSWER_FAULTS)
            or code_is_transient(call.get("error_code")) is True
            or when(call, "time") - when(call) > request_timeout - TIMEOUT_MARGIN)


def _read(call: dict[str, Any], job_id: str, request_timeout: float) -> dict[str, Any] | None:
    """The answer about the job that reached the process, or None."""
    faults = _faults(call)
    if _no_answer(call, request_timeout) or faults - ANSWER_KEPT:
        return None
    answered = call.get("answered_ids")
    if answered is None and "missing_results" in faults:
        return None  # results were stripped after the log took them: which went out is unknown
    if answered is not None and job_id not in answered:
        return None
    return _answered_about(call, job_id)


def _settles(answer: dict[str, Any] | None) -> bool:
    """Whether a per-job answer leaves nothing to send: success, or a failure the operator
    takes as final (not transient, not DRS.M00304)."""
    if answer is None:
        return False
    if answer.get("status") == "success":
        return True
    code = answer.get("error_code")
    if answer.get("status") is None and code is None:
        return False
    return code != NOT_PAUSABLE and code_is_transient(code) is not True


def _refused(call: dict[str, Any]) -> bool:
    """DRS refused the request as a whole and touched no task: a 4xx other than 408 and 429
    with no transient code (e.g. DRS.M00289 for an unknown job id in the batch, whose results
    name only the unknown ids), no success in it, and no fault (a fault's answer says nothing
    of what DRS did). A look made before such a request still tells the operator what it needs
    for the next one."""
    status = call.get("status")
    return (
        status is not None and 400 <= status < 500 and status not in (408, 429)
        and code_is_transient(call.get("error_code")) is not True
        and not any(r.get("status") == "success" for r in call.get("results") or [])
        and not _faults(call) - {"latency"}
    )


def _reason(previous: dict[str, Any], job: str, same_process: bool,
            request_timeout: float) -> str | None:
    """Why the process sending the next request had no answer settling the job from
    ``previous``; None when it had one (nothing can excuse sending the job again)."""
    if not same_process:
        return "killed"
    if _no_answer(previous, request_timeout):
        return "no answer"
    answer = _read(previous, job, request_timeout)
    if answer is None:
        return "no answer about the job"
    if not _settles(answer):
        return f"answered {answer.get('error_code') or answer.get('status')}"
    return None


def judge(
    calls: list[dict[str, Any]], jobs: Iterable[str], history: PhaseHistory | None, *,
    starts: Sequence[float] | None = None, request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
) -> Verdict:
    """Every pause request per job, and whether each repeat is excused (module docstring).
    ``starts``: when each operator process began sending (process_of); ``request_timeout``:
    the operator's --request-timeout."""
    verdict = Verdict()
    process = process_of(starts)
    pauses = sorted((c for c in calls if c["endpoint"] == "pause"), key=when)
    looks = [c for c in calls if c["endpoint"] == "status"]

    def looked(job: str, after: dict[str, Any] | None, request: dict[str, Any]) -> bool:
        """The process sending ``request`` read a batch-status answer about the job, not
        PAUSING, given after DRS answered ``after`` and before ``request`` arrived."""
        return after is not None and any(
            process(look) == process(request)
            and when(after, "time") < when(look) and when(look, "time") < when(request)
            and look.get("status") == 200
            and (answer := _read(look, job, request_timeout)) is not None
            and answer.get("status") not in PAUSED_STATES
            for look in looks
        )

    for job in jobs:
        sent = [c for c in pauses if job in (c.get("job_ids") or [])]
        verdict.requests[job] = len(sent)
        verdict.opportunities[job] = 0
        phases = history.job_phases(job) if history is not None else []
        for before, after in itertools.pairwise(phases):
            if before[1] in ANSWERED and after[1] == "Pending":
                verdict.regressions.append((job, f"{before[1]} -> Pending"))
        known = [seen for seen, phase, _ in phases if phase in ANSWERED]
        paused_by: dict[str, Any] | None = None
        reached: dict[str, Any] | None = None  # the last request DRS did not refuse as a whole
        in_a_row = 0  # inline retries: the client's loop starts anew after a look or a split
        for previous, request in itertools.pairwise(sent):
            if not _refused(previous):
                reached = previous
            answer = _answered_about(previous, job)
            if paused_by is None and answer is not None and answer.get("status") == "success":
                paused_by = previous
            arrived = when(request)
            same_process = process(previous) == process(request)
            gap = arrived - when(previous, "time")
            first_look = looked(job, reached, request)
            inline = (
                not first_look and same_process and _no_answer(previous, request_timeout)
                and set(previous.get("job_ids") or []) == set(request.get("job_ids") or [])
                and gap <= inline_seconds(request_timeout)
            )
            # The client's split of a request DRS refused as a whole (400 DRS.M00289 for an
            # unknown id), when that request was the inline retry of an unanswered one: the
            # refusal touched no task, so this is still that retry, with fewer jobs.
            split = (
                not first_look and not inline and same_process and _refused(previous)
                and reached is not None and reached is not previous
                and _no_answer(reached, request_timeout)
                and process(reached) == process(request)
                and set(request.get("job_ids") or []) <= set(reached.get("job_ids") or [])
                and gap < SPLIT_SECONDS
            )
            in_a_row = in_a_row + 1 if inline else 0
            if paused_by is None:
                # DRS had not paused it yet: a retry, not a double pause (reported).
                verdict.retries.append((job, request["seq"], "retry of a job not paused yet"))
                continue
            reason = _reason(previous, job, same_process, request_timeout)
            if reason is not None:
                verdict.opportunities[job] += 1
                verdict.reasons[reason] += 1
            seq, no_look = request["seq"], "sent again without a batch-status look"
            if known and known[0] < arrived - 0.2:
                verdict.double.append((job, seq, "sent after the status showed it answered"))
            elif first_look:
                verdict.excused.append((job, seq, "looked up first, not paused"))
            elif inline and in_a_row <= MAX_INLINE_RETRIES:
                verdict.excused.append((job, seq, "inline retry of an unanswered request"))
                verdict.inline_gaps.append(gap)
            elif split:
                verdict.excused.append((job, seq, "split of a refused inline retry"))
            elif inline:
                verdict.double.append((job, seq, f"{no_look}: inline retry {in_a_row} in a row, "
                                       f"the client makes {MAX_INLINE_RETRIES}"))
            else:
                verdict.double.append((job, seq, no_look))
    return verdict


def resent_in_same_process(
    calls: list[dict[str, Any]], jobs: Iterable[str], starts: Sequence[float], *,
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
) -> list[tuple[str, int, int]]:
    """Pause requests that carried a job after the *same* operator process had read DRS's
    ``success`` for it: (job, seq of the success, seq of the repeat).

    A process that read the success knows the task was accepted; it never sends the job again,
    whatever a later look shows (DRS may take a while to show PAUSING, or land the task in
    another state) and whatever failed meanwhile (a status write during an API server outage).
    Only a new process, knowing no more than the status holds, looks and may send again.
    ``starts``: when each operator process was started, in order (time.time()).
    """
    process = process_of(starts)
    out = []
    pauses = sorted((c for c in calls if c["endpoint"] == "pause"), key=when)
    for job in jobs:
        read: dict[str, Any] | None = None  # the success this process read
        for call in (c for c in pauses if job in (c.get("job_ids") or [])):
            if (read is not None and when(read, "time") < when(call)
                    and process(call) == process(read)):
                out.append((job, read["seq"], call["seq"]))
            answer = _read(call, job, request_timeout)
            if answer is not None and answer.get("status") == "success":
                read = call
    return out


def trail(calls: list[dict[str, Any]], history: PhaseHistory | None, job: str) -> str:
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


def wait_in_flight(sim, since: float, timeout: float = 60.0,
                   endpoint: str = "pause") -> list[dict[str, Any]]:
    """Poll the simulator until a request (``pause``, ``retry``...) carrying jobs, received
    after ``since``, is in flight."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [c for c in sim.in_flight(endpoint) if c.get("job_ids")
                 and when(c) >= since]
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"no {endpoint} request in flight within {timeout}s")


def kill_while_in_flight(
    cluster, namespace: str, sim, start_operator, args: list[str], *,
    kills: int = 3, env: dict[str, str] | None = None, objects: int = 6, per_object: int = 5,
) -> tuple[Verdict, list[str], list[dict[str, Any]]]:
    """SIGKILL the operator ``kills`` times, each time while one of its pause requests is in
    flight (the simulator holds pause requests 2 s), new objects arriving before each start;
    then let a last operator converge. Returns the verdict, the job ids and the in-flight
    requests seen at the kills. ``env``: for the operators started after the first kill."""
    from .conftest import KILLED_LEASE, djp, get_status, new_job_id, token_secret, wait_for

    jobs = [new_job_id() for _ in range(objects * per_object)]
    sim.seed([{"id": j, "status": "INCRE_TRANSFER_STARTED"} for j in jobs])
    sim.configure(pause_delay_seconds=1.0)
    sim.add_fault(kind="latency", endpoint="pause", latency_ms=2000, times=None)
    waves = [list(range(objects))[i::kills + 1] for i in range(kills + 1)]
    in_flight: list[dict[str, Any]] = []
    starts: list[float] = []  # when each operator process was started
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
                starts.append(started)
                # Every process but the last is killed: a short Lease lets the next one lead sooner.
                killed = run < kills
                op = start_operator([*args, *KILLED_LEASE] if killed else args,
                                    **((env or {}) if run else {}))
                if not killed:
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
    return judge(sim.calls(), jobs, history, starts=starts), jobs, in_flight
