"""Fidelity: the official Huawei Cloud Python SDK talks to the simulator.

Nobody here wrote the SDK: if it can sign (AK/SK), pause, list statuses, resume, read progress and
replication delay, list the tenant's tasks and parse the simulator's errors into its documented
exceptions, the simulator speaks the real wire protocol.
The SDK is synchronous, so each call runs in a thread against an in-process simulator.
"""

from __future__ import annotations

import asyncio
import json
import warnings
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

import pytest
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.exceptions.exceptions import (
    ClientRequestException,
    ServerResponseException,
)
from huaweicloudsdkcore.http.http_config import HttpConfig
from huaweicloudsdkdrs.v3 import (
    BatchListJobStatusRequest,
    BatchListProgressesRequest,
    BatchPauseJobReq,
    BatchQueryJobReqPage,
    BatchQueryProgressReq,
    BatchRestoreTaskRequest,
    BatchRetryReq,
    BatchStopJobsRequest,
    DrsClient,
    PageReq,
    PauseInfo,
    QueryJobsReq,
    RetryInfo,
    ShowJobListRequest,
)

from drs_pause_operator.dev.simulator.testing import RunningSimulator, running_simulator

PROJECT = "054ba152d480d55b2f5dc0069e7ddef0"
AK, SK = "AKSDKFIDELITY0001", "sk-fidelity-secret"
JOB = "8d0e8e36-a618-490d-8a46-8c61ac9jb502"
JOB_2 = "11111111-2222-3333-4444-555555555555"
UNKNOWN = "99999999-9999-9999-9999-99999999zzzz"
T = TypeVar("T")

# The SDK marks these calls deprecated (the API is still the documented one).
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    # requests honours proxy variables: keep loopback traffic local.
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


@pytest.fixture
async def sim() -> AsyncIterator[RunningSimulator]:
    tasks = [
        {"id": JOB, "status": "INCRE_TRANSFER_STARTED", "project_id": PROJECT},
        {"id": JOB_2, "status": "FULL_TRANSFER_COMPLETE"},
    ]
    async with running_simulator(tasks=tasks, access_keys={AK: SK}) as running:
        yield running


def make_client(url: str, ak: str = AK, sk: str = SK, security_token: str | None = None) -> Any:
    config = HttpConfig.get_default_config()
    config.timeout = (5, 10)
    credentials = BasicCredentials(ak, sk, PROJECT)  # a project id: no IAM lookup, no network
    if security_token:
        credentials.with_security_token(security_token)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return (
            DrsClient.new_builder()
            .with_http_config(config)
            .with_credentials(credentials)
            .with_endpoints([url])
            .build()
        )


async def call(fn: Callable[..., T], *args: Any) -> T:
    return await asyncio.wait_for(asyncio.to_thread(fn, *args), timeout=20)


def pause_request(*jobs: tuple[str, str]) -> BatchStopJobsRequest:
    infos = [PauseInfo(job_id=job_id, pause_mode=mode) for job_id, mode in jobs]
    return BatchStopJobsRequest(body=BatchPauseJobReq(jobs=infos))


def status_request(*ids: str) -> BatchListJobStatusRequest:
    page = PageReq(cur_page=1, per_page=0)
    return BatchListJobStatusRequest(body=BatchQueryJobReqPage(jobs=list(ids), page_req=page))


async def test_pause_status_resume(sim: RunningSimulator) -> None:
    client = make_client(sim.url)
    paused = await call(client.batch_stop_jobs, pause_request((JOB, "target"), (JOB_2, "all")))
    assert paused.count == 2
    assert {(r.id, r.status) for r in paused.results} == {(JOB, "success"), (JOB_2, "success")}
    assert sim.task(JOB).pause_mode == "target"
    assert sim.task(JOB_2).pause_mode == "all"
    assert sim.calls()[0]["auth"] == {"kind": "aksk", "id": AK}

    statuses = await call(client.batch_list_job_status, status_request(JOB, JOB_2, UNKNOWN))
    assert statuses.count == 3
    by_id = {r.id: r for r in statuses.results}
    assert by_id[JOB].status == by_id[JOB_2].status == "PAUSING"
    assert by_id[UNKNOWN].error_code == "DRS.M05003"
    assert by_id[UNKNOWN].error_message == "Task information not found."

    resumed = await call(
        client.batch_restore_task, BatchRestoreTaskRequest(body=BatchRetryReq([RetryInfo(JOB)]))
    )
    assert [(r.id, r.status) for r in resumed.results] == [(JOB, "success")]
    assert sim.task(JOB).status == "INCRE_TRANSFER_STARTED"


