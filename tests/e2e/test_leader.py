"""Two operator processes on one Lease: one leader, a standby that takes over.

Each process logs, with its holder identity and the machine's monotonic clock (one clock for
every process here), when it gained and lost the leadership and when each reconcile pass
started. From those lines the tests check that no two processes ever ran passes at the same
time, and from the simulator's call log that each job was carried by at most one pause request
(a second one, from the new leader, is excused only as tests/e2e/sent.py judges it: the status
never showed the job answered, the new leader looked it up first, and the old leader died
without an answer it had written down).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import re
import select
import signal
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from .conftest import djp, new_job_id, operator_args, token_secret, wait_for
from .sent import StatusHistory, judge, trail, wait_in_flight, when

pytestmark = pytest.mark.e2e

SECRET = {"credentialsSecretRef": {"name": "drs-credentials"}}
LEASE = "drs-pause-operator"
LEASE_DURATION = 15.0
RENEW_DEADLINE = 10.0
RETRY = 2.0
MARGIN = 10.0  # a loaded two-core machine: process start, kopf, one retry period late
FINAL = {"Paused", "Failed"}

IDENTITY = re.compile(r"leader election: Lease \S+, identity (\S+) ")
GAINED = re.compile(r"leadership gained: (\S+) holds the Lease \S+ \(mono=([\d.]+)\)")
ENDED = re.compile(r"leadership (?:lost|given up \(shutdown\)): (\S+) stopped reconciling "
                   r"\(mono=([\d.]+)\)")
PASS = re.compile(r"pass start (\S+) holder=(\S*) mono=([\d.]+)")


@dataclass
class Timeline:
    identity: str
    gained: list[float] = field(default_factory=list)
    ended: list[float] = field(default_factory=list)
    passes: list[float] = field(default_factory=list)
    holders: set[str] = field(default_factory=set)

    @classmethod
    def of(cls, log: str) -> Timeline:
        found = IDENTITY.search(log)
        assert found, "no leader election line in the log:\n" + log[-2000:]
        line = cls(found.group(1))
        line.gained = [float(m.group(2)) for m in GAINED.finditer(log)]
        line.ended = [float(m.group(2)) for m in ENDED.finditer(log)]
        for m in PASS.finditer(log):
            line.passes.append(float(m.group(3)))
            line.holders.add(m.group(2))
        return line


def lease(cluster, namespace: str) -> dict:
    out = cluster.kubectl("get", "lease", LEASE, "-n", namespace, "-o", "json", check=False)
    return json.loads(out.stdout) if out.returncode == 0 else {}


def holder(cluster, namespace: str) -> str:
    return (lease(cluster, namespace).get("spec") or {}).get("holderIdentity") or ""


def identity_of(op) -> str:
    found = wait_for(lambda: IDENTITY.search(op.log), timeout=90, what="the election to start")
    return found.group(1)


def objects(cluster, namespace: str) -> list[dict]:
    out = cluster.kubectl("get", "djp", "-n", namespace, "-o", "json").stdout
    return json.loads(out)["items"]


def all_final(cluster, namespace: str, count: int):
    def check():
        items = objects(cluster, namespace)
        jobs = [j for o in items for j in (o.get("status") or {}).get("jobs", [])]
        done = len(items) == count and all(
            (o.get("status") or {}).get("phase") in FINAL | {"PartiallyPaused"} for o in items
        ) and all(j["phase"] in FINAL for j in jobs)
        return items if done else None

    return check


def apply_objects(cluster, namespace: str, jobs: list[str], per_object: int, prefix: str) -> int:
    items = []
    for i in range(0, len(jobs), per_object):
        chunk = [(j, "target") for j in jobs[i:i + per_object]]
        items.append(json.loads(djp(namespace, f"{prefix}-{i // per_object}", chunk, **SECRET)))
    cluster.kubectl("apply", "-f", "-",
                    input=json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))
    return len(items)


def assert_no_overlap(first: Timeline, second: Timeline, first_end: float | None) -> None:
    """``first`` ran passes only while leading, and before ``first_end`` when it stopped on its
    own (None: it was killed, its passes ended with it); ``second`` only after, and only while
    leading; every pass logged its own process's identity."""
    assert first.passes, "the first leader never ran a pass"
    assert second.passes, "the second leader never ran a pass"
    assert first.holders == {first.identity}, first.holders
    assert second.holders == {second.identity}, second.holders
    assert second.gained, "the standby never became the leader"
    assert min(first.passes) >= first.gained[0]
    if first_end is not None:
        assert max(first.passes) <= first_end, "a pass after the leadership had ended"
        assert second.gained[0] > first_end, (second.gained[0], first_end)
    assert min(second.passes) >= second.gained[0], "the standby ran a pass before it led"
    assert max(first.passes) < min(second.passes)


