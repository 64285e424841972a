"""Every fault kind of the simulator, and what each job ends as."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from drs_pause_operator.dev.simulator.testing import RunningSimulator
from drs_pause_operator.drs import Timeouts, make_http_client
from drs_pause_operator.drs.outcomes import NO_RESULT

from .conftest import Attempts, Sleeps, job_ids, pause_infos, tasks


async def test_latency_is_tolerated_and_measured(
    sim: RunningSimulator, make_client, attempts: Attempts
) -> None:
    ids = job_ids(2)
    sim.seed(tasks(ids))
    sim.add_fault(kind="latency", endpoint="pause", latency_ms=150)
    outcomes = await make_client().pause(pause_infos(ids))
    assert all(o.succeeded for o in outcomes)
    assert attempts.calls[0][2] >= 0.15


async def test_5xx_once_is_retried_inline(
    sim: RunningSimulator, make_client, sleeps: Sleeps, attempts: Attempts
) -> None:
    ids = job_ids(3)
    sim.seed(tasks(ids))
    sim.add_fault(kind="http_error", endpoint="pause", status=503)
    outcomes = await make_client().pause(pause_infos(ids))
    assert all(o.succeeded for o in outcomes)
    assert all(o.attempts == 2 for o in outcomes)
    assert [c["status"] for c in sim.calls("pause")] == [503, 200]
    assert len(sleeps.delays) == 1
    assert 0.5 <= sleeps.delays[0] < 1.0  # equal jitter of the first backoff step
    assert attempts.labels == ["server_error", "ok"]


async def test_m00004_server_error_is_retried(sim: RunningSimulator, make_client) -> None:
    ids = job_ids(1)
    sim.seed(tasks(ids))
    sim.add_fault(kind="http_error", endpoint="pause", status=500, error_code="DRS.M00004")
    (outcome,) = await make_client().pause(pause_infos(ids))
    assert outcome.succeeded
    assert outcome.attempts == 2


async def test_persistent_5xx_ends_as_transient_outcomes(
    sim: RunningSimulator, make_client, sleeps: Sleeps
) -> None:
    ids = job_ids(2)
    sim.seed(tasks(ids))
    sim.add_fault(kind="http_error", endpoint="pause", status=502, times=None)
    outcomes = await make_client(max_inline_retries=2).pause(pause_infos(ids))
    assert len(sim.calls("pause")) == 3
    assert len(sleeps.delays) == 2
    for outcome in outcomes:
        assert not outcome.succeeded
        assert outcome.transient
        assert outcome.api_status is None
        assert outcome.http_status == 502
        assert outcome.attempts == 3
        assert outcome.retry_after is not None
        assert 2.0 <= outcome.retry_after < 4.0  # the third backoff step, for the caller
        assert outcome.request_id
    assert {sim.task(i).status for i in ids} == {"INCRE_TRANSFER_STARTED"}


async def test_429_with_retry_after_seconds_is_honoured(
    sim: RunningSimulator, make_client, sleeps: Sleeps
) -> None:
    ids = job_ids(1)
    sim.seed(tasks(ids))
    sim.add_fault(kind="rate_limit", endpoint="pause", retry_after=3)
    (outcome,) = await make_client().pause(pause_infos(ids))
    assert outcome.succeeded
    assert sleeps.delays == [3.0]


async def test_429_with_retry_after_http_date(
    sim: RunningSimulator, make_client, sleeps: Sleeps
) -> None:
    ids = job_ids(1)
    sim.seed(tasks(ids))
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=6), usegmt=True)
    sim.add_fault(kind="rate_limit", endpoint="pause", retry_after=when)
    (outcome,) = await make_client().pause(pause_infos(ids))
    assert outcome.succeeded
    assert len(sleeps.delays) == 1
    assert 4.0 <= sleeps.delays[0] <= 6.0


async def test_429_asking_longer_than_inline_budget_is_handed_back(
    sim: RunningSimulator, make_client, sleeps: Sleeps
) -> None:
    ids = job_ids(2)
    sim.seed(tasks(ids))
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=60), usegmt=True)
    sim.add_fault(kind="rate_limit", endpoint="pause", retry_after=when)
    outcomes = await make_client(max_inline_delay=10).pause(pause_infos(ids))
    assert sleeps.delays == []
    assert len(sim.calls("pause")) == 1
    for outcome in outcomes:
        assert outcome.transient
        assert outcome.http_status == 429
        assert outcome.error_code == "APIGW.0308"
        assert outcome.retry_after is not None
        assert 55 <= outcome.retry_after <= 60
        assert outcome.attempts == 1


async def test_dropped_connection_before_processing_is_retried(
    sim: RunningSimulator, make_client, attempts: Attempts
) -> None:
    ids = job_ids(2)
    sim.seed(tasks(ids))
    sim.add_fault(kind="drop", endpoint="pause")
    outcomes = await make_client().pause(pause_infos(ids))
    assert all(o.succeeded for o in outcomes)
    assert attempts.labels == ["transport_error", "ok"]


async def test_lost_answer_after_processing_shows_as_m00304(
    sim: RunningSimulator, make_client
) -> None:
    """The pause happened but its answer was lost: the resend meets DRS.M00304, and
    batch-status shows PAUSING, which the operator counts as Paused (docs/reference.md,
    Behaviour: idempotent)."""
    ids = job_ids(2)
    sim.seed(tasks(ids))
    sim.add_fault(kind="drop", endpoint="pause", after_processing=True)
    client = make_client()
    outcomes = await client.pause(pause_infos(ids))
    assert {o.error_code for o in outcomes} == {"DRS.M00304"}
    assert all(o.attempts == 2 for o in outcomes)
    statuses = await client.batch_status(ids)
    assert all(s.paused for s in statuses.values())


async def test_malformed_json_is_retried(
    sim: RunningSimulator, make_client, attempts: Attempts
) -> None:
    ids = job_ids(2)
    sim.seed(tasks(ids))
    sim.add_fault(kind="malformed", endpoint="pause")
    outcomes = await make_client().pause(pause_infos(ids))
    assert all(o.succeeded for o in outcomes)
    assert attempts.labels == ["protocol_error", "ok"]


async def test_persistent_malformed_json_is_transient(sim: RunningSimulator, make_client) -> None:
    ids = job_ids(1)
    sim.seed(tasks(ids))
    sim.add_fault(kind="malformed", endpoint="pause", times=None)
    (outcome,) = await make_client(max_inline_retries=1).pause(pause_infos(ids))
    assert outcome.transient
    assert outcome.http_status == 200
    assert outcome.api_status is None
    assert "not JSON" in (outcome.error_message or "")


@pytest.mark.parametrize("omit", ["all", "key"])
async def test_missing_results_leave_jobs_undecided(
    sim: RunningSimulator, make_client, sleeps: Sleeps, omit: str
) -> None:
    ids = job_ids(3)
    sim.seed(tasks(ids))
    sim.add_fault(kind="missing_results", endpoint="pause", omit=omit)
    outcomes = await make_client().pause(pause_infos(ids))
    for outcome in outcomes:
        assert not outcome.succeeded
        assert outcome.api_status is None
        assert outcome.transient
        assert outcome.error_code is None
        assert outcome.error_message == NO_RESULT
        assert outcome.http_status == 200
    assert sleeps.delays == []  # not retried inline: the caller verifies and decides


async def test_one_missing_result_leaves_only_that_job_undecided(
    sim: RunningSimulator, make_client
) -> None:
    ids = job_ids(3)
    sim.seed(tasks(ids))
    sim.add_fault(kind="missing_results", endpoint="pause", job_id=ids[1])
    outcomes = await make_client().pause(pause_infos(ids))
    assert outcomes[0].succeeded
    assert outcomes[2].succeeded
    assert outcomes[1].api_status is None
    assert outcomes[1].transient


@pytest.mark.parametrize(
    ("code", "transient"),
    [("DRS.M01504", True), ("DRS.M01503", True), ("DRS.M00004", True), ("DRS.M05003", False)],
)
async def test_per_job_failures(
    sim: RunningSimulator, make_client, sleeps: Sleeps, code: str, transient: bool
) -> None:
    ids = job_ids(3)
    sim.seed(tasks(ids))
    sim.add_fault(kind="job_error", endpoint="pause", job_id=ids[0], error_code=code)
    outcomes = await make_client().pause(pause_infos(ids))
    assert outcomes[0].error_code == code
    assert outcomes[0].api_status == "failed"
    assert outcomes[0].transient is transient
    assert outcomes[1].succeeded
    assert outcomes[2].succeeded
    assert sleeps.delays == []
    assert len(sim.calls("pause")) == 1


async def test_timeout_is_retried_then_succeeds(
    sim: RunningSimulator, make_client, attempts: Attempts
) -> None:
    ids = job_ids(1)
    sim.seed(tasks(ids))
    sim.add_fault(kind="timeout", endpoint="pause", seconds=5)
    http = make_http_client(timeouts=Timeouts(connect=1, read=0.3, write=1, pool=1))
    try:
        (outcome,) = await make_client(http=http).pause(pause_infos(ids))
    finally:
        await http.aclose()
    assert outcome.succeeded
    assert outcome.attempts == 2
    assert attempts.labels == ["timeout", "ok"]


async def test_persistent_timeout_is_a_transient_outcome(
    sim: RunningSimulator, make_client
) -> None:
    ids = job_ids(1)
    sim.seed(tasks(ids))
    sim.add_fault(kind="timeout", endpoint="pause", seconds=5, times=None)
    http = make_http_client(timeouts=Timeouts(connect=1, read=0.2, write=1, pool=1))
    try:
        (outcome,) = await make_client(http=http, max_inline_retries=1).pause(pause_infos(ids))
    finally:
        await http.aclose()
    assert outcome.transient
    assert outcome.http_status is None
    assert outcome.request_id is None
    assert "read timeout" in (outcome.error_message or "")


async def test_oversized_body_is_refused(sim: RunningSimulator, make_client) -> None:
    ids = job_ids(1)
    sim.seed(tasks(ids))
    big = {"results": [], "padding": "x" * 200_000}
    sim.add_fault(kind="http_error", endpoint="pause", status=200, body=big, times=None)
    http = make_http_client(timeouts=Timeouts(), max_response_bytes=64 * 1024)
    try:
        (outcome,) = await make_client(http=http, max_inline_retries=0).pause(pause_infos(ids))
    finally:
        await http.aclose()
    assert outcome.transient
    assert "exceeds" in (outcome.error_message or "") or "over the" in (outcome.error_message or "")


async def test_oversized_body_refused_by_the_client_limit_too(
    sim: RunningSimulator, make_client, http
) -> None:
    """Without the transport guard (an http client not from make_http_client), the client's
    own streaming read still stops at its limit."""
    ids = job_ids(1)
    sim.seed(tasks(ids))
    big = {"results": [], "padding": "x" * 200_000}
    sim.add_fault(kind="http_error", endpoint="pause", status=200, body=big)
    import httpx

    async with httpx.AsyncClient() as plain:
        client = make_client(http=plain, max_inline_retries=0, max_response_bytes=64 * 1024)
        (outcome,) = await client.pause(pause_infos(ids))
    assert outcome.transient
    assert "exceeds" in (outcome.error_message or "")


async def test_throttling_by_the_service_rate_limit(
    sim: RunningSimulator, make_client, sleeps: Sleeps
) -> None:
    sim.configure(rate_limit_per_second=1)
    ids = job_ids(4)
    sim.seed(tasks(ids))
    outcomes = await make_client(batch_size=1, max_concurrency=1, max_inline_retries=0).pause(
        pause_infos(ids)
    )
    assert outcomes[0].succeeded
    throttled = [o for o in outcomes if not o.succeeded]
    assert throttled
    for outcome in throttled:
        assert outcome.transient
        assert outcome.http_status == 429
        assert outcome.retry_after is not None and outcome.retry_after >= 1


async def test_2xx_carrying_a_busy_error_is_retried(
    sim: RunningSimulator, make_client, sleeps: Sleeps
) -> None:
    ids = job_ids(2)
    sim.seed(tasks(ids))
    sim.add_fault(kind="http_error", endpoint="pause", status=202, error_code="DRS.M01504")
    outcomes = await make_client().pause(pause_infos(ids))
    assert all(o.succeeded for o in outcomes)
    assert len(sleeps.delays) == 1


async def test_any_2xx_is_accepted(sim: RunningSimulator, make_client) -> None:
    ids = job_ids(2)
    sim.seed(tasks(ids))
    body = {
        "results": [
            {"id": ids[0], "status": "success"},
            {"id": ids[1], "status": "failed", "error_code": "DRS.M00304"},
        ]
    }
    sim.add_fault(kind="http_error", endpoint="pause", status=201, body=body)
    outcomes = await make_client().pause(pause_infos(ids))
    assert outcomes[0].succeeded
    assert outcomes[0].http_status == 201
    assert outcomes[1].error_code == "DRS.M00304"


async def test_rejection_naming_a_foreign_job_is_bisected(
    sim: RunningSimulator, make_client
) -> None:
    ids = job_ids(2)
    sim.seed(tasks(ids))
    body = {
        "error_code": "DRS.M00289",
        "error_msg": "job non exist",
        "results": [
            {
                "id": "99999999-9999-9999-9999-999999999999",
                "status": "failed",
                "error_code": "DRS.M00289",
            }
        ],
    }
    sim.add_fault(kind="http_error", endpoint="pause", status=400, body=body)
    outcomes = await make_client().pause(pause_infos(ids))
    assert all(o.succeeded for o in outcomes)
    assert [len(c["job_ids"]) for c in sim.calls("pause")] == [2, 1, 1]


async def test_rejection_naming_every_job_needs_no_resend(
    sim: RunningSimulator, make_client
) -> None:
    ids = job_ids(2)
    sim.seed(tasks(ids))
    body = {
        "error_code": "DRS.M00289",
        "error_msg": "job non exist",
        "results": [{"id": i, "status": "failed", "error_code": "DRS.M00289"} for i in ids],
    }
    sim.add_fault(kind="http_error", endpoint="pause", status=400, body=body)
    outcomes = await make_client().pause(pause_infos(ids))
    assert {o.error_code for o in outcomes} == {"DRS.M00289"}
    assert {o.error_message for o in outcomes} == {"job non exist"}
    assert len(sim.calls("pause")) == 1


async def test_html_error_page_from_a_proxy(sim: RunningSimulator, make_client) -> None:
    ids = job_ids(1)
    sim.seed(tasks(ids))
    sim.add_fault(kind="http_error", endpoint="pause", status=502, body="<html>Bad Gateway</html>")
    (outcome,) = await make_client().pause(pause_infos(ids))
    assert outcome.succeeded
    assert outcome.attempts == 2


async def test_2xx_with_a_wrong_body_shape_is_retried_then_transient(
    sim: RunningSimulator, make_client, attempts: Attempts
) -> None:
    ids = job_ids(1)
    sim.seed(tasks(ids))
    sim.add_fault(kind="http_error", endpoint="pause", status=200, body={"results": "nope"})
    (outcome,) = await make_client().pause(pause_infos(ids))
    assert outcome.succeeded
    assert attempts.labels == ["protocol_error", "ok"]
    sim.add_fault(kind="http_error", endpoint="pause", status=200, body=[1, 2], times=None)
    (outcome,) = await make_client(max_inline_retries=0).pause(pause_infos(job_ids(1)))
    assert outcome.transient
    assert outcome.http_status == 200
    assert outcome.request_id


async def test_unknown_id_rejection_with_only_per_job_results(
    sim: RunningSimulator, make_client
) -> None:
    """A 400 that names the bad job only in results[] (no top-level error_code): the bad job
    fails with its own code, the good ones are still paused."""
    ids = job_ids(3)
    sim.seed(tasks(ids[:2]))
    sim.configure(not_found_body="results-only")
    outcomes = await make_client().pause(pause_infos(ids))
    by_id = {o.job_id: o for o in outcomes}
    assert by_id[ids[0]].succeeded and by_id[ids[1]].succeeded
    bad = by_id[ids[2]]
    assert not bad.succeeded and not bad.transient
    assert bad.error_code == "DRS.M00289"
    assert [sim.task(i).status for i in ids[:2]] == ["PAUSING", "PAUSING"]
    # Nothing was sent twice for a good job.
    sent = [j for c in sim.calls("pause") if c["status"] == 200 for j in c["job_ids"]]
    assert sorted(sent) == sorted(ids[:2])


async def test_202_busy_without_results_is_never_success(
    sim: RunningSimulator, make_client
) -> None:
    ids = job_ids(2)
    sim.seed(tasks(ids))
    sim.add_fault(kind="busy", endpoint="pause", times=None)
    outcomes = await make_client(max_inline_retries=1).pause(pause_infos(ids))
    assert not any(o.succeeded for o in outcomes)
    assert all(o.transient for o in outcomes)
    assert {o.error_code for o in outcomes} == {"DRS.M01504"}
    assert [sim.task(i).status for i in ids] != ["PAUSING", "PAUSING"]