async def test_per_job_failure_is_not_an_exception(sim: RunningSimulator) -> None:
    client = make_client(sim.url)
    await call(client.batch_stop_jobs, pause_request((JOB, "target")))
    again = await call(client.batch_stop_jobs, pause_request((JOB, "target")))
    result = again.results[0]
    assert (result.status, result.error_code) == ("failed", "DRS.M00304")
    assert result.error_msg == "This API cannot be called in the current task status."


async def test_temporary_credentials(sim: RunningSimulator) -> None:
    client = make_client(sim.url, security_token="temporary-security-token")
    paused = await call(client.batch_stop_jobs, pause_request((JOB, "target")))
    assert paused.results[0].status == "success"


@pytest.mark.parametrize(
    ("jobs", "status", "code"),
    [
        ([("not-a-uuid", "target")], 400, "DRS.M00202"),
        ([(JOB, "sometimes")], 400, "DRS.M00202"),  # the SDK does not check the enum
        ([(JOB, "target"), (JOB, "all")], 400, "DRS.M00301"),
        ([(UNKNOWN, "target"), (JOB, "target")], 400, "DRS.M00289"),
    ],
)
async def test_bad_input_raises_client_request_exception(
    sim: RunningSimulator, jobs: list[tuple[str, str]], status: int, code: str
) -> None:
    client = make_client(sim.url)
    with pytest.raises(ClientRequestException) as info:
        await call(client.batch_stop_jobs, pause_request(*jobs))
    assert info.value.status_code == status
    assert info.value.error_code == code
    assert len(info.value.request_id) == 32
    assert info.value.request_id == sim.calls()[-1]["request_id"]
    assert sim.task(JOB).pause_count == 0


async def test_wrong_aksk(sim: RunningSimulator) -> None:
    for ak, sk in [(AK, "wrong-secret"), ("AKUNKNOWN", SK)]:
        client = make_client(sim.url, ak, sk)
        with pytest.raises(ClientRequestException) as info:
            await call(client.batch_stop_jobs, pause_request((JOB, "target")))
        assert info.value.status_code == 401
        assert info.value.error_code == "APIGW.0301"
        assert "verify aksk signature fail" in info.value.error_msg
    assert sim.task(JOB).pause_count == 0


async def test_wrong_project(sim: RunningSimulator) -> None:
    client = make_client(sim.url)
    client.get_credentials().project_id = "0aa0bb0cc0dd0ee0ff00112233445566"
    with pytest.raises(ClientRequestException) as info:
        await call(client.batch_stop_jobs, pause_request((JOB, "target")))
    # The task belongs to another project: unknown there.
    assert (info.value.status_code, info.value.error_code) == (400, "DRS.M00289")


async def test_server_errors_and_throttling(sim: RunningSimulator) -> None:
    client = make_client(sim.url)
    sim.add_fault(kind="http_error", endpoint="pause", status=500, error_code="DRS.M00004")
    with pytest.raises(ServerResponseException) as server:
        await call(client.batch_stop_jobs, pause_request((JOB, "target")))
    assert (server.value.status_code, server.value.error_code) == (500, "DRS.M00004")

    sim.add_fault(kind="rate_limit", endpoint="pause", retry_after=3)
    with pytest.raises(ClientRequestException) as throttled:
        await call(client.batch_stop_jobs, pause_request((JOB, "target")))
    assert (throttled.value.status_code, throttled.value.error_code) == (429, "APIGW.0308")
    assert sim.task(JOB).pause_count == 0


# --- resume: batch_restore_task (POST /v3/{project_id}/jobs/batch-retry-task) --------------------


def resume_request(*ids: str, re_edit: bool | None = True) -> BatchRestoreTaskRequest:
    infos = [RetryInfo(job_id=job_id, is_sync_re_edit=re_edit) for job_id in ids]
    return BatchRestoreTaskRequest(body=BatchRetryReq(jobs=infos))


async def test_resume_a_paused_task(sim: RunningSimulator) -> None:
    client = make_client(sim.url)
    sim.seed([{"id": JOB_2, "status": "PAUSING", "status_before_pause": "FULL_TRANSFER_COMPLETE"}])
    resumed = await call(client.batch_restore_task, resume_request(JOB_2))
    assert resumed.count == 1
    assert [(r.id, r.status, r.error_code) for r in resumed.results] == [(JOB_2, "success", None)]
    assert sim.task(JOB_2).status == "FULL_TRANSFER_COMPLETE"
    assert sim.task(JOB_2).resume_count == 1
    (entry,) = sim.calls("resume")
    assert (entry["job_ids"], entry["auth"]["kind"]) == ([JOB_2], "aksk")


