"""TLS end to end: the simulator serves HTTPS with a freshly generated CA. Without the CA bundle
the operator stalls with a clear TLS error and sends nothing in clear text; with --ca-bundle it
pauses."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from drs_pause_operator.dev.devcluster.certs import CertificateAuthority
from drs_pause_operator.dev.simulator.testing import SimulatorProcess

from .conftest import TOKEN, djp, get_status, new_job_id, token_secret, wait_for

SECRET = {"credentialsSecretRef": {"name": "drs-credentials"}}


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    ca = CertificateAuthority(tmp_path_factory.mktemp("pki"))
    pair = ca.issue("sim", "sim", server_names=("127.0.0.1", "localhost"))
    return ca, pair


@pytest.fixture(scope="module")
def https_simulator(pki) -> Iterator[SimulatorProcess]:
    _, pair = pki
    with SimulatorProcess(["--token", TOKEN, "--tls-cert", str(pair.cert),
                           "--tls-key", str(pair.key)]) as sim:
        assert sim.url.startswith("https://127.0.0.1:")
        yield sim


def https_args(url: str, namespace: str, *extra: str) -> list[str]:
    # No --allow-insecure-http: every endpoint is https.
    return ["--namespace", namespace, "--endpoint-template", url, "--iam-endpoint-template", url,
            "--metrics-port", "0", "--log-level", "DEBUG", *extra]


def stalled(cluster, namespace: str, name: str):
    def check():
        status = get_status(cluster, namespace, name)
        cond = next((c for c in status.get("conditions", []) if c["type"] == "Stalled"), {})
        return (status, cond) if cond.get("status") == "True" else None

    return check


def test_unknown_ca_stalls_with_a_tls_error_and_sends_nothing(
    cluster, namespace, https_simulator, start_operator
):
    job = new_job_id()
    https_simulator.seed([{"id": job, "status": "INCRE_TRANSFER_STARTED"}])
    before = len(https_simulator.calls())
    cluster.kubectl("apply", "-f", "-", input=token_secret(namespace))
    op = start_operator(https_args(https_simulator.url, namespace))
    cluster.kubectl("apply", "-f", "-", input=djp(namespace, "tls", [(job, "all")], **SECRET))

    status, cond = wait_for(stalled(cluster, namespace, "tls"), timeout=40, what="TLSError")
    assert cond["reason"] == "TLSError", cond
    assert "TLS" in cond["message"] and "CA bundle" in cond["message"], cond
    assert "CERTIFICATE_VERIFY_FAILED" in cond["message"], cond
    assert status["phase"] in ("Pending", "InProgress")
    assert all(j["phase"] in ("Pending",) for j in status["jobs"])
    ready = next(c for c in status["conditions"] if c["type"] == "Ready")
    assert ready["status"] == "False" and ready["reason"] == "TLSError"
    events = json.loads(cluster.kubectl("get", "events", "-n", namespace, "-o", "json").stdout)
    assert "TLSError" in [e["reason"] for e in events["items"]]
    # Nothing reached the HTTP layer: no request in clear text, no token sent.
    assert len(https_simulator.calls()) == before
    assert TOKEN not in op.log
    task = next(t for t in https_simulator.tasks() if t["id"] == job)
    assert task["status"] == "INCRE_TRANSFER_STARTED" and task["pause_count"] == 0


def test_with_the_ca_bundle_it_pauses(cluster, namespace, https_simulator, start_operator, pki):
    ca, _ = pki
    job = new_job_id()
    https_simulator.seed([{"id": job, "status": "INCRE_TRANSFER_STARTED"}])
    cluster.kubectl("apply", "-f", "-", input=token_secret(namespace))
    start_operator(https_args(https_simulator.url, namespace, "--ca-bundle", str(ca.cert_path)))
    cluster.kubectl("apply", "-f", "-", input=djp(namespace, "tls", [(job, "target")], **SECRET))
    status = wait_for(
        lambda: (s := get_status(cluster, namespace, "tls")).get("phase") == "Paused" and s,
        timeout=40, what="Paused over HTTPS")
    assert status["jobs"][0]["taskStatus"] == "PAUSING"
    calls = [c for c in https_simulator.calls("pause") if job in (c.get("job_ids") or [])]
    assert len(calls) == 1 and calls[0]["auth"]["kind"] == "token"

