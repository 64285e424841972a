"""Metrics: Prometheus names, bounded labels, and gauges that go back to zero when objects go
away."""

from __future__ import annotations

import pytest

from drs_pause_operator import __version__
from drs_pause_operator.app.metrics import MAX_CODE_LABELS, Metrics, PhaseTally, code_label


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


def test_phase_tally_replaces_an_objects_contribution_and_forgets_it() -> None:
    m = Metrics()
    tally = PhaseTally(m)
    tally.set("uid-1", "InProgress", {"Pending": 2, "Accepted": 1, "Paused": 0, "Failed": 0}, "")
    tally.set(
        "uid-2",
        "Pending",
        {"Pending": 3, "Accepted": 0, "Paused": 0, "Failed": 0},
        "CredentialsNotFound",
    )
    assert _gauge(m, "drs_pause_objects", "phase", "InProgress") == 1
    assert _gauge(m, "drs_pause_jobs", "phase", "Pending") == 5
    assert _gauge(m, "drs_pause_stalled_objects", "reason", "CredentialsNotFound") == 1
    # The next pass of uid-1 replaces its numbers, it does not add to them.
    tally.set(
        "uid-1",
        "PartiallyPaused",
        {"Pending": 0, "Accepted": 0, "Paused": 2, "Failed": 1},
        "JobsFailed",
    )
    assert _gauge(m, "drs_pause_objects", "phase", "InProgress") == 0
    assert _gauge(m, "drs_pause_objects", "phase", "PartiallyPaused") == 1
    assert _gauge(m, "drs_pause_jobs", "phase", "Pending") == 3
    assert _gauge(m, "drs_pause_jobs", "phase", "Paused") == 2
    assert _gauge(m, "drs_pause_stalled_objects", "reason", "JobsFailed") == 1
    # Fixed credentials: the stalled gauge drops.
    tally.set("uid-2", "InProgress", {"Pending": 3, "Accepted": 0, "Paused": 0, "Failed": 0}, "")
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


def test_many_passes_over_many_objects_never_drift() -> None:
    m = Metrics()
    tally = PhaseTally(m)
    phases = ["Pending", "InProgress", "Paused", "PartiallyPaused", "Failed"]
    for n in range(300):
        uid = f"uid-{n % 17}"
        tally.set(
            uid,
            phases[n % 5],
            {"Pending": n % 3, "Paused": n % 4, "Failed": n % 2},
            "EndpointNotAllowed" if n % 7 == 0 else "",
        )
    total = sum(_gauge(m, "drs_pause_objects", "phase", p) for p in phases)
    assert total == 17
    for n in range(17):
        tally.forget(f"uid-{n}")
    assert all(_gauge(m, "drs_pause_objects", "phase", p) == 0 for p in phases)
    assert _gauge(m, "drs_pause_stalled_objects", "reason", "EndpointNotAllowed") == 0
    assert all(
        _gauge(m, "drs_pause_jobs", "phase", p) == 0 for p in ("Pending", "Paused", "Failed")
    )


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
# dashboards and alerts: note it in the README's Changelog.
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
