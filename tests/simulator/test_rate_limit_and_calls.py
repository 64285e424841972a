"""The token-bucket rate limit and the call log (which must never hold a secret)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import httpx

from drs_pause_operator.dev.simulator.testing import RunningSimulator, running_simulator
from drs_pause_operator.drs.signing import format_sdk_date, sign_request

from .helpers import DEFAULT_TASKS, JOB_A, JOB_B, PROJECT, TIMEOUT, TOKEN, Drs, pause_body


async def test_rate_limit(drs: Drs, sim: RunningSimulator) -> None:
    sim.configure(rate_limit_per_second=2)
    statuses = [(await drs.status(JOB_A)) for _ in range(5)]
    codes = [r.status_code for r in statuses]
    # A burst of 2, then throttled (the bucket refills 2 per second: allow one refill on a slow
    # machine).
    assert codes[:3] == [200, 200, 429]
    assert codes.count(429) >= 2
    throttled = statuses[2]
    assert int(throttled.headers["Retry-After"]) >= 1
    assert throttled.json()["error_code"] == "APIGW.0308"
    assert throttled.json()["error_msg"].startswith("The throttling threshold has been reached")
    stats = (await drs.client.get("/admin/stats")).json()
    assert stats["throttled"] == codes.count(429)
    assert stats["by_status"] == {"200": codes.count(200), "429": codes.count(429)}
    await asyncio.sleep(0.6)
    assert (await drs.status(JOB_A)).status_code == 200
    # A throttled pause changes nothing.
    sim.configure(rate_limit_per_second=None)
    assert (await drs.pause(JOB_A)).status_code == 200


async def test_call_log_entries(drs: Drs, sim: RunningSimulator) -> None:
    await drs.pause(JOB_A, JOB_B, mode="all")
    await drs.status(JOB_A)
    sim.add_fault(kind="http_error", endpoint="pause", status=503)
    await drs.pause(JOB_A)
    calls = sim.calls()
    assert [c["seq"] for c in calls] == [1, 2, 3]
    first = calls[0]
    assert first["endpoint"] == "pause"
    assert first["method"] == "POST"
    assert first["path"] == f"/v3/{PROJECT}/jobs/batch-pause-task"
    assert first["project_id"] == PROJECT
    assert first["auth"]["kind"] == "token"
    assert first["status"] == 200
    assert len(first["request_id"]) == 32
    assert first["job_ids"] == [JOB_A, JOB_B]
    assert first["results"] == [
        {"id": JOB_A, "status": "success"},
        {"id": JOB_B, "status": "success"},
    ]
    assert first["fault"] is None
    assert calls[1]["endpoint"] == "status"
    assert calls[2]["fault"] == ["http_error"]
    assert calls[2]["status"] == 503


async def test_call_log_over_http(drs: Drs, sim: RunningSimulator) -> None:
    response = await drs.pause(JOB_A)
    await drs.status(JOB_A)
    calls = (await drs.client.get("/admin/calls")).json()["calls"]
    assert calls[0]["request_id"] == response.headers["X-Request-Id"]
    only_status = (await drs.client.get("/admin/calls?endpoint=status")).json()["calls"]
    assert [c["endpoint"] for c in only_status] == ["status"]
    since = (await drs.client.get("/admin/calls?since=1")).json()["calls"]
    assert [c["seq"] for c in since] == [2]
    assert (await drs.client.get("/admin/calls?since=x")).status_code == 400
    await drs.client.delete("/admin/calls")
    assert (await drs.client.get("/admin/calls")).json()["calls"] == []
    assert sim.calls() == []


async def test_call_log_and_admin_hold_no_secret() -> None:
    secret, password, ak = "sk-never-log-me-987654321", "p4ssw0rd-never-logged", "AKVISIBLE"
    async with (
        running_simulator(
            tasks=DEFAULT_TASKS,
            tokens=[TOKEN],
            access_keys={ak: secret},
            users=[f"bob:{password}:dom"],
        ) as sim,
        httpx.AsyncClient(base_url=sim.url, timeout=TIMEOUT) as client,
    ):
        path = f"/v3/{PROJECT}/jobs/batch-pause-task"
        body = json.dumps(pause_body(JOB_A)).encode()
        headers = {"Content-Type": "application/json"}
        signature = sign_request(
            "POST", sim.url + path, headers, body, ak, secret, format_sdk_date(datetime.now(UTC))
        )
        await client.post(path, content=body, headers={**headers, **signature})
        bad = {**headers, **signature, "Authorization": signature["Authorization"][:-4] + "0000"}
        await client.post(path, content=body, headers=bad)
        await client.post(path, json=pause_body(JOB_A), headers={"X-Auth-Token": TOKEN})
        await client.post(path, json=pause_body(JOB_A), headers={"X-Auth-Token": "wrong-token-xyz"})
        login = {
            "auth": {
                "identity": {
                    "methods": ["password"],
                    "password": {
                        "user": {"name": "bob", "password": password, "domain": {"name": "dom"}}
                    },
                },
                "scope": {"project": {"id": PROJECT}},
            }
        }
        issued = (await client.post("/v3/auth/tokens", json=login)).headers["X-Subject-Token"]
        await client.post(path, json=pause_body(JOB_A), headers={"X-Auth-Token": issued})
        dumped = json.dumps(sim.calls()) + (await client.get("/admin/calls")).text
        dumped += (await client.get("/admin/tokens")).text + (
            await client.get("/admin/config")
        ).text
        for leaked in (
            secret,
            password,
            TOKEN,
            issued,
            "wrong-token-xyz",
            signature["Authorization"],
        ):
            assert leaked not in dumped
        kinds = [c["auth"]["kind"] for c in sim.calls()]
        assert kinds == ["aksk", "rejected", "token", "rejected", "password", "iam-token"]
        assert sim.calls()[0]["auth"]["id"] == ak
