"""Request validation answers like the service: status code and error_code per bad input."""

from __future__ import annotations

from typing import Any

import pytest

from drs_pause_operator.dev.simulator.testing import RunningSimulator

from .helpers import JOB_A, JOB_B, PROJECT, TOKEN, Drs, pause_body

INVALID = {"error_code": "DRS.M00007", "error_msg": "Invalid request parameter."}
JOBS_EMPTY = {"error_code": "DRS.M00201", "error_msg": "The parameter jobs is empty."}
JOB_ID_INVALID = {
    "error_code": "DRS.M00202",
    "error_msg": "The value of parameter job_id is invalid.",
}


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"not json", INVALID),
        (b"", INVALID),
        (b"\xff\xfe", INVALID),
        (b"[1, 2]", INVALID),
        (b'"jobs"', INVALID),
        (b"null", INVALID),
        (b"[" * 100_000, INVALID),  # nesting deep enough to exhaust the parser
        ({}, JOBS_EMPTY),
        ({"jobs": []}, JOBS_EMPTY),
        ({"jobs": None}, JOBS_EMPTY),
        ({"jobs": "x"}, JOBS_EMPTY),
        ({"jobs": {"job_id": JOB_A}}, JOBS_EMPTY),
        ({"jobs": [{}]}, JOBS_EMPTY),
        ({"jobs": [{"job_id": JOB_A, "pause_mode": "target"}, {}]}, JOBS_EMPTY),
        (
            {"jobs": [{"pause_mode": "target"}]},
            {"error_code": "DRS.M00201", "error_msg": "The parameter job_id is empty."},
        ),
        ({"jobs": [{"job_id": 12345, "pause_mode": "target"}]}, JOB_ID_INVALID),
        ({"jobs": [{"job_id": ["x"], "pause_mode": "target"}]}, JOB_ID_INVALID),
        ({"jobs": [{"job_id": "not-a-uuid", "pause_mode": "target"}]}, JOB_ID_INVALID),
        ({"jobs": [{"job_id": JOB_A + "0", "pause_mode": "target"}]}, JOB_ID_INVALID),
        ({"jobs": [{"job_id": JOB_A.replace("-", "_"), "pause_mode": "target"}]}, JOB_ID_INVALID),
        ({"jobs": [{"job_id": "8d0e8e36-a618-490d-8a46-8c61ac9jb50!"}]}, JOB_ID_INVALID),
        (
            {"jobs": [{"job_id": JOB_A}]},
            {"error_code": "DRS.M00201", "error_msg": "The parameter pause_mode is empty."},
        ),
        (
            {"jobs": [{"job_id": JOB_A, "pause_mode": "everything"}]},
            {
                "error_code": "DRS.M00202",
                "error_msg": "The value of parameter pause_mode is invalid.",
            },
        ),
        (
            {"jobs": [{"job_id": JOB_A, "pause_mode": "TARGET"}]},
            {
                "error_code": "DRS.M00202",
                "error_msg": "The value of parameter pause_mode is invalid.",
            },
        ),
        (
            {"jobs": [{"job_id": JOB_A, "pause_mode": 1}]},
            {
                "error_code": "DRS.M00202",
                "error_msg": "The value of parameter pause_mode is invalid.",
            },
        ),
        (
            {"jobs": ["8d0e8e36-a618-490d-8a46-8c61ac9jb502"]},
            {"error_code": "DRS.M00202", "error_msg": "The value of parameter jobs is invalid."},
        ),
        (
            pause_body(JOB_A, JOB_B, JOB_A),
            {"error_code": "DRS.M00301", "error_msg": "There are duplicate job_id in request."},
        ),
    ],
)
async def test_pause_validation(
    drs: Drs, sim: RunningSimulator, body: Any, expected: dict[str, str]
) -> None:
    response = await drs.post("batch-pause-task", body)
    assert response.status_code == 400, response.text
    assert response.json() == expected
    assert len(response.headers["X-Request-Id"]) == 32
    # Nothing was paused by a rejected request.
    assert sim.task(JOB_A).pause_count == 0


async def test_job_id_shape_is_letters_and_digits_not_hex(drs: Drs) -> None:
    # The API's own example id is not hex: it must be accepted.
    response = await drs.pause(JOB_A)
    assert response.status_code == 200
    assert response.json()["results"][0]["status"] == "success"


