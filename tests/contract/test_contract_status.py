"""batch-status through the simulator: paging, spellings, unknown ids, failures."""

from __future__ import annotations

import pytest

from drs_pause_operator.dev.simulator.testing import RunningSimulator
from drs_pause_operator.drs import DrsServerError, is_paused_state

from .conftest import Sleeps, job_ids, pause_infos, tasks


async def test_paging_over_more_than_100_ids(sim: RunningSimulator, make_client) -> None:
    ids = job_ids(250)
    sim.seed(tasks(ids))
    client = make_client(batch_size=100, max_concurrency=3)
    outcomes = await client.pause(pause_infos(ids))
    assert all(o.succeeded for o in outcomes)
    statuses = await client.batch_status(ids)
    assert set(statuses) == set(ids)
    assert all(s.paused and s.status == "PAUSING" for s in statuses.values())
    assert len(sim.calls("status")) == 3  # 100 + 100 + 50


async def test_small_pages_are_followed(sim: RunningSimulator, make_client) -> None:
    ids = job_ids(7)
    sim.seed(tasks(ids))
    statuses = await make_client(status_page_size=3).batch_status(ids)
    assert {s.status for s in statuses.values()} == {"INCRE_TRANSFER_STARTED"}
    assert len(statuses) == 7
    assert len(sim.calls("status")) == 3


async def test_per_page_zero_means_all(sim: RunningSimulator, make_client) -> None:
    ids = job_ids(120)
    sim.seed(tasks(ids))
    statuses = await make_client(status_page_size=0).batch_status(ids)
    assert len(statuses) == 120
    assert len(sim.calls("status")) == 1


async def test_pauseing_spelling_counts_as_paused(sim: RunningSimulator, make_client) -> None:
    sim.configure(paused_spelling="PAUSEING")
    ids = job_ids(2)
    sim.seed(tasks(ids))
    client = make_client()
    await client.pause(pause_infos(ids))
    statuses = await client.batch_status([*ids, ids[0]])  # duplicates are sent once
    assert {s.status for s in statuses.values()} == {"PAUSEING"}
    assert all(is_paused_state(s.status) for s in statuses.values())


async def test_unknown_ids_get_their_error(sim: RunningSimulator, make_client) -> None:
    known, unknown = job_ids(2)
    sim.seed(tasks([known]))
    statuses = await make_client().batch_status([known, unknown])
    assert statuses[known].status == "INCRE_TRANSFER_STARTED"
    assert statuses[unknown].error_code == "DRS.M05003"
    assert statuses[unknown].error_message == "Task information not found."
    assert not statuses[unknown].paused


async def test_invalid_id_does_not_hide_the_others(sim: RunningSimulator, make_client) -> None:
    good = job_ids(3)
    sim.seed(tasks(good))
    statuses = await make_client().batch_status([*good, "not-a-uuid"])
    assert all(statuses[g].status == "INCRE_TRANSFER_STARTED" for g in good)
    assert statuses["not-a-uuid"].error_code == "DRS.M00202"
    assert statuses["not-a-uuid"].status is None


async def test_missing_status_results_are_absent(sim: RunningSimulator, make_client) -> None:
    ids = job_ids(3)
    sim.seed(tasks(ids))
    sim.add_fault(kind="missing_results", endpoint="status", job_id=ids[1])
    statuses = await make_client().batch_status(ids)
    assert set(statuses) == {ids[0], ids[2]}


async def test_status_retries_inline_then_raises(
    sim: RunningSimulator, make_client, sleeps: Sleeps
) -> None:
    ids = job_ids(2)
    sim.seed(tasks(ids))
    sim.add_fault(kind="http_error", endpoint="status", status=503)
    assert len(await make_client().batch_status(ids)) == 2
    sim.add_fault(kind="http_error", endpoint="status", status=503, times=None)
    with pytest.raises(DrsServerError) as caught:
        await make_client(max_inline_retries=1).batch_status(ids)
    assert caught.value.status_code == 503
    assert caught.value.transient


async def test_status_of_nothing_sends_nothing(sim: RunningSimulator, make_client) -> None:
    assert await make_client().batch_status([]) == {}
    assert sim.calls() == []
