"""Secret values never leave the operator: not in its log (DEBUG, text and JSON), not in Events,
status, metrics or exception text, and not in the simulator's call log.

Every auth mode runs (token, AK/SK with a security token, IAM username/password with short-lived
tokens that expire mid-run), good and bad credentials, with faults, and with a hostile endpoint
that echoes secrets back in its error messages. Then everything the operator produced is searched
for every secret value, raw and base64-encoded, and for any IAM token the simulator issued.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import re
import secrets
import time
from collections.abc import Iterator

import httpx
import pytest

from drs_pause_operator.app import logs
from drs_pause_operator.dev.devcluster import free_port
from drs_pause_operator.dev.simulator.testing import SimulatorProcess
from drs_pause_operator.drs.redact import redact, register_secret

from .conftest import djp, get_status, new_job_id, operator_args, wait_for

TOKEN = "tok-" + secrets.token_hex(16)
BAD_TOKEN = "badtok-" + secrets.token_hex(16)
AK = "AK" + secrets.token_hex(8).upper()
SK = "sk-" + secrets.token_hex(20)
BAD_SK = "badsk-" + secrets.token_hex(20)
STS = "sts-" + secrets.token_hex(24)
USER, DOMAIN = "svc-pauser", "acme-domain"
PASSWORD = "Pw!" + secrets.token_hex(12) + "#x"
BAD_PASSWORD = "Bad!" + secrets.token_hex(12)
SECRET_VALUES = [TOKEN, BAD_TOKEN, SK, BAD_SK, STS, PASSWORD, BAD_PASSWORD]
ISSUED_TOKEN = re.compile(r"MIIsim[A-Za-z0-9_-]{16,}")  # what the simulator's IAM hands out


def encodings(value: str) -> list[str]:
    return [value, base64.b64encode(value.encode()).decode()]


def leaks(text: str) -> list[str]:
    found = [f"secret #{SECRET_VALUES.index(v)} ({'raw' if i == 0 else 'base64'})"
             for v in SECRET_VALUES for i, enc in enumerate(encodings(v)) if enc in text]
    found += [f"issued IAM token {m[:10]}..." for m in ISSUED_TOKEN.findall(text)]
    return found


def secret(namespace: str, name: str, data: dict[str, str]) -> str:
    return json.dumps({"apiVersion": "v1", "kind": "Secret",
                       "metadata": {"name": name, "namespace": namespace}, "stringData": data})


@pytest.fixture(scope="module")
def auth_simulator() -> Iterator[SimulatorProcess]:
    args = ["--token", TOKEN, "--access-key", AK, "--secret-key", SK,
            "--user", f"{USER}:{PASSWORD}:{DOMAIN}", "--token-ttl", "4", "--seed", "7"]
    with SimulatorProcess(args) as sim:
        yield sim


CREDENTIALS = {
    "token": {"token": TOKEN},
    "aksk": {"accessKey": AK, "secretKey": SK, "securityToken": STS},
    "iam": {"username": USER, "password": PASSWORD, "domainName": DOMAIN},
    "bad-token": {"token": BAD_TOKEN},
    "bad-aksk": {"accessKey": AK, "secretKey": BAD_SK},
    "bad-iam": {"username": USER, "password": BAD_PASSWORD, "domainName": DOMAIN},
}
GOOD = ("token", "aksk", "iam")


def test_no_secret_leaves_the_operator(cluster, auth_simulator, start_operator):
    sim = auth_simulator
    namespaces = {fmt: f"sec-{fmt}-{secrets.token_hex(3)}" for fmt in ("text", "json")}
    jobs: dict[tuple[str, str], list[str]] = {}
    seeds = []
    for ns in namespaces.values():
        cluster.kubectl("create", "namespace", ns)
        for mode, data in CREDENTIALS.items():
            cluster.kubectl("apply", "-f", "-", input=secret(ns, f"creds-{mode}", data))
            ids = [new_job_id() for _ in range(3)]
            jobs[(ns, mode)] = ids
            seeds += [{"id": j, "status": "INCRE_TRANSFER_STARTED"} for j in ids]
    sim.seed(seeds)

    # Faults: transient whole-request failures on every endpoint, including IAM, and a hostile
    # endpoint that echoes secrets in per-job and whole-request error messages.
    echo = f"token {TOKEN} sk {SK} sts {STS} password {PASSWORD} bad {BAD_TOKEN}"
    sim.add_fault(kind="http_error", endpoint="pause", status=503, times=2)
    sim.add_fault(kind="http_error", endpoint="status", status=500, error_code="DRS.M00004",
                  error_msg=echo, times=2)
    sim.add_fault(kind="rate_limit", endpoint="pause", retry_after=1, times=1)
    sim.add_fault(kind="drop", endpoint="token", times=1)
    sim.add_fault(kind="http_error", endpoint="token", status=503, times=1)
    sim.add_fault(kind="malformed", endpoint="status", times=1)
    for ns in namespaces.values():
        for mode in GOOD:
            # (job_error rules also count the requests another fault answered: generous times)
            first = jobs[(ns, mode)][0]
            sim.add_fault(kind="job_error", endpoint="pause", job_id=first,
                          error_code="DRS.M01504", error_msg=echo, times=3)  # busy: retried
            last = jobs[(ns, mode)][-1]
            sim.add_fault(kind="job_error", endpoint="pause", job_id=last,
                          error_code="DRS.M00202", error_msg=echo, times=None)  # terminal

    metrics_ports = {}
    operators = {}
    for fmt, ns in namespaces.items():
        metrics_ports[fmt] = free_port()
        args = operator_args(sim.url, ns, "--log-format", fmt)
        args[args.index("--metrics-port") + 1] = str(metrics_ports[fmt])
        operators[fmt] = start_operator(args)
    for ns in namespaces.values():
        for mode in CREDENTIALS:
            cluster.kubectl("apply", "-f", "-", input=djp(
                ns, mode, [(j, "target") for j in jobs[(ns, mode)]],
                credentialsSecretRef={"name": f"creds-{mode}"}))
    # An IAM token expires mid-run: the operator logs in again.
    time.sleep(2)
    sim.expire_tokens()

    def settled(ns: str, mode: str):
        status = get_status(cluster, ns, mode)
        if mode in GOOD:
            return status if status.get("phase") == "PartiallyPaused" else None
        cond = next((c for c in status.get("conditions", []) if c["type"] == "Stalled"), {})
        return status if cond.get("reason") == "AuthenticationFailed" else None

    for ns in namespaces.values():
        for mode in CREDENTIALS:
            status = wait_for(lambda ns=ns, mode=mode: settled(ns, mode), timeout=90,
                              what=f"{ns}/{mode} settled")
            if mode in GOOD:
                by_id = {j["jobId"]: j for j in status["jobs"]}
                ids = jobs[(ns, mode)]
                assert by_id[ids[0]]["phase"] == "Paused"
                assert by_id[ids[-1]]["phase"] == "Failed"
                assert by_id[ids[-1]]["errorCode"] == "DRS.M00202"
                assert "<redacted>" in by_id[ids[-1]]["errorMessage"]
    sim.clear_faults()

    # Rejected credentials are retried with a backoff, not in a loop (it once was ~7/s).
    rejected = [c for c in sim.calls() if c["status"] in (401, 403)]
    print(f"calls rejected for bad credentials (6 objects): {len(rejected)}")
    assert len(rejected) <= 6 * 12, len(rejected)

    # Every auth mode was really used, good and bad.
    kinds = {(c.get("auth") or {}).get("kind") for c in sim.calls()}
    assert {"token", "aksk", "iam-token", "password", "rejected"} <= kinds, kinds
    assert any(c["endpoint"] == "token" and c["status"] == 201 for c in sim.calls())
    assert sum(c["endpoint"] == "token" and c["status"] == 201 for c in sim.calls()) >= 2

    haystacks: dict[str, str] = {}
    for fmt, ns in namespaces.items():
        haystacks[f"operator log ({fmt})"] = operators[fmt].log
        haystacks[f"events ({fmt})"] = cluster.kubectl(
            "get", "events", "-n", ns, "-o", "json").stdout
        haystacks[f"objects ({fmt})"] = cluster.kubectl("get", "djp", "-n", ns, "-o",
                                                        "json").stdout
        metrics = httpx.get(f"http://127.0.0.1:{metrics_ports[fmt]}/metrics", timeout=10)
        assert metrics.status_code == 200 and "drs_pause_requests_total" in metrics.text
        haystacks[f"metrics ({fmt})"] = metrics.text
    # What the simulator recorded of the requests (not its own answers: those carry the secrets
    # the hostile fault rules above put into error messages).
    haystacks["simulator call log"] = json.dumps(
        [{k: v for k, v in call.items() if k != "results"} for call in sim.calls()])
    haystacks["simulator tokens"] = json.dumps(sim.admin("GET", "/admin/tokens"))
    haystacks["simulator stats"] = json.dumps(sim.admin("GET", "/admin/stats"))

    # The searches find something when it is there (the echoing endpoint sent secrets back).
    assert leaks(echo) and leaks(base64.b64encode(TOKEN.encode()).decode())
    assert "DEBUG" in haystacks["operator log (text)"]
    assert '"level": "DEBUG"' in haystacks["operator log (json)"]
    found = {where: leaks(text) for where, text in haystacks.items()}
    assert not any(found.values()), {k: v for k, v in found.items() if v}

    for ns in namespaces.values():
        for mode in ("bad-token", "bad-aksk", "bad-iam"):
            stalled = next(c for c in get_status(cluster, ns, mode)["conditions"]
                           if c["type"] == "Stalled")
            assert "DRS rejected the credentials" in stalled["message"] or \
                "IAM" in stalled["message"], stalled


def test_json_log_exception_text_is_redacted() -> None:
    """The JSON formatter must not re-render an exception the redacting filter cleaned."""
    value = "leaky-" + secrets.token_hex(12)
    register_secret(value)
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        for fmt in ("text", "json"):
            logs.configure(fmt, "DEBUG")
            buffer = io.StringIO()
            root.handlers[0].stream = buffer  # type: ignore[attr-defined]
            try:
                raise RuntimeError(f"request failed with {value}")
            except RuntimeError:
                logging.getLogger("drs_pause_operator.test").exception("failed: %s", value)
            text = buffer.getvalue()
            assert "RuntimeError: request failed with <redacted>" in text.replace("\\n", "\n")
            assert value not in text, fmt
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)


def test_header_pairs_as_httpcore_logs_them_are_redacted() -> None:
    """httpcore logs response headers at DEBUG as byte pairs, the IAM token among them."""
    line = ("receive_response_headers.complete return_value=(b'HTTP/1.1', 201, b'Created', "
            "[(b'X-Subject-Token', b'MIIsimSecretTokenValue123'), (b'Content-Type', "
            "b'application/json'), (b'x-auth-token', b'another-secret-value')])")
    clean = redact(line)
    assert "MIIsimSecretTokenValue123" not in clean and "another-secret-value" not in clean
    assert "(b'X-Subject-Token', b'<redacted>')" in clean
    assert "(b'Content-Type', b'application/json')" in clean