def last_renewal(cluster, namespace: str) -> float:
    """The Lease's renewTime, as a time.monotonic() value (one clock for every process here)."""
    renewed = dt.datetime.fromisoformat(lease(cluster, namespace)["spec"]["renewTime"])
    return time.monotonic() - (time.time() - renewed.timestamp())


def two_operators(cluster, namespace, simulator, start_operator, *extra: str, kubeconfig=None):
    """Start A and wait until it leads; then start B with the same arguments."""
    args = operator_args(simulator.url, namespace, *extra)
    a = start_operator(args, kubeconfig=kubeconfig)
    a_id = identity_of(a)
    wait_for(lambda: holder(cluster, namespace) == a_id, timeout=60, what="A to hold the Lease")
    b = start_operator(args)
    b_id = identity_of(b)
    wait_for(lambda: f"the Lease {namespace}/{LEASE} is held by {a_id}" in b.log, timeout=60,
             what="B to see A's Lease")
    assert a_id != b_id
    return a, b, a_id, b_id


def test_leader_killed_mid_burst_standby_takes_over(cluster, namespace, simulator,
                                                     start_operator):
    jobs = [new_job_id() for _ in range(90)]
    simulator.seed([{"id": j, "status": "INCRE_TRANSFER_STARTED"} for j in jobs])
    simulator.configure(pause_delay_seconds=0.8)
    # Pause requests stay in flight a while: the kill comes while some are out.
    simulator.add_fault(kind="latency", endpoint="pause", latency_ms=1500, times=None)
    cluster.kubectl("apply", "-f", "-", input=token_secret(namespace))
    try:
        with StatusHistory(cluster.kubeconfig, namespace) as history:
            a_started = time.time()
            a, b, a_id, b_id = two_operators(cluster, namespace, simulator, start_operator,
                                             "--batch-size", "5", "--max-concurrency", "3")
            # One leader: the Lease names A, A logged the gain, B did not.
            spec = lease(cluster, namespace)["spec"]
            assert spec["holderIdentity"] == a_id and spec["leaseDurationSeconds"] == 15
            transitions = spec.get("leaseTransitions", 0)
            assert "leadership gained" in a.log and "leadership gained" not in b.log

            applied = time.time()
            count = apply_objects(cluster, namespace, jobs, 3, "burst")
            assert count == 30
            in_flight = wait_in_flight(simulator, applied, timeout=120)
            a.proc.send_signal(signal.SIGKILL)
            killed, killed_at = time.monotonic(), time.time()
            a.proc.wait(10)
            renewed = last_renewal(cluster, namespace)
            # What the API server held when A died: a job whose status shows the answer
            # (Accepted, Paused, Failed) must never be sent again.
            answered = {j["jobId"] for o in objects(cluster, namespace)
                        for j in (o.get("status") or {}).get("jobs", [])
                        if j["phase"] in ("Accepted", "Paused", "Failed")}

            wait_for(lambda: GAINED.search(b.log), timeout=LEASE_DURATION + RETRY * 1.2 + MARGIN,
                     what="B to take over")
            b_line = Timeline.of(b.log)
            took = b_line.gained[0] - killed
            print(f"\nstandby took over {took:.1f} s after the SIGKILL, "
                  f"{b_line.gained[0] - renewed:.1f} s after A's last renewal "
                  f"({len(answered)} jobs answered before it, "
                  f"{sum(len(c['job_ids']) for c in in_flight)} in flight)")
            assert took <= LEASE_DURATION + RETRY * 1.2 + MARGIN
            # B waits out the Lease A last renewed: never two leaders at once.
            assert b_line.gained[0] >= renewed + LEASE_DURATION - 0.1, (b_line.gained, renewed)
            spec = lease(cluster, namespace)["spec"]
            assert spec["holderIdentity"] == b_id
            assert spec["leaseTransitions"] == transitions + 1

            wait_for(all_final(cluster, namespace, count), timeout=180, what="every job final")
            time.sleep(1.0)  # the last status versions reach the watch
    finally:
        simulator.clear_faults()
        simulator.configure(pause_delay_seconds=0.0)

    # Each job carried by one pause request, but where sent.py excuses a repeat: B looked it up
    # first, and A had died without the answer written down.
    calls = simulator.calls()
    verdict = judge(calls, jobs, history, starts=[a_started, killed_at])
    print(f"sent: {verdict.summary()}")
    for job, _, _ in verdict.double[:3]:
        print(f"--- {job}\n{trail(calls, history, job)}")
    assert all(n >= 1 for n in verdict.requests.values()), "some job was never sent"
    assert not verdict.double, verdict.double
    assert not verdict.regressions, verdict.regressions
    assert not verdict.over_budget(), verdict.over_budget()
    resent = {j for c in calls if c["endpoint"] == "pause" and when(c) > killed_at
              for j in c.get("job_ids") or []} & answered
    assert not resent, resent
    tasks = {t["id"]: t for t in simulator.tasks()}
    assert all(tasks[j]["status"] == "PAUSING" and tasks[j]["pause_count"] == 1 for j in jobs)

    a_line = Timeline.of(a.log)
    assert a_line.identity == a_id and b_line.identity == b_id
    assert_no_overlap(a_line, Timeline.of(b.log), None)


