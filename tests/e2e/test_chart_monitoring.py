"""The chart's alerts and dashboard against the real thing.

- Every metric their PromQL names is one a running operator exports (its ``# TYPE`` lines,
  histogram and counter suffixes included), and the per-object series the alerts read follow an
  object from Paused through a resume.
- The rendered PrometheusRule, dashboard ConfigMap and ServiceMonitor are valid objects for an
  API server that serves the Prometheus Operator's CRDs (taken from its Go module): a
  server-side dry run and a real apply keep every field, and a broken rule is refused.
"""

from __future__ import annotations

import copy
import json
import subprocess
import tempfile
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from drs_pause_operator.dev.devcluster import free_port
from drs_pause_operator.dev.devcluster.build import go_env

from ..chart.monitoring import (
    alerts,
    dashboard_exprs,
    dashboard_of,
    exported_names,
    metric_names,
    rendered,
    rule_of,
)
from .conftest import djp, get_status, new_job_id, operator_args, token_secret, wait_for
from .test_chart import find, render

pytestmark = pytest.mark.e2e

PROMETHEUS_OPERATOR = "github.com/prometheus-operator/prometheus-operator"
PROMETHEUS_OPERATOR_VERSION = "v0.85.0"
RESOURCES = {"PrometheusRule": "prometheusrules.monitoring.coreos.com",
             "ServiceMonitor": "servicemonitors.monitoring.coreos.com", "ConfigMap": "configmaps"}
CRD_FILES = ("monitoring.coreos.com_prometheusrules.yaml",
             "monitoring.coreos.com_servicemonitors.yaml")


def _scrape(port: int) -> str:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            return response.read().decode()
    except OSError:
        return ""


def _samples(text: str, name: str) -> dict[str, float]:
    """The samples of one series name, keyed by the object name label."""
    return {s.labels.get("name", ""): s.value
            for family in text_string_to_metric_families(text) for s in family.samples
            if s.name == name}


def test_alerts_and_dashboard_name_only_metrics_a_running_operator_exports(
    cluster, namespace, simulator, start_operator
) -> None:
    held, brief = new_job_id(), new_job_id()
    simulator.seed([{"id": j, "status": "INCRE_TRANSFER_STARTED"} for j in (held, brief)])
    cluster.kubectl("apply", "-f", "-", input=token_secret(namespace))
    port = free_port()
    args = operator_args(simulator.url, namespace)
    args[args.index("--metrics-port") + 1] = str(port)
    start_operator(args)
    secret = {"credentialsSecretRef": {"name": "drs-credentials"}}
    for name, job in (("held", held), ("brief", brief)):
        cluster.kubectl("apply", "-f", "-", input=djp(
            namespace, name, [(job, "all")], resume={"after": "1h"}, **secret))
    for name in ("held", "brief"):
        wait_for(lambda n=name: get_status(cluster, namespace, n).get("phase") == "Paused",
                 what=f"{name} Paused")

    paused_since = "drs_pause_paused_since_timestamp_seconds"
    resume_due = "drs_pause_resume_due_timestamp_seconds"
    text = wait_for(lambda: (t := _scrape(port)) and len(_samples(t, paused_since)) == 2 and t,
                    what="both objects' paused-since series")
    status = get_status(cluster, namespace, "held")
    assert _samples(text, resume_due).keys() == {"held", "brief"}
    assert _samples(text, resume_due)["held"] - _samples(text, paused_since)["held"] == 3600
    assert status["resumeTime"] and status["pausedTime"]

    # A resume: the brief object's series go, the held one's stay.
    cluster.kubectl("annotate", "djp", "brief", "-n", namespace,
                    "drs.cloudops.dev/resume-now=now")
    wait_for(lambda: get_status(cluster, namespace, "brief").get("phase") == "Resumed",
             what="brief Resumed")
    text = wait_for(lambda: (t := _scrape(port)) and "brief" not in _samples(t, paused_since)
                    and t, what="the resumed object's paused-since series gone")
    assert _samples(text, paused_since).keys() == {"held"}
    assert _samples(text, resume_due).keys() == {"held"}
    assert 'api="batch-retry-task"' in text  # the resume went to DRS

    exported = exported_names(text)
    docs = rendered()
    used: dict[str, set[str]] = {}
    for alert in alerts(rule_of(docs)):
        used[f"alert {alert['alert']}"] = metric_names(alert["expr"])
    for title, expr in dashboard_exprs(dashboard_of(docs)).items():
        used[f"panel {title}"] = metric_names(expr)
    missing = {where: names - exported for where, names in used.items() if names - exported}
    assert not missing, f"names the operator does not export: {missing}"
    assert {paused_since, resume_due, "drs_pause_leader", "drs_pause_requests_total",
            "drs_pause_objects", "drs_pause_jobs"} <= set().union(*used.values())


