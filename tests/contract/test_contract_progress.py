"""batch-progress through the simulator: delays as it computes them, batches of 100, retries,
splitting around a bad id, and answers that are partly garbage."""

from __future__ import annotations

import pytest

from drs_pause_operator.dev.simulator.testing import RunningSimulator
from drs_pause_operator.drs import (
    DrsAuthenticationError,
    DrsError,
    DrsProtocolError,
    DrsServerError,
    JobProgress,
    TokenAuth,
)

from .conftest import Attempts, Sleeps, job_ids, pause_infos, tasks


async def test_delays_as_the_simulator_computes_them(sim: RunningSimulator, make_client) -> None:
    running, paused, full, unknown = job_ids(4)
    # Rates of 0: the delays stand still, whatever the real clock does meanwhile.
    still = {"delay_growth_per_second": 0, "delay_catch_up_per_second": 0}
    sim.seed(tasks([running], **still))
    sim.seed(tasks([paused], delay_seconds=120, **still))
    sim.seed(tasks([full], status="FULL_TRANSFER_STARTED"))
    client = make_client()
    sim.set_delay(running, delay_seconds=45)
    (outcome,) = await client.pause(pause_infos([paused]))
    assert outcome.succeeded
    answer = await client.progress([running, paused, full, unknown])
    assert answer[running] == JobProgress(
        job_id=running,
        delay_seconds=45,
        transfer_status="INCRE_TRANSFER_STARTED",
        task_mode="FULL_INCR_TRANS",
        progress="100",
    )
    assert (answer[paused].delay_seconds, answer[paused].transfer_status) == (120, "PAUSING")
    assert (answer[full].delay_seconds, answer[full].progress) == (None, "0")  # does not apply
    assert answer[unknown].error_code == "DRS.M05003"
    assert answer[unknown].error_message == "Task information not found."
    assert answer[unknown].delay_seconds is None
    assert all(p.protocol_error is None for p in answer.values())
    (call,) = sim.calls("progress")
    assert call["answered_ids"] == call["job_ids"] == [running, paused, full, unknown]


async def test_batches_of_100_and_nothing_twice(
    sim: RunningSimulator, make_client, attempts: Attempts
) -> None:
    ids = job_ids(250)
    sim.seed(tasks(ids))
    answer = await make_client(max_concurrency=3).progress([*ids, *ids[:10]])
    assert set(answer) == set(ids)
    sent = [c["job_ids"] for c in sim.calls("progress")]
    assert sorted(map(len, sent)) == [50, 100, 100]
    assert sorted(j for batch in sent for j in batch) == sorted(ids)  # each id once
    assert [c[0] for c in attempts.calls] == ["batch-progress"] * 3
    assert await make_client().progress([]) == {}
    assert len(sim.calls("progress")) == 3


async def test_a_5xx_is_retried_inline_then_raised(
    sim: RunningSimulator, make_client, sleeps: Sleeps, attempts: Attempts
) -> None:
    ids = job_ids(2)
    sim.seed(tasks(ids))
    sim.add_fault(kind="http_error", endpoint="progress", status=503)
    assert set(await make_client().progress(ids)) == set(ids)
    assert [c["status"] for c in sim.calls("progress")] == [503, 200]
    assert attempts.labels == ["server_error", "ok"]
    assert len(sleeps.delays) == 1
    sim.add_fault(kind="http_error", endpoint="progress", status=502, times=None)
    with pytest.raises(DrsServerError) as caught:
        await make_client(max_inline_retries=2).progress(ids)
    assert caught.value.transient and caught.value.status_code == 502
    assert len(sim.calls("progress")) == 2 + 3


async def test_throttling_honours_retry_after(
    sim: RunningSimulator, make_client, sleeps: Sleeps, attempts: Attempts
) -> None:
    ids = job_ids(1)
    sim.seed(tasks(ids))
    sim.add_fault(kind="rate_limit", endpoint="progress", retry_after=3)
    assert set(await make_client().progress(ids)) == set(ids)
    assert sleeps.delays == [3.0]
    assert attempts.labels == ["throttled", "ok"]


async def test_a_bad_id_is_split_off_and_answered_alone(sim: RunningSimulator, make_client) -> None:
    good = job_ids(5)
    sim.seed(tasks(good))
    answer = await make_client().progress([*good, "not-a-uuid"])
    assert all(answer[g].transfer_status == "INCRE_TRANSFER_STARTED" for g in good)
    assert answer["not-a-uuid"].error_code == "DRS.M00202"
    assert answer["not-a-uuid"].delay_seconds is None
    assert sim.calls("progress")[0]["status"] == 400  # the whole request, then its halves


async def test_results_missing_for_a_job_leave_it_absent(
    sim: RunningSimulator, make_client
) -> None:
    ids = job_ids(3)
    sim.seed(tasks(ids))
    sim.add_fault(kind="missing_results", endpoint="progress", job_id=ids[1])
    assert set(await make_client().progress(ids)) == {ids[0], ids[2]}
    assert sim.calls("progress")[0]["answered_ids"] == [ids[0], ids[2]]


async def test_garbage_in_one_entry_spoils_only_that_job(
    sim: RunningSimulator, make_client
) -> None:
    bad, good, odd = job_ids(3)
    body = {
        "count": 5,
        "results": [
            {"job_id": bad, "incre_trans_delay": "abc", "transfer_status": "PAUSING"},
            {"job_id": good, "incre_trans_delay": "30", "transfer_status": "PAUSING"},
            {"job_id": odd, "incre_trans_delay": {"seconds": 1}},
            "junk",
            {"no_job_id": True, "incre_trans_delay": "5"},
            {"job_id": good, "incre_trans_delay": "99"},  # a second entry: the first counts
        ],
    }
    sim.add_fault(kind="http_error", endpoint="progress", status=200, body=body)
    answer = await make_client().progress([bad, good, odd])
    assert set(answer) == {bad, good, odd}
    assert (answer[good].delay_seconds, answer[good].protocol_error) == (30, None)
    assert answer[bad].delay_seconds is None and "'abc'" in (answer[bad].protocol_error or "")
    assert answer[bad].transfer_status == "PAUSING"
    assert answer[odd].protocol_error is not None


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        ({"kind": "busy"}, DrsError),  # 202, an error code and no results
        ({"kind": "malformed", "times": None}, DrsProtocolError),
        ({"kind": "http_error", "status": 200, "body": {"results": {"a": 1}}}, DrsProtocolError),
    ],
)
async def test_an_answer_that_is_no_answer_raises(
    sim: RunningSimulator, make_client, fault: dict, error: type[Exception]
) -> None:
    ids = job_ids(1)
    sim.seed(tasks(ids))
    sim.add_fault(endpoint="progress", **fault)
    with pytest.raises(error):
        await make_client(max_inline_retries=0).progress(ids)


async def test_bad_credentials_are_raised(sim: RunningSimulator, make_client) -> None:
    ids = job_ids(1)
    with pytest.raises(DrsAuthenticationError):
        await make_client(auth=TokenAuth("not-a-token-the-simulator-knows")).progress(ids)
    assert len(sim.calls("progress")) == 1
