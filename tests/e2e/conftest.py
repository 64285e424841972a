"""Fixtures for tests against a real Kubernetes API server.

By default a local etcd + kube-apiserver (built from Go modules, cached) is started once per
session on 127.0.0.1 and stopped at the end, whatever happens. Setting DRS_E2E_KUBECONFIG runs
the same tests against an existing cluster instead; nothing is picked up implicitly.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
import urllib.parse
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import overload

import pytest
import urllib3
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.client.exceptions import ApiException

from drs_pause_operator.dev.child_process import die_with_parent
from drs_pause_operator.dev.devcluster import DevClusterError, LocalControlPlane, ensure_binaries
from drs_pause_operator.dev.devcluster.existing import ExistingCluster
from drs_pause_operator.dev.simulator.testing import SimulatorProcess

from ..conftest import SOURCE_ROOT, checkout_env

ROOT = Path(__file__).resolve().parents[2]
CRD_DIR = ROOT / "crds"
CRD_NAME = "drsjobpauses.drs.cloudops.dev"
WINDOW_CRD_NAME = "drspausewindows.drs.cloudops.dev"


@pytest.fixture(scope="session")
def cluster(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[LocalControlPlane | ExistingCluster]:
    existing = os.environ.get("DRS_E2E_KUBECONFIG")
    if existing:
        kc: LocalControlPlane | ExistingCluster = ExistingCluster(Path(existing), ensure_binaries())
        _install_crd(kc)
        yield kc
        return
    with LocalControlPlane(workdir=tmp_path_factory.mktemp("controlplane")) as cp:
        _install_crd(cp)
        yield cp


def _install_crd(kc: LocalControlPlane | ExistingCluster) -> None:
    kc.kubectl("apply", "--server-side", "--force-conflicts", "-f", str(CRD_DIR))
    kc.kubectl("wait", "--for=condition=Established", f"crd/{CRD_NAME}",
               f"crd/{WINDOW_CRD_NAME}", "--timeout=60s")


@pytest.fixture
def namespace(cluster: LocalControlPlane | ExistingCluster) -> str:
    """A fresh namespace per test (without a controller-manager, deleted ones never vanish)."""
    name = f"t-{uuid.uuid4().hex[:8]}"
    cluster.kubectl("create", "namespace", name)
    return name


# -- the DRS simulator and the operator as separate processes ------------------------------------

PROJECT = "054ba152d480d55b2f5dc0069e7ddef0"
TOKEN = "e2e-static-token-9f8e7d"


@pytest.fixture(scope="session")
def simulator() -> Iterator[SimulatorProcess]:
    """One simulator process for the session; tests seed their own task ids."""
    with SimulatorProcess(["--token", TOKEN]) as sim:
        yield sim


DUMP_MARK = "dump on request"


class OperatorProcess:
    """``drs-pause-operator run`` as a child process with its log in a file."""

    def __init__(self, kubeconfig: Path, args: list[str], log_path: Path,
                 env: dict[str, str] | None = None) -> None:
        self.kubeconfig = kubeconfig
        self.args = args
        self.log_path = log_path
        self.env = env or {}
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> OperatorProcess:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DRS_PAUSE_")}
        env.update({"KUBECONFIG": str(self.kubeconfig), **self.env})
        env = checkout_env(env)  # this checkout's code, whatever the virtualenv points at
        log = open(self.log_path, "ab")  # noqa: SIM115 - the child owns it
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "drs_pause_operator", "run", *self.args],
            stdout=log, stderr=subprocess.STDOUT, env=env,
            preexec_fn=die_with_parent,  # noqa: PLW1509 - setsid + prctl only, no locks taken
        )
        return self

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def dump(self, timeout: float = 10.0) -> str:
        """SIGUSR1 (engine/dump.py): the dump's text from the log, "" if none came in time."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGUSR1)
        deadline = time.monotonic() + timeout
        while DUMP_MARK not in self.log and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(0.5)  # the rest of the dump, logged as one record
        log = self.log
        return log[log.rfind(DUMP_MARK):] if DUMP_MARK in log else ""


def operator_args(simulator_url: str, namespace: str, *extra: str) -> list[str]:
    return [
        "--namespace", namespace,
        "--endpoint-template", simulator_url,
        "--iam-endpoint-template", simulator_url,
        "--allow-insecure-http",
        "--metrics-port", "0",
        "--log-level", "DEBUG",
        # A Lease per test: an operator SIGKILLed by one test never holds up the next one's.
        "--lease-namespace", namespace,
        *extra,
    ]


#: Lease timings for an operator that a test will SIGKILL. Its successor takes over only after
#: waiting the dead holder's leaseDurationSeconds from its first read of the Lease (15 s by
#: default): 5 s keeps that wait in the scenario at a third of its cost. Renewing every second
#: with a 4 s deadline is ample for a process that lives a few seconds on an idle loop.
KILLED_LEASE = ("--lease-duration", "5", "--lease-renew-deadline", "4",
                "--lease-retry-period", "1")


