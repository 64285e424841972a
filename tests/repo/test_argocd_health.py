"""The Argo CD health check (deploy/argocd/health/) in a Lua VM, without Go, and the argocd-cm
snippet that must embed exactly that script.

Argo CD's own engine runs the same cases in tests/health/argocd (tests/health/test_go_health.py);
this is the quick replay: health_test.yaml's cases in lupa, plus a few statuses the operator never
writes but a hand-edited or foreign object might carry.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

lupa = pytest.importorskip("lupa")

ROOT = Path(__file__).resolve().parents[2]
HEALTH_DIR = ROOT / "deploy" / "argocd" / "health"
HEALTH_LUA = HEALTH_DIR / "health.lua"
HEALTH_TEST = HEALTH_DIR / "health_test.yaml"
SNIPPET = ROOT / "deploy" / "argocd" / "argocd-cm-snippet.yaml"
KEY = "resource.customizations.health.drs.cloudops.dev_DrsJobPause"
ARGO_STATUSES = {"Healthy", "Progressing", "Degraded", "Suspended", "Missing", "Unknown"}


def run_health(obj: dict[str, Any], script: str | None = None) -> dict[str, str]:
    """Run the check the way Argo CD does: `obj` is a global table, the chunk returns hs."""
    lua = lupa.LuaRuntime(unpack_returned_tuples=True)
    lua.globals().obj = lua.table_from(obj, recursive=True)
    result = lua.execute(script if script is not None else HEALTH_LUA.read_text())
    return {k: result[k] for k in ("status", "message")}


def _cases() -> list[dict[str, Any]]:
    return yaml.safe_load(HEALTH_TEST.read_text())["tests"]


def _input(case: dict[str, Any]) -> dict[str, Any]:
    return yaml.safe_load((HEALTH_DIR / case["inputPath"]).read_text())


@pytest.mark.parametrize("case", _cases(), ids=lambda c: Path(c["inputPath"]).stem)
def test_health_test_yaml_cases(case: dict[str, Any]) -> None:
    assert run_health(_input(case)) == case["healthStatus"]


def test_every_testdata_file_has_a_case() -> None:
    listed = {c["inputPath"] for c in _cases()}
    on_disk = {f"testdata/{p.name}" for p in (HEALTH_DIR / "testdata").glob("*.yaml")}
    assert listed == on_disk
    assert {c["healthStatus"]["status"] for c in _cases()} <= ARGO_STATUSES


def _by_stem(stem: str) -> dict[str, Any]:
    return _input(next(c for c in _cases() if Path(c["inputPath"]).stem == stem))


def test_odd_statuses_nobody_here_writes() -> None:
    paused = _by_stem("healthy_paused")
    empty = copy.deepcopy(paused) | {"status": {}}
    assert run_health(empty) == {
        "status": "Progressing",
        "message": "Waiting for the operator to report status",
    }
    no_generation = copy.deepcopy(paused)
    del no_generation["status"]["observedGeneration"]
    assert run_health(no_generation)["message"] == (
        "Waiting for the operator to observe the latest spec"
    )
    failed = _by_stem("degraded_failed")
    failed["status"]["conditions"] = [
        c for c in failed["status"]["conditions"] if c["type"] != "Stalled"
    ]
    assert run_health(failed) == {
        "status": "Degraded",
        "message": "0 of 2 jobs paused; 2 failed: DRS.M00202, DRS.M05003",
    }
    no_conditions = copy.deepcopy(paused)
    del no_conditions["status"]["conditions"]
    assert run_health(no_conditions) == {"status": "Progressing", "message": "Phase Paused"}


def test_argocd_cm_snippet_embeds_exactly_health_lua() -> None:
    snippet = yaml.safe_load(SNIPPET.read_text())
    assert snippet["kind"] == "ConfigMap"
    assert snippet["metadata"]["name"] == "argocd-cm"
    assert snippet["data"][KEY] == HEALTH_LUA.read_text()


def test_snippet_application_health_check_reports_child_health() -> None:
    script = yaml.safe_load(SNIPPET.read_text())["data"][
        "resource.customizations.health.argoproj.io_Application"
    ]
    child = {"status": {"health": {"status": "Degraded", "message": "boom"}}}
    assert run_health(child, script) == {"status": "Degraded", "message": "boom"}
    assert run_health({}, script)["status"] == "Progressing"
