"""Metrics: Prometheus names, bounded labels, and gauges that go back to zero when objects go
away."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest

from drs_pause_operator import __version__
from drs_pause_operator.app.metrics import (
    MAX_CODE_LABELS,
    Metrics,
    ObjectSeries,
    PhaseTally,
    code_label,
)


@pytest.mark.parametrize(
    ("code", "label"),
    [
        (None, ""),
        ("", ""),
        ("DRS.M00304", "DRS.M00304"),
        ("APIGW.0308", "APIGW.0308"),
        ("APIG.0308", "APIG.0308"),
        ("drs.m00304", "other"),
        ("DRS.M00304 extra", "other"),
        ("DRS-M00304", "other"),
        ("X" * 500, "other"),
        ("<script>", "other"),
        ("DRS.M0", "other"),
        ("DRS.M00304\x00", "other"),
        ("T0K3N-VALUE", "other"),
    ],
)
def test_code_label(code: str | None, label: str) -> None:
    assert code_label(code) == label


def test_code_label_refuses_a_trailing_newline() -> None:
    assert code_label("DRS.M00304\n") == "other"


def test_code_label_caps_the_number_of_distinct_codes() -> None:
    seen: set[str] = set()
    labels = {code_label(f"DRS.X{i:05d}", seen) for i in range(MAX_CODE_LABELS + 10)}
    assert len(labels - {"other"}) == MAX_CODE_LABELS and "other" in labels
    assert code_label("DRS.X00000", seen) == "DRS.X00000"  # a code seen before keeps its label
    assert len(seen) == MAX_CODE_LABELS


def test_each_metrics_instance_has_its_own_code_cap() -> None:
    """No module-level state: a full cap in one operator does not leak into another."""
    a, b = Metrics(), Metrics()
    for i in range(MAX_CODE_LABELS + 1):
        a.job_result("failed", f"DRS.X{i:05d}")
    assert a.code_label("DRS.M05003") == "other"
    assert b.code_label("DRS.M05003") == "DRS.M05003"
    assert code_label("DRS.M05003") == "DRS.M05003"  # without a set: the shape check only


def test_job_results_use_the_guarded_label() -> None:
    m = Metrics()
    m.job_result("failed", "DRS.M05003")
    m.job_result("failed", "garbage code from a broken proxy")
    m.job_result("failed", "another garbage code")
    r = m.registry
    assert (
        r.get_sample_value(
            "drs_pause_job_results_total", {"result": "failed", "code": "DRS.M05003"}
        )
        == 1
    )
    assert (
        r.get_sample_value("drs_pause_job_results_total", {"result": "failed", "code": "other"})
        == 2
    )


def _gauge(m: Metrics, name: str, label: str, value: str) -> float:
    return m.registry.get_sample_value(name, {label: value}) or 0.0


@dataclass(frozen=True)
class Ref:
    namespace: str
    name: str
    uid: str


def status(phase: str, jobs: list[str | dict[str, Any]], stalled: str = "",
           **fields: Any) -> dict[str, Any]:
    """A status document as the operator writes it; a job is its phase or its whole entry."""
    return {
        "phase": phase,
        "conditions": [
            {"type": "Ready", "status": "False", "reason": phase},
            {"type": "Stalled", "status": "True" if stalled else "False",
             "reason": stalled or "NotStalled"},
        ],
        "jobs": [
            {"jobId": f"job-{i}", "phase": j} if isinstance(j, str) else {"jobId": f"job-{i}", **j}
            for i, j in enumerate(jobs)
        ],
        **fields,
    }


def test_phase_tally_replaces_an_objects_contribution_and_forgets_it() -> None:
    m = Metrics()
    tally = PhaseTally(m)
    one, two = Ref("team-a", "one", "uid-1"), Ref("team-a", "two", "uid-2")
    tally.set(one, status("InProgress", ["Pending", "Pending", "Accepted"]))
    tally.set(two, status("Pending", ["Pending"] * 3, "CredentialsNotFound"))
    assert _gauge(m, "drs_pause_objects", "phase", "InProgress") == 1
    assert _gauge(m, "drs_pause_jobs", "phase", "Pending") == 5
    assert _gauge(m, "drs_pause_stalled_objects", "reason", "CredentialsNotFound") == 1
    # The next pass of uid-1 replaces its numbers, it does not add to them.
    tally.set(one, status("PartiallyPaused", ["Paused", "Paused", "Failed"], "JobsFailed"))
    assert _gauge(m, "drs_pause_objects", "phase", "InProgress") == 0
    assert _gauge(m, "drs_pause_objects", "phase", "PartiallyPaused") == 1
    assert _gauge(m, "drs_pause_jobs", "phase", "Pending") == 3
    assert _gauge(m, "drs_pause_jobs", "phase", "Paused") == 2
    assert _gauge(m, "drs_pause_stalled_objects", "reason", "JobsFailed") == 1
    # Fixed credentials: the stalled gauge drops.
    tally.set(two, status("InProgress", ["Pending"] * 3))
    assert _gauge(m, "drs_pause_stalled_objects", "reason", "CredentialsNotFound") == 0
    # Deleted objects: everything back to zero.
    tally.forget("uid-1")
    tally.forget("uid-2")
    tally.forget("uid-never-seen")
    tally.forget("uid-1")  # twice is harmless
    for phase in ("Pending", "InProgress", "PartiallyPaused", "Paused", "Failed"):
        assert _gauge(m, "drs_pause_objects", "phase", phase) == 0
    for phase in ("Pending", "Accepted", "Paused", "Failed"):
        assert _gauge(m, "drs_pause_jobs", "phase", phase) == 0
    for reason in ("CredentialsNotFound", "JobsFailed"):
        assert _gauge(m, "drs_pause_stalled_objects", "reason", reason) == 0
    assert _object_samples(m) == []


def test_many_passes_over_many_objects_never_drift() -> None:
    m = Metrics()
    tally = PhaseTally(m)
    phases = ["Pending", "InProgress", "Paused", "PartiallyPaused", "Failed"]
    job_phases = ["Pending", "Paused", "Failed"]
    for n in range(300):
        tally.set(
            Ref("ns", f"obj-{n % 17}", f"uid-{n % 17}"),
            status(
                phases[n % 5],
                [{"phase": job_phases[(n + i) % 3], "delaySeconds": i} for i in range(n % 4)],
                "EndpointNotAllowed" if n % 7 == 0 else "",
                pausedTime="2026-11-28T10:00:00Z",
            ),
        )
    total = sum(_gauge(m, "drs_pause_objects", "phase", p) for p in phases)
    assert total == 17
    for n in range(17):
        tally.forget(f"uid-{n}")
    assert all(_gauge(m, "drs_pause_objects", "phase", p) == 0 for p in phases)
    assert _gauge(m, "drs_pause_stalled_objects", "reason", "EndpointNotAllowed") == 0
    assert all(_gauge(m, "drs_pause_jobs", "phase", p) == 0 for p in job_phases)
    assert _object_samples(m) == []


# -- the per-object series, derived from the status --------------------------------------------

PER_OBJECT = (
    "drs_pause_paused_since_timestamp_seconds",
    "drs_pause_resume_due_timestamp_seconds",
    "drs_pause_object_stalled",
    "drs_pause_object_failed_jobs",
    "drs_pause_task_delay_seconds",
)
PAUSED_AT, PAUSED_AT_EPOCH = "2026-11-28T10:00:00Z", 1795860000.0
DUE_AT, DUE_AT_EPOCH = "2026-11-28T12:00:00Z", 1795867200.0


def _object_samples(m: Metrics) -> list[tuple[str, dict[str, str], float]]:
    return sorted(
        ((s.name, s.labels, s.value) for f in m.registry.collect() for s in f.samples
         if s.name in PER_OBJECT),
        key=repr,
    )


def _series(m: Metrics, metric: str, **labels: str) -> float | None:
    return m.registry.get_sample_value(metric, labels)


def test_the_timestamps_parse_as_utc_seconds() -> None:
    assert dt.datetime.fromtimestamp(PAUSED_AT_EPOCH, dt.UTC).isoformat() == (
        "2026-11-28T10:00:00+00:00"
    )
    assert DUE_AT_EPOCH - PAUSED_AT_EPOCH == 7200


TIMES = {"pausedTime": PAUSED_AT, "resumeTime": DUE_AT}
KEY = {"namespace": "team-a", "name": "nightly"}


@pytest.mark.parametrize(
    ("case", "doc", "paused_since", "resume_due"),
    [
        ("paused, resume scheduled", status("Paused", ["Paused"], **TIMES),
         PAUSED_AT_EPOCH, DUE_AT_EPOCH),
        ("paused, no resume", status("Paused", ["Paused"], pausedTime=PAUSED_AT),
         PAUSED_AT_EPOCH, None),
        ("partially paused", status("PartiallyPaused", ["Paused", "Failed"], "JobsFailed",
                                    **TIMES), PAUSED_AT_EPOCH, DUE_AT_EPOCH),
        # spec.resume.at while another job is still pausing: one task stays paused past it.
        ("still pausing: no pausedTime yet", status("InProgress", ["Paused", "Accepted"],
                                                    resumeTime=DUE_AT), None, DUE_AT_EPOCH),
        ("nothing paused yet", status("InProgress", ["Accepted"], resumeTime=DUE_AT),
         None, None),
        ("nothing paused", status("Failed", ["Failed"], "JobsFailed", **TIMES), None, None),
        ("only found paused (someone else's pause)",
         status("Paused", [{"phase": "Paused", "errorCode": "DRS.M00304"}], **TIMES),
         None, None),
        ("resume pending", status("Resuming", [{"phase": "Paused", "resumePhase": "Pending"}],
                                  **TIMES), PAUSED_AT_EPOCH, DUE_AT_EPOCH),
        ("resume accepted", status("Resuming", [{"phase": "Paused", "resumePhase": "Accepted"}],
                                   **TIMES), PAUSED_AT_EPOCH, DUE_AT_EPOCH),
        ("resumed", status("Resumed", [{"phase": "Paused", "resumePhase": "Resumed"}],
                           **TIMES), None, None),
        ("catching up: the task runs", status(
            "CatchingUp", [{"phase": "Paused", "resumePhase": "CatchingUp"}], **TIMES),
         None, None),
        ("resume failed: the task stays paused", status(
            "PartiallyResumed",
            [{"phase": "Paused", "resumePhase": "Resumed"},
             {"phase": "Paused", "resumePhase": "Failed", "resumeErrorCode": "DRS.M05003"}],
            "JobsFailed", **TIMES), PAUSED_AT_EPOCH, DUE_AT_EPOCH),
        ("catch-up timed out: the task runs", status(
            "PartiallyResumed",
            [{"phase": "Paused", "resumePhase": "Failed", "resumeErrorCode": "CatchUpTimeout"}],
            "JobsFailed", **TIMES), None, None),
        ("unreadable times", status("Paused", ["Paused"], pausedTime="yesterday",
                                    resumeTime=7), None, None),
    ],
)
def test_paused_since_and_resume_due_while_a_task_this_object_paused_is_paused(
    case: str, doc: dict[str, Any], paused_since: float | None, resume_due: float | None
) -> None:
    m = Metrics()
    PhaseTally(m).set(Ref("team-a", "nightly", "uid-1"), doc)
    assert _series(m, "drs_pause_paused_since_timestamp_seconds", **KEY) == paused_since, case
    assert _series(m, "drs_pause_resume_due_timestamp_seconds", **KEY) == resume_due, case


def test_failed_jobs_by_step_and_the_stalled_reason() -> None:
    series = ObjectSeries.of(status(
        "PartiallyResumed",
        [
            "Failed",
            {"phase": "Failed", "errorCode": "DelayTooHigh"},
            {"phase": "Paused", "resumePhase": "Failed", "resumeErrorCode": "DRS.M05003"},
            {"phase": "Paused", "resumePhase": "Failed", "resumeErrorCode": "CatchUpTimeout"},
            {"phase": "Paused", "resumePhase": "Failed", "resumeErrorCode": "CatchUpTimeout"},
            {"phase": "Paused", "resumePhase": "Resumed"},
        ],
        "JobsFailed",
    ))
    assert series.failed == {"pause": 2, "resume": 1, "catch_up": 2}
    assert series.stalled == "JobsFailed"
    assert series.jobs == {"Pending": 0, "Accepted": 0, "Paused": 4, "Failed": 2}
    # Nothing failed: no step at all (the series exist only while a job failed).
    assert ObjectSeries.of(status("Paused", ["Paused"])).failed == {}
    assert ObjectSeries.of(status("Paused", ["Paused"])).stalled == ""


def test_task_delay_only_for_jobs_with_a_reading() -> None:
    series = ObjectSeries.of(status("Paused", [
        {"phase": "Paused", "delaySeconds": 432},
        {"phase": "Paused", "delaySeconds": 0},
        {"phase": "Paused", "delaySeconds": 1.5},
        {"phase": "Paused"},  # no delay gate, no catch-up
        {"phase": "Paused", "delaySeconds": None},  # delay n/a
        {"phase": "Paused", "delaySeconds": "7m"},  # not a number: not a reading
        {"phase": "Paused", "delaySeconds": True},
    ]))
    assert series.delays == {"job-0": 432.0, "job-1": 0.0, "job-2": 1.5}


def test_an_empty_or_odd_status_gives_no_per_object_series() -> None:
    for doc in ({}, {"jobs": None, "conditions": None}, {"jobs": ["x", 3], "conditions": [1]}):
        series = ObjectSeries.of(doc)
        assert series.phase == "Pending"
        assert series.jobs == {"Pending": 0, "Accepted": 0, "Paused": 0, "Failed": 0}
        assert (series.stalled, series.paused_since, series.resume_due) == ("", None, None)
        assert series.failed == {} and series.delays == {}


def test_per_object_series_follow_the_status_and_go_with_the_object() -> None:
    m = Metrics()
    tally = PhaseTally(m)
    ref = Ref("team-a", "nightly", "uid-1")
    key = {"namespace": "team-a", "name": "nightly"}
    tally.set(ref, status(
        "PartiallyPaused",
        [{"phase": "Paused", "delaySeconds": 30}, {"phase": "Failed", "delaySeconds": 900}],
        "JobsFailed", **TIMES,
    ))
    assert _object_samples(m) == sorted([
        ("drs_pause_paused_since_timestamp_seconds", key, PAUSED_AT_EPOCH),
        ("drs_pause_resume_due_timestamp_seconds", key, DUE_AT_EPOCH),
        ("drs_pause_object_stalled", {**key, "reason": "JobsFailed"}, 1.0),
        ("drs_pause_object_failed_jobs", {**key, "step": "pause"}, 1.0),
        ("drs_pause_task_delay_seconds", {**key, "job_id": "job-0"}, 30.0),
        ("drs_pause_task_delay_seconds", {**key, "job_id": "job-1"}, 900.0),
    ], key=repr)
    # The next pass: resumed, retried and the delay of one job gone; the rest goes with it.
    tally.set(ref, status(
        "Resumed", [{"phase": "Paused", "resumePhase": "Resumed", "delaySeconds": 12}], **TIMES,
    ))
    assert _object_samples(m) == [
        ("drs_pause_task_delay_seconds", {**key, "job_id": "job-0"}, 12.0),
    ]
    tally.forget("uid-1")
    assert _object_samples(m) == []


def test_a_name_taken_over_by_a_new_object_keeps_its_series_when_the_old_one_goes() -> None:
    """Deleted and created again under its name, the deletion seen only after the new
    object's first pass: forgetting the old uid must not remove the new object's series."""
    m = Metrics()
    tally = PhaseTally(m)
    tally.set(Ref("team-a", "nightly", "old"), status("Paused", ["Paused"], **TIMES))
    tally.set(Ref("team-a", "nightly", "new"),
              status("Failed", ["Failed"], "JobsFailed", pausedTime=PAUSED_AT))
    assert _series(m, "drs_pause_paused_since_timestamp_seconds", **KEY) is None
    tally.forget("old")
    assert _series(m, "drs_pause_object_failed_jobs", **KEY, step="pause") == 1
    assert _series(m, "drs_pause_object_stalled", **KEY, reason="JobsFailed") == 1
    assert _gauge(m, "drs_pause_objects", "phase", "Paused") == 0
    assert _gauge(m, "drs_pause_objects", "phase", "Failed") == 1
    tally.forget("new")
    assert _object_samples(m) == []


def test_clear_forgets_every_object() -> None:
    m = Metrics()
    tally = PhaseTally(m)
    for n in range(5):
        tally.set(Ref("ns", f"o{n}", f"uid-{n}"), status("Paused", ["Paused"], **TIMES))
    assert _gauge(m, "drs_pause_objects", "phase", "Paused") == 5
    tally.clear()
    assert _gauge(m, "drs_pause_objects", "phase", "Paused") == 0
    assert _object_samples(m) == []


def test_separate_registries_do_not_collide() -> None:
    a, b = Metrics(), Metrics()
    a.job_result("success", None)
    assert (
        b.registry.get_sample_value(
            "drs_pause_job_results_total", {"result": "success", "code": ""}
        )
        is None
    )


def test_drs_request_counts_throttling_once() -> None:
    m = Metrics()
    m.drs_request("batch-pause-task", 429, 0.1, "throttled")
    m.drs_request("batch-pause-task", 200, 0.2, "ok")
    r = m.registry
    assert (
        r.get_sample_value(
            "drs_pause_requests_total",
            {"api": "batch-pause-task", "outcome": "throttled", "http_status": "429"},
        )
        == 1
    )
    assert (
        r.get_sample_value(
            "drs_pause_requests_total",
            {"api": "batch-pause-task", "outcome": "ok", "http_status": "200"},
        )
        == 1
    )
    assert (
        r.get_sample_value("drs_pause_request_duration_seconds_count", {"api": "batch-pause-task"})
        == 2
    )
    m.drs_request("batch-status", 0, 0.0, "network")  # no HTTP status: an empty label
    assert (
        r.get_sample_value(
            "drs_pause_requests_total",
            {"api": "batch-status", "outcome": "network", "http_status": ""},
        )
        == 1
    )


def test_build_info() -> None:
    r = Metrics().registry
    assert r.get_sample_value("drs_pause_build_info", {"version": __version__}) == 1


# Every series the operator exports, by name and type. A change here renames a series on
# dashboards and alerts: note it in CHANGELOG.md.
EXPECTED_SERIES = {
    "drs_pause_build_info": "gauge",
    "drs_pause_requests": "counter",
    "drs_pause_request_duration_seconds": "histogram",
    "drs_pause_job_results": "counter",
    "drs_pause_job_retries": "counter",
    "drs_pause_jobs": "gauge",
    "drs_pause_objects": "gauge",
    "drs_pause_stalled_objects": "gauge",
    "drs_pause_reconcile_duration_seconds": "histogram",
    "drs_pause_batch_jobs": "histogram",
    "drs_pause_rate_limit_wait_seconds": "histogram",
    "drs_pause_kube_writes": "counter",
    "drs_pause_leader": "gauge",
    "drs_pause_dry_run": "gauge",
    "drs_pause_paused_since_timestamp_seconds": "gauge",
    "drs_pause_resume_due_timestamp_seconds": "gauge",
    "drs_pause_object_stalled": "gauge",
    "drs_pause_object_failed_jobs": "gauge",
    "drs_pause_task_delay_seconds": "gauge",
}


def test_the_exported_series_follow_prometheus_naming() -> None:
    m = Metrics()
    families = {f.name: f.type for f in m.registry.collect()}
    assert families == EXPECTED_SERIES
    for name in families:
        assert name.startswith("drs_pause_")
        rest = name.removeprefix("drs_pause_")
        # No stutter: the namespace is not repeated (drs_pause_drs_..., drs_pause_pause_...).
        assert not rest.startswith(("drs_", "pause_")), name
    # One fact, one series: throttling is an outcome label of the request counter.
    assert not [n for n in families if "throttled" in n]
