"""spec.resume through the operator's real reconcile pass (engine/object_pass.py), driven
directly: the simulator over real HTTP through the real gateway, an in-memory Kubernetes writer.
Each pass starts from the status the previous one wrote, as after a restart."""

from __future__ import annotations

from typing import Any

import pytest

from drs_pause_operator.dev.simulator.testing import RunningSimulator, running_simulator
from drs_pause_operator.resource.spec import (
    RESUME_FINALIZER,
    RESUME_NOW_ANNOTATION,
    SKIP_RESUME_ANNOTATION,
)

from ..values import J1, J2, NOW
from .fakes import TOKEN, Clock, FakeKube, Pass, one_pass, sim_gateway, spec_dict

RUNNING = "INCRE_TRANSFER_STARTED"


def _tasks(*ids: str, status: str = RUNNING) -> list[dict[str, Any]]:
    return [{"id": i, "status": status, "project_id": "054ba152d480d55b2f5dc0069e7ddef0"}
            for i in ids]


def _resumes_of(sim: RunningSimulator, job_id: str) -> int:
    """batch-retry-task requests that carried ``job_id`` (sent, whatever the answer)."""
    return len(sim.calls("resume", job_id=job_id))


def _spec(sim: RunningSimulator, *jobs: Any, **resume: Any) -> dict[str, Any]:
    spec = spec_dict(*jobs, endpoint=sim.url)
    if resume:
        spec["resume"] = resume
    return spec


async def _passes(gw, spec, clock, kube, status=None, n=1, **kw) -> Pass:
    p = None
    for _ in range(n):
        p = await one_pass(gw, spec, status, clock=clock, kube=kube, **kw)
        status = p.status
    assert p is not None
    return p


async def test_resume_after_a_duration_resumes_what_this_object_paused() -> None:
    tasks = _tasks(J1) + _tasks(J2, status="PAUSING")
    # As the DRS page says: a resume must carry is_sync_re_edit: true.
    async with running_simulator(
        tasks=tasks, tokens=[TOKEN], retry_requires_sync_re_edit=True
    ) as sim, sim_gateway() as gw:
        clock, kube = Clock(NOW), FakeKube().token_secret()
        spec = _spec(sim, J1, J2, after="5s")
        p = await one_pass(gw, spec, clock=clock, kube=kube)
        assert p.status["phase"] == "Paused" and p.status["pausedTime"] == "2026-11-28T10:00:00Z"
        assert p.status["resumeTime"] == "2026-11-28T10:00:05Z"
        assert "resumes at 2026-11-28T10:00:05Z" in p.condition("Ready")["message"]
        assert p.condition("Ready")["status"] == "True" and p.wake == 5
        assert _resumes_of(sim, J1) == 0

        clock.advance(4)
        p = await one_pass(gw, spec, p.status, clock=clock, kube=kube)
        assert _resumes_of(sim, J1) == 0 and p.wake == pytest.approx(1)

        clock.advance(1)
        writes_before = len(kube.statuses)
        kube.before_write = lambda _: sent.append(_resumes_of(sim, J1))
        sent: list[int] = []
        p = await one_pass(gw, spec, p.status, clock=clock, kube=kube)
        assert p.status["phase"] == "Resumed" and p.condition("Ready")["status"] == "True"
        assert p.job(J1)["resumePhase"] == "Resumed" and p.job(J1)["resumeAttempts"] == 1
        assert p.job(J1)["taskStatus"] == RUNNING and p.job(J1)["resumeRequestId"]
        assert p.job(J2)["resumePhase"] == "Skipped"
        assert sim.task(J1).status == RUNNING and sim.task(J2).status == "PAUSING"
        assert _resumes_of(sim, J1) == 1 and _resumes_of(sim, J2) == 0
        # Write-ahead: the resume attempt was stored before the request left.
        ahead = kube.statuses[writes_before]
        assert sent[0] == 0 and next(
            j for j in ahead["jobs"] if j["jobId"] == J1
        )["resumeAttempts"] == 1
        assert ("Normal", "ResumeDue", "resuming as scheduled") in kube.events
        assert any(e[1] == "Resumed" for e in kube.events)
        assert p.wake is None
        # A finished object sends nothing more.
        kube.before_write = None
        again = await one_pass(gw, spec, p.status, clock=clock, kube=kube)
        assert again.result.drs_calls == 0 and again.status == p.status


