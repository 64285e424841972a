"""Feeds and schedules reconcile passes: a cache of objects fed by kopf's watch, a keyed work
queue, and the workers that run one pass (``reconciler.py``) per object at a time.

kopf's event handler only records the newest body and queues the object. A finished object
costs one cache entry and nothing else: no timer, no request.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import random
import time
from collections.abc import Callable
from typing import Any

import urllib3
from kubernetes.client.exceptions import ApiException

from drs_pause_operator.app.metrics import Metrics, PhaseTally
from drs_pause_operator.app.settings import Settings
from drs_pause_operator.engine.kube import KubeApi, ObjectRef
from drs_pause_operator.engine.reconciler import PassResult, Reconciler, utcnow
from drs_pause_operator.engine.workqueue import WorkQueue
from drs_pause_operator.outbound.gateway import DrsGateway
from drs_pause_operator.resource.reconcile import Policy
from drs_pause_operator.resource.selector import RESELECT_ANNOTATION
from drs_pause_operator.resource.spec import (
    RESUME_NOW_ANNOTATION,
    RETRY_ANNOTATION,
    SKIP_RESUME_ANNOTATION,
)

log = logging.getLogger(__name__)


def _pack(value: dict[str, Any]) -> bytes:
    """Canonical compact JSON (sorted keys): equal documents pack to equal bytes."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, sort_keys=True).encode()


class Entry:
    """What the controller keeps of an object: no managedFields, no unused metadata.

    Spec and status are held as compact JSON and decoded for the pass that reads them: a
    10-job object costs ~3.5 KB that way instead of ~17 KB of dicts (bench: 5,000 such objects,
    ~18 MiB instead of ~86 MiB). Each read returns a fresh copy.
    """

    __slots__ = (
        "_spec",
        "_status",
        "deleting",
        "echo",
        "finalizers",
        "generation",
        "ref",
        "reselect_token",
        "resource_version",
        "resume_now",
        "retry_token",
        "skip_resume",
    )

    def __init__(
        self,
        ref: ObjectRef,
        generation: int,
        resource_version: str,
        spec: dict[str, Any],
        status: dict[str, Any],
        retry_token: str | None,
        reselect_token: str | None = None,
    ) -> None:
        self.ref = ref
        self.generation = generation
        self.resource_version = resource_version
        self._spec = _pack(spec)
        self._status = _pack(status)
        self.retry_token = retry_token
        self.reselect_token = reselect_token  # spec.selector: resolve again on a new value
        # For spec.resume (resource/resume.py): kopf's event handler sees a deletion as an
        # update with a deletionTimestamp while our finalizer holds the object.
        self.deleting = False
        self.finalizers: tuple[str, ...] = ()
        self.resume_now: str | None = None
        self.skip_resume = False
        # The object as this process's last status write returned it, held only until the
        # controller has reconciled its cache with it at the end of the pass.
        self.echo: dict[str, Any] | None = None

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

    def written(self, body: dict[str, Any], status: dict[str, Any]) -> None:
        """A pass wrote ``status``; ``body`` is the object the API server answered with."""
        self.status = dict(body.get("status") or status)
        rv = str((body.get("metadata") or {}).get("resourceVersion") or "")
        if rv and _newer(rv, self.resource_version):
            self.resource_version = rv
        self.echo = body
        meta = body.get("metadata") or {}
        if "finalizers" in meta or "uid" in meta:
            self.finalizers = tuple(meta.get("finalizers") or ())

    @classmethod
    def of(cls, body: dict[str, Any]) -> Entry:
        meta = body.get("metadata") or {}
        annotations = meta.get("annotations") or {}
        entry = cls(
            ref=ObjectRef(meta.get("namespace", ""), meta.get("name", ""), meta.get("uid", "")),
            generation=int(meta.get("generation") or 0),
            resource_version=str(meta.get("resourceVersion") or ""),
            spec=dict(body.get("spec") or {}),
            status=dict(body.get("status") or {}),
            reselect_token=(meta.get("annotations") or {}).get(RESELECT_ANNOTATION) or None,
            retry_token=annotations.get(RETRY_ANNOTATION) or None,
        )
        entry.deleting = bool(meta.get("deletionTimestamp"))
        entry.finalizers = tuple(meta.get("finalizers") or ())
        entry.resume_now = annotations.get(RESUME_NOW_ANNOTATION) or None
        entry.skip_resume = str(annotations.get(SKIP_RESUME_ANNOTATION, "")).lower() == "true"
        return entry


def _newer(candidate: str, current: str) -> bool:
    """Is resourceVersion ``candidate`` not older than ``current``?

    resourceVersions are opaque, but etcd's are integers; comparing them keeps a late watch
    event from rolling the cache back behind a status this process just wrote.
    """
    if candidate.isdigit() and current.isdigit():
        return int(candidate) >= int(current)
    return True