async def test_resume_with_a_delay(sim: RunningSimulator) -> None:
    client = make_client(sim.url)
    sim.configure(resume_delay_seconds=0.3)
    await call(client.batch_stop_jobs, pause_request((JOB, "all")))
    resumed = await call(client.batch_restore_task, resume_request(JOB))
    assert resumed.results[0].status == "success"
    statuses = await call(client.batch_list_job_status, status_request(JOB))
    assert statuses.results[0].status == "PAUSING"
    await asyncio.sleep(0.35)
    statuses = await call(client.batch_list_job_status, status_request(JOB))
    assert statuses.results[0].status == "INCRE_TRANSFER_STARTED"


async def test_resume_of_a_task_that_is_not_paused(sim: RunningSimulator) -> None:
    client = make_client(sim.url)
    answer = await call(client.batch_restore_task, resume_request(JOB))  # not paused
    (result,) = answer.results
    assert (result.id, result.status, result.error_code) == (JOB, "failed", "DRS.M00304")
    assert result.error_msg == "This API cannot be called in the current task status."
    assert sim.task(JOB).resume_count == 0


@pytest.mark.parametrize(
    ("ids", "re_edit", "code"),
    [
        (["not-a-uuid"], True, "DRS.M00202"),
        ([JOB], False, "DRS.M00202"),  # "must be set to true"
        ([JOB, JOB], True, "DRS.M00301"),
        ([UNKNOWN, JOB], True, "DRS.M00289"),
    ],
)
async def test_resume_bad_input_raises(
    sim: RunningSimulator, ids: list[str], re_edit: bool, code: str
) -> None:
    client = make_client(sim.url)
    with pytest.raises(ClientRequestException) as info:
        await call(client.batch_restore_task, resume_request(*ids, re_edit=re_edit))
    assert (info.value.status_code, info.value.error_code) == (400, code)
    assert info.value.request_id == sim.calls()[-1]["request_id"]


async def test_unknown_id_with_a_results_only_body(sim: RunningSimulator) -> None:
    # The SDK finds no top-level error_code: it falls back to the HTTP status and the raw body.
    sim.configure(not_found_body="results-only")
    client = make_client(sim.url)
    with pytest.raises(ClientRequestException) as info:
        await call(client.batch_restore_task, resume_request(UNKNOWN))
    assert (info.value.status_code, info.value.error_code) == (400, "400")
    body = json.loads(info.value.error_msg)
    assert body["results"][0]["error_code"] == "DRS.M00289" and "error_code" not in body


async def test_busy_202_is_no_exception_for_the_sdk(sim: RunningSimulator) -> None:
    # A 202 with a top-level DRS.M01504 and no results: the SDK raises nothing and gives no
    # results; a caller must not read that as success.
    sim.add_fault(kind="busy", endpoint="resume")
    client = make_client(sim.url)
    sim.seed([{"id": JOB_2, "status": "PAUSING"}])
    answer = await call(client.batch_restore_task, resume_request(JOB_2))
    assert answer.results is None
    assert sim.task(JOB_2).status == "PAUSING"


async def test_server_error_on_resume(sim: RunningSimulator) -> None:
    sim.add_fault(kind="http_error", endpoint="resume", status=500, error_code="DRS.M00004")
    client = make_client(sim.url)
    with pytest.raises(ServerResponseException) as info:
        await call(client.batch_restore_task, resume_request(JOB))
    assert (info.value.status_code, info.value.error_code) == (500, "DRS.M00004")


# --- the tenant task list: show_job_list (POST /v3/{project_id}/jobs) --------------------------


def list_request(**fields: Any) -> ShowJobListRequest:
    body = {"cur_page": 1, "per_page": 100, "db_use_type": "migration", **fields}
    return ShowJobListRequest(body=QueryJobsReq(**body))


async def test_list_tasks(sim: RunningSimulator) -> None:
    client = make_client(sim.url)
    sim.seed(
        [
            {
                "id": JOB,
                "project_id": PROJECT,
                "name": "orders-to-cloud",
                "tags": {"env": "prod"},
                "create_time": "2024-03-01 10:00:00",
            },
            {"id": JOB_2, "db_use_type": "sync", "engine_type": "postgresql"},
        ]
    )
    answer = await call(client.show_job_list, list_request())
    assert answer.total_record == 1
    (job,) = answer.jobs
    assert (job.id, job.name, job.status) == (JOB, "orders-to-cloud", "INCRE_TRANSFER_STARTED")
    assert (job.create_time, job.db_use_type, job.engine_type) == (
        "2024-03-01 10:00:00", "migration", "mysql",
    )  # fmt: skip
    assert job.node_new_framework is True
    # Filters as the SDK sends them (tags as a {key: value} object).
    by_tag = await call(client.show_job_list, list_request(tags={"env": "prod"}, name="orders"))
    assert [j.id for j in by_tag.jobs] == [JOB]
    assert (await call(client.show_job_list, list_request(tags={"env": "dev"}))).jobs == []
    sync = await call(client.show_job_list, list_request(db_use_type="sync", name=JOB_2))
    assert [(j.id, j.engine_type) for j in sync.jobs] == [(JOB_2, "postgresql")]
    assert sim.calls("list")[-1]["auth"]["kind"] == "aksk"


