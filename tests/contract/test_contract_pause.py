"""Pausing through the simulator: happy path, chunking and every documented error answer."""

from __future__ import annotations

from drs_pause_operator.dev.simulator.testing import RunningSimulator
from drs_pause_operator.drs import PauseInfo

from .conftest import Attempts, job_ids, pause_infos, tasks


async def test_pause_happy_path(sim: RunningSimulator, make_client, attempts: Attempts) -> None:
    ids = job_ids(3)
    sim.seed(tasks(ids))
    outcomes = await make_client().pause(pause_infos(ids, "all"))
    assert [o.job_id for o in outcomes] == ids
    for outcome in outcomes:
        assert outcome.succeeded
        assert outcome.api_status == "success"
        assert outcome.http_status == 200
        assert outcome.request_id
        assert outcome.attempts == 1
        assert not outcome.transient
        assert outcome.error_code is None
    assert {sim.task(i).status for i in ids} == {"PAUSING"}
    assert {sim.task(i).pause_mode for i in ids} == {"all"}
    calls = sim.calls("pause")
    assert len(calls) == 1
    assert outcomes[0].request_id == calls[0]["request_id"]
    assert attempts.calls[0][0] == "batch-pause-task"
    assert attempts.calls[0][1] == 200
    assert attempts.labels == ["ok"]


async def test_chunking_sends_batch_size_jobs_per_request(
    sim: RunningSimulator, make_client
) -> None:
    ids = job_ids(7)
    sim.seed(tasks(ids))
    outcomes = await make_client(batch_size=3).pause(pause_infos(ids))
    assert all(o.succeeded for o in outcomes)
    calls = sim.calls("pause")
    assert len(calls) == 3
    assert sorted(len(c["job_ids"]) for c in calls) == [1, 3, 3]
    assert sorted(j for c in calls for j in c["job_ids"]) == sorted(ids)


async def test_results_in_any_order(sim: RunningSimulator, make_client) -> None:
    sim.configure(shuffle_results=True)
    ids = job_ids(20)
    sim.seed(tasks(ids[:10]))
    sim.seed(tasks(ids[10:], status="PAUSING"))
    outcomes = await make_client().pause(pause_infos(ids))
    assert [o.job_id for o in outcomes] == ids
    assert all(o.succeeded for o in outcomes[:10])
    assert all(o.error_code == "DRS.M00304" for o in outcomes[10:])


async def test_already_paused_is_m00304_terminal(sim: RunningSimulator, make_client) -> None:
    paused, running = job_ids(2)
    sim.seed(tasks([paused], status="PAUSING") + tasks([running]))
    first, second = await make_client().pause(pause_infos([paused, running]))
    assert not first.succeeded
    assert first.api_status == "failed"
    assert first.error_code == "DRS.M00304"
    assert first.error_message == "This API cannot be called in the current task status."
    assert not first.transient
    assert first.retry_after is None
    assert second.succeeded


async def test_unknown_job_rejects_request_and_others_are_still_paused(
    sim: RunningSimulator, make_client
) -> None:
    known = job_ids(4)
    unknown = job_ids(1)[0]
    sim.seed(tasks(known))
    ids = [*known[:2], unknown, *known[2:]]
    outcomes = {o.job_id: o for o in await make_client().pause(pause_infos(ids))}
    bad = outcomes[unknown]
    assert bad.error_code == "DRS.M00289"
    assert bad.http_status == 400
    assert not bad.transient
    assert not bad.succeeded
    assert bad.attempts == 1
    for job in known:
        assert outcomes[job].succeeded
        assert outcomes[job].attempts == 2  # the rejected request and the resend
        assert sim.task(job).status == "PAUSING"
    statuses = [c["status"] for c in sim.calls("pause")]
    assert statuses == [400, 200]
    assert unknown not in sim.calls("pause")[1]["job_ids"]


async def test_unknown_job_per_job_mode_is_m05003(sim: RunningSimulator, make_client) -> None:
    sim.configure(not_found="per-job")
    known, unknown = job_ids(2)
    sim.seed(tasks([known]))
    outcomes = await make_client().pause(pause_infos([known, unknown]))
    assert outcomes[0].succeeded
    assert outcomes[1].error_code == "DRS.M05003"
    assert outcomes[1].error_message == "Task information not found."
    assert outcomes[1].http_status == 200
    assert not outcomes[1].transient
    assert len(sim.calls("pause")) == 1


async def test_deleted_job_is_m05004(sim: RunningSimulator, make_client) -> None:
    gone, alive = job_ids(2)
    sim.seed(tasks([gone], status="DELETED") + tasks([alive]))
    outcomes = await make_client().pause(pause_infos([gone, alive]))
    assert outcomes[0].error_code == "DRS.M05004"
    assert not outcomes[0].transient
    assert outcomes[1].succeeded


