"""The Helm chart, checked with the real helm binary and a real kube-apiserver.

- ``helm lint --strict`` in both RBAC modes;
- what it renders: every operator setting reaches the container, and the operator accepts it;
  component labels; the aggregated ClusterRoles that give the default admin/edit/view roles
  DrsJobPause rights (checked against the API server's own roles and authorizer too);
- Pod Security "restricted": server-side dry-run in an enforcing namespace, without a warning;
- values.schema.json rejects unknown keys and wrong types, with the schema's message;
- ``helm install`` in namespace-list mode, then the operator, run as a local process with the
  environment and arguments of the installed Deployment and the token of the chart's
  ServiceAccount, pauses a job end to end. (All-namespaces mode: test_chart_clusterwide.py;
  least privilege: test_chart_rbac.py and test_chart_clusterwide.py.)

The helpers here are shared by those modules.
"""

from __future__ import annotations

import copy
import json
import os
import re
import socket
import subprocess
import tempfile
import threading
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from drs_pause_operator.app import settings as op_settings
from drs_pause_operator.dev.devcluster import ensure_binaries

from .conftest import PROJECT, TOKEN, OperatorProcess, new_job_id

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "drs-pause-operator"
KUBE_VERSION = "1.37.2"  # what `helm template` assumes; `helm install` asks the API server
CHART_NAME = "drs-pause-operator"
CREDENTIALS = "drs-credentials"  # the objects' own Secret (spec.credentialsSecretRef)
DEFAULT_CREDENTIALS = "drs-default"  # the operator's default Secret, in the release namespace
FLOW_LABEL = "drs.cloudops.dev/chart-test"
# The end-to-end flow must succeed within this many seconds of the operator becoming live. The
# successful runs take 1-3 s (more with eight operators at once on a busy two-core machine);
# every failure mode the least-privilege tests provoke takes far longer than this to recover,
# if ever: kopf's retries of a refused request alone take 1+2+5+10 s.
FLOW_BOUND = 15.0
LIVE_TIMEOUT = 90.0  # process start -> liveness endpoint answers (imports, kopf startup)


# -- helm, kubectl, rendering ----------------------------------------------------------------------


def helm(*args: str, kubeconfig: Path | None = None, input: str | None = None,
         check: bool = True) -> subprocess.CompletedProcess[str]:
    """The real helm binary, with its config, cache and data kept away from the user's."""
    home = Path(tempfile.gettempdir()) / "drs-pause-chart-tests-helm"
    env = {k: v for k, v in os.environ.items() if not k.startswith("HELM_")}
    env.update(HELM_CACHE_HOME=str(home / "cache"), HELM_CONFIG_HOME=str(home / "config"),
               HELM_DATA_HOME=str(home / "data"))
    env.pop("KUBECONFIG", None)
    cmd = [str(ensure_binaries(log=lambda *_a, **_k: None).helm), *args]
    if kubeconfig is not None:
        cmd.append(f"--kubeconfig={kubeconfig}")
    proc = subprocess.run(cmd, input=input, capture_output=True, text=True, env=env,
                          timeout=120, check=False)
    if check and proc.returncode != 0:
        raise AssertionError(f"helm {' '.join(args)} failed:\n{proc.stderr}")
    return proc


def render(release: str, namespace: str, values: dict[str, Any] | None = None,
           *extra: str) -> list[dict[str, Any]]:
    """`helm template` with these values, as a list of manifests."""
    out = helm("template", release, str(CHART), "-n", namespace, "--kube-version", KUBE_VERSION,
               "-f", "-", *extra, input=json.dumps(values or {})).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


def find(docs: list[dict[str, Any]], kind: str, name: str | None = None,
         namespace: str | None = None) -> dict[str, Any]:
    found = [d for d in docs if d["kind"] == kind
             and (name is None or d["metadata"]["name"] == name)
             and (namespace is None or d["metadata"].get("namespace") == namespace)]
    assert len(found) == 1, f"expected one {kind} {name or ''}, found {len(found)}"
    return found[0]


def container(docs: list[dict[str, Any]]) -> dict[str, Any]:
    return find(docs, "Deployment")["spec"]["template"]["spec"]["containers"][0]


def container_env(docs: list[dict[str, Any]]) -> dict[str, str]:
    return {e["name"]: e["value"] for e in container(docs).get("env", []) if "value" in e}


def fullname(release: str) -> str:
    return release if CHART_NAME in release else f"{release}-{CHART_NAME}"


def sa_kubeconfig(kc, namespace: str, name: str, path: Path) -> Path:
    """A kubeconfig with the token of ServiceAccount NAMESPACE/NAME (the chart creates it)."""
    if not hasattr(kc, "service_account_kubeconfig"):
        pytest.skip("this cluster type cannot mint ServiceAccount kubeconfigs")
    return kc.service_account_kubeconfig(namespace, name, path)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class PodCommand:
    """How the chart's container would start the operator, adapted to a local process."""

    args: list[str]
    env: dict[str, str]
    liveness_url: str
    metrics_port: int


def local_command(deployment_container: dict[str, Any]) -> PodCommand:
    """The container's args and env, with its ports moved to free loopback ports.

    Several operators run side by side on this machine, so 8080/9090 are rewritten; everything
    else is exactly what the chart (or the installed Deployment) says.
    """
    args = list(deployment_container["args"])
    assert args[0] == "run", args
    args = args[1:]
    liveness_port = free_port()
    at = args.index("--liveness")
    assert re.fullmatch(r"http://0\.0\.0\.0:\d+/healthz", args[at + 1]), args[at + 1]
    args[at + 1] = f"http://127.0.0.1:{liveness_port}/healthz"
    # valueFrom entries (POD_NAMESPACE from the downward API) are the Flow's to fill in.
    env = {e["name"]: e["value"] for e in deployment_container.get("env", []) if "value" in e}
    metrics_port = 0
    if env.get("DRS_PAUSE_METRICS_PORT", "0") != "0":
        metrics_port = free_port()
        env["DRS_PAUSE_METRICS_PORT"] = str(metrics_port)
    env.pop("HOME", None)  # the pod's /tmp emptyDir; locally the test's HOME is fine
    return PodCommand(args, env, args[at + 1], metrics_port)


