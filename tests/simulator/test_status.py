"""batch-status: paging, per_page default, error_message, the PAUSEING spelling."""

from __future__ import annotations

from typing import Any

import pytest

from drs_pause_operator.dev.simulator.testing import RunningSimulator

from .helpers import JOB_A, UNKNOWN, Drs

IDS = [f"{i:08d}-0000-0000-0000-00000000000a" for i in range(12)]


@pytest.fixture
def many(sim: RunningSimulator) -> list[str]:
    sim.seed({"id": i, "status": "INCRE_TRANSFER_STARTED"} for i in IDS)
    return IDS


async def test_default_page_is_five(drs: Drs, many: list[str]) -> None:
    response = await drs.post("batch-status", {"jobs": many})
    assert response.status_code == 200
    body = response.json()
    assert [r["id"] for r in body["results"]] == many[:5]
    assert body["count"] == 12


@pytest.mark.parametrize(
    ("page", "expected"),
    [
        ({"cur_page": 1, "per_page": 0}, slice(0, 12)),
        ({"cur_page": 2, "per_page": 5}, slice(5, 10)),
        ({"cur_page": 3, "per_page": 5}, slice(10, 12)),
        ({"cur_page": 4, "per_page": 5}, slice(0, 0)),
        ({"cur_page": 1, "per_page": 100}, slice(0, 12)),
        ({"per_page": 3}, slice(0, 3)),
        ({}, slice(0, 5)),
    ],
)
async def test_paging(drs: Drs, many: list[str], page: dict[str, Any], expected: slice) -> None:
    response = await drs.post("batch-status", {"jobs": many, "page_req": page})
    assert response.status_code == 200
    assert [r["id"] for r in response.json()["results"]] == many[expected]
    assert response.json()["count"] == 12


@pytest.mark.parametrize(
    ("page", "code"),
    [
        ({"cur_page": 0, "per_page": 5}, "DRS.M00210"),
        ({"cur_page": -1}, "DRS.M00210"),
        ({"cur_page": "1"}, "DRS.M00210"),
        ({"per_page": -1}, "DRS.M00210"),
        ({"per_page": 1.5}, "DRS.M00210"),
        ({"per_page": True}, "DRS.M00210"),
        ({"per_page": 101}, "DRS.M00211"),
        ("page", "DRS.M00202"),
    ],
)
async def test_page_validation(drs: Drs, page: Any, code: str) -> None:
    response = await drs.post("batch-status", {"jobs": [JOB_A], "page_req": page})
    assert response.status_code == 400
    assert response.json()["error_code"] == code
    assert response.json()["error_msg"].startswith("The value of ")


async def test_unknown_id_has_error_message_not_error_msg(drs: Drs) -> None:
    response = await drs.status(JOB_A, UNKNOWN)
    assert response.status_code == 200
    results = response.json()["results"]
    assert results[0] == {"id": JOB_A, "status": "INCRE_TRANSFER_STARTED"}
    assert results[1] == {
        "id": UNKNOWN,
        "status": "",
        "error_code": "DRS.M05003",
        "error_message": "Task information not found.",
    }


async def test_paused_spelling_switch(drs: Drs, sim: RunningSimulator) -> None:
    await drs.pause(JOB_A)
    sim.configure(paused_spelling="PAUSEING")
    assert await drs.statuses(JOB_A) == {JOB_A: "PAUSEING"}
    assert sim.task(JOB_A).status == "PAUSING"  # only the spelling on the wire changes
    # The task is paused either way: a second pause is refused.
    assert (await drs.pause(JOB_A)).json()["results"][0]["error_code"] == "DRS.M00304"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"jobs": []}, "DRS.M00201"),
        ({"jobs": [123]}, "DRS.M00202"),
        ({"jobs": ["short"]}, "DRS.M00202"),
        ({"jobs": [JOB_A, JOB_A]}, "DRS.M00301"),
        ({"page_req": {"per_page": 1}}, "DRS.M00201"),
    ],
)
async def test_status_body_validation(drs: Drs, body: Any, code: str) -> None:
    response = await drs.post("batch-status", body)
    assert (response.status_code, response.json()["error_code"]) == (400, code)
