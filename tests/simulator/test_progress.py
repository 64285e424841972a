"""batch-progress: the replication delay's maths, the answer's fields, validation, the admin
call that sets a delay, the knobs, the call log and faults."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from drs_pause_operator.dev.simulator.cli import SetupError, load_jobs
from drs_pause_operator.dev.simulator.delay import DelayRates, ReplicationDelay
from drs_pause_operator.dev.simulator.testing import (
    RunningSimulator,
    SimulatorProcess,
    running_simulator,
)

from .helpers import (
    DEFAULT_TASKS,
    JOB_A,
    JOB_B,
    JOB_C,
    OTHER_PROJECT,
    PROJECT,
    TIMEOUT,
    TOKEN,
    UNKNOWN,
    Drs,
)

# QueryProgressResp of the Huawei SDK, without error_code / error_msg (unknown ids only).
PROGRESS_FIELDS = {
    "job_id", "progress", "incre_trans_delay", "incre_trans_delay_millis", "task_mode",
    "transfer_status", "process_time", "remaining_time", "progress_map", "apply_rows_rate",
    "apply_bytes_rate",
}  # fmt: skip


class Clock:
    """The simulator's monotonic clock, moved by the test only."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def csim(clock: Clock) -> AsyncIterator[RunningSimulator]:
    async with running_simulator(
        tasks=DEFAULT_TASKS, tokens=[TOKEN], seed=7, clock=clock
    ) as running:
        yield running


@pytest.fixture
async def cdrs(csim: RunningSimulator) -> AsyncIterator[Drs]:
    async with httpx.AsyncClient(base_url=csim.url, timeout=TIMEOUT) as http:
        yield Drs(http)


async def one(drs: Drs, job_id: str) -> dict[str, Any]:
    response = await drs.progress(job_id)
    assert response.status_code == 200, response.text
    (result,) = response.json()["results"]
    return result


async def ok(response: httpx.Response) -> httpx.Response:
    assert response.status_code == 200, response.text
    return response


# --- the maths ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "motion", "elapsed", "rates", "expected"),
    [
        (0.0, "grows", 90, DelayRates(), 90.0),
        (10.0, "grows", 10, DelayRates(growth=2.5), 35.0),
        (100.0, "shrinks", 3, DelayRates(), 70.0),
        (100.0, "shrinks", 300, DelayRates(), 0.0),  # never below the floor
        (100.0, "shrinks", 300, DelayRates(floor=7), 7.0),
        (3.0, "shrinks", 10, DelayRates(floor=7), 3.0),  # already under the floor: stays
        (50.0, "still", 1000, DelayRates(), 50.0),
        (50.0, "grows", -5, DelayRates(), 50.0),  # a reading from the past changes nothing
    ],
)
def test_delay_moves_linearly(
    start: float, motion: Any, elapsed: float, rates: DelayRates, expected: float
) -> None:
    delay = ReplicationDelay(seconds=start, stamp=100.0)
    delay.advance(100.0 + elapsed, motion, rates)
    assert delay.seconds == pytest.approx(expected)


def test_per_task_rates_override_the_simulator_wide_ones() -> None:
    delay = ReplicationDelay(seconds=10.0, stamp=0.0, growth=0.5, catch_up=1.0)
    delay.advance(10.0, "grows", DelayRates(growth=100, catch_up=100))
    assert delay.seconds == pytest.approx(15.0)
    delay.advance(20.0, "shrinks", DelayRates(growth=100, catch_up=100))
    assert delay.seconds == pytest.approx(5.0)


async def test_delay_grows_while_paused_and_shrinks_after_resume_to_the_floor(
    cdrs: Drs, clock: Clock
) -> None:
    assert await cdrs.delays(JOB_A) == {JOB_A: "0"}
    await ok(await cdrs.pause(JOB_A))
    clock.advance(90)
    paused = await one(cdrs, JOB_A)
    assert (paused["transfer_status"], paused["incre_trans_delay"]) == ("PAUSING", "90")
    assert paused["incre_trans_delay_millis"] == "90000"
    assert (paused["apply_rows_rate"], paused["apply_bytes_rate"]) == (0, 0)  # applies nothing
    clock.advance(30.5)
    assert (await one(cdrs, JOB_A))["incre_trans_delay_millis"] == "120500"
    assert (await one(cdrs, JOB_A))["incre_trans_delay"] == "120"  # whole seconds, rounded down
    await ok(await cdrs.resume(JOB_A))
    clock.advance(2)
    resumed = await one(cdrs, JOB_A)
    assert (resumed["transfer_status"], resumed["incre_trans_delay"]) == (
        "INCRE_TRANSFER_STARTED", "100")  # fmt: skip
    assert resumed["apply_rows_rate"] > 0
    clock.advance(10)
    assert (await one(cdrs, JOB_A))["incre_trans_delay_millis"] == "500"
    clock.advance(100)
    assert await cdrs.delays(JOB_A) == {JOB_A: "0"}  # the floor, not below


