"""Pieces of the benchmark: process probes, metric scrapes, the operator process, a watcher.

Everything here measures from outside the operator: CPU and memory from /proc, Kubernetes
writes from the API server's own request counters, DRS requests from the simulator's call log.
The operator's own metrics are read only as a cross-check and to see when it is idle.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes import watch as k8s_watch
from kubernetes.client.exceptions import ApiException

from drs_pause_operator.dev.child_process import die_with_parent

GROUP, VERSION, PLURAL = "drs.cloudops.dev", "v1alpha1", "drsjobpauses"
TERMINAL = frozenset({"Paused", "PartiallyPaused", "Failed"})
WRITE_VERBS = frozenset({"POST", "PUT", "PATCH", "DELETE", "DELETECOLLECTION", "APPLY"})
CLK_TCK = os.sysconf("SC_CLK_TCK")
SOURCE_ROOT = Path(__file__).resolve().parents[2] / "operator"
_STARTED = time.monotonic()


def progress(message: str) -> None:
    print(f"[bench {time.monotonic() - _STARTED:7.1f}s] {message}", flush=True)


# -- /proc probes ---------------------------------------------------------------------------------


class ProcStats:
    """CPU seconds and memory of one process, read from /proc (no psutil needed)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid

    def cpu_seconds(self) -> float:
        with open(f"/proc/{self.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        # fields[0] is field 3 (state): utime and stime are fields 14 and 15.
        return (int(fields[11]) + int(fields[12])) / CLK_TCK

    def _status(self, key: str) -> float:
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) / 1024.0  # kB -> MiB
        return float("nan")

    def rss_mib(self) -> float:
        return self._status("VmRSS")

    def peak_rss_mib(self) -> float:
        return self._status("VmHWM")

    def reset_peak(self) -> bool:
        """Reset VmHWM to the current RSS (Linux >= 4.0: write 5 to clear_refs)."""
        try:
            with open(f"/proc/{self.pid}/clear_refs", "w") as f:
                f.write("5")
            return True
        except OSError:
            return False


# -- Prometheus text ------------------------------------------------------------------------------

_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)")
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def parse_samples(text: str, prefixes: Iterable[str]) -> list[tuple[str, dict[str, str], float]]:
    wanted = tuple(prefixes)
    out = []
    for line in text.splitlines():
        if not line.startswith(wanted):
            continue
        match = _SAMPLE.match(line)
        if not match:
            continue
        name, labels, value = match.groups()
        try:
            number = float(value)
        except ValueError:
            continue
        out.append((name, dict(_LABEL.findall(labels or "")), number))
    return out


def metric_sum(samples, name: str, **labels: str) -> float:
    return sum(
        v for n, lab, v in samples if n == name and all(lab.get(k) == x for k, x in labels.items())
    )


class ApiserverWrites:
    """Write requests counted by kube-apiserver itself (apiserver_request_total)."""

    def __init__(self, kubectl: Callable[..., subprocess.CompletedProcess[str]]) -> None:
        self._kubectl = kubectl

    def snapshot(self) -> Counter[tuple[str, str, str]]:
        text = self._kubectl("get", "--raw", "/metrics").stdout
        counts: Counter[tuple[str, str, str]] = Counter()
        for _, lab, value in parse_samples(text, ["apiserver_request_total{"]):
            if lab.get("verb") in WRITE_VERBS:
                counts[(lab["verb"], lab.get("resource", ""), lab.get("subresource", ""))] += int(
                    value
                )
        return counts

    @staticmethod
    def operator_writes(before: Counter, after: Counter) -> dict[str, int]:
        """Writes only the operator makes: status of our objects, Events, metadata of our
        objects. The benchmark's own creates and deletes (POST / DELETE*) are left out, and so
        is the API server's own lease renewal."""
        delta = after - before
        status = sum(v for (_, res, sub), v in delta.items() if res == PLURAL and sub == "status")
        events = sum(v for (_, res, _sub), v in delta.items() if res == "events")
        meta = sum(
            v
            for (verb, res, sub), v in delta.items()
            if res == PLURAL and sub == "" and verb in ("PATCH", "PUT", "APPLY")
        )
        return {"status": status, "events": events, "metadata": meta,
                "total": status + events + meta}


# -- the operator as a separate process -----------------------------------------------------------