def http_get(url: str, timeout: float = 2.0) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.status, response.read().decode()


def operator_values(simulator_url: str, **values: Any) -> dict[str, Any]:
    """Chart values that point the operator at the simulator, plus VALUES."""
    base: dict[str, Any] = {
        "operator": {"endpointTemplate": simulator_url, "iamEndpointTemplate": simulator_url,
                     "allowInsecureHttp": True, "logFormat": "text", "logLevel": "DEBUG"},
        "defaultCredentials": {"secretName": DEFAULT_CREDENTIALS},
        "metrics": {"enabled": False},
    }
    for key, value in values.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            base[key] = {**base[key], **value}
        else:
            base[key] = value
    return base


# -- RBAC grants: what the rendered Roles/ClusterRoles allow, one verb at a time -----------------


@dataclass(frozen=True)
class Grant:
    """One verb on one resource in one of the chart's (Cluster)Roles.

    ``role`` is the Role's name after the release's full name: "" for the main one,
    "-namespaces" or "-default-credentials".
    """

    kind: str
    role: str
    resource: str
    verb: str

    @property
    def id(self) -> str:
        return f"{self.kind}{self.role}:{self.resource}:{self.verb}"


AGGREGATE_LABEL = "rbac.authorization.k8s.io/aggregate-to-"


def is_aggregated(doc: dict[str, Any]) -> bool:
    """A ClusterRole that extends Kubernetes' default admin/edit/view roles (for people)."""
    return any(k.startswith(AGGREGATE_LABEL) for k in doc["metadata"].get("labels") or {})


def grants_in(docs: list[dict[str, Any]], release: str) -> set[Grant]:
    """The operator's grants: the aggregated ClusterRoles are for people and bound to nobody."""
    prefix = fullname(release)
    grants = set()
    for doc in docs:
        if doc["kind"] not in ("Role", "ClusterRole") or is_aggregated(doc):
            continue
        role = doc["metadata"]["name"].removeprefix(prefix)
        for rule in doc.get("rules") or []:
            for resource in rule["resources"]:
                for verb in rule["verbs"]:
                    grants.add(Grant(doc["kind"], role, resource, verb))
    return grants


def without_grant(docs: list[dict[str, Any]], release: str, grant: Grant) -> list[dict[str, Any]]:
    """The manifests with that single verb taken out of every (Cluster)Role that has it."""
    docs = copy.deepcopy(docs)
    removed = 0
    for doc in docs:
        if doc["kind"] != grant.kind or doc["metadata"]["name"] != fullname(release) + grant.role:
            continue
        rules = []
        for rule in doc.get("rules") or []:
            if grant.resource in rule["resources"] and grant.verb in rule["verbs"]:
                removed += 1
                others = [r for r in rule["resources"] if r != grant.resource]
                if others:
                    rules.append({**rule, "resources": others})
                verbs = [v for v in rule["verbs"] if v != grant.verb]
                if verbs:
                    rules.append({**rule, "resources": [grant.resource], "verbs": verbs})
            else:
                rules.append(rule)
        doc["rules"] = rules
    assert removed, f"{grant.id} is not in the rendered chart"
    return docs


LEASE_TAKEOVER = "update"  # the verb on leases that only a takeover needs (see below)


def released_lease(namespace: str, name: str) -> dict[str, Any]:
    """A Lease as a leader leaves it on a clean shutdown (no holder, a one-second lease).

    A fresh release's first leader creates its Lease (create, then get to renew it): within
    FLOW_BOUND it needs no update. Taking over an existing Lease, as after a rolling update or
    a failover, needs update: the cases without it start from this Lease.
    """
    return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"holderIdentity": "", "leaseDurationSeconds": 1, "leaseTransitions": 1}}


def apply_docs(kc, docs: list[dict[str, Any]]) -> None:
    kc.kubectl("apply", "-f", "-",
               input=json.dumps({"apiVersion": "v1", "kind": "List", "items": docs}))


def create_namespaces(kc, *names: str) -> None:
    apply_docs(kc, [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n}}
                    for n in names])


# -- the end-to-end flow -----------------------------------------------------------------------


