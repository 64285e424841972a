"""Who may send which credentials where (docs/reference.md, Credentials and Endpoint safety),
with negative tests: an object cannot reach a Secret of another namespace, cannot send the
operator's default credentials to an endpoint of its choice, and the operator's
--allowed-endpoints pattern is applied whole."""

from __future__ import annotations

import json
import random
import re
import socket
import threading
import time

from drs_pause_operator.dev.simulator.testing import SimulatorProcess

from .conftest import TOKEN, djp, get_status, new_job_id, operator_args, token_secret, wait_for


def stalled(cluster, namespace: str, name: str):
    def check():
        status = get_status(cluster, namespace, name)
        cond = next((c for c in status.get("conditions", []) if c["type"] == "Stalled"), {})
        return cond if cond.get("status") == "True" else None

    return check


def paused(cluster, namespace: str, name: str):
    def check():
        status = get_status(cluster, namespace, name)
        return status if status.get("phase") == "Paused" else None

    return check


class ConnectionRecorder:
    """A plain TCP listener on 127.0.0.1 that counts the connections it accepts (and closes
    them): a port nothing may be sent to, where a send would otherwise go unseen."""

    def __init__(self, port: int = 0) -> None:
        self.server = socket.create_server(("127.0.0.1", port))
        self.server.settimeout(0.2)
        self.port = self.server.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.server.close()


def port_with_its_suffix() -> tuple[int, ConnectionRecorder]:
    """A free port P whose decimal extension P0 is a port too, with a recorder on P0: the
    endpoint "http://127.0.0.1:P" + "0" then reaches a listener (on an ephemeral port P, P0 is
    past 65535 and nothing could be sent there)."""
    for port in random.sample(range(1024, 6554), 200):
        try:
            recorder = ConnectionRecorder(port * 10)
        except OSError:
            continue
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                recorder.close()
                continue
        return port, recorder
    raise AssertionError("no free port P with P0 free as well")


def calls_for(simulator, *job_ids: str) -> list[dict]:
    wanted = set(job_ids)
    return [c for c in simulator.calls() if wanted & set(c.get("job_ids") or [])]


def test_secret_of_another_namespace_cannot_be_used(cluster, namespace, simulator,
                                                    start_operator):
    job = new_job_id()
    simulator.seed([{"id": job, "status": "INCRE_TRANSFER_STARTED"}])
    other = f"{namespace}-other"
    cluster.kubectl("create", "namespace", other)
    cluster.kubectl("apply", "-f", "-", input=token_secret(other, "shared-creds"))

    # The CRD has no field to name another namespace, and a name cannot smuggle one in.
    for ref in ({"name": "shared-creds", "namespace": other}, {"name": f"{other}/shared-creds"},
                {"name": "../shared-creds"}):
        result = cluster.kubectl("apply", "-f", "-", check=False, input=djp(
            namespace, "cross", [(job, "all")], credentialsSecretRef=ref))
        assert result.returncode != 0, ref
        assert "credentialsSecretRef" in result.stderr, result.stderr

    # The same name in the object's own namespace is looked up there, and only there.
    op = start_operator(operator_args(simulator.url, namespace))
    cluster.kubectl("apply", "-f", "-", input=djp(
        namespace, "cross", [(job, "all")], credentialsSecretRef={"name": "shared-creds"}))
    cond = wait_for(stalled(cluster, namespace, "cross"), what="CredentialsNotFound")
    assert cond["reason"] == "CredentialsNotFound"
    assert f"{namespace}/shared-creds" in cond["message"]
    time.sleep(1)
    assert calls_for(simulator, job) == []
    assert f"{other}/shared-creds" not in op.log


def test_default_credentials_never_go_to_an_endpoint_outside_the_pattern(
    cluster, namespace, start_operator
):
    """Counted as every connection anywhere the evil endpoints lead: every call the simulator
    logs (also 404s that carry no job id), and connections to the other ports named."""
    jobs = {name: new_job_id() for name in ("userinfo", "suffix", "path", "other-port",
                                            "allowed", "own-secret")}
    port, suffix_port = port_with_its_suffix()
    other_port = ConnectionRecorder()
    try:
        with SimulatorProcess(["--token", TOKEN, "--port", str(port)]) as simulator:
            _endpoints_outside_the_pattern(cluster, namespace, start_operator, simulator, jobs,
                                           suffix_port, other_port)
    finally:
        suffix_port.close()
        other_port.close()


