"""The operator's real reconcile pass, driven directly.

Two kinds of DRS behind it: the simulator over real HTTP through the real gateway (what the
operator does against a service), and a scripted gateway for answers a test must choose exactly
(timeouts, odd codes, failures at one precise step). Kubernetes is a plain in-memory writer.
Each pass starts from the status the previous one wrote, as after a restart.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import urllib3

from drs_pause_operator.dev.simulator.testing import RunningSimulator, running_simulator
from drs_pause_operator.drs.errors import DrsAuthenticationError, DrsServerError
from drs_pause_operator.drs.outcomes import PauseOutcome
from drs_pause_operator.resource.policy import POLL_MIN, Policy
from drs_pause_operator.resource.verbs import ACCEPTED, FAILED, PAUSED, PENDING

from ..values import J1, J2, J3, NOW, Task
from .fakes import (
    PROJECT,
    TOKEN,
    Clock,
    FakeKube,
    ScriptedGateway,
    make_object,
    make_reconciler,
    one_pass,
    sim_gateway,
    spec_dict,
)

RUNNING = "INCRE_TRANSFER_STARTED"


def _tasks(*ids: str, status: str = RUNNING) -> list[dict[str, Any]]:
    return [{"id": i, "status": status, "project_id": PROJECT} for i in ids]


def _pauses_of(sim: RunningSimulator, job_id: str) -> int:
    """Pause requests the simulator received that carried ``job_id`` (sent, not succeeded)."""
    return sum(1 for call in sim.calls("pause") if job_id in (call.get("job_ids") or []))


def answer_all(state: str | None = "PAUSING") -> Any:
    return lambda ids: {i: Task(i, state) for i in ids}


def outcome(job_id: str, api_status: str | None = "success", **kw: Any) -> PauseOutcome:
    return PauseOutcome(job_id=job_id, api_status=api_status, attempts=1, **kw)


def pause_all(**kw: Any) -> Any:
    return lambda infos: {i.job_id: outcome(i.job_id, **kw) for i in infos}


# --- against the simulator ------------------------------------------------------------------


async def test_a_pass_pauses_and_verifies_with_one_pause_and_one_lookup() -> None:
    async with running_simulator(tasks=_tasks(J1, J2), tokens=[TOKEN]) as sim, sim_gateway() as gw:
        sent_at_write: list[int] = []
        kube = FakeKube(before_write=lambda _: sent_at_write.append(len(sim.calls("pause"))))
        kube.token_secret()
        p = await one_pass(gw, spec_dict(J1, J2, endpoint=sim.url), clock=Clock(NOW), kube=kube)

        assert p.phases == [PAUSED, PAUSED] and p.status["phase"] == "Paused"
        assert [sim.task(j).status for j in (J1, J2)] == ["PAUSING", "PAUSING"]
        assert len(sim.calls("pause")) == 1 and len(sim.calls("status")) == 1
        # Write-ahead: the attempt was stored before the request left, the result after.
        assert sent_at_write == [0, 1]
        assert [(e["phase"], e["attempts"]) for e in kube.statuses[0]["jobs"]] == [
            (PENDING, 1),
            (PENDING, 1),
        ]
        assert p.wake is None
        assert ("Normal", "Paused", "2 of 2 jobs paused") in kube.events


async def test_a_restarted_operator_sends_nothing_for_a_finished_object() -> None:
    async with running_simulator(tasks=_tasks(J1), tokens=[TOKEN]) as sim, sim_gateway() as gw:
        first = await one_pass(gw, spec_dict(J1, endpoint=sim.url), clock=Clock(NOW))
        calls = len(sim.calls())
        again = await one_pass(gw, spec_dict(J1, endpoint=sim.url), first.status, clock=Clock(NOW))
        assert len(sim.calls()) == calls
        assert again.kube.statuses == [] and again.kube.events == []
        assert again.wake is None


async def test_a_crash_after_the_write_ahead_looks_before_sending_again() -> None:
    """The write-ahead status is all a restarted operator has: the task may be paused."""
    async with running_simulator(tasks=_tasks(J1, J2), tokens=[TOKEN]) as sim, sim_gateway() as gw:
        kube = FakeKube().token_secret()
        spec = spec_dict(J1, J2, endpoint=sim.url)
        await one_pass(gw, spec, clock=Clock(NOW), kube=kube)
        write_ahead = kube.statuses[0]
        # Someone resumed J2 meanwhile; J1 is still paused by the request that did leave.
        sim.seed(_tasks(J2))
        p = await one_pass(gw, spec, write_ahead, clock=Clock(NOW))
        assert _pauses_of(sim, J1) == 1  # looked up, found PAUSING, never sent again
        assert _pauses_of(sim, J2) == 2
        assert p.phases == [PAUSED, PAUSED]
        assert (p.job(J1)["attempts"], p.job(J2)["attempts"]) == (1, 2)


async def test_already_paused_task_counts_as_paused_not_failed() -> None:
    async with running_simulator(
        tasks=_tasks(J1, status="PAUSING"), tokens=[TOKEN]
    ) as sim, sim_gateway() as gw:
        p = await one_pass(gw, spec_dict(J1, endpoint=sim.url), clock=Clock(NOW))
        assert p.job(J1)["phase"] == PAUSED
        assert p.job(J1)["errorCode"] == "DRS.M00304"


async def test_unknown_task_fails_and_the_others_pause() -> None:
    async with running_simulator(tasks=_tasks(J1), tokens=[TOKEN]) as sim, sim_gateway() as gw:
        p = await one_pass(gw, spec_dict(J1, J3, endpoint=sim.url), clock=Clock(NOW))
        assert p.phases == [PAUSED, FAILED]
        assert p.job(J3)["errorCode"] in ("DRS.M00289", "DRS.M05003")
        assert p.status["phase"] == "PartiallyPaused"
        stalled = p.condition("Stalled")
        assert (stalled["status"], stalled["reason"]) == ("True", "JobsFailed")


async def test_rejected_credentials_stall_without_a_hot_loop() -> None:
    async with running_simulator(tasks=_tasks(J1), tokens=["other"]) as sim, sim_gateway() as gw:
        p = await one_pass(gw, spec_dict(J1, endpoint=sim.url), clock=Clock(NOW))
        stalled = p.condition("Stalled")
        assert (stalled["status"], stalled["reason"]) == ("True", "AuthenticationFailed")
        assert TOKEN not in str(p.status) and "other" not in stalled["message"]
        assert p.wake is not None and p.wake >= Policy().stalled_min
        # The next pass (e.g. the watch event of this very write) sends nothing before then.
        sent = len(sim.calls())
        await one_pass(gw, spec_dict(J1, endpoint=sim.url), p.status, clock=Clock(NOW))
        assert len(sim.calls()) == sent


async def test_a_missing_secret_stalls_and_sends_nothing() -> None:
    async with running_simulator(tasks=_tasks(J1), tokens=[TOKEN]) as sim, sim_gateway() as gw:
        p = await one_pass(gw, spec_dict(J1, endpoint=sim.url), clock=Clock(NOW), kube=FakeKube())
        stalled = p.condition("Stalled")
        assert (stalled["status"], stalled["reason"]) == ("True", "CredentialsNotFound")
        assert sim.calls() == []


# --- scripted answers -----------------------------------------------------------------------


async def test_accepted_then_polled_until_pausing() -> None:
    clock = Clock(NOW)
    spec = spec_dict(J1)
    p = await one_pass(
        ScriptedGateway(pause=pause_all(), verify=answer_all(RUNNING)), spec, clock=clock
    )
    assert p.job(J1)["phase"] == ACCEPTED and p.status["phase"] == "InProgress"
    assert p.wake == pytest.approx(POLL_MIN)
    clock.advance(1)
    gw = ScriptedGateway(checks=answer_all(RUNNING))
    p = await one_pass(gw, spec, p.status, clock=clock)
    assert gw.sent("checks") == [[J1]] and p.job(J1)["phase"] == ACCEPTED
    clock.advance(4)
    p = await one_pass(ScriptedGateway(checks=answer_all("PAUSING")), spec, p.status, clock=clock)
    assert p.job(J1)["phase"] == PAUSED and p.status["phase"] == "Paused" and p.wake is None


async def test_accepted_never_pausing_fails_after_the_verify_timeout() -> None:
    clock = Clock(NOW)
    policy = Policy(verify_timeout=30)
    spec = spec_dict(J1)
    p = await one_pass(
        ScriptedGateway(pause=pause_all(), verify=answer_all("STARTED")),
        spec,
        clock=clock,
        policy=policy,
    )
    clock.advance(31)
    p = await one_pass(
        ScriptedGateway(checks=answer_all("STARTED")), spec, p.status, clock=clock, policy=policy
    )
    assert p.job(J1)["phase"] == FAILED
    assert "did not reach PAUSING within 30s" in p.job(J1)["errorMessage"]
    assert p.status["phase"] == FAILED


async def test_transient_answer_is_retried_after_retry_after() -> None:
    clock = Clock(NOW)
    spec = spec_dict(J1)
    p = await one_pass(
        ScriptedGateway(pause=pause_all(api_status=None, transient=True, retry_after=30)),
        spec,
        clock=clock,
    )
    entry = p.job(J1)
    assert entry["phase"] == PENDING and entry["attempts"] == 1
    assert entry["nextAttemptTime"] >= "2026-11-28T10:00:30Z"
    assert p.wake is not None and p.wake >= 30
    clock.advance(20)
    idle = await one_pass(ScriptedGateway(), spec, p.status, clock=clock)  # nothing may be called
    assert idle.kube.statuses == []
    clock.advance(11)
    gw = ScriptedGateway(checks=answer_all(RUNNING), pause=pause_all(), verify=answer_all())
    later = await one_pass(gw, spec, p.status, clock=clock)
    assert gw.sent("checks") == [[J1]] and gw.sent("pause") == [[J1]]
    assert later.job(J1)["phase"] == PAUSED and later.job(J1)["attempts"] == 2


async def test_spec_change_adds_and_removes_jobs() -> None:
    clock = Clock(NOW)
    first = await one_pass(
        ScriptedGateway(pause=pause_all(), verify=answer_all()), spec_dict(J1, J2), clock=clock
    )
    clock.advance(60)
    gw = ScriptedGateway(pause=pause_all(), verify=answer_all())
    p = await one_pass(gw, spec_dict(J2, J3), first.status, clock=clock, generation=2)
    assert gw.sent("pause") == [[J3]]
    assert [e["jobId"] for e in p.status["jobs"]] == [J2, J3]
    assert p.status["summary"] == {"total": 2, "paused": 2, "failed": 0, "pending": 0}
    assert p.status["observedGeneration"] == 2


async def test_pause_mode_change_resends_only_jobs_not_paused() -> None:
    clock = Clock(NOW)
    first = await one_pass(
        ScriptedGateway(
            pause=lambda infos: {
                J1: outcome(J1),
                J2: outcome(J2, "failed", error_code="DRS.M00202", error_message="bad"),
            },
            verify=answer_all("PAUSING"),
        ),
        spec_dict(J1, J2),
        clock=clock,
    )
    assert first.phases == [PAUSED, FAILED]
    changed = spec_dict((J1, "all"), (J2, "all"))
    clock.advance(60)
    gw = ScriptedGateway(checks=answer_all(RUNNING), pause=pause_all(), verify=answer_all())
    p = await one_pass(gw, changed, first.status, clock=clock, generation=2)
    assert gw.sent("pause") == [[J2]]  # the Paused job is not sent again
    assert [(e["jobId"], e["pauseMode"], e["phase"]) for e in p.status["jobs"]] == [
        (J1, "target", PAUSED),
        (J2, "all", PAUSED),
    ]
    clock.advance(60)
    again = await one_pass(ScriptedGateway(), changed, p.status, clock=clock, generation=2)
    assert again.kube.statuses == [] and again.status == p.status


async def test_retry_token_sends_failed_jobs_again_once() -> None:
    clock = Clock(NOW)
    spec = spec_dict(J1, J2)
    first = await one_pass(
        ScriptedGateway(
            pause=lambda infos: {
                J1: outcome(J1),
                J2: outcome(J2, "failed", error_code="DRS.M00202", error_message="bad"),
            },
            verify=answer_all(),
        ),
        spec,
        clock=clock,
    )
    assert first.phases == [PAUSED, FAILED]
    gw = ScriptedGateway(checks=answer_all(RUNNING), pause=pause_all(), verify=answer_all())
    retried = await one_pass(gw, spec, first.status, clock=clock, retry_token="t1")
    # Sent before, so looked up first (it may have paused after all), then sent again.
    assert gw.sent("checks") == [[J2]] and gw.sent("pause") == [[J2]]
    assert retried.phases == [PAUSED, PAUSED]
    assert retried.status["retryFailedToken"] == "t1"
    # The same annotation value seen again (a restart, a re-sync) acts no more.
    again = await one_pass(ScriptedGateway(), spec, retried.status, clock=clock, retry_token="t1")
    assert again.kube.statuses == []


async def test_access_problem_stays_through_a_transient_failure() -> None:
    """Stalled=AuthenticationFailed must not clear because DRS was briefly unreachable: only a
    pass that gets through shows the problem is gone (Argo CD and kubectl wait read it)."""
    clock = Clock(NOW)
    spec = spec_dict(J1)

    def rejected(_: Any) -> Any:
        raise DrsAuthenticationError("IAM token rejected", status_code=401)

    def unreachable(_: Any) -> Any:
        raise DrsServerError("HTTP 503", status_code=503)

    first = await one_pass(ScriptedGateway(pause=rejected), spec, clock=clock)
    assert first.condition("Stalled")["reason"] == "AuthenticationFailed"
    # The attempt written ahead stays: the pass's end never rolls the status back behind it.
    assert first.job(J1)["attempts"] == 1
    clock.advance(Policy().stalled_max)
    # The next pass looks first (an attempt is on record), then sends again: DRS is down now.
    flaky = await one_pass(
        ScriptedGateway(checks=answer_all(RUNNING), pause=unreachable), spec, first.status,
        clock=clock,
    )
    stalled = flaky.condition("Stalled")
    assert (stalled["status"], stalled["reason"]) == ("True", "AuthenticationFailed")
    assert stalled["lastTransitionTime"] == first.condition("Stalled")["lastTransitionTime"]
    assert not any(reason == "Recovered" for _, reason, _ in flaky.kube.events)
    clock.advance(Policy().stalled_max)
    healed = await one_pass(
        ScriptedGateway(checks=answer_all(RUNNING), pause=pause_all(), verify=answer_all()),
        spec,
        flaky.status,
        clock=clock,
    )
    assert healed.condition("Stalled")["status"] == "False"
    assert healed.status["phase"] == "Paused"
    assert any(reason == "Recovered" for _, reason, _ in healed.kube.events)


async def test_object_deleted_during_the_pass_sends_nothing() -> None:
    gw = ScriptedGateway()  # any pause would fail the test
    kube = FakeKube(gone=True).token_secret()
    p = await one_pass(gw, spec_dict(J1, J2), clock=Clock(NOW), kube=kube)
    assert gw.log == [] and kube.statuses == [] and kube.events == []
    assert p.wake is not None  # looked at again (a re-created object gets its own pass)


async def test_unknown_task_named_only_in_results_of_a_400() -> None:
    """The service may answer an unknown id with a 400 whose body has only results[]."""
    async with running_simulator(
        tasks=_tasks(J1, J2), tokens=[TOKEN], not_found_body="results-only"
    ) as sim, sim_gateway() as gw:
        p = await one_pass(gw, spec_dict(J1, J2, J3, endpoint=sim.url), clock=Clock(NOW))
        assert p.phases == [PAUSED, PAUSED, FAILED]
        assert p.job(J3)["errorCode"] == "DRS.M00289"
        assert (_pauses_of(sim, J1), _pauses_of(sim, J2)) == (2, 2)  # the 400, then its split
        assert [sim.task(j).status for j in (J1, J2)] == ["PAUSING", "PAUSING"]
        assert sim.task(J1).pause_count == 1


async def test_busy_202_without_results_leaves_jobs_pending() -> None:
    async with running_simulator(tasks=_tasks(J1), tokens=[TOKEN]) as sim, sim_gateway() as gw:
        sim.add_fault(kind="busy", endpoint="pause", times=None)
        p = await one_pass(gw, spec_dict(J1, endpoint=sim.url), clock=Clock(NOW))
        assert p.job(J1)["phase"] == PENDING
        assert p.job(J1)["errorCode"] == "DRS.M01504"
        assert p.wake is not None and p.wake > 0
        assert p.condition("Ready")["status"] == "False"


class _Outage:
    """A status write that fails like an API server going away (the write-ahead gets through)."""

    def __init__(self, fail_on: int) -> None:
        self.writes, self.fail_on = 0, fail_on

    def __call__(self, _status: dict[str, Any]) -> None:
        self.writes += 1
        if self.writes == self.fail_on:
            raise urllib3.exceptions.MaxRetryError(None, "/status", "connection refused")


async def test_a_result_whose_write_failed_is_written_next_pass_not_sent_again() -> None:
    """DRS accepted the pause but the task is not PAUSING yet (or never gets there); the status
    write with that answer fails. The next pass must not start from the write-ahead (it would
    look, see the task running and pause it again)."""
    clock = Clock(NOW)
    outage = _Outage(fail_on=2)  # 1: write-ahead, 2: the pass's result
    kube = FakeKube(before_write=outage).token_secret()
    gw = ScriptedGateway(pause=pause_all(), verify=answer_all(RUNNING), checks=answer_all(RUNNING))
    reconciler = make_reconciler(gw, kube, clock=clock, policy=Policy())
    obj = make_object(spec_dict(J1))
    with pytest.raises(urllib3.exceptions.MaxRetryError):
        await reconciler.reconcile(obj)
    assert [(j["phase"], j["attempts"]) for j in obj.status["jobs"]] == [(PENDING, 1)]

    clock.advance(POLL_MIN)
    await reconciler.reconcile(obj)
    assert gw.sent("pause") == [[J1]]
    assert kube.statuses[1]["jobs"][0]["phase"] == ACCEPTED  # the held result, written first
    assert obj.status["jobs"][0]["phase"] == ACCEPTED


async def test_a_held_result_is_dropped_when_the_status_changed_meanwhile() -> None:
    """Someone else wrote the status since (e.g. the other replica while this one was not
    leader): what this process held is stale, and the pass looks before it sends."""
    clock = Clock(NOW)
    kube = FakeKube(before_write=_Outage(fail_on=2)).token_secret()
    gw = ScriptedGateway(pause=pause_all(), verify=answer_all(RUNNING), checks=answer_all(RUNNING))
    reconciler = make_reconciler(gw, kube, clock=clock, policy=Policy())
    obj = make_object(spec_dict(J1))
    with pytest.raises(urllib3.exceptions.MaxRetryError):
        await reconciler.reconcile(obj)
    other = {**obj.status, "jobs": [{**obj.status["jobs"][0], "attempts": 2}]}
    obj.status = other

    clock.advance(POLL_MIN)
    await reconciler.reconcile(obj)
    assert gw.sent("checks") == [[J1]]  # looked first, as after a restart
    assert all(s["jobs"][0]["attempts"] != 1 or s["jobs"][0]["phase"] != ACCEPTED
               for s in kube.statuses)  # the held status was never written


async def test_a_pass_cancelled_after_the_pause_answer_keeps_it_for_the_next_pass() -> None:
    """Leadership lost while the verification lookup is out: the workers are cancelled. DRS
    answered the pause; the next pass (same process, new term) writes that, sends nothing."""
    clock = Clock(NOW)
    kube = FakeKube().token_secret()

    def cancelled(_ids: list[str]) -> dict[str, Any]:
        raise asyncio.CancelledError

    gw = ScriptedGateway(pause=pause_all(), verify=cancelled, checks=answer_all(RUNNING))
    reconciler = make_reconciler(gw, kube, clock=clock, policy=Policy())
    obj = make_object(spec_dict(J1, J2))
    with pytest.raises(asyncio.CancelledError):
        await reconciler.reconcile(obj)
    assert [j["phase"] for j in obj.status["jobs"]] == [PENDING, PENDING]  # the write-ahead

    clock.advance(POLL_MIN)
    await reconciler.reconcile(obj)
    assert gw.sent("pause") == [[J1, J2]]
    assert [j["phase"] for j in kube.statuses[1]["jobs"]] == [ACCEPTED, ACCEPTED]


async def test_the_final_status_a_failed_write_held_back_is_the_one_written_next() -> None:
    """Two mechanisms keep DRS's answers when a pass cannot store them, and each must be able
    to fail on its own: the final write keeps the whole status it could not store (a problem it
    cleared included), and the answers a failed pass keeps never overwrite that. Here the
    object was Stalled (rejected credentials); this pass gets through, so its final status
    clears Stalled, but that write fails. The answers alone would still carry the problem."""
    clock = Clock(NOW)
    rejected = await one_pass(ScriptedGateway(pause=_rejected), spec_dict(J1), clock=clock)
    assert rejected.condition("Stalled")["reason"] == "AuthenticationFailed"
    clock.advance(Policy().stalled_max)
    outage = _Outage(fail_on=2)  # 1: the write-ahead, 2: the pass's final status
    kube = FakeKube(before_write=outage).token_secret()
    gw = ScriptedGateway(checks=answer_all(RUNNING), pause=pause_all(), verify=answer_all())
    reconciler = make_reconciler(gw, kube, clock=clock, policy=Policy())
    obj = make_object(spec_dict(J1), rejected.status)
    with pytest.raises(urllib3.exceptions.MaxRetryError):
        await reconciler.reconcile(obj)
    assert obj.status["conditions"][1]["reason"] == "AuthenticationFailed"  # the write-ahead

    clock.advance(POLL_MIN)
    await reconciler.reconcile(obj)
    held = kube.statuses[1]  # written first by the next pass, before anything else
    stalled = next(c for c in held["conditions"] if c["type"] == "Stalled")
    assert (stalled["status"], held["jobs"][0]["phase"]) == ("False", PAUSED)
    assert gw.sent("pause") == [[J1]]


def _rejected(_: Any) -> Any:
    raise DrsAuthenticationError("IAM token rejected", status_code=401)