async def test_a_crash_after_the_write_ahead_looks_before_sending() -> None:
    async with running_simulator(tasks=_tasks(J1), tokens=[TOKEN]) as sim, sim_gateway() as gw:
        clock, kube = Clock(NOW), FakeKube().token_secret()
        spec = _spec(sim, J1)
        p = await one_pass(gw, spec, clock=clock, kube=kube)
        crash = RuntimeError("crash")

        def crash_on_write_ahead(status: dict[str, Any]) -> None:
            if status["jobs"][0].get("resumeAttempts") == 1:
                kube.statuses.append(status)  # written, then the process dies
                raise crash

        kube.before_write = crash_on_write_ahead
        with pytest.raises(RuntimeError):
            await one_pass(gw, spec, p.status, clock=clock, kube=kube,
                           annotations={RESUME_NOW_ANNOTATION: "1"})
        assert _resumes_of(sim, J1) == 0
        kube.before_write = None
        p = await one_pass(gw, spec, kube.last, clock=clock, kube=kube,
                           annotations={RESUME_NOW_ANNOTATION: "1"})
        assert p.job(J1)["resumePhase"] == "Resumed" and p.job(J1)["resumeAttempts"] == 2
        # Looked up (still PAUSING), then sent once.
        assert _resumes_of(sim, J1) == 1 and sim.task(J1).status == RUNNING


async def test_a_crash_after_the_call_is_not_resumed_twice() -> None:
    async with running_simulator(tasks=_tasks(J1), tokens=[TOKEN]) as sim, sim_gateway() as gw:
        clock, kube = Clock(NOW), FakeKube().token_secret()
        spec = _spec(sim, J1)
        p = await one_pass(gw, spec, clock=clock, kube=kube)

        def crash_after_the_call(status: dict[str, Any]) -> None:
            if _resumes_of(sim, J1) == 1:
                raise RuntimeError("crash before the result is written")

        kube.before_write = crash_after_the_call
        with pytest.raises(RuntimeError):
            await one_pass(gw, spec, p.status, clock=clock, kube=kube,
                           annotations={RESUME_NOW_ANNOTATION: "1"})
        kube.before_write = None
        ahead = kube.last  # the write-ahead: attempt 1, no answer
        assert ahead["jobs"][0]["resumePhase"] == "Pending"
        p = await one_pass(gw, spec, ahead, clock=clock, kube=kube,
                           annotations={RESUME_NOW_ANNOTATION: "1"})
        assert p.job(J1)["resumePhase"] == "Resumed" and _resumes_of(sim, J1) == 1


async def test_resume_now_without_a_policy_and_only_once() -> None:
    async with running_simulator(tasks=_tasks(J1), tokens=[TOKEN]) as sim, sim_gateway() as gw:
        clock, kube = Clock(NOW), FakeKube().token_secret()
        spec = _spec(sim, J1)
        p = await one_pass(gw, spec, clock=clock, kube=kube)
        assert "resumeTime" not in p.status and p.wake is None
        now = {RESUME_NOW_ANNOTATION: "2026-11-28T10:05"}
        p = await one_pass(gw, spec, p.status, clock=clock, kube=kube, annotations=now)
        assert p.status["phase"] == "Resumed" and p.status["resumeNowToken"] == "2026-11-28T10:05"
        assert ("Normal", "ResumeNow", f"resuming now ({RESUME_NOW_ANNOTATION})") in kube.events
        p = await one_pass(gw, spec, p.status, clock=clock, kube=kube, annotations=now)
        assert _resumes_of(sim, J1) == 1 and p.result.drs_calls == 0


async def test_editing_at_before_it_is_due_reschedules() -> None:
    async with running_simulator(tasks=_tasks(J1), tokens=[TOKEN]) as sim, sim_gateway() as gw:
        clock, kube = Clock(NOW), FakeKube().token_secret()
        p = await one_pass(gw, _spec(sim, J1, at="2026-11-28T12:00:00Z"), clock=clock, kube=kube)
        assert p.status["resumeTime"] == "2026-11-28T12:00:00Z" and p.wake == 7200
        spec = _spec(sim, J1, at="2026-11-28T10:00:30Z")
        p = await one_pass(gw, spec, p.status, clock=clock, kube=kube, generation=2)
        assert p.status["resumeTime"] == "2026-11-28T10:00:30Z" and p.wake == 30
        clock.advance(30)
        p = await one_pass(gw, spec, p.status, clock=clock, kube=kube, generation=2)
        assert p.status["phase"] == "Resumed" and _resumes_of(sim, J1) == 1


async def test_a_long_pause_of_mode_all_is_warned_about_once() -> None:
    async with running_simulator(tasks=_tasks(J1), tokens=[TOKEN]) as sim, sim_gateway() as gw:
        clock, kube = Clock(NOW), FakeKube().token_secret()
        spec = _spec(sim, (J1, "all"), after="25h")
        p = await one_pass(gw, spec, clock=clock, kube=kube)
        assert "more than 24h" in p.condition("Ready")["message"]
        p = await one_pass(gw, spec, p.status, clock=clock, kube=kube)
        assert [e[1] for e in kube.events].count("LongPause") == 1


