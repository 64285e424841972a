"""The chart's alerts and dashboard, rendered by helm and checked by promtool.

- `promtool check rules` accepts the rendered PrometheusRule's groups, with the default
  thresholds and with others;
- `promtool test rules` runs alerts_test.yaml against them: every alert fires, and stays quiet
  where it must (before its threshold, and for series that must not count);
- each alert has a severity, a summary, a description naming what it is about, and a
  runbook_url whose anchor is a section of docs/alerts.md;
- every query of the dashboard parses (as a recording rule) and names only metrics the
  operator defines (tests/e2e/test_chart_monitoring.py checks a running operator exports them);
- the values are checked by the chart's schema.

The names of the metrics an expression uses come from :func:`metric_names`, tested here too.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from drs_pause_operator.app.metrics import Metrics

from ..e2e.test_chart import CHART, KUBE_VERSION, helm
from .monitoring import (
    ALERTS_DOC,
    BOTH_ON,
    UNIT_TESTS,
    alerts,
    dashboard_exprs,
    dashboard_of,
    doc_anchors,
    github_anchor,
    metric_names,
    promtool,
    recording_rules,
    rendered,
    rule_of,
    write_rules,
)

ALERT_NAMES = {
    "DrsPauseObjectStalled", "DrsPauseJobsFailed", "DrsPauseTaskPausedTooLong",
    "DrsPauseResumeOverdue", "DrsPauseCatchUpTimedOut", "DrsPauseDrsErrors", "DrsPauseNoLeader",
}
RUNBOOK = "https://github.com/cloudops-dev/drs-pause-operator/blob/main/docs/alerts.md"


# `make test` builds promtool before pytest starts; run alone on a cold machine, the first test
# builds it (minutes on 2 cores, as for the Go health checks).
pytestmark = pytest.mark.timeout(1800)


@pytest.fixture(scope="module")
def docs() -> list[dict]:
    return rendered()


@pytest.fixture(scope="module")
def rule(docs) -> dict:
    return rule_of(docs)


def defined_names() -> set[str]:
    """What a query may select from the operator's own registry (suffixes included)."""
    names = set()
    for family in Metrics().registry.collect():
        if family.type == "histogram":
            names |= {f"{family.name}_{s}" for s in ("bucket", "sum", "count")}
        elif family.type == "counter":
            names.add(f"{family.name}_total")
        else:
            names.add(family.name)
    return names


# -- promtool ------------------------------------------------------------------------------------


def test_promtool_accepts_the_rendered_rules(rule, tmp_path):
    proc = promtool("check", "rules", str(write_rules(rule, tmp_path / "rules.yaml")))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"SUCCESS: {len(ALERT_NAMES)} rules found" in proc.stdout, proc.stdout


def run_unit_tests(rule: dict, directory: Path) -> tuple[int, str]:
    """`promtool test rules` of alerts_test.yaml against RULE; (exit code, output)."""
    write_rules(rule, directory / "rules.yaml")
    shutil.copy(UNIT_TESTS, directory / UNIT_TESTS.name)
    proc = promtool("test", "rules", UNIT_TESTS.name, cwd=directory)
    return proc.returncode, proc.stdout + proc.stderr


def test_promtool_unit_tests_of_every_alert_pass(rule, tmp_path):
    code, output = run_unit_tests(rule, tmp_path)
    assert code == 0, output
    assert "SUCCESS" in output, output


def test_the_unit_tests_show_every_alert_firing_and_not_firing(rule):
    cases = [c for t in yaml.safe_load(UNIT_TESTS.read_text())["tests"]
             for c in t["alert_rule_test"]]
    firing = {c["alertname"] for c in cases if c["exp_alerts"]}
    quiet = {c["alertname"] for c in cases if not c["exp_alerts"]}
    assert {a["alert"] for a in alerts(rule)} == ALERT_NAMES
    assert firing == ALERT_NAMES, ALERT_NAMES - firing
    assert quiet == ALERT_NAMES, ALERT_NAMES - quiet


def test_a_unit_test_fails_when_an_alert_fires_late(rule, tmp_path):
    """Not vacuous: the same tests against a rule whose threshold is one hour later fail."""
    late = rendered({"alerts": {"pausedTooLong": "21h"}})
    code, output = run_unit_tests(rule_of(late), tmp_path)
    assert code != 0
    assert "DrsPauseTaskPausedTooLong" in output and "FAILED" in output, output


# -- what each alert says --------------------------------------------------------------------------


