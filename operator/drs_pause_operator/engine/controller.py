"""Drives reconcile passes: a cache of objects fed by kopf's watch, a work queue, DRS and
Kubernetes I/O around the pure functions of ``reconcile.py``.

kopf's event handler only records the newest body and queues the object; workers run passes.
Every pass starts from the object's status, so restarts, watch replays and timers all end in
the same place. A finished object costs one cache entry and nothing else: no timer, no request.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import urllib3
from kubernetes.client.exceptions import ApiException

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
from drs_pause_operator.engine.kube import KubeApi, ObjectRef, SecretUnavailable
from drs_pause_operator.outbound.gateway import DrsGateway
from drs_pause_operator.resource.credentials import (
    Credentials,
    Target,
    credentials_from_secret,
    decode_secret_data,
    resolve_target,
)
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
from drs_pause_operator.resource.spec import (
    RETRY_ANNOTATION,
    DrsJobPauseSpec,
    SpecError,
    parse_spec,
)
from drs_pause_operator.resource.status import (
    ACCEPTED,
    FAILED,
    PAUSED,
    PENDING,
    JobState,
    Problem,
    condition,
    parse_time,
    render,
    transition_events,
)

log = logging.getLogger(__name__)

NOT_PROBLEMS = frozenset({"JobsFailed", "NotStalled"})
STALLED_RETRY_MIN, STALLED_RETRY_MAX = 2.0, 60.0
TRANSIENT_RETRY = 3.0  # a whole batch-status call failed: look again soon
KUBE_RETRY_MIN, KUBE_RETRY_MAX = 2.0, 5.0  # the Kubernetes API was unreachable or 5xx/429


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _pack(value: dict[str, Any]) -> bytes:
    """Canonical compact JSON (sorted keys): equal documents pack to equal bytes."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, sort_keys=True).encode()


class Entry:
    """What the controller keeps of an object: no managedFields, no unused metadata.

    Spec and status are held as compact JSON and decoded for the pass that reads them: a
    10-job object costs ~3.5 KB that way instead of ~17 KB of dicts (bench: 5,000 such objects,
    ~18 MiB instead of ~86 MiB). Each read returns a fresh copy.
    """

    __slots__ = ("_spec", "_status", "generation", "ref", "resource_version", "retry_token")

    def __init__(
        self,
        ref: ObjectRef,
        generation: int,
        resource_version: str,
        spec: dict[str, Any],
        status: dict[str, Any],
        retry_token: str | None,
    ) -> None:
        self.ref = ref
        self.generation = generation
        self.resource_version = resource_version
        self._spec = _pack(spec)
        self._status = _pack(status)
        self.retry_token = retry_token

    @property
    def spec(self) -> dict[str, Any]:
        return json.loads(self._spec)

    @property
    def status(self) -> dict[str, Any]:
        return json.loads(self._status)

    @status.setter
    def status(self, value: dict[str, Any]) -> None:
        self._status = _pack(value)

    def status_is(self, value: dict[str, Any]) -> bool:
        """Is the cached status equal to ``value``? (No decoding: canonical bytes compared.)"""
        return _pack(value) == self._status

    @classmethod
    def of(cls, body: dict[str, Any]) -> Entry:
        meta = body.get("metadata") or {}
        return cls(
            ref=ObjectRef(meta.get("namespace", ""), meta.get("name", ""), meta.get("uid", "")),
            generation=int(meta.get("generation") or 0),
            resource_version=str(meta.get("resourceVersion") or ""),
            spec=dict(body.get("spec") or {}),
            status=dict(body.get("status") or {}),
            retry_token=(meta.get("annotations") or {}).get(RETRY_ANNOTATION) or None,
        )


def _newer(candidate: str, current: str) -> bool:
    """Is resourceVersion ``candidate`` not older than ``current``?

    resourceVersions are opaque, but etcd's are integers; comparing them keeps a late watch
    event from rolling the cache back behind a status this process just wrote.
    """
    if candidate.isdigit() and current.isdigit():
        return int(candidate) >= int(current)
    return True


@dataclass
class Connection:
    target: Target
    creds: Credentials
    language: str


