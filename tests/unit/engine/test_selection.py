"""spec.selector through the real reconcile pass, against the in-process simulator: resolved once
per generation, recorded in status.selection, then paused as if the ids were listed."""

from __future__ import annotations

from typing import Any

from drs_pause_operator.dev.simulator.testing import running_simulator
from drs_pause_operator.resource.selector import RESELECT_ANNOTATION

from ..values import NOW
from .fakes import PROJECT, TOKEN, Clock, FakeKube, make_object, make_reconciler, sim_gateway

STATES = ["INCRE_TRANSFER_STARTED", "PAUSING", "FULL_TRANSFER_COMPLETE", "CREATING"]


def spec(url: str, **selector: Any) -> dict[str, Any]:
    return {"projectId": PROJECT, "endpoint": url,
            "selector": {"dbUseType": "sync", "pauseMode": "target", **selector}}


async def run(gw, kube: FakeKube, body: dict[str, Any], status: dict[str, Any] | None = None,
              *, generation: int = 1, reselect: str | None = None):
    reconciler = make_reconciler(gw, kube, clock=Clock(NOW), seed=3)
    obj = make_object(body, status, generation=generation,
                      annotations={RESELECT_ANNOTATION: reselect} if reselect else None)
    result = await reconciler.reconcile(obj)
    return obj.status, result


def sent(sim) -> list[str]:
    return [j for c in sim.calls("pause") for j in c["job_ids"]]


def stalled(status: dict[str, Any]) -> dict[str, Any]:
    return next(c for c in status["conditions"] if c["type"] == "Stalled")


async def test_resolved_once_then_handled_as_listed_ids() -> None:
    async with running_simulator(tokens=[TOKEN]) as sim, sim_gateway() as gw:
        ids = sim.seed_many(230, prefix="orders-eu", statuses=STATES,
                            fields={"db_use_type": "sync", "project_id": PROJECT})
        sim.seed_many(30, prefix="orders-nl", fields={"db_use_type": "sync"})
        sim.seed_many(30, prefix="orders-eu-m", fields={"db_use_type": "migration"})
        want = sorted(i for n, i in enumerate(ids) if STATES[n % 4] != "PAUSING"
                      and STATES[n % 4] != "CREATING" and n < 100)
        kube = FakeKube().token_secret()
        body = spec(sim.url, nameRegex=r"^orders-eu-000", maxJobs=100)
        status, result = await run(gw, kube, body)

        assert [c["listed"] for c in sim.calls("list")] == [100, 100, 60]
        assert sorted(sent(sim)) == want
        assert status["selection"]["jobIds"] == want and status["selection"]["matched"] == 50
        assert status["phase"] == "Paused" and status["summary"]["total"] == 50
        # The selection was written before anything was paused (a write-ahead of the set).
        assert kube.statuses[0] == {"selection": status["selection"]}
        assert result.wake_after is None

        # The next pass of the same generation (a re-sync, a restart) lists and sends nothing.
        calls = len(sim.calls())
        again, _ = await run(gw, kube, body, status)
        assert len(sim.calls()) == calls and again == status


async def test_reselect_adds_new_matches_and_keeps_the_paused_ones() -> None:
    async with running_simulator(tokens=[TOKEN]) as sim, sim_gateway() as gw:
        first = sim.seed_many(3, prefix="pay", fields={"db_use_type": "sync"})
        kube = FakeKube().token_secret()
        body = spec(sim.url, name="pay")
        status, _ = await run(gw, kube, body)
        assert status["selection"]["jobIds"] == sorted(first)
        later = sim.seed_many(2, prefix="pay", start=3, fields={"db_use_type": "sync"})

        status, _ = await run(gw, kube, body, status, reselect="r1")
        assert status["selection"]["jobIds"] == sorted(first + later)
        assert status["selection"]["matched"] == 2  # the paused ones no longer match
        assert status["selection"]["reselectToken"] == "r1"
        assert sorted(sent(sim)) == sorted(first + later)  # each once
        assert status["phase"] == "Paused" and status["summary"]["paused"] == 5

        calls = len(sim.calls())
        status2, _ = await run(gw, kube, body, status, reselect="r1")  # acted on once
        assert len(sim.calls()) == calls and status2 == status


