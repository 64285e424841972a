"""The task state machine behind pause, batch-status and resume."""

from __future__ import annotations

import asyncio

import pytest

from drs_pause_operator.dev.simulator.testing import RunningSimulator

from .helpers import JOB_A, JOB_B, JOB_C, OTHER_PROJECT, UNKNOWN, Drs

SUCCESS_A = {"id": JOB_A, "status": "success"}


def failed(job_id: str, code: str, msg: str) -> dict[str, str]:
    return {"id": job_id, "status": "failed", "error_code": code, "error_msg": msg}


async def test_pause_moves_task_to_pausing(drs: Drs, sim: RunningSimulator) -> None:
    response = await drs.pause(JOB_A, mode="all")
    assert response.status_code == 200
    assert response.json() == {"results": [SUCCESS_A], "count": 1}
    task = sim.task(JOB_A)
    assert (task.status, task.pause_mode, task.pause_count) == ("PAUSING", "all", 1)
    assert await drs.statuses(JOB_A) == {JOB_A: "PAUSING"}


async def test_second_pause_of_a_paused_task_is_m00304(drs: Drs, sim: RunningSimulator) -> None:
    await drs.pause(JOB_A)
    response = await drs.pause(JOB_A)
    assert response.status_code == 200
    assert response.json()["results"] == [
        failed(JOB_A, "DRS.M00304", "This API cannot be called in the current task status.")
    ]
    assert sim.task(JOB_A).pause_count == 1


@pytest.mark.parametrize(
    "state",
    [
        "FULL_TRANSFER_STARTED",
        "FULL_TRANSFER_FAILED",
        "FULL_TRANSFER_COMPLETE",
        "INCRE_TRANSFER_STARTED",
        "INCRE_TRANSFER_FAILED",
    ],
)
async def test_pausable_states(drs: Drs, sim: RunningSimulator, state: str) -> None:
    sim.seed([{"id": JOB_A, "status": state}])
    assert (await drs.pause(JOB_A)).json()["results"] == [SUCCESS_A]
    assert sim.task(JOB_A).status == "PAUSING"
    assert sim.task(JOB_A).status_before_pause == state


@pytest.mark.parametrize(
    ("state", "code"),
    [
        ("CREATING", "DRS.M00304"),
        ("CONFIGURATION", "DRS.M00304"),
        ("RELEASE_RESOURCE_STARTED", "DRS.M00304"),
        ("CHANGE_JOB_STARTED", "DRS.M00304"),
        ("DELETED", "DRS.M05004"),
        ("RELEASE_RESOURCE_COMPLETE", "DRS.M05004"),
    ],
)
async def test_not_pausable_states(drs: Drs, sim: RunningSimulator, state: str, code: str) -> None:
    sim.seed([{"id": JOB_A, "status": state}])
    result = (await drs.pause(JOB_A)).json()["results"][0]
    assert (result["status"], result["error_code"]) == ("failed", code)
    assert result["error_msg"]
    assert sim.task(JOB_A).status == state


async def test_pause_delay_keeps_old_state_and_answers_busy(
    drs: Drs, sim: RunningSimulator
) -> None:
    sim.configure(pause_delay_seconds=0.3)
    assert (await drs.pause(JOB_A)).json()["results"] == [SUCCESS_A]
    assert await drs.statuses(JOB_A) == {JOB_A: "INCRE_TRANSFER_STARTED"}
    busy = (await drs.pause(JOB_A)).json()["results"][0]
    assert busy["error_code"] == "DRS.M01504"
    assert busy["error_msg"].startswith("Another operation is being performed")
    await asyncio.sleep(0.4)
    assert await drs.statuses(JOB_A) == {JOB_A: "PAUSING"}
    assert sim.task(JOB_A).pause_count == 1


async def test_unknown_id_rejects_the_whole_request(drs: Drs, sim: RunningSimulator) -> None:
    other_unknown = "00000000-0000-0000-0000-000000000000"
    response = await drs.pause(JOB_A, UNKNOWN, JOB_B, other_unknown)
    assert response.status_code == 400
    assert response.json() == {
        "error_code": "DRS.M00289",
        "error_msg": "job non exist",
        "results": [
            failed(UNKNOWN, "DRS.M00289", "job non exist"),
            failed(other_unknown, "DRS.M00289", "job non exist"),
        ],
        "count": 2,
    }
    assert sim.task(JOB_A).status == "INCRE_TRANSFER_STARTED"
    assert sim.task(JOB_B).status == "FULL_TRANSFER_STARTED"