class Controller:
    def __init__(
        self,
        settings: Settings,
        kube: KubeApi,
        gateway: DrsGateway,
        metrics: Metrics,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self.settings = settings
        self.metrics = metrics
        self.policy = Policy(verify_timeout=settings.verify_timeout)
        self.cache: dict[str, Entry] = {}
        self.queue = WorkQueue()
        self.tally = PhaseTally(metrics)
        self.rng = random.Random()
        self.reconciler = Reconciler(
            settings,
            kube,
            gateway,
            metrics,
            tally=self.tally,
            clock=clock,
            rng=self.rng,
            policy=self.policy,
        )
        self._workers: list[asyncio.Task[None]] = []
        # Passes in progress: object name and monotonic start, for describe().
        self._running: dict[Any, tuple[str, float]] = {}
        # The Lease holder identity while this process leads (engine/leader.py): each pass
        # logs it, so the logs of two replicas show who acted when.
        self.identity = ""

    # -- feeding ----------------------------------------------------------------------------

    def observe(self, event_type: str | None, body: dict[str, Any]) -> None:
        entry = Entry.of(body)
        uid = entry.ref.uid
        if event_type == "DELETED":
            self.cache.pop(uid, None)
            self.queue.forget(uid)
            self.reconciler.forget(uid)
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
        # Every known object gets a pass: a process that starts its workers late (a standby
        # that became leader, a leader in a new term) has timers of none of them.
        for uid in self.cache:
            self.queue.add(uid)
        for _ in range(max(self.settings.max_concurrency, 2 * self.settings.batch_size)):
            self._workers.append(asyncio.create_task(self.queue.worker(self._process)))

    async def stop(self) -> None:
        self.queue.shutdown()
        for task in self._workers:
            task.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        self._workers.clear()
        self.tally.clear()  # a process that does not reconcile reports no object

    async def _process(self, uid: Any) -> None:
        entry = self.cache.get(uid)
        if entry is None:
            return
        started = time.perf_counter()
        mono = time.monotonic()
        self._running[uid] = (f"{entry.ref.namespace}/{entry.ref.name}", mono)
        log.debug("pass start %s/%s holder=%s mono=%.3f", entry.ref.namespace, entry.ref.name,
                  self.identity, mono)
        try:
            result = await self.reconciler.reconcile(entry)
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is None or task.cancelling():
                raise  # the workers are being stopped
            # A cancellation nobody requested (one leaked from a timeout below): a bug, but
            # not one that may cost the object its next pass (the worker would end with it).
            wake = self.policy.transient_retry
            log.error("pass of %s/%s ended with a cancellation nobody requested; retrying in "
                      "%ss", entry.ref.namespace, entry.ref.name, wake, exc_info=True)
            result = PassResult(wake_after=wake)
        except Exception as err:
            if _kube_unavailable(err):
                # E.g. the API server restarting: nothing is lost (the status holds the
                # write-ahead attempt), so look again soon, not after a minute.
                wake = self.policy.kube_retry(self.rng)
                log.warning(
                    "reconcile of %s/%s: Kubernetes API unavailable (%s); retrying in %.0fs",
                    entry.ref.namespace,
                    entry.ref.name,
                    type(err).__name__,
                    wake,
                )
            else:
                wake = self.policy.error_retry
                log.exception(
                    "reconcile of %s/%s failed; retrying in %ss",
                    entry.ref.namespace,
                    entry.ref.name,
                    wake,
                )
            result = PassResult(wake_after=wake)
        finally:
            self._running.pop(uid, None)
            self.metrics.reconcile.observe(time.perf_counter() - started)
            self._catch_up(entry)
            if uid not in self.cache:  # deleted during the pass: its metrics go with it
                self.tally.forget(uid)
        if log.isEnabledFor(logging.DEBUG):  # every pass: no formatting unless it is logged
            wake = "-" if result.wake_after is None else f"{result.wake_after:.1f}s"
            log.debug("pass end %s/%s wake=%s drs_calls=%d", entry.ref.namespace,
                      entry.ref.name, wake, result.drs_calls)
        if result.wake_after is not None and uid in self.cache:
            self.queue.add_after(uid, result.wake_after)

    def describe(self, now: float | None = None) -> list[str]:
        """What the controller is doing, for a dump (engine/dump.py): its queue and the passes
        in progress, longest first."""
        now = time.monotonic() if now is None else now
        alive = sum(1 for task in self._workers if not task.done())
        lines = [
            f"controller: {len(self.cache)} objects cached, {len(self.queue)} queued or in "
            f"progress, {self.queue.delayed} timers, {alive}/{len(self._workers)} workers "
            f"alive, holder {self.identity or '-'}"
        ]
        for name, since in sorted(self._running.values(), key=lambda item: item[1]):
            lines.append(f"  pass of {name} running for {now - since:.1f}s")
        return lines

    def _catch_up(self, entry: Entry) -> None:
        """Keep the cache from falling behind this pass's own status write.

        If a watch event replaced the cache entry during the pass (e.g. an annotation edit that
        came before the write), the cache holds an older status than the one written: a pass
        run from it would check or send again what this pass already did.
        """
        body, entry.echo = entry.echo, None
        if body is None:
            return
        cached = self.cache.get(entry.ref.uid)
        rv = str((body.get("metadata") or {}).get("resourceVersion") or "")
        if cached is not None and cached is not entry and rv and _newer(
            rv, cached.resource_version
        ):
            self.cache[entry.ref.uid] = Entry.of(body)


def _kube_unavailable(err: Exception) -> bool:
    """A Kubernetes API error worth a quick retry: no connection, or a 429/5xx answer."""
    if isinstance(err, urllib3.exceptions.HTTPError):
        return True
    return isinstance(err, ApiException) and (err.status == 429 or (err.status or 0) >= 500)
