"""Narrow client checks over httpx.MockTransport: retry maths, outcome invariants.

Every path here is also exercised against the real simulator in tests/contract; these add the
exact delay sequence and a property test over arbitrary mixes of rejections and lost results.
"""

from __future__ import annotations

import asyncio
import json
import random
import uuid

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drs_pause_operator.drs import DrsClient, PauseInfo, PauseOutcome, TokenAuth

PROJECT = "p" * 32


def _client(handler, **kwargs) -> tuple[DrsClient, list[float]]:
    delays: list[float] = []

    async def sleep(seconds: float) -> None:
        delays.append(seconds)

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    client = DrsClient(
        http, "https://drs.test", PROJECT, TokenAuth("t0k3n-unit"), sleep=sleep, **kwargs
    )
    return client, delays


def _ok(request: httpx.Request) -> httpx.Response:
    jobs = json.loads(request.content)["jobs"]
    return httpx.Response(
        200, json={"results": [{"id": j["job_id"], "status": "success"} for j in jobs]}
    )


async def test_inline_delays_follow_the_backoff_with_the_given_jitter() -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(503) if len(calls) <= 3 else _ok(request)

    client, delays = _client(handler, max_inline_retries=3, rng=random.Random(0))
    (outcome,) = await client.pause([PauseInfo(job_id="a" * 8, pause_mode="target")])
    assert outcome.succeeded
    assert outcome.attempts == 4
    expected_rng = random.Random(0)
    expected = [2.0 ** (n - 1) * (0.5 + 0.5 * expected_rng.random()) for n in (1, 2, 3)]
    assert delays == expected
    headers = calls[0].headers
    assert headers["Content-Type"] == "application/json"
    assert headers["X-Language"] == "en-us"
    assert headers["X-Auth-Token"] == "t0k3n-unit"
    assert calls[0].url.path == f"/v3/{PROJECT}/jobs/batch-pause-task"


async def test_retry_after_beyond_budget_stops_inline_retries() -> None:
    client, delays = _client(
        lambda request: httpx.Response(429, headers={"Retry-After": "11"}), max_inline_delay=10
    )
    (outcome,) = await client.pause([PauseInfo(job_id="a" * 8, pause_mode="all")])
    assert delays == []
    assert outcome.transient
    assert outcome.retry_after == 11.0
    assert outcome.attempts == 1


def test_outcome_succeeded() -> None:
    assert PauseOutcome("j", "success").succeeded
    assert PauseOutcome("j", "SUCCESS").succeeded
    assert not PauseOutcome("j", "failed").succeeded
    assert not PauseOutcome("j", None).succeeded


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n_jobs=st.integers(min_value=1, max_value=12),
    data=st.data(),
    batch_size=st.integers(min_value=1, max_value=5),
)
def test_every_job_gets_one_outcome_and_only_real_successes(
    n_jobs: int, data: st.DataObject, batch_size: int
) -> None:
    ids = [str(uuid.UUID(int=i + 1)) for i in range(n_jobs)]
    bad = set(data.draw(st.lists(st.sampled_from(ids), unique=True)))
    name_bad = data.draw(st.booleans())  # does a rejection name the bad jobs?
    lose = set(data.draw(st.lists(st.sampled_from(ids), unique=True)))  # results lost once
    said_success: set[str] = set()

    def handler(request: httpx.Request) -> httpx.Response:
        jobs = [j["job_id"] for j in json.loads(request.content)["jobs"]]
        rejected = [j for j in jobs if j in bad]
        if rejected:
            body: dict = {"error_code": "DRS.M00289", "error_msg": "job non exist"}
            if name_bad:
                body["results"] = [
                    {"id": j, "status": "failed", "error_code": "DRS.M00289"} for j in rejected
                ]
            return httpx.Response(400, json=body)
        results = []
        for job in jobs:
            if job in lose:
                lose.discard(job)
                continue
            said_success.add(job)
            results.append({"id": job, "status": "success"})
        random.Random(len(jobs)).shuffle(results)
        return httpx.Response(200, json={"results": results, "count": len(results)})

    async def run() -> list[PauseOutcome]:
        client, _ = _client(handler, batch_size=batch_size)
        return await client.pause([PauseInfo(job_id=j, pause_mode="target") for j in ids])

    outcomes = asyncio.run(run())
    assert [o.job_id for o in outcomes] == ids
    for outcome in outcomes:
        if outcome.job_id in bad:
            assert not outcome.succeeded
            assert outcome.error_code == "DRS.M00289"
            assert not outcome.transient
        elif outcome.succeeded:
            assert outcome.job_id in said_success
        else:
            assert outcome.api_status is None
            assert outcome.transient  # a lost result is undecided, never a failure
        assert outcome.attempts >= 1
