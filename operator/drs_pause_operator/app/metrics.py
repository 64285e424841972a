"""Prometheus metrics, in a registry of their own (tests run several operators in one process).

Every series is named ``drs_pause_<what>[_<unit>][_total]`` without repeating the namespace, and
each fact is counted once: throttled DRS answers are ``drs_pause_requests_total{outcome=
"throttled"}``, not a counter of their own. All state lives on the ``Metrics`` instance.

Labels hold only bounded, non-secret values: endpoint names (pause/status/...), outcome labels,
DRS error codes, phases. The per-object series (``PhaseTally``) add an object's namespace and
name: at most one series per object and name, a task ID only on the delay of a job that has a
delay reading, and all of them go away with the object.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from drs_pause_operator import __version__

_CODE_RE = re.compile(r"[A-Z]{2,8}\.[A-Z0-9]{3,8}")
# DRS documents about 45 codes; a broken or hostile endpoint must not be able to invent
# unbounded label values, so past this many distinct codes the rest count as 'other'.
MAX_CODE_LABELS = 64


def code_label(code: str | None, seen: set[str] | None = None) -> str:
    """DRS error codes as a label; anything unexpected collapses to 'other' (cardinality).

    ``seen`` holds the codes already handed out as labels (it grows here); once it holds
    MAX_CODE_LABELS codes, new ones are 'other'. Without it only the code's shape is checked.
    """
    if not code:
        return ""
    if not _CODE_RE.fullmatch(code):
        return "other"
    if seen is not None and code not in seen:
        if len(seen) >= MAX_CODE_LABELS:
            return "other"
        seen.add(code)
    return code


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self._seen_codes: set[str] = set()
        self.build_info = Gauge(
            "drs_pause_build_info",
            "Always 1; the operator's version as a label.",
            ["version"],
            registry=r,
        )
        self.build_info.labels(__version__).set(1)
        self.requests = Counter(
            "drs_pause_requests",
            "HTTP requests to DRS/IAM by API and outcome (outcome=throttled: asked to slow down).",
            ["api", "outcome", "http_status"],
            registry=r,
        )
        self.request_latency = Histogram(
            "drs_pause_request_duration_seconds",
            "DRS/IAM request latency by API.",
            ["api"],
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=r,
        )
        self.job_results = Counter(
            "drs_pause_job_results",
            "Pause answers per job by result and DRS error code.",
            ["result", "code"],
            registry=r,
        )
        self.retries = Counter(
            "drs_pause_job_retries",
            "Jobs scheduled for another pause attempt.",
            registry=r,
        )
        self.jobs = Gauge(
            "drs_pause_jobs", "Jobs by phase across all objects.", ["phase"], registry=r
        )
        self.objects = Gauge("drs_pause_objects", "Objects by phase.", ["phase"], registry=r)
        self.reconcile = Histogram(
            "drs_pause_reconcile_duration_seconds",
            "Duration of one reconcile pass.",
            buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=r,
        )
        self.batch_size = Histogram(
            "drs_pause_batch_jobs",
            "Jobs per coalesced pause request.",
            buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500),
            registry=r,
        )
        self.rate_limit_wait = Histogram(
            "drs_pause_rate_limit_wait_seconds",
            "Time requests waited for the outbound limiter.",
            buckets=(0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30),
            registry=r,
        )
        self.kube_writes = Counter(
            "drs_pause_kube_writes",
            "Writes to the Kubernetes API by kind.",
            ["kind"],
            registry=r,
        )
        self.stalled = Gauge(
            "drs_pause_stalled_objects",
            "Objects with Stalled=True by reason.",
            ["reason"],
            registry=r,
        )

        self.leader = Gauge(
            "drs_pause_leader",
            "1 while this process holds the leader Lease (and reconciles), else 0.",
            registry=r,
        )
        self.dry_run = Gauge(
            "drs_pause_dry_run",
            "1 when the operator runs with --dry-run (every object only plans), else 0.",
            registry=r,
        )
        # Per object, from its status (PhaseTally): what the chart's alerts name objects by.
        obj = ["namespace", "name"]
        self.paused_since = Gauge(
            "drs_pause_paused_since_timestamp_seconds",
            "When the object's pause completed (status.pausedTime), while a task it paused is "
            "still paused.",
            obj,
            registry=r,
        )
        self.resume_due = Gauge(
            "drs_pause_resume_due_timestamp_seconds",
            "When the object's scheduled resume is due (status.resumeTime), while a task it "
            "paused is not resumed.",
            obj,
            registry=r,
        )
        self.object_stalled = Gauge(
            "drs_pause_object_stalled",
            "1 while the object is Stalled=True, with the condition's reason.",
            [*obj, "reason"],
            registry=r,
        )
        self.object_failed_jobs = Gauge(
            "drs_pause_object_failed_jobs",
            "Jobs of the object that failed, by step (pause, resume, catch_up), while any did.",
            [*obj, "step"],
            registry=r,
        )
        self.task_delay = Gauge(
            "drs_pause_task_delay_seconds",
            "Last replication delay reading of a task (status delaySeconds), for jobs with one.",
            [*obj, "job_id"],
            registry=r,
        )

    def serve(self, port: int) -> None:
        if port:
            start_http_server(port, registry=self.registry)

    def drs_request(self, api: str, status: int, seconds: float, outcome: str) -> None:
        self.requests.labels(api, outcome, str(status or "")).inc()
        self.request_latency.labels(api).observe(seconds)

    def pause_batch(self, jobs: int) -> None:
        self.batch_size.observe(jobs)

    def code_label(self, code: str | None) -> str:
        """``code_label`` with this instance's cap on distinct codes."""
        return code_label(code, self._seen_codes)

    def job_result(self, result: str, code: str | None) -> None:
        self.job_results.labels(result, self.code_label(code)).inc()




