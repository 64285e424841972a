"""Fault injection: each kind, matching, times and probability."""

from __future__ import annotations

import time

import httpx
import pytest

from drs_pause_operator.dev.simulator.testing import RunningSimulator

from .helpers import JOB_A, JOB_B, Drs


async def test_latency_fault_and_base_latency(drs: Drs, sim: RunningSimulator) -> None:
    sim.add_fault(kind="latency", endpoint="pause", latency_ms=300)
    started = time.monotonic()
    assert (await drs.pause(JOB_A)).status_code == 200
    assert time.monotonic() - started >= 0.3
    started = time.monotonic()
    await drs.status(JOB_A)  # the rule fired once and is spent
    assert time.monotonic() - started < 0.3
    sim.configure(latency_ms=200)
    started = time.monotonic()
    await drs.status(JOB_A)
    assert time.monotonic() - started >= 0.2


@pytest.mark.parametrize(
    ("rule", "status", "body"),
    [
        (
            {"status": 500, "error_code": "DRS.M00004"},
            500,
            {"error_code": "DRS.M00004", "error_msg": "Service is abnormal. Check logs."},
        ),
        ({"status": 503}, 503, None),
        (
            {"status": 400, "error_code": "DRS.M01503"},
            400,
            {"error_code": "DRS.M01503", "error_msg": "Operation too frequent. Try again later."},
        ),
        ({"status": 502, "body": {"anything": [1]}}, 502, {"anything": [1]}),
    ],
)
async def test_http_error(
    drs: Drs, sim: RunningSimulator, rule: dict, status: int, body: dict | None
) -> None:
    sim.add_fault(kind="http_error", endpoint="pause", **rule)
    response = await drs.pause(JOB_A)
    assert response.status_code == status
    assert (response.json() if response.content else None) == body
    assert "X-Request-Id" in response.headers
    assert sim.task(JOB_A).pause_count == 0
    assert (await drs.pause(JOB_A)).status_code == 200  # times defaults to 1


async def test_http_error_after_processing(drs: Drs, sim: RunningSimulator) -> None:
    sim.add_fault(kind="http_error", endpoint="pause", status=500, after_processing=True)
    assert (await drs.pause(JOB_A)).status_code == 500
    assert sim.task(JOB_A).status == "PAUSING"


@pytest.mark.parametrize("retry_after", [7, "Wed, 21 Oct 2026 07:28:00 GMT"])
async def test_rate_limit_fault(drs: Drs, sim: RunningSimulator, retry_after: int | str) -> None:
    sim.add_fault(kind="rate_limit", endpoint="*", retry_after=retry_after, times=2)
    for _ in range(2):
        response = await drs.status(JOB_A)
        assert response.status_code == 429
        assert response.headers["Retry-After"] == str(retry_after)
        assert response.json()["error_code"] == "APIGW.0308"
    assert (await drs.status(JOB_A)).status_code == 200


async def test_drop(drs: Drs, sim: RunningSimulator) -> None:
    sim.add_fault(kind="drop", endpoint="pause")
    with pytest.raises(httpx.RemoteProtocolError):
        await drs.pause(JOB_A)
    assert sim.task(JOB_A).status == "INCRE_TRANSFER_STARTED"
    assert sim.calls("pause")[-1]["status"] is None
    assert sim.calls("pause")[-1]["fault"] == ["drop"]


async def test_drop_after_processing_is_a_lost_response(drs: Drs, sim: RunningSimulator) -> None:
    sim.add_fault(kind="drop", endpoint="pause", after_processing=True)
    with pytest.raises(httpx.RemoteProtocolError):
        await drs.pause(JOB_A)
    assert sim.task(JOB_A).status == "PAUSING"
    # The retry of the lost request meets a task that is already paused.
    retry = await drs.pause(JOB_A)
    assert retry.json()["results"][0]["error_code"] == "DRS.M00304"


async def test_malformed(drs: Drs, sim: RunningSimulator) -> None:
    sim.add_fault(kind="malformed", endpoint="status")
    response = await drs.status(JOB_A)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    with pytest.raises(ValueError):
        response.json()


async def test_timeout(drs: Drs, sim: RunningSimulator) -> None:
    sim.add_fault(kind="timeout", endpoint="pause", seconds=5)
    started = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        await drs.client.post(
            f"/v3/{drs.project}/jobs/batch-pause-task",
            json={"jobs": [{"job_id": JOB_A, "pause_mode": "target"}]},
            headers={"X-Auth-Token": drs.token},
            timeout=0.3,
        )
    assert time.monotonic() - started < 2
    assert sim.task(JOB_A).pause_count == 0