async def test_on_delete_adds_the_finalizer_resumes_then_lets_go() -> None:
    async with running_simulator(tasks=_tasks(J1), tokens=[TOKEN]) as sim, sim_gateway() as gw:
        clock, kube = Clock(NOW), FakeKube().token_secret()
        spec = _spec(sim, J1, onDelete=True)
        p = await one_pass(gw, spec, clock=clock, kube=kube)
        assert kube.finalizers == [RESUME_FINALIZER] and p.status["phase"] == "Paused"
        p = await one_pass(gw, spec, p.status, clock=clock, kube=kube)
        assert kube.finalizer_patches == [[RESUME_FINALIZER]]  # added once
        p = await one_pass(gw, spec, p.status, clock=clock, kube=kube, deleting=True)
        assert p.status["phase"] == "Resumed" and sim.task(J1).status == RUNNING
        assert kube.finalizers == [] and _resumes_of(sim, J1) == 1
        assert ("Normal", "ResumeOnDelete",
                "resuming before the object goes (spec.resume.onDelete)") in kube.events


async def test_without_on_delete_no_finalizer_ever() -> None:
    async with running_simulator(tasks=_tasks(J1), tokens=[TOKEN]) as sim, sim_gateway() as gw:
        clock, kube = Clock(NOW), FakeKube().token_secret()
        for spec in (_spec(sim, J1), _spec(sim, J1, after="1s")):
            p = await one_pass(gw, spec, clock=clock, kube=kube)
            clock.advance(2)
            p = await one_pass(gw, spec, p.status, clock=clock, kube=kube)
        assert kube.finalizer_patches == []


async def test_on_delete_going_away_removes_the_finalizer() -> None:
    async with running_simulator(tasks=_tasks(J1), tokens=[TOKEN]) as sim, sim_gateway() as gw:
        clock, kube = Clock(NOW), FakeKube().token_secret()
        p = await one_pass(gw, _spec(sim, J1, onDelete=True), clock=clock, kube=kube)
        assert kube.finalizers == [RESUME_FINALIZER]
        await one_pass(gw, _spec(sim, J1, after="1h"), p.status, clock=clock, kube=kube)
        assert kube.finalizers == []


async def test_deletion_that_cannot_resume_stays_and_skip_resume_releases_it() -> None:
    async with running_simulator(tasks=_tasks(J1), tokens=[TOKEN]) as sim, sim_gateway() as gw:
        clock, kube = Clock(NOW), FakeKube().token_secret()
        spec = _spec(sim, J1, onDelete=True)
        p = await one_pass(gw, spec, clock=clock, kube=kube)
        kube.secrets.clear()  # the Secret is gone
        p = await one_pass(gw, spec, p.status, clock=clock, kube=kube, deleting=True)
        stalled = p.condition("Stalled")
        assert stalled["status"] == "True" and stalled["reason"] == "CredentialsNotFound"
        assert "deletion waits for the resume" in stalled["message"]
        assert kube.finalizers == [RESUME_FINALIZER] and _resumes_of(sim, J1) == 0
        assert any(e[:2] == ("Warning", "DeletionBlocked") for e in kube.events)
        p = await one_pass(gw, spec, p.status, clock=clock, kube=kube, deleting=True,
                           annotations={SKIP_RESUME_ANNOTATION: "true"})
        assert kube.finalizers == [] and sim.task(J1).status == "PAUSING"
        assert any(e[:2] == ("Warning", "ResumeSkipped") for e in kube.events)


async def test_drs_refusing_the_resume_on_deletion_keeps_the_object() -> None:
    async with running_simulator(tasks=_tasks(J1), tokens=[TOKEN]) as sim, sim_gateway() as gw:
        clock, kube = Clock(NOW), FakeKube().token_secret()
        spec = _spec(sim, J1, onDelete=True)
        p = await one_pass(gw, spec, clock=clock, kube=kube)
        sim.add_fault(kind="job_error", endpoint="resume", error_code="DRS.M05004", times=None)
        p = await one_pass(gw, spec, p.status, clock=clock, kube=kube, deleting=True)
        assert p.status["phase"] == "PartiallyResumed"
        assert p.job(J1)["resumePhase"] == "Failed" and p.job(J1)["resumeErrorCode"] == "DRS.M05004"
        assert kube.finalizers == [RESUME_FINALIZER]
        assert "DRS.M05004" in p.condition("Stalled")["message"]
        # resume-now (a new value) sends the failed resume again once DRS accepts it.
        sim.clear_faults()
        p = await one_pass(gw, spec, p.status, clock=clock, kube=kube, deleting=True,
                           annotations={RESUME_NOW_ANNOTATION: "again"})
        assert p.status["phase"] == "Resumed" and kube.finalizers == []
