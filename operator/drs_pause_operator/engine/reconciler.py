"""One reconcile pass of one DrsJobPause: the I/O around the pure steps of
``resource/reconcile.py``.

A pass reads the Secret, looks tasks up and pauses them through the gateway, writes the status
(once before a pause leaves, once at the end) and posts one Event per transition:

    parse spec -> sync -> [connect] -> [batch-status] -> [write-ahead] -> [pause]
               -> [verify] -> expire -> render -> write -> events -> when to look again

Every pass starts from the object's status, so restarts, watch replays and timers all end in
the same place. The pass knows nothing of caches, queues or kopf: it is given an
:class:`ObjectView` and a :class:`KubeWriter`, which tests replace with plain fakes.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from drs_pause_operator.app.metrics import Metrics, PhaseTally
from drs_pause_operator.app.settings import Settings
from drs_pause_operator.drs.errors import (
    DrsAuthenticationError,
    DrsError,
    DrsInvalidProjectError,
    DrsTLSError,
)
from drs_pause_operator.drs.models import PauseInfo
from drs_pause_operator.drs.redact import REDACTOR, register_secret
from drs_pause_operator.engine.kube import ObjectRef, SecretData, SecretUnavailable
from drs_pause_operator.engine.selection import Stop, select_jobs
from drs_pause_operator.outbound.gateway import DrsGateway
from drs_pause_operator.resource import resume
from drs_pause_operator.resource.credentials import (
    Credentials,
    Target,
    credentials_from_secret,
    decode_secret_data,
    endpoint_problem,
    resolve_target,
)
from drs_pause_operator.resource.reconcile import (
    Policy,
    apply_pause,
    apply_status,
    carried_problem,
    due_checks,
    due_pauses,
    expire,
    jobs_from_status,
    mark_attempts,
    next_wakeup,
    settle_not_pausable,
    sync,
)
from drs_pause_operator.resource.spec import (
    RESUME_FINALIZER,
    DrsJobPauseSpec,
    SpecError,
    parse_spec,
)
from drs_pause_operator.resource.status import (
    PENDING,
    JobState,
    Problem,
    parse_time,
    render,
    transition_events,
)

log = logging.getLogger(__name__)

#: Errors about the operator's access to DRS as a whole: the object stalls until they are gone.
ACCESS_ERRORS = (DrsAuthenticationError, DrsTLSError, DrsInvalidProjectError)
#: For tests only: seconds to sleep after a resume's write-ahead and before its request leaves,
#: so that an end-to-end test can kill the operator exactly between the two. Unset in production.
TEST_HOLD_ENV = "DRS_PAUSE_TEST_HOLD_AFTER_RESUME_WRITE"
#: For tests only: "1" makes a deliberately BROKEN operator that re-sends a job whose earlier
#: pause may have gone out (attempts > 0, still Pending) without the batch-status look first.
#: tests/e2e/test_double_pause_detection.py proves the double-pause checks catch it. Never set
#: it anywhere else.
TEST_SKIP_PRECHECK_ENV = "DRS_PAUSE_TEST_SKIP_PRECHECK"


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


class ObjectView(Protocol):
    """The object as the pass sees it (``engine.controller.Entry`` in the operator)."""

    ref: ObjectRef
    generation: int
    retry_token: str | None
    # spec.resume: the resume-now annotation, skip-resume, deletion and finalizers.
    resume_now: str | None
    skip_resume: bool
    deleting: bool
    finalizers: tuple[str, ...]

    @property
    def spec(self) -> dict[str, Any]: ...

    @property
    def status(self) -> dict[str, Any]: ...

    def status_is(self, value: dict[str, Any]) -> bool: ...

    def written(self, body: dict[str, Any], status: dict[str, Any]) -> None:
        """The status was written; ``body`` is the object the API server answered with."""


@dataclass
class Connection:
    target: Target
    creds: Credentials
    language: str


@dataclass
class PassResult:
    #: Seconds until the object wants another pass; None when nothing is due.
    wake_after: float | None
    drs_calls: int = 0
    # A whole DRS call failed transiently: nothing of this object is retried sooner than
    # Policy.transient_retry, whatever the jobs' own schedule says.
    transient_failure: bool = False
    # Jobs whose task state batch-status answered in this pass: only those can be found
    # overdue (a lost lookup must not fail a task that did pause).
    observed: set[str] = field(default_factory=set)
    # Jobs this pass's batch-status lookups asked about (answered or not).
    asked: set[str] = field(default_factory=set)
    # The jobs as DRS's pause answers left them, once this pass has read one: kept for the
    # next pass if this one ends before its status write (Reconciler._keeping_answers).
    answered: list[JobState] | None = None


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
        self.test_hold = float(os.environ.get(TEST_HOLD_ENV) or 0)
        # The end-of-pass status a failed write could not store, per object uid (see _held).
        self._unwritten: dict[str, _Unwritten] = {}

    def forget(self, uid: str) -> None:
        """The object is gone: drop what this process held for it."""
        self._unwritten.pop(uid, None)

    async def reconcile(self, obj: ObjectView) -> PassResult:
        result = PassResult(wake_after=None)
        with self._keeping_answers(obj, result):
            result = await self._reconcile(obj, result)
        self._tally(obj)  # however the pass ended (an invalid spec, a selection that stalls...)
        return result

    async def _reconcile(self, obj: ObjectView, result: PassResult) -> PassResult:
        olog = logging.LoggerAdapter(log, {"object": f"{obj.ref.namespace}/{obj.ref.name}"})
        before = obj.status
        start_status = await self._held(obj, before, olog)
        if start_status is None:
            return PassResult(wake_after=None)
        now = self.clock()
        try:
            spec = parse_spec(obj.spec)
        except SpecError as err:
            status = render(
                start_status,
                jobs_from_status(start_status),
                obj.generation,
                Problem("InvalidSpec", str(err)),
                now,
                start_status.get("retryFailedToken"),
            )
            kept = jobs_from_status(start_status)
            status = resume.decorate(
                start_status,
                status,
                resume.Decoration(
                    resume.states_from_status(start_status, kept),
                    parse_time(start_status.get("pausedTime")),
                    None,
                    start_status.get("resumeNowToken"),
                    deleting=obj.deleting,
                    problem=Problem("InvalidSpec", str(err)),
                ),
                obj.generation,
                now,
            )
            await self._write(obj, status, olog)
            await self._post_events(obj, start_status)
            # Being deleted with a spec the operator cannot read: only skip-resume lets it go.
            if obj.deleting and obj.skip_resume and RESUME_FINALIZER in obj.finalizers:
                await self._set_finalizer(obj, False, olog)
            return PassResult(wake_after=None)

        # spec.selector: its tasks become spec.jobs (resolved once per generation).
        selected = await select_jobs(self, obj, spec, olog, problem_from)
        if isinstance(selected, Stop):
            return PassResult(selected.wake_after, selected.drs_calls, selected.transient_failure)
        spec = selected
        jobs, token = sync(
            spec,
            jobs_from_status(start_status),
            retry_token=obj.retry_token,
            acted_token=start_status.get("retryFailedToken"),
        )
        states = resume.states_from_status(start_status, jobs)
        jobs = resume.hold_new_pauses(jobs, states)
        problem: Problem | None = None
        if due_checks(jobs, now) or due_pauses(jobs, now):
            conn = await self.connect(spec, obj.ref.namespace)
            if isinstance(conn, Problem):
                problem = conn
            else:
                try:
                    jobs = await self._drs_steps(obj, conn, jobs, token, olog, result)
                except ACCESS_ERRORS as err:
                    problem = problem_from(err)
                    # Nothing is due before the stalled backoff: the watch event of this pass's
                    # own status write must not send the rejected request again at once (that
                    # was a hot loop against DRS/IAM with bad credentials).
                    retry_at = now + dt.timedelta(
                        seconds=self.policy.stalled_backoff(start_status, now)
                    )
                    jobs = [j.update(next_attempt_time=retry_at) if j.active else j for j in jobs]
                except DrsError as err:
                    olog.info(
                        "DRS call failed (%s); looking again in %ss",
                        REDACTOR.redact(str(err)),
                        self.policy.transient_retry,
                    )
                    result.transient_failure = True
                    # A transient failure says nothing about an access problem seen before:
                    # it stays until a pass gets through (no Stalled flapping).
                    problem = carried_problem(start_status)
        elif any(j.active for j in jobs):
            problem = carried_problem(start_status)

        now = self.clock()
        jobs = expire(jobs, now, self.policy, observed=result.observed, asked=result.asked)
        jobs, rs = await self._resume(obj, spec, jobs, states, token, problem, olog, result)
        problem = rs.problem
        status = self._status_doc(obj, jobs, token, rs, now)
        await self._write(obj, status, olog, hold=True)
        await self._post_events(obj, before)
        for type_, reason, message in resume.events(start_status, obj.status, rs.why):
            await self.kube.post_event(obj.ref, type_, reason, message)
        await self._finalizer(obj, spec, rs.states, olog)

        wake = _earliest(
            next_wakeup(jobs, now, self.policy),
            resume.next_wakeup(rs.states, now, self.policy, rs.due_at),
        )
        if problem is not None:
            wake = self.policy.stalled_backoff(status, now)
        if result.transient_failure:
            wake = max(wake or 0.0, self.policy.transient_retry)
        result.wake_after = wake
        return result

    async def _drs_steps(
        self,
        obj: ObjectView,
        conn: Connection,
        jobs: list[JobState],
        token: str | None,
        olog: logging.LoggerAdapter,
        result: PassResult,
    ) -> list[JobState]:
        now = self.clock()
        checks = due_checks(jobs, now)
        if os.environ.get(TEST_SKIP_PRECHECK_ENV) == "1":  # test-only breakage, see its doc
            checks = [j.job_id for j in jobs if j.job_id in checks and j.phase != PENDING]
        if checks:
            answers = await self._look(conn, checks, result)
            jobs = apply_status(jobs, answers, now, self.policy)
        to_pause = due_pauses(jobs, now)
        if not to_pause:
            return jobs
        ids = {j.job_id for j in to_pause}
        retried = sum(1 for j in to_pause if j.attempts > 0)
        if retried:
            self.metrics.retries.inc(retried)
        jobs = mark_attempts(jobs, ids, now)
        # Write-ahead: the attempt is durable before the request leaves (see reconcile.py).
        # Not written (object deleted or replaced): nothing is sent for it. Announced to the
        # gateway meanwhile, so a pause call about to leave half full waits for these jobs.
        # A problem the status shows stays in the write-ahead too: only the end of a pass that
        # got through may clear it (else Stalled would flap while a request is out).
        problem = carried_problem(obj.status)
        with self.gateway.announce(conn.target, conn.creds, conn.language):
            written = await self._write(
                obj, render(obj.status, jobs, obj.generation, problem, now, token), olog
            )
        if not written:
            return jobs
        infos = [
            PauseInfo(job_id=j.job_id, pause_mode=j.pause_mode)  # type: ignore[arg-type]
            for j in jobs
            if j.job_id in ids
        ]
        outcomes = await self.gateway.pause(conn.target, conn.creds, conn.language, infos)
        result.drs_calls += 1
        for o in outcomes.values():
            self.metrics.job_result(
                "success" if o.succeeded else ("transient" if o.transient else "failed"),
                o.error_code,
            )
        now = self.clock()
        jobs, verify = apply_pause(jobs, outcomes, now, self.policy, self.rng)
        result.answered = jobs
        if verify:
            try:
                answers = await self._look(conn, verify, result)
            except DrsError as err:
                if isinstance(err, ACCESS_ERRORS):
                    raise
                olog.info(
                    "verification lookup failed (%s); polling later", REDACTOR.redact(str(err))
                )
                result.transient_failure = True
                return jobs
            jobs = apply_status(jobs, answers, now, self.policy)
            jobs = settle_not_pausable(jobs, answers, verify)
            result.answered = jobs
        return jobs

    async def _look(
        self, conn: Connection, ids: list[str], result: PassResult
    ) -> dict[str, Any]:
        """One batch-status lookup of this pass: what it asked about and what it answered for
        go into ``result`` (expire decides overdue jobs on both)."""
        result.asked.update(ids)
        answers = await self.gateway.status(conn.target, conn.creds, conn.language, ids)
        result.drs_calls += 1
        result.observed.update(_seen(answers))
        return answers

    def _answered_doc(self, obj: ObjectView, jobs: list[JobState]) -> dict[str, Any]:
        """The status with DRS's pause answers in it, everything else as the object has it
        (the pass's write-ahead, which also holds the retry token it acted on)."""
        now, current = self.clock(), obj.status
        token = current.get("retryFailedToken")
        status = render(current, jobs, obj.generation, carried_problem(current), now, token)
        keep = resume.Decoration(
            resume.states_from_status(current, jobs),
            parse_time(current.get("pausedTime")),
            parse_time(current.get("resumeTime")),
            current.get("resumeNowToken"),
            deleting=obj.deleting and RESUME_FINALIZER in obj.finalizers,
        )
        return resume.decorate(current, status, keep, obj.generation, now)

    # --- spec.resume (the pure steps are in resource/resume.py) -----------------------------

    def _status_doc(
        self,
        obj: ObjectView,
        jobs: list[JobState],
        token: str | None,
        rs: resume.Decoration,
        now: dt.datetime,
    ) -> dict[str, Any]:
        status = render(obj.status, jobs, obj.generation, rs.problem, now, token)
        return resume.decorate(obj.status, status, rs, obj.generation, now)

    async def _resume(
        self,
        obj: ObjectView,
        spec: DrsJobPauseSpec,
        jobs: list[JobState],
        states: list[resume.ResumeState],
        token: str | None,
        problem: Problem | None,
        olog: logging.LoggerAdapter,
        result: PassResult,
    ) -> tuple[list[JobState], _ResumePass]:
        """Begin the resume when it is due, and run its DRS steps (as the pause's)."""
        now = self.clock()
        start_status = obj.status
        paused_at = resume.paused_time(jobs, parse_time(start_status.get("pausedTime")), now)
        due_at = resume.resume_time(spec.resume, paused_at)
        acted = start_status.get("resumeNowToken")
        fresh = resume.new_token(obj.resume_now, acted)
        why = resume.trigger(
            spec.resume,
            jobs,
            states,
            due_at=due_at,
            now=now,
            resume_now=fresh,
            deleting=obj.deleting,
        )
        if why is not None:
            states = resume.begin(jobs, states, again=fresh)
            olog.info("resume begins (%s)", why)
        rs = _ResumePass(
            states=states,
            paused_at=paused_at,
            due_at=due_at,
            token=obj.resume_now if why is not None and fresh else acted,
            warn_long=resume.long_pause(jobs, paused_at, due_at, now),
            deleting=obj.deleting and RESUME_FINALIZER in obj.finalizers,
            problem=problem,
            why=why,
        )
        if problem is None and (
            resume.due_checks(states, now) or resume.due_resumes(states, now)
        ):
            conn = await self.connect(spec, obj.ref.namespace)
            if isinstance(conn, Problem):
                rs.problem = conn
            else:
                try:
                    jobs = await self._resume_steps(obj, conn, jobs, token, rs, olog, result)
                except ACCESS_ERRORS as err:
                    rs.problem = problem_from(err)
                    retry_at = now + dt.timedelta(
                        seconds=self.policy.stalled_backoff(start_status, now)
                    )
                    rs.states = [
                        s.update(next_attempt_time=retry_at) if s.active else s for s in rs.states
                    ]
                except DrsError as err:
                    olog.info("DRS resume call failed (%s)", REDACTOR.redact(str(err)))
                    result.transient_failure = True
                    rs.problem = carried_problem(start_status)
        elif problem is None and any(s.active for s in states):
            rs.problem = carried_problem(start_status)
        rs.states = resume.expire(
            rs.states, self.clock(), self.policy, observed=result.observed, asked=result.asked
        )
        return jobs, rs

    async def _resume_steps(
        self,
        obj: ObjectView,
        conn: Connection,
        jobs: list[JobState],
        token: str | None,
        rs: _ResumePass,
        olog: logging.LoggerAdapter,
        result: PassResult,
    ) -> list[JobState]:
        now = self.clock()
        checks = resume.due_checks(rs.states, now)
        if checks:
            answers = await self._look(conn, checks, result)
            rs.states = resume.apply_status(rs.states, answers, now)
            jobs = _task_states(jobs, answers)
        ids = resume.due_resumes(rs.states, now)
        if not ids:
            return jobs
        rs.states = resume.mark_attempts(rs.states, ids, now)
        # Write-ahead, as for a pause: a job with a resume attempt in status is looked up with
        # batch-status before it is sent again (resume.due_checks).
        carried = rs.problem
        rs.problem = carried_problem(obj.status)
        with self.gateway.announce(conn.target, conn.creds, conn.language):
            written = await self._write(obj, self._status_doc(obj, jobs, token, rs, now), olog)
        rs.problem = carried
        if not written:
            return jobs
        if self.test_hold > 0:
            olog.warning("%s set: holding the resume for %ss", TEST_HOLD_ENV, self.test_hold)
            await asyncio.sleep(self.test_hold)
        outcomes = await self.gateway.resume(conn.target, conn.creds, conn.language, ids)
        result.drs_calls += 1
        now = self.clock()
        rs.states, verify = resume.apply_resume(rs.states, outcomes, now, self.policy, self.rng)
        if verify:
            try:
                answers = await self._look(conn, verify, result)
            except DrsError as err:
                if isinstance(err, ACCESS_ERRORS):
                    raise
                olog.info("resume lookup failed (%s); polling later", REDACTOR.redact(str(err)))
                result.transient_failure = True
                return jobs
            rs.states = resume.apply_status(rs.states, answers, now)
            rs.states = resume.settle_not_resumable(rs.states, answers, verify)
            jobs = _task_states(jobs, answers)
        return jobs

    async def _finalizer(
        self,
        obj: ObjectView,
        spec: DrsJobPauseSpec,
        states: list[resume.ResumeState],
        olog: logging.LoggerAdapter,
    ) -> None:
        """The resume finalizer: only while spec.resume.onDelete asks for it (API: no other)."""
        want = resume.finalizer_wanted(spec.resume, states)
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

    async def _set_finalizer(self, obj: ObjectView, present: bool, olog: logging.LoggerAdapter):
        current = list(obj.finalizers)
        wanted = [f for f in current if f != RESUME_FINALIZER]
        if present:
            wanted.append(RESUME_FINALIZER)
        body = await self.kube.patch_finalizers(obj.ref, current, wanted)
        if body is not None:
            obj.written(body, obj.status)
            olog.info("finalizer %s %s", RESUME_FINALIZER, "added" if present else "removed")

    async def connect(self, spec: DrsJobPauseSpec, namespace: str) -> Connection | Problem:
        """The endpoint and credentials of an object, or why it cannot have them."""
        target = resolve_target(spec, namespace, self.settings)
        if isinstance(target, Problem):
            return target
        try:
            secret = await self.kube.read_secret(target.secret.namespace, target.secret.name)
        except SecretUnavailable as err:
            return Problem(err.reason, err.message)
        refused = endpoint_problem(target, secret.annotations, self.settings)
        if refused is not None:
            return refused
        creds = credentials_from_secret(
            decode_secret_data(secret.data), target.secret, self.settings
        )
        if isinstance(creds, Problem):
            return creds
        register_secret(*creds.secret_values())
        return Connection(target, creds, spec.language)

    async def _held(
        self, obj: ObjectView, status: dict[str, Any], olog: logging.LoggerAdapter
    ) -> dict[str, Any] | None:
        """Write first what the last pass could not, if the object still has the status that
        pass started from. Else a pass after an API server outage would start from the
        write-ahead and, for a task DRS accepted but that is not PAUSING (yet, or ever), send
        the pause again. Returns the status the pass starts from (``status``, the object's, if
        nothing was held); None when the object is gone or was replaced.

        Kept across a lost and regained leadership (the outage that failed the write usually
        cost the Lease too): if another replica wrote the status meanwhile, the watch has shown
        it (the Lease changes hands only after a full lease duration) and the base differs."""
        held = self._unwritten.pop(obj.ref.uid, None)
        if held is None or not obj.status_is(held.base):
            return status
        olog.info("writing the status an earlier pass could not store")
        return obj.status if await self._write(obj, held.status, olog, hold=True) else None

    @contextlib.contextmanager
    def _keeping_answers(self, obj: ObjectView, result: PassResult) -> Iterator[None]:
        """A pass cancelled (leadership lost) or failed after DRS answered its pause keeps the
        answers for the object's next pass, unless its final write kept the whole status."""
        try:
            yield
        except BaseException:
            if result.answered is not None and obj.ref.uid not in self._unwritten:
                self._unwritten[obj.ref.uid] = _Unwritten(
                    obj.status, self._answered_doc(obj, result.answered)
                )
            raise

    async def _write(
        self,
        obj: ObjectView,
        status: dict[str, Any],
        olog: logging.LoggerAdapter,
        *,
        hold: bool = False,
    ) -> bool:
        """Patch status if it changed. False when the object is gone or was replaced.

        ``hold``: the status ends a pass (DRS answers are in it); if the write fails, keep it
        for the object's next pass in this process (:meth:`_held`)."""
        if obj.status_is(status):
            return True
        try:
            body = await self.kube.patch_status(obj.ref, status)
        except BaseException:  # also cancelled mid-write: it may or may not have landed
            if hold:  # the object's status is still the one the write would have replaced
                self._unwritten[obj.ref.uid] = _Unwritten(obj.status, status)
            raise
        if body is None:
            olog.info("object is gone or replaced; dropping this pass's status")
            return False
        obj.written(body, status)
        olog.debug("status written: phase %s", status.get("phase"))
        return True

    async def _post_events(self, obj: ObjectView, before: dict[str, Any]) -> None:
        """One Event per transition between the start and the end of a pass."""
        for type_, reason, message in transition_events(before, obj.status):
            await self.kube.post_event(obj.ref, type_, reason, message)

    def _tally(self, obj: ObjectView) -> None:
        """The metrics of the object as its status now reads (what this pass wrote)."""
        self.tally.set(obj.ref, obj.status)


@dataclass
class _ResumePass(resume.Decoration):
    """A pass's resume part: what the status shows of it, and why it began (if it did)."""

    why: str | None = None


@dataclass(frozen=True)
class _Unwritten:
    base: dict[str, Any]  # the object's status when the write failed
    status: dict[str, Any]  # what the pass meant to write


def _task_states(jobs: list[JobState], answers: dict[str, Any]) -> list[JobState]:
    """Refresh the taskStatus of jobs that batch-status answered for during a resume."""
    seen = resume.task_states(answers)
    return [j.update(task_status=seen[j.job_id]) if j.job_id in seen else j for j in jobs]


def _earliest(*delays: float | None) -> float | None:
    known = [d for d in delays if d is not None]
    return min(known) if known else None


def problem_from(err: DrsError) -> Problem:
    message = REDACTOR.redact(str(err))
    if isinstance(err, DrsAuthenticationError):
        return Problem("AuthenticationFailed", f"DRS rejected the credentials: {message}")
    if isinstance(err, DrsTLSError):
        return Problem("TLSError", f"TLS connection to DRS failed: {message}")
    return Problem("InvalidProject", f"DRS rejected the project: {message}")


def _seen(answers: dict[str, Any]) -> list[str]:
    """Ids batch-status told something about (a state, or an error such as not found)."""
    return [i for i, a in answers.items() if a.status or a.error_code]