@pytest.mark.parametrize(
    ("rule", "expected_ids"),
    [
        ({"omit": "all"}, []),
        ({"job_id": JOB_B}, [JOB_A]),
    ],
)
async def test_missing_results(
    drs: Drs, sim: RunningSimulator, rule: dict, expected_ids: list[str]
) -> None:
    sim.add_fault(kind="missing_results", endpoint="pause", **rule)
    body = (await drs.pause(JOB_A, JOB_B)).json()
    assert [r["id"] for r in body["results"]] == expected_ids
    assert body["count"] == 2
    # Processed all the same.
    assert sim.task(JOB_A).status == sim.task(JOB_B).status == "PAUSING"


async def test_missing_results_key_and_some(drs: Drs, sim: RunningSimulator) -> None:
    sim.add_fault(kind="missing_results", endpoint="status", omit="key")
    assert "results" not in (await drs.status(JOB_A, JOB_B)).json()
    sim.add_fault(kind="missing_results", endpoint="status", omit="some")
    body = (await drs.status(JOB_A, JOB_B)).json()
    assert len(body["results"]) < 2
    assert body["count"] == 2


@pytest.mark.parametrize("code", ["DRS.M01504", "DRS.M00004", "DRS.M05003"])
async def test_job_error(drs: Drs, sim: RunningSimulator, code: str) -> None:
    sim.add_fault(kind="job_error", endpoint="pause", job_id=JOB_B, error_code=code)
    results = {r["id"]: r for r in (await drs.pause(JOB_A, JOB_B)).json()["results"]}
    assert results[JOB_A]["status"] == "success"
    assert results[JOB_B]["status"] == "failed"
    assert results[JOB_B]["error_code"] == code
    assert results[JOB_B]["error_msg"]
    assert sim.task(JOB_B).status == "FULL_TRANSFER_STARTED"


async def test_job_id_matching(drs: Drs, sim: RunningSimulator) -> None:
    sim.add_fault(kind="http_error", endpoint="pause", job_id=JOB_B, status=503)
    assert (await drs.pause(JOB_A)).status_code == 200  # JOB_B not in the request
    assert (await drs.pause(JOB_B)).status_code == 503


async def test_unlimited_times_and_listing(drs: Drs, sim: RunningSimulator) -> None:
    rule = sim.add_fault(kind="http_error", endpoint="status", status=503, times=None)
    for _ in range(3):
        assert (await drs.status(JOB_A)).status_code == 503
    assert sim.core.faults.list()[0]["fired"] == 3
    assert rule["remaining"] is None
    sim.clear_faults()
    assert (await drs.status(JOB_A)).status_code == 200


async def test_probability_is_seeded(drs: Drs, sim: RunningSimulator) -> None:
    async def outcomes() -> list[int]:
        sim.clear_faults()
        sim.configure(seed=42)
        sim.add_fault(kind="http_error", endpoint="status", status=503, times=None, probability=0.5)
        return [(await drs.status(JOB_A)).status_code for _ in range(20)]

    first = await outcomes()
    assert set(first) == {200, 503}
    assert await outcomes() == first


async def test_token_endpoint_faults(client: httpx.AsyncClient, sim: RunningSimulator) -> None:
    sim.add_fault(kind="http_error", endpoint="token", status=503)
    body = {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {"user": {"name": "u", "password": "p", "domain": {"name": "d"}}},
            },
            "scope": {"project": {"id": "p1"}},
        }
    }
    assert (await client.post("/v3/auth/tokens", json=body)).status_code == 503
    # Spent: the next login reaches IAM (and fails, no such user here).
    assert (await client.post("/v3/auth/tokens", json=body)).status_code == 401


@pytest.mark.parametrize(
    "rule",
    [
        {"kind": "nope"},
        {"kind": "latency"},
        {"kind": "http_error", "probability": 2},
        {"kind": "http_error", "times": 0},
        {"kind": "timeout", "seconds": 10_000},
        {"kind": "job_error", "endpoint": "status"},
        {"kind": "latency", "latency_ms": 5, "after_processing": True},
        {"kind": "drop", "unknown_field": 1},
    ],
)
async def test_invalid_rules_are_refused(client: httpx.AsyncClient, rule: dict) -> None:
    response = await client.post("/admin/faults", json=rule)
    assert response.status_code == 400
    assert response.json()["error_msg"]
    assert (await client.get("/admin/faults")).json()["count"] == 0
