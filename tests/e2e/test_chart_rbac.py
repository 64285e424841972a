"""Least privilege, shown rather than claimed: namespace-list mode.

For every single verb of every Role/ClusterRole the chart renders in namespace-list mode, the chart
is rendered, that one verb is taken out, the result is applied with a fresh release name, and the
operator runs with the token of that release's ServiceAccount. The end-to-end flow (test_chart.Flow:
an object found by listing with its own Secret, one found by watching with the default Secret,
both Paused with their Events) must then FAIL to complete within test_chart.FLOW_BOUND seconds,
while an unmodified control release, run at the same time under the same load, completes it.

The cases run side by side (each in its own namespaces, operators watching only their own
namespace), so the whole module costs about one FLOW_BOUND. If a case starts to pass, the chart
grants something the operator does not need: remove it from templates/rbac.yaml.
"""

from __future__ import annotations

import uuid

import pytest

from .test_chart import (
    LEASE_TAKEOVER,
    Flow,
    Grant,
    apply_docs,
    container,
    create_namespaces,
    fullname,
    grants_in,
    local_command,
    operator_values,
    released_lease,
    render,
    run_flows,
    sa_kubeconfig,
    without_grant,
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

NAMESPACED = [
    # kopf lists the objects (without it nothing is ever seen)...
    Grant("Role", "", "drsjobpauses", "list"),
    # ...and watches them (without it an object created after the start is never seen).
    Grant("Role", "", "drsjobpauses", "watch"),
    # Every result goes into status through the status subresource.
    Grant("Role", "", "drsjobpauses/status", "patch"),
    # The Paused/Failed/Stalled Events.
    Grant("Role", "", "events", "create"),
    # The objects' own Secrets (spec.credentialsSecretRef).
    Grant("Role", "", "secrets", "get"),
    # The default credentials Secret, by name, in the release namespace.
    Grant("Role", "-default-credentials", "secrets", "get"),
    # Leader election: only the holder of the Lease reconciles. Read it (by name)...
    Grant("Role", "-leader-election", "leases", "get"),
    # ...create it when there is none...
    Grant("Role", "-leader-election", "leases", "create"),
    # ...and take it over (this case starts from a released Lease, see released_lease).
    Grant("Role", "-leader-election", "leases", LEASE_TAKEOVER),
]


def _values(simulator_url: str, watched: str) -> dict:
    return operator_values(simulator_url, watchNamespaces=[watched])


# Grants of the features beyond pausing (spec.resume.onDelete's finalizer, DrsPauseWindow): the
# pause flow of this file does not use them, so removing one cannot fail it. They are listed
# here so that a new grant still needs a line; each is used by the code named beside it.
BEYOND_PAUSING = [
    Grant("Role", "", "drsjobpauses", "patch"),  # engine/kube.py patch_finalizers
    Grant("Role", "", "drsjobpauses", "create"),  # engine/window_pass.py: a window's child
    Grant("Role", "", "drsjobpauses", "delete"),  # engine/window_pass.py: historyLimit
    Grant("Role", "", "drspausewindows", "list"),  # kopf lists the windows...
    Grant("Role", "", "drspausewindows", "watch"),  # ...and watches them
    Grant("Role", "", "drspausewindows/status", "patch"),  # engine/window_pass.py status
    Grant("Role", "", "drspausewindows/finalizers", "update"),  # blockOwnerDeletion
]


def test_the_cases_cover_every_rendered_grant(simulator):
    docs = render("cover", "ops", _values(simulator.url, "apps"))
    assert grants_in(docs, "cover") == set(NAMESPACED) | set(BEYOND_PAUSING)


@pytest.fixture(scope="module")
def outcomes(cluster, simulator, tmp_path_factory) -> dict[Grant | None, Flow]:
    """Run the control (None) and every case at once; return each one's finished Flow."""
    tmp = tmp_path_factory.mktemp("rbac-namespaced")
    cases = {grant: f"lp-{uuid.uuid4().hex[:6]}" for grant in [None, *NAMESPACED]}
    create_namespaces(cluster, *(f"{r}-{suffix}" for r in cases.values()
                                 for suffix in ("ops", "apps")))
    rendered = {}
    for grant, release in cases.items():
        docs = render(release, f"{release}-ops", _values(simulator.url, f"{release}-apps"))
        rendered[grant] = docs if grant is None else without_grant(docs, release, grant)
    apply_docs(cluster, [doc for docs in rendered.values() for doc in docs])
    apply_docs(cluster, [released_lease(f"{release}-ops", fullname(release))
                         for grant, release in cases.items()
                         if grant is not None and grant.resource == "leases"
                         and grant.verb == LEASE_TAKEOVER])
    flows: dict[Grant | None, Flow] = {}
    for grant, release in cases.items():
        ops = f"{release}-ops"
        kubeconfig = sa_kubeconfig(cluster, ops, fullname(release), tmp / f"{release}.kubeconfig")
        flows[grant] = Flow(grant.id if grant else "control", cluster, ops, f"{release}-apps",
                            kubeconfig, local_command(container(rendered[grant])),
                            tmp / f"{release}.log")
    run_flows(cluster, list(flows.values()), simulator)
    control = flows[None]
    assert control.succeeded_after is not None, (
        "the unmodified chart did not pause end to end in time, so no case below means "
        "anything\n" + control.report()
    )
    return flows


def test_control_release_pauses_end_to_end(outcomes):
    assert outcomes[None].succeeded_after is not None


@pytest.mark.parametrize("grant", NAMESPACED, ids=[g.id for g in NAMESPACED])
def test_every_grant_is_needed(outcomes, grant):
    flow = outcomes[grant]
    if flow.never_live:
        pytest.fail("inconclusive: the operator never became live\n" + flow.report())
    assert flow.succeeded_after is None, (
        f"paused end to end without {grant.id}: the chart does not need it\n" + flow.report()
    )
