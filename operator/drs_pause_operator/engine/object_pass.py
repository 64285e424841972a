"""One reconcile pass of one DrsJobPause: parse, select, plan the legs, drive each verb, render
once, write, post Events, handle the finalizer.

    parse spec -> [select] -> sync legs -> [pause: drive] -> expire
               -> [resume: begin when due, drive] -> expire -> render -> write -> events
               -> finalizer -> when to look again

Every pass starts from the object's status, so restarts, watch replays and timers all end in
the same place. The pass knows nothing of caches, queues or kopf: it is given an
:class:`~drs_pause_operator.engine.objects.ObjectView` and a Kubernetes client, which tests
replace with plain fakes.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
from collections.abc import Callable
from dataclasses import replace
from typing import Any, Protocol

from drs_pause_operator.app.metrics import Metrics, PhaseTally
from drs_pause_operator.app.settings import Settings
from drs_pause_operator.engine.connection import (
    Connection,
    connect,
)
from drs_pause_operator.engine.kube import ObjectRef, SecretData
from drs_pause_operator.engine.leg_io import PassResult
from drs_pause_operator.engine.objects import ObjectView
from drs_pause_operator.engine.pass_io import Decisions, PassIO
from drs_pause_operator.engine.selection import SelectionContext, Stop, select_jobs
from drs_pause_operator.engine.status_writer import StatusWriter
from drs_pause_operator.outbound.gateway import DrsGateway
from drs_pause_operator.resource import delay, legs, plans, resuming
from drs_pause_operator.resource.events import resume_events
from drs_pause_operator.resource.formats import parse_time
from drs_pause_operator.resource.job import Job, jobs_from_status
from drs_pause_operator.resource.pausing import hold_new_pauses, sync
from drs_pause_operator.resource.policy import Policy
from drs_pause_operator.resource.spec import (
    RESUME_FINALIZER,
    DrsJobPauseSpec,
    SpecError,
    parse_spec,
)
from drs_pause_operator.resource.status import (
    ObjectStatus,
    Problem,
    carried_problem,
    render,
)
from drs_pause_operator.resource.verbs import PAUSE, RESUME, Verb

log = logging.getLogger(__name__)

__all__ = ["KubeWriter", "PassResult", "Reconciler", "utcnow"]


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class KubeWriter(Protocol):
    """What a pass needs of the Kubernetes API (``engine.kube.KubeApi`` in the operator)."""

    async def patch_status(
        self, ref: ObjectRef, status: dict[str, Any]
    ) -> dict[str, Any] | None: ...

    async def read_secret(self, namespace: str, name: str) -> SecretData: ...

    async def post_event(self, ref: ObjectRef, type_: str, reason: str, message: str) -> None: ...

    async def patch_finalizers(
        self, ref: ObjectRef, current: list[str], wanted: list[str]
    ) -> dict[str, Any] | None: ...


class Reconciler:
    def __init__(
        self,
        settings: Settings,
        kube: KubeWriter,
        gateway: DrsGateway,
        metrics: Metrics,
        *,
        tally: PhaseTally | None = None,
        clock: Callable[[], dt.datetime] = utcnow,
        rng: random.Random | None = None,
        policy: Policy | None = None,
    ) -> None:
        self.settings = settings
        self.kube = kube
        self.gateway = gateway
        self.metrics = metrics
        self.tally = tally if tally is not None else PhaseTally(metrics)
        self.clock = clock
        self.rng = rng or random.Random()
        self.policy = policy or Policy(verify_timeout=settings.verify_timeout)
        self.writer = StatusWriter(kube)

    def forget(self, uid: str) -> None:
        """The object is gone: drop what this process held for it."""
        self.writer.forget(uid)

    async def connect(self, spec: DrsJobPauseSpec, namespace: str) -> Connection | Problem:
        return await connect(self.settings, self.kube, spec, namespace)

    async def reconcile(self, obj: ObjectView) -> PassResult:
        result = PassResult(wake_after=None)

        def answered() -> dict[str, Any] | None:
            return None if result.answered is None else self._answered_doc(obj, result.answered)

        with self.writer.keeping_answers(obj, answered):
            result = await self._reconcile(obj, result)
        # However the pass ended (an invalid spec, a selection that stalls...): the metrics of
        # the object as its status now reads.
        self.tally.set(obj.ref, obj.status)
        return result

    async def _reconcile(self, obj: ObjectView, result: PassResult) -> PassResult:
        olog = logging.LoggerAdapter(log, {"object": f"{obj.ref.namespace}/{obj.ref.name}"})
        before = obj.status
        start = await self.writer.held(obj, olog)
        if start is None:
            return PassResult(wake_after=None)
        try:
            spec = parse_spec(obj.spec)
        except SpecError as err:
            await self._invalid(obj, start, str(err), olog)
            return PassResult(wake_after=None)

        # spec.selector: its tasks become spec.jobs (resolved once per generation).
        selection = SelectionContext(self.writer, self.gateway, self.policy, self.clock,
                                     self.connect)
        selected = await select_jobs(selection, obj, spec, olog)
        if isinstance(selected, Stop):
            return PassResult(selected.wake_after, selected.drs_calls, selected.transient_failure)
        spec = selected
        jobs, token = sync(
            spec,
            jobs_from_status(start),
            retry_token=obj.retry_token,
            acted_token=start.get("retryFailedToken"),
        )
        jobs = hold_new_pauses(jobs, resuming.begun(jobs))
        decided = Decisions(retry_token=token, resume_token=start.get("resumeNowToken"))
        io = PassIO(self, obj, spec, start, result, olog, decided)
        if spec.dry_run or self.settings.dry_run:
            return await self._plan(io, jobs)

        jobs, problem = await io.drive(PAUSE, jobs)
        jobs = plans.sent(self._expire(PAUSE, jobs, result))

        now = self.clock()
        decided.paused_at = resuming.paused_time(jobs, parse_time(start.get("pausedTime")), now)
        decided.due_at = resuming.resume_time(spec.resume, decided.paused_at)
        fresh = resuming.new_token(obj.resume_now, decided.resume_token)
        decided.why = resuming.trigger(
            spec.resume, jobs, due_at=decided.due_at, now=now, resume_now=fresh,
            deleting=obj.deleting,
        )
        if decided.why is not None:
            jobs = resuming.begin(jobs, again=fresh)
            if fresh:
                decided.resume_token = obj.resume_now
            olog.info("resume begins (%s)", decided.why)
        jobs = delay.begin_catch_up(spec.resume.catch_up if spec.resume else None, jobs)
        if problem is None:
            jobs, problem = await io.drive(RESUME, jobs)
        jobs = self._expire(RESUME, jobs, result)

        now = self.clock()
        status = self.doc(obj, jobs, decided, problem)
        await self.writer.write(obj, status, olog, hold=True)
        await self.writer.post_transitions(obj, before)
        await self.writer.post(obj, resume_events(start, obj.status, decided.why) + io.events)
        await self._finalizer(obj, spec, jobs, olog)

        wake = _earliest(
            legs.next_wakeup(PAUSE, jobs, now, self.policy),
            legs.next_wakeup(RESUME, jobs, now, self.policy),
            delay.next_reading(jobs, now),
            None if resuming.begun(jobs) else decided.due_at,
        )
        return self._woken(result, wake, problem, status, now)

    async def _plan(self, io: PassIO, jobs: list[Job]) -> PassResult:
        """A plan instead of a pause: look, decide, write; nothing is sent."""
        obj, start, result = io.obj, io.start, io.result
        now = self.clock()
        planned = parse_time(start.get("plannedTime"))
        problem: Problem | None = None
        if planned is None or plans.due(start, obj.generation, obj.replan_token, now):
            found, problem = await io.look_only(jobs)
            if found is not None:
                jobs, planned = found, self.clock()
        else:
            problem = carried_problem(start)
        state = ObjectStatus.kept(start, obj.generation, problem)
        state = replace(
            state,
            jobs=jobs,
            retry_token=io.decided.retry_token,
            # A resume-now set while the object only plans is taken as seen: nothing is resumed
            # now, and nothing later, once the object acts (it would pause and resume at once).
            resume_token=obj.resume_now or start.get("resumeNowToken"),
            due_at=None,
            planning=True,
            planned_at=planned,
            replan_token=obj.replan_token or start.get("replanToken"),
            plan_forced=self.settings.dry_run and not io.spec.dry_run,
            gate_max=io.spec.delay_gate.max_delay_seconds if io.spec.delay_gate else None,
        )
        status = render(start, state, self.clock())
        await self.writer.write(obj, status, io.olog, hold=True)
        await self.writer.post_transitions(obj, io.before)
        wake = planned + plans.REPLAN_AFTER if planned else None
        return self._woken(result, wake, problem, status, now)

    def _woken(
        self,
        result: PassResult,
        wake: dt.datetime | None,
        problem: Problem | None,
        status: dict[str, Any],
        now: dt.datetime,
    ) -> PassResult:
        result.wake_after = None if wake is None else max(0.0, (wake - now).total_seconds())
        if problem is not None:
            result.wake_after = self.policy.stalled_backoff(status, now)
        if result.transient_failure:
            result.wake_after = max(result.wake_after or 0.0, self.policy.transient_retry)
        return result

    def _expire(self, verb: Verb, jobs: list[Job], result: PassResult) -> list[Job]:
        return legs.expire(verb, jobs, self.clock(), self.policy, observed=result.observed,
                           asked=result.asked)

    def doc(
        self, obj: ObjectView, jobs: list[Job], d: Decisions, problem: Problem | None
    ) -> dict[str, Any]:
        """The status this pass writes for these jobs."""
        now = self.clock()
        state = ObjectStatus(
            jobs=jobs,
            generation=obj.generation,
            problem=problem,
            retry_token=d.retry_token,
            paused_at=d.paused_at,
            due_at=d.due_at,
            resume_token=d.resume_token,
            warn_long=resuming.long_pause(jobs, d.paused_at, d.due_at, now),
            deleting=obj.deleting and RESUME_FINALIZER in obj.finalizers,
            gate_max=d.gate_max,
        )
        return render(obj.status, state, now)

    def _answered_doc(self, obj: ObjectView, jobs: list[Job]) -> dict[str, Any]:
        """The status with DRS's answers in it, everything else as the object has it (the
        pass's write-ahead, which also holds the tokens it acted on)."""
        current = obj.status
        kept = ObjectStatus.kept(current, obj.generation, carried_problem(current))
        d = Decisions(kept.retry_token, kept.resume_token, kept.paused_at, kept.due_at)
        return self.doc(obj, jobs, d, kept.problem)

    async def _invalid(
        self,
        obj: ObjectView,
        start: dict[str, Any],
        message: str,
        olog: logging.LoggerAdapter[logging.Logger],
    ) -> None:
        """A spec the operator cannot read: Stalled, InvalidSpec; nothing else changes."""
        problem = Problem("InvalidSpec", message)
        state = replace(ObjectStatus.kept(start, obj.generation, problem), due_at=None,
                        deleting=obj.deleting)
        await self.writer.write(obj, render(start, state, self.clock()), olog)
        await self.writer.post_transitions(obj, start)
        # Being deleted with a spec the operator cannot read: only skip-resume lets it go.
        if obj.deleting and obj.skip_resume and RESUME_FINALIZER in obj.finalizers:
            await self._set_finalizer(obj, False, olog)

    async def _finalizer(
        self,
        obj: ObjectView,
        spec: DrsJobPauseSpec,
        jobs: list[Job],
        olog: logging.LoggerAdapter[logging.Logger],
    ) -> None:
        """The resume finalizer: only while spec.resume.onDelete asks for it."""
        want = resuming.finalizer_wanted(spec.resume, jobs)
        has = RESUME_FINALIZER in obj.finalizers
        if obj.deleting:
            if has and obj.skip_resume and want:
                await self.kube.post_event(
                    obj.ref,
                    "Warning",
                    "ResumeSkipped",
                    "deleted without resuming its tasks (drs.cloudops.dev/skip-resume)",
                )
                await self._set_finalizer(obj, False, olog)
            elif has and not want:
                await self._set_finalizer(obj, False, olog)
        elif want != has:
            await self._set_finalizer(obj, want, olog)

    async def _set_finalizer(
        self, obj: ObjectView, present: bool, olog: logging.LoggerAdapter[logging.Logger]
    ) -> None:
        current = list(obj.finalizers)
        wanted = [f for f in current if f != RESUME_FINALIZER]
        if present:
            wanted.append(RESUME_FINALIZER)
        body = await self.kube.patch_finalizers(obj.ref, current, wanted)
        if body is not None:
            obj.written(body, obj.status)
            olog.info("finalizer %s %s", RESUME_FINALIZER, "added" if present else "removed")


def _earliest(*times: dt.datetime | None) -> dt.datetime | None:
    known = [t for t in times if t is not None]
    return min(known) if known else None