async def test_list_paging_with_the_sdk(sim: RunningSimulator) -> None:
    client = make_client(sim.url)
    ids = sim.seed_many(250, replace=True)
    seen: list[str] = []
    for page in (1, 2, 3):
        answer = await call(client.show_job_list, list_request(cur_page=page, per_page=100))
        assert answer.total_record == 250
        seen += [j.id for j in answer.jobs]
    assert seen == ids[::-1]  # newest first
    everything = await call(client.show_job_list, list_request(cur_page=0, per_page=10))
    assert len(everything.jobs) == 250


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"per_page": 101}, "DRS.M00211"),
        ({"per_page": -1}, "DRS.M00210"),
        ({"db_use_type": "backup"}, "DRS.M00202"),
        ({"db_use_type": None}, "DRS.M00201"),  # the SDK leaves a None field out
        ({"cur_page": None}, "DRS.M00201"),
        ({"status": "PAUSED"}, "DRS.M00202"),
    ],
)
async def test_list_bad_input_raises(
    sim: RunningSimulator, fields: dict[str, Any], code: str
) -> None:
    client = make_client(sim.url)
    with pytest.raises(ClientRequestException) as info:
        await call(client.show_job_list, list_request(**fields))
    assert (info.value.status_code, info.value.error_code) == (400, code)


# --- progress and replication delay: batch_list_progresses (POST .../jobs/batch-progress) --------


class StoppedClock:
    """The simulator's monotonic clock, moved by the test only: delays are exact."""

    def __init__(self) -> None:
        self.now = 500.0

    def __call__(self) -> float:
        return self.now


def progress_request(*ids: str) -> BatchListProgressesRequest:
    return BatchListProgressesRequest(body=BatchQueryProgressReq(jobs=list(ids)))


async def test_progress_and_delay() -> None:
    clock = StoppedClock()
    tasks = [
        {"id": JOB, "project_id": PROJECT, "delay_seconds": 600},
        {"id": JOB_2, "status": "FULL_TRANSFER_COMPLETE"},
    ]
    async with running_simulator(tasks=tasks, access_keys={AK: SK}, clock=clock) as clocked:
        client = make_client(clocked.url)
        await call(client.batch_stop_jobs, pause_request((JOB, "target")))
        clock.now += 30.25  # paused: the delay grows by 1 s per s
        answer = await call(client.batch_list_progresses, progress_request(JOB, JOB_2, UNKNOWN))
        assert clocked.calls("progress")[-1]["auth"] == {"kind": "aksk", "id": AK}
        computed = {r["job_id"]: r for r in clocked.calls("progress")[-1]["results"]}
    assert answer.count == 3
    by_id = {r.job_id: r for r in answer.results}
    paused = by_id[JOB]
    assert (paused.incre_trans_delay, paused.incre_trans_delay_millis) == ("630", "630250")
    assert paused.incre_trans_delay == computed[JOB]["incre_trans_delay"]
    assert (paused.transfer_status, paused.task_mode, paused.progress) == (
        "PAUSING", "FULL_INCR_TRANS", "100")  # fmt: skip
    assert (paused.apply_rows_rate, paused.apply_bytes_rate) == (0, 0)
    assert paused.progress_map["data"].completed == "100%"
    assert paused.error_code is None
    full = by_id[JOB_2]
    assert (full.incre_trans_delay, full.apply_rows_rate) == ("-1", -1)
    unknown = by_id[UNKNOWN]
    assert (unknown.error_code, unknown.error_msg) == ("DRS.M05003", "Task information not found.")
    assert unknown.incre_trans_delay is None and unknown.transfer_status is None


@pytest.mark.parametrize(
    ("ids", "code"),
    [([], "DRS.M00201"), (["not-a-uuid"], "DRS.M00202"), ([JOB, JOB], "DRS.M00301")],
)
async def test_progress_bad_input_raises(sim: RunningSimulator, ids: list[str], code: str) -> None:
    client = make_client(sim.url)
    with pytest.raises(ClientRequestException) as info:
        await call(client.batch_list_progresses, progress_request(*ids))
    assert (info.value.status_code, info.value.error_code) == (400, code)
    assert info.value.request_id == sim.calls("progress")[-1]["request_id"]


async def test_progress_server_error(sim: RunningSimulator) -> None:
    sim.add_fault(kind="http_error", endpoint="progress", status=503, error_code="DRS.M00004")
    client = make_client(sim.url)
    with pytest.raises(ServerResponseException) as info:
        await call(client.batch_list_progresses, progress_request(JOB))
    assert (info.value.status_code, info.value.error_code) == (503, "DRS.M00004")
