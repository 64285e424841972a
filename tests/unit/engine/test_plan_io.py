"""Plans (spec.dryRun, --dry-run) through the operator's real pass over the simulator: each
task gets its verdict, and the simulator's call log shows that no pause or resume request left.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from drs_pause_operator.app.settings import Settings
from drs_pause_operator.dev.simulator.testing import RunningSimulator, running_simulator
from drs_pause_operator.outbound.gateway import DrsGateway
from drs_pause_operator.resource.plans import REPLAN_ANNOTATION
from drs_pause_operator.resource.spec import RESUME_NOW_ANNOTATION

from ..values import J1, J2, J3, J4, NOW
from .fakes import SETTINGS, TOKEN, Clock, FakeKube, one_pass, sim_gateway, spec_dict

PROJECT = "054ba152d480d55b2f5dc0069e7ddef0"
SENDS = ("pause", "resume")


@asynccontextmanager
async def _world(*tasks: dict[str, Any]) -> AsyncIterator[tuple[RunningSimulator, DrsGateway,
                                                                Clock, FakeKube]]:
    clock = Clock(NOW)
    seeds = [{"project_id": PROJECT, **t} for t in tasks]
    async with running_simulator(
        tasks=seeds, tokens=[TOKEN],
        clock=lambda: (clock.now - NOW).total_seconds(),  # noqa: PLW0108 - read at each call
    ) as sim, sim_gateway() as gw:
        yield sim, gw, clock, FakeKube().token_secret()


def _sends(sim: RunningSimulator) -> int:
    """Every pause or resume request that reached the simulator, whatever its answer."""
    return sum(len(sim.calls(endpoint)) for endpoint in SENDS)


MIXED = (
    {"id": J1, "status": "INCRE_TRANSFER_STARTED"},  # pausable
    {"id": J2, "status": "PAUSING"},  # paused already
    {"id": J3, "status": "CONFIGURATION"},  # not pausable
)  # J4: unknown to DRS


async def test_a_plan_gives_each_job_its_verdict_and_sends_nothing() -> None:
    async with _world(*MIXED) as (sim, gw, clock, kube):
        spec = {**spec_dict(J1, J2, J3, J4, endpoint=sim.url), "dryRun": True}
        p = await one_pass(gw, spec, clock=clock, kube=kube)
        assert [p.job(j)["plan"] for j in (J1, J2, J3, J4)] == [
            "WouldPause", "AlreadyPaused", "NotPausable", "NotFound"]
        assert "CONFIGURATION" in p.job(J3)["planMessage"]
        assert p.status["phase"] == "Planned"
        ready = p.condition("Ready")
        assert (ready["status"], ready["reason"]) == ("True", "Planned")
        assert ready["message"].startswith(
            "plan: 1 would pause, 1 already paused, 1 not pausable, 1 not found (spec.dryRun")
        assert p.condition("Reconciling")["status"] == "False"
        assert [p.job(j)["attempts"] for j in (J1, J2, J3, J4)] == [0, 0, 0, 0]
        assert _sends(sim) == 0 and len(sim.calls("status")) == 1
        assert p.wake == 300  # planned again in 5 minutes

        clock.advance(60)  # a watch event: the plan stands, nothing is looked up
        p = await one_pass(gw, spec, p.status, clock=clock, kube=kube)
        assert len(sim.calls("status")) == 1
        p = await one_pass(gw, spec, p.status, clock=clock, kube=kube,
                           annotations={REPLAN_ANNOTATION: "again"})
        assert len(sim.calls("status")) == 2 and p.status["replanToken"] == "again"
        clock.advance(300)
        p = await one_pass(gw, spec, p.status, clock=clock, kube=kube,
                           annotations={REPLAN_ANNOTATION: "again"})
        assert len(sim.calls("status")) == 3
        # A resume-now on a plan sends nothing either.
        p = await one_pass(gw, spec, p.status, clock=clock, kube=kube,
                           annotations={RESUME_NOW_ANNOTATION: "x"})
        assert _sends(sim) == 0


async def test_turning_dry_run_off_pauses_exactly_the_would_pause_jobs_once() -> None:
    async with _world(*MIXED) as (sim, gw, clock, kube):
        plan = {**spec_dict(J1, J2, J3, J4, endpoint=sim.url), "dryRun": True}
        p = await one_pass(gw, plan, clock=clock, kube=kube)
        would = {j for j in (J1, J2, J3, J4) if p.job(j)["plan"] == "WouldPause"}
        act = {**plan, "dryRun": False}
        p = await one_pass(gw, act, p.status, clock=clock, kube=kube, generation=2)
        for _ in range(3):
            clock.advance(1)
            p = await one_pass(gw, act, p.status, clock=clock, kube=kube, generation=2)
        paused = {t.id for t in sim.state.all() if t.pause_count}
        assert paused == would == {J1}
        assert sim.task(J1).pause_count == 1  # paused once (a refused batch is split, so
        # a job may ride in two requests; DRS paused it once)
        assert "plan" not in p.job(J1) and "plannedTime" not in p.status
        assert p.status["phase"] == "PartiallyPaused"


async def test_an_operator_in_dry_run_mode_only_plans_whatever_the_spec() -> None:
    async with _world(*MIXED) as (sim, gw, clock, kube):
        forced = Settings(**{**SETTINGS.model_dump(), "dry_run": True})
        spec = spec_dict(J1, J2, endpoint=sim.url)  # no dryRun
        p = await one_pass(gw, spec, clock=clock, kube=kube, settings=forced)
        assert p.status["phase"] == "Planned"
        assert "operator runs with --dry-run" in p.condition("Ready")["message"]
        assert _sends(sim) == 0


async def test_a_gated_plan_says_which_jobs_would_wait_for_their_delay() -> None:
    async with _world({"id": J1, "status": "INCRE_TRANSFER_STARTED", "delay_seconds": 900,
                       "delay_catch_up_per_second": 0},
                      {"id": J2, "status": "INCRE_TRANSFER_STARTED", "delay_seconds": 0}) as (
        sim, gw, clock, kube
    ):
        spec = {**spec_dict(J1, J2, endpoint=sim.url), "dryRun": True,
                "delayGate": {"maxDelay": "5m"}}
        p = await one_pass(gw, spec, clock=clock, kube=kube)
        assert (p.job(J1)["plan"], p.job(J2)["plan"]) == ("WaitsForDelay", "WouldPause")
        assert "15m > 5m" in p.job(J1)["planMessage"]
        assert _sends(sim) == 0 and len(sim.calls("progress")) == 1


async def test_a_resume_now_set_while_planning_resumes_nothing_once_the_object_acts() -> None:
    async with _world(*MIXED) as (sim, gw, clock, kube):
        now = {RESUME_NOW_ANNOTATION: "x"}
        plan = {**spec_dict(J1, endpoint=sim.url), "dryRun": True}
        p = await one_pass(gw, plan, clock=clock, kube=kube, annotations=now)
        assert p.status["resumeNowToken"] == "x"
        act = {**plan, "dryRun": False}
        for _ in range(3):
            clock.advance(1)
            p = await one_pass(gw, act, p.status, clock=clock, kube=kube, generation=2,
                               annotations=now)
        assert p.status["phase"] == "Paused" and sim.task(J1).pause_count == 1
        assert sim.calls("resume") == []
