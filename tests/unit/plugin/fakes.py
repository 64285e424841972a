"""Objects as the API server returns them, and a fake of the plugin's Cluster that scripts the
statuses an object goes through and records what the commands asked for."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

from drs_pause_operator.plugin.kube import KubeError

NOW = dt.datetime(2026, 11, 28, 10, 0, tzinfo=dt.UTC)
JOB = "8d0e8e36-a618-490d-8a46-8c61ac9jb502"
J2 = "11111111-2222-3333-4444-555555555555"
J3 = "22222222-2222-3333-4444-555555555555"
J4 = "33333333-2222-3333-4444-555555555555"
J5 = "44444444-2222-3333-4444-555555555555"


def obj(jobs: list[dict[str, Any]], spec: dict[str, Any] | None = None,
        **status: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "nightly-maintenance-for-orders", "namespace": "data-platform",
                     "generation": 1, "creationTimestamp": "2026-11-28T07:00:00Z"},
        "spec": {"projectId": "054ba152d480d55b2f5dc0069e7ddef0", **(spec or {})},
        "status": {"observedGeneration": 1, "jobs": jobs, **status},
    }


def made(st: dict[str, Any], spec: dict[str, Any] | None = None) -> dict[str, Any]:
    """An object with this status."""
    o = obj([], spec)
    o["status"] = st
    return o


def later(seconds: float) -> str:
    """A time ``seconds`` from the real now (the wait compares resume times with it)."""
    when = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


class FakeCluster:
    """``kube.Cluster`` for the commands: each ``get`` answers the next scripted status (the
    last one stays), and creations, deletions and annotations are recorded."""

    namespace = "default"

    def __init__(self, *statuses: dict[str, Any], refuse: str = "", missing: bool = False):
        self.statuses = list(statuses)
        self.refuse = refuse  # "create", "delete" or "get": that call fails like a 403
        self.missing = missing  # get answers 404
        self.created: list[dict[str, Any]] = []
        self.deleted: list[str] = []
        self.annotated: list[tuple[str, str]] = []
        self.gets = 0
        self.body: dict[str, Any] = {"metadata": {"name": "x", "generation": 1}}

    def _refused(self, call: str) -> None:
        if self.refuse == call:
            raise KubeError(f"Error from server (403): {call} is forbidden", 403)

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        self._refused("create")
        self.created.append(copy.deepcopy(body))
        meta = body["metadata"]
        name = meta.get("name") or meta["generateName"] + "x7k2p"
        self.body = {**body, "metadata": {"name": name, "namespace": self.namespace,
                                          "generation": 1}}
        return copy.deepcopy(self.body)

    def get(self, name: str) -> dict[str, Any]:
        self._refused("get")
        if self.missing:
            raise KubeError(f'Error from server (404): drsjobpauses "{name}" not found', 404)
        self.gets += 1
        status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
        return {**copy.deepcopy(self.body), "status": copy.deepcopy(status)}

    def delete(self, name: str) -> None:
        self._refused("delete")
        self.deleted.append(name)

    def annotate(self, name: str, annotation: str, value: str | None = None) -> str:
        self.annotated.append((name, annotation))
        return value or "2026-11-28T10:00:00.000000Z"

    def list(self, everywhere: bool, plural: str = "drsjobpauses") -> list[dict[str, Any]]:
        return []

    def windows(self, everywhere: bool) -> None:
        return None


def installed(monkeypatch: Any, cluster: FakeCluster) -> FakeCluster:
    """Make the commands connect to ``cluster``; the waits do not sleep."""

    class Connect:
        @staticmethod
        def connect(kubeconfig: str | None, context: str | None,
                    namespace: str | None) -> FakeCluster:
            return cluster

    monkeypatch.setattr("drs_pause_operator.plugin.cli.Cluster", Connect)
    monkeypatch.setattr("drs_pause_operator.plugin.waiting.time.sleep", lambda _s: None)
    return cluster


# -- statuses ------------------------------------------------------------------------------


def status(phase: str, jobs: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    counts = {"total": len(jobs), "paused": sum(j.get("phase") == "Paused" for j in jobs),
              "failed": sum(j.get("phase") == "Failed" for j in jobs),
              "pending": sum(j.get("phase") in ("Pending", "Accepted") for j in jobs)}
    return {"observedGeneration": 1, "phase": phase, "summary": counts, "jobs": jobs, **extra}


def job(job_id: str = JOB, phase: str = "Paused", **fields: Any) -> dict[str, Any]:
    return {"jobId": job_id, "pauseMode": "target", "phase": phase,
            "taskStatus": "PAUSING" if phase == "Paused" else "INCRE_TRANSFER_STARTED",
            "attempts": 0 if phase == "Pending" else 1, **fields}


PLAN_MESSAGE = ("plan: 1 would pause, 1 already paused, 1 not pausable, 1 not found "
                "(spec.dryRun: nothing is paused or resumed)")


def planned(**extra: Any) -> dict[str, Any]:
    """A finished plan over a pausable, a paused, a configuring and an unknown task."""
    jobs = [
        job(JOB, "Pending", plan="WouldPause"),
        job(J2, "Pending", taskStatus="PAUSING", plan="AlreadyPaused"),
        job(J3, "Pending", taskStatus="CONFIGURATION", plan="NotPausable",
            planMessage="task is CONFIGURATION, not one of the pausable states"),
        job(J4, "Pending", taskStatus="", plan="NotFound", planMessage="DRS.M00289"),
    ]
    ready = {"type": "Ready", "status": "True", "reason": "Planned", "message": PLAN_MESSAGE}
    return status("Planned", jobs, plannedTime="2026-11-28T09:59:00Z", conditions=[ready],
                  **extra)
