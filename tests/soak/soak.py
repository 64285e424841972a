"""Soak: objects are created and deleted continuously for a bounded time while the operator's
memory and open connections are sampled; they must stay flat. Prints the figures.

Everything runs on 127.0.0.1 and is stopped at the end, whatever happens: a local control plane
(etcd + kube-apiserver), the DRS simulator (with a few transient faults) and the operator.

    python tests/soak/soak.py --duration 600        # or: make soak SOAK_SECONDS=600

Exit code 0 when memory and connections stayed flat and every object converged, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from drs_pause_operator.dev.devcluster import LocalControlPlane, free_port
from drs_pause_operator.dev.simulator.testing import SimulatorProcess

ROOT = Path(__file__).resolve().parents[2]
PROJECT = "054ba152d480d55b2f5dc0069e7ddef0"
TOKEN = "soak-static-token-77aa"
NAMESPACE = "soak"
JOBS_PER_OBJECT = 5
FAULTS = [
    {"kind": "http_error", "status": 503, "probability": 0.03, "times": None},
    {"kind": "drop", "probability": 0.01, "times": None},
    {"kind": "rate_limit", "retry_after": 1, "probability": 0.01, "times": None},
    {"kind": "latency", "latency_ms": 100, "probability": 0.1, "times": None},
]


@dataclass
class Sample:
    elapsed: float
    rss_mb: float
    fds: int
    sockets: int
    drs_connections: int
    live: int
    created: int
    deleted: int
    unsettled_old: int


def proc_status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def socket_inodes(pid: int) -> tuple[int, int]:
    """(open file descriptors, of which sockets)."""
    fds = sockets = 0
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        fds += 1
        try:
            if os.readlink(fd).startswith("socket:"):
                sockets += 1
        except OSError:
            continue
    return fds, sockets


def established_to(port: int) -> int:
    """ESTABLISHED TCP connections to 127.0.0.1:port (the simulator: only the operator calls it)."""
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            parts = line.split()
            remote, state = parts[2], parts[3]
            if state == "01" and int(remote.rsplit(":", 1)[1], 16) == port:
                count += 1
    return count


def djp(name: str, jobs: list[str]) -> str:
    return json.dumps({
        "apiVersion": "drs.cloudops.dev/v1alpha1", "kind": "DrsJobPause",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": {"projectId": PROJECT, "credentialsSecretRef": {"name": "drs-credentials"},
                 "jobs": [{"jobId": j, "pauseMode": "target"} for j in jobs]},
    })


def slope_per_minute(points: list[tuple[float, float]]) -> float:
    if len(points) < 2:
        return 0.0
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    var = sum((x - mx) ** 2 for x in xs)
    return 60 * sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / var if var else 0.0


def run(duration: float, live_target: int, sample_every: float, workdir: Path) -> int:
    with LocalControlPlane(workdir=workdir / "controlplane", log=lambda *a: None) as cluster, \
            SimulatorProcess(["--token", TOKEN, "--seed", "3", "--pause-delay", "0.3",
                              "--latency-ms", "5", "--log-level", "WARNING"]) as sim:
        cluster.kubectl("apply", "--server-side", "-f", str(ROOT / "crds"))
        cluster.kubectl("wait", "--for=condition=Established",
                        "crd/drsjobpauses.drs.cloudops.dev", "--timeout=60s")
        cluster.kubectl("create", "namespace", NAMESPACE)
        cluster.kubectl("apply", "-f", "-", input=json.dumps({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "drs-credentials", "namespace": NAMESPACE},
            "stringData": {"token": TOKEN}}))
        sim.admin("POST", "/admin/faults", FAULTS)
        sim_port = int(sim.url.rsplit(":", 1)[1])
        env = {k: v for k, v in os.environ.items() if not k.startswith("DRS_PAUSE_")}
        env["KUBECONFIG"] = str(cluster.kubeconfig)
        log_path = workdir / "operator.log"
        with open(log_path, "wb") as log:
            operator = subprocess.Popen(
                [sys.executable, "-m", "drs_pause_operator", "run", "--namespace", NAMESPACE,
                 "--endpoint-template", sim.url, "--iam-endpoint-template", sim.url,
                 "--allow-insecure-http", "--metrics-port", str(free_port()),
                 "--request-timeout", "5", "--log-level", "INFO"],
                stdout=log, stderr=subprocess.STDOUT, env=env)
        try:
            return churn(cluster, sim, operator, sim_port, duration, live_target, sample_every,
                         log_path)
        finally:
            if operator.poll() is None:
                operator.terminate()
                try:
                    operator.wait(15)
                except subprocess.TimeoutExpired:
                    operator.kill()
                    operator.wait(10)


def churn(cluster, sim, operator, sim_port, duration, live_target, sample_every,
          log_path) -> int:
    live: deque[tuple[str, float]] = deque()
    created = deleted = 0
    samples: list[Sample] = []
    started = time.monotonic()
    next_sample = started + sample_every
    print(f"soak: {duration:.0f}s, ~{live_target} live objects x {JOBS_PER_OBJECT} jobs, "
          f"operator pid {operator.pid}", flush=True)
    print(f"{'t(s)':>6} {'rss MB':>7} {'fds':>4} {'sock':>4} {'drs conn':>8} {'live':>5} "
          f"{'created':>7} {'deleted':>7} {'stuck':>5}", flush=True)
    while time.monotonic() - started < duration:
        if operator.poll() is not None:
            print(f"the operator exited with {operator.returncode}; log: {log_path}")
            return 1
        jobs = [str(uuid.uuid4()) for _ in range(JOBS_PER_OBJECT)]
        sim.seed([{"id": j, "status": "INCRE_TRANSFER_STARTED"} for j in jobs])
        name = f"soak-{created:05d}"
        cluster.kubectl("apply", "-f", "-", input=djp(name, jobs))
        live.append((name, time.monotonic()))
        created += 1
        while len(live) > live_target:
            old, _ = live.popleft()
            cluster.kubectl("delete", "djp", old, "-n", NAMESPACE, "--wait=false")
            deleted += 1
        time.sleep(0.3)
        if time.monotonic() >= next_sample:
            next_sample += sample_every
            samples.append(sample(cluster, operator.pid, sim_port, started, live, created,
                                  deleted))
            s = samples[-1]
            print(f"{s.elapsed:6.0f} {s.rss_mb:7.1f} {s.fds:4d} {s.sockets:4d} "
                  f"{s.drs_connections:8d} {s.live:5d} {s.created:7d} {s.deleted:7d} "
                  f"{s.unsettled_old:5d}", flush=True)
    # Every live object converges once the churn stops.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        unsettled = unsettled_objects(cluster, 0.0)
        if not unsettled:
            break
        time.sleep(2)
    samples.append(sample(cluster, operator.pid, sim_port, started, live, created, deleted))
    return verdict(samples, unsettled, sim)


def unsettled_objects(cluster, older_than: float) -> list[str]:
    items = json.loads(cluster.kubectl("get", "djp", "-n", NAMESPACE, "-o", "json").stdout)
    now = time.time()
    out = []
    for item in items["items"]:
        created = time.mktime(time.strptime(item["metadata"]["creationTimestamp"],
                                            "%Y-%m-%dT%H:%M:%SZ")) - time.timezone
        if (item.get("status") or {}).get("phase") != "Paused" and now - created > older_than:
            out.append(item["metadata"]["name"])
    return out


def sample(cluster, pid, sim_port, started, live, created, deleted) -> Sample:
    fds, sockets = socket_inodes(pid)
    return Sample(
        elapsed=time.monotonic() - started,
        rss_mb=proc_status_kb(pid, "VmRSS") / 1024,
        fds=fds,
        sockets=sockets,
        drs_connections=established_to(sim_port),
        live=len(live),
        created=created,
        deleted=deleted,
        unsettled_old=len(unsettled_objects(cluster, 30.0)),
    )


def verdict(samples: list[Sample], unsettled: list[str], sim) -> int:
    warm = [s for s in samples if s.elapsed >= samples[-1].elapsed * 0.25] or samples
    quarter = max(1, len(warm) // 4)
    first = statistics.fmean(s.rss_mb for s in warm[:quarter])
    last = statistics.fmean(s.rss_mb for s in warm[-quarter:])
    slope = slope_per_minute([(s.elapsed, s.rss_mb) for s in warm])
    max_sockets = max(s.sockets for s in samples)
    max_drs = max(s.drs_connections for s in samples)
    stats = sim.admin("GET", "/admin/stats")
    print()
    print(f"objects created {samples[-1].created}, deleted {samples[-1].deleted}; DRS calls "
          f"{stats['calls']} {stats['by_status']}")
    print(f"RSS: start {samples[0].rss_mb:.1f} MB, after warm-up {first:.1f} MB, end "
          f"{last:.1f} MB, max {max(s.rss_mb for s in samples):.1f} MB, slope after warm-up "
          f"{slope:+.2f} MB/min")
    print(f"file descriptors: {min(s.fds for s in samples)}..{max(s.fds for s in samples)}; "
          f"sockets: {min(s.sockets for s in samples)}..{max_sockets}; connections to DRS: "
          f"{min(s.drs_connections for s in samples)}..{max_drs}")
    problems = []
    if last > first * 1.15 + 5:
        problems.append(f"memory grew from {first:.1f} to {last:.1f} MB")
    if max_sockets > 40 or max_drs > 12:
        problems.append(f"too many connections: {max_sockets} sockets, {max_drs} to DRS")
    if unsettled:
        problems.append(f"{len(unsettled)} objects never converged: {unsettled[:5]}")
    print("FLAT" if not problems else "NOT FLAT: " + "; ".join(problems))
    return 1 if problems else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=600, help="seconds of churn (600)")
    parser.add_argument("--live", type=int, default=40, help="objects alive at a time (40)")
    parser.add_argument("--sample-every", type=float, default=10, help="seconds (10)")
    args = parser.parse_args(argv)
    if not 10 <= args.duration <= 3600:
        parser.error("--duration must be within 10..3600 seconds")
    with tempfile.TemporaryDirectory(prefix="drs-soak-") as tmp:
        return run(args.duration, args.live, args.sample_every, Path(tmp))


if __name__ == "__main__":
    sys.exit(main())
