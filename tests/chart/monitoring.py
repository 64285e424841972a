"""The chart's alerts and dashboard as tests see them: rendered by the real helm, handed to the
real promtool, and the metric names their PromQL uses.

Shared by test_alerts.py (promtool) and tests/e2e/test_chart_monitoring.py (a running operator,
the API server).
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import yaml

from drs_pause_operator.dev.devcluster.build import ensure_promtool

from ..e2e.test_chart import find, render

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
ALERTS_DOC = ROOT / "docs" / "alerts.md"
UNIT_TESTS = HERE / "alerts_test.yaml"
BOTH_ON = {"prometheusRule": {"enabled": True}, "dashboards": {"enabled": True}}
# Grafana's own variables in the dashboard's queries, as Grafana fills them in.
GRAFANA_VARIABLES = {"$__rate_interval": "2m", "$__interval": "30s", "$__range": "6h"}


def rendered(values: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """`helm template` of the chart with the rule and the dashboard on, plus VALUES."""
    merged = dict(BOTH_ON)
    for key, value in (values or {}).items():
        merged[key] = {**merged.get(key, {}), **value} if isinstance(value, dict) else value
    return render("r", "ops", merged)


def rule_of(docs: list[dict[str, Any]]) -> dict[str, Any]:
    return find(docs, "PrometheusRule")


def dashboard_of(docs: list[dict[str, Any]]) -> dict[str, Any]:
    configmap = find(docs, "ConfigMap", "r-drs-pause-operator-dashboard")
    (text,) = configmap["data"].values()
    return json.loads(text)


def write_rules(rule: dict[str, Any], path: Path) -> Path:
    """The PrometheusRule's groups as a Prometheus rules file (what the Prometheus Operator
    hands to Prometheus)."""
    path.write_text(yaml.safe_dump({"groups": rule["spec"]["groups"]}, sort_keys=False))
    return path


def alerts(rule: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for group in rule["spec"]["groups"] for r in group["rules"] if "alert" in r]


def dashboard_exprs(dashboard: dict[str, Any]) -> dict[str, str]:
    """Each query of the dashboard (by panel title and refId) with Grafana's variables filled."""
    out = {}
    for panel in dashboard["panels"]:
        for target in panel.get("targets") or []:
            expr = target["expr"]
            for name, value in GRAFANA_VARIABLES.items():
                expr = expr.replace(name, value)
            out[f"{panel['title']} {target['refId']}"] = expr
    return out


def recording_rules(exprs: dict[str, str], path: Path) -> Path:
    """Expressions as recording rules, so that `promtool check rules` parses each of them."""
    rules = [{"record": f"dashboard:query_{i}", "expr": e} for i, e in enumerate(exprs.values())]
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    return path


def promtool(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    binary = ensure_promtool(log=lambda *_a, **_k: None)
    return subprocess.run([str(binary), *args], capture_output=True, text=True, cwd=cwd,
                          timeout=300, check=False)


# -- the metric names of a PromQL expression ------------------------------------------------------

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_MATCHERS = re.compile(r"\{[^{}]*\}")
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)")
_RANGE = re.compile(r"\[[^\[\]]*\]")
# An identifier that does not continue a number or a duration (5m, 1e3, 0.05).
_IDENT = re.compile(r"(?<![0-9A-Za-z_:.])[A-Za-z_:][A-Za-z0-9_:]*")
_KEYWORDS = {"and", "or", "unless", "bool", "offset", "inf", "nan", "start", "end", "by",
             "without", "on", "ignoring", "group_left", "group_right"}


def metric_names(expr: str) -> set[str]:
    """The metric names an expression selects (a PromQL expression promtool has parsed).

    Label matchers, strings, grouping labels and ranges are taken out first; what remains is
    function and aggregation names (followed by a parenthesis), keywords, numbers, and the metric
    names. Selectors by ``__name__`` are not supported (the chart uses none).
    """
    assert "__name__" not in expr, expr
    text = _STRING.sub('""', expr)
    text = _MATCHERS.sub("{}", text)
    text = _GROUPING.sub(" ", text)
    text = _RANGE.sub("", text)
    names = set()
    for match in _IDENT.finditer(text):
        word = match.group()
        if word.lower() in _KEYWORDS or text[match.end():].lstrip().startswith("("):
            continue
        names.add(word)
    return names


def exported_names(exposition: str) -> set[str]:
    """The names a query can select from an exposition's ``# TYPE`` lines: a counter's and a
    gauge's own name, a histogram's ``_bucket``, ``_sum`` and ``_count``."""
    names = set()
    for line in exposition.splitlines():
        if not line.startswith("# TYPE "):
            continue
        _, _, name, kind = line.split(maxsplit=3)
        if kind == "histogram":
            names |= {f"{name}_bucket", f"{name}_sum", f"{name}_count"}
        elif kind == "summary":
            names |= {name, f"{name}_sum", f"{name}_count"}
        else:
            names.add(name)
    return names


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a Markdown heading."""
    slug = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return slug.replace(" ", "-")


def doc_anchors() -> set[str]:
    return {github_anchor(line.lstrip("#")) for line in ALERTS_DOC.read_text().splitlines()
            if line.startswith("## ")}
