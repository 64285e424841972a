"""Scenario 4 of ``make bench``: a resume with ``spec.resume.catchUp``, from the moment it is due
until the object reads Resumed (caught up), against its floor.

The operator's object has paused its one task and waits with ``resume.catchUp`` (maxDelay 1m);
the benchmark then sets ``spec.resume.at`` a second ahead: that moment is t0, and the operator
wakes for it on its own timer. The task's replication delay is 0, so the first reading is under
maxDelay. The **floor** does only the
irreducible work from t0, with warm connections: one batch-retry-task call, one batch-status
call, one batch-progress reading, one status PATCH (Resumed, caught up). Both are timed until a
watch in the benchmark sees phase Resumed, interleaved run by run.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import TYPE_CHECKING, Any

import httpx
from bench_support import (
    GROUP,
    PLURAL,
    VERSION,
    against_floor,
    create_object,
    djp_body,
    progress,
)
from kubernetes import client as k8s

from drs_pause_operator.drs.auth import AkSkAuth
from drs_pause_operator.resource.job import Job, Leg
from drs_pause_operator.resource.status import ObjectStatus, render
from drs_pause_operator.resource.verbs import PAUSED, RESUMED

if TYPE_CHECKING:
    from bench_run import Bench

CATCH_UP = {"catchUp": {"maxDelay": "1m", "timeout": "10m"}}
#: How far ahead of now the benchmark sets resume.at (time for the spec change's own pass).
AHEAD = 1.5


def catch_up(bench: Bench, project: str, secret: str, ns_op: str, ns_floor: str,
             ak: str, sk: str) -> None:
    runs, warm = bench.args.runs, 2
    ids = [f"c{n:07d}-0000-4000-8000-000000000000" for n in range(2 * (runs + warm))]
    bench.sim.seed([{"id": j, "status": "INCRE_TRANSFER_STARTED", "delay_seconds": 0}
                    for j in ids])
    floor = CatchUpFloor(bench.sim.url, bench.custom, project, ak, sk, ns_floor, secret)
    progress(f"catch-up: {runs} runs each of operator and floor (+{warm} warm-up)")
    r = against_floor(
        runs, warm,
        lambda i: _operator_once(bench, ns_op, project, secret, f"cu-{i:03d}", ids[2 * i]),
        lambda i: floor.run(bench, f"cufloor-{i:03d}", ids[2 * i + 1]),
    )
    floor.close()
    bench.results["catch_up"] = r
    progress(f"catch-up: operator p50 {r['operator_p50_ms']:.0f} ms, floor p50 "
             f"{r['floor_p50_ms']:.0f} ms, ratio {r['ratio_p50']:.2f}")


def _operator_once(bench: Bench, ns: str, project: str, secret: str, name: str,
                   job: str) -> float:
    body = djp_body(ns, name, project, [(job, "target")], secret)
    body["spec"]["resume"] = CATCH_UP
    create_object(bench.custom, body)
    bench.watcher.wait([(ns, name)], ["Paused"], 30, f"operator {name} paused")
    due = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=AHEAD)
    t0 = time.monotonic() + AHEAD
    at = due.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    bench.custom.patch_namespaced_custom_object(
        GROUP, VERSION, ns, PLURAL, name, {"spec": {"resume": {**CATCH_UP, "at": at}}},
    )
    seen = bench.watcher.wait([(ns, name)], ["Resumed"], 30, f"operator {name} resumed")
    return seen[(ns, name)] - t0


class CatchUpFloor:
    """The irreducible work of a caught-up resume, with warm connections."""

    def __init__(self, url: str, custom: k8s.CustomObjectsApi, project: str, ak: str, sk: str,
                 ns: str, secret: str) -> None:
        self.custom, self.ns, self.secret, self.project = custom, ns, secret, project
        self.http = httpx.Client(base_url=url, auth=AkSkAuth(ak, sk, project), trust_env=False,
                                 timeout=10.0)
        self.base = f"/v3/{project}/jobs"

    def run(self, bench: Bench, name: str, job: str) -> float:
        # Not timed: the object, and its task paused by "someone" (the floor itself).
        create_object(self.custom, djp_body(self.ns, name, self.project, [(job, "target")],
                                            self.secret))
        paused = self.http.post(f"{self.base}/batch-pause-task",
                                json={"jobs": [{"job_id": job, "pause_mode": "target"}]}).json()
        assert paused["results"][0]["status"] == "success", paused
        time.sleep(AHEAD)  # as long as the operator's object waits for its resume
        t0 = time.monotonic()
        resumed = self.http.post(f"{self.base}/batch-retry-task",
                                 json={"jobs": [{"job_id": job, "is_sync_re_edit": True}]})
        assert resumed.json()["results"][0]["status"] == "success", resumed.text
        state = self.http.post(f"{self.base}/batch-status",
                               json={"jobs": [job], "page_req": {"cur_page": 1, "per_page": 1}})
        task = state.json()["results"][0]["status"]
        assert task == "INCRE_TRANSFER_STARTED", task
        progress_answer = self.http.post(f"{self.base}/batch-progress", json={"jobs": [job]})
        delay = int(progress_answer.json()["results"][0]["incre_trans_delay"])
        assert delay <= 60, delay
        when = dt.datetime.now(dt.UTC)
        jobs = [Job(job_id=job, pause_mode="target", task_status=task,
                    pause=Leg(phase=PAUSED, api_status="success", attempts=1),
                    resume=Leg(phase=RESUMED, attempts=1, accepted_time=when),
                    delay_seconds=delay, delay_time=when, caught_up_time=when)]
        status = render({}, ObjectStatus(jobs, 1, paused_at=when), when)
        answer = self.custom.patch_namespaced_custom_object_status(
            GROUP, VERSION, self.ns, PLURAL, name, {"status": status},
            _content_type="application/merge-patch+json", _preload_content=False,
        )
        answer.read()
        seen = bench.watcher.wait([(self.ns, name)], ["Resumed"], 30, f"floor {name}")
        return seen[(self.ns, name)] - t0

    def close(self) -> None:
        self.http.close()


def rows(results: dict[str, Any], row: Any) -> None:
    c = results.get("catch_up")
    if not c:
        return
    row("catch-up", "operator resume due->caught up p50 / p95",
        f"{c['operator_p50_ms']:.0f} / {c['operator_p95_ms']:.0f} ms")
    row("catch-up", "floor resume due->caught up p50 / p95",
        f"{c['floor_p50_ms']:.0f} / {c['floor_p95_ms']:.0f} ms")
    row("catch-up", "operator / floor (p50)", f"{c['ratio_p50']:.2f}x", "<= 1.2x",
        c["ratio_p50"] <= 1.2)
    row("catch-up", "operator / floor (p95)", f"{c['ratio_p95']:.2f}x")
