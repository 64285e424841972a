"""`make bench`: the operator against the floor and against an SDK script, in one run.

Starts a real kube-apiserver + etcd, the DRS simulator (added latency per request, a rate
limit) and the operator as a separate process, then runs three scenarios:

1. latency: one object with one job, create -> phase Paused, against the floor (a script doing
   only one pause call, one batch-status call and one status PATCH);
2. burst: many objects created at once, against the Huawei SDK script (object by object);
3. scale and restart: thousands of finished objects, then an operator restart.

Prints one table and writes it as JSON (bench-results/bench.json). See tests/bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
from kubernetes import client as k8s

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_catchup
from bench_support import (
    GROUP,
    PLURAL,
    TERMINAL,
    VERSION,
    ApiserverWrites,
    OperatorProcess,
    ProcStats,
    Watcher,
    against_floor,
    api_client,
    create_object,
    create_objects,
    delete_objects,
    djp_body,
    dump_json,
    metric_sum,
    progress,
)

from drs_pause_operator.dev.devcluster import LocalControlPlane
from drs_pause_operator.dev.simulator.core import CALL_LOG_SIZE
from drs_pause_operator.dev.simulator.testing import SimulatorProcess
from drs_pause_operator.drs.auth import AkSkAuth
from drs_pause_operator.resource.job import Job, Leg
from drs_pause_operator.resource.status import ObjectStatus, render
from drs_pause_operator.resource.verbs import PAUSED

ROOT = Path(__file__).resolve().parents[2]
PROJECT = "054ba152d480d55b2f5dc0069e7ddef0"
AK, SK = "AKBENCHMARK000001", "bench-secret-key-0123456789"
SECRET = "drs-credentials"
LEADERSHIP_RE = re.compile(r"leadership gained: .*\(mono=([0-9.]+)\)")
NS_LATENCY, NS_FLOOR = "bench-latency", "bench-floor"
NS_BURST, NS_SCALE = "bench-burst", "bench-scale"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def job_ids(n: int) -> list[str]:
    return [str(uuid.uuid4()) for _ in range(n)]


def mode(i: int) -> str:
    return "target" if i % 2 == 0 else "all"


class Bench:
    def __init__(self, args: argparse.Namespace, cp: LocalControlPlane, sim: SimulatorProcess,
                 out: Path) -> None:
        self.args = args
        self.cp = cp
        self.sim = sim
        self.out = out
        self.api = api_client(cp.kubeconfig)
        self.custom = k8s.CustomObjectsApi(self.api)
        self.writes = ApiserverWrites(cp.kubectl)
        self.watcher = Watcher(api_client(cp.kubeconfig, pool=2))
        self.results: dict[str, Any] = {}
        self.operators = 0
        self.started: list[OperatorProcess] = []

    # -- set-up ----------------------------------------------------------------------------

    def prepare(self) -> None:
        self.cp.kubectl("apply", "--server-side", "--force-conflicts", "-f", str(ROOT / "crds"))
        self.cp.kubectl("wait", "--for=condition=Established",
                        f"crd/{PLURAL}.{GROUP}", "--timeout=60s")
        for ns in (NS_LATENCY, NS_FLOOR, NS_BURST, NS_SCALE):
            self.cp.kubectl("create", "namespace", ns)
            secret = {"apiVersion": "v1", "kind": "Secret",
                      "metadata": {"name": SECRET, "namespace": ns},
                      "stringData": {"accessKey": AK, "secretKey": SK}}
            self.cp.kubectl("apply", "-f", "-", input=json.dumps(secret))
        self.watcher.start()
        self.watcher.ready.wait(30)

    def operator(self, *extra: str) -> OperatorProcess:
        self.operators += 1
        args = [
            "--namespace", NS_LATENCY, "--namespace", NS_BURST, "--namespace", NS_SCALE,
            "--endpoint-template", self.sim.url,
            "--iam-endpoint-template", self.sim.url,
            "--allow-insecure-http",
            "--log-level", "INFO",
            *self.args.operator_arg,
            *extra,
        ]
        op = OperatorProcess(self.cp.kubeconfig, args,
                             self.out / f"operator-{self.operators}.log", free_port()).start()
        self.started.append(op)
        op.wait_metrics()
        return op

    def stop_all(self) -> None:
        for op in self.started:
            op.stop()
        self.watcher.stop()

    @staticmethod
    def ticker(what: str, op: OperatorProcess) -> Any:
        """Progress every 5 s while waiting; fail at once if the operator died."""

        def tick(done: int, total: int) -> None:
            if not op.alive():
                raise RuntimeError(f"the operator exited during {what}:\n{op.log_tail()}")
            progress(f"{what}: {done}/{total} terminal")

        return tick

    def other_cpu(self) -> dict[str, float]:
        """CPU seconds so far of everything else on the machine that the burst loads."""
        procs = {"kube-apiserver": self.cp.apiserver, "etcd": self.cp.etcd,
                 "simulator": self.sim._proc}
        out = {name: ProcStats(p.pid).cpu_seconds() for name, p in procs.items() if p}
        out["benchmark"] = time.process_time()
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
        out["machine_busy"] = (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")
        return out

    def sim_calls(self) -> list[dict[str, Any]]:
        return self.sim.calls()

    def seed(self, ids: list[str]) -> None:
        for i in range(0, len(ids), 5000):
            self.sim.seed([{"id": j, "status": "INCRE_TRANSFER_STARTED"} for j in ids[i:i + 5000]])

    # -- 1. latency --------------------------------------------------------------------------

    def latency(self, op: OperatorProcess) -> None:
        runs, warm = self.args.runs, 2
        ids = job_ids(2 * (runs + warm))
        self.seed(ids)
        floor = Floor(self.sim.url, self.custom)
        progress(f"latency: {runs} runs each of operator and floor (+{warm} warm-up), "
                 f"simulator latency {self.args.latency_ms} ms")
        p = against_floor(
            runs, warm,
            lambda i: self._operator_once(f"lat-{i:03d}", ids[2 * i]),
            lambda i: self._floor_once(floor, f"floor-{i:03d}", ids[2 * i + 1]),
        )
        floor.close()
        self.results["latency"] = p
        progress(f"latency: operator p50 {p['operator_p50_ms']:.0f} ms, floor p50 "
                 f"{p['floor_p50_ms']:.0f} ms, ratio {p['ratio_p50']:.2f}")

    def _operator_once(self, name: str, job: str) -> float:
        body = djp_body(NS_LATENCY, name, PROJECT, [(job, "target")], SECRET)
        t0 = time.monotonic()
        create_object(self.custom, body)
        seen = self.watcher.wait([(NS_LATENCY, name)], ["Paused"], 30, f"operator {name}")
        return seen[(NS_LATENCY, name)] - t0

    def _floor_once(self, floor: Floor, name: str, job: str) -> float:
        t0 = time.monotonic()
        floor.run(name, job)
        seen = self.watcher.wait([(NS_FLOOR, name)], ["Paused"], 30, f"floor {name}")
        return seen[(NS_FLOOR, name)] - t0

    # -- 2. burst ----------------------------------------------------------------------------

    def burst(self, op: OperatorProcess) -> None:
        n, per = self.args.objects, self.args.jobs_per_object
        ids = job_ids(n * per)
        objects = [[(ids[o * per + k], mode(k)) for k in range(per)] for o in range(n)]
        owner = {j: o for o, jobs in enumerate(objects) for j, _ in jobs}
        # --unknown-jobs: the first job of that many objects, spread over the burst, is never
        # seeded; DRS rejects a pause that carries one as a whole (400 DRS.M00289).
        step = max(1, n // self.args.unknown_jobs) if self.args.unknown_jobs else 0
        unknown = {objects[o][0][0] for o in range(0, n, step)[: self.args.unknown_jobs]
                   } if step else set()
        seeded = [j for j in ids if j not in unknown]
        self.seed(seeded)
        bodies = [djp_body(NS_BURST, f"burst-{o:04d}", PROJECT, jobs, SECRET)
                  for o, jobs in enumerate(objects)]
        keys = [(NS_BURST, b["metadata"]["name"]) for b in bodies]
        self.sim.admin("DELETE", "/admin/calls")
        writes0 = self.writes.snapshot()
        own0 = metric_sum(op.metrics() or [], "drs_pause_kube_writes_total")
        throttled0 = self.sim.admin("GET", "/admin/stats")["throttled"]
        op.stats.reset_peak()
        cpu0 = op.stats.cpu_seconds()
        others0 = self.other_cpu()
        progress(f"burst: creating {n} objects x {per} jobs at once")
        t0 = time.monotonic()
        created_at = create_objects(self.custom, bodies)
        created = time.monotonic() - t0
        progress(f"burst: created in {created:.1f}s; waiting for all to be terminal")
        seen = self.watcher.wait(keys, TERMINAL, 900, "burst terminal",
                                 on_tick=self.ticker("burst", op))
        wall = max(seen.values()) - t0
        op.wait_quiet()
        cpu = op.stats.cpu_seconds() - cpu0
        others = {k: v - others0[k] for k, v in self.other_cpu().items()}
        peak = op.stats.peak_rss_mib()
        writes = ApiserverWrites.operator_writes(writes0, self.writes.snapshot())
        after = op.metrics() or []
        own = metric_sum(after, "drs_pause_kube_writes_total") - own0
        limiter = {
            "throttled_total": metric_sum(after, "drs_pause_requests_total", outcome="throttled"),
            "rate_limit_waits": metric_sum(after, "drs_pause_rate_limit_wait_seconds_count"),
            "rate_limit_wait_seconds": metric_sum(after, "drs_pause_rate_limit_wait_seconds_sum"),
        }
        calls = self.sim_calls()
        dump_json(self.out / "burst-operator-calls.json", calls)
        dump_json(self.out / "burst-timeline.json", {
            k[1]: {"created": created_at[k[1]] - t0,
                   **{p: t - t0 for p, t in self.watcher.objects[k].first.items()}}
            for k in keys})
        throttled_sim = self.sim.admin("GET", "/admin/stats")["throttled"] - throttled0
        phases = Counter(self.watcher.objects[k].phase for k in keys)
        drs = summarize_calls(calls, owner)
        paused = {t["id"] for t in self.sim.tasks() if t["status"] in ("PAUSING", "PAUSEING")}
        twice = sent_not_once(calls, seeded, paused)
        progress(f"burst: operator done in {wall:.1f}s ({drs['pause_requests']} pause, "
                 f"{drs['status_requests']} status requests); running the SDK baseline")

        baselines: dict[str, dict[str, Any]] = {}
        for style in ("per-object", "batched"):
            self.seed(seeded)  # the same tasks, unpaused again
            self.sim.admin("DELETE", "/admin/calls")
            if self.args.skip_baseline or unknown:  # the SDK script stops at the first 400
                run = {"wall_seconds": float("nan"), "cpu_seconds": float("nan"), "paused": 0}
            else:
                run = self._sdk_baseline(objects, style)
                # Each baseline must really have paused every job, or its time means nothing.
                left = [t["id"] for t in self.sim.tasks()
                        if t["id"] in owner and t["status"] not in ("PAUSING", "PAUSEING")]
                if left or run["paused"] != n * per:
                    raise RuntimeError(f"SDK baseline {style} left {len(left)} jobs unpaused "
                                       f"(it counted {run['paused']} of {n * per})")
            run["calls"] = summarize_calls(self.sim_calls(), owner)
            baselines[style] = run
            progress(f"burst: SDK baseline {style} {run['wall_seconds']:.1f}s")
        baseline = baselines["per-object"]
        base_calls = baseline["calls"]
        batched = baselines["batched"]
        bound = 1.2 * math.ceil(n * per / self.args.batch_size)
        self.results["burst"] = {
            "objects": n, "jobs_per_object": per, "jobs": n * per, "unknown_jobs": len(unknown),
            "create_seconds": created,
            "operator_wall_seconds": wall,
            "operator_cpu_seconds": cpu,
            "operator_peak_rss_mib": peak,
            "cpu_seconds_of_the_other_processes": others,
            "phases": dict(phases),
            "jobs_paused_more_than_once_or_never": twice,
            **{f"operator_{k}": v for k, v in drs.items()},
            "throttled_by_simulator": throttled_sim,
            "pause_request_bound": bound,
            "kube_writes_apiserver": writes,
            "kube_writes_operator_metric": own,
            "operator_limiter_metrics": limiter,
            "baseline_wall_seconds": baseline["wall_seconds"],
            "baseline_cpu_seconds": baseline["cpu_seconds"],
            "baseline_pace_per_second": self.args.baseline_pace,
            **{f"baseline_{k}": v for k, v in base_calls.items()},
            "baseline_paused": baseline["paused"],
            "ratio_wall": wall / baseline["wall_seconds"],
            "batched_baseline_wall_seconds": batched["wall_seconds"],
            "batched_baseline_paused": batched["paused"],
            **{f"batched_baseline_{k}": v for k, v in batched["calls"].items()},
            "ratio_wall_batched": wall / batched["wall_seconds"],
            "kube_writes_per_object": writes["total"] / n,
        }
        progress(f"burst: SDK baseline {baseline['wall_seconds']:.1f}s; ratio "
                 f"{wall / baseline['wall_seconds']:.3f}")

    def _sdk_baseline(self, objects: list[list[tuple[str, str]]], style: str) -> dict[str, Any]:
        spec = {"url": self.sim.url, "ak": AK, "sk": SK, "project": PROJECT,
                "pace": self.args.baseline_pace, "objects": objects, "mode": style,
                "batch_size": self.args.batch_size}
        path = self.out / "sdk-baseline-input.json"
        path.write_text(json.dumps(spec))
        env = {k: v for k, v in os.environ.items()
               if k.lower() not in ("http_proxy", "https_proxy", "all_proxy")}
        env["NO_PROXY"] = "127.0.0.1,localhost"
        done = subprocess.run(
            [sys.executable, str(Path(__file__).with_name("bench_sdk_baseline.py")), str(path)],
            capture_output=True, text=True, env=env, timeout=3600, check=False,
        )
        path.unlink(missing_ok=True)
        if done.returncode != 0:
            raise RuntimeError(f"SDK baseline failed:\n{done.stderr[-3000:]}")
        return json.loads(done.stdout.strip().splitlines()[-1])

    # -- 3. scale and restart ----------------------------------------------------------------

    def scale(self, op: OperatorProcess | None) -> None:
        n, per = self.args.scale, self.args.scale_jobs_per_object
        for ns in (NS_LATENCY, NS_FLOOR, NS_BURST):
            delete_objects(self.custom, ns)
        self.sim.configure(latency_ms=0, rate_limit_per_second=None)
        ids = job_ids(n * per)
        self.seed(ids)
        bodies = [djp_body(NS_SCALE, f"scale-{o:05d}", PROJECT,
                           [(ids[o * per + k], mode(k)) for k in range(per)], SECRET)
                  for o in range(n)]
        keys = [(NS_SCALE, b["metadata"]["name"]) for b in bodies]
        progress(f"scale: creating {n} objects x {per} jobs (simulator latency 0, no limit)")
        t0 = time.monotonic()
        create_objects(self.custom, bodies,
                       on_progress=lambda d: progress(f"scale: {d}/{n} created"))
        progress(f"scale: created in {time.monotonic() - t0:.1f}s; operator finishing them")
        if op is None:
            op = self.operator(*self.args.scale_prep_arg)
        self.watcher.wait(keys, TERMINAL, 1800, "scale terminal",
                          on_tick=self.ticker("scale", op))
        converged = time.monotonic() - t0
        op.wait_quiet(timeout=300)
        phases = Counter(self.watcher.objects[k].phase for k in keys)
        rss, hwm = op.stats.rss_mib(), op.stats.peak_rss_mib()
        idle_cpu = idle_cpu_share(op, self.args.idle_seconds)
        progress(f"scale: converged in {converged:.1f}s; RSS {rss:.0f} MiB, idle CPU "
                 f"{idle_cpu * 100:.2f}%; restarting the operator")
        op.stop()

        self.sim.configure(latency_ms=self.args.latency_ms,
                           rate_limit_per_second=self.args.rate_limit)
        self.sim.admin("DELETE", "/admin/calls")
        writes0 = self.writes.snapshot()
        t0 = time.monotonic()
        op2 = self.operator()
        reconciled_at = None
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            m = op2.metrics() or []
            if metric_sum(m, "drs_pause_reconcile_duration_seconds_count") >= n:
                reconciled_at = time.monotonic()
                break
            time.sleep(0.25)
        if reconciled_at is None:
            raise TimeoutError("the restarted operator did not reconcile every object")
        # Where the restart's time goes: CPU the operator used until every object had its pass
        # (against the wall time: a busy event loop, or waiting?), and when it led.
        restart_cpu = op2.stats.cpu_seconds()
        led_at = leadership_at(op2.log_path)
        quiet_at = op2.wait_quiet(timeout=300)
        time.sleep(2.0)
        writes = ApiserverWrites.operator_writes(writes0, self.writes.snapshot())
        calls = self.sim_calls()
        idle2 = idle_cpu_share(op2, self.args.idle_seconds)
        rss2 = op2.stats.rss_mib()
        own_writes = metric_sum(op2.metrics() or [], "drs_pause_kube_writes_total")
        self.results["scale"] = {
            "objects": n, "jobs_per_object": per,
            "converge_seconds": converged,
            "phases": dict(phases),
            "rss_mib_after_convergence": rss,
            "peak_rss_mib_while_converging": hwm,
            "idle_cpu_percent": idle_cpu * 100,
            "restart_seconds_to_all_reconciled": reconciled_at - t0,
            "restart_seconds_to_idle": max(quiet_at, reconciled_at) - t0,
            "restart_seconds_to_leadership": None if led_at is None else led_at - t0,
            "restart_cpu_seconds_to_all_reconciled": restart_cpu,
            "restart_drs_requests": len(calls),
            "restart_kube_writes": writes,
            "restart_kube_writes_operator_metric": own_writes,
            "restart_rss_mib": rss2,
            "restart_idle_cpu_percent": idle2 * 100,
        }
        progress(f"scale: restart idle after {max(quiet_at, reconciled_at) - t0:.1f}s, "
                 f"{len(calls)} DRS requests, {writes['total']} Kubernetes writes")
        op2.stop()


def leadership_at(log_path: Path) -> float | None:
    """The operator's monotonic clock (the same as ours) when it last gained leadership."""
    found = LEADERSHIP_RE.findall(log_path.read_text(errors="replace"))
    return float(found[-1]) if found else None