def _secret(namespace: str, name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": name, "namespace": namespace}, "stringData": {"token": TOKEN}}


def _djp(namespace: str, name: str, job: str, run_id: str, secret: str | None) -> str:
    spec: dict[str, Any] = {"projectId": PROJECT, "jobs": [{"jobId": job, "pauseMode": "target"}]}
    if secret:
        spec["credentialsSecretRef"] = {"name": secret}
    return json.dumps({
        "apiVersion": "drs.cloudops.dev/v1alpha1", "kind": "DrsJobPause",
        "metadata": {"name": name, "namespace": namespace, "labels": {FLOW_LABEL: run_id}},
        "spec": spec,
    })


@dataclass
class Flow:
    """One operator pausing two jobs end to end, as a chart-installed operator would.

    ``listed`` exists before the operator starts and uses its own Secret (kopf finds it by
    listing); ``watched`` is created only once ``listed`` is Paused, so kopf can only learn of it
    through its watch, and it uses the operator's default credentials. The flow succeeds when
    both objects are Paused and each has the operator's ``Paused`` Event.

    The clock starts when kopf's liveness endpoint first answers (its startup is done and its
    watchers start at that moment), not at process start: Python's imports take seconds when
    several operators start at once on a busy machine, and that is not what the bound is about.
    """

    name: str
    kc: Any  # the cluster
    release_namespace: str
    watch_namespace: str
    kubeconfig: Path  # the ServiceAccount's
    command: PodCommand
    log_path: Path
    probe_on_success: bool = False
    bound: float = FLOW_BOUND
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:10])
    jobs: dict[str, str] = field(default_factory=lambda: {"listed": new_job_id(),
                                                          "watched": new_job_id()})
    op: OperatorProcess | None = None
    spawned: float = 0.0
    live_at: float | None = None
    watched_created: bool = False
    succeeded_after: float | None = None
    phases: dict[str, str] = field(default_factory=dict)
    objects: dict[str, dict[str, Any]] = field(default_factory=dict)  # as last seen
    liveness: tuple[int, str] | None = None
    metrics: str = ""

    def manifests(self) -> list[dict[str, Any]]:
        """The Secrets and the ``listed`` object, created before the operator starts."""
        return [_secret(self.watch_namespace, CREDENTIALS),
                _secret(self.release_namespace, DEFAULT_CREDENTIALS),
                json.loads(_djp(self.watch_namespace, "listed", self.jobs["listed"], self.run_id,
                                CREDENTIALS))]

    def start(self) -> None:
        # What the downward API gives the pod: the Lease lives in the release namespace.
        env = {"POD_NAMESPACE": self.release_namespace, **self.command.env}
        self.op = OperatorProcess(self.kubeconfig, self.command.args, self.log_path,
                                  env).start()
        self.spawned = time.monotonic()
        threading.Thread(target=self._watch_liveness, daemon=True).start()

    def _watch_liveness(self) -> None:
        while time.monotonic() - self.spawned < LIVE_TIMEOUT and self.op and \
                self.op.proc and self.op.proc.poll() is None:
            try:
                http_get(self.command.liveness_url, timeout=1.0)
            except OSError:
                time.sleep(0.1)
                continue
            self.live_at = time.monotonic()
            return

    def step(self, objects: dict[str, dict[str, Any]]) -> None:
        """Advance with the current objects of this flow (name -> object)."""
        if self.finished:
            return
        self.objects = objects
        self.phases = {n: (o.get("status") or {}).get("phase", "") for n, o in objects.items()}
        if self.phases.get("listed") == "Paused" and not self.watched_created:
            self.kc.kubectl("apply", "-f", "-", input=_djp(
                self.watch_namespace, "watched", self.jobs["watched"], self.run_id, None))
            self.watched_created = True
        both_paused = self.phases.get("listed") == self.phases.get("watched") == "Paused"
        if both_paused and self.paused_events() >= {"listed", "watched"}:
            self.succeeded_after = time.monotonic() - (self.live_at or self.spawned)
            if self.probe_on_success:
                self.probe()

    def probe(self) -> None:
        """What the kubelet and Prometheus would see: the liveness endpoint and /metrics."""
        self.liveness = http_get(self.command.liveness_url)
        if self.command.metrics_port:
            self.metrics = http_get(f"http://127.0.0.1:{self.command.metrics_port}/metrics")[1]

    def paused_events(self) -> set[str]:
        out = self.kc.kubectl("get", "events", "-n", self.watch_namespace, "-o", "json").stdout
        return {e["involvedObject"]["name"] for e in json.loads(out)["items"]
                if e.get("reason") == "Paused"
                and e["involvedObject"].get("kind") == "DrsJobPause"}

    @property
    def never_live(self) -> bool:
        return self.live_at is None and time.monotonic() - self.spawned > LIVE_TIMEOUT

    @property
    def finished(self) -> bool:
        if self.succeeded_after is not None or self.never_live:
            return True
        return self.live_at is not None and time.monotonic() - self.live_at > self.bound

    def report(self) -> str:
        log = self.op.log if self.op else ""
        live = f"{self.live_at - self.spawned:.1f} s" if self.live_at else "never"
        return (f"flow {self.name}: live after {live}, phases {self.phases}, watched created: "
                f"{self.watched_created}, succeeded after: {self.succeeded_after}\n"
                f"operator log (tail):\n{log[-3000:]}")


def run_flows(kc, flows: list[Flow], simulator) -> None:
    """Run FLOWS side by side until each succeeded or ran out of time; stop the operators;
    delete the flows' objects (no finalizers: they go at once) so that no later
    all-namespaces operator spends time on them."""
    by_run = {flow.run_id: flow for flow in flows}
    selector = f"{FLOW_LABEL} in ({','.join(by_run)})"
    simulator.seed([{"id": job, "status": "INCRE_TRANSFER_STARTED"}
                    for flow in flows for job in flow.jobs.values()])
    apply_docs(kc, [doc for flow in flows for doc in flow.manifests()])
    try:
        for flow in flows:
            flow.start()
        while not all(f.finished for f in flows):
            out = kc.kubectl("get", "djp", "-A", "-l", selector, "-o", "json").stdout
            objects: dict[str, dict[str, dict[str, Any]]] = {run: {} for run in by_run}
            for obj in json.loads(out)["items"]:
                objects[obj["metadata"]["labels"][FLOW_LABEL]][obj["metadata"]["name"]] = obj
            for run, flow in by_run.items():
                flow.step(objects[run])
            time.sleep(0.3)
    finally:
        for flow in flows:  # SIGTERM to all first: they shut down in parallel
            if flow.op and flow.op.proc and flow.op.proc.poll() is None:
                flow.op.proc.terminate()
        for flow in flows:
            if flow.op:
                flow.op.stop()
        kc.kubectl("delete", "djp", "-A", "-l", selector, "--wait=false", check=False)