async def test_growth_catch_up_and_floor_are_settings(
    csim: RunningSimulator, cdrs: Drs, clock: Clock
) -> None:
    csim.configure(
        delay_growth_per_second=3, delay_catch_up_per_second=2, delay_floor_seconds=5
    )
    await ok(await cdrs.pause(JOB_A))
    clock.advance(10)
    assert await cdrs.delays(JOB_A) == {JOB_A: "30"}
    await ok(await cdrs.resume(JOB_A))
    clock.advance(5)
    assert await cdrs.delays(JOB_A) == {JOB_A: "20"}
    clock.advance(100)
    assert await cdrs.delays(JOB_A) == {JOB_A: "5"}
    csim.set_delay(JOB_A, delay_seconds=1)  # below the floor: stays there
    clock.advance(10)
    assert await cdrs.delays(JOB_A) == {JOB_A: "1"}


async def test_a_new_rate_applies_from_then_on(
    csim: RunningSimulator, cdrs: Drs, clock: Clock
) -> None:
    await ok(await cdrs.pause(JOB_A))
    clock.advance(10)
    csim.configure(delay_growth_per_second=5)  # no read in between: the store settles first
    clock.advance(10)
    assert await cdrs.delays(JOB_A) == {JOB_A: "60"}


async def test_turning_points_follow_the_pause_and_resume_delays(
    csim: RunningSimulator, cdrs: Drs, clock: Clock
) -> None:
    csim.configure(pause_delay_seconds=5, resume_delay_seconds=4)
    csim.set_delay(JOB_A, delay_seconds=100)
    await ok(await cdrs.pause(JOB_A))
    # Read nothing until long after the task paused: 5 s replicating (-50), then 10 s paused.
    clock.advance(15)
    assert await cdrs.delays(JOB_A) == {JOB_A: "60"}
    await ok(await cdrs.resume(JOB_A))
    clock.advance(6)  # 4 s still paused (+4), then 2 s replicating (-20)
    assert await cdrs.delays(JOB_A) == {JOB_A: "44"}


async def test_delay_does_not_apply_outside_the_incremental_phase(
    csim: RunningSimulator, cdrs: Drs, clock: Clock
) -> None:
    full = await one(cdrs, JOB_B)  # FULL_TRANSFER_STARTED
    assert (full["incre_trans_delay"], full["incre_trans_delay_millis"]) == ("-1", "-1")
    assert (full["apply_rows_rate"], full["apply_bytes_rate"]) == (-1, -1)
    assert (full["progress"], full["task_mode"]) == ("0", "FULL_INCR_TRANS")
    failed = await one(cdrs, JOB_C)  # INCRE_TRANSFER_FAILED
    assert (failed["incre_trans_delay"], failed["progress"]) == ("-1", "100")
    # Paused from the full phase: no delay either, however long.
    await ok(await cdrs.pause(JOB_B))
    clock.advance(600)
    paused = await one(cdrs, JOB_B)
    assert (paused["transfer_status"], paused["incre_trans_delay"]) == ("PAUSING", "-1")
    csim.configure(resume_delay_seconds=5)
    await ok(await cdrs.resume(JOB_B))
    clock.advance(3)  # the resume is pending: still paused from the full phase
    pending = await one(cdrs, JOB_B)
    assert (pending["transfer_status"], pending["incre_trans_delay"]) == ("PAUSING", "-1")
    clock.advance(3)
    resumed = await one(cdrs, JOB_B)
    assert (resumed["transfer_status"], resumed["incre_trans_delay"]) == (
        "FULL_TRANSFER_STARTED", "-1")  # fmt: skip
    # The admin API says the same.
    assert (await cdrs.client.get(f"/admin/tasks/{JOB_B}")).json()["delay_applies"] is False


