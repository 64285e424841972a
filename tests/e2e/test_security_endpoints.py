"""Who may send which credentials where (docs/reference.md, Credentials and Endpoint safety),
with negative tests: an object cannot reach a Secret of another namespace, cannot send the
operator's default credentials to an endpoint of its choice, and the operator's
--allowed-endpoints pattern is applied whole."""

from __future__ import annotations

import json
import re
import time

from .conftest import djp, get_status, new_job_id, operator_args, token_secret, wait_for


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
    cluster, namespace, simulator, start_operator
):
    jobs = {name: new_job_id() for name in ("userinfo", "suffix", "path", "other-port",
                                            "allowed", "own-secret")}
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
    # The operator's own pattern: exactly the simulator on 127.0.0.1, any path-less form.
    start_operator(operator_args(
        url, namespace, "--default-credentials-secret", f"{namespace}/default-creds",
        "--allowed-endpoints", re.escape(url)))
    evil = {
        # userinfo trick: the host is localhost, not 127.0.0.1
        "userinfo": f"http://127.0.0.1:{port}@localhost:{port}",
        "suffix": f"{url}0",  # another port that starts with the allowed one
        "path": f"{url}/evil-prefix",
        "other-port": f"http://127.0.0.1:{int(port) + 1}",
    }
    for name, endpoint in evil.items():
        cluster.kubectl("apply", "-f", "-", input=djp(namespace, name, [(jobs[name], "all")],
                                                      endpoint=endpoint))
    # Accepted: the allowed endpoint with the default Secret, and an endpoint that the
    # object's own Secret admits through its allowed-endpoints annotation.
    cluster.kubectl("apply", "-f", "-", input=djp(namespace, "allowed",
                                                  [(jobs["allowed"], "all")], endpoint=url + "/"))
    cluster.kubectl("apply", "-f", "-", input=djp(
        namespace, "own-secret", [(jobs["own-secret"], "all")],
        endpoint=url.replace("127.0.0.1", "localhost"),
        credentialsSecretRef={"name": "own-creds"}))

    for name, endpoint in evil.items():
        cond = wait_for(stalled(cluster, namespace, name), what=f"{name} EndpointNotAllowed")
        assert cond["reason"] == "EndpointNotAllowed", (name, cond)
        assert endpoint.rstrip("/") in cond["message"]
        assert "drs.cloudops.dev/allowed-endpoints" in cond["message"]
    wait_for(paused(cluster, namespace, "allowed"), what="allowed Paused")
    wait_for(paused(cluster, namespace, "own-secret"), what="own-secret Paused")
    time.sleep(1)
    assert calls_for(simulator, *(jobs[n] for n in evil)) == []
    events = json.loads(cluster.kubectl("get", "events", "-n", namespace, "-o", "json").stdout)
    flagged = {e["involvedObject"]["name"] for e in events["items"]
               if e["reason"] == "EndpointNotAllowed"}
    assert flagged == set(evil)


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
