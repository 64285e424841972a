"""Prometheus metrics, in a registry of their own (tests run several operators in one process).

Every series is named ``drs_pause_<what>[_<unit>][_total]`` without repeating the namespace, and
each fact is counted once: throttled DRS answers are ``drs_pause_requests_total{outcome=
"throttled"}``, not a counter of their own. All state lives on the ``Metrics`` instance.

Labels hold only bounded, non-secret values: endpoint names (pause/status/...), outcome labels,
DRS error codes, phases.
"""

from __future__ import annotations

import re

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


class PhaseTally:
    """Jobs and objects by phase, kept as gauges by replacing each object's contribution."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics
        self._by_object: dict[str, tuple[str, dict[str, int], str]] = {}

    def set(self, uid: str, phase: str, jobs: dict[str, int], stalled: str) -> None:
        self.forget(uid)
        self._by_object[uid] = (phase, jobs, stalled)
        self._metrics.objects.labels(phase).inc()
        for job_phase, n in jobs.items():
            self._metrics.jobs.labels(job_phase).inc(n)
        if stalled:
            self._metrics.stalled.labels(stalled).inc()

    def forget(self, uid: str) -> None:
        old = self._by_object.pop(uid, None)
        if old is None:
            return
        phase, jobs, stalled = old
        self._metrics.objects.labels(phase).dec()
        for job_phase, n in jobs.items():
            self._metrics.jobs.labels(job_phase).dec(n)
        if stalled:
            self._metrics.stalled.labels(stalled).dec()
