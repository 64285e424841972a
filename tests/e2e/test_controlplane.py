"""The test control plane itself: the real API server serves the CRD and the version built."""

from __future__ import annotations

import json
import socket

import pytest

from drs_pause_operator.dev.devcluster import LocalControlPlane
from drs_pause_operator.dev.devcluster import cluster as cluster_module
from drs_pause_operator.dev.devcluster.build import KUBERNETES_VERSION

from .conftest import CRD_NAME


def test_server_reports_the_version_built(cluster) -> None:
    out = json.loads(cluster.kubectl("version", "-o", "json").stdout)
    assert out["serverVersion"]["gitVersion"] == KUBERNETES_VERSION
    assert out["clientVersion"]["gitVersion"] == KUBERNETES_VERSION


def test_crd_is_served_and_objects_round_trip(cluster, namespace: str) -> None:
    resources = cluster.kubectl(
        "api-resources", "--api-group=drs.cloudops.dev", "-o", "wide"
    ).stdout
    assert "drsjobpauses" in resources and "djp" in resources and "drs" in resources
    manifest = {
        "apiVersion": "drs.cloudops.dev/v1alpha1",
        "kind": "DrsJobPause",
        "metadata": {"name": "roundtrip", "namespace": namespace},
        "spec": {
            "projectId": "054ba152d480d55b2f5dc0069e7ddef0",
            "jobs": [{"jobId": "8d0e8e36-a618-490d-8a46-8c61ac9jb502", "pauseMode": "target"}],
        },
    }
    cluster.kubectl("apply", "-f", "-", input=json.dumps(manifest))
    got = json.loads(
        cluster.kubectl("get", "djp", "roundtrip", "-n", namespace, "-o", "json").stdout
    )
    assert got["spec"] == manifest["spec"]
    crd = json.loads(cluster.kubectl("get", "crd", CRD_NAME, "-o", "json").stdout)
    assert crd["spec"]["versions"][0]["subresources"] == {"status": {}}


def test_explain_teaches_the_api(cluster) -> None:
    out = cluster.kubectl("explain", "drsjobpause.spec.jobs").stdout
    assert "UUID shape" in out and "pauseMode" in out


def test_service_account_kubeconfig_is_limited_to_its_rbac(cluster, namespace, tmp_path) -> None:
    if not hasattr(cluster, "service_account_kubeconfig"):
        pytest.skip("an existing cluster (DRS_E2E_KUBECONFIG): minting a ServiceAccount "
                    "kubeconfig is a helper of the local control plane only")
    kubeconfig = cluster.service_account_kubeconfig(namespace, "probe", tmp_path / "sa.kubeconfig")
    denied = cluster.kubectl("get", "djp", "-n", namespace, kubeconfig=kubeconfig, check=False)
    assert denied.returncode != 0 and "forbidden" in denied.stderr.lower()
    cluster.kubectl(
        "create",
        "role",
        "reader",
        "-n",
        namespace,
        "--verb=list",
        "--resource=drsjobpauses.drs.cloudops.dev",
    )
    cluster.kubectl(
        "create",
        "rolebinding",
        "reader",
        "-n",
        namespace,
        "--role=reader",
        f"--serviceaccount={namespace}:probe",
    )
    allowed = cluster.kubectl("get", "djp", "-n", namespace, kubeconfig=kubeconfig)
    assert allowed.returncode == 0


def test_a_port_taken_before_the_server_binds_it_gets_new_ports(monkeypatch, tmp_path) -> None:
    """free_port() hands out a port that is free at that moment; here another process has bound
    it by the time kube-apiserver starts, as once happened while a full test run ended."""
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    ports = iter([taken.getsockname()[1]])  # etcd gets free ports; the API server, the taken one
    original = cluster_module.free_port
    calls: list[int] = []

    def free_port() -> int:
        calls.append(1)
        return next(ports) if len(calls) == 3 else original()

    monkeypatch.setattr(cluster_module, "free_port", free_port)
    logs: list[str] = []
    try:
        with LocalControlPlane(workdir=tmp_path / "cp", log=logs.append) as cp:
            assert cp.port != taken.getsockname()[1]
            assert cp.kubectl("get", "--raw", "/readyz").stdout == "ok"
    finally:
        taken.close()
    assert [m for m in logs if "port was taken" in m] == [
        "a port was taken before a server bound it; new ports (attempt 2 of 3)"]
