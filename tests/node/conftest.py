"""Fixtures for tests on a real node: the operator's image, built here from the Dockerfile, runs
in a pod that ``helm install`` created, on a one-node cluster started from source.

The cluster (etcd, kube-apiserver, kube-controller-manager, kube-scheduler, containerd, kubelet)
is started once per session and stopped at the end, whatever happens; see
``drs_pause_operator.dev.devcluster.node`` for how it is wired and what it cleans up. The DRS
simulator runs on the host's loopback; pods reach it through the node's address.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from drs_pause_operator.dev.devcluster.image import ImageArchive, ensure_operator_image
from drs_pause_operator.dev.devcluster.node import LocalCluster
from drs_pause_operator.dev.simulator.testing import SimulatorProcess

TOKEN = "node-static-token-4b1c"
PROJECT = "054ba152d480d55b2f5dc0069e7ddef0"


@pytest.fixture(scope="session")
def operator_image() -> ImageArchive:
    return ensure_operator_image(log=lambda *_: None)


@pytest.fixture(scope="session")
def node_cluster(tmp_path_factory: pytest.TempPathFactory,
                 operator_image: ImageArchive) -> Iterator[LocalCluster]:
    with LocalCluster(workdir=tmp_path_factory.mktemp("node"), images=[operator_image],
                      log=lambda *_: None) as cluster:
        yield cluster


class NodeSimulator:
    """The simulator on 127.0.0.1, and the URL pods use for it (the node's address)."""

    def __init__(self, process: SimulatorProcess, pod_url: str) -> None:
        self.process = process
        self.pod_url = pod_url

    def __getattr__(self, name: str):
        return getattr(self.process, name)

    def pauses_of(self, job_id: str) -> int:
        """Pause calls whose answer says this job was paused (from the simulator's call log)."""
        return sum(
            1 for call in self.process.calls("pause")
            for result in call.get("results") or []
            if result.get("id") == job_id and result.get("status") == "success"
        )


@pytest.fixture(scope="session")
def node_simulator(node_cluster: LocalCluster) -> Iterator[NodeSimulator]:
    with SimulatorProcess(["--token", TOKEN]) as process:
        port = int(process.url.rsplit(":", 1)[1])
        yield NodeSimulator(process, f"http://{node_cluster.expose(port)}")


def wait_for(predicate, timeout: float = 120.0, interval: float = 1.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; last value: {last!r}")


def kubectl_json(cluster: LocalCluster, *args: str) -> dict:
    return json.loads(cluster.kubectl(*args, "-o", "json").stdout)


def write_values(path: Path, values: dict) -> Path:
    path.write_text(json.dumps(values, indent=2))
    return path