async def test_per_job_not_found_mode(drs: Drs, sim: RunningSimulator) -> None:
    sim.configure(not_found="per-job")
    response = await drs.pause(JOB_A, UNKNOWN)
    assert response.status_code == 200
    assert response.json() == {
        "results": [SUCCESS_A, failed(UNKNOWN, "DRS.M05003", "Task information not found.")],
        "count": 2,
    }
    assert sim.task(JOB_A).status == "PAUSING"


async def test_per_project_not_found_mode(drs: Drs, sim: RunningSimulator) -> None:
    sim.configure(not_found_by_project={drs.project: "per-job"})
    assert (await drs.pause(UNKNOWN)).status_code == 200
    drs.project = OTHER_PROJECT
    assert (await drs.pause(UNKNOWN)).status_code == 400


async def test_tasks_of_another_project_are_unknown(drs: Drs, sim: RunningSimulator) -> None:
    drs.project = OTHER_PROJECT
    response = await drs.pause(JOB_C)  # JOB_C belongs to PROJECT
    assert response.status_code == 400
    assert response.json()["results"][0]["id"] == JOB_C
    # Tasks seeded without a project are visible from every project.
    assert (await drs.pause(JOB_A)).json()["results"] == [SUCCESS_A]


async def test_mixed_results_in_one_request(drs: Drs, sim: RunningSimulator) -> None:
    sim.seed([{"id": JOB_B, "status": "DELETED"}])
    response = await drs.pause(JOB_A, JOB_B, JOB_C)
    by_id = {r["id"]: r for r in response.json()["results"]}
    assert by_id[JOB_A]["status"] == "success"
    assert by_id[JOB_B]["error_code"] == "DRS.M05004"
    assert by_id[JOB_C]["status"] == "success"
    assert response.json()["count"] == 3


async def test_pause_outcome_other_state(drs: Drs, sim: RunningSimulator) -> None:
    sim.seed(
        [
            {
                "id": JOB_A,
                "status": "INCRE_TRANSFER_STARTED",
                "pause_outcome": "INCRE_TRANSFER_FAILED",
            }
        ]
    )
    assert (await drs.pause(JOB_A)).json()["results"] == [SUCCESS_A]
    assert await drs.statuses(JOB_A) == {JOB_A: "INCRE_TRANSFER_FAILED"}


async def test_pause_outcome_stuck(drs: Drs, sim: RunningSimulator) -> None:
    sim.seed([{"id": JOB_A, "status": "INCRE_TRANSFER_STARTED", "pause_outcome": "stuck"}])
    assert (await drs.pause(JOB_A)).json()["results"] == [SUCCESS_A]
    assert await drs.statuses(JOB_A) == {JOB_A: "INCRE_TRANSFER_STARTED"}
    assert sim.task(JOB_A).pause_count == 1


async def test_shuffled_results(drs: Drs, sim: RunningSimulator) -> None:
    ids = [f"{i:08d}-0000-0000-0000-000000000000" for i in range(30)]
    sim.seed({"id": i} for i in ids)
    in_order = [r["id"] for r in (await drs.status(*ids)).json()["results"]]
    assert in_order == ids
    sim.configure(shuffle_results=True)
    shuffled = [r["id"] for r in (await drs.pause(*ids)).json()["results"]]
    assert sorted(shuffled) == sorted(ids)
    assert shuffled != ids


async def test_resume_returns_to_the_state_before_the_pause(
    drs: Drs, sim: RunningSimulator
) -> None:
    await drs.pause(JOB_B)  # FULL_TRANSFER_STARTED
    response = await drs.resume(JOB_B)
    assert response.status_code == 200
    assert response.json() == {"results": [{"id": JOB_B, "status": "success"}], "count": 1}
    assert await drs.statuses(JOB_B) == {JOB_B: "FULL_TRANSFER_STARTED"}
    # Paused again after the resume: the count goes on.
    await drs.pause(JOB_B)
    assert sim.task(JOB_B).pause_count == 2


async def test_resume_defaults_and_refusals(drs: Drs, sim: RunningSimulator) -> None:
    sim.seed([{"id": JOB_A, "status": "PAUSING"}, {"id": JOB_B, "status": "CREATING"}])
    results = {r["id"]: r for r in (await drs.resume(JOB_A, JOB_B)).json()["results"]}
    assert results[JOB_A]["status"] == "success"
    assert sim.task(JOB_A).status == "INCRE_TRANSFER_STARTED"
    assert results[JOB_B]["error_code"] == "DRS.M00304"
    # A failed transfer is retried.
    assert (await drs.resume(JOB_C)).json()["results"][0]["status"] == "success"
    assert sim.task(JOB_C).status == "INCRE_TRANSFER_STARTED"
    assert (await drs.resume(UNKNOWN)).status_code == 400