# What the per-object series read from a status (the status fields are the product's contract;
# this layer sits below resource/ and names them itself).
JOB_PHASES = ("Pending", "Accepted", "Paused", "Failed")
FOUND_PAUSED = "DRS.M00304"  # with phase Paused: someone else had paused the task
CATCH_UP_TIMEOUT = "CatchUpTimeout"
# Resume phases of a job whose task this object paused and has not (yet) resumed.
_NOT_RESUMED = ("", "Pending", "Accepted", "Failed")


class _Ref(Protocol):
    @property
    def namespace(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def uid(self) -> str: ...


def _timestamp(value: Any) -> float | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)).timestamp()


def _still_paused_by_object(entry: Mapping[str, Any]) -> bool:
    """A job whose task this object paused and has not resumed: a failed resume leaves the task
    paused, a catch-up timeout does not (the task runs, it is only behind)."""
    return (
        entry.get("phase") == "Paused"
        and entry.get("errorCode") != FOUND_PAUSED
        and (entry.get("resumePhase") or "") in _NOT_RESUMED
        and entry.get("resumeErrorCode") != CATCH_UP_TIMEOUT
    )


@dataclass(frozen=True)
class ObjectSeries:
    """What one object contributes to the metrics, derived from its status document."""

    phase: str
    jobs: dict[str, int]
    stalled: str = ""
    paused_since: float | None = None
    resume_due: float | None = None
    failed: dict[str, int] = field(default_factory=dict)  # step -> jobs, only when > 0
    delays: dict[str, float] = field(default_factory=dict)  # job ID -> seconds

    @classmethod
    def of(cls, status: Mapping[str, Any]) -> ObjectSeries:
        entries = [e for e in status.get("jobs") or [] if isinstance(e, Mapping)]
        jobs = dict.fromkeys(JOB_PHASES, 0)
        for entry in entries:
            phase = str(entry.get("phase") or "Pending")
            jobs[phase] = jobs.get(phase, 0) + 1
        stalled = ""
        for cond in status.get("conditions") or []:
            if isinstance(cond, Mapping) and cond.get("type") == "Stalled":
                stalled = str(cond.get("reason") or "") if cond.get("status") == "True" else ""
        resume_failed = [e for e in entries if e.get("resumePhase") == "Failed"]
        catch_up = sum(e.get("resumeErrorCode") == CATCH_UP_TIMEOUT for e in resume_failed)
        failed = {
            "pause": jobs.get("Failed", 0),
            "resume": len(resume_failed) - catch_up,
            "catch_up": catch_up,
        }
        delays = {
            str(e["jobId"]): float(e["delaySeconds"])
            for e in entries
            if isinstance(e.get("jobId"), str)
            and isinstance(e.get("delaySeconds"), int | float)
            and not isinstance(e.get("delaySeconds"), bool)
        }
        paused = any(_still_paused_by_object(e) for e in entries)
        return cls(
            phase=str(status.get("phase") or "Pending"),
            jobs=jobs,
            stalled=stalled,
            paused_since=_timestamp(status.get("pausedTime")) if paused else None,
            resume_due=_timestamp(status.get("resumeTime")) if paused else None,
            failed={step: n for step, n in failed.items() if n},
            delays=delays,
        )