class Proxy:
    """A TCP forwarder on 127.0.0.1 that can be cut: the API server as one process sees it."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.sockets: list[socket.socket] = []
        self.cut = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.cut.is_set():
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            self.sockets += [client, upstream]
            threading.Thread(target=self._pipe, args=(client, upstream), daemon=True).start()

    def _pipe(self, a: socket.socket, b: socket.socket) -> None:
        try:
            while not self.cut.is_set():
                ready, _, _ = select.select([a, b], [], [], 0.5)
                for s in ready:
                    data = s.recv(65536)
                    if not data:
                        return
                    (b if s is a else a).sendall(data)
        except OSError:
            return
        finally:
            for s in (a, b):
                s.close()

    def stop(self) -> None:
        """Cut: no new connection is accepted, every open one is closed."""
        self.cut.set()
        self.server.close()
        for s in self.sockets:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()


def proxied_kubeconfig(kubeconfig: Path, port: int, path: Path) -> tuple[Path, tuple[str, int]]:
    config = yaml.safe_load(kubeconfig.read_text())
    server = config["clusters"][0]["cluster"]["server"]
    found = re.fullmatch(r"https://([\d.]+|localhost):(\d+)/?", server)
    assert found, server
    config["clusters"][0]["cluster"]["server"] = f"https://{found.group(1)}:{port}"
    path.write_text(yaml.safe_dump(config))
    return path, (found.group(1), int(found.group(2)))


def test_leader_cut_off_from_the_api_stops_and_standby_takes_over(
    cluster, namespace, simulator, start_operator, tmp_path
):
    before, after = [new_job_id() for _ in range(6)], [new_job_id() for _ in range(6)]
    simulator.seed([{"id": j, "status": "INCRE_TRANSFER_STARTED"} for j in before + after])
    cluster.kubectl("apply", "-f", "-", input=token_secret(namespace))
    config = yaml.safe_load(Path(cluster.kubeconfig).read_text())
    server = config["clusters"][0]["cluster"]["server"]
    host, port = re.fullmatch(r"https://([\d.]+|localhost):(\d+)/?", server).groups()
    proxy = Proxy((host, int(port)))
    kubeconfig, _ = proxied_kubeconfig(Path(cluster.kubeconfig), proxy.port,
                                       tmp_path / "proxied.kubeconfig")
    try:
        a, b, _, b_id = two_operators(cluster, namespace, simulator, start_operator,
                                      kubeconfig=kubeconfig)
        apply_objects(cluster, namespace, before, 3, "before")
        wait_for(all_final(cluster, namespace, 2), timeout=90, what="A pauses the first objects")
        cut = time.monotonic()
        proxy.stop()
        # A can no longer renew: it stops reconciling within the renew deadline, and campaigns
        # again (no restart), running no pass while B leads.
        wait_for(lambda: ENDED.search(a.log), timeout=RENEW_DEADLINE + RETRY + MARGIN,
                 what="A to give up the leadership")
        a_line = Timeline.of(a.log)
        stopped = a_line.ended[0]
        print(f"\nA stopped reconciling {stopped - cut:.1f} s after the cut")
        assert stopped - cut <= RENEW_DEADLINE + RETRY + 2.0
        assert "could not renew the Lease" in a.log
        assert "campaigns again" in a.log
        wait_for(lambda: GAINED.search(b.log), timeout=LEASE_DURATION + RETRY * 1.2 + MARGIN,
                 what="B to take over")
        apply_objects(cluster, namespace, after, 3, "after")
        wait_for(all_final(cluster, namespace, 4), timeout=90, what="B pauses the new objects")
    finally:
        proxy.stop()
    assert a.proc.poll() is None, "A exited instead of campaigning again"
    b_line = Timeline.of(b.log)
    assert b_line.gained[0] - cut <= LEASE_DURATION + RETRY * 1.2 + MARGIN
    assert holder(cluster, namespace) == b_id
    assert_no_overlap(a_line, b_line, stopped)
    for job in before + after:
        assert len(simulator.calls("pause", job_id=job)) == 1, job