def test_every_alert_has_a_severity_a_summary_a_description_and_a_runbook_section(rule):
    anchors = doc_anchors()
    for alert in alerts(rule):
        name = alert["alert"]
        assert alert["labels"]["severity"] in ("warning", "critical"), name
        notes = alert["annotations"]
        assert set(notes) == {"summary", "description", "runbook_url"}, name
        assert notes["runbook_url"] == f"{RUNBOOK}#{github_anchor(name)}", name
        assert github_anchor(name) in anchors, f"docs/alerts.md has no section {name}"
        expr = alert["expr"]
        if "by (namespace, name" in expr:  # about one object: it is named
            assert "DrsJobPause {{ $labels.namespace }}/{{ $labels.name }}" in (
                notes["description"]), name


def test_the_alerts_doc_lists_each_alert_once_and_no_other(rule):
    text = ALERTS_DOC.read_text()
    sections = [line[3:].strip() for line in text.splitlines() if line.startswith("## ")]
    assert sorted(sections) == sorted(ALERT_NAMES)
    for name in ALERT_NAMES:
        assert f"[`{name}`](#{github_anchor(name)})" in text, f"{name} is not in the table"
    paused_too_long = text.split("## DrsPauseTaskPausedTooLong")[1].split("\n## ")[0]
    assert "kubectl drs resume NAME" in paused_too_long
    assert "drs.cloudops.dev/resume-now" in paused_too_long


def test_thresholds_and_labels_are_chart_values(tmp_path):
    values = {
        "alerts": {"stalledFor": "30m", "pausedTooLong": "1d12h", "resumeOverdue": "90s",
                   "drsErrors": {"outcomes": ["server_error", "transport_error"], "rate": 0.5,
                                 "window": "15m", "for": "2m"},
                   "noLeaderFor": "1h"},
        "prometheusRule": {"labels": {"release": "prom"}, "alertLabels": {"team": "data"},
                           "runbookUrl": "https://wiki.example.com/drs/alerts"},
    }
    rule = rule_of(rendered(values))
    assert rule["metadata"]["labels"]["release"] == "prom"
    by_name = {a["alert"]: a for a in alerts(rule)}
    assert by_name["DrsPauseObjectStalled"]["for"] == "30m"
    assert by_name["DrsPauseTaskPausedTooLong"]["expr"].endswith("> 129600")
    assert by_name["DrsPauseResumeOverdue"]["expr"].endswith("> 90")
    errors = by_name["DrsPauseDrsErrors"]
    assert 'outcome=~"server_error|transport_error"}[15m]' in errors["expr"]
    assert errors["expr"].endswith("> 0.5") and errors["for"] == "2m"
    assert by_name["DrsPauseNoLeader"]["for"] == "1h"
    for alert in by_name.values():
        assert alert["labels"]["team"] == "data"
        assert alert["annotations"]["runbook_url"].startswith(
            "https://wiki.example.com/drs/alerts#drspause")
    proc = promtool("check", "rules", str(write_rules(rule, tmp_path / "rules.yaml")))
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_every_alert_expression_names_only_metrics_the_operator_defines(rule):
    defined = defined_names()
    for alert in alerts(rule):
        names = metric_names(alert["expr"])
        assert names, alert["alert"]
        assert names <= defined, (alert["alert"], names - defined)


# -- the dashboard ---------------------------------------------------------------------------------