class OperatorProcess:
    def __init__(self, kubeconfig: Path, args: list[str], log_path: Path, metrics_port: int):
        self.kubeconfig = kubeconfig
        self.args = args
        self.log_path = log_path
        self.metrics_port = metrics_port
        self.proc: subprocess.Popen[bytes] | None = None
        self.started = 0.0
        self._http = httpx.Client(timeout=5.0, trust_env=False)

    def start(self) -> OperatorProcess:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DRS_PAUSE_")}
        # This checkout's code first, whatever the virtualenv's editable install points at.
        path = [str(SOURCE_ROOT), *(p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p)]
        env.update({"KUBECONFIG": str(self.kubeconfig), "PYTHONUNBUFFERED": "1",
                    "PYTHONPATH": os.pathsep.join(path)})
        log = open(self.log_path, "ab")  # noqa: SIM115 - the child owns it
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "drs_pause_operator", "run", *self.args,
             "--metrics-port", str(self.metrics_port)],
            stdout=log, stderr=subprocess.STDOUT, env=env, stdin=subprocess.DEVNULL,
            preexec_fn=die_with_parent,  # noqa: PLW1509 - setsid + prctl only, no locks taken
        )
        self.stats = ProcStats(self.proc.pid)
        return self

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def metrics(self) -> list[tuple[str, dict[str, str], float]] | None:
        try:
            text = self._http.get(f"http://127.0.0.1:{self.metrics_port}/metrics").text
        except httpx.HTTPError:
            return None
        return parse_samples(text, ["drs_pause_"])

    def wait_metrics(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError("operator exited:\n" + self.log_tail())
            if self.metrics() is not None:
                return
            time.sleep(0.1)
        raise TimeoutError("operator metrics endpoint did not come up")

    def stop(self, timeout: float = 20.0) -> None:
        if self.alive():
            assert self.proc is not None
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._http.close()

    def log_tail(self, lines: int = 30) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def wait_quiet(self, cpu_below: float = 0.03, window: float = 1.0, timeout: float = 120.0
                   ) -> float:
        """Wait until the operator used less than ``cpu_below`` of a core over ``window``
        seconds twice in a row; return when that quiet period began (monotonic)."""
        deadline = time.monotonic() + timeout
        quiet_since = None
        while time.monotonic() < deadline:
            c0, t0 = self.stats.cpu_seconds(), time.monotonic()
            time.sleep(window)
            used = (self.stats.cpu_seconds() - c0) / (time.monotonic() - t0)
            if used < cpu_below:
                if quiet_since is not None:
                    return quiet_since
                quiet_since = t0
            else:
                quiet_since = None
        raise TimeoutError("the operator did not go quiet")


# -- Kubernetes access for the benchmark itself ---------------------------------------------------


def api_client(kubeconfig: Path, pool: int = 32) -> k8s.ApiClient:
    conf = k8s.Configuration()
    k8s_config.load_kube_config(config_file=str(kubeconfig), client_configuration=conf)
    conf.connection_pool_maxsize = pool
    return k8s.ApiClient(conf)


def djp_body(namespace: str, name: str, project: str, jobs: list[tuple[str, str]],
             secret: str) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "DrsJobPause",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "projectId": project,
            "credentialsSecretRef": {"name": secret},
            "jobs": [{"jobId": j, "pauseMode": m} for j, m in jobs],
        },
    }


def create_object(custom: k8s.CustomObjectsApi, body: dict[str, Any]) -> None:
    resp = custom.create_namespaced_custom_object(
        GROUP, VERSION, body["metadata"]["namespace"], PLURAL, body, _preload_content=False
    )
    resp.read()  # read the answer so the connection goes back to the pool


def create_objects(custom: k8s.CustomObjectsApi, bodies: list[dict[str, Any]], threads: int = 16,
                   on_progress: Callable[[int], None] | None = None) -> dict[str, float]:
    """POST many objects in parallel; return when each one was created (monotonic)."""
    done = 0
    lock = threading.Lock()
    created: dict[str, float] = {}

    def one(body: dict[str, Any]) -> None:
        nonlocal done
        for attempt in range(5):
            try:
                create_object(custom, body)
                break
            except ApiException as err:
                if err.status == 409:
                    break
                if err.status not in (429, 500, 503, 504) or attempt == 4:
                    raise
                time.sleep(0.5 * (attempt + 1))
        with lock:
            created[body["metadata"]["name"]] = time.monotonic()
            done += 1
            if on_progress and done % 1000 == 0:
                on_progress(done)

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(one, bodies))
    return created


def delete_objects(custom: k8s.CustomObjectsApi, namespace: str) -> None:
    custom.delete_collection_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL)


# -- a watch over every DrsJobPause ---------------------------------------------------------------


@dataclass
class Seen:
    phase: str = ""
    # monotonic time at which each phase was first seen
    first: dict[str, float] = field(default_factory=dict)


