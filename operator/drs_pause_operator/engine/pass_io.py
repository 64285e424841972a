"""The DRS side of one pass of a DrsJobPause: one connection (made when first needed), the steps
of each verb (the delay gate, then send and verify, for a pause; send and verify, then
catch-up, for a resume), a plan's lookups, and the mapping of what goes wrong to the object's
Stalled problem, in one place.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from drs_pause_operator.app.metrics import Metrics
from drs_pause_operator.app.settings import Settings
from drs_pause_operator.drs.errors import DrsError
from drs_pause_operator.drs.redact import REDACTOR
from drs_pause_operator.engine import delay_io, leg_io, plan_io
from drs_pause_operator.engine.connection import ACCESS_ERRORS, Connection, problem_from
from drs_pause_operator.engine.leg_io import LegContext, PassResult
from drs_pause_operator.engine.objects import ObjectView
from drs_pause_operator.engine.status_writer import StatusWriter
from drs_pause_operator.outbound.gateway import DrsGateway
from drs_pause_operator.resource import delay, legs
from drs_pause_operator.resource.job import Job
from drs_pause_operator.resource.policy import Policy
from drs_pause_operator.resource.problem import Problem, carried_problem
from drs_pause_operator.resource.spec import DrsJobPauseSpec
from drs_pause_operator.resource.verbs import PAUSE, RESUME, Verb

Step = Callable[[LegContext, list[Job]], Awaitable[list[Job]]]


@dataclass
class Decisions:
    """What a pass decided about the object beyond its jobs (rendered with them)."""

    retry_token: str | None
    resume_token: str | None
    paused_at: dt.datetime | None = None
    due_at: dt.datetime | None = None
    why: str | None = None  # why a resume began in this pass (Event reason)
    gate_max: int | None = None  # spec.delayGate.maxDelay, for the messages


class Owner(Protocol):
    """What the DRS side uses of its pass (``engine.object_pass.Reconciler``)."""

    settings: Settings
    gateway: DrsGateway
    writer: StatusWriter
    metrics: Metrics
    policy: Policy
    clock: Callable[[], dt.datetime]
    rng: random.Random

    async def connect(self, spec: DrsJobPauseSpec, namespace: str) -> Connection | Problem: ...

    def doc(
        self, obj: ObjectView, jobs: list[Job], d: Decisions, problem: Problem | None
    ) -> dict[str, Any]: ...


class PassIO:
    """The DRS side of one pass: one connection (made when first needed), the steps of each
    verb, and the mapping of what goes wrong to the object's problem."""

    def __init__(
        self,
        rec: Owner,
        obj: ObjectView,
        spec: DrsJobPauseSpec,
        start: dict[str, Any],
        result: PassResult,
        olog: logging.LoggerAdapter[logging.Logger],
        decided: Decisions,
    ) -> None:
        self.rec, self.obj, self.spec, self.start = rec, obj, spec, start
        self.before = obj.status
        self.result, self.olog, self.decided = result, olog, decided
        self.events: list[tuple[str, str, str]] = []
        self._conn: Connection | Problem | None = None
        gate, catch_up = spec.delay_gate, spec.resume.catch_up if spec.resume else None
        decided.gate_max = gate.max_delay_seconds if gate else None
        # The steps of each verb: the delay gate before a pause leg's first send, catch-up
        # after a resume is verified (resource/delay.py); the send and verify in between.
        self.steps: dict[str, tuple[Step, ...]] = {
            PAUSE.name: (
                lambda ctx, js: delay_io.gate(ctx, gate, js),
                lambda ctx, js: leg_io.drive(PAUSE, ctx, js),
            ),
            RESUME.name: (
                lambda ctx, js: _verified_with_a_reading(ctx, catch_up, js),
                lambda ctx, js: delay_io.catch_up(ctx, catch_up, js),
            ),
        }
        self._catch_up = catch_up

    def _due(self, verb: Verb, jobs: list[Job], now: dt.datetime) -> bool:
        return bool(
            legs.due_checks(verb, jobs, now)
            or legs.due_sends(verb, jobs, now)
            or (verb is RESUME and delay.catch_up_due(self._catch_up, jobs, now))
        )

    async def _context(self) -> LegContext | Problem:
        if self._conn is None:
            self._conn = await self.rec.connect(self.spec, self.obj.ref.namespace)
        if isinstance(self._conn, Problem):
            return self._conn
        rec, obj, decided = self.rec, self.obj, self.decided
        return LegContext(
            obj, self._conn, rec.gateway, rec.writer, rec.metrics, rec.policy, rec.clock,
            rec.rng, self.result, self.olog,
            render=lambda js: rec.doc(obj, js, decided, carried_problem(obj.status)),
            events=self.events,
            delay_poll=rec.settings.delay_poll_interval,
        )

    async def drive(self, verb: Verb, jobs: list[Job]) -> tuple[list[Job], Problem | None]:
        """The verb's steps when something of it is due; the problem met, if any."""
        now = self.rec.clock()
        if not self._due(verb, jobs, now):
            waiting = any(j.leg(verb).active for j in jobs)
            return jobs, carried_problem(self.start) if waiting else None
        ctx = await self._context()
        if isinstance(ctx, Problem):
            return jobs, ctx
        ctx.progress = jobs
        return await self._guarded(verb.name, ctx, jobs, self.steps[verb.name], verb)

    async def look_only(self, jobs: list[Job]) -> tuple[list[Job] | None, Problem | None]:
        """A plan's lookups (engine/plan_io.py): the jobs with verdicts, or None."""
        ctx = await self._context()
        if isinstance(ctx, Problem):
            return None, ctx
        ctx.progress = jobs
        plan: Step = lambda c, js: _planned(c, self.spec, js)  # noqa: E731
        found, problem = await self._guarded("plan", ctx, jobs, (plan,), None)
        return (None if found is jobs else found), problem

    async def _guarded(
        self,
        what: str,
        ctx: LegContext,
        jobs: list[Job],
        steps: tuple[Step, ...],
        verb: Verb | None,
    ) -> tuple[list[Job], Problem | None]:
        """Run the steps; map access errors to the object's problem (in one place)."""
        now = self.rec.clock()
        try:
            for step in steps:
                jobs = ctx.progress = await step(ctx, jobs)
            return jobs, None
        except ACCESS_ERRORS as err:
            # Nothing is due before the stalled backoff: the watch event of this pass's own
            # status write must not send the rejected request again at once (that was a hot
            # loop against DRS/IAM with bad credentials).
            until = now + dt.timedelta(seconds=self.rec.policy.stalled_backoff(self.start, now))
            kept = ctx.progress if verb is None else legs.postpone(verb, ctx.progress, until)
            return kept, problem_from(err)
        except DrsError as err:
            self.olog.info("DRS %s call failed (%s); looking again in %ss", what,
                           REDACTOR.redact(str(err)), self.rec.policy.transient_retry)
            self.result.transient_failure = True
            # A transient failure says nothing about an access problem seen before: it stays
            # until a pass gets through (no Stalled flapping).
            return ctx.progress, carried_problem(self.start)


async def _verified_with_a_reading(
    ctx: LegContext, catch_up: Any, jobs: list[Job]
) -> list[Job]:
    """The resume's send and verification; with catch-up, the first delay reading goes along."""
    delay_io.with_verification(ctx, catch_up)
    try:
        return await leg_io.drive(RESUME, ctx, jobs)
    finally:
        ctx.alongside = None


async def _planned(ctx: LegContext, spec: DrsJobPauseSpec, jobs: list[Job]) -> list[Job]:
    found = await plan_io.plan(ctx, spec.delay_gate, jobs)
    return jobs if found is None else found
