"""Metrics, liveness and JSON logs of a running operator."""

from __future__ import annotations

import json
import re
import urllib.request

from drs_pause_operator import __version__
from drs_pause_operator.dev.devcluster import free_port

from .conftest import djp, get_status, new_job_id, operator_args, token_secret, wait_for


def fetch(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.read().decode()


def test_metrics_liveness_and_json_logs(cluster, namespace, simulator, start_operator) -> None:
    job = new_job_id()
    simulator.seed([{"id": job, "status": "INCRE_TRANSFER_STARTED"}])
    cluster.kubectl("apply", "-f", "-", input=token_secret(namespace))
    metrics_port, live_port = free_port(), free_port()
    args = operator_args(simulator.url, namespace, "--log-format", "json")
    args[args.index("--metrics-port") + 1] = str(metrics_port)
    op = start_operator([*args, "--liveness", f"http://127.0.0.1:{live_port}/healthz"])
    cluster.kubectl("apply", "-f", "-", input=djp(
        namespace, "observed", [(job, "all")], credentialsSecretRef={"name": "drs-credentials"}))
    wait_for(lambda: get_status(cluster, namespace, "observed").get("phase") == "Paused",
             what="Paused")

    assert json.loads(wait_for(lambda: _try(fetch, f"http://127.0.0.1:{live_port}/healthz"),
                               what="liveness")) is not None
    text = wait_for(lambda: (t := _try(fetch, f"http://127.0.0.1:{metrics_port}/metrics"))
                    and 'drs_pause_objects{phase="Paused"} 1.0' in t and t, what="metrics")
    ok_pause = 'api="batch-pause-task",http_status="200",outcome="ok"'
    assert "drs_pause_requests_total{" + ok_pause + "}" in text
    assert 'drs_pause_request_duration_seconds_count{api="batch-pause-task"}' in text
    assert f'drs_pause_build_info{{version="{__version__}"}} 1.0' in text
    assert 'drs_pause_job_results_total{code="",result="success"} 1.0' in text
    assert 'drs_pause_jobs{phase="Paused"} 1.0' in text
    assert 'drs_pause_kube_writes_total{kind="status"}' in text
    # The names before the Prometheus naming clean-up are gone (CHANGELOG.md).
    assert "drs_pause_drs_" not in text and "drs_pause_throttled" not in text
    assert "drs_pause_pause_" not in text

    records = [json.loads(line) for line in op.log.splitlines() if line.startswith("{")]
    assert records, op.log[-2000:]
    assert {"time", "level", "logger", "message"} <= set(records[0])
    # UTC, RFC 3339 with milliseconds.
    rfc3339_utc_ms = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
    assert all(rfc3339_utc_ms.fullmatch(r["time"]) for r in records), records[0]["time"]
    assert any(r.get("object") == f"{namespace}/observed" for r in records)


def _try(fn, *args):
    try:
        return fn(*args)
    except OSError:
        return None
