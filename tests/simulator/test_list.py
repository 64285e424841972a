"""The tenant task list (POST /v3/{project_id}/jobs, page drs_03_0138): validation, paging,
filters, the answer's fields, faults, and seeding many tasks at once."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from drs_pause_operator.dev.simulator.cli import load_jobs
from drs_pause_operator.dev.simulator.state import JOB_ID_RE
from drs_pause_operator.dev.simulator.testing import RunningSimulator

from .helpers import JOB_A, JOB_B, JOB_C, OTHER_PROJECT, PROJECT, TOKEN, Drs

BASE = {"cur_page": 1, "per_page": 100, "db_use_type": "migration"}
JOB_INFO_FIELDS = {
    "id", "name", "status", "description", "create_time", "engine_type", "net_type",
    "billing_tag", "job_direction", "db_use_type", "task_type", "node_newFramework",
}  # fmt: skip
CREATE_TIME = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")


def without(*names: str) -> dict[str, Any]:
    return {k: v for k, v in BASE.items() if k not in names}


# --- validation ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "code", "message"),
    [
        (without("cur_page"), "DRS.M00201", "The parameter cur_page is empty."),
        (without("per_page"), "DRS.M00201", "The parameter per_page is empty."),
        ({**BASE, "per_page": None}, "DRS.M00201", "The parameter per_page is empty."),
        (without("db_use_type"), "DRS.M00201", "The parameter db_use_type is empty."),
        ({**BASE, "db_use_type": ""}, "DRS.M00201", "The parameter db_use_type is empty."),
        ({**BASE, "db_use_type": "Migration"}, "DRS.M00202", None),
        ({**BASE, "db_use_type": ["sync"]}, "DRS.M00202", None),
        ({**BASE, "cur_page": -1}, "DRS.M00210", None),
        ({**BASE, "per_page": -1}, "DRS.M00210", None),
        ({**BASE, "per_page": 101}, "DRS.M00211", "The value of Page exceeds the upper limit."),
        ({**BASE, "per_page": "5"}, "DRS.M00210", None),
        ({**BASE, "cur_page": 1.5}, "DRS.M00210", None),
        ({**BASE, "cur_page": True}, "DRS.M00210", None),
        ({**BASE, "engine_type": "oracle"}, "DRS.M00202", None),
        ({**BASE, "net_type": "lan"}, "DRS.M00202", None),
        ({**BASE, "status": "PAUSED"}, "DRS.M00202", None),
        ({**BASE, "status": 3}, "DRS.M00202", None),
        ({**BASE, "name": 42}, "DRS.M00202", None),
        ({**BASE, "name": ",".join([JOB_A] * 101)}, "DRS.M00202", None),  # 100 ids at most
        ({**BASE, "enterprise_project_id": ""}, "DRS.M00201", None),
        ({**BASE, "tags": "env=prod"}, "DRS.M00202", None),
        ({**BASE, "tags": ["env"]}, "DRS.M00202", None),
        ({**BASE, "tags": [{"key": 1}]}, "DRS.M00202", None),
        (
            {**BASE, "tags": [{"key": "env", "value": "a"}, {"key": "env", "value": "b"}]},
            "DRS.M00269",
            "The tag key must be unique.",
        ),
        ({**BASE, "tags": [{"key": "k" * 37}]}, "DRS.M00270", None),
        ({**BASE, "tags": {"env": "v" * 44}}, "DRS.M00270", None),
        ({**BASE, "tags": {f"k{i}": "v" for i in range(21)}}, "DRS.M00271", None),
    ],
)
async def test_validation(drs: Drs, body: dict[str, Any], code: str, message: str | None) -> None:
    response = await drs.list_jobs(body)
    assert response.status_code == 400, response.text
    assert response.json()["error_code"] == code
    if message is not None:
        assert response.json()["error_msg"] == message
    assert "jobs" not in response.json()


@pytest.mark.parametrize("body", [b"not json", b"[]", b'"x"'])
async def test_body_not_an_object(drs: Drs, body: bytes) -> None:
    response = await drs.client.post(
        f"/v3/{PROJECT}/jobs",
        content=body,
        headers={"X-Auth-Token": TOKEN, "Content-Type": "application/json"},
    )
    assert (response.status_code, response.json()["error_code"]) == (400, "DRS.M00007")


async def test_headers_and_methods(drs: Drs) -> None:
    url = f"/v3/{PROJECT}/jobs"
    wrong = await drs.client.get(url, headers={"X-Auth-Token": TOKEN})
    assert (wrong.status_code, wrong.headers["Allow"]) == (405, "POST")
    language = await drs.client.post(
        url, json=BASE, headers={"X-Auth-Token": TOKEN, "X-Language": "fr"}
    )
    assert (language.status_code, language.json()["error_code"]) == (400, "DRS.M00202")
    anonymous = await drs.client.post(url, json=BASE)
    assert (anonymous.status_code, anonymous.json()["error_code"]) == (401, "APIGW.0301")
    assert (await drs.client.post(url + "/", json=BASE)).status_code == 404


async def test_the_pages_example_request(drs: Drs) -> None:
    # Empty strings are "no filter" (drs_03_0138's example request, verbatim).
    body = {
        "cur_page": 1, "db_use_type": "migration", "engine_type": "", "name": "",
        "net_type": "", "per_page": 5, "status": "",
    }  # fmt: skip
    response = await drs.list_jobs(body)
    assert response.status_code == 200
    answer = response.json()
    assert set(answer) == {"total_record", "jobs"}
    assert answer["total_record"] == 3
    assert {job["id"] for job in answer["jobs"]} == {JOB_A, JOB_B, JOB_C}


async def test_optional_page_fields(drs: Drs, sim: RunningSimulator) -> None:
    sim.seed_many(25)
    sim.configure(list_page_required=False)
    answer = (await drs.list_jobs({"db_use_type": "migration"})).json()
    assert (answer["total_record"], len(answer["jobs"])) == (28, 10)  # per_page default 10
    answer = (await drs.list_jobs({"db_use_type": "migration", "cur_page": 3})).json()
    assert len(answer["jobs"]) == 8


# --- the answer ---------------------------------------------------------------------------------


async def test_job_info_fields_and_defaults(drs: Drs, sim: RunningSimulator) -> None:
    response = await drs.list_jobs(name=JOB_A)
    (job,) = response.json()["jobs"]
    assert set(job) == JOB_INFO_FIELDS
    assert job["id"] == JOB_A
    assert job["name"] == f"DRS-{JOB_A[:8]}"
    assert job["status"] == "INCRE_TRANSFER_STARTED"
    assert job["db_use_type"] == "migration"
    assert (job["engine_type"], job["net_type"]) == ("mysql", "eip")
    assert CREATE_TIME.match(job["create_time"])
    assert job["description"] == ""
    assert len(response.headers["X-Request-Id"]) == 32


async def test_seeded_fields(drs: Drs, sim: RunningSimulator) -> None:
    sim.seed(
        [
            {
                "id": JOB_A,
                "name": "orders-sync",
                "description": "orders to the cloud",
                "db_use_type": "sync",
                "engine_type": "postgresql",
                "net_type": "vpn",
                "tags": [{"key": "team", "value": "db"}],
                "create_time": "2024-02-03T04:05:06Z",
            }
        ]
    )
    (job,) = (await drs.list_jobs(db_use_type="sync")).json()["jobs"]
    assert job["name"] == "orders-sync" and job["description"] == "orders to the cloud"
    assert (job["engine_type"], job["net_type"]) == ("postgresql", "vpn")
    assert job["create_time"] == "2024-02-03 04:05:06"
    assert sim.task(JOB_A).tags == {"team": "db"}


async def test_status_follows_the_state_machine(drs: Drs, sim: RunningSimulator) -> None:
    await drs.pause(JOB_A)
    assert await drs.listed(status="PAUSING") == [JOB_A]
    assert await drs.listed(status="PAUSEING") == [JOB_A]  # the other spelling
    sim.configure(paused_spelling="PAUSEING")  # batch-status only
    (job,) = (await drs.list_jobs(name=JOB_A)).json()["jobs"]
    assert job["status"] == "PAUSING"


async def test_newest_first(drs: Drs, sim: RunningSimulator) -> None:
    sim.seed(
        [
            {"id": JOB_A, "create_time": "2024-01-02 00:00:00"},
            {"id": JOB_B, "create_time": "2024-01-03 00:00:00"},
            {"id": JOB_C, "create_time": "2024-01-01 00:00:00"},
        ]
    )
    assert await drs.listed() == [JOB_B, JOB_A, JOB_C]


async def test_projects(drs: Drs, sim: RunningSimulator) -> None:
    # JOB_C belongs to PROJECT; tasks without a project are seen from every project.
    assert set(await drs.listed()) == {JOB_A, JOB_B, JOB_C}
    drs.project = OTHER_PROJECT
    assert set(await drs.listed()) == {JOB_A, JOB_B}


# --- paging -------------------------------------------------------------------------------------


@pytest.fixture
async def many(sim: RunningSimulator) -> list[str]:
    """250 tasks (replacing the default ones), oldest first."""
    return sim.seed_many(250, replace=True)


async def test_paging(drs: Drs, many: list[str]) -> None:
    newest_first = many[::-1]
    for per_page, cur_page, expected in [
        (100, 1, newest_first[:100]),
        (100, 2, newest_first[100:200]),
        (100, 3, newest_first[200:]),
        (100, 4, []),
        (100, 99, []),
        (7, 2, newest_first[7:14]),
        (1, 250, newest_first[249:]),
        (0, 1, newest_first),  # per_page 0: everything
        (0, 0, newest_first),
        (10, 0, newest_first),  # cur_page 0: everything
    ]:
        answer = (await drs.list_jobs(per_page=per_page, cur_page=cur_page)).json()
        assert answer["total_record"] == 250
        assert [job["id"] for job in answer["jobs"]] == expected, (per_page, cur_page)


async def test_per_page_bounds(drs: Drs, many: list[str]) -> None:
    assert len(await drs.listed(per_page=100)) == 100
    assert len(await drs.listed(per_page=0)) == 250
    too_many = await drs.list_jobs(per_page=101)
    assert (too_many.status_code, too_many.json()["error_code"]) == (400, "DRS.M00211")


async def test_total_record_counts_the_filtered_tasks(
    drs: Drs, sim: RunningSimulator, many: list[str]
) -> None:
    sim.seed_many(30, prefix="sync", fields={"db_use_type": "sync"})
    answer = (await drs.list_jobs(db_use_type="sync", per_page=10)).json()
    assert (answer["total_record"], len(answer["jobs"])) == (30, 10)
    assert (await drs.list_jobs(db_use_type="cloudDataGuard")).json() == {
        "total_record": 0,
        "jobs": [],
    }


# --- filters ------------------------------------------------------------------------------------


@pytest.fixture
def catalogue(sim: RunningSimulator) -> None:
    sim.seed(
        [
            {
                "id": JOB_A,
                "name": "Orders-Migration",
                "engine_type": "mysql",
                "net_type": "eip",
                "tags": {"env": "prod", "team": "db"},
            },
            {
                "id": JOB_B,
                "name": "orders-sync",
                "db_use_type": "sync",
                "engine_type": "postgresql",
                "net_type": "vpc",
                "status": "INCRE_TRANSFER_FAILED",
                "tags": {"env": "test"},
                "enterprise_project_id": "eps-1",
            },
            {
                "id": JOB_C,
                "name": "billing",
                "engine_type": "mongodb",
                "net_type": "vpn",
                "status": "PAUSING",
                "tags": {"env": "prod"},
            },
        ],
        replace=True,
    )


@pytest.mark.usefixtures("catalogue")
@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({}, {JOB_A, JOB_C}),
        ({"db_use_type": "sync"}, {JOB_B}),
        ({"name": "orders"}, {JOB_A}),  # a part of the name, any case
        ({"name": "ORDERS-MIG"}, {JOB_A}),
        ({"name": "bill"}, {JOB_C}),
        ({"name": JOB_C}, {JOB_C}),  # the id
        ({"name": JOB_C[:8]}, set()),  # ids match whole only
        ({"name": f"{JOB_A},{JOB_C}"}, {JOB_A, JOB_C}),  # several ids (Huawei)
        ({"name": "nothing"}, set()),
        ({"status": "PAUSING"}, {JOB_C}),
        ({"status": "INCRE_TRANSFER_STARTED"}, {JOB_A}),
        ({"status": "INCRE_TRANSFER_FAILED"}, set()),  # that one is a sync task
        ({"engine_type": "mongodb"}, {JOB_C}),
        ({"engine_type": "postgresql"}, set()),
        ({"net_type": "eip"}, {JOB_A}),
        ({"tags": [{"key": "env", "value": "prod"}]}, {JOB_A, JOB_C}),
        ({"tags": [{"key": "env", "value": "prod"}, {"key": "team", "value": "db"}]}, {JOB_A}),
        ({"tags": [{"key": "team"}]}, {JOB_A}),  # key only
        ({"tags": [{"value": "prod"}]}, {JOB_A, JOB_C}),  # value only
        ({"tags": [{"key": "env", "value": "test"}]}, set()),
        ({"tags": {"env": "prod", "team": "db"}}, {JOB_A}),  # the SDK's {key: value} form
        ({"tags": []}, {JOB_A, JOB_C}),
        ({"tags": None, "status": None, "name": None}, {JOB_A, JOB_C}),
        ({"enterprise_project_id": "0"}, {JOB_A, JOB_C}),
        ({"enterprise_project_id": "eps-1"}, set()),
        ({"service_name": "eps"}, {JOB_A, JOB_C}),  # accepted, not a filter
        ({"name": "orders", "engine_type": "mysql", "net_type": "eip"}, {JOB_A}),
        ({"instance_ip": "10.0.0.1"}, {JOB_A, JOB_C}),  # unknown fields are ignored
    ],
)
async def test_filters(drs: Drs, filters: dict[str, Any], expected: set[str]) -> None:
    assert set(await drs.listed(**filters)) == expected


@pytest.mark.usefixtures("catalogue")
async def test_filters_on_sync_tasks(drs: Drs) -> None:
    assert await drs.listed(db_use_type="sync", status="INCRE_TRANSFER_FAILED") == [JOB_B]
    assert await drs.listed(db_use_type="sync", enterprise_project_id="eps-1") == [JOB_B]
    assert await drs.listed(db_use_type="sync", tags={"env": "test"}) == [JOB_B]


# --- faults -------------------------------------------------------------------------------------


async def test_faults_on_the_list(drs: Drs, sim: RunningSimulator) -> None:
    sim.add_fault(kind="http_error", endpoint="list", status=503)
    assert (await drs.pause(JOB_A)).status_code == 200  # other endpoints unaffected
    assert (await drs.list_jobs()).status_code == 503
    sim.add_fault(kind="missing_results", endpoint="list", omit="key")
    assert (await drs.list_jobs()).json() == {"total_record": 3}
    sim.add_fault(kind="missing_results", endpoint="list", omit="all")
    assert (await drs.list_jobs()).json() == {"total_record": 3, "jobs": []}
    sim.add_fault(kind="missing_results", endpoint="list", job_id=None, omit="some")
    assert len((await drs.list_jobs()).json()["jobs"]) < 3
    sim.add_fault(kind="busy", endpoint="list")
    assert (await drs.list_jobs()).status_code == 202
    assert [c["endpoint"] for c in sim.calls()][-5:] == ["list"] * 5
    assert sim.calls("list")[-2]["listed"] == 3


async def test_no_job_error_on_the_list(client: httpx.AsyncClient) -> None:
    response = await client.post("/admin/faults", json={"kind": "job_error", "endpoint": "list"})
    assert response.status_code == 400


# --- seeding ------------------------------------------------------------------------------------


async def test_bulk_seed_over_the_admin_api(drs: Drs, client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/admin/tasks/bulk",
        json={
            "count": 250,
            "prefix": "load",
            "statuses": ["INCRE_TRANSFER_STARTED", "PAUSING"],
            "create_time": "2024-05-01 12:00:00",
            "fields": {"project_id": PROJECT, "engine_type": "mysql", "tags": {"env": "load"}},
        },
    )
    assert response.status_code == 200
    ids = response.json()["ids"]
    assert response.json()["count"] == 250 == len(set(ids))
    assert all(JOB_ID_RE.match(i) for i in ids)
    tasks = {t["id"]: t for t in (await client.get("/admin/tasks")).json()["tasks"]}
    first, second = tasks[ids[0]], tasks[ids[1]]
    assert (first["name"], first["status"], first["create_time"]) == (
        "load-00000", "INCRE_TRANSFER_STARTED", "2024-05-01 12:00:00",
    )  # fmt: skip
    assert (second["status"], second["create_time"]) == ("PAUSING", "2024-05-01 12:00:01")
    assert first["tags"] == {"env": "load"} and first["project_id"] == PROJECT
    assert len(await drs.listed(per_page=0, tags={"env": "load"})) == 250
    assert len(await drs.listed(per_page=0, status="PAUSING")) == 125
    # Ids are stable: the same prefix and index give the same task (replaced, not added).
    again = await client.post("/admin/tasks/bulk", json={"count": 5, "prefix": "load"})
    assert again.json()["ids"] == ids[:5]
    replaced = await client.post("/admin/tasks/bulk", json={"count": 2, "replace": True})
    assert (await client.get("/admin/tasks")).json()["count"] == 2
    assert replaced.json()["count"] == 2


@pytest.mark.parametrize(
    "body",
    [
        {"count": 0},
        {"count": 100_001},
        {},
        [],
        {"count": 3, "fields": {"engine_type": "oracle"}},
        {"count": 3, "fields": {"id": 5}},
        {"count": 3, "statuses": ["paused"]},
        {"count": 3, "statuses": []},
        {"count": 3, "create_time": "yesterday"},
        {"count": 3, "colour": "red"},
    ],
)
async def test_bulk_seed_validation(client: httpx.AsyncClient, body: Any) -> None:
    response = await client.post("/admin/tasks/bulk", json=body)
    assert response.status_code == 400
    assert response.json()["error_code"] == "SIM.BadRequest"


@pytest.mark.parametrize(
    "task",
    [
        {"id": JOB_A, "engine_type": "oracle"},
        {"id": JOB_A, "db_use_type": "backup"},
        {"id": JOB_A, "net_type": "lan"},
        {"id": JOB_A, "tags": "env"},
        {"id": JOB_A, "tags": {"k" * 37: "v"}},
        {"id": JOB_A, "tags": [{"value": "v"}]},
        {"id": JOB_A, "create_time": "soon"},
        {"id": JOB_A, "resume_outcome": "later"},
        {"id": JOB_A, "name": ""},
    ],
)
async def test_seed_validation(client: httpx.AsyncClient, task: dict[str, Any]) -> None:
    response = await client.post("/admin/tasks", json=[task])
    assert response.status_code == 400, task


def test_jobs_file_with_list_fields(tmp_path: Path) -> None:
    path = tmp_path / "jobs.json"
    path.write_text(
        json.dumps(
            [
                {"id": JOB_A},
                {
                    "id": JOB_B,
                    "status": "PAUSING",
                    "name": "orders",
                    "db_use_type": "cloudDataGuard",
                    "engine_type": "cloudDataGuard-mysql",
                    "tags": [{"key": "env", "value": "prod"}],
                    "create_time": "2023-12-31 23:59:59",
                    "resume_outcome": "stuck",
                },
            ]
        )
    )
    plain, full = load_jobs(path)
    assert (plain.name, plain.db_use_type, plain.engine_type, plain.tags) == (
        None, "migration", "mysql", {},
    )  # fmt: skip
    assert full.tags == {"env": "prod"} and full.create_time == "2023-12-31 23:59:59"
    assert (full.db_use_type, full.resume_outcome) == ("cloudDataGuard", "stuck")