# -- 1. helm lint ------------------------------------------------------------------------------


LINT_CASES = {
    "all namespaces": {},
    "namespace list": {"watchNamespaces": ["team-a", "team-b"],
                       "defaultCredentials": {"secretName": "drs-default"}},
    "everything on": {
        "watchNamespaces": ["team-a"],
        "defaultCredentials": {"secretName": "drs-default"},
        "rbac": {"credentialsSecrets": {"names": ["drs-credentials"]}},
        "operator": {"caBundle": {"configMapName": "corp-ca"}, "batchSize": 50,
                     "allowedEndpoints": r"https://drs\.[a-z0-9-]+\.example\.com"},
        "metrics": {"service": {"enabled": True}, "serviceMonitor": {"enabled": True}},
        "extraEnv": [{"name": "HTTPS_PROXY", "value": "http://proxy:3128"}],
        "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "ops",
                         "effect": "NoSchedule"}],
    },
    "namespace list with aggregated roles": {"watchNamespaces": ["team-a"],
                                             "rbac": {"aggregateToDefaultRoles": True}},
    "all namespaces without aggregated roles": {"rbac": {"aggregateToDefaultRoles": False}},
}


@pytest.mark.parametrize("values", LINT_CASES.values(), ids=LINT_CASES.keys())
def test_helm_lint_strict(values, tmp_path):
    path = tmp_path / "values.json"
    path.write_text(json.dumps(values))
    proc = helm("lint", "--strict", str(CHART), "--kube-version", KUBE_VERSION, "-f", str(path),
                check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 chart(s) failed" in proc.stdout
    assert "[WARNING]" not in proc.stdout and "[ERROR]" not in proc.stdout


# -- what the chart renders ----------------------------------------------------------------------


ALL_SETTINGS = {
    "watchNamespaces": ["team-a", "team-b"],
    "defaultCredentials": {"secretName": "drs-default"},
    "operator": {
        "endpointTemplate": "https://drs.{region}.example.com",
        "iamEndpointTemplate": "https://iam.{region}.example.com",
        "defaultRegion": "eu-nl",
        "allowedEndpoints": r"https://drs\.(eu-de|eu-nl)\.example\.com",
        "allowInsecureHttp": False,
        "caBundle": {"configMapName": "corp-ca", "key": "bundle.pem"},
        "batchSize": 50, "maxConcurrency": 4, "requestTimeout": 12.5, "verifyTimeout": 0,
        "delayPollInterval": 7, "dryRun": True,
        "rateLimit": 2.5, "rateBurst": 5, "coalesceWindow": 0.1,
        "logFormat": "text", "logLevel": "WARNING",
        "leaseName": "drs-leader", "leaseNamespace": "ops-leases", "leaseDuration": 30,
        "leaseRenewDeadline": 20, "leaseRetryPeriod": 4,
    },
    "metrics": {"port": 9191},
}


def test_every_operator_setting_is_a_chart_value_the_operator_accepts(tmp_path):
    docs = render("r", "ops", ALL_SETTINGS)
    env = container_env(docs)
    expected = {op_settings.env_name(f) for f in op_settings.Settings.model_fields}
    assert {k for k in env if k.startswith("DRS_PAUSE_")} == expected, (
        "every Settings field must be reachable from values.yaml"
    )
    assert env["DRS_PAUSE_CA_BUNDLE"] == "/etc/drs-pause-operator/ca/bundle.pem"
    mounts = {m["name"]: m["mountPath"] for m in container(docs)["volumeMounts"]}
    assert mounts["ca-bundle"] == "/etc/drs-pause-operator/ca"
    ca_bundle = tmp_path / "bundle.pem"
    ca_bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    loaded = op_settings.load(None, {**env, "DRS_PAUSE_CA_BUNDLE": str(ca_bundle)})
    assert loaded.namespaces == ("team-a", "team-b")
    assert loaded.default_credentials_secret == "ops/drs-default"
    assert loaded.endpoint_for(None) == "https://drs.eu-nl.example.com"
    assert loaded.iam_endpoint_for("eu-de") == "https://iam.eu-de.example.com"
    assert loaded.endpoint_allowed("https://drs.eu-de.example.com")
    assert (loaded.batch_size, loaded.max_concurrency, loaded.rate_burst) == (50, 4, 5)
    assert (loaded.request_timeout, loaded.verify_timeout) == (12.5, 0)
    assert (loaded.rate_limit, loaded.coalesce_window) == (2.5, 0.1)
    assert (loaded.metrics_port, loaded.log_format, loaded.log_level) == (9191, "text", "WARNING")
    assert loaded.allow_insecure_http is False
    assert (loaded.delay_poll_interval, loaded.dry_run) == (7.0, True)
    assert (loaded.lease_name, loaded.lease_namespace) == ("drs-leader", "ops-leases")
    assert (loaded.lease_duration, loaded.lease_renew_deadline,
            loaded.lease_retry_period) == (30, 20.0, 4.0)
    # The leader-election Role goes where the Lease is.
    role = find(docs, "Role", "r-drs-pause-operator-leader-election")
    assert role["metadata"]["namespace"] == "ops-leases"
    assert role["rules"][0]["resourceNames"] == ["drs-leader"]


def test_defaults_leave_operator_defaults_alone():
    env = container_env(render("r", "ops"))
    assert "DRS_PAUSE_NAMESPACES" not in env  # all namespaces
    assert "DRS_PAUSE_DEFAULT_CREDENTIALS_SECRET" not in env
    assert "DRS_PAUSE_BATCH_SIZE" not in env  # null in values.yaml = the operator's default
    loaded = op_settings.load(None, env)
    # The Lease is named after the release (two releases in a namespace never share one).
    assert loaded == op_settings.Settings(log_format="json", lease_name="r-drs-pause-operator")


def test_deployment_shape_probes_and_security():
    docs = render("r", "ops")
    deploy = find(docs, "Deployment")
    pod = deploy["spec"]["template"]["spec"]
    c = container(docs)
    assert deploy["spec"]["replicas"] == 1
    # With the Lease a new pod waits as a standby until the old one released it.
    assert deploy["spec"]["strategy"] == {
        "type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}
    pod_namespace = next(e for e in c["env"] if e["name"] == "POD_NAMESPACE")
    assert pod_namespace["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.namespace"}}
    assert not [d for d in docs if d["kind"] == "PodDisruptionBudget"]  # one replica: no PDB
    two = render("r", "ops", {"replicas": 2})
    assert find(two, "Deployment")["spec"]["replicas"] == 2
    pdb = find(two, "PodDisruptionBudget")
    assert pdb["spec"]["minAvailable"] == 1
    assert pdb["spec"]["selector"] == find(two, "Deployment")["spec"]["selector"]
    assert not [d for d in render("r", "ops", {"replicas": 2,
                                              "podDisruptionBudget": {"enabled": False}})
                if d["kind"] == "PodDisruptionBudget"]
    assert c["image"] == "ghcr.io/cloudops-dev/drs-pause-operator:0.1.0"
    assert c["args"] == ["run", "--liveness", "http://0.0.0.0:8080/healthz"]  # no --peering
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    assert ports == {"liveness": 8080, "metrics": 9090}
    for probe in ("livenessProbe", "readinessProbe"):
        assert c[probe]["httpGet"] == {"path": "/healthz", "port": "liveness"}
    assert c["resources"] == {"requests": {"cpu": "50m", "memory": "128Mi"},
                              "limits": {"memory": "512Mi"}}
    assert pod["securityContext"] == {"runAsNonRoot": True, "runAsUser": 65532,
                                      "runAsGroup": 65532, "fsGroup": 65532,
                                      "seccompProfile": {"type": "RuntimeDefault"}}
    assert c["securityContext"] == {"allowPrivilegeEscalation": False,
                                    "readOnlyRootFilesystem": True, "runAsNonRoot": True,
                                    "capabilities": {"drop": ["ALL"]},
                                    "seccompProfile": {"type": "RuntimeDefault"}}
    assert {"name": "tmp", "mountPath": "/tmp"} in c["volumeMounts"]
    assert pod["serviceAccountName"] == find(docs, "ServiceAccount")["metadata"]["name"]
    # OpenShift-style platforms pick the UID themselves.
    pod = find(render("r", "ops", {"securityContext": {"runAsUser": None}}),
               "Deployment")["spec"]["template"]["spec"]
    assert pod["securityContext"] == {"runAsNonRoot": True,
                                      "seccompProfile": {"type": "RuntimeDefault"}}
    digest = "sha256:" + "a" * 64
    c = container(render("r", "ops", {"image": {"digest": digest}}))
    assert c["image"] == f"ghcr.io/cloudops-dev/drs-pause-operator@{digest}"


def test_metrics_service_and_service_monitor_only_where_served():
    values = {"metrics": {"serviceMonitor": {"enabled": True, "labels": {"release": "prom"}}}}
    with_crd = render("r", "ops", values, "--api-versions", "monitoring.coreos.com/v1")
    monitor = find(with_crd, "ServiceMonitor")
    service = find(with_crd, "Service")
    assert monitor["metadata"]["labels"]["release"] == "prom"
    assert monitor["spec"]["endpoints"][0]["port"] == "metrics"
    assert all(service["metadata"]["labels"][k] == v
               for k, v in monitor["spec"]["selector"]["matchLabels"].items())
    assert service["spec"]["ports"][0]["targetPort"] == "metrics"
    without_crd = render("r", "ops", values)
    assert not [d for d in without_crd if d["kind"] == "ServiceMonitor"]
    assert not [d for d in render("r", "ops") if d["kind"] in ("Service", "ServiceMonitor")]
    off = render("r", "ops", {"metrics": {"enabled": False}})
    assert container_env(off)["DRS_PAUSE_METRICS_PORT"] == "0"
    assert [p["name"] for p in container(off)["ports"]] == ["liveness"]


def test_rbac_modes():
    cluster_wide = render("r", "ops", {"defaultCredentials": {"secretName": "drs-default"}})
    kinds = sorted(d["kind"] for d in cluster_wide
                   if "rbac" in d["apiVersion"] and not is_aggregated(d))
    # get on all Secrets cluster-wide already covers the default Secret: no extra Role. The
    # Lease is namespaced: a Role in the release namespace in both modes.
    assert kinds == ["ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"]
    lease_role = find(cluster_wide, "Role", "r-drs-pause-operator-leader-election", "ops")
    assert lease_role["rules"] == [
        {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"],
         "resourceNames": ["r-drs-pause-operator"], "verbs": ["get", "update"]},
        {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["create"]},
    ]
    listed = render("r", "ops", {"watchNamespaces": ["a", "b"],
                                 "defaultCredentials": {"secretName": "drs-default"}})
    roles = sorted((d["kind"], d["metadata"].get("namespace", ""), d["metadata"]["name"])
                   for d in listed if d["kind"] in ("Role", "ClusterRole"))
    assert roles == [
        ("Role", "a", "r-drs-pause-operator"),
        ("Role", "b", "r-drs-pause-operator"),
        ("Role", "ops", "r-drs-pause-operator-default-credentials"),
        ("Role", "ops", "r-drs-pause-operator-leader-election"),
    ]
    # Namespace-list mode grants nothing cluster-scoped.
    assert not [d for d in listed if d["kind"] in ("ClusterRole", "ClusterRoleBinding")]
    default_role = find(listed, "Role", "r-drs-pause-operator-default-credentials")
    assert default_role["rules"] == [{"apiGroups": [""], "resources": ["secrets"],
                                      "resourceNames": ["drs-default"], "verbs": ["get"]}]
    for binding in (d for d in listed if d["kind"].endswith("Binding")):
        assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "r-drs-pause-operator",
                                        "namespace": "ops"}]
    # No credentialsSecretRef support: no Secret access in the watched namespaces at all.
    closed = render("r", "ops", {"rbac": {"credentialsSecrets": {"enabled": False}}})
    assert all("secrets" not in rule["resources"]
               for rule in find(closed, "ClusterRole", "r-drs-pause-operator")["rules"])
    assert not [d for d in render("r", "ops", {"rbac": {"create": False}})
                if "rbac" in d["apiVersion"]]


