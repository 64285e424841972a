"""Longer outages, with the operator process left running (nobody restarts it):

- the API server down for 60 s;
- etcd stopped and started again;
- DRS unreachable for 2 minutes (the simulator process stopped, a new one started on the same
  port with the same task states);
- DRS answering 503 to everything for 2 minutes.

Each time the operator recovers by itself (same process), no job is lost (objects created before
and during the outage, or right after an API outage, all end Paused), nothing is paused twice
(counted as sent, tests/e2e/sent.py), and the liveness endpoint tells the truth: it stays OK
through every outage the operator recovers from (kopf retries API errors without end, see
engine/startup.py), and fails once the operator can no longer recover by itself (a hung process:
SIGSTOP), so the kubelet would restart it.
"""

from __future__ import annotations

import json
import signal
import socket
import threading
import time
import urllib.request
from collections.abc import Iterator

import pytest

from drs_pause_operator.dev.simulator.testing import SimulatorProcess

from .conftest import TOKEN, djp, get_status, new_job_id, operator_args, token_secret, wait_for
from .sent import StatusHistory, judge

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SECRET = {"credentialsSecretRef": {"name": "drs-credentials"}}
# The kubelet's default: 3 failed probes in a row, 10 s apart, restart the container.
KUBELET_FAILURES = 3


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Liveness:
    """Probes the operator's liveness endpoint every second, like a (stricter) kubelet."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.results: list[tuple[float, bool]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def probe(self) -> bool:
        try:
            with urllib.request.urlopen(self.url, timeout=3) as response:
                return response.status == 200
        except OSError:
            return False

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            self.results.append((time.time(), self.probe()))

    def start(self) -> Liveness:
        wait_for(self.probe, timeout=90, interval=0.5, what="liveness endpoint up")
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    def longest_failure(self) -> int:
        longest = run = 0
        for _, ok in self.results:
            run = 0 if ok else run + 1
            longest = max(longest, run)
        return longest


class Scene:
    """A simulator on a fixed port, an operator with a liveness endpoint, a status watch."""

    def __init__(self, cluster, namespace: str, start_operator, port: int) -> None:
        self.cluster, self.namespace, self.port = cluster, namespace, port
        self.sim = self._simulator([])
        self.jobs: list[str] = []
        self.names: list[str] = []
        self.earlier_calls: list[dict] = []  # of simulator processes gone
        cluster.kubectl("apply", "-f", "-", input=token_secret(namespace))
        url = f"http://127.0.0.1:{free_port()}/healthz"
        self.op = start_operator(operator_args(
            self.sim.url, namespace, "--liveness", url, "--request-timeout", "3"))
        self.history = StatusHistory(cluster.kubeconfig, namespace).__enter__()
        self.liveness = Liveness(url).start()

    def _simulator(self, tasks: list[dict]) -> SimulatorProcess:
        sim = SimulatorProcess(["--token", TOKEN, "--port", str(self.port), "--pause-delay",
                                "0.5", "--log-level", "WARNING"]).__enter__()
        sim.add_fault(kind="latency", endpoint="pause", latency_ms=300, times=None)
        if tasks:
            sim.seed(tasks)
        return sim

    def create(self, count: int, prefix: str) -> None:
        """COUNT objects of 2 jobs each, one kubectl apply."""
        items = []
        for i in range(count):
            ids = [new_job_id(), new_job_id()]
            self.sim.seed([{"id": j, "status": "INCRE_TRANSFER_STARTED"} for j in ids])
            self.jobs += ids
            self.names.append(f"{prefix}-{i}")
            items.append(json.loads(djp(self.namespace, f"{prefix}-{i}",
                                        [(j, "target") for j in ids], **SECRET)))
        self.cluster.kubectl("apply", "-f", "-", input=json.dumps(
            {"apiVersion": "v1", "kind": "List", "items": items}))

    def seed_only(self, count: int) -> list[str]:
        ids = [new_job_id() for _ in range(count)]
        self.sim.seed([{"id": j, "status": "INCRE_TRANSFER_STARTED"} for j in ids])
        return ids

    def replace_simulator(self, down: float) -> None:
        """DRS unreachable for DOWN seconds: the process stops (connection refused), then a new
        one serves the same port with the same task states."""
        # Nothing is processed from here on (so the states read next are final)...
        self.sim.add_fault(kind="drop", endpoint="*", times=None)
        # ...once the requests already past the fault check (held by the latency fault) are
        # answered: a pause processed after the states were read would be lost with the process.
        wait_for(lambda: not self.sim.in_flight(), timeout=30, interval=0.1,
                 what="no request in flight")
        self.earlier_calls += self.sim.calls()
        # A pause accepted less than --pause-delay ago is still on its way to PAUSING: the new
        # process starts from where each task is going.
        tasks = [{"id": t["id"], "status": t.get("pending_status") or t["status"]}
                 for t in self.sim.tasks()]
        self.sim.stop()
        self.down_until = time.monotonic() + down
        self._tasks_kept = tasks

    def bring_simulator_back(self) -> None:
        time.sleep(max(0.0, self.down_until - time.monotonic()))
        self.sim = self._simulator(self._tasks_kept)

    def settle(self, timeout: float = 150) -> None:
        def all_paused():
            out = self.cluster.kubectl("get", "djp", "-n", self.namespace, "-o", "json").stdout
            phases = {o["metadata"]["name"]: (o.get("status") or {}).get("phase")
                      for o in json.loads(out)["items"]}
            return all(phases.get(n) == "Paused" for n in self.names) or None
        wait_for(all_paused, timeout=timeout, interval=1.0, what="every object Paused")

    def check(self) -> None:
        """Same process, nothing lost, nothing paused twice, liveness OK all along."""
        time.sleep(1.5)  # the last status versions reach the watch; a few more probes
        self.liveness.stop()
        self.history.__exit__(None, None, None)
        assert self.op.proc.poll() is None, "the operator process died:\n" + self.op.log[-3000:]
        assert "kopf stopped on its own" not in self.op.log
        tasks = {t["id"]: t for t in self.sim.tasks()}
        for job in self.jobs:
            assert tasks[job]["status"] == "PAUSING", job
        for name in self.names:
            assert get_status(self.cluster, self.namespace, name)["phase"] == "Paused"
        verdict = judge(self.earlier_calls + self.sim.calls(), self.jobs, self.history)
        print(f"sent: {verdict.summary()}; liveness: {len(self.liveness.results)} probes, "
              f"longest failure run {self.liveness.longest_failure()}")
        assert not verdict.double, verdict.double
        assert not verdict.regressions, verdict.regressions
        assert len(verdict.excused) <= 4, verdict.excused
        successes = {}
        for call in self.earlier_calls + self.sim.calls():
            for r in call.get("results") or []:
                if call["endpoint"] == "pause" and r.get("status") == "success":
                    successes[r["id"]] = successes.get(r["id"], 0) + 1
        assert all(successes.get(j) == 1 for j in self.jobs), successes
        assert self.liveness.longest_failure() < KUBELET_FAILURES, self.liveness.results

    def close(self) -> None:
        self.liveness.stop()
        self.history.__exit__(None, None, None)
        self.sim.stop()


@pytest.fixture
def scene(cluster, namespace, start_operator) -> Iterator[Scene]:
    if not hasattr(cluster, "stop_apiserver"):
        pytest.skip("an existing cluster: the test cannot stop its API server or etcd")
    s = Scene(cluster, namespace, start_operator, free_port())
    try:
        yield s
    finally:
        s.close()


@pytest.mark.timeout(300)
def test_api_server_down_for_60s(scene, cluster):
    scene.create(6, "before")
    time.sleep(1.0)  # some of it in flight
    args = cluster.stop_apiserver()
    time.sleep(60)
    cluster.start_apiserver(args)
    scene.create(4, "after")
    scene.settle()
    scene.check()


@pytest.mark.timeout(240)
def test_etcd_restarted(scene, cluster):
    scene.create(6, "before")
    time.sleep(1.0)
    cluster.restart_etcd(down=20)
    scene.create(4, "after")
    scene.settle()
    scene.check()


@pytest.mark.timeout(600)
def test_drs_unreachable_for_2_minutes(scene):
    scene.create(6, "before")
    time.sleep(0.5)
    scene.replace_simulator(down=120)
    # Objects created while DRS is gone; their tasks are seeded into the next simulator.
    extra = []
    for i in range(4):
        ids = [new_job_id(), new_job_id()]
        extra += [{"id": j, "status": "INCRE_TRANSFER_STARTED"} for j in ids]
        scene.jobs += ids
        scene.names.append(f"during-{i}")
        scene.cluster.kubectl("apply", "-f", "-", input=djp(
            scene.namespace, f"during-{i}", [(j, "target") for j in ids], **SECRET))
    scene._tasks_kept += extra
    scene.bring_simulator_back()
    # Jobs whose pauses failed all through the outage back off exponentially (capped at 300 s,
    # Policy.backoff_cap): after 2 minutes the next try may be up to ~2 minutes away.
    scene.settle(timeout=330)
    scene.check()


@pytest.mark.timeout(360)
def test_drs_answering_503_for_2_minutes(scene):
    scene.create(6, "before")
    time.sleep(0.5)
    scene.sim.add_fault(kind="http_error", endpoint="*", status=503, times=None)
    time.sleep(5)
    scene.create(4, "during")
    time.sleep(115)
    stuck = [n for n in scene.names if get_status(scene.cluster, scene.namespace, n).get(
        "phase") == "Paused"]
    scene.sim.clear_faults()
    scene.sim.add_fault(kind="latency", endpoint="pause", latency_ms=300, times=None)
    assert all(n.startswith("before") for n in stuck)  # nothing got through the 503s
    scene.settle()
    scene.check()


def test_liveness_fails_when_the_operator_cannot_recover(scene):
    """A hung process (SIGSTOP: no event loop turns) recovers from nothing by itself: the
    probe must fail, so the kubelet restarts it."""
    scene.create(1, "before")
    scene.settle()
    assert scene.liveness.probe()
    scene.op.proc.send_signal(signal.SIGSTOP)
    try:
        failures = [scene.liveness.probe() for _ in range(KUBELET_FAILURES)]
        assert failures == [False] * KUBELET_FAILURES
    finally:
        scene.op.proc.send_signal(signal.SIGCONT)
    wait_for(scene.liveness.probe, timeout=30, what="liveness back after SIGCONT")