def idle_cpu_share(op: OperatorProcess, seconds: float) -> float:
    c0, t0 = op.stats.cpu_seconds(), time.monotonic()
    time.sleep(seconds)
    return (op.stats.cpu_seconds() - c0) / (time.monotonic() - t0)


def sent_not_once(calls: list[dict[str, Any]], jobs: list[str], paused: set[str]) -> int:
    """Jobs not paused exactly once, counted from what the operator SENT (the call log): a job
    carried by a pause request after one DRS had answered ``success`` for it (a double pause,
    whatever its answer: DRS answers a second pause DRS.M00304 or DRS.M01504, and pause_count
    never sees it), or a job not paused at all. -1 when the call log overflowed."""
    if len(calls) >= CALL_LOG_SIZE:
        return -1
    done: set[str] = set()
    twice: set[str] = set()
    for call in sorted((c for c in calls if c.get("endpoint") == "pause"),
                       key=lambda c: c.get("received") or c["time"]):
        twice.update(j for j in call.get("job_ids") or [] if j in done)
        done.update(r["id"] for r in call.get("results") or [] if r.get("status") == "success")
    wanted = set(jobs)
    return len(twice & wanted) + len(wanted - paused)


def summarize_calls(calls: list[dict[str, Any]], owner: dict[str, int]) -> dict[str, Any]:
    pauses = [c for c in calls if c.get("endpoint") == "pause"]
    statuses = [c for c in calls if c.get("endpoint") == "status"]
    progresses = [c for c in calls if c.get("endpoint") == "progress"]
    throttled = sum(1 for c in calls if c.get("status") == 429)
    sizes = [len(c.get("job_ids") or []) for c in pauses if c.get("status") == 200]
    objects = [len({owner.get(j) for j in c.get("job_ids") or []})
               for c in pauses if c.get("status") == 200]
    return {
        "pause_requests": len(pauses),
        "status_requests": len(statuses),
        "progress_requests": len(progresses),
        "requests": len(calls),
        "throttled": throttled,
        "throttled_share": throttled / len(calls) if calls else 0.0,
        "jobs_per_pause_avg": sum(sizes) / len(sizes) if sizes else 0.0,
        "jobs_per_pause_max": max(sizes, default=0),
        "objects_per_pause_avg": sum(objects) / len(objects) if objects else 0.0,
    }