async def test_busy_task_is_m01504_transient_not_retried_inline(
    sim: RunningSimulator, make_client, sleeps
) -> None:
    sim.configure(pause_delay_seconds=30)
    busy, fresh = job_ids(2)
    sim.seed(tasks([busy, fresh]))
    client = make_client()
    assert (await client.pause(pause_infos([busy])))[0].succeeded
    outcomes = await client.pause(pause_infos([busy, fresh]))
    assert outcomes[0].error_code == "DRS.M01504"
    assert outcomes[0].transient
    assert outcomes[0].api_status == "failed"
    assert outcomes[1].succeeded
    assert sleeps.delays == []
    assert len(sim.calls("pause")) == 2


async def test_invalid_job_id_shape_is_isolated_by_splitting(
    sim: RunningSimulator, make_client
) -> None:
    good = job_ids(5)
    sim.seed(tasks(good))
    bad = "not-a-uuid-at-all"
    ids = [*good[:3], bad, *good[3:]]
    outcomes = {o.job_id: o for o in await make_client().pause(pause_infos(ids))}
    assert outcomes[bad].error_code == "DRS.M00202"
    assert outcomes[bad].http_status == 400
    assert not outcomes[bad].transient
    assert all(outcomes[g].succeeded for g in good)
    assert all(sim.task(g).status == "PAUSING" for g in good)
    # 6 jobs bisected: [6] 400 -> [3] 200 + [bad, 2 good] 400 -> [bad] 400 + [2 good] 200
    calls = sim.calls("pause")
    assert sorted((len(c["job_ids"]), c["status"]) for c in calls) == [
        (1, 400),
        (2, 200),
        (3, 200),
        (3, 400),
        (6, 400),
    ]


async def test_whole_request_rejection_without_names_is_bisected(
    sim: RunningSimulator, make_client
) -> None:
    ids = job_ids(4)
    sim.seed(tasks(ids))
    sim.add_fault(kind="http_error", endpoint="pause", status=400, error_code="DRS.M00202")
    outcomes = await make_client().pause(pause_infos(ids))
    assert all(o.succeeded for o in outcomes)
    assert [len(c["job_ids"]) for c in sim.calls("pause")] == [4, 2, 2]
    assert all(o.attempts == 2 for o in outcomes)


async def test_single_job_rejection_is_its_outcome(sim: RunningSimulator, make_client) -> None:
    (job,) = job_ids(1)
    sim.seed(tasks([job]))
    sim.add_fault(kind="http_error", endpoint="pause", status=400, error_code="DRS.M00301")
    (outcome,) = await make_client().pause(pause_infos([job]))
    assert outcome.error_code == "DRS.M00301"
    assert outcome.http_status == 400
    assert outcome.api_status is None
    assert not outcome.transient
    assert outcome.request_id == sim.calls("pause")[0]["request_id"]


async def test_non_drs_404_is_not_split(sim: RunningSimulator, make_client) -> None:
    ids = job_ids(4)
    outcomes = await make_client(endpoint=sim.url + "/wrong-prefix").pause(pause_infos(ids))
    assert {o.http_status for o in outcomes} == {404}
    assert {o.error_code for o in outcomes} == {"APIGW.0101"}
    assert not any(o.transient for o in outcomes)


async def test_empty_and_duplicate_input(make_client) -> None:
    client = make_client()
    assert await client.pause([]) == []
    (job,) = job_ids(1)
    info = PauseInfo(job_id=job, pause_mode="target")
    try:
        await client.pause([info, info])
    except ValueError as err:
        assert "unique" in str(err)
    else:
        raise AssertionError("duplicate job ids must be refused")


async def test_resume_puts_tasks_back(sim: RunningSimulator, make_client) -> None:
    paused, running, unknown = job_ids(3)
    sim.seed(tasks([paused, running]))
    client = make_client()
    await client.pause(pause_infos([paused]))
    outcomes = await client.resume([paused, running, unknown])
    assert outcomes[0].succeeded
    assert sim.task(paused).status == "INCRE_TRANSFER_STARTED"
    assert outcomes[1].error_code == "DRS.M00304"
    assert outcomes[2].error_code == "DRS.M00289"
    assert [c["endpoint"] for c in sim.calls()][-2:] == ["retry", "retry"]


async def test_language_header_reaches_the_service(sim: RunningSimulator, make_client) -> None:
    (job,) = job_ids(1)
    sim.seed(tasks([job]))
    (outcome,) = await make_client(language="zh-cn").pause(pause_infos([job]))
    assert outcome.succeeded
