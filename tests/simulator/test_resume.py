"""Resume (POST /v3/{project_id}/jobs/batch-retry-task, page drs_03_0132): state machine, delay,
refusals, validation, faults, call log and counts; and the two "harder answers" modes."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from drs_pause_operator.dev.simulator.testing import RunningSimulator

from .helpers import JOB_A, JOB_B, JOB_C, PROJECT, UNKNOWN, Drs

SUCCESS_A = {"id": JOB_A, "status": "success"}


async def test_resume_answer_shape(drs: Drs, sim: RunningSimulator) -> None:
    await drs.pause(JOB_A)
    response = await drs.resume(JOB_A, re_edit=True)
    assert response.status_code == 200
    assert response.json() == {"results": [SUCCESS_A], "count": 1}
    assert len(response.headers["X-Request-Id"]) == 32
    task = sim.task(JOB_A)
    assert (task.status, task.pause_count, task.resume_count) == ("INCRE_TRANSFER_STARTED", 1, 1)


async def test_resume_delay_keeps_the_task_paused_and_busy(
    drs: Drs, sim: RunningSimulator
) -> None:
    await drs.pause(JOB_B)  # FULL_TRANSFER_STARTED -> PAUSING
    sim.configure(resume_delay_seconds=0.3)
    assert (await drs.resume(JOB_B)).json()["results"][0]["status"] == "success"
    assert await drs.statuses(JOB_B) == {JOB_B: "PAUSING"}
    # Meanwhile the task is busy: another resume or a pause gets DRS.M01504.
    again = (await drs.resume(JOB_B)).json()["results"][0]
    assert (again["status"], again["error_code"]) == ("failed", "DRS.M01504")
    assert again["error_msg"].startswith("Another operation is being performed")
    assert (await drs.pause(JOB_B)).json()["results"][0]["error_code"] == "DRS.M01504"
    assert sim.task(JOB_B).resume_count == 1
    await asyncio.sleep(0.35)
    assert await drs.statuses(JOB_B) == {JOB_B: "FULL_TRANSFER_STARTED"}
    assert sim.task(JOB_B).pending_status is None


async def test_resume_in_pauseing_spelling_mode(drs: Drs, sim: RunningSimulator) -> None:
    sim.configure(paused_spelling="PAUSEING")
    await drs.pause(JOB_A)
    assert await drs.statuses(JOB_A) == {JOB_A: "PAUSEING"}
    assert (await drs.resume(JOB_A)).json()["results"] == [SUCCESS_A]
    assert await drs.statuses(JOB_A) == {JOB_A: "INCRE_TRANSFER_STARTED"}


async def test_a_task_seeded_as_pauseing_is_paused(drs: Drs, sim: RunningSimulator) -> None:
    sim.seed([{"id": JOB_A, "status": "PAUSEING"}])
    assert sim.task(JOB_A).status == "PAUSING"
    assert (await drs.resume(JOB_A)).json()["results"] == [SUCCESS_A]


@pytest.mark.parametrize(
    ("status", "code"),
    [
        ("INCRE_TRANSFER_STARTED", "DRS.M00304"),
        ("FULL_TRANSFER_COMPLETE", "DRS.M00304"),
        ("CONFIGURATION", "DRS.M00304"),
        ("RELEASE_RESOURCE_COMPLETE", "DRS.M05004"),
        ("DELETED", "DRS.M05004"),
    ],
)
async def test_a_task_that_is_not_paused(
    drs: Drs, sim: RunningSimulator, status: str, code: str
) -> None:
    sim.seed([{"id": JOB_A, "status": status}])
    response = await drs.resume(JOB_A, re_edit=True)
    assert response.status_code == 200
    result = response.json()["results"][0]
    assert result["status"] == "failed"
    assert result["error_code"] == code
    assert result["error_msg"]
    task = sim.task(JOB_A)
    assert (task.status, task.resume_count) == (status, 0)


async def test_seeded_paused_task_and_resume_outcomes(drs: Drs, sim: RunningSimulator) -> None:
    sim.seed(
        [
            {"id": JOB_A, "status": "PAUSING", "status_before_pause": "FULL_TRANSFER_COMPLETE"},
            {"id": JOB_B, "status": "PAUSING", "resume_outcome": "stuck"},
            {"id": JOB_C, "status": "PAUSING", "resume_outcome": "INCRE_TRANSFER_FAILED"},
        ]
    )
    results = (await drs.resume(JOB_A, JOB_B, JOB_C)).json()["results"]
    assert [r["status"] for r in results] == ["success"] * 3
    assert await drs.statuses(JOB_A, JOB_B, JOB_C) == {
        JOB_A: "FULL_TRANSFER_COMPLETE",
        JOB_B: "PAUSING",
        JOB_C: "INCRE_TRANSFER_FAILED",
    }
    assert [sim.task(j).resume_count for j in (JOB_A, JOB_B, JOB_C)] == [1, 1, 1]


async def test_is_sync_re_edit(drs: Drs, sim: RunningSimulator) -> None:
    sim.seed([{"id": JOB_A, "status": "PAUSING"}])
    for value, code in [(False, "DRS.M00202"), ("true", "DRS.M00202"), (1, "DRS.M00202")]:
        body = {"jobs": [{"job_id": JOB_A, "is_sync_re_edit": value}]}
        response = await drs.post("batch-retry-task", body)
        assert (response.status_code, response.json()["error_code"]) == (400, code), value
        assert "is_sync_re_edit" in response.json()["error_msg"]
    # Optional by default (the page's table and example), mandatory in the strict mode.
    sim.configure(retry_requires_sync_re_edit=True)
    response = await drs.resume(JOB_A)
    assert response.status_code == 400
    assert response.json() == {
        "error_code": "DRS.M00201",
        "error_msg": "The parameter is_sync_re_edit is empty.",
    }
    assert sim.task(JOB_A).status == "PAUSING"
    assert (await drs.resume(JOB_A, re_edit=True)).json()["results"] == [SUCCESS_A]


async def test_unknown_ids_whole_request(drs: Drs, sim: RunningSimulator) -> None:
    sim.seed([{"id": JOB_A, "status": "PAUSING"}])
    response = await drs.resume(JOB_A, UNKNOWN)
    assert response.status_code == 400
    body = response.json()
    assert body["error_code"] == "DRS.M00289"
    assert body["results"] == [
        {
            "id": UNKNOWN,
            "status": "failed",
            "error_code": "DRS.M00289",
            "error_msg": "job non exist",
        }
    ]
    assert sim.task(JOB_A).status == "PAUSING"
    sim.configure(not_found="per-job")
    results = {r["id"]: r for r in (await drs.resume(JOB_A, UNKNOWN)).json()["results"]}
    assert results[UNKNOWN]["error_code"] == "DRS.M05003"
    assert results[JOB_A]["status"] == "success"


@pytest.mark.parametrize("operation", ["pause", "resume"])
async def test_not_found_results_only_body(drs: Drs, sim: RunningSimulator, operation: str) -> None:
    sim.configure(not_found_body="results-only")
    response = await getattr(drs, operation)(JOB_A, UNKNOWN)
    assert response.status_code == 400
    assert response.json() == {
        "results": [
            {
                "id": UNKNOWN,
                "status": "failed",
                "error_code": "DRS.M00289",
                "error_msg": "job non exist",
            }
        ]
    }
    assert sim.task(JOB_A).pause_count == 0
    entry = sim.calls()[-1]
    assert entry["status"] == 400 and entry["results"][0]["error_code"] == "DRS.M00289"


async def test_not_found_body_setting_is_validated(client: httpx.AsyncClient) -> None:
    bad = await client.patch("/admin/config", json={"not_found_body": "partial"})
    assert bad.status_code == 400
    good = await client.patch(
        "/admin/config", json={"not_found_body": "results-only", "resume_delay_seconds": 2}
    )
    assert good.json()["not_found_body"] == "results-only"
    assert good.json()["resume_delay_seconds"] == 2


# --- faults on the resume endpoint ----------------------------------------------------------------


@pytest.mark.parametrize("endpoint", ["retry", "resume"])
async def test_http_error_fault_on_resume(drs: Drs, sim: RunningSimulator, endpoint: str) -> None:
    await drs.pause(JOB_A)
    sim.add_fault(kind="http_error", endpoint=endpoint, status=500, error_code="DRS.M00004")
    # A pause is not the resume endpoint: not affected.
    assert (await drs.pause(JOB_B)).status_code == 200
    failed = await drs.resume(JOB_A)
    assert (failed.status_code, failed.json()["error_code"]) == (500, "DRS.M00004")
    assert sim.task(JOB_A).status == "PAUSING"
    assert (await drs.resume(JOB_A)).json()["results"] == [SUCCESS_A]


async def test_job_error_fault_on_resume(drs: Drs, sim: RunningSimulator) -> None:
    await drs.pause(JOB_A, JOB_B)
    sim.add_fault(kind="job_error", endpoint="resume", job_id=JOB_B, error_code="DRS.M01503")
    results = {r["id"]: r for r in (await drs.resume(JOB_A, JOB_B)).json()["results"]}
    assert results[JOB_A]["status"] == "success"
    assert results[JOB_B] == {
        "id": JOB_B,
        "status": "failed",
        "error_code": "DRS.M01503",
        "error_msg": "Operation too frequent. Try again later.",
    }
    assert sim.task(JOB_B).status == "PAUSING" and sim.task(JOB_B).resume_count == 0


async def test_lost_resume_answer(drs: Drs, sim: RunningSimulator) -> None:
    await drs.pause(JOB_A)
    sim.add_fault(kind="drop", endpoint="resume", after_processing=True)
    with pytest.raises(httpx.TransportError):
        await drs.resume(JOB_A)
    assert sim.task(JOB_A).status == "INCRE_TRANSFER_STARTED"
    # The retried resume meets a task that is no longer paused.
    again = (await drs.resume(JOB_A)).json()["results"][0]
    assert again["error_code"] == "DRS.M00304"


@pytest.mark.parametrize("operation", ["pause", "resume"])
async def test_busy_fault_is_a_202_error_without_results(
    drs: Drs, sim: RunningSimulator, operation: str
) -> None:
    status = "PAUSING" if operation == "resume" else "INCRE_TRANSFER_STARTED"
    sim.seed([{"id": JOB_A, "status": status}])
    added = sim.add_fault(kind="busy", endpoint=operation)
    assert added["status"] == 202
    response = await getattr(drs, operation)(JOB_A)
    assert response.status_code == 202
    assert response.json() == {
        "error_code": "DRS.M01504",
        "error_msg": (
            "Another operation is being performed on the migration task or the migration task "
            "is abnormal."
        ),
    }
    task = sim.task(JOB_A)
    assert (task.pause_count, task.resume_count) == (0, 0)
    assert sim.calls()[-1]["fault"] == ["busy"]


async def test_busy_fault_options(drs: Drs, sim: RunningSimulator) -> None:
    sim.add_fault(kind="busy", endpoint="pause", status=200, error_code="DRS.M01503")
    response = await drs.pause(JOB_A)
    assert response.status_code == 200
    assert response.json()["error_code"] == "DRS.M01503" and "results" not in response.json()
    # after_processing: the pause happened, the answer says busy.
    sim.add_fault(kind="busy", endpoint="pause", after_processing=True)
    response = await drs.pause(JOB_A)
    assert response.status_code == 202
    assert sim.task(JOB_A).status == "PAUSING"


async def test_missing_results_on_resume(drs: Drs, sim: RunningSimulator) -> None:
    await drs.pause(JOB_A, JOB_B)
    sim.add_fault(kind="missing_results", endpoint="resume", job_id=JOB_B)
    body = (await drs.resume(JOB_A, JOB_B)).json()
    assert body == {"results": [SUCCESS_A], "count": 2}
    assert sim.task(JOB_B).status == "FULL_TRANSFER_STARTED"  # resumed all the same


# --- call log and counts ------------------------------------------------------------------------


async def test_call_log_records_endpoint_and_jobs_per_request(
    drs: Drs, sim: RunningSimulator, client: httpx.AsyncClient
) -> None:
    await drs.pause(JOB_A, JOB_B)
    await drs.resume(JOB_A)
    await drs.resume(JOB_B, re_edit=True)
    await drs.status(JOB_A)
    await drs.list_jobs()
    log = sim.calls()
    assert [(c["endpoint"], c["job_ids"]) for c in log] == [
        ("pause", [JOB_A, JOB_B]),
        ("retry", [JOB_A]),
        ("retry", [JOB_B]),
        ("status", [JOB_A]),
        ("list", []),
    ]
    assert all(c["path"].startswith(f"/v3/{PROJECT}/jobs") for c in log)
    assert [c["job_ids"] for c in sim.calls("resume")] == [[JOB_A], [JOB_B]]
    assert [c["endpoint"] for c in sim.calls(job_id=JOB_A)] == ["pause", "retry", "status"]
    # The same over the admin API.
    calls = (await client.get("/admin/calls", params={"endpoint": "resume"})).json()
    assert [c["job_ids"] for c in calls["calls"]] == [[JOB_A], [JOB_B]]
    by_job = (await client.get("/admin/calls", params={"job_id": JOB_B})).json()
    assert [c["endpoint"] for c in by_job["calls"]] == ["pause", "retry"]
    both = await client.get("/admin/calls", params={"job_id": JOB_A, "endpoint": "pause"})
    assert both.json()["count"] == 1
    stats = (await client.get("/admin/stats")).json()
    assert stats["by_endpoint"] == {"pause": 1, "retry": 2, "status": 1, "list": 1}
    assert stats["requests_per_job"] == {
        "pause": {JOB_A: 1, JOB_B: 1},
        "retry": {JOB_A: 1, JOB_B: 1},
        "status": {JOB_A: 1},
    }


async def test_refused_requests_are_logged_with_their_jobs(
    drs: Drs, sim: RunningSimulator
) -> None:
    sim.add_fault(kind="rate_limit", endpoint="resume")
    assert (await drs.resume(JOB_A)).status_code == 429
    assert (await drs.resume(JOB_A, UNKNOWN)).status_code == 400
    log = sim.calls("retry")
    assert [(c["status"], c["job_ids"]) for c in log] == [(429, [JOB_A]), (400, [JOB_A, UNKNOWN])]
    assert log[1]["error_code"] == "DRS.M00289"


async def test_counts_in_the_admin_api(drs: Drs, client: httpx.AsyncClient) -> None:
    for _ in range(2):
        await drs.pause(JOB_A)
        await drs.resume(JOB_A)
    task = (await client.get(f"/admin/tasks/{JOB_A}")).json()
    assert (task["pause_count"], task["resume_count"]) == (2, 2)
    assert task["resume_outcome"] == "resumed"