# What each default role may do on both kinds, through the chart's aggregated ClusterRoles.
READ = {"get", "list", "watch"}
WRITE = {"create", "update", "patch", "delete", "deletecollection"}
_VIEW = {"drsjobpauses": READ, "drsjobpauses/status": READ,
         "drspausewindows": READ, "drspausewindows/status": READ}
_EDIT = {"drsjobpauses": READ | WRITE, "drsjobpauses/status": READ,
         "drspausewindows": READ | WRITE, "drspausewindows/status": READ}
DEFAULT_ROLE_RIGHTS = {"view": _VIEW, "edit": _EDIT, "admin": _EDIT}


def aggregated_roles(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [d for d in docs if d["kind"] == "ClusterRole" and is_aggregated(d)]


def rights_of(docs: list[dict[str, Any]], default_role: str) -> dict[str, set[str]]:
    """What the aggregation controller adds to DEFAULT_ROLE: the rules of every ClusterRole
    labelled aggregate-to-DEFAULT_ROLE, by resource."""
    rights: dict[str, set[str]] = {}
    for role in aggregated_roles(docs):
        if role["metadata"]["labels"].get(AGGREGATE_LABEL + default_role) != "true":
            continue
        for rule in role["rules"]:
            assert rule["apiGroups"] == ["drs.cloudops.dev"], rule
            assert not rule.get("resourceNames"), rule
            for resource in rule["resources"]:
                rights.setdefault(resource, set()).update(rule["verbs"])
    return rights


def test_aggregated_roles_extend_admin_edit_and_view():
    docs = render("r", "ops")
    roles = aggregated_roles(docs)
    assert sorted(r["metadata"]["name"] for r in roles) == ["r-drs-pause-operator-edit",
                                                            "r-drs-pause-operator-view"]
    for default_role, rights in DEFAULT_ROLE_RIGHTS.items():
        assert rights_of(docs, default_role) == rights, default_role
    for role in roles:
        assert "namespace" not in role["metadata"]
        assert role["metadata"]["labels"]["app.kubernetes.io/component"] == "aggregated-roles"
        assert "aggregationRule" not in role
    # For people only: no binding refers to them, and the operator's grants are unchanged.
    names = {r["metadata"]["name"] for r in roles}
    assert not [b for b in docs if b["kind"].endswith("Binding")
                and b["roleRef"]["name"] in names]
    operator_only = [d for d in docs if not is_aggregated(d)]
    assert grants_in(docs, "r") == grants_in(operator_only, "r")
    assert aggregated_roles(render("r", "ops", {"rbac": {"aggregateToDefaultRoles": False}})) == []


def test_aggregated_roles_in_namespace_list_mode_only_when_asked():
    """Namespace-list mode creates nothing cluster-scoped unless rbac.aggregateToDefaultRoles
    is true: those roles would reach the admins, editors and viewers of every namespace."""
    listed = {"watchNamespaces": ["a", "b"]}
    assert aggregated_roles(render("r", "ops", listed)) == []
    docs = render("r", "ops", {**listed, "rbac": {"aggregateToDefaultRoles": True}})
    for default_role, rights in DEFAULT_ROLE_RIGHTS.items():
        assert rights_of(docs, default_role) == rights, default_role
    # The operator itself still has no cluster-scoped grant.
    assert not [d for d in docs if d["kind"] == "ClusterRoleBinding"]
    assert all(g.kind == "Role" for g in grants_in(docs, "r"))
    # rbac.create=false: no RBAC object at all, whatever the aggregation value.
    for aggregate in (None, True):
        off = render("r", "ops", {"rbac": {"create": False, "aggregateToDefaultRoles": aggregate}})
        assert not [d for d in off if "rbac" in d["apiVersion"]]


def test_component_labels():
    values = {**LINT_CASES["everything on"], "rbac": {"aggregateToDefaultRoles": True}}
    docs = render("r", "ops", values, "--api-versions", "monitoring.coreos.com/v1")
    expected = {"Deployment": "operator", "ServiceAccount": "operator", "Role": "operator",
                "RoleBinding": "operator", "Service": "metrics", "ServiceMonitor": "metrics"}
    assert {d["kind"] for d in docs} >= set(expected) | {"ClusterRole"}
    for doc in docs:
        labels = doc["metadata"]["labels"]
        want = "aggregated-roles" if is_aggregated(doc) else expected[doc["kind"]]
        assert labels["app.kubernetes.io/component"] == want, doc["metadata"]["name"]
        assert labels["app.kubernetes.io/part-of"] == "drs-pause-operator"
    deploy = find(docs, "Deployment")
    pod_labels = deploy["spec"]["template"]["metadata"]["labels"]
    assert pod_labels["app.kubernetes.io/component"] == "operator"
    # The selector is immutable: it stays what earlier releases had, without the component.
    assert deploy["spec"]["selector"]["matchLabels"] == {
        "app.kubernetes.io/name": "drs-pause-operator", "app.kubernetes.io/instance": "r"}
    cluster_wide = render("r", "ops")
    for doc in cluster_wide:
        if doc["kind"] in ("ClusterRole", "ClusterRoleBinding") and not is_aggregated(doc):
            assert doc["metadata"]["labels"]["app.kubernetes.io/component"] == "operator"


def _aggregation_controller_runs(kc) -> bool:
    """Does the cluster run kube-controller-manager (whose leader holds this Lease)?"""
    return kc.kubectl("get", "lease", "-n", "kube-system", "kube-controller-manager",
                      check=False).returncode == 0


def _drsjobpause_rules_in(kc, default_role: str) -> list[dict[str, Any]]:
    role = json.loads(kc.kubectl("get", "clusterrole", default_role, "-o", "json").stdout)
    return [r for r in role.get("rules") or [] if "drs.cloudops.dev" in r.get("apiGroups", [])]


def test_aggregated_roles_on_the_api_server(cluster, namespace):
    """The labels are the ones the API server's own admin/edit/view roles aggregate, and what a
    user holding each role may then do is exactly DEFAULT_ROLE_RIGHTS, status read-only.

    With kube-controller-manager running, the users hold the built-in roles themselves; on a
    bare control plane (no aggregation controller) they hold the chart's ClusterRoles that
    aggregate into each built-in role, which is what the controller would copy.
    """
    release = f"agg-{uuid.uuid4().hex[:6]}"
    roles = aggregated_roles(render(release, namespace))
    for default_role in DEFAULT_ROLE_RIGHTS:
        builtin = json.loads(cluster.kubectl("get", "clusterrole", default_role,
                                             "-o", "json").stdout)
        selectors = [s.get("matchLabels", {})
                     for s in builtin["aggregationRule"]["clusterRoleSelectors"]]
        assert {AGGREGATE_LABEL + default_role: "true"} in selectors, selectors
    aggregating = _aggregation_controller_runs(cluster)
    apply_docs(cluster, roles)
    try:
        for default_role, rights in DEFAULT_ROLE_RIGHTS.items():
            if aggregating:
                deadline = time.monotonic() + 30
                while not _drsjobpause_rules_in(cluster, default_role):
                    assert time.monotonic() < deadline, f"{default_role} did not aggregate"
                    time.sleep(0.5)
                held = [default_role]
            else:
                held = [r["metadata"]["name"] for r in roles
                        if r["metadata"]["labels"].get(AGGREGATE_LABEL + default_role) == "true"]
            user = f"{release}-{default_role}"
            apply_docs(cluster, [{
                "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                "metadata": {"name": f"{user}-{role}", "namespace": namespace},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                            "name": role},
                "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User",
                              "name": user}],
            } for role in held])
            for resource, allowed in rights.items():
                name, _, subresource = resource.partition("/")
                for verb in sorted(READ | WRITE):
                    args = ["auth", "can-i", verb, f"{name}.drs.cloudops.dev",
                            "-n", namespace, "--as", user]
                    if subresource:
                        args += ["--subresource", subresource]
                    answer = cluster.kubectl(*args, check=False).stdout.strip()
                    want = "yes" if verb in allowed else "no"
                    assert answer == want, f"{default_role} ({held}): {verb} {resource}"
            # The rights stay in the namespace of the binding.
            other = cluster.kubectl("auth", "can-i", "get", "drsjobpauses.drs.cloudops.dev",
                                    "-n", "default", "--as", user, check=False)
            assert other.stdout.strip() == "no"
    finally:
        cluster.kubectl("delete", "clusterrole", *(r["metadata"]["name"] for r in roles),
                        check=False)


