"""The Argo CD health check (deploy/argocd/health.lua) run in a real Lua VM against statuses the
operator writes, and the argocd-cm snippet that must embed exactly that file."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

lupa = pytest.importorskip("lupa")

ROOT = Path(__file__).resolve().parents[2]
HEALTH_LUA = ROOT / "deploy" / "argocd" / "health.lua"
SNIPPET = ROOT / "deploy" / "argocd" / "argocd-cm-snippet.yaml"
KEY = "resource.customizations.health.drs.cloudops.dev_DrsJobPause"
JOB_A = "8d0e8e36-a618-490d-8a46-8c61ac9jb502"
JOB_B = "0b5f6c1e-2a3d-4e5f-8a9b-0c1d2e3f4a5b"
NOW = "2026-11-28T10:00:00Z"


def run_health(obj: dict[str, Any], script: str | None = None) -> dict[str, str]:
    """Run the check the way Argo CD does: `obj` is a global table, the chunk returns hs."""
    lua = lupa.LuaRuntime(unpack_returned_tuples=True)
    lua.globals().obj = lua.table_from(obj, recursive=True)
    result = lua.execute(script if script is not None else HEALTH_LUA.read_text())
    return {k: result[k] for k in ("status", "message")}


def cond(ctype: str, status: str, reason: str, message: str = "", generation: int = 1) -> dict:
    return {"type": ctype, "status": status, "reason": reason, "message": message,
            "observedGeneration": generation, "lastTransitionTime": NOW}


def djp(status: dict | None = None, generation: int = 1, **metadata: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "apiVersion": "drs.cloudops.dev/v1alpha1", "kind": "DrsJobPause",
        "metadata": {"name": "nightly", "namespace": "data", "generation": generation, **metadata},
        "spec": {"projectId": "p", "jobs": [{"jobId": JOB_A, "pauseMode": "target"},
                                            {"jobId": JOB_B, "pauseMode": "all"}]},
    }
    if status is not None:
        obj["status"] = status
    return obj


def status(phase: str, paused: int, failed: int, pending: int, conditions: list[dict],
           generation: int = 1) -> dict:
    return {"observedGeneration": generation, "phase": phase,
            "pausedText": f"{paused}/{paused + failed + pending}",
            "summary": {"total": paused + failed + pending, "paused": paused, "failed": failed,
                        "pending": pending},
            "conditions": conditions, "jobs": []}


PAUSED = status("Paused", 2, 0, 0, [
    cond("Ready", "True", "Paused", "2 of 2 jobs paused"),
    cond("Reconciling", "False", "Done", "2 of 2 jobs paused"),
    cond("Stalled", "False", "NotStalled"),
])
IN_PROGRESS = status("InProgress", 1, 0, 1, [
    cond("Ready", "False", "InProgress", "1 of 2 jobs paused; 1 in progress"),
    cond("Reconciling", "True", "Verifying", "1 of 2 jobs paused; 1 in progress"),
    cond("Stalled", "False", "NotStalled"),
])
PENDING = status("Pending", 0, 0, 2, [
    cond("Ready", "False", "Pending", "0 of 2 jobs paused; 2 in progress"),
    cond("Reconciling", "True", "Pausing", "0 of 2 jobs paused; 2 in progress"),
    cond("Stalled", "False", "NotStalled"),
])
PARTIAL = status("PartiallyPaused", 1, 1, 0, [
    cond("Ready", "False", "PartiallyPaused", "1 of 2 jobs paused; 1 failed: DRS.M05003"),
    cond("Reconciling", "False", "Done", "1 of 2 jobs paused; 1 failed: DRS.M05003"),
    cond("Stalled", "True", "JobsFailed", "1 failed: DRS.M05003 (set the annotation ...)"),
])
FAILED = status("Failed", 0, 2, 0, [
    cond("Ready", "False", "Failed", "0 of 2 jobs paused; 2 failed: DRS.M00304"),
    cond("Reconciling", "False", "Done", "0 of 2 jobs paused; 2 failed: DRS.M00304"),
    cond("Stalled", "True", "JobsFailed", "2 failed: DRS.M00304 (set the annotation ...)"),
])
STALLED = status("Pending", 0, 0, 2, [
    cond("Ready", "False", "CredentialsNotFound", "Secret data/drs-credentials does not exist"),
    cond("Reconciling", "True", "Pausing", "0 of 2 jobs paused; 2 in progress"),
    cond("Stalled", "True", "CredentialsNotFound", "Secret data/drs-credentials does not exist"),
])


def _without_stalled(s: dict) -> dict:
    s = copy.deepcopy(s)
    s["conditions"] = [c for c in s["conditions"] if c["type"] != "Stalled"]
    return s


CASES = {
    "no status": (djp(None), "Progressing", "Waiting for the operator"),
    "empty status": (djp({}), "Progressing", "Waiting for the operator"),
    "stale generation": (djp(PAUSED, generation=2), "Progressing", "latest spec"),
    "status without observedGeneration": (
        djp({k: v for k, v in PAUSED.items() if k != "observedGeneration"}),
        "Progressing", "latest spec",
    ),
    "pending": (djp(PENDING), "Progressing", "0 of 2 jobs paused"),
    "reconciling": (djp(IN_PROGRESS), "Progressing", "1 of 2 jobs paused; 1 in progress"),
    "paused": (djp(PAUSED), "Healthy", "2 of 2 jobs paused"),
    "paused at a newer generation": (
        djp(status("Paused", 2, 0, 0, PAUSED["conditions"], generation=3), generation=3),
        "Healthy", "2 of 2 jobs paused",
    ),
    "partially paused": (djp(PARTIAL), "Degraded", "JobsFailed: 1 failed: DRS.M05003"),
    "failed": (djp(FAILED), "Degraded", "JobsFailed: 2 failed: DRS.M00304"),
    "failed, no Stalled condition": (
        djp(_without_stalled(FAILED)), "Degraded", "2 failed: DRS.M00304",
    ),
    "stalled while jobs are pending": (
        djp(STALLED), "Degraded", "CredentialsNotFound: Secret data/drs-credentials",
    ),
    "deleting": (
        djp(IN_PROGRESS, deletionTimestamp=NOW), "Progressing", "Being deleted",
    ),
    "deleting a paused object": (djp(PAUSED, deletionTimestamp=NOW), "Progressing", "deleted"),
}


@pytest.mark.parametrize(("obj", "health", "message"), CASES.values(), ids=CASES.keys())
def test_health(obj, health, message):
    result = run_health(obj)
    assert result["status"] == health
    assert message in result["message"]


def test_only_argo_cd_statuses_are_returned():
    allowed = {"Healthy", "Progressing", "Degraded", "Suspended", "Missing", "Unknown"}
    for obj, _, _ in CASES.values():
        assert run_health(obj)["status"] in allowed


def test_argocd_cm_snippet_embeds_exactly_health_lua():
    snippet = yaml.safe_load(SNIPPET.read_text())
    assert snippet["kind"] == "ConfigMap"
    assert snippet["metadata"]["name"] == "argocd-cm"
    assert snippet["data"][KEY] == HEALTH_LUA.read_text()


def test_snippet_application_health_check_reports_child_health():
    script = yaml.safe_load(SNIPPET.read_text())["data"][
        "resource.customizations.health.argoproj.io_Application"]
    child = {"status": {"health": {"status": "Degraded", "message": "boom"}}}
    assert run_health(child, script) == {"status": "Degraded", "message": "boom"}
    assert run_health({}, script)["status"] == "Progressing"


# -- the same check against statuses written by the operator's own status.render ------------------

def _rendered(phases: list[str], problem: tuple[str, str] | None = None, generation: int = 1):
    import datetime as dt

    from drs_pause_operator.resource import status as st

    now = dt.datetime(2026, 11, 28, 10, tzinfo=dt.UTC)
    jobs = [
        st.JobState(job_id=job, pause_mode="target", phase=phase,
                    error_code="DRS.M05003" if phase == st.FAILED else "",
                    attempts=0 if phase == st.PENDING and not problem else 1)
        for job, phase in zip((JOB_A, JOB_B), phases, strict=True)
    ]
    return st.render(None, jobs, generation, st.Problem(*problem) if problem else None, now)


RENDERED = {
    "pending": (["Pending", "Pending"], None, "Progressing"),
    "accepted": (["Paused", "Accepted"], None, "Progressing"),
    "paused": (["Paused", "Paused"], None, "Healthy"),
    "partially paused": (["Paused", "Failed"], None, "Degraded"),
    "failed": (["Failed", "Failed"], None, "Degraded"),
    "stalled": (["Pending", "Pending"], ("EndpointNotAllowed", "not allowed"), "Degraded"),
}


@pytest.mark.parametrize(("phases", "problem", "health"), RENDERED.values(), ids=RENDERED.keys())
def test_health_of_statuses_the_operator_renders(phases, problem, health):
    assert run_health(djp(_rendered(phases, problem)))["status"] == health
    # The same status, once the spec has moved on, waits for the operator.
    assert run_health(djp(_rendered(phases, problem), generation=2))["status"] == "Progressing"
