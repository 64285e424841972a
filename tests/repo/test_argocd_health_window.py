"""The Argo CD health check of DrsPauseWindow (deploy/argocd/health-window/) in a Lua VM:
health_test.yaml's cases, and statuses written by the window's own pass (resource/window.py)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml

from drs_pause_operator.resource.window import Child, WindowMeta, plan

lupa = pytest.importorskip("lupa")

ROOT = Path(__file__).resolve().parents[2]
HEALTH_DIR = ROOT / "deploy" / "argocd" / "health-window"
UTC = dt.UTC
TEMPLATE = {"projectId": "054ba152d480d55b2f5dc0069e7ddef0",
            "jobs": [{"jobId": "8d0e8e36-a618-490d-8a46-8c61ac9fb502", "pauseMode": "target"}]}
META = WindowMeta("data-platform", "nightly", "uid-w", 1, dt.datetime(2026, 5, 1, tzinfo=UTC))


def run_health(obj: dict[str, Any]) -> dict[str, str]:
    lua = lupa.LuaRuntime(unpack_returned_tuples=True)
    lua.globals().obj = lua.table_from(obj, recursive=True)
    result = lua.execute((HEALTH_DIR / "health.lua").read_text())
    return {k: result[k] for k in ("status", "message")}


def _cases() -> list[dict[str, Any]]:
    return yaml.safe_load((HEALTH_DIR / "health_test.yaml").read_text())["tests"]


@pytest.mark.parametrize("case", _cases(), ids=lambda c: Path(c["inputPath"]).stem)
def test_health_test_yaml_cases(case: dict[str, Any]) -> None:
    obj = yaml.safe_load((HEALTH_DIR / case["inputPath"]).read_text())
    assert run_health(obj) == case["healthStatus"]


def test_every_testdata_file_has_a_case() -> None:
    listed = {c["inputPath"] for c in _cases()}
    assert listed == {f"testdata/{p.name}" for p in (HEALTH_DIR / "testdata").glob("*.yaml")}


def _health(spec: dict[str, Any], now: dt.datetime, children: list[Child] | None = None,
            status: dict[str, Any] | None = None) -> str:
    p = plan(META, spec, status or {}, children or [], now)
    return run_health({"metadata": {"generation": 1}, "spec": spec, "status": p.status})["status"]


def test_a_window_waiting_for_its_next_start_is_healthy() -> None:
    spec = {"schedule": "0 1 * * *", "duration": "2h", "template": TEMPLATE}
    assert _health(spec, dt.datetime(2026, 5, 4, 12, tzinfo=UTC)) == "Healthy"
    assert _health(spec, dt.datetime(2026, 5, 4, 1, 0, 1, tzinfo=UTC)) == "Healthy"  # active


def test_a_window_holding_a_start_for_its_previous_child_is_healthy() -> None:
    spec = {"schedule": "0 * * * *", "duration": "90m", "template": TEMPLATE}
    start = dt.datetime(2026, 5, 4, 10, tzinfo=UTC)
    child = Child("nightly-29631480", "c", start, "Paused", start + dt.timedelta(minutes=90))
    assert _health(spec, start + dt.timedelta(hours=1, seconds=1), [child]) == "Healthy"


@pytest.mark.parametrize("field", [{"schedule": "61 * * * *"}, {"timeZone": "Nowhere/City"},
                                   {"template": {"projectId": "p"}}])
def test_a_stalled_window_is_degraded(field: dict[str, Any]) -> None:
    spec = {"schedule": "0 1 * * *", "duration": "2h", "template": TEMPLATE, **field}
    assert _health(spec, dt.datetime(2026, 5, 4, 12, tzinfo=UTC)) == "Degraded"


def test_a_suspended_window_is_suspended() -> None:
    spec = {"schedule": "0 1 * * *", "duration": "2h", "template": TEMPLATE, "suspend": True}
    assert _health(spec, dt.datetime(2026, 5, 4, 12, tzinfo=UTC)) == "Suspended"


def test_argocd_cm_snippet_embeds_exactly_the_window_check() -> None:
    snippet = yaml.safe_load((ROOT / "deploy" / "argocd" / "argocd-cm-snippet.yaml").read_text())
    key = "resource.customizations.health.drs.cloudops.dev_DrsPauseWindow"
    assert snippet["data"][key] == (HEALTH_DIR / "health.lua").read_text()