@dataclass
class PassResult:
    wake_after: float | None
    drs_calls: int = 0
    # A whole DRS call failed transiently: nothing of this object is retried sooner than
    # TRANSIENT_RETRY, whatever the jobs' own schedule says (no hot loop while DRS is down).
    transient_failure: bool = False
    # Jobs whose task state batch-status answered in this pass: only those can be found
    # overdue (a lost lookup must not fail a task that did pause).
    observed: set[str] = field(default_factory=set)


class Controller:
    def __init__(
        self,
        settings: Settings,
        kube: KubeApi,
        gateway: DrsGateway,
        metrics: Metrics,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        from drs_pause_operator.engine.workqueue import WorkQueue

        self.settings = settings
        self.kube = kube
        self.gateway = gateway
        self.metrics = metrics
        self.clock = clock
        self.policy = Policy(verify_timeout=settings.verify_timeout)
        self.cache: dict[str, Entry] = {}
        self.queue = WorkQueue()
        self.tally = PhaseTally(metrics)
        self.rng = random.Random()
        self._workers: list[asyncio.Task[None]] = []

    # -- feeding ----------------------------------------------------------------------------

    def observe(self, event_type: str | None, body: dict[str, Any]) -> None:
        entry = Entry.of(body)
        uid = entry.ref.uid
        if event_type == "DELETED":
            self.cache.pop(uid, None)
            self.queue.forget(uid)
            self.tally.forget(uid)
            return
        current = self.cache.get(uid)
        if current is not None and (
            # The echo of this process's own status write (the cache already holds that very
            # version), or an event older than the cache: nothing new, no pass.
            entry.resource_version == current.resource_version
            or not _newer(entry.resource_version, current.resource_version)
        ):
            return
        self.cache[uid] = entry
        self.queue.add(uid)

    def start(self) -> None:
        # A worker spends its pass waiting: on a status write, or for its jobs' place in a
        # coalesced DRS call. A call is only full when batch_size jobs wait at once, so the
        # workers must outnumber the DRS calls in flight: 2 x batch_size of them fill two full
        # calls even with one-job objects (one filling while one is out). They are idle tasks
        # otherwise, and the rate limiter and max_concurrency still bound what goes to DRS.
        for _ in range(max(self.settings.max_concurrency, 2 * self.settings.batch_size)):
            self._workers.append(asyncio.create_task(self.queue.worker(self._process)))

    async def stop(self) -> None:
        self.queue.shutdown()
        for task in self._workers:
            task.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        self._workers.clear()

    async def _process(self, uid: Any) -> None:
        entry = self.cache.get(uid)
        if entry is None:
            return
        started = time.perf_counter()
        try:
            result = await self.reconcile(entry)
        except Exception as err:
            if _kube_unavailable(err):
                # E.g. the API server restarting: nothing is lost (the status holds the
                # write-ahead attempt), so look again soon, not after a minute.
                wake = self.rng.uniform(KUBE_RETRY_MIN, KUBE_RETRY_MAX)
                log.warning(
                    "reconcile of %s/%s: Kubernetes API unavailable (%s); retrying in %.0fs",
                    entry.ref.namespace,
                    entry.ref.name,
                    type(err).__name__,
                    wake,
                )
                result = PassResult(wake_after=wake)
            else:
                log.exception(
                    "reconcile of %s/%s failed; retrying in %ss",
                    entry.ref.namespace,
                    entry.ref.name,
                    STALLED_RETRY_MAX,
                )
                result = PassResult(wake_after=STALLED_RETRY_MAX)
        finally:
            self.metrics.reconcile.observe(time.perf_counter() - started)
        if result.wake_after is not None and uid in self.cache:
            self.queue.add_after(uid, result.wake_after)

    # -- one pass ---------------------------------------------------------------------------

    async def reconcile(self, entry: Entry) -> PassResult:
        olog = logging.LoggerAdapter(log, {"object": f"{entry.ref.namespace}/{entry.ref.name}"})
        now = self.clock()
        start_status = entry.status
        try:
            spec = parse_spec(entry.spec)
        except SpecError as err:
            problem = Problem("InvalidSpec", str(err))
            status = render(
                start_status,
                jobs_from_status(start_status),
                entry.generation,
                problem,
                now,
                start_status.get("retryFailedToken"),
            )
            await self._write(entry, status, olog)
            await self._post_events(entry, start_status)
            return PassResult(wake_after=None)

        jobs, token = sync(
            spec,
            jobs_from_status(start_status),
            retry_token=entry.retry_token,
            acted_token=start_status.get("retryFailedToken"),
        )
        problem: Problem | None = None
        result = PassResult(wake_after=None)
        if due_checks(jobs, now) or due_pauses(jobs, now):
            conn = await self._connect(spec, entry.ref.namespace)
            if isinstance(conn, Problem):
                problem = conn
            else:
                try:
                    jobs = await self._drs_steps(entry, conn, jobs, token, olog, result)
                except (DrsAuthenticationError, DrsTLSError, DrsInvalidProjectError) as err:
                    problem = _problem_from(err)
                    # Nothing is due before the stalled backoff: the watch event of this pass's
                    # own status write must not send the rejected request again at once (that
                    # was a hot loop against DRS/IAM with bad credentials).
                    retry_at = now + dt.timedelta(seconds=_stalled_backoff(start_status, now))
                    jobs = [j.update(next_attempt_time=retry_at) if j.active else j for j in jobs]
                except DrsError as err:
                    olog.info(
                        "DRS call failed (%s); looking again in %ss",
                        REDACTOR.redact(str(err)),
                        TRANSIENT_RETRY,
                    )
                    result.transient_failure = True
        elif any(j.active for j in jobs):
            problem = _carried_problem(start_status)

        now = self.clock()
        jobs = expire(jobs, now, self.policy, observed=result.observed)
        status = render(entry.status, jobs, entry.generation, problem, now, token)
        await self._write(entry, status, olog)
        await self._post_events(entry, start_status)
        self._tally(entry, jobs, problem)

        wake = next_wakeup(jobs, now, self.policy)
        if problem is not None:
            wake = _stalled_backoff(status, now)
        if result.transient_failure:
            wake = max(wake or 0.0, TRANSIENT_RETRY)
        result.wake_after = wake
        return result

    async def _drs_steps(
        self,
        entry: Entry,
        conn: Connection,
        jobs: list[JobState],
        token: str | None,
        olog: logging.LoggerAdapter,
        result: PassResult,
    ) -> list[JobState]:
        now = self.clock()
        checks = due_checks(jobs, now)
        if checks:
            answers = await self.gateway.status(conn.target, conn.creds, conn.language, checks)
            result.drs_calls += 1
            result.observed.update(_seen(answers))
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
        with self.gateway.announce(conn.target, conn.creds, conn.language):
            written = await self._write(
                entry, render(entry.status, jobs, entry.generation, None, now, token), olog
            )
        if not written:
            return jobs
        infos = [
            PauseInfo(job_id=j.job_id, pause_mode=j.pause_mode) for j in jobs if j.job_id in ids
        ]  # type: ignore[arg-type]
        outcomes = await self.gateway.pause(conn.target, conn.creds, conn.language, infos)
        result.drs_calls += 1
        for o in outcomes.values():
            self.metrics.job_result(
                "success" if o.succeeded else ("transient" if o.transient else "failed"),
                o.error_code,
            )
        now = self.clock()
        jobs, verify = apply_pause(jobs, outcomes, now, self.policy, self.rng)
        if verify:
            try:
                answers = await self.gateway.status(conn.target, conn.creds, conn.language, verify)
                result.drs_calls += 1
            except DrsError as err:
                if isinstance(err, (DrsAuthenticationError, DrsTLSError, DrsInvalidProjectError)):
                    raise
                olog.info(
                    "verification lookup failed (%s); polling later", REDACTOR.redact(str(err))
                )
                result.transient_failure = True
                return jobs
            result.observed.update(_seen(answers))
            jobs = apply_status(jobs, answers, now, self.policy)
            jobs = settle_not_pausable(jobs, answers, verify)
        return jobs

    async def _connect(self, spec: DrsJobPauseSpec, namespace: str) -> Connection | Problem:
        target = resolve_target(spec, namespace, self.settings)
        if isinstance(target, Problem):
            return target
        try:
            raw = await self.kube.read_secret(target.secret.namespace, target.secret.name)
        except SecretUnavailable as err:
            return Problem(err.reason, err.message)
        creds = credentials_from_secret(decode_secret_data(raw), target.secret, self.settings)
        if isinstance(creds, Problem):
            return creds
        register_secret(*creds.secret_values())
        return Connection(target, creds, spec.language)

    async def _write(
        self, entry: Entry, status: dict[str, Any], olog: logging.LoggerAdapter
    ) -> bool:
        """Patch status if it changed, keeping the cache at what was written.

        False when the object is gone or was replaced: the status was not written.
        """
        if entry.status_is(status):
            return True
        body = await self.kube.patch_status(entry.ref, status)
        if body is None:
            olog.info("object is gone or replaced; dropping this pass's status")
            return False
        entry.status = dict(body.get("status") or status)
        rv = str((body.get("metadata") or {}).get("resourceVersion") or "")
        if rv and _newer(rv, entry.resource_version):
            entry.resource_version = rv
        # The answer is the whole object at its new version: if a watch event replaced the
        # cache entry during this pass, the cache must not fall behind this write (a pass run
        # from the older status would check or send again what this pass already did).
        cached = self.cache.get(entry.ref.uid)
        if cached is not None and cached is not entry and rv and _newer(
            rv, cached.resource_version
        ):
            self.cache[entry.ref.uid] = Entry.of(body)
        olog.debug("status written: phase %s", status.get("phase"))
        return True

    async def _post_events(self, entry: Entry, before: dict[str, Any]) -> None:
        """One Event per transition between the start and the end of a pass."""
        for type_, reason, message in transition_events(before, entry.status):
            await self.kube.post_event(entry.ref, type_, reason, message)

    def _tally(self, entry: Entry, jobs: list[JobState], problem: Problem | None) -> None:
        counts = {p: 0 for p in (PENDING, ACCEPTED, PAUSED, FAILED)}
        for job in jobs:
            counts[job.phase] += 1
        current = entry.status
        stalled = condition(current, "Stalled") or {}
        reason = stalled.get("reason") if stalled.get("status") == "True" else ""
        self.tally.set(
            entry.ref.uid,
            str(current.get("phase", PENDING)),
            counts,
            problem.reason if problem else str(reason or ""),
        )


def _problem_from(err: DrsError) -> Problem:
    message = REDACTOR.redact(str(err))
    if isinstance(err, DrsAuthenticationError):
        return Problem("AuthenticationFailed", f"DRS rejected the credentials: {message}")
    if isinstance(err, DrsTLSError):
        return Problem("TLSError", f"TLS connection to DRS failed: {message}")
    return Problem("InvalidProject", f"DRS rejected the project: {message}")


def _seen(answers: dict[str, Any]) -> list[str]:
    """Ids batch-status told something about (a state, or an error such as not found)."""
    return [i for i, a in answers.items() if a.status or a.error_code]


def _kube_unavailable(err: Exception) -> bool:
    """A Kubernetes API error worth a quick retry: no connection, or a 429/5xx answer."""
    if isinstance(err, urllib3.exceptions.HTTPError):
        return True
    return isinstance(err, ApiException) and (err.status == 429 or (err.status or 0) >= 500)


def _carried_problem(status: dict[str, Any]) -> Problem | None:
    """Keep an operator-level problem visible between the passes that re-check it."""
    stalled = condition(status, "Stalled") or {}
    if stalled.get("status") == "True" and stalled.get("reason") not in NOT_PROBLEMS:
        return Problem(str(stalled.get("reason")), str(stalled.get("message", "")))
    return None


def _stalled_backoff(status: dict[str, Any], now: dt.datetime) -> float:
    """Re-check a stalled object soon after it stalled, then less often (2 s .. 60 s)."""
    since = parse_time((condition(status, "Stalled") or {}).get("lastTransitionTime")) or now
    waited = (now - since).total_seconds()
    return min(STALLED_RETRY_MAX, max(STALLED_RETRY_MIN, waited / 2))