async def test_seeded_delay_and_rates(csim: RunningSimulator, cdrs: Drs, clock: Clock) -> None:
    csim.seed(
        [{"id": UNKNOWN, "status": "PAUSING", "delay_seconds": 30, "delay_growth_per_second": 0.5}]
    )
    assert await cdrs.delays(UNKNOWN) == {UNKNOWN: "30"}
    clock.advance(10)
    assert await cdrs.delays(UNKNOWN) == {UNKNOWN: "35"}
    await ok(await cdrs.resume(UNKNOWN))  # seeded paused: back to INCRE_TRANSFER_STARTED
    clock.advance(1)
    assert await cdrs.delays(UNKNOWN) == {UNKNOWN: "25"}


# --- the answer --------------------------------------------------------------------------------


async def test_fields_count_and_unknown_ids(drs: Drs, sim: RunningSimulator) -> None:
    response = await drs.progress(JOB_A, UNKNOWN, JOB_C)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"count", "results"}
    assert body["count"] == len(body["results"]) == 3
    known, unknown, scoped = body["results"]
    assert set(known) == PROGRESS_FIELDS
    assert known["job_id"] == JOB_A and known["progress"] == "100"
    assert known["progress_map"]["data"] == {"completed": "100%", "remaining_time": "0"}
    assert abs(int(known["process_time"]) - time.time() * 1000) < 60_000  # ms since the epoch
    assert unknown == {
        "job_id": UNKNOWN,
        "error_code": "DRS.M05003",
        "error_msg": "Task information not found.",
    }
    assert scoped["job_id"] == JOB_C and "error_code" not in scoped  # JOB_C is PROJECT's
    other = Drs(drs.client, project=OTHER_PROJECT)
    (elsewhere,) = (await other.progress(JOB_C)).json()["results"]
    assert elsewhere["error_code"] == "DRS.M05003"


# --- validation: what batch-status refuses, batch-progress refuses with the same code -----------


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"jobs": []}, "DRS.M00201"),
        ({}, "DRS.M00201"),
        ({"jobs": JOB_A}, "DRS.M00201"),
        ({"jobs": [None]}, "DRS.M00201"),
        ({"jobs": [""]}, "DRS.M00201"),
        ({"jobs": [123]}, "DRS.M00202"),
        ({"jobs": ["short"]}, "DRS.M00202"),
        ({"jobs": [{"job_id": JOB_A}]}, "DRS.M00202"),
        ({"jobs": [JOB_A, JOB_A]}, "DRS.M00301"),
        ({"jobs": [JOB_A, JOB_B, JOB_C, UNKNOWN]}, "DRS.M00202"),  # over max_jobs (3 here)
        ("[1]", "DRS.M00007"),
        ("{not json", "DRS.M00007"),
    ],
)
async def test_body_validation_matches_batch_status(
    drs: Drs, sim: RunningSimulator, body: Any, code: str
) -> None:
    sim.configure(max_jobs=3)
    headers = {"Content-Type": "application/json"}
    progress = await drs.post("batch-progress", body, headers=headers)
    status = await drs.post("batch-status", body, headers=headers)
    assert (progress.status_code, progress.json()["error_code"]) == (400, code)
    assert (status.status_code, status.json()["error_code"]) == (400, code)
    assert progress.json()["error_msg"] == status.json()["error_msg"]
    assert len(progress.headers["X-Request-Id"]) == 32


async def test_headers_and_credentials_are_checked(drs: Drs) -> None:
    body = {"jobs": [JOB_A]}
    language = await drs.post("batch-progress", body, headers={"X-Language": "de-de"})
    assert (language.status_code, language.json()["error_code"]) == (400, "DRS.M00202")
    assert (await drs.post("batch-progress", body, headers={"X-Language": "zh-cn"})).is_success
    text = {"Content-Type": "text/plain"}
    plain = await drs.post("batch-progress", json.dumps(body), headers=text)
    assert (plain.status_code, plain.json()["error_code"]) == (400, "DRS.M00007")
    anonymous = await Drs(drs.client, token="").progress(JOB_A)
    assert (anonymous.status_code, anonymous.json()["error_code"]) == (401, "APIGW.0301")
    wrong_method = await drs.client.get(f"/v3/{PROJECT}/jobs/batch-progress")
    assert wrong_method.status_code == 405
    for response in (language, plain, anonymous, wrong_method):
        assert response.headers["X-Request-Id"]