def test_kube_version_constraint():
    proc = helm("template", "r", str(CHART), "--kube-version", "1.27.9", check=False)
    assert proc.returncode != 0
    assert "chart requires kubeVersion: >=1.28.0-0" in proc.stderr
    render("r", "ops", None)  # 1.37
    helm("template", "r", str(CHART), "--kube-version", "1.28.3-eks-1a2b3c")


# -- 2. Pod Security "restricted" --------------------------------------------------------------


# values for a release in namespace NS
PSS_VARIANTS = {
    "defaults": lambda ns: {},
    "everything on": lambda ns: {**LINT_CASES["everything on"], "watchNamespaces": [ns]},
    "platform-assigned uid": lambda ns: {"securityContext": {"runAsUser": None}},
}


@pytest.fixture
def restricted_namespace(cluster, namespace):
    cluster.kubectl("label", "namespace", namespace,
                    "pod-security.kubernetes.io/enforce=restricted",
                    "pod-security.kubernetes.io/warn=restricted",
                    "pod-security.kubernetes.io/audit=restricted")
    return namespace


def _dry_run(cluster, namespace: str, docs: list[dict[str, Any]], verb: str = "apply"):
    return cluster.kubectl(verb, "--dry-run=server", "-n", namespace, "-f", "-", check=False,
                           input=json.dumps({"apiVersion": "v1", "kind": "List", "items": docs}))