# -- the objects, validated by the API server --------------------------------------------------


def _prometheus_operator_crds() -> list[Path]:
    """The CRD manifests of the Prometheus Operator's Go module (from the module cache)."""
    with tempfile.TemporaryDirectory() as scratch:
        proc = subprocess.run(
            ["go", "mod", "download", "-json",
             f"{PROMETHEUS_OPERATOR}@{PROMETHEUS_OPERATOR_VERSION}"],
            cwd=scratch, env=go_env({"GOFLAGS": "-mod=mod"}), capture_output=True, text=True,
            timeout=600, check=False,
        )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    crds = Path(json.loads(proc.stdout)["Dir"]) / "example" / "prometheus-operator-crd"
    return [crds / name for name in CRD_FILES]


@pytest.fixture(scope="module")
def monitoring_crds(cluster) -> Iterator[None]:
    files = _prometheus_operator_crds()
    for path in files:
        cluster.kubectl("apply", "--server-side", "-f", str(path))
    cluster.kubectl("wait", "--for=condition=Established", "--timeout=60s",
                    "crd/prometheusrules.monitoring.coreos.com",
                    "crd/servicemonitors.monitoring.coreos.com")
    yield
    for path in files:  # leave the shared API server as it was
        cluster.kubectl("delete", "-f", str(path), "--wait=false", check=False)


def _apply(cluster, docs: list[dict[str, Any]], *flags: str) -> subprocess.CompletedProcess:
    return cluster.kubectl("apply", *flags, "-f", "-", check=False, input=json.dumps(
        {"apiVersion": "v1", "kind": "List", "items": docs}))


def test_the_rule_dashboard_and_monitor_are_valid_objects_for_the_api_server(
    cluster, namespace, monitoring_crds
) -> None:
    values = {"prometheusRule": {"enabled": True, "labels": {"release": "prom"}},
              "dashboards": {"enabled": True},
              "metrics": {"service": {"enabled": True}, "serviceMonitor": {"enabled": True}}}
    docs = render("mon", namespace, values, "--api-versions", "monitoring.coreos.com/v1")
    picked = [find(docs, "PrometheusRule"), find(docs, "ConfigMap"), find(docs, "ServiceMonitor")]

    dry = _apply(cluster, picked, "--dry-run=server")
    assert dry.returncode == 0, dry.stderr
    done = _apply(cluster, picked)
    assert done.returncode == 0, done.stderr
    stored = {}
    for doc in picked:
        out = cluster.kubectl("get", RESOURCES[doc["kind"]], doc["metadata"]["name"], "-n",
                              namespace, "-o", "json").stdout
        stored[doc["kind"]] = json.loads(out)
        body = "data" if doc["kind"] == "ConfigMap" else "spec"
        # Nothing pruned or defaulted away: what the chart meant is what is stored.
        assert stored[doc["kind"]][body] == doc[body], f"the API server changed the {doc['kind']}"
    assert len(stored["PrometheusRule"]["spec"]["groups"][0]["rules"]) == 7
    assert stored["ServiceMonitor"]["spec"]["endpoints"][0]["honorLabels"] is True
    assert stored["ConfigMap"]["metadata"]["labels"]["grafana_dashboard"] == "1"


def test_the_api_server_refuses_a_broken_rule(cluster, namespace, monitoring_crds) -> None:
    """Not vacuous: the CRD's schema is what validates the rule above."""
    rule = rule_of(rendered())
    rule["metadata"]["namespace"] = namespace
    broken = copy.deepcopy(rule)
    broken["spec"]["groups"][0]["rules"][0]["for"] = "10 minutes"
    proc = _apply(cluster, [broken], "--dry-run=server")
    assert proc.returncode != 0
    assert "spec.groups[0].rules[0].for" in proc.stderr, proc.stderr
    assert _apply(cluster, [rule], "--dry-run=server").returncode == 0