# --- the admin call ----------------------------------------------------------------------------


async def test_admin_sets_a_delay_and_the_rates(
    csim: RunningSimulator, cdrs: Drs, clock: Clock
) -> None:
    admin = cdrs.client
    url = f"/admin/tasks/{JOB_A}/delay"
    answer = await admin.patch(url, json={"delay_seconds": 600})
    assert answer.status_code == 200
    assert (answer.json()["id"], answer.json()["delay_seconds"]) == (JOB_A, 600)
    clock.advance(10)
    assert await cdrs.delays(JOB_A) == {JOB_A: "500"}
    await admin.patch(url, json={"delay_catch_up_per_second": 1})
    clock.advance(10)
    assert await cdrs.delays(JOB_A) == {JOB_A: "490"}
    await admin.patch(url, json={"delay_catch_up_per_second": None})  # the setting again
    clock.advance(10)
    assert await cdrs.delays(JOB_A) == {JOB_A: "390"}
    await admin.patch(url, json={"delay_growth_per_second": 0})
    await ok(await cdrs.pause(JOB_A))
    clock.advance(100)
    task = (await admin.get(f"/admin/tasks/{JOB_A}")).json()
    assert (task["delay_seconds"], task["delay_growth_per_second"]) == (390, 0)
    assert task["delay_catch_up_per_second"] is None and task["delay_applies"] is True


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"delay_seconds": -1},
        {"delay_seconds": None},
        {"delay_seconds": "soon"},
        {"delay_growth_per_second": -0.5},
        {"colour": "red"},
        [600],
    ],
)
async def test_admin_delay_bad_bodies(
    client: httpx.AsyncClient, sim: RunningSimulator, payload: Any
) -> None:
    response = await client.patch(f"/admin/tasks/{JOB_A}/delay", json=payload)
    assert response.status_code == 400
    assert response.json()["error_code"] == "SIM.BadRequest" and response.json()["error_msg"]
    assert sim.task(JOB_A).delay.seconds == 0


async def test_admin_delay_of_an_unknown_task(client: httpx.AsyncClient) -> None:
    response = await client.patch(f"/admin/tasks/{UNKNOWN}/delay", json={"delay_seconds": 1})
    assert response.status_code == 404


# --- call log and faults -----------------------------------------------------------------------


async def test_calls_are_logged_with_what_was_answered(drs: Drs, sim: RunningSimulator) -> None:
    await drs.progress(JOB_A, UNKNOWN)
    (call,) = sim.calls("progress")
    assert (call["endpoint"], call["status"], call["path"]) == (
        "progress", 200, f"/v3/{PROJECT}/jobs/batch-progress")  # fmt: skip
    assert call["job_ids"] == [JOB_A, UNKNOWN]
    assert call["answered_ids"] == [JOB_A, UNKNOWN]
    assert [r["job_id"] for r in call["results"]] == [JOB_A, UNKNOWN]
    assert len(sim.calls("progress", job_id=UNKNOWN)) == 1
    stats = (await drs.client.get("/admin/stats")).json()
    assert stats["by_endpoint"] == {"progress": 1}
    refused = await drs.post("batch-progress", {"jobs": [JOB_A, JOB_A]})
    assert refused.status_code == 400
    last = sim.calls("progress")[-1]
    assert (last["error_code"], last["job_ids"], last["answered_ids"]) == (
        "DRS.M00301", [JOB_A, JOB_A], [])  # fmt: skip


@pytest.mark.parametrize("operation", ["batch-progress", "batch-status"])
async def test_missing_results_strip_one_job_and_the_log_says_so(
    drs: Drs, sim: RunningSimulator, operation: str
) -> None:
    endpoint = {"batch-progress": "progress", "batch-status": "status"}[operation]
    id_key = {"batch-progress": "job_id", "batch-status": "id"}[operation]
    sim.add_fault(kind="missing_results", endpoint=endpoint, job_id=JOB_B)
    body = {"jobs": [JOB_A, JOB_B], "page_req": {"cur_page": 1, "per_page": 0}}
    answer = (await drs.post(operation, body)).json()
    assert [r[id_key] for r in answer["results"]] == [JOB_A]
    assert answer["count"] == 2  # count stays
    (call,) = sim.calls(endpoint)
    assert call["fault"] == ["missing_results"]
    assert call["answered_ids"] == [JOB_A]  # what went out
    assert [r[id_key] for r in call["results"]] == [JOB_A, JOB_B]  # what was computed


