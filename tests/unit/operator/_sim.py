"""Plain-value stand-ins for DRS answers and one simulated reconcile pass.

``run_pass`` composes the pure steps of ``reconcile.py`` exactly as ``Controller.reconcile`` and
``Controller._drs_steps`` do, with the DRS calls replaced by callables, and the status written
and read back between passes (a pass starts from ``status``, as after a restart).
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from drs_pause_operator.resource.reconcile import (
    Policy,
    apply_pause,
    apply_status,
    due_checks,
    due_pauses,
    expire,
    jobs_from_status,
    mark_attempts,
    next_wakeup,
    settle_not_pausable,
    sync,
)
from drs_pause_operator.resource.spec import DrsJobPauseSpec, parse_spec
from drs_pause_operator.resource.status import JobState, Problem, render

NOW = dt.datetime(2026, 11, 28, 10, 0, 0, tzinfo=dt.UTC)

J1 = "8d0e8e36-a618-490d-8a46-8c61ac9jb502"
J2 = "11111111-2222-3333-4444-555555555555"
J3 = "abcdefgh-ijkl-mnop-qrst-uvwxyz012345"
J4 = "ZZZZZZZZ-0000-aaaa-9999-bbbbbbbbbbbb"


def at(seconds: float) -> dt.datetime:
    return NOW + dt.timedelta(seconds=seconds)


@dataclass(frozen=True)
class Pause:
    """A PauseAnswer (the shape of drs.client.PauseOutcome)."""

    job_id: str
    api_status: str | None = "success"
    error_code: str | None = None
    error_message: str | None = None
    request_id: str | None = "req-pause"
    transient: bool = False
    retry_after: float | None = None
    attempts: int = 1


@dataclass(frozen=True)
class Task:
    """A TaskAnswer (the shape of drs.models.JobStatus)."""

    id: str
    status: str | None = "PAUSING"
    error_code: str | None = None
    error_message: str | None = None


def spec_of(*jobs: str | tuple[str, str], **extra: Any) -> DrsJobPauseSpec:
    items = [
        {"jobId": j, "pauseMode": "target"}
        if isinstance(j, str)
        else {"jobId": j[0], "pauseMode": j[1]}
        for j in jobs
    ]
    return parse_spec({"projectId": "054ba152d480d55b2f5dc0069e7ddef0", "jobs": items, **extra})


def job(job_id: str = J1, **changes: Any) -> JobState:
    return JobState(job_id=job_id, pause_mode=changes.pop("pause_mode", "target")).update(**changes)


StatusCall = Callable[[list[str]], Mapping[str, Any]]
PauseCall = Callable[[list[JobState]], Mapping[str, Any]]


def _nothing(_: Any) -> dict[str, Any]:
    return {}


@dataclass
class PassResult:
    status: dict[str, Any]
    jobs: list[JobState]
    wake: float | None
    checked: list[str] = field(default_factory=list)
    paused: list[str] = field(default_factory=list)
    verified: list[str] = field(default_factory=list)
    write_ahead: dict[str, Any] | None = None

    @property
    def calls(self) -> int:
        return sum(bool(x) for x in (self.checked, self.paused, self.verified))

    def job(self, job_id: str) -> JobState:
        return next(j for j in self.jobs if j.job_id == job_id)


def run_pass(
    spec: DrsJobPauseSpec,
    status: dict[str, Any] | None,
    now: dt.datetime,
    policy: Policy | None = None,
    *,
    checks: StatusCall = _nothing,
    pause: PauseCall = _nothing,
    verify: StatusCall = _nothing,
    retry_token: str | None = None,
    generation: int = 1,
    after_pause: float = 0.0,
    problem: Problem | None = None,
    rng: random.Random | None = None,
) -> PassResult:
    policy = policy or Policy()
    status = status or {}
    rng = rng or random.Random(7)
    jobs, token = sync(
        spec,
        jobs_from_status(status),
        retry_token=retry_token,
        acted_token=status.get("retryFailedToken"),
    )
    out = PassResult(status={}, jobs=[], wake=None)
    ids = due_checks(jobs, now)
    if ids:
        out.checked = ids
        jobs = apply_status(jobs, checks(ids), now, policy)
    to_pause = due_pauses(jobs, now)
    if to_pause:
        sent = {j.job_id for j in to_pause}
        jobs = mark_attempts(jobs, sent, now)
        out.write_ahead = render(status, jobs, generation, None, now, token)
        out.paused = [j.job_id for j in jobs if j.job_id in sent]
        outcomes = pause([j for j in jobs if j.job_id in sent])
        now = now + dt.timedelta(seconds=after_pause)
        jobs, to_verify = apply_pause(jobs, outcomes, now, policy, rng)
        if to_verify:
            out.verified = to_verify
            answers = verify(to_verify)
            jobs = apply_status(jobs, answers, now, policy)
            jobs = settle_not_pausable(jobs, answers, to_verify)
    jobs = expire(jobs, now, policy)
    out.status = render(status, jobs, generation, problem, now, token)
    out.jobs = jobs
    out.wake = next_wakeup(jobs, now, policy)
    return out


def answer_all(status: str | None = "PAUSING", **kw: Any) -> StatusCall:
    return lambda ids: {i: Task(i, status, **kw) for i in ids}


def pause_all(**kw: Any) -> PauseCall:
    return lambda jobs: {j.job_id: Pause(j.job_id, **kw) for j in jobs}


def must_not_call(what: str) -> Callable[[Any], Any]:
    def fail(arg: Any) -> Any:
        raise AssertionError(f"{what} called with {arg!r}")

    return fail
