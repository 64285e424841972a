"""The chart's `watch` grant is needed, shown outright rather than as "slower without it".

The chart's namespace-list release, with only `watch` on drsjobpauses taken out of its Role: the
operator, running with that release's ServiceAccount token, is refused the watch (the API
server's 403 is in its log), and an object created after its start stays unpaused for a long
window (nothing is sent to DRS for it). Then the unmodified Role is applied: the operator, which
retries the refused watch without end (engine/startup.py), pauses the object by itself.
"""

from __future__ import annotations

import json
import re
import time
import uuid

import pytest

from .conftest import OperatorProcess, new_job_id, wait_for
from .test_chart import (
    Grant,
    _djp,
    _secret,
    apply_docs,
    container,
    create_namespaces,
    fullname,
    http_get,
    local_command,
    operator_values,
    render,
    sa_kubeconfig,
    without_grant,
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

WATCH = Grant("Role", "", "drsjobpauses", "watch")
UNPAUSED_WINDOW = 30.0
REFUSED = re.compile(r'(403|[Ff]orbidden).*cannot watch resource \\?"drsjobpauses\\?"'
                     r'|cannot watch resource \\?"drsjobpauses\\?".*(403|[Ff]orbidden)')


@pytest.mark.timeout(240)
def test_without_watch_an_object_stays_unpaused(cluster, simulator, tmp_path):
    release = f"nw-{uuid.uuid4().hex[:6]}"
    ops, apps = f"{release}-ops", f"{release}-apps"
    create_namespaces(cluster, ops, apps)
    docs = render(release, ops, operator_values(simulator.url, watchNamespaces=[apps]))
    apply_docs(cluster, without_grant(docs, release, WATCH))
    apply_docs(cluster, [_secret(apps, "drs-credentials"), _secret(ops, "drs-default")])
    kubeconfig = sa_kubeconfig(cluster, ops, fullname(release), tmp_path / "sa.kubeconfig")
    command = local_command(container(docs))
    # POD_NAMESPACE comes from the downward API in the pod: the Lease is in the release namespace.
    env = {"POD_NAMESPACE": ops, **command.env}
    op = OperatorProcess(kubeconfig, command.args, tmp_path / "op.log", env).start()
    try:
        wait_for(lambda: _live(command.liveness_url), timeout=90, what="liveness up")
        job = new_job_id()
        simulator.seed([{"id": job, "status": "INCRE_TRANSFER_STARTED"}])
        cluster.kubectl("apply", "-f", "-", input=_djp(apps, "unseen", job, release,
                                                       "drs-credentials"))
        deadline = time.monotonic() + UNPAUSED_WINDOW
        while time.monotonic() < deadline:
            status = _status(cluster, apps, "unseen")
            assert status.get("phase") != "Paused", status
            assert not simulator.calls("pause", job_id=job)
            time.sleep(2)
        assert not simulator.calls(job_id=job), "something was sent for an object never seen"
        refused = [line for line in op.log.splitlines() if REFUSED.search(line)]
        assert refused, "no 403 for the watch in the operator's log:\n" + op.log[-3000:]
        assert op.proc.poll() is None

        # The positive control: with the Role as rendered, the same process pauses it.
        apply_docs(cluster, [d for d in docs if d["kind"] == "Role"
                             and d["metadata"]["name"] == fullname(release)])
        try:
            wait_for(lambda: _status(cluster, apps, "unseen").get("phase") == "Paused",
                     timeout=90, interval=1.0, what="Paused once watch is granted")
        except AssertionError as err:
            raise AssertionError(f"{err}\noperator log (tail):\n{op.log[-4000:]}") from None
        assert len(simulator.calls("pause", job_id=job)) == 1
    finally:
        op.stop()
        cluster.kubectl("delete", "namespace", apps, ops, "--wait=false", check=False)


def _live(url: str) -> bool:
    try:
        return http_get(url, timeout=1.0)[0] == 200
    except OSError:
        return False


def _status(cluster, namespace: str, name: str) -> dict:
    out = cluster.kubectl("get", "djp", name, "-n", namespace, "-o", "json").stdout
    return json.loads(out).get("status") or {}
