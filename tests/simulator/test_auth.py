"""Authentication: static tokens, AK/SK signatures, IAM password logins and their tokens."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from drs_pause_operator.dev.simulator.testing import RunningSimulator, running_simulator
from drs_pause_operator.drs.signing import format_sdk_date, sign_request

from .helpers import DEFAULT_TASKS, JOB_A, OTHER_PROJECT, PROJECT, TIMEOUT, TOKEN, pause_body

AK, SK = "AKTESTKEY000001", "sk-very-secret-value-1234"
USER, PASSWORD, DOMAIN = "alice", "pa:ss:word", "acme"
PAUSE = f"/v3/{PROJECT}/jobs/batch-pause-task"


@pytest.fixture
async def sim() -> AsyncIterator[RunningSimulator]:
    async with running_simulator(
        tasks=DEFAULT_TASKS,
        tokens=[TOKEN],
        access_keys={AK: SK},
        users=[f"{USER}:{PASSWORD}:{DOMAIN}"],
        projects={"eu-de": PROJECT},
        token_ttl_seconds=3600,
    ) as running:
        yield running


def signed(
    url: str, body: bytes, *, ak: str = AK, sk: str = SK, project: str = PROJECT, **extra: str
) -> dict[str, str]:
    headers = {"Content-Type": "application/json", "X-Project-Id": project, **extra}
    date = format_sdk_date(datetime.now(UTC))
    return {**headers, **sign_request("POST", url, headers, body, ak, sk, date)}


def login_body(
    user: str = USER, password: str = PASSWORD, domain: str = DOMAIN, **project: str
) -> dict[str, Any]:
    return {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {
                    "user": {"name": user, "password": password, "domain": {"name": domain}}
                },
            },
            "scope": {"project": project or {"id": PROJECT}},
        }
    }


async def login(client: httpx.AsyncClient, **kwargs: Any) -> httpx.Response:
    return await client.post("/v3/auth/tokens", json=login_body(**kwargs))


async def test_static_token(client: httpx.AsyncClient) -> None:
    response = await client.post(PAUSE, json=pause_body(JOB_A), headers={"X-Auth-Token": TOKEN})
    assert response.status_code == 200


async def test_missing_credentials(client: httpx.AsyncClient) -> None:
    response = await client.post(PAUSE, json=pause_body(JOB_A))
    assert response.status_code == 401
    assert response.json()["error_code"] == "APIGW.0301"


async def test_unknown_token(client: httpx.AsyncClient, sim: RunningSimulator) -> None:
    response = await client.post(PAUSE, json=pause_body(JOB_A), headers={"X-Auth-Token": "wrong"})
    assert response.status_code == 403
    assert response.json() == {"error_code": "DRS.M00100", "error_msg": "Invalid token."}
    assert sim.task(JOB_A).pause_count == 0


async def test_aksk_signature(client: httpx.AsyncClient, sim: RunningSimulator) -> None:
    body = json.dumps(pause_body(JOB_A)).encode()
    url = f"{sim.url}{PAUSE}"
    response = await client.post(PAUSE, content=body, headers=signed(url, body))
    assert response.status_code == 200, response.text
    assert sim.calls()[-1]["auth"] == {"kind": "aksk", "id": AK}


async def test_aksk_with_security_token(client: httpx.AsyncClient, sim: RunningSimulator) -> None:
    body = json.dumps(pause_body(JOB_A)).encode()
    headers = signed(f"{sim.url}{PAUSE}", body, **{"X-Security-Token": "temporary-credentials"})
    assert (await client.post(PAUSE, content=body, headers=headers)).status_code == 200


@pytest.mark.parametrize(
    "tamper",
    ["wrong-secret", "unknown-ak", "body", "project-header", "old-date", "garbage"],
)
async def test_bad_aksk_signatures(
    client: httpx.AsyncClient, sim: RunningSimulator, tamper: str
) -> None:
    body = json.dumps(pause_body(JOB_A)).encode()
    url = f"{sim.url}{PAUSE}"
    headers = signed(url, body)
    if tamper == "wrong-secret":
        headers = signed(url, body, sk="not-the-secret")
    elif tamper == "unknown-ak":
        headers = signed(url, body, ak="AKUNKNOWN")
    elif tamper == "body":
        body = json.dumps(pause_body(JOB_A, mode="all")).encode()
    elif tamper == "project-header":
        headers["X-Project-Id"] = OTHER_PROJECT
    elif tamper == "old-date":
        old = {"Content-Type": "application/json", "X-Project-Id": PROJECT}
        date = format_sdk_date(datetime.now(UTC) - timedelta(hours=1))
        headers = {**old, **sign_request("POST", url, old, body, AK, SK, date)}
    else:
        headers["Authorization"] = "SDK-HMAC-SHA256 nonsense"
    response = await client.post(PAUSE, content=body, headers=headers)
    assert response.status_code == 401
    assert response.json() == {
        "error_code": "APIGW.0301",
        "error_msg": "Incorrect IAM authentication information: verify aksk signature fail",
    }
    assert sim.task(JOB_A).pause_count == 0
    assert sim.calls()[-1]["auth"]["kind"] == "rejected"


async def test_aksk_project_must_match_path(
    client: httpx.AsyncClient, sim: RunningSimulator
) -> None:
    path = f"/v3/{OTHER_PROJECT}/jobs/batch-pause-task"
    body = json.dumps(pause_body(JOB_A)).encode()
    response = await client.post(path, content=body, headers=signed(sim.url + path, body))
    assert response.status_code == 403
    assert response.json()["error_code"] == "DRS.M00261"


async def test_iam_login_and_use(client: httpx.AsyncClient, sim: RunningSimulator) -> None:
    response = await login(client)
    assert response.status_code == 201
    token = response.headers["X-Subject-Token"]
    body = response.json()["token"]
    assert body["project"]["id"] == PROJECT
    assert body["project"]["name"] == "eu-de"
    assert body["user"]["name"] == USER
    issued = datetime.strptime(body["issued_at"], "%Y-%m-%dT%H:%M:%S.%fZ")
    expires = datetime.strptime(body["expires_at"], "%Y-%m-%dT%H:%M:%S.%fZ")
    assert expires - issued == timedelta(hours=1)
    pause = await client.post(PAUSE, json=pause_body(JOB_A), headers={"X-Auth-Token": token})
    assert pause.status_code == 200
    assert sim.calls()[-1]["auth"]["kind"] == "iam-token"


async def test_iam_login_by_project_name(client: httpx.AsyncClient) -> None:
    response = await login(client, name="eu-de")
    assert response.status_code == 201
    assert response.json()["token"]["project"] == {
        "id": PROJECT,
        "name": "eu-de",
        "domain": response.json()["token"]["project"]["domain"],
    }
    unmapped = await login(client, name="eu-nl")
    assert len(unmapped.json()["token"]["project"]["id"]) == 32


@pytest.mark.parametrize(
    "kwargs",
    [{"password": "wrong"}, {"user": "bob"}, {"domain": "other"}],
)
async def test_iam_wrong_credentials(client: httpx.AsyncClient, kwargs: dict[str, str]) -> None:
    response = await login(client, **kwargs)
    assert response.status_code == 401
    assert response.json() == {
        "error": {
            "code": 401,
            "message": "The username or password is wrong.",
            "title": "Unauthorized",
        }
    }
    assert "X-Subject-Token" not in response.headers


@pytest.mark.parametrize(
    "body",
    [
        b"garbage",
        b"[]",
        b'{"auth": {}}',
        b'{"auth": {"identity": {"methods": ["token"]}}}',
        json.dumps({"auth": {**login_body()["auth"], "scope": {"domain": {"name": "x"}}}}).encode(),
        json.dumps(
            {"auth": {**login_body()["auth"], "scope": {"project": {"id": "a/b"}}}}
        ).encode(),
    ],
)
async def test_iam_bad_requests(client: httpx.AsyncClient, body: bytes) -> None:
    response = await client.post(
        "/v3/auth/tokens", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == 400


async def test_iam_token_of_another_project(client: httpx.AsyncClient) -> None:
    token = (await login(client, id=OTHER_PROJECT)).headers["X-Subject-Token"]
    response = await client.post(PAUSE, json=pause_body(JOB_A), headers={"X-Auth-Token": token})
    assert response.status_code == 403
    assert response.json() == {"error_code": "DRS.M00261", "error_msg": "Invalid project ID."}


async def test_expired_iam_token(client: httpx.AsyncClient, sim: RunningSimulator) -> None:
    sim.configure(token_ttl_seconds=0.2)
    token = (await login(client)).headers["X-Subject-Token"]
    headers = {"X-Auth-Token": token}
    assert (await client.post(PAUSE, json=pause_body(JOB_A), headers=headers)).status_code == 200
    await asyncio.sleep(0.3)
    response = await client.post(PAUSE, json=pause_body(JOB_A), headers=headers)
    assert response.status_code == 401
    assert response.json() == {
        "error_code": "APIGW.0307",
        "error_msg": "The token must be updated.",
    }
    # A fresh login gives a working token again.
    fresh = (await login(client)).headers["X-Subject-Token"]
    assert fresh != token
    ok = await client.post(PAUSE, json=pause_body(JOB_A), headers={"X-Auth-Token": fresh})
    assert ok.status_code == 200


async def test_admin_expires_issued_tokens(client: httpx.AsyncClient) -> None:
    token = (await login(client)).headers["X-Subject-Token"]
    assert (await client.post("/admin/tokens/expire")).json() == {"expired": 1}
    response = await client.post(PAUSE, json=pause_body(JOB_A), headers={"X-Auth-Token": token})
    assert response.json()["error_code"] == "APIGW.0307"
    listed = (await client.get("/admin/tokens")).json()["tokens"]
    assert listed[0]["expired"] is True
    assert token not in json.dumps(listed)


async def test_open_mode_accepts_anything() -> None:
    async with (
        running_simulator(tasks=DEFAULT_TASKS) as sim,
        httpx.AsyncClient(base_url=sim.url, timeout=TIMEOUT) as client,
    ):
        any_token = await client.post(PAUSE, json=pause_body(JOB_A), headers={"X-Auth-Token": "x"})
        assert any_token.status_code == 200
        body = json.dumps(pause_body(JOB_A)).encode()
        any_sig = await client.post(
            PAUSE, content=body, headers=signed(sim.url + PAUSE, body, sk="whatever")
        )
        assert any_sig.status_code == 200
        assert (await login(client, password="anything")).status_code == 201
        # Still: no credentials at all is refused, and issued tokens still expire.
        assert (await client.post(PAUSE, json=pause_body(JOB_A))).status_code == 401
        token = (await login(client)).headers["X-Subject-Token"]
        sim.expire_tokens()
        expired = await client.post(PAUSE, json=pause_body(JOB_A), headers={"X-Auth-Token": token})
        assert expired.status_code == 401
        assert [c["auth"]["kind"] for c in sim.calls("pause")[:2]] == ["open-token", "open-aksk"]