class PhaseTally:
    """Each object's contribution to the gauges, replaced on every pass, gone with the object.

    The aggregates (objects and jobs by phase, stalled objects by reason) add up every object;
    the per-object series carry the object's namespace and name. Two objects can share those
    for a moment (an object deleted and created again under its name, the deletion not seen
    yet): the one set last owns the per-object series, and forgetting the other leaves them.
    """

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics
        self._by_object: dict[str, tuple[tuple[str, str], ObjectSeries]] = {}
        self._owner: dict[tuple[str, str], str] = {}  # (namespace, name) -> uid

    def set(self, ref: _Ref, status: Mapping[str, Any]) -> ObjectSeries:
        series = ObjectSeries.of(status)
        self.forget(ref.uid)
        key = (ref.namespace, ref.name)
        previous = self._owner.get(key)
        if previous is not None:
            self._unlabel(key, self._by_object[previous][1])
        self._by_object[ref.uid] = (key, series)
        self._owner[key] = ref.uid
        self._count(series, 1)
        self._label(key, series)
        return series

    def forget(self, uid: str) -> None:
        old = self._by_object.pop(uid, None)
        if old is None:
            return
        key, series = old
        self._count(series, -1)
        if self._owner.get(key) == uid:
            del self._owner[key]
            self._unlabel(key, series)

    def clear(self) -> None:
        """Forget every object (this process stopped reconciling: it reports none of them)."""
        for uid in list(self._by_object):
            self.forget(uid)

    def _count(self, series: ObjectSeries, sign: int) -> None:
        m = self._metrics
        m.objects.labels(series.phase).inc(sign)
        for phase, n in series.jobs.items():
            m.jobs.labels(phase).inc(sign * n)
        if series.stalled:
            m.stalled.labels(series.stalled).inc(sign)

    def _label(self, key: tuple[str, str], series: ObjectSeries) -> None:
        m = self._metrics
        if series.paused_since is not None:
            m.paused_since.labels(*key).set(series.paused_since)
        if series.resume_due is not None:
            m.resume_due.labels(*key).set(series.resume_due)
        if series.stalled:
            m.object_stalled.labels(*key, series.stalled).set(1)
        for step, n in series.failed.items():
            m.object_failed_jobs.labels(*key, step).set(n)
        for job_id, seconds in series.delays.items():
            m.task_delay.labels(*key, job_id).set(seconds)

    def _unlabel(self, key: tuple[str, str], series: ObjectSeries) -> None:
        """Remove exactly the series ``_label`` set for ``series``."""
        m = self._metrics
        if series.paused_since is not None:
            m.paused_since.remove(*key)
        if series.resume_due is not None:
            m.resume_due.remove(*key)
        if series.stalled:
            m.object_stalled.remove(*key, series.stalled)
        for step in series.failed:
            m.object_failed_jobs.remove(*key, step)
        for job_id in series.delays:
            m.task_delay.remove(*key, job_id)