async def test_missing_results_some_and_key(drs: Drs, sim: RunningSimulator) -> None:
    sim.add_fault(kind="missing_results", endpoint="progress", omit="some")
    answer = (await drs.progress(JOB_A, JOB_B, UNKNOWN)).json()
    assert len(answer["results"]) < 3 and answer["count"] == 3
    assert sim.calls("progress")[-1]["answered_ids"] == [r["job_id"] for r in answer["results"]]
    sim.add_fault(kind="missing_results", endpoint="progress", omit="key")
    assert "results" not in (await drs.progress(JOB_A)).json()
    assert sim.calls("progress")[-1]["answered_ids"] == []


async def test_server_errors_latency_throttling_and_lost_answers(
    drs: Drs, sim: RunningSimulator
) -> None:
    sim.add_fault(kind="http_error", endpoint="progress", status=503)
    unavailable = await drs.progress(JOB_A)
    assert unavailable.status_code == 503 and unavailable.headers["X-Request-Id"]
    assert sim.calls("progress")[-1]["answered_ids"] == []
    sim.add_fault(kind="http_error", endpoint="progress", status=500, error_code="DRS.M00004")
    assert (await drs.progress(JOB_A)).json()["error_code"] == "DRS.M00004"
    sim.add_fault(kind="latency", endpoint="progress", latency_ms=250)
    started = time.monotonic()
    assert (await drs.progress(JOB_A)).status_code == 200
    assert time.monotonic() - started >= 0.25
    sim.add_fault(kind="rate_limit", endpoint="progress", retry_after=2)
    throttled = await drs.progress(JOB_A)
    assert (throttled.status_code, throttled.headers["Retry-After"]) == (429, "2")
    sim.add_fault(kind="drop", endpoint="progress", after_processing=True)
    with pytest.raises(httpx.TransportError):
        await drs.progress(JOB_A)
    dropped = sim.calls("progress")[-1]
    assert (dropped["status"], dropped["answered_ids"]) == (None, [])
    # The other endpoints were never touched by these rules.
    assert (await drs.status(JOB_A)).status_code == 200


async def test_job_error_rules_do_not_apply_to_progress(client: httpx.AsyncClient) -> None:
    rule = {"kind": "job_error", "endpoint": "progress"}
    response = await client.post("/admin/faults", json=rule)
    assert response.status_code == 400


# --- command line ------------------------------------------------------------------------------


def test_seed_file_with_a_delay(tmp_path: Path) -> None:
    path = tmp_path / "jobs.json"
    path.write_text(json.dumps([{"id": JOB_A, "delay_seconds": 42.5}]))
    (seed,) = load_jobs(path)
    assert seed.delay_seconds == 42.5
    path.write_text(json.dumps([{"id": JOB_A, "delay_seconds": -3}]))
    with pytest.raises(SetupError, match="item 0: delay_seconds"):
        load_jobs(path)


def test_knobs_and_seeded_delay_in_a_subprocess(tmp_path: Path) -> None:
    jobs = tmp_path / "jobs.json"
    jobs.write_text(json.dumps([{"id": JOB_A, "status": "PAUSING", "delay_seconds": 42}]))
    args = ["--jobs", str(jobs), "--token", TOKEN, "--delay-growth", "0"]
    args += ["--delay-catch-up", "2.5", "--delay-floor", "3"]
    with SimulatorProcess(args) as proc, httpx.Client(base_url=proc.url, timeout=5.0) as client:
        config = proc.admin("GET", "/admin/config")
        assert (
            config["delay_growth_per_second"],
            config["delay_catch_up_per_second"],
            config["delay_floor_seconds"],
        ) == (0, 2.5, 3)
        answer = client.post(
            f"/v3/{PROJECT}/jobs/batch-progress",
            json={"jobs": [JOB_A]},
            headers={"X-Auth-Token": TOKEN},
        ).json()
        assert answer["results"][0]["incre_trans_delay"] == "42"  # growth 0: it stays
        assert proc.set_delay(JOB_A, delay_seconds=7)["delay_seconds"] == 7
        assert [c["answered_ids"] for c in proc.calls("progress")] == [[JOB_A]]
    assert proc.returncode == 0