def _pod_of(deployment: dict[str, Any], namespace: str) -> dict[str, Any]:
    template = deployment["spec"]["template"]
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "pss-probe", "namespace": namespace,
                         "labels": template["metadata"]["labels"]},
            "spec": template["spec"]}


@pytest.mark.parametrize("values", PSS_VARIANTS.values(), ids=PSS_VARIANTS.keys())
def test_restricted_pod_security_without_warnings(cluster, restricted_namespace, values):
    ns = restricted_namespace
    docs = render(f"pss-{uuid.uuid4().hex[:6]}", ns, values(ns))
    proc = _dry_run(cluster, ns, docs)
    assert proc.returncode == 0, proc.stderr
    assert "Warning" not in proc.stderr, proc.stderr
    # The Deployment is only warned about; enforcement applies to Pods. So dry-run its Pod too.
    pod = _pod_of(find(docs, "Deployment"), ns)
    proc = _dry_run(cluster, ns, [pod], verb="create")
    assert proc.returncode == 0, proc.stderr
    assert "Warning" not in proc.stderr, proc.stderr


def test_pod_security_check_is_not_vacuous(cluster, restricted_namespace):
    """The same dry-runs do complain about a Pod that breaks the restricted profile."""
    ns = restricted_namespace
    docs = render("pss-bad", ns)
    deployment = copy.deepcopy(find(docs, "Deployment"))
    c = deployment["spec"]["template"]["spec"]["containers"][0]
    c["securityContext"]["allowPrivilegeEscalation"] = True
    proc = _dry_run(cluster, ns, [deployment])
    assert "Warning" in proc.stderr and "allowPrivilegeEscalation" in proc.stderr, proc.stderr
    proc = _dry_run(cluster, ns, [_pod_of(deployment, ns)], verb="create")
    assert proc.returncode != 0 and "violates PodSecurity" in proc.stderr, proc.stderr


