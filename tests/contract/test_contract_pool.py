"""One shared connection pool for every client; metrics callback; logs without secrets."""

from __future__ import annotations

import asyncio
import logging

import httpx
import pytest

from drs_pause_operator.dev.simulator.testing import running_simulator
from drs_pause_operator.drs import (
    AkSkAuth,
    DrsClient,
    RedactingFilter,
    Timeouts,
    TokenAuth,
    make_http_client,
)
from drs_pause_operator.drs.transport import LimitedTransport

from .conftest import PROJECT, Attempts, job_ids, pause_infos, tasks

OTHER_PROJECT = "1" * 32


async def test_clients_share_one_bounded_pool() -> None:
    ids_a, ids_b = job_ids(20), job_ids(20)
    async with running_simulator(
        tokens=["t0k3n-a-value"], access_keys={"AKPOOL": "SKpool-secret"}, latency_ms=20
    ) as sim:
        sim.seed(tasks(ids_a, project_id=PROJECT) + tasks(ids_b, project_id=OTHER_PROJECT))
        http = make_http_client(timeouts=Timeouts(pool=5.0), max_connections=2)
        try:
            a = DrsClient(
                http, sim.url, PROJECT, TokenAuth("t0k3n-a-value"), batch_size=2, max_concurrency=8
            )
            b = DrsClient(
                http,
                sim.url,
                OTHER_PROJECT,
                AkSkAuth("AKPOOL", "SKpool-secret", OTHER_PROJECT),
                batch_size=2,
                max_concurrency=8,
            )
            results = await asyncio.gather(a.pause(pause_infos(ids_a)), b.pause(pause_infos(ids_b)))
            transport = http._transport
            assert isinstance(transport, LimitedTransport)
            pool = transport._inner._pool  # type: ignore[attr-defined]
            assert 1 <= len(pool.connections) <= 2
        finally:
            await http.aclose()
    assert all(o.succeeded for outcomes in results for o in outcomes)
    assert len(sim.calls("pause")) == 20
    assert {c["project_id"] for c in sim.calls("pause")} == {PROJECT, OTHER_PROJECT}


async def test_on_attempt_reports_every_http_attempt(sim, make_client, attempts: Attempts) -> None:
    ids = job_ids(3)
    sim.seed(tasks(ids))
    sim.add_fault(kind="rate_limit", endpoint="status", retry_after=1)
    client = make_client()
    await client.pause(pause_infos(ids))
    await client.batch_status(ids)
    assert [(c[0], c[1], c[3]) for c in attempts.calls] == [
        ("batch-pause-task", 200, "ok"),
        ("batch-status", 429, "throttled"),
        ("batch-status", 200, "ok"),
    ]
    assert all(c[2] >= 0 for c in attempts.calls)


async def test_broken_on_attempt_does_not_break_a_pause(sim, make_client) -> None:
    def broken(*args: object) -> None:
        raise RuntimeError("metrics bug")

    ids = job_ids(1)
    sim.seed(tasks(ids))
    (outcome,) = await make_client(on_attempt=broken).pause(pause_infos(ids))
    assert outcome.succeeded


async def test_debug_log_has_request_lines_and_no_secrets(sim, make_client, caplog) -> None:
    ids = job_ids(2)
    sim.seed(tasks(ids))
    sim.add_fault(kind="http_error", endpoint="pause", status=503)
    caplog.handler.addFilter(RedactingFilter())
    with caplog.at_level(logging.DEBUG, logger="drs_pause_operator.drs"):
        await make_client(auth=TokenAuth("t0k3n-contract-tests")).pause(pause_infos(ids))
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("drs_pause_operator.drs")]
    assert any("batch-pause-task -> 503" in line for line in lines)
    assert any("batch-pause-task -> 200 ok request_id=" in line for line in lines)
    assert "t0k3n-contract-tests" not in caplog.text


async def test_constructor_validates(http: httpx.AsyncClient) -> None:
    auth = TokenAuth("t0k3n-value")
    for kwargs in ({"batch_size": 0}, {"status_page_size": 101}, {"max_concurrency": 0}):
        with pytest.raises(ValueError):
            DrsClient(http, "https://drs.example", PROJECT, auth, **kwargs)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        DrsClient(http, "ftp://drs.example", PROJECT, auth)
    with pytest.raises(ValueError):
        DrsClient(http, "https://drs.example", "a/b", auth)
    client = DrsClient(http, "https://drs.example/", PROJECT, auth)
    assert "t0k3n-value" not in repr(client)
    assert client.endpoint == "https://drs.example"