def _endpoints_outside_the_pattern(cluster, namespace, start_operator, simulator, jobs,
                                   suffix_port: ConnectionRecorder,
                                   other_port: ConnectionRecorder) -> None:
    simulator.seed([{"id": j, "status": "INCRE_TRANSFER_STARTED"} for j in jobs.values()])
    cluster.kubectl("apply", "-f", "-", input=token_secret(namespace, "default-creds"))
    own = json.loads(token_secret(namespace, "own-creds"))
    own["metadata"]["annotations"] = {
        "drs.cloudops.dev/allowed-endpoints": re.escape(
            simulator.url.replace("127.0.0.1", "localhost")
        )
    }
    cluster.kubectl("apply", "-f", "-", input=json.dumps(own))
    url = simulator.url  # http://127.0.0.1:PORT
    port = url.rsplit(":", 1)[1]
    assert f"127.0.0.1:{suffix_port.port}" == f"{url}0".rsplit("/", 1)[1]
    # The operator's own pattern: exactly the simulator on 127.0.0.1, any path-less form.
    start_operator(operator_args(
        url, namespace, "--default-credentials-secret", f"{namespace}/default-creds",
        "--allowed-endpoints", re.escape(url)))
    evil = {
        # userinfo trick: the host is localhost, not 127.0.0.1
        "userinfo": f"http://127.0.0.1:{port}@localhost:{port}",
        "suffix": f"{url}0",  # another port that starts with the allowed one
        "path": f"{url}/evil-prefix",
        "other-port": f"http://127.0.0.1:{other_port.port}",
    }
    before = len(simulator.calls())
    for name, endpoint in evil.items():
        cluster.kubectl("apply", "-f", "-", input=djp(namespace, name, [(jobs[name], "all")],
                                                      endpoint=endpoint))
    for name, endpoint in evil.items():
        cond = wait_for(stalled(cluster, namespace, name), what=f"{name} EndpointNotAllowed")
        assert cond["reason"] == "EndpointNotAllowed", (name, cond)
        assert endpoint.rstrip("/") in cond["message"]
        assert "drs.cloudops.dev/allowed-endpoints" in cond["message"]
    time.sleep(2)  # a refused object is re-checked within this time: still nothing sent
    assert len(simulator.calls()) == before, simulator.calls()[before:]
    assert (suffix_port.connections, other_port.connections) == (0, 0)
    events = json.loads(cluster.kubectl("get", "events", "-n", namespace, "-o", "json").stdout)
    flagged = {e["involvedObject"]["name"] for e in events["items"]
               if e["reason"] == "EndpointNotAllowed"}
    assert flagged == set(evil)

    # Accepted: the allowed endpoint with the default Secret, and an endpoint that the
    # object's own Secret admits through its allowed-endpoints annotation.
    cluster.kubectl("apply", "-f", "-", input=djp(namespace, "allowed",
                                                  [(jobs["allowed"], "all")], endpoint=url + "/"))
    cluster.kubectl("apply", "-f", "-", input=djp(
        namespace, "own-secret", [(jobs["own-secret"], "all")],
        endpoint=url.replace("127.0.0.1", "localhost"),
        credentialsSecretRef={"name": "own-creds"}))
    wait_for(paused(cluster, namespace, "allowed"), what="allowed Paused")
    wait_for(paused(cluster, namespace, "own-secret"), what="own-secret Paused")
    assert calls_for(simulator, *(jobs[n] for n in evil)) == []
    assert (suffix_port.connections, other_port.connections) == (0, 0)


def test_custom_allowed_endpoints_pattern(cluster, namespace, simulator, start_operator):
    """--allowed-endpoints REGEX: a host-name pattern admits localhost, refuses 127.0.0.1."""
    ok, refused = new_job_id(), new_job_id()
    simulator.seed([{"id": j, "status": "INCRE_TRANSFER_STARTED"} for j in (ok, refused)])
    cluster.kubectl("apply", "-f", "-", input=token_secret(namespace, "default-creds"))
    port = simulator.url.rsplit(":", 1)[1]
    start_operator(operator_args(
        simulator.url, namespace, "--default-credentials-secret", f"{namespace}/default-creds",
        "--allowed-endpoints", r"http://localhost:\d+"))
    cluster.kubectl("apply", "-f", "-", input=djp(namespace, "ok", [(ok, "target")],
                                                  endpoint=f"http://localhost:{port}"))
    cluster.kubectl("apply", "-f", "-", input=djp(namespace, "refused", [(refused, "target")],
                                                  endpoint=f"http://127.0.0.1:{port}"))
    wait_for(paused(cluster, namespace, "ok"), what="localhost Paused")
    cond = wait_for(stalled(cluster, namespace, "refused"), what="127.0.0.1 refused")
    assert cond["reason"] == "EndpointNotAllowed"
    assert calls_for(simulator, refused) == []


def test_invalid_allowed_endpoints_pattern_stops_the_operator(cluster, namespace, simulator,
                                                              start_operator):
    op = start_operator(operator_args(simulator.url, namespace, "--allowed-endpoints", "(["))
    assert op.proc.wait(30) == 2
    assert "--allowed-endpoints" in op.log and "regular expression" in op.log


