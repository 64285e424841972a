"""The task list (POST /v3/{project_id}/jobs) through the simulator: paging, filters, errors."""

from __future__ import annotations

import pytest

from drs_pause_operator.dev.simulator.testing import RunningSimulator
from drs_pause_operator.drs import DrsRequestError, DrsServerError
from drs_pause_operator.drs.models import ListJobsRequest, ResourceTag

from .conftest import Sleeps


async def _all(client, **query) -> list:
    return [job async for job in client.list_jobs(ListJobsRequest(**query))]


async def test_pages_of_100_until_total_record(sim: RunningSimulator, make_client) -> None:
    ids = sim.seed_many(250, prefix="orders", fields={"db_use_type": "sync"})
    sim.seed_many(30, prefix="other", fields={"db_use_type": "migration"})
    jobs = await _all(make_client(), db_use_type="sync")
    assert sorted(j.id for j in jobs) == sorted(ids)
    calls = sim.calls("list")
    assert [c["listed"] for c in calls] == [100, 100, 50]
    assert all(c["status"] == 200 for c in calls)
    first = jobs[0]
    assert first.name and first.name.startswith("orders-") and first.db_use_type == "sync"
    assert first.status == "INCRE_TRANSFER_STARTED" and first.create_time


async def test_exactly_full_pages_stop_at_total_record(sim: RunningSimulator, make_client) -> None:
    sim.seed_many(200, fields={"db_use_type": "sync"})
    assert len(await _all(make_client(), db_use_type="sync")) == 200
    assert len(sim.calls("list")) == 2  # no third, empty page


async def test_filters_go_to_drs(sim: RunningSimulator, make_client) -> None:
    sim.seed_many(5, prefix="eu", fields={"db_use_type": "sync", "tags": {"team": "payments"}})
    sim.seed_many(5, prefix="nl", fields={"db_use_type": "sync", "tags": {"team": "search"}})
    sim.seed_many(3, prefix="pg", fields={"db_use_type": "sync", "engine_type": "postgresql"})
    client = make_client()
    tagged = await _all(
        client, db_use_type="sync", tags=[ResourceTag(key="team", value="payments")]
    )
    assert sorted(j.name for j in tagged) == [f"eu-{i:05d}" for i in range(5)]
    assert len(await _all(client, db_use_type="sync", name="nl-")) == 5
    assert len(await _all(client, db_use_type="sync", engine_type="postgresql")) == 3
    assert await _all(client, db_use_type="sync", status="PAUSING") == []
    assert await _all(client, db_use_type="cloudDataGuard") == []


async def test_stopping_early_sends_no_further_page(sim: RunningSimulator, make_client) -> None:
    sim.seed_many(250, fields={"db_use_type": "sync"})
    seen = 0
    async for _ in make_client().list_jobs(ListJobsRequest(db_use_type="sync")):
        seen += 1
        if seen == 150:
            break
    assert len(sim.calls("list")) == 2


async def test_smaller_pages_are_followed(sim: RunningSimulator, make_client) -> None:
    sim.seed_many(25, fields={"db_use_type": "sync"})
    jobs = await _all(make_client(), db_use_type="sync", per_page=10)
    assert len(jobs) == 25 and len({j.id for j in jobs}) == 25
    assert [c["listed"] for c in sim.calls("list")] == [10, 10, 5]


async def test_transient_failures_are_retried_like_the_other_calls(
    sim: RunningSimulator, make_client, sleeps: Sleeps
) -> None:
    sim.seed_many(120, fields={"db_use_type": "sync"})
    sim.add_fault(kind="http_error", endpoint="list", status=503, times=1)
    assert len(await _all(make_client(), db_use_type="sync")) == 120
    assert [c["status"] for c in sim.calls("list")] == [503, 200, 200]
    assert len(sleeps.delays) == 1


async def test_a_page_that_keeps_failing_raises(sim: RunningSimulator, make_client) -> None:
    sim.seed_many(5, fields={"db_use_type": "sync"})
    sim.add_fault(kind="http_error", endpoint="list", status=500, times=None)
    with pytest.raises(DrsServerError):
        await _all(make_client(max_inline_retries=1), db_use_type="sync")


async def test_invalid_filters_are_terminal_errors(sim: RunningSimulator, make_client) -> None:
    with pytest.raises(DrsRequestError) as err:
        await _all(make_client(), db_use_type="sync", engine_type="oracle")
    assert err.value.error_code == "DRS.M00202"
    assert not err.value.transient
    assert len(sim.calls("list")) == 1


def test_the_request_model_bounds_per_page() -> None:
    with pytest.raises(ValueError):
        ListJobsRequest(db_use_type="sync", per_page=101)
    body = ListJobsRequest(db_use_type="sync").model_dump(mode="json", exclude_none=True)
    assert body == {"cur_page": 1, "per_page": 100, "db_use_type": "sync"}
