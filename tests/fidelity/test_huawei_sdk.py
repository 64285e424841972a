"""Fidelity: the official Huawei Cloud Python SDK talks to the simulator.

Nobody here wrote the SDK: if it can sign (AK/SK), pause, list statuses, resume and parse the
simulator's errors into its documented exceptions, the simulator speaks the real wire protocol.
The SDK is synchronous, so each call runs in a thread against an in-process simulator.
"""

from __future__ import annotations

import asyncio
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
    BatchPauseJobReq,
    BatchQueryJobReqPage,
    BatchRestoreTaskRequest,
    BatchRetryReq,
    BatchStopJobsRequest,
    DrsClient,
    PageReq,
    PauseInfo,
    RetryInfo,
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