class Floor:
    """The irreducible work, with warm connections: pause, batch-status, one status PATCH."""

    def __init__(self, url: str, custom: k8s.CustomObjectsApi) -> None:
        self.custom = custom
        self.http = httpx.Client(base_url=url, auth=AkSkAuth(AK, SK, PROJECT), trust_env=False,
                                 timeout=10.0)
        self.base = f"/v3/{PROJECT}/jobs"

    def run(self, name: str, job: str) -> None:
        create_object(self.custom, djp_body(NS_FLOOR, name, PROJECT, [(job, "target")], SECRET))
        paused = self.http.post(f"{self.base}/batch-pause-task",
                                json={"jobs": [{"job_id": job, "pause_mode": "target"}]}).json()
        assert paused["results"][0]["status"] == "success", paused
        state = self.http.post(f"{self.base}/batch-status",
                               json={"jobs": [job], "page_req": {"cur_page": 1, "per_page": 1}})
        task_status = state.json()["results"][0]["status"]
        assert task_status == "PAUSING", task_status
        now = time.time()
        import datetime as dt

        when = dt.datetime.fromtimestamp(now, dt.UTC)
        jobs = [Job(job_id=job, pause_mode="target", task_status=task_status,
                    pause=Leg(phase=PAUSED, api_status="success", attempts=1,
                              last_attempt_time=when, accepted_time=when))]
        status = render({}, ObjectStatus(jobs, 1), when)
        answer = self.custom.patch_namespaced_custom_object_status(
            GROUP, VERSION, NS_FLOOR, PLURAL, name, {"status": status},
            _content_type="application/merge-patch+json", _preload_content=False,
        )
        answer.read()

    def close(self) -> None:
        self.http.close()


