"""The replication-delay steps (engine/delay_io.py) through the operator's real pass: the
simulator over real HTTP through the real gateway, its clock tied to the test's, and an
in-memory Kubernetes writer. Each pass starts from the status the previous one wrote, as after
a restart. What the operator sent is counted in the simulator's call log."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from drs_pause_operator.dev.simulator.testing import RunningSimulator, running_simulator
from drs_pause_operator.outbound.gateway import DrsGateway
from drs_pause_operator.resource.spec import RESUME_NOW_ANNOTATION

from ..values import J1, J2, NOW
from .fakes import TOKEN, Clock, FakeKube, Pass, one_pass, sim_gateway, spec_dict

RUNNING = "INCRE_TRANSFER_STARTED"
PROJECT = "054ba152d480d55b2f5dc0069e7ddef0"


@asynccontextmanager
async def _world(*tasks: dict[str, Any]) -> AsyncIterator[tuple[RunningSimulator, DrsGateway,
                                                                Clock, FakeKube]]:
    clock = Clock(NOW)
    seeds = [{"status": RUNNING, "project_id": PROJECT, **t} for t in tasks]
    async with running_simulator(
        tasks=seeds, tokens=[TOKEN],
        clock=lambda: (clock.now - NOW).total_seconds(),  # noqa: PLW0108 - read at each call
    ) as sim, sim_gateway() as gw:
        yield sim, gw, clock, FakeKube().token_secret()


def _sent(sim: RunningSimulator, endpoint: str, job_id: str) -> int:
    """Requests of ``endpoint`` that carried ``job_id`` (sent, whatever the answer)."""
    return len(sim.calls(endpoint, job_id=job_id))


def sent_at(sim: RunningSimulator) -> str:
    """When the (one) resume request arrived."""
    (resume,) = sim.calls("resume")
    return str(resume["received"])


def _gated(sim: RunningSimulator, *jobs: str, **gate: Any) -> dict[str, Any]:
    return {**spec_dict(*jobs, endpoint=sim.url), "delayGate": gate}


async def test_the_gate_holds_a_task_while_its_delay_is_high_then_pauses_it_once() -> None:
    async with _world({"id": J1, "delay_seconds": 600, "delay_growth_per_second": 0,
                       "delay_catch_up_per_second": 0}) as (
        sim, gw, clock, kube
    ):
        spec = _gated(sim, J1, maxDelay="5m", waitUpTo="30m")
        p = await one_pass(gw, spec, clock=clock, kube=kube)
        assert _sent(sim, "pause", J1) == 0 and _sent(sim, "progress", J1) == 1
        assert p.job(J1)["phase"] == "Pending" and p.job(J1)["delaySeconds"] == 600
        assert p.job(J1)["delayGateSince"] == "2026-11-28T10:00:00Z"
        reconciling = p.condition("Reconciling")
        assert (reconciling["status"], reconciling["reason"]) == ("True", "WaitingForDelay")
        assert "1 task waits for its replication delay: 10m > 5m" in reconciling["message"]
        assert p.wake == 30  # the next reading at the poll interval: no hot loop

        clock.advance(10)  # a watch event: nothing is due yet, nothing is read or sent
        p = await one_pass(gw, spec, p.status, clock=clock, kube=kube)
        assert _sent(sim, "progress", J1) == 1 and _sent(sim, "pause", J1) == 0

        sim.set_delay(J1, delay_seconds=60)  # the target catches up
        clock.advance(20)
        p = await one_pass(gw, spec, p.status, clock=clock, kube=kube)
        assert _sent(sim, "pause", J1) == 1
        assert p.job(J1)["phase"] == "Paused" and p.job(J1)["delayAtPause"] == 60
        assert "delayGateSince" not in p.job(J1)
        clock.advance(60)
        p = await one_pass(gw, spec, p.status, clock=clock, kube=kube)
        assert _sent(sim, "pause", J1) == 1 and _sent(sim, "progress", J1) == 2


async def test_a_restarted_pass_keeps_the_gate_s_start_and_times_out_from_it() -> None:
    async with _world({"id": J1, "delay_seconds": 600, "delay_growth_per_second": 0,
                       "delay_catch_up_per_second": 0}) as (
        sim, gw, clock, kube
    ):
        spec = _gated(sim, J1, maxDelay="5m", waitUpTo="2m")
        p = await one_pass(gw, spec, clock=clock, kube=kube)
        for _ in range(3):  # each pass from the status alone, as after a restart
            clock.advance(30)
            p = await one_pass(gw, spec, p.status, clock=clock, kube=kube)
            assert p.job(J1)["delayGateSince"] == "2026-11-28T10:00:00Z"
        assert _sent(sim, "pause", J1) == 0
        clock.advance(30)  # 2m after the first high reading
        p = await one_pass(gw, spec, p.status, clock=clock, kube=kube)
        assert _sent(sim, "pause", J1) == 1 and p.job(J1)["phase"] == "Paused"
        assert p.job(J1)["delayAtPause"] == 600
        (event,) = [e for e in kube.events if e[1] == "DelayGateTimedOut"]
        assert event[0] == "Warning" and "pausing anyway" in event[2] and J1 in event[2]


async def test_on_timeout_skip_leaves_the_task_running_and_fails_the_job() -> None:
    async with _world({"id": J1, "delay_seconds": 900, "delay_growth_per_second": 0},
                      {"id": J2, "delay_seconds": 0}) as (sim, gw, clock, kube):
        spec = _gated(sim, J1, J2, maxDelay="5m", onTimeout="Skip")  # waitUpTo 0: check once
        p = await one_pass(gw, spec, clock=clock, kube=kube)
        assert _sent(sim, "pause", J1) == 0 and _sent(sim, "pause", J2) == 1
        assert sim.task(J1).status == RUNNING
        job = p.job(J1)
        assert (job["phase"], job["errorCode"]) == ("Failed", "DelayTooHigh")
        assert "15m > 5m" in job["errorMessage"] and "onTimeout: Skip" in job["errorMessage"]
        assert p.status["phase"] == "PartiallyPaused"
        assert any(e[1] == "DelayGateTimedOut" and "not pausing" in e[2] for e in kube.events)


async def test_a_delay_that_does_not_apply_passes_the_gate() -> None:
    async with _world({"id": J1, "status": "FULL_TRANSFER_STARTED"}) as (sim, gw, clock, kube):
        p = await one_pass(gw, _gated(sim, J1, maxDelay="1m"), clock=clock, kube=kube)
        assert _sent(sim, "pause", J1) == 1
        assert "delaySeconds" not in p.job(J1) and p.job(J1)["delayTime"]


async def test_without_a_gate_or_catch_up_no_delay_is_ever_read() -> None:
    async with _world({"id": J1}) as (sim, gw, clock, kube):
        spec = {**spec_dict(J1, endpoint=sim.url), "resume": {"after": "1s"}}
        p = await one_pass(gw, spec, clock=clock, kube=kube)
        clock.advance(2)
        p = await one_pass(gw, spec, p.status, clock=clock, kube=kube)
        assert p.status["phase"] == "Resumed"
        assert sim.calls("progress") == []


async def _paused_then_resumed(
    sim: RunningSimulator, gw: DrsGateway, clock: Clock, kube: FakeKube, catch_up: dict
) -> tuple[dict[str, Any], Pass]:
    spec = {**spec_dict(J1, endpoint=sim.url), "resume": {"catchUp": catch_up}}
    p = await one_pass(gw, spec, clock=clock, kube=kube)
    assert p.status["phase"] == "Paused"
    clock.advance(60)  # paused for a minute: the delay grew by a minute
    sim.configure(latency_ms=100)  # answers take a while: what overlaps shows in the call log
    p = await one_pass(gw, spec, p.status, clock=clock, kube=kube,
                       annotations={RESUME_NOW_ANNOTATION: "now"})
    sim.configure(latency_ms=0)
    return spec, p


async def test_a_resume_with_catch_up_reads_catching_up_until_the_delay_is_small() -> None:
    async with _world({"id": J1, "delay_seconds": 0, "delay_catch_up_per_second": 2}) as (
        sim, gw, clock, kube
    ):
        spec, p = await _paused_then_resumed(sim, gw, clock, kube,
                                             {"maxDelay": "20s", "timeout": "10m"})
        assert _sent(sim, "resume", J1) == 1 and sim.task(J1).status == RUNNING
        assert p.job(J1)["resumePhase"] == "CatchingUp" and p.job(J1)["delaySeconds"] == 60
        # The first reading went out together with the resume's verification lookup (one
        # round trip): it arrived before that lookup was answered.
        (verify,) = [c for c in sim.calls("status", job_id=J1) if c["received"] > sent_at(sim)]
        (reading,) = sim.calls("progress", job_id=J1)
        assert reading["received"] < verify["time"]
        assert p.status["phase"] == "CatchingUp"
        reconciling = p.condition("Reconciling")
        assert (reconciling["status"], reconciling["reason"]) == ("True", "CatchingUp")
        assert p.condition("Ready")["status"] == "False" and p.wake == 30

        clock.advance(30)  # 60 - 2 x 30 = 0 <= 20s
        p = await one_pass(gw, spec, p.status, clock=clock, kube=kube,
                           annotations={RESUME_NOW_ANNOTATION: "now"})
        assert p.job(J1)["resumePhase"] == "Resumed" and p.status["phase"] == "Resumed"
        assert p.job(J1)["caughtUpTime"] == "2026-11-28T10:01:30Z"
        assert p.condition("Ready")["status"] == "True"
        assert any(e[1] == "CaughtUp" for e in kube.events)
        assert _sent(sim, "resume", J1) == 1  # catching up sends nothing


async def test_a_catch_up_that_takes_too_long_fails_the_resume_with_a_warning() -> None:
    async with _world({"id": J1, "delay_seconds": 0, "delay_catch_up_per_second": 0}) as (
        sim, gw, clock, kube
    ):
        spec, p = await _paused_then_resumed(sim, gw, clock, kube,
                                             {"maxDelay": "20s", "timeout": "2m"})
        accepted = p.job(J1)["resumeAcceptedTime"]
        for _ in range(3):  # restarts keep the resume's acceptance as the timer's start
            clock.advance(30)
            p = await one_pass(gw, spec, p.status, clock=clock, kube=kube,
                               annotations={RESUME_NOW_ANNOTATION: "now"})
            assert p.job(J1)["resumePhase"] == "CatchingUp"
            assert p.job(J1)["resumeAcceptedTime"] == accepted
        clock.advance(30)
        p = await one_pass(gw, spec, p.status, clock=clock, kube=kube,
                           annotations={RESUME_NOW_ANNOTATION: "now"})
        job = p.job(J1)
        assert (job["resumePhase"], job["resumeErrorCode"]) == ("Failed", "CatchUpTimeout")
        assert p.status["phase"] == "PartiallyResumed" and sim.task(J1).status == RUNNING
        assert any(e[0] == "Warning" and e[1] == "CatchUpTimedOut" for e in kube.events)
        assert _sent(sim, "resume", J1) == 1


async def test_a_failed_reading_holds_the_gate_without_a_hot_loop() -> None:
    async with _world({"id": J1, "delay_seconds": 0}) as (sim, gw, clock, kube):
        sim.add_fault(kind="http_error", endpoint="progress", status=503, times=None)
        p = await one_pass(gw, _gated(sim, J1, maxDelay="1m", waitUpTo="5m"), clock=clock,
                           kube=kube)
        assert _sent(sim, "pause", J1) == 0 and p.job(J1)["phase"] == "Pending"
        assert p.wake is not None and p.wake >= 3