class Watcher(threading.Thread):
    """One cluster-wide watch; remembers when each object first showed each phase."""

    def __init__(self, api: k8s.ApiClient) -> None:
        super().__init__(daemon=True, name="bench-watch")
        self.custom = k8s.CustomObjectsApi(api)
        self.objects: dict[tuple[str, str], Seen] = {}
        self.cond = threading.Condition()
        self._stop = threading.Event()
        self.ready = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self._loop()
        except BaseException as err:  # surfaced by wait()
            self.error = err
            with self.cond:
                self.cond.notify_all()

    def _list(self) -> str:
        listing = self.custom.list_cluster_custom_object(GROUP, VERSION, PLURAL, limit=1)
        return listing["metadata"]["resourceVersion"]

    def _loop(self) -> None:
        rv = self._list()
        self.ready.set()
        while not self._stop.is_set():
            w = k8s_watch.Watch()
            try:
                for event in w.stream(
                    self.custom.list_cluster_custom_object, GROUP, VERSION, PLURAL,
                    resource_version=rv, timeout_seconds=60, allow_watch_bookmarks=True,
                ):
                    now = time.monotonic()
                    obj = event["object"]
                    meta = obj.get("metadata") or {}
                    rv = meta.get("resourceVersion") or rv
                    if event["type"] in ("BOOKMARK", "ERROR"):
                        if event["type"] == "ERROR":
                            rv = self._list()
                            break
                        continue
                    key = (meta.get("namespace", ""), meta.get("name", ""))
                    phase = (obj.get("status") or {}).get("phase") or ""
                    with self.cond:
                        if event["type"] == "DELETED":
                            self.objects.pop(key, None)
                        else:
                            seen = self.objects.setdefault(key, Seen())
                            seen.phase = phase
                            seen.first.setdefault(phase, now)
                        self.cond.notify_all()
                    if self._stop.is_set():
                        break
            except ApiException as err:
                if err.status == 410:
                    rv = self._list()
                    continue
                raise
            finally:
                w.stop()

    def stop(self) -> None:
        self._stop.set()

    def wait(
        self, keys: Iterable[tuple[str, str]], phases: Iterable[str], timeout: float,
        what: str, on_tick: Callable[[int, int], None] | None = None,
    ) -> dict[tuple[str, str], float]:
        """Wait until every key has been seen in one of ``phases``; return when, per key."""
        keys, wanted = list(keys), frozenset(phases)
        deadline = time.monotonic() + timeout
        last_tick = time.monotonic()
        with self.cond:
            while True:
                if self.error is not None:
                    raise RuntimeError(f"watch failed: {self.error!r}")
                done = {}
                for key in keys:
                    seen = self.objects.get(key)
                    if seen is None:
                        continue
                    hits = [t for p, t in seen.first.items() if p in wanted]
                    if hits:
                        done[key] = min(hits)
                if len(done) == len(keys):
                    return done
                now = time.monotonic()
                if now > deadline:
                    raise TimeoutError(f"{what}: {len(done)}/{len(keys)} after {timeout:.0f}s")
                if on_tick and now - last_tick >= 5.0:
                    on_tick(len(done), len(keys))
                    last_tick = now
                self.cond.wait(timeout=min(1.0, deadline - now))

    def forget(self, namespace: str) -> None:
        with self.cond:
            for key in [k for k in self.objects if k[0] == namespace]:
                del self.objects[key]


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (p95 of 20 values is the 19th smallest)."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * pct // 100))
    return ordered[int(rank) - 1]


def against_floor(runs: int, warm: int, operator: Callable[[int], float],
                  floor: Callable[[int], float]) -> dict[str, Any]:
    """RUNS timings of the operator and of its floor, taken in turn (after WARM of each that do
    not count; ``operator(i)``/``floor(i)`` time run i in seconds): p50, p95, ratios, samples."""
    op_times: list[float] = []
    floor_times: list[float] = []
    for i in range(runs + warm):
        t_op = operator(i)
        time.sleep(0.3)
        t_floor = floor(i)
        time.sleep(0.3)
        if i >= warm:
            op_times.append(t_op)
            floor_times.append(t_floor)
    r: dict[str, Any] = {
        "operator_p50_ms": percentile(op_times, 50) * 1000,
        "operator_p95_ms": percentile(op_times, 95) * 1000,
        "floor_p50_ms": percentile(floor_times, 50) * 1000,
        "floor_p95_ms": percentile(floor_times, 95) * 1000,
        "runs": runs,
        "operator_ms": [round(t * 1000, 1) for t in op_times],
        "floor_ms": [round(t * 1000, 1) for t in floor_times],
    }
    r["ratio_p50"] = r["operator_p50_ms"] / r["floor_p50_ms"]
    r["ratio_p95"] = r["operator_p95_ms"] / r["floor_p95_ms"]
    return r


def dump_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n")
