"""The chart in all-namespaces mode (ClusterRole), on a private control plane.

An operator watching all namespaces acts on every DrsJobPause in the cluster, so these tests get
a control plane of their own (started for this module) instead of the session's, where other
tests' objects live; and its cases run one after the other, never side by side.

- ``helm install`` with the CRD from the chart's crds/, then the operator, with the installed
  Deployment's environment and arguments and the chart's ServiceAccount token, pauses end to end;
- least privilege: for each verb of the rendered ClusterRole/Role, the same flow fails without
  it (see test_chart_rbac.py for the method). These cases pin the objects' Secret name
  (rbac.credentialsSecrets.names), so that the default credentials Secret needs its own Role.
"""

from __future__ import annotations

import json
import os
import uuid

import pytest

from drs_pause_operator.dev.devcluster import LocalControlPlane

from .test_chart import (
    CHART,
    CREDENTIALS,
    LEASE_TAKEOVER,
    Flow,
    Grant,
    apply_docs,
    container,
    create_namespaces,
    fullname,
    grants_in,
    helm,
    local_command,
    operator_values,
    released_lease,
    render,
    run_flows,
    sa_kubeconfig,
    without_grant,
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CRD = "drsjobpauses.drs.cloudops.dev"

CLUSTER_WIDE = [
    Grant("ClusterRole", "", "drsjobpauses", "list"),
    Grant("ClusterRole", "", "drsjobpauses", "watch"),
    Grant("ClusterRole", "", "drsjobpauses/status", "patch"),
    Grant("ClusterRole", "", "events", "create"),
    # get on the objects' Secrets, restricted here to resourceNames [drs-credentials]
    Grant("ClusterRole", "", "secrets", "get"),
    Grant("Role", "-default-credentials", "secrets", "get"),
    # Leader election, a Role in the release namespace (see test_chart_rbac.py).
    Grant("Role", "-leader-election", "leases", "get"),
    Grant("Role", "-leader-election", "leases", "create"),
    Grant("Role", "-leader-election", "leases", LEASE_TAKEOVER),
]


@pytest.fixture(scope="module")
def private_cluster(cluster, tmp_path_factory):
    if os.environ.get("DRS_E2E_KUBECONFIG"):
        pytest.skip("an all-namespaces operator would act on every DrsJobPause of the existing "
                    "cluster; these tests need a private local control plane")
    workdir = tmp_path_factory.mktemp("private-controlplane")
    with LocalControlPlane(workdir=workdir, binaries=cluster.binaries) as cp:
        yield cp


def _ensure_crd(kc) -> None:
    kc.kubectl("apply", "--server-side", "--force-conflicts", "-f", str(CHART / "crds"))
    kc.kubectl("wait", "--for=condition=Established", f"crd/{CRD}", "--timeout=60s")


def _values(simulator_url: str) -> dict:
    return operator_values(simulator_url,
                           rbac={"credentialsSecrets": {"names": [CREDENTIALS]}})


def test_install_all_namespaces_pauses_end_to_end(private_cluster, simulator, tmp_path):
    kc = private_cluster
    crd_before = kc.kubectl("get", "crd", CRD, check=False).returncode == 0
    release = f"cw-{uuid.uuid4().hex[:6]}"
    ops, watched = f"{release}-ops", f"{release}-apps"
    create_namespaces(kc, ops, watched)
    values = operator_values(simulator.url, metrics={"enabled": True})
    out = helm("install", release, str(CHART), "-n", ops, "-f", "-", input=json.dumps(values),
               kubeconfig=kc.kubeconfig)
    assert "STATUS: deployed" in out.stdout and "all namespaces" in out.stdout
    if not crd_before:  # the chart's crds/ installed it (module order: this test runs first)
        kc.kubectl("wait", "--for=condition=Established", f"crd/{CRD}", "--timeout=60s")
    name = fullname(release)
    assert kc.kubectl("get", "clusterrolebinding", name, check=False).returncode == 0
    deployment = json.loads(kc.kubectl("get", "deployment", name, "-n", ops, "-o",
                                       "json").stdout)
    command = local_command(deployment["spec"]["template"]["spec"]["containers"][0])
    assert "DRS_PAUSE_NAMESPACES" not in command.env  # all namespaces
    kubeconfig = sa_kubeconfig(kc, ops, name, tmp_path / "sa.kubeconfig")
    for verb, resource, answer in (("get", "secrets", "yes"), ("list", "secrets", "no"),
                                   ("watch", "secrets", "no"), ("update", "drsjobpauses", "no"),
                                   ("patch", "drsjobpauses", "yes"),
                                   ("create", "drsjobpauses", "yes"),
                                   ("patch", "drsjobpauses --subresource=status", "yes"),
                                   ("list", "customresourcedefinitions", "no"),
                                   ("list", "namespaces", "no")):
        can = kc.kubectl("auth", "can-i", verb, *resource.split(), "-A", kubeconfig=kubeconfig,
                         check=False)
        assert can.stdout.strip() == answer, (verb, resource, can.stdout, can.stderr)
    flow = Flow("install", kc, ops, watched, kubeconfig, command, tmp_path / "op.log",
                probe_on_success=True)
    run_flows(kc, [flow], simulator)
    assert flow.succeeded_after is not None, flow.report()
    assert flow.liveness is not None and flow.liveness[0] == 200
    assert "# TYPE" in flow.metrics


# As in test_chart_rbac.py: the grants of the features beyond pausing, each used by the code named.
BEYOND_PAUSING = [
    Grant("ClusterRole", "", "drsjobpauses", "patch"),  # engine/kube.py patch_finalizers
    Grant("ClusterRole", "", "drsjobpauses", "create"),  # engine/window_pass.py: a window's child
    Grant("ClusterRole", "", "drsjobpauses", "delete"),  # engine/window_pass.py: historyLimit
    Grant("ClusterRole", "", "drspausewindows", "list"),
    Grant("ClusterRole", "", "drspausewindows", "watch"),
    Grant("ClusterRole", "", "drspausewindows/status", "patch"),
    Grant("ClusterRole", "", "drspausewindows/finalizers", "update"),  # blockOwnerDeletion
]


def test_the_cases_cover_every_rendered_grant(simulator):
    docs = render("cover", "ops", _values(simulator.url))
    assert grants_in(docs, "cover") == set(CLUSTER_WIDE) | set(BEYOND_PAUSING)


# Alone in its cluster, the control pauses ~1-2 s after becoming live. Every case here fails for
# good (kopf retries a refused watch without end, see test_rbac_watch.py): a shorter bound than
# the namespaced batch needs (eight operators at once) keeps this sequential part short.
BOUND = 10.0


def _flow(kc, simulator, tmp, grant: Grant | None) -> Flow:
    release = f"cl-{uuid.uuid4().hex[:6]}"
    ops, watched = f"{release}-ops", f"{release}-apps"
    create_namespaces(kc, ops, watched)
    docs = render(release, ops, _values(simulator.url))
    if grant is not None:
        docs = without_grant(docs, release, grant)
    apply_docs(kc, docs)
    if grant is not None and grant.resource == "leases" and grant.verb == LEASE_TAKEOVER:
        apply_docs(kc, [released_lease(ops, fullname(release))])
    kubeconfig = sa_kubeconfig(kc, ops, fullname(release), tmp / f"{release}.kubeconfig")
    return Flow(grant.id if grant else "control", kc, ops, watched, kubeconfig,
                local_command(container(docs)), tmp / f"{release}.log", bound=BOUND)


@pytest.fixture(scope="module")
def control(private_cluster, simulator, tmp_path_factory) -> Flow:
    """The unmodified chart with the cases' values: it must pause in time, or no case counts."""
    _ensure_crd(private_cluster)
    flow = _flow(private_cluster, simulator, tmp_path_factory.mktemp("control"), None)
    run_flows(private_cluster, [flow], simulator)
    assert flow.succeeded_after is not None, (
        "the unmodified chart did not pause end to end in time, so no case means anything\n"
        + flow.report()
    )
    return flow


@pytest.mark.parametrize("grant", CLUSTER_WIDE, ids=[g.id for g in CLUSTER_WIDE])
def test_every_grant_is_needed(private_cluster, simulator, control, grant, tmp_path):
    flow = _flow(private_cluster, simulator, tmp_path, grant)
    run_flows(private_cluster, [flow], simulator)
    if flow.never_live:
        pytest.fail("inconclusive: the operator never became live\n" + flow.report())
    assert flow.succeeded_after is None, (
        f"paused end to end without {grant.id}: the chart does not need it\n" + flow.report()
    )
