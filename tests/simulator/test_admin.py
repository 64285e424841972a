"""The admin API: tasks, config, reset, health, OpenAPI, --no-admin."""

from __future__ import annotations

import httpx
import pytest

from drs_pause_operator.dev.simulator.testing import RunningSimulator, running_simulator

from .helpers import JOB_A, JOB_B, JOB_C, PROJECT, TIMEOUT, Drs


async def test_seed_list_get_replace_clear(
    client: httpx.AsyncClient, sim: RunningSimulator
) -> None:
    listed = (await client.get("/admin/tasks")).json()
    assert listed["count"] == 3
    added = await client.post(
        "/admin/tasks", json=[{"id": "x-1", "status": "PAUSING", "project_id": "p9"}]
    )
    assert added.status_code == 200
    assert added.json()["tasks"][0]["status"] == "PAUSING"
    assert (await client.get("/admin/tasks")).json()["count"] == 4
    # ?project_id= lists that project's tasks plus the project-less ones.
    in_p9 = (await client.get("/admin/tasks?project_id=p9")).json()["tasks"]
    assert {t["id"] for t in in_p9} == {JOB_A, JOB_B, "x-1"}
    task = (await client.get(f"/admin/tasks/{JOB_C}")).json()
    assert task["project_id"] == PROJECT
    assert (await client.get("/admin/tasks/none")).status_code == 404
    await client.put("/admin/tasks", json=[{"id": JOB_A, "status": "CREATING"}])
    assert [t.id for t in sim.state.all()] == [JOB_A]
    await client.post("/admin/tasks", json={"tasks": [{"id": JOB_B}], "replace": True})
    assert [t.status for t in sim.state.all()] == ["INCRE_TRANSFER_STARTED"]
    await client.delete("/admin/tasks")
    assert sim.state.all() == []


@pytest.mark.parametrize(
    "payload",
    [
        {"id": JOB_A},
        [{"status": "PAUSING"}],
        [{"id": JOB_A, "status": "paused"}],
        [{"id": JOB_A, "pause_outcome": "sometimes"}],
        [{"id": JOB_A, "colour": "red"}],
        "nope",
    ],
)
async def test_bad_seeds(client: httpx.AsyncClient, payload: object) -> None:
    response = await client.post("/admin/tasks", json=payload)
    assert response.status_code == 400
    assert response.json()["error_msg"]


async def test_bad_admin_json(client: httpx.AsyncClient) -> None:
    response = await client.post("/admin/tasks", content=b"{oops")
    assert response.status_code == 400


async def test_config_get_and_patch(client: httpx.AsyncClient, sim: RunningSimulator) -> None:
    config = (await client.get("/admin/config")).json()
    assert config["not_found"] == "request"
    assert config["paused_spelling"] == "PAUSING"
    patched = await client.patch(
        "/admin/config", json={"latency_ms": 5, "not_found": "per-job", "shuffle_results": True}
    )
    assert patched.status_code == 200
    assert sim.core.config.not_found == "per-job"
    for bad in ({"latency_ms": -1}, {"not_found": "maybe"}, {"bogus": 1}, ["x"]):
        response = await client.patch("/admin/config", json=bad)
        assert response.status_code == 400, bad
    assert sim.core.config.latency_ms == 5


async def test_reset(drs: Drs, sim: RunningSimulator) -> None:
    await drs.pause(JOB_A)
    sim.configure(not_found="per-job")
    sim.add_fault(kind="drop")
    sim.seed([{"id": "extra"}])
    assert (await drs.client.post("/admin/reset")).json() == {"reset": True}
    assert sim.task(JOB_A).status == "INCRE_TRANSFER_STARTED"
    assert sim.state.get("extra") is None
    assert sim.core.config.not_found == "request"
    assert sim.core.faults.list() == []
    assert sim.calls() == []


async def test_fault_admin_roundtrip(client: httpx.AsyncClient) -> None:
    added = await client.post(
        "/admin/faults",
        json=[{"kind": "drop", "endpoint": "pause"}, {"kind": "latency", "latency_ms": 10}],
    )
    ids = [f["id"] for f in added.json()["faults"]]
    assert len(ids) == 2
    assert (await client.delete(f"/admin/faults/{ids[0]}")).status_code == 200
    assert (await client.delete(f"/admin/faults/{ids[0]}")).status_code == 404
    assert [f["kind"] for f in (await client.get("/admin/faults")).json()["faults"]] == ["latency"]
    await client.delete("/admin/faults")
    assert (await client.get("/admin/faults")).json()["count"] == 0


async def test_health_and_openapi(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    document = (await client.get("/openapi.json")).json()
    assert document["openapi"].startswith("3.")
    assert set(document["paths"]) == {
        "/v3/{project_id}/jobs/batch-pause-task",
        "/v3/{project_id}/jobs/batch-status",
        "/v3/{project_id}/jobs/batch-retry-task",
        "/v3/{project_id}/jobs/batch-progress",
        "/v3/{project_id}/jobs",
        "/v3/auth/tokens",
    }
    pause_info = document["components"]["schemas"]["PauseInfo"]
    assert pause_info["properties"]["pause_mode"]["enum"] == ["target", "all"]


async def test_no_admin() -> None:
    async with (
        running_simulator(admin=False) as sim,
        httpx.AsyncClient(base_url=sim.url, timeout=TIMEOUT) as client,
    ):
        for method, path in [("GET", "/admin/tasks"), ("POST", "/admin/reset")]:
            response = await client.request(method, path)
            assert response.status_code == 404
            assert response.json()["error_code"] == "APIGW.0101"
        assert (await client.get("/healthz")).status_code == 200