@pytest.mark.parametrize(
    "content_type",
    [None, "text/plain", "application/x-www-form-urlencoded", "application/xml"],
)
async def test_content_type_must_be_json(drs: Drs, content_type: str | None) -> None:
    headers = {"X-Auth-Token": TOKEN}
    if content_type:
        headers["Content-Type"] = content_type
    response = await drs.client.post(
        f"/v3/{PROJECT}/jobs/batch-pause-task",
        content=b'{"jobs": [{"job_id": "%s", "pause_mode": "target"}]}' % JOB_A.encode(),
        headers=headers,
    )
    assert response.status_code == 400
    assert response.json()["error_code"] == "DRS.M00007"


async def test_json_with_charset_is_accepted(drs: Drs) -> None:
    response = await drs.post(
        "batch-pause-task",
        b'{"jobs": [{"job_id": "%s", "pause_mode": "all"}]}' % JOB_A.encode(),
        headers={"Content-Type": "application/json;charset=UTF-8"},
    )
    assert response.status_code == 200


async def test_job_count_sanity_cap(drs: Drs, sim: RunningSimulator) -> None:
    sim.configure(max_jobs=3)
    ids = [f"{i:08d}-0000-0000-0000-000000000000" for i in range(4)]
    response = await drs.post("batch-pause-task", pause_body(*ids))
    assert response.status_code == 400
    assert response.json() == {
        "error_code": "DRS.M00202",
        "error_msg": "The value of parameter jobs is invalid.",
    }


async def test_many_jobs_are_accepted(drs: Drs, sim: RunningSimulator) -> None:
    ids = [f"{i:08d}-0000-0000-0000-000000000000" for i in range(600)]
    sim.seed({"id": i, "status": "INCRE_TRANSFER_STARTED"} for i in ids)
    response = await drs.post("batch-pause-task", pause_body(*ids))
    assert response.status_code == 200
    assert response.json()["count"] == 600
    assert all(r["status"] == "success" for r in response.json()["results"])


@pytest.mark.parametrize("project", ["bad.project", "x" * 65, "p%20q", "a;b", "%C3%A9"])
async def test_odd_project_id_is_refused(drs: Drs, project: str) -> None:
    drs.project = project
    response = await drs.pause(JOB_A)
    assert response.status_code == 403
    assert response.json() == {"error_code": "DRS.M00261", "error_msg": "Invalid project ID."}


async def test_body_over_the_limit_is_413(drs: Drs, sim: RunningSimulator) -> None:
    response = await drs.post("batch-pause-task", b"{" + b" " * (2 << 20) + b"}")
    assert response.status_code == 413
    assert response.json()["error_code"] == "APIGW.0201"
    assert "X-Request-Id" in response.headers
    # The connection and server are still usable afterwards.
    assert (await drs.pause(JOB_A)).status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("POST", "/v3/p/jobs/batch-unknown", 404),
        ("POST", "/v3/jobs/batch-pause-task", 404),
        ("POST", "/v3//jobs/batch-pause-task", 404),
        ("POST", f"/v3/{PROJECT}/jobs/batch-pause-task/", 404),
        ("GET", "/", 404),
        ("DELETE", "/v2/x", 404),
        ("GET", f"/v3/{PROJECT}/jobs/batch-pause-task", 405),
        ("PUT", f"/v3/{PROJECT}/jobs/batch-status", 405),
        ("DELETE", f"/v3/{PROJECT}/jobs/batch-retry-task", 405),
        ("GET", "/v3/auth/tokens", 405),
    ],
)
async def test_unknown_paths_and_wrong_methods(
    drs: Drs, method: str, path: str, status: int
) -> None:
    response = await drs.client.request(method, path, headers={"X-Auth-Token": TOKEN})
    assert response.status_code == status
    assert response.json()["error_code"] == "APIGW.0101"
    assert "X-Request-Id" in response.headers
    if status == 405:
        assert response.headers["Allow"] == "POST"


async def test_retry_validation(drs: Drs) -> None:
    cases = [
        ({"jobs": []}, "DRS.M00201"),
        ({"jobs": [{}]}, "DRS.M00201"),
        ({"jobs": [{"job_id": "nope"}]}, "DRS.M00202"),
        ({"jobs": [{"job_id": JOB_A, "is_sync_re_edit": "yes"}]}, "DRS.M00202"),
        ({"jobs": [{"job_id": JOB_A}, {"job_id": JOB_A}]}, "DRS.M00301"),
    ]
    for body, code in cases:
        response = await drs.post("batch-retry-task", body)
        assert (response.status_code, response.json()["error_code"]) == (400, code), body