# -- 5. bad values ---------------------------------------------------------------------------


BAD_VALUES = {
    "unknown top-level key": (["--set", "replicaCount=2"],
                              "at '': additional properties 'replicaCount' not allowed"),
    "unknown nested key": (["--set", "operator.batchsize=5"],
                           "at '/operator': additional properties 'batchsize' not allowed"),
    "string for integer": (["--set", "metrics.port=http"], "at '/metrics/port': got string, "
                                                           "want integer"),
    "string for list": (["--set", "watchNamespaces=team-a"],
                        "at '/watchNamespaces': got string, want array"),
    "number out of range": (["--set", "operator.batchSize=5000"],
                            "at '/operator/batchSize': maximum: got 5,000, want 1,000"),
    "enum": (["--set", "operator.logFormat=xml"],
             "at '/operator/logFormat': value must be one of 'text', 'json'"),
    "not a URL": (["--set", "operator.endpointTemplate=drs.example.com"],
                  "at '/operator/endpointTemplate': 'drs.example.com' does not match pattern"),
    "bad namespace name": (["--set", "watchNamespaces[0]=Team_A"],
                           "at '/watchNamespaces/0': 'Team_A' does not match pattern"),
}


@pytest.mark.parametrize(("args", "message"), BAD_VALUES.values(), ids=BAD_VALUES.keys())
def test_schema_rejects_bad_values(args, message):
    proc = helm("template", "r", str(CHART), "--kube-version", KUBE_VERSION, *args, check=False)
    assert proc.returncode != 0
    assert "values don't meet the specifications of the schema" in proc.stderr
    assert message in proc.stderr, proc.stderr


def test_helm_install_refuses_bad_values(cluster, namespace):
    proc = helm("install", "bad", str(CHART), "-n", namespace, "--set", "operator.batchSize=x",
                kubeconfig=cluster.kubeconfig, check=False)
    assert proc.returncode != 0
    assert "at '/operator/batchSize': got string, want null or integer" in proc.stderr, proc.stderr
    status = helm("status", "bad", "-n", namespace, kubeconfig=cluster.kubeconfig, check=False)
    assert status.returncode != 0 and "not found" in status.stderr


# -- 3. helm install + the operator with the chart's identity, namespace-list mode ---------------


def test_install_namespace_list_mode_pauses_end_to_end(cluster, simulator, tmp_path):
    release = f"djp-{uuid.uuid4().hex[:6]}"
    ops, watched = f"{release}-ops", f"{release}-apps"
    for ns in (ops, watched):
        cluster.kubectl("create", "namespace", ns)
    values = operator_values(simulator.url, watchNamespaces=[watched],
                             metrics={"enabled": True})
    out = helm("install", release, str(CHART), "-n", ops, "-f", "-", input=json.dumps(values),
               kubeconfig=cluster.kubeconfig)
    assert "STATUS: deployed" in out.stdout
    assert f"these namespaces: {watched}" in out.stdout  # NOTES.txt
    name = fullname(release)
    deployment = json.loads(cluster.kubectl("get", "deployment", name, "-n", ops,
                                            "-o", "json").stdout)
    command = local_command(deployment["spec"]["template"]["spec"]["containers"][0])
    assert command.env["DRS_PAUSE_NAMESPACES"] == watched
    kubeconfig = sa_kubeconfig(cluster, ops, name, tmp_path / "sa.kubeconfig")
    # The token cannot do what the chart did not grant.
    can = cluster.kubectl("auth", "can-i", "list", "secrets", "-n", watched,
                          kubeconfig=kubeconfig, check=False)
    assert can.stdout.strip() == "no"
    flow = Flow("install", cluster, ops, watched, kubeconfig, command, tmp_path / "op.log",
                probe_on_success=True)
    run_flows(cluster, [flow], simulator)
    assert flow.succeeded_after is not None, flow.report()
    # kopf's liveness endpoint (the chart's probes) and the metrics port answered meanwhile.
    assert flow.liveness is not None and flow.liveness[0] == 200
    assert "# TYPE" in flow.metrics
    for obj in flow.objects.values():
        assert obj["status"]["jobs"][0]["taskStatus"] == "PAUSING"
        assert obj["status"]["observedGeneration"] == obj["metadata"]["generation"]
        # The operator wrote status only: no finalizer, no annotation of its own.
        assert not obj["metadata"].get("finalizers")
        assert not [a for a in obj["metadata"].get("annotations") or {} if "kopf" in a
                    or a.startswith("drs.cloudops.dev")]
