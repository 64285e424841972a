"""Every auth mode against the simulator: token, IAM password (login, sharing, refresh), AK/SK."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from drs_pause_operator.dev.simulator.testing import RunningSimulator, running_simulator
from drs_pause_operator.drs import (
    AkSkAuth,
    DrsAuthenticationError,
    DrsInvalidProjectError,
    IamPasswordAuth,
    TokenAuth,
    TokenCache,
)

from .conftest import PROJECT, job_ids, pause_infos, tasks

USER, PASSWORD, DOMAIN = "bob", "pw-Secret-42:x", "bobs-domain"
AK, SK = "AKCONTRACT0001", "SKcontract-secret-0001"


@pytest.fixture
async def sim() -> AsyncIterator[RunningSimulator]:
    async with running_simulator(
        tokens=["t0k3n-static"],
        access_keys={AK: SK},
        users=[f"{USER}:{PASSWORD}:{DOMAIN}"],
        seed=3,
    ) as running:
        yield running


def iam_auth(
    sim: RunningSimulator, http: httpx.AsyncClient, cache: TokenCache, password: str = PASSWORD
) -> IamPasswordAuth:
    return IamPasswordAuth(sim.url, USER, password, DOMAIN, PROJECT, cache=cache, http=http)


async def test_static_token(sim: RunningSimulator, make_client) -> None:
    ids = job_ids(1)
    sim.seed(tasks(ids))
    (outcome,) = await make_client(auth=TokenAuth("t0k3n-static")).pause(pause_infos(ids))
    assert outcome.succeeded
    assert sim.calls("pause")[0]["auth"]["kind"] == "token"


async def test_wrong_static_token_raises(sim: RunningSimulator, make_client) -> None:
    ids = job_ids(2)
    sim.seed(tasks(ids))
    with pytest.raises(DrsAuthenticationError) as caught:
        await make_client(auth=TokenAuth("t0k3n-wrong-value")).pause(pause_infos(ids))
    assert caught.value.status_code == 403
    assert caught.value.error_code == "DRS.M00100"
    assert "t0k3n-wrong-value" not in str(caught.value)
    assert {sim.task(i).status for i in ids} == {"INCRE_TRANSFER_STARTED"}


async def test_iam_password_one_login_for_concurrent_requests(
    sim: RunningSimulator, make_client, http: httpx.AsyncClient
) -> None:
    ids = job_ids(12)
    sim.seed(tasks(ids))
    cache = TokenCache()
    # Two clients sharing the cache and the pool, many concurrent calls.
    clients = [make_client(auth=iam_auth(sim, http, cache), batch_size=2) for _ in range(2)]
    groups = [ids[i : i + 3] for i in range(0, 12, 3)]
    results = await asyncio.gather(
        *(clients[n % 2].pause(pause_infos(group)) for n, group in enumerate(groups))
    )
    assert all(o.succeeded for outcomes in results for o in outcomes)
    assert len(sim.calls("token")) == 1
    assert cache.logins == 1
    assert len(cache) == 1
    assert {c["auth"]["kind"] for c in sim.calls("pause")} == {"iam-token"}


async def test_iam_token_refreshed_once_when_expired(
    sim: RunningSimulator, make_client, http: httpx.AsyncClient, sleeps
) -> None:
    ids = job_ids(2)
    sim.seed(tasks(ids))
    cache = TokenCache()
    client = make_client(auth=iam_auth(sim, http, cache))
    assert (await client.pause(pause_infos(ids[:1])))[0].succeeded
    sim.expire_tokens()  # the next call meets 401 APIGW.0307
    (outcome,) = await client.pause(pause_infos(ids[1:]))
    assert outcome.succeeded
    assert outcome.attempts == 1  # the auth flow's retry is part of the same attempt
    assert len(sim.calls("token")) == 2
    assert [(c["status"], c["error_code"]) for c in sim.calls("pause")] == [
        (200, None),
        (401, "APIGW.0307"),
        (200, None),
    ]
    assert sleeps.delays == []


async def test_iam_token_refreshed_before_expiry(
    sim: RunningSimulator, make_client, http: httpx.AsyncClient
) -> None:
    now = [datetime.now(UTC)]
    cache = TokenCache(clock=lambda: now[0])
    ids = job_ids(2)
    sim.seed(tasks(ids))
    client = make_client(auth=iam_auth(sim, http, cache))
    await client.pause(pause_infos(ids[:1]))
    now[0] += timedelta(hours=23, minutes=56)  # inside the 5 minute margin of a 24 h token
    await client.pause(pause_infos(ids[1:]))
    assert len(sim.calls("token")) == 2
    assert [c["status"] for c in sim.calls("pause")] == [200, 200]  # no 401 needed


async def test_iam_refresh_after_concurrent_rejections_logs_in_once(
    sim: RunningSimulator, make_client, http: httpx.AsyncClient
) -> None:
    ids = job_ids(6)
    sim.seed(tasks(ids))
    cache = TokenCache()
    client = make_client(auth=iam_auth(sim, http, cache), batch_size=1, max_concurrency=6)
    await client.pause(pause_infos(ids[:1]))
    sim.expire_tokens()
    outcomes = await client.pause(pause_infos(ids[1:]))
    assert all(o.succeeded for o in outcomes)
    assert len(sim.calls("token")) == 2


async def test_wrong_password_raises_without_the_password(
    sim: RunningSimulator, make_client, http: httpx.AsyncClient, caplog
) -> None:
    ids = job_ids(1)
    sim.seed(tasks(ids))
    client = make_client(auth=iam_auth(sim, http, TokenCache(), password="not-the-password"))
    with (
        caplog.at_level(logging.DEBUG, logger="drs_pause_operator.drs"),
        pytest.raises(DrsAuthenticationError) as caught,
    ):
        await client.pause(pause_infos(ids))
    message = str(caught.value)
    assert "'bob'" in message
    assert "'bobs-domain'" in message
    assert "HTTP 401" in message
    assert "not-the-password" not in message
    assert "not-the-password" not in caplog.text
    assert sim.calls("pause") == []


async def test_token_of_another_project_is_an_invalid_project(
    sim: RunningSimulator, make_client, http: httpx.AsyncClient
) -> None:
    other = "0" * 32
    auth = IamPasswordAuth(sim.url, USER, PASSWORD, DOMAIN, other, cache=TokenCache(), http=http)
    with pytest.raises(DrsInvalidProjectError) as caught:
        await make_client(auth=auth).pause(pause_infos(job_ids(2)))
    assert caught.value.status_code == 403
    assert caught.value.error_code == "DRS.M00261"


async def test_aksk_signing_is_accepted(sim: RunningSimulator, make_client) -> None:
    ids = job_ids(3)
    sim.seed(tasks(ids))
    client = make_client(auth=AkSkAuth(AK, SK, PROJECT), language="zh-cn")
    outcomes = await client.pause(pause_infos(ids))
    assert all(o.succeeded for o in outcomes)
    statuses = await client.batch_status(ids)
    assert all(s.paused for s in statuses.values())
    assert {c["auth"]["kind"] for c in sim.calls()} == {"aksk"}
    assert {c["auth"]["id"] for c in sim.calls()} == {AK}


async def test_aksk_wrong_secret_raises(sim: RunningSimulator, make_client) -> None:
    ids = job_ids(1)
    sim.seed(tasks(ids))
    with pytest.raises(DrsAuthenticationError) as caught:
        await make_client(auth=AkSkAuth(AK, "SK-wrong-secret", PROJECT)).pause(pause_infos(ids))
    assert caught.value.status_code == 401
    assert caught.value.error_code == "APIGW.0301"
    assert "SK-wrong-secret" not in str(caught.value)


async def test_aksk_clock_skew_is_refused(sim: RunningSimulator, make_client) -> None:
    skewed = AkSkAuth(AK, SK, PROJECT, clock=lambda: datetime.now(UTC) - timedelta(hours=1))
    with pytest.raises(DrsAuthenticationError):
        await make_client(auth=skewed).pause(pause_infos(job_ids(1)))


async def test_aksk_with_security_token(sim: RunningSimulator, make_client) -> None:
    ids = job_ids(1)
    sim.seed(tasks(ids))
    auth = AkSkAuth(AK, SK, PROJECT, security_token="sts-security-token-value")
    (outcome,) = await make_client(auth=auth).pause(pause_infos(ids))
    assert outcome.succeeded