# -- the table ------------------------------------------------------------------------------------


def table(results: dict[str, Any], args: argparse.Namespace) -> list[list[str]]:
    rows: list[list[str]] = []

    def row(scenario: str, figure: str, value: str, goal: str = "", met: bool | None = None):
        verdict = "" if met is None else ("yes" if met else "NO")
        rows.append([scenario, figure, value, goal, verdict])

    lat = results.get("latency")
    if lat:
        row("latency", "operator create->Paused p50 / p95",
            f"{lat['operator_p50_ms']:.0f} / {lat['operator_p95_ms']:.0f} ms")
        row("latency", "floor create->Paused p50 / p95",
            f"{lat['floor_p50_ms']:.0f} / {lat['floor_p95_ms']:.0f} ms")
        row("latency", "operator / floor (p50)", f"{lat['ratio_p50']:.2f}x", "<= 2x",
            lat["ratio_p50"] <= 2.0)
        row("latency", "operator / floor (p95)", f"{lat['ratio_p95']:.2f}x")
    bench_catchup.rows(results, row)
    b = results.get("burst")
    if b:
        row("burst", "objects x jobs", f"{b['objects']} x {b['jobs_per_object']}")
        row("burst", "operator wall time to all terminal", f"{b['operator_wall_seconds']:.1f} s")
        row("burst", "SDK baseline wall time, object by object",
            f"{b['baseline_wall_seconds']:.1f} s")
        row("burst", "operator / object-by-object baseline", f"{b['ratio_wall']:.3f}", "<= 0.5",
            b["ratio_wall"] <= 0.5)
        row("burst", "SDK baseline wall time, batched",
            f"{b['batched_baseline_wall_seconds']:.1f} s "
            f"({b['batched_baseline_pause_requests']} pause / "
            f"{b['batched_baseline_status_requests']} status requests)")
        row("burst", "operator / batched baseline", f"{b['ratio_wall_batched']:.2f}x", "<= 2x",
            b["ratio_wall_batched"] <= 2.0)
        row("burst", "pause requests (operator)", str(b["operator_pause_requests"]),
            f"<= {b['pause_request_bound']:.0f}",
            b["operator_pause_requests"] <= b["pause_request_bound"])
        row("burst", "status requests (operator)", str(b["operator_status_requests"]))
        row("burst", "batch-progress requests (operator; no delay gate)",
            str(b["operator_progress_requests"]), "0", b["operator_progress_requests"] == 0)
        row("burst", "jobs per pause request avg / max",
            f"{b['operator_jobs_per_pause_avg']:.1f} / {b['operator_jobs_per_pause_max']}")
        row("burst", "objects per pause request avg", f"{b['operator_objects_per_pause_avg']:.1f}")
        row("burst", "throttled (429) / all DRS requests",
            f"{b['operator_throttled']} / {b['operator_requests']} "
            f"({b['operator_throttled_share'] * 100:.1f}%)", "< 5%",
            b["operator_throttled_share"] < 0.05)
        row("burst", "operator CPU seconds", f"{b['operator_cpu_seconds']:.1f} s")
        row("burst", "operator peak RSS", f"{b['operator_peak_rss_mib']:.0f} MiB")
        w = b["kube_writes_apiserver"]
        row("burst", "Kubernetes writes (status + events)",
            f"{w['total']} ({w['status']} + {w['events']})")
        row("burst", "Kubernetes writes per object", f"{b['kube_writes_per_object']:.2f}",
            "<= 3", b["kube_writes_per_object"] <= 3)
        lim = b["operator_limiter_metrics"]
        row("burst", "limiter waits (count / seconds)",
            f"{lim['rate_limit_waits']:.0f} / {lim['rate_limit_wait_seconds']:.1f} s")
        row("burst", "jobs not paused exactly once (as sent)",
            str(b["jobs_paused_more_than_once_or_never"]),
            "0", b["jobs_paused_more_than_once_or_never"] == 0)
        row("burst", "SDK baseline requests (pause / status / 429)",
            f"{b['baseline_pause_requests']} / {b['baseline_status_requests']} / "
            f"{b['baseline_throttled']}")
    s = results.get("scale")
    if s:
        row("scale", "objects x jobs", f"{s['objects']} x {s['jobs_per_object']}")
        row("scale", "RSS after convergence", f"{s['rss_mib_after_convergence']:.0f} MiB",
            "<= 200 MiB", s["rss_mib_after_convergence"] <= 200)
        row("scale", "idle CPU after convergence", f"{s['idle_cpu_percent']:.2f}%")
        limit = 8.0 if s["objects"] <= 5000 else 30.0
        row("scale", "restart: time to idle", f"{s['restart_seconds_to_idle']:.1f} s",
            f"<= {limit:.0f} s", s["restart_seconds_to_idle"] <= limit)
        if s.get("restart_seconds_to_leadership") is not None:
            row("scale", "restart: leadership after", f"{s['restart_seconds_to_leadership']:.1f} s")
        row("scale", "restart: operator CPU until all reconciled",
            f"{s['restart_cpu_seconds_to_all_reconciled']:.1f} s "
            f"(wall {s['restart_seconds_to_all_reconciled']:.1f} s)")
        row("scale", "restart: DRS requests", str(s["restart_drs_requests"]), "0",
            s["restart_drs_requests"] == 0)
        row("scale", "restart: Kubernetes writes", str(s["restart_kube_writes"]["total"]), "0",
            s["restart_kube_writes"]["total"] == 0)
        row("scale", "restart: RSS / idle CPU",
            f"{s['restart_rss_mib']:.0f} MiB / {s['restart_idle_cpu_percent']:.2f}%",
            "<= 200 MiB" if s["objects"] <= 5000 else "<= 300 MiB",
            s["restart_rss_mib"] <= (200 if s["objects"] <= 5000 else 300))
    return rows


