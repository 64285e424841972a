"""``helm install`` runs the operator's image in a pod on a real node, end to end.

What a user gets from the chart with default values plus the image reference (and the simulator
as the DRS endpoint):

- the pod is Running and Ready through its own probes, its process runs as UID 65532 on a
  read-only root filesystem (read from the host's /proc, not from the pod spec);
- the operator in the pod, with in-cluster configuration from the mounted ServiceAccount token,
  pauses a DrsJobPause end to end;
- ``/metrics`` answers at the address the chart's metrics Service lists (its EndpointSlice:
  selector and named target port resolved by the controller-manager; there is no kube-proxy);
- ``helm upgrade`` with a changed value replaces the pod, and no job is paused twice (counted in
  the simulator's call log);
- ``helm uninstall`` leaves the CRD and the DrsJobPause objects;
- a namespace-mode install (Roles only, no cluster-wide permission) does the same.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import uuid
from pathlib import Path
from typing import Any

import pytest

from drs_pause_operator.dev.devcluster import ensure_binaries
from drs_pause_operator.dev.devcluster.node import LocalCluster

from .conftest import PROJECT, TOKEN, kubectl_json, wait_for, write_values

# The first test also starts the cluster (and builds the image if `make node` did not).
pytestmark = [pytest.mark.node, pytest.mark.timeout(900)]

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "drs-pause-operator"
CRD_NAME = "drsjobpauses.drs.cloudops.dev"
NONROOT = 65532


def helm(cluster: LocalCluster, *args: str) -> str:
    home = Path(tempfile.gettempdir()) / "drs-pause-node-tests-helm"
    env = {k: v for k, v in os.environ.items() if not k.startswith("HELM_")}
    env.update(HELM_CACHE_HOME=str(home / "cache"), HELM_CONFIG_HOME=str(home / "config"),
               HELM_DATA_HOME=str(home / "data"), KUBECONFIG=str(cluster.kubeconfig))
    proc = subprocess.run([str(ensure_binaries(log=lambda *_: None).helm), *args],
                          capture_output=True, text=True, env=env, timeout=300, check=False)
    assert proc.returncode == 0, f"helm {' '.join(args)} failed:\n{proc.stderr}"
    return proc.stdout


def values_for(cluster: LocalCluster, image, simulator_url: str, **extra: Any) -> dict[str, Any]:
    """Default values plus the image reference and the simulator as the DRS endpoint."""
    values: dict[str, Any] = {
        "image": {"repository": image.repository, "tag": image.tag, "pullPolicy": "Never"},
        "operator": {"endpointTemplate": simulator_url, "iamEndpointTemplate": simulator_url,
                     "allowInsecureHttp": True},
        "metrics": {"service": {"enabled": True}},
    }
    values.update(extra)
    return values


def operator_pod(cluster: LocalCluster, namespace: str, release: str) -> dict[str, Any]:
    pods = kubectl_json(cluster, "get", "pods", "-n", namespace, "-l",
                        f"app.kubernetes.io/instance={release}")["items"]
    live = [p for p in pods if not p["metadata"].get("deletionTimestamp")]
    assert len(live) == 1, [p["metadata"]["name"] for p in pods]
    return live[0]


def ready_pod(cluster: LocalCluster, namespace: str, release: str) -> dict[str, Any]:
    def ready():
        try:
            pod = operator_pod(cluster, namespace, release)
        except AssertionError:
            return None
        conditions = {c["type"]: c["status"] for c in pod["status"].get("conditions", [])}
        return pod if pod["status"].get("phase") == "Running" and \
            conditions.get("Ready") == "True" else None

    try:
        return wait_for(ready, timeout=180, what=f"a Ready operator pod of {release}")
    except AssertionError as err:
        raise AssertionError(f"{err}\n{diagnose(cluster, namespace)}") from None


def diagnose(cluster: LocalCluster, namespace: str) -> str:
    """Pods, events and the last log lines of NAMESPACE, for a failure message."""
    out = [cluster.kubectl("get", "pods", "-n", namespace, "-o", "wide", check=False).stdout,
           cluster.kubectl("get", "events", "-n", namespace, check=False).stdout]
    for pod in kubectl_json(cluster, "get", "pods", "-n", namespace)["items"]:
        name = pod["metadata"]["name"]
        log = cluster.pod_log(namespace, name).splitlines()[-30:]
        out.append(f"log of {name} (tail):\n" + "\n".join(log))
    return "\n".join(out)


def process_of(cluster: LocalCluster, pod: dict[str, Any]) -> int:
    """Host PID of the operator container's main process (containerd's task list)."""
    cid = pod["status"]["containerStatuses"][0]["containerID"].removeprefix("containerd://")
    for line in cluster.ctr("tasks", "ls").stdout.splitlines()[1:]:
        fields = line.split()
        if fields and fields[0] == cid:
            return int(fields[1])
    raise AssertionError(f"no task for container {cid}")


def assert_runs_as_nonroot_on_readonly_root(pid: int) -> None:
    status = Path(f"/proc/{pid}/status").read_text()
    uids = next(line.split()[1:] for line in status.splitlines() if line.startswith("Uid:"))
    gids = next(line.split()[1:] for line in status.splitlines() if line.startswith("Gid:"))
    assert set(map(int, uids)) == {NONROOT}, uids
    assert set(map(int, gids)) == {NONROOT}, gids
    mounts = {}
    for line in Path(f"/proc/{pid}/mountinfo").read_text().splitlines():
        fields = line.split()
        mounts[fields[4]] = fields[5].split(",")
    assert "ro" in mounts["/"], mounts["/"]
    assert "rw" in mounts["/tmp"], "the /tmp emptyDir is the one writable place"
    cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    assert any(part.endswith(b"drs-pause-operator") for part in cmdline), cmdline


def djp(namespace: str, name: str, job: str) -> str:
    return json.dumps({
        "apiVersion": "drs.cloudops.dev/v1alpha1", "kind": "DrsJobPause",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"projectId": PROJECT, "credentialsSecretRef": {"name": "drs-credentials"},
                 "jobs": [{"jobId": job, "pauseMode": "target"}]},
    })


def new_namespace(cluster: LocalCluster, prefix: str) -> str:
    name = f"{prefix}-{uuid.uuid4().hex[:6]}"
    cluster.kubectl("create", "namespace", name)
    return name


def pause_end_to_end(cluster: LocalCluster, simulator, namespace: str, name: str,
                     operator_namespace: str) -> str:
    """A Secret and a DrsJobPause in NAMESPACE; waits for Paused; returns the job id."""
    job = str(uuid.uuid4())
    simulator.seed([{"id": job, "status": "INCRE_TRANSFER_STARTED"}])
    secret = {"apiVersion": "v1", "kind": "Secret",
              "metadata": {"name": "drs-credentials", "namespace": namespace},
              "stringData": {"token": TOKEN}}
    cluster.kubectl("apply", "-f", "-", input=json.dumps(secret))
    cluster.kubectl("apply", "-f", "-", input=djp(namespace, name, job))

    def phase():
        status = kubectl_json(cluster, "get", "djp", name, "-n", namespace).get("status") or {}
        return status.get("phase") == "Paused"

    try:
        wait_for(phase, timeout=90, interval=0.5, what=f"{namespace}/{name} Paused")
    except AssertionError as err:
        raise AssertionError(f"{err}\n{diagnose(cluster, operator_namespace)}") from None
    assert simulator.pauses_of(job) == 1
    return job


def scrape_metrics(cluster: LocalCluster, namespace: str, service: str) -> str:
    endpoints = wait_for(lambda: cluster.service_endpoints(namespace, service, "metrics"),
                         timeout=60, what=f"ready endpoints of Service {service}")
    assert len(endpoints) == 1, endpoints
    status, body = cluster.node_http_get(f"http://{endpoints[0]}/metrics")
    assert status == 200
    return body


def test_helm_install_runs_the_image_and_pauses_end_to_end(node_cluster, node_simulator,
                                                           operator_image, tmp_path):
    cluster, sim = node_cluster, node_simulator
    release, namespace = "drs", new_namespace(node_cluster, "drs-system")
    values = write_values(tmp_path / "values.json",
                          values_for(cluster, operator_image, sim.pod_url))
    helm(cluster, "install", release, str(CHART), "-n", namespace, "-f", str(values),
         "--wait", "--timeout", "4m")

    # Running and Ready through its own probes, as 65532 on a read-only root filesystem.
    pod = ready_pod(cluster, namespace, release)
    spec = pod["spec"]["containers"][0]
    assert spec["image"] == operator_image.reference
    assert spec["readinessProbe"]["httpGet"]["path"] == "/healthz"
    assert spec["securityContext"]["readOnlyRootFilesystem"] is True
    assert pod["spec"]["securityContext"]["runAsUser"] == NONROOT
    assert pod["status"]["containerStatuses"][0]["restartCount"] == 0
    assert_runs_as_nonroot_on_readonly_root(process_of(cluster, pod))
    assert pod["status"]["podIP"].startswith("10.88.")

    # The operator in the pod (in-cluster configuration) pauses an object end to end.
    team = new_namespace(cluster, "team")
    first = pause_end_to_end(cluster, sim, team, "first", namespace)
    assert "KUBECONFIG" not in {e["name"] for e in spec.get("env", [])}

    # /metrics through the chart's Service.
    fullname = f"{release}-drs-pause-operator"
    metrics = scrape_metrics(cluster, namespace, f"{fullname}-metrics")
    assert "drs_pause_build_info" in metrics
    assert 'drs_pause_job_results_total{' in metrics or "drs_pause_job_results" in metrics

    # helm upgrade with a changed value rolls the pod; nothing is paused twice.
    old_uid = pod["metadata"]["uid"]
    values.write_text(json.dumps(values_for(cluster, operator_image, sim.pod_url,
                                            podAnnotations={"drs.test/rollout": "2"})))
    helm(cluster, "upgrade", release, str(CHART), "-n", namespace, "-f", str(values),
         "--wait", "--timeout", "4m")
    new_pod = wait_for(lambda: (p := ready_pod(cluster, namespace, release))
                       and p["metadata"]["uid"] != old_uid and p, timeout=180,
                       what="the upgraded pod")
    assert new_pod["metadata"]["annotations"]["drs.test/rollout"] == "2"
    second = pause_end_to_end(cluster, sim, team, "second", namespace)
    assert sim.pauses_of(first) == 1, "the new pod paused the first job again"
    assert sim.pauses_of(second) == 1

    # helm uninstall leaves the CRD and the objects.
    helm(cluster, "uninstall", release, "-n", namespace, "--wait")
    cluster.kubectl("get", "crd", CRD_NAME)
    names = {o["metadata"]["name"] for o in kubectl_json(cluster, "get", "djp", "-n", team)
             ["items"]}
    assert names == {"first", "second"}
    wait_for(lambda: not kubectl_json(cluster, "get", "pods", "-n", namespace)["items"],
             timeout=120, what="the operator pod gone")


def test_namespace_mode_install_with_roles_only(node_cluster, node_simulator, operator_image,
                                               tmp_path):
    cluster, sim = node_cluster, node_simulator
    release, namespace = "drs-ns", new_namespace(node_cluster, "drs-ops")
    watched = new_namespace(cluster, "team-ns")
    values = write_values(tmp_path / "values.json", values_for(
        cluster, operator_image, sim.pod_url, watchNamespaces=[watched]))
    helm(cluster, "install", release, str(CHART), "-n", namespace, "-f", str(values),
         "--wait", "--timeout", "4m")
    selector = f"app.kubernetes.io/instance={release}"
    bindings = kubectl_json(cluster, "get", "clusterrolebindings", "-l", selector)["items"]
    assert bindings == [], "namespace mode grants nothing cluster-wide"
    assert kubectl_json(cluster, "get", "rolebindings", "-n", watched, "-l", selector)["items"]

    pod = ready_pod(cluster, namespace, release)
    assert_runs_as_nonroot_on_readonly_root(process_of(cluster, pod))
    job = pause_end_to_end(cluster, sim, watched, "only", namespace)
    metrics = scrape_metrics(cluster, namespace, f"{release}-drs-pause-operator-metrics")
    assert "drs_pause_build_info" in metrics

    helm(cluster, "uninstall", release, "-n", namespace, "--wait")
    cluster.kubectl("get", "crd", CRD_NAME)
    cluster.kubectl("get", "djp", "only", "-n", watched)
    assert sim.pauses_of(job) == 1