@pytest.fixture
def start_operator(cluster, tmp_path: Path):
    """Start operators for a test; every one is stopped at the end, whatever happens."""
    started: list[OperatorProcess] = []

    def start(args: list[str], kubeconfig: Path | None = None, **env: str) -> OperatorProcess:
        op = OperatorProcess(kubeconfig or cluster.kubeconfig, args,
                             tmp_path / f"operator-{len(started)}.log", env).start()
        started.append(op)
        return op

    yield start
    for op in started:
        op.stop()


def token_secret(namespace: str, name: str = "drs-credentials", token: str = TOKEN) -> str:
    return json.dumps({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": name, "namespace": namespace},
        "stringData": {"token": token},
    })


def djp(namespace: str, name: str, jobs: list[tuple[str, str]], **spec: object) -> str:
    body: dict[str, object] = {"projectId": PROJECT,
                               "jobs": [{"jobId": j, "pauseMode": m} for j, m in jobs]}
    body.update(spec)
    return json.dumps({
        "apiVersion": "drs.cloudops.dev/v1alpha1", "kind": "DrsJobPause",
        "metadata": {"name": name, "namespace": namespace}, "spec": body,
    })


_CUSTOM_APIS: dict[str, k8s.CustomObjectsApi] = {}


def _custom_api(cluster) -> k8s.CustomObjectsApi:
    key = str(cluster.kubeconfig)
    if key not in _CUSTOM_APIS:
        configuration = k8s.Configuration()
        k8s_config.load_kube_config(config_file=key, client_configuration=configuration)
        if urllib.parse.urlparse(configuration.host).hostname in ("127.0.0.1", "localhost"):
            configuration.proxy = None  # as kubectl: a proxy from the environment skips loopback
        _CUSTOM_APIS[key] = k8s.CustomObjectsApi(k8s.ApiClient(configuration))
    return _CUSTOM_APIS[key]


@overload
def get_object(cluster, plural: str, namespace: str, name: str) -> dict: ...
@overload
def get_object(cluster, plural: str, namespace: str, name: str, *,
               missing_ok: bool) -> dict | None: ...
def get_object(cluster, plural: str, namespace: str, name: str, *,
               missing_ok: bool = False) -> dict | None:
    """One of the operator's objects, read with the Python client over the cluster's kubeconfig
    (None for a missing one with ``missing_ok``, as ``kubectl get --ignore-not-found``).

    Most waits poll this a few times a second: a kubectl process per read cost about 0.1 CPU
    second, and kubectl was a fifth of the suite's CPU time on 2 cores.
    """
    try:
        obj: dict = _custom_api(cluster).get_namespaced_custom_object(
            "drs.cloudops.dev", "v1alpha1", namespace, plural, name, _request_timeout=30)
    except ApiException as err:
        if missing_ok and err.status == 404:
            return None
        raise DevClusterError(f"get {plural} {name} -n {namespace} failed: {err}") from err
    except urllib3.exceptions.HTTPError as err:
        raise DevClusterError(f"get {plural} {name} -n {namespace} failed: {err}") from err
    return _as_kubectl_shows(obj)


def list_objects(cluster, plural: str, namespace: str, selector: str) -> list[dict]:
    """The operator's objects of one kind that match a label selector (as get_object)."""
    try:
        found: dict = _custom_api(cluster).list_namespaced_custom_object(
            "drs.cloudops.dev", "v1alpha1", namespace, plural, label_selector=selector,
            _request_timeout=30)
    except (ApiException, urllib3.exceptions.HTTPError) as err:
        raise DevClusterError(f"list {plural} -l {selector} -n {namespace} failed: {err}") from err
    return [_as_kubectl_shows(item) for item in found["items"]]


def _as_kubectl_shows(obj: dict) -> dict:
    obj.get("metadata", {}).pop("managedFields", None)  # kubectl -o json leaves them out
    return obj


def get_status(cluster, namespace: str, name: str) -> dict:
    return get_object(cluster, "drsjobpauses", namespace, name).get("status") or {}


def phase_is(cluster, namespace: str, name: str, *phases: str):
    """A wait_for predicate: the object's status once its phase is one of PHASES, else None."""
    def check():
        status = get_status(cluster, namespace, name)
        return status if status.get("phase") in phases else None

    return check


def condition(status: dict, ctype: str) -> dict:
    """The condition of type CTYPE in STATUS ({} when there is none)."""
    return next((c for c in status.get("conditions") or [] if c["type"] == ctype), {})


def wait_for(predicate, timeout: float = 60.0, interval: float = 0.3, what: str = "condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; last value: {last!r}")


def new_job_id() -> str:
    return str(uuid.uuid4())


@pytest.fixture(scope="module")
def plugin_dir(tmp_path_factory) -> Path:
    """A folder with the executable `kubectl-drs`, as the package installs it, except that it runs
    this clone's plugin with the tests' Python (the venv holds no project)."""
    folder = tmp_path_factory.mktemp("plugin-bin")
    script = folder / "kubectl-drs"
    script.write_text(
        f"#!/bin/sh\nPYTHONPATH={shlex.quote(str(SOURCE_ROOT))} "
        f"exec {shlex.quote(sys.executable)} -m drs_pause_operator.plugin.cli \"$@\"\n"
    )
    script.chmod(0o755)
    return folder