async def test_too_many_matches_pauses_nothing() -> None:
    async with running_simulator(tokens=[TOKEN]) as sim, sim_gateway() as gw:
        sim.seed_many(12, fields={"db_use_type": "sync"})
        kube = FakeKube().token_secret()
        body = spec(sim.url, maxJobs=10)
        status, result = await run(gw, kube, body)
        assert sim.calls("pause") == [] and sim.calls("status") == []
        cond = stalled(status)
        assert cond["status"] == "True" and cond["reason"] == "TooManyMatches"
        assert "12 DRS tasks match" in cond["message"]
        assert status["selection"]["jobIds"] == [] and status["selection"]["matched"] == 12
        assert ("Warning", "TooManyMatches", cond["message"]) in kube.events
        assert result.wake_after is None

        # Later passes of the same generation keep saying so, without asking DRS again.
        calls = len(sim.calls())
        again, _ = await run(gw, kube, body, status)
        assert len(sim.calls()) == calls and stalled(again)["reason"] == "TooManyMatches"

        # A new generation (maxJobs raised) resolves again and pauses.
        body["selector"]["maxJobs"] = 12
        status, _ = await run(gw, kube, body, status, generation=2)
        assert len(sent(sim)) == 12 and status["phase"] == "Paused"
        assert stalled(status)["status"] == "False"


async def test_no_match_stalls_until_reselect() -> None:
    async with running_simulator(tokens=[TOKEN]) as sim, sim_gateway() as gw:
        kube = FakeKube().token_secret()
        body = spec(sim.url, nameRegex="^billing-")
        status, _ = await run(gw, kube, body)
        assert stalled(status)["reason"] == "NoMatches"
        sim.seed_many(1, prefix="billing", fields={"db_use_type": "sync"})
        status, _ = await run(gw, kube, body, status, reselect="now")
        assert status["phase"] == "Paused" and stalled(status)["reason"] == "NotStalled"


async def test_a_missing_secret_stalls_without_listing() -> None:
    async with running_simulator(tokens=[TOKEN]) as sim, sim_gateway() as gw:
        status, result = await run(gw, FakeKube(), spec(sim.url))
        assert stalled(status)["reason"] == "CredentialsNotFound"
        assert "selection" not in status and sim.calls() == []
        assert result.wake_after is not None


async def test_drs_down_while_listing_is_retried_later() -> None:
    async with running_simulator(tokens=[TOKEN]) as sim, sim_gateway() as gw:
        sim.seed_many(2, fields={"db_use_type": "sync"})
        sim.add_fault(kind="http_error", endpoint="list", status=503, times=None)
        kube = FakeKube().token_secret()
        status, result = await run(gw, kube, spec(sim.url))
        assert result.transient_failure and result.wake_after
        assert kube.statuses == [] and sim.calls("pause") == []
        sim.clear_faults()
        status, _ = await run(gw, kube, spec(sim.url), status)
        assert status["phase"] == "Paused"


async def test_wrong_credentials_stall_the_object() -> None:
    async with running_simulator(tokens=[TOKEN]) as sim, sim_gateway() as gw:
        kube = FakeKube().token_secret("not-the-token")
        status, _ = await run(gw, kube, spec(sim.url))
        assert stalled(status)["reason"] == "AuthenticationFailed"
        assert sim.calls("pause") == []


async def test_a_selector_replaced_by_jobs_drops_the_selection() -> None:
    async with running_simulator(tokens=[TOKEN]) as sim, sim_gateway() as gw:
        (job,) = sim.seed_many(1, fields={"db_use_type": "sync"})
        kube = FakeKube().token_secret()
        status, _ = await run(gw, kube, spec(sim.url))
        assert "selection" in status
        listed = {"projectId": PROJECT, "endpoint": sim.url,
                  "jobs": [{"jobId": job, "pauseMode": "target"}]}
        status, _ = await run(gw, kube, listed, status, generation=2)
        assert "selection" not in status and status["phase"] == "Paused"
        assert sent(sim) == [job]


async def test_a_deleting_object_is_not_resolved_again() -> None:
    async with running_simulator(tokens=[TOKEN]) as sim, sim_gateway() as gw:
        first = sim.seed_many(2, fields={"db_use_type": "sync"})
        kube = FakeKube().token_secret()
        body = spec(sim.url, maxJobs=2)
        status, _ = await run(gw, kube, body)
        sim.seed_many(3, prefix="more", fields={"db_use_type": "sync"})
        reconciler = make_reconciler(gw, kube, clock=Clock(NOW))
        obj = make_object(body, status, annotations={RESELECT_ANNOTATION: "again"})
        obj.deleting = True
        calls = len(sim.calls("list"))
        await reconciler.reconcile(obj)
        assert len(sim.calls("list")) == calls  # no listing: the held jobs stay the set
        assert sorted(j["jobId"] for j in obj.status["jobs"]) == sorted(first)
        assert "TooManyMatches" not in str(obj.status.get("conditions"))