def test_http_endpoint_without_allow_insecure_http_is_refused(cluster, namespace, simulator,
                                                              start_operator):
    """The operator itself runs with https templates and no --allow-insecure-http: an object
    naming an http:// endpoint (with its own Secret, so the allowlist does not apply), or a
    Secret naming an http:// IAM endpoint, sends nothing."""
    job, iam_job = new_job_id(), new_job_id()
    simulator.seed([{"id": j, "status": "INCRE_TRANSFER_STARTED"} for j in (job, iam_job)])
    logins = len(simulator.calls("token"))
    cluster.kubectl("apply", "-f", "-", input=token_secret(namespace))
    cluster.kubectl("apply", "-f", "-", input=json.dumps({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "iam-creds", "namespace": namespace},
        "stringData": {"username": "u", "password": "p4ssw0rd-x", "domainName": "d",
                       "iamEndpoint": simulator.url}}))
    https = simulator.url.replace("http://", "https://")
    start_operator(["--namespace", namespace, "--endpoint-template", https,
                    "--iam-endpoint-template", https, "--metrics-port", "0"])
    cluster.kubectl("apply", "-f", "-", input=djp(
        namespace, "plain", [(job, "all")], endpoint=simulator.url,
        credentialsSecretRef={"name": "drs-credentials"}))
    cluster.kubectl("apply", "-f", "-", input=djp(
        namespace, "plain-iam", [(iam_job, "all")], credentialsSecretRef={"name": "iam-creds"}))
    cond = wait_for(stalled(cluster, namespace, "plain"), what="InsecureEndpoint")
    assert cond["reason"] == "InsecureEndpoint" and simulator.url in cond["message"]
    cond = wait_for(stalled(cluster, namespace, "plain-iam"), what="InsecureEndpoint (IAM)")
    assert cond["reason"] == "InsecureEndpoint" and "iamEndpoint" in cond["message"]
    time.sleep(1)
    assert calls_for(simulator, job, iam_job) == []
    assert len(simulator.calls("token")) == logins  # no IAM login either


def test_a_secret_one_cannot_read_is_never_sent_to_ones_own_host(
    cluster, namespace, simulator, start_operator
):
    """The confused deputy: someone who may create DrsJobPause objects but not read Secrets
    names a Secret of their namespace and a host of their own. Nothing is sent and the object
    says why; the same Secret annotated by whoever manages it admits a private endpoint; a
    namespace user's annotation on their own Secret never widens the default Secret."""
    victim_job, widened_job, default_job = new_job_id(), new_job_id(), new_job_id()
    simulator.seed([{"id": j, "status": "INCRE_TRANSFER_STARTED"}
                    for j in (victim_job, widened_job, default_job)])
    url = simulator.url
    attacker = url.replace("127.0.0.1", "localhost")  # "their own host": not allowed
    cluster.kubectl("apply", "-f", "-", input=token_secret(namespace, "default-creds"))
    cluster.kubectl("apply", "-f", "-", input=token_secret(namespace, "team-creds"))
    widened = json.loads(token_secret(namespace, "private-creds"))
    widened["metadata"]["annotations"] = {"drs.cloudops.dev/allowed-endpoints":
                                          re.escape(attacker)}
    cluster.kubectl("apply", "-f", "-", input=json.dumps(widened))
    start_operator(operator_args(
        url, namespace, "--default-credentials-secret", f"{namespace}/default-creds",
        "--allowed-endpoints", re.escape(url)))
    cluster.kubectl("apply", "-f", "-", input=djp(
        namespace, "attack", [(victim_job, "all")], endpoint=attacker,
        credentialsSecretRef={"name": "team-creds"}))
    cluster.kubectl("apply", "-f", "-", input=djp(
        namespace, "private", [(widened_job, "all")], endpoint=attacker,
        credentialsSecretRef={"name": "private-creds"}))
    # No credentialsSecretRef: the default Secret, whose own annotation (none) decides.
    cluster.kubectl("apply", "-f", "-", input=djp(
        namespace, "via-default", [(default_job, "all")], endpoint=attacker))

    cond = wait_for(stalled(cluster, namespace, "attack"), what="attack refused")
    assert cond["reason"] == "EndpointNotAllowed"
    assert f"{namespace}/team-creds" in cond["message"]
    assert "drs.cloudops.dev/allowed-endpoints" in cond["message"]
    cond = wait_for(stalled(cluster, namespace, "via-default"), what="default Secret refused")
    assert cond["reason"] == "EndpointNotAllowed"
    assert f"{namespace}/default-creds" in cond["message"]
    wait_for(paused(cluster, namespace, "private"), what="annotated Secret Paused")
    time.sleep(2)  # a refused object is re-checked within this time: still nothing sent
    assert calls_for(simulator, victim_job, default_job) == []
    assert len(calls_for(simulator, widened_job)) >= 1