def render_table(rows: list[list[str]]) -> str:
    head = ["scenario", "figure", "value", "goal", "met"]
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]

    def line(r: list[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |"

    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(head), sep, *(line(r) for r in rows)])


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--objects", type=int, default=500, help="burst: objects created at once")
    p.add_argument("--jobs-per-object", type=int, default=10, help="burst: jobs per object")
    p.add_argument("--scale", type=int, default=5000, help="scale: finished objects")
    p.add_argument("--scale-jobs-per-object", type=int, default=10)
    p.add_argument("--latency-ms", type=int, default=50, help="simulator latency per request")
    p.add_argument("--rate-limit", type=float, default=10.0,
                   help="simulator rate limit, requests/s (0 = off)")
    p.add_argument("--runs", type=int, default=20, help="latency: runs of each")
    p.add_argument("--batch-size", type=int, default=100,
                   help="the operator's --batch-size (for the pause request bound)")
    p.add_argument("--baseline-pace", type=float, default=None,
                   help="SDK script: requests/s it paces itself to (default: --rate-limit)")
    p.add_argument("--unknown-jobs", type=int, default=0,
                   help="burst: objects with one job DRS does not know (no SDK baseline then)")
    p.add_argument("--skip-baseline", action="store_true",
                   help="burst: do not run the SDK baseline (for quick experiments)")
    p.add_argument("--idle-seconds", type=float, default=10.0, help="window for idle CPU")
    p.add_argument("--only", default="latency,catchup,burst,scale",
                   help="comma-separated scenarios to run")
    p.add_argument("--operator-arg", action="append", default=[],
                   help="extra argument for the operator (repeatable, e.g. --operator-arg=--x)")
    p.add_argument("--scale-prep-arg", action="append", default=[],
                   help="extra operator argument while it finishes the scale objects")
    p.add_argument("--out", type=Path, default=ROOT / "bench-results")
    args = p.parse_args(argv)
    if args.baseline_pace is None:
        args.baseline_pace = args.rate_limit
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for old in args.out.glob("operator-*.log"):
        old.unlink()
    only = set(args.only.split(","))
    started = time.monotonic()
    load_before = os.getloadavg()
    sim_args = ["--access-key", AK, "--secret-key", SK, "--latency-ms", str(args.latency_ms),
                "--log-level", "WARNING"]
    if args.rate_limit > 0:
        sim_args += ["--rate-limit", str(args.rate_limit)]
    if args.rate_limit <= 0:
        args.rate_limit = None
    progress("starting kube-apiserver + etcd and the DRS simulator")
    workdir = Path(tempfile.mkdtemp(prefix="drs-bench-cp-"))
    try:
        with LocalControlPlane(workdir=workdir, log=progress) as cp, \
                SimulatorProcess(sim_args) as sim:
            bench = Bench(args, cp, sim, args.out)
            try:
                bench.prepare()
                if only & {"latency", "catchup", "burst"}:
                    op = bench.operator(f"--batch-size={args.batch_size}")
                    if "latency" in only:
                        bench.latency(op)
                    if "catchup" in only:
                        bench_catchup.catch_up(bench, PROJECT, SECRET, NS_LATENCY, NS_FLOOR,
                                               AK, SK)
                    if "burst" in only:
                        bench.burst(op)
                    op.stop()
                if "scale" in only:
                    bench.scale(None)
            finally:
                bench.stop_all()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    results = {
        "command": "make bench"
        + (f" BENCH_ARGS='{' '.join(sys.argv[1:])}'" if sys.argv[1:] else ""),
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform(),
                    "loadavg_before": load_before, "loadavg_after": os.getloadavg()},
        "total_seconds": time.monotonic() - started,
        **bench.results,
    }
    rows = table(bench.results, args)
    results["table"] = [dict(zip(["scenario", "figure", "value", "goal", "met"], r, strict=True))
                        for r in rows]
    dump_json(args.out / "bench.json", results)
    print()
    print(render_table(rows))
    print(f"\n{len(rows)} figures in {results['total_seconds']:.0f}s on {os.cpu_count()} CPUs "
          f"(load average {load_before[0]:.1f} before, {os.getloadavg()[0]:.1f} after); JSON: "
          f"{args.out / 'bench.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