def test_the_dashboard_configmap(docs):
    (configmap,) = [d for d in docs if d["kind"] == "ConfigMap"]
    assert configmap["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert configmap["metadata"]["namespace"] == "ops"
    moved = rendered({"dashboards": {"namespace": "monitoring", "labels": {"team": "data"},
                                     "annotations": {"grafana_folder": "DRS"}}})
    (configmap,) = [d for d in moved if d["kind"] == "ConfigMap"]
    assert configmap["metadata"]["namespace"] == "monitoring"
    assert configmap["metadata"]["labels"]["team"] == "data"
    assert configmap["metadata"]["annotations"] == {"grafana_folder": "DRS"}


def test_the_dashboard_shows_what_it_promises(docs):
    dashboard = dashboard_of(docs)
    assert dashboard["uid"] == "drs-pause-operator"
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["query"] == "prometheus"
    for panel in dashboard["panels"]:
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
        assert panel["targets"], panel["title"]
    by_topic = {
        "objects by phase": "drs_pause_objects",
        "jobs by phase": "drs_pause_jobs",
        "DRS requests by outcome": "drs_pause_requests_total",
        "throttling": "drs_pause_rate_limit_wait_seconds_bucket",
        "delay per task": "drs_pause_task_delay_seconds",
        "time paused": "drs_pause_paused_since_timestamp_seconds",
        "leader": "drs_pause_leader",
    }
    used = set().union(*(metric_names(e) for e in dashboard_exprs(dashboard).values()))
    for topic, metric in by_topic.items():
        assert metric in used, topic
    assert any('outcome="throttled"' in e for e in dashboard_exprs(dashboard).values())


def test_every_dashboard_query_parses_and_names_only_defined_metrics(docs, tmp_path):
    exprs = dashboard_exprs(dashboard_of(docs))
    assert not [e for e in exprs.values() if "$" in e], "a Grafana variable was left unfilled"
    proc = promtool("check", "rules", str(recording_rules(exprs, tmp_path / "dashboard.yaml")))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"SUCCESS: {len(exprs)} rules found" in proc.stdout
    defined = defined_names()
    for title, expr in exprs.items():
        names = metric_names(expr)
        assert names and names <= defined, (title, names - defined)


def test_a_query_that_does_not_parse_is_caught(tmp_path):
    """Not vacuous: promtool refuses a broken query in the same rules file."""
    broken = {"x": "sum by (phase (drs_pause_objects)"}
    proc = promtool("check", "rules", str(recording_rules(broken, tmp_path / "broken.yaml")))
    assert proc.returncode != 0
    assert "parse error" in proc.stdout + proc.stderr


# -- values ------------------------------------------------------------------------------------


BAD_VALUES = {
    "duration in words": (["--set", "alerts.pausedTooLong=20 hours"],
                          "at '/alerts/pausedTooLong': '20 hours' does not match pattern"),
    "duration without unit": (["--set", "alerts.stalledFor=600"],
                              "at '/alerts/stalledFor': got number, want string"),
    "unknown outcome": (["--set", "alerts.drsErrors.outcomes={server_error,oops}"],
                        "at '/alerts/drsErrors/outcomes/1': value must be one of"),
    # (helm 3.22 names the wrong path for this one; the property is what matters)
    "severity as an extra label": (["--set", "prometheusRule.alertLabels.severity=page"],
                                   "invalid propertyName 'severity'"),
    "unknown key": (["--set", "dashboards.folder=DRS"],
                    "at '/dashboards': additional properties 'folder' not allowed"),
}


@pytest.mark.parametrize(("args", "message"), BAD_VALUES.values(), ids=BAD_VALUES.keys())
def test_the_schema_rejects_bad_monitoring_values(args, message):
    proc = helm("template", "r", str(CHART), "--kube-version", KUBE_VERSION, *args, check=False)
    assert proc.returncode != 0
    assert "values don't meet the specifications of the schema" in proc.stderr
    assert message in proc.stderr, proc.stderr


def test_helm_lint_strict_with_both_on(tmp_path):
    path = tmp_path / "values.json"
    path.write_text(json.dumps(BOTH_ON))
    proc = helm("lint", "--strict", str(CHART), "--kube-version", KUBE_VERSION, "-f", str(path),
                check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "[WARNING]" not in proc.stdout and "[ERROR]" not in proc.stdout


def test_the_rule_needs_the_metrics():
    proc = helm("template", "r", str(CHART), "--kube-version", KUBE_VERSION,
                "--set", "prometheusRule.enabled=true", "--set", "metrics.enabled=false",
                check=False)
    assert proc.returncode != 0
    assert "prometheusRule.enabled needs metrics.enabled" in proc.stderr


def test_both_are_off_by_default():
    kinds = {(d["kind"], d["metadata"]["name"]) for d in rendered({
        "prometheusRule": {"enabled": False}, "dashboards": {"enabled": False}})}
    assert not [k for k in kinds if k[0] in ("PrometheusRule", "ConfigMap")]


# -- the metric names of an expression -------------------------------------------------------------


@pytest.mark.parametrize(
    ("expr", "names"),
    [
        ("drs_pause_leader", {"drs_pause_leader"}),
        ('max by (namespace, name, reason) (drs_pause_object_stalled{reason!="JobsFailed"}) > 0',
         {"drs_pause_object_stalled"}),
        ("time() - max by (namespace, name) (drs_pause_paused_since_timestamp_seconds) > 72000",
         {"drs_pause_paused_since_timestamp_seconds"}),
        ('sum by (outcome) (rate(drs_pause_requests_total{outcome=~"a|b"}[10m])) > 0.05',
         {"drs_pause_requests_total"}),
        ("histogram_quantile(0.95, sum by (le) (rate(x_bucket[5m] offset 1h)))", {"x_bucket"}),
        ("max without (instance) (a) == 0 or absent(b) unless on (job) group_left (team) c",
         {"a", "b", "c"}),
        ('label_replace(up, "dst", "$1", "src", "(drs_pause_fake)")', {"up"}),
        ("sum(rate(a[1m:30s])) > bool 1e3 and vector(0)", {"a"}),
        ("a:recorded:rate5m * Inf", {"a:recorded:rate5m"}),
    ],
)
def test_metric_names_of_an_expression(expr: str, names: set[str]) -> None:
    assert metric_names(expr) == names

