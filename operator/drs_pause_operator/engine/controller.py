"""One controller loop for every kind the operator reconciles (controller-runtime's
``Controller``): a cache of objects fed by kopf's watch, a keyed work queue, and workers that
run one pass per object at a time.

A controller is given its kind's cache entry (how to read an object), its reconcile function
(one pass; it says when it wants the next one), a number of workers and a retry policy (what an
error costs). kopf's event handler only records the newest body and queues the object; a
finished object costs one cache entry and nothing else: no timer, no request.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

import urllib3
from kubernetes.client.exceptions import ApiException

from drs_pause_operator.engine.objects import newer
from drs_pause_operator.engine.workqueue import WorkQueue

log = logging.getLogger(__name__)


class CacheEntry(Protocol):
    @property
    def uid(self) -> Hashable: ...  # the cache's and the queue's key
    @property
    def name(self) -> str: ...  # namespace/name, for logs
    resource_version: str
    echo: dict[str, Any] | None  # the object as the pass's own last write returned it


class Outcome(Protocol):
    #: Seconds until the object wants another pass; None when only a change should wake it.
    wake_after: float | None


@dataclass
class Woken:
    """An outcome that only says when to look again."""

    wake_after: float | None


E = TypeVar("E", bound=CacheEntry)


@dataclass(frozen=True)
class RetryPolicy:
    """What a failed pass costs: when the object gets its next one."""

    #: The pass failed with an unexpected error (a bug): try again, but not in a loop.
    error: float
    #: The Kubernetes API was unreachable or answered 429/5xx: soon, nothing is lost.
    kube_unavailable: Callable[[], float]
    #: A cancellation nobody requested ended the pass (a leaked timeout).
    cancelled: float


class Controller(Generic[E]):
    def __init__(
        self,
        kind: str,
        entry_of: Callable[[dict[str, Any]], E],
        reconcile: Callable[[E], Awaitable[Outcome]],
        *,
        workers: int,
        retry: RetryPolicy,
        forget: tuple[Callable[[Any], None], ...] = (),
        on_stop: tuple[Callable[[], None], ...] = (),
        observe_duration: Callable[[float], None] | None = None,
        delay: float = 0.0,
    ) -> None:
        self.kind = kind
        self.cache: dict[Any, E] = {}
        self.queue = WorkQueue()
        self._entry_of = entry_of
        self._reconcile = reconcile
        self._workers_wanted = workers
        self._retry = retry
        self._forget = forget
        self._on_stop = on_stop
        self._observe_duration = observe_duration
        # Added to every wake-up: a little late rather than early for timers that must find
        # their moment past (a window's start).
        self._delay = delay
        self._workers: list[asyncio.Task[None]] = []
        # Passes in progress: object name and monotonic start, for describe().
        self._running: dict[Any, tuple[str, float]] = {}
        # The Lease holder identity while this process leads (engine/leader.py): each pass
        # logs it, so the logs of two replicas show who acted when.
        self.identity = ""

    # -- feeding ----------------------------------------------------------------------------

    def observe(self, event_type: str | None, body: dict[str, Any]) -> None:
        entry = self._entry_of(body)
        uid = entry.uid
        if event_type == "DELETED":
            self.cache.pop(uid, None)
            self.queue.forget(uid)
            for forget in self._forget:
                forget(uid)
            return
        current = self.cache.get(uid)
        if current is not None and (
            # The echo of this process's own status write (the cache already holds that very
            # version), or an event older than the cache: nothing new, no pass.
            entry.resource_version == current.resource_version
            or not newer(entry.resource_version, current.resource_version)
        ):
            return
        self.cache[uid] = entry
        self.queue.add(uid)

    def nudge(self, uid: Hashable) -> None:
        """Run a pass of this object soon (something it depends on changed)."""
        if uid in self.cache:
            self.queue.add(uid)

    def start(self) -> None:
        # Every known object gets a pass: a process that starts its workers late (a standby
        # that became leader, a leader in a new term) has timers of none of them.
        for uid in self.cache:
            self.queue.add(uid)
        for _ in range(self._workers_wanted):
            self._workers.append(asyncio.create_task(self.queue.worker(self._process)))

    async def stop(self) -> None:
        self.queue.shutdown()
        for task in self._workers:
            task.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        self._workers.clear()
        for hook in self._on_stop:  # e.g. a process that does not reconcile reports no object
            hook()

    async def _process(self, uid: Any) -> None:
        entry = self.cache.get(uid)
        if entry is None:
            return
        started = time.perf_counter()
        mono = time.monotonic()
        self._running[uid] = (entry.name, mono)
        log.debug("pass start %s holder=%s mono=%.3f kind=%s", entry.name, self.identity, mono,
                  self.kind)
        try:
            result = await self._reconcile(entry)
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is None or task.cancelling():
                raise  # the workers are being stopped
            # A cancellation nobody requested (one leaked from a timeout below): a bug, but
            # not one that may cost the object its next pass (the worker would end with it).
            wake = self._retry.cancelled
            log.error("pass of %s %s ended with a cancellation nobody requested; retrying in "
                      "%ss", self.kind, entry.name, wake, exc_info=True)
            result = Woken(wake)
        except Exception as err:
            if _kube_unavailable(err):
                # E.g. the API server restarting: nothing is lost (the status holds the
                # write-ahead attempt), so look again soon, not after a minute.
                wake = self._retry.kube_unavailable()
                log.warning("pass of %s %s: Kubernetes API unavailable (%s); retrying in %.0fs",
                            self.kind, entry.name, type(err).__name__, wake)
            else:
                wake = self._retry.error
                log.exception("pass of %s %s failed; retrying in %ss", self.kind, entry.name,
                              wake)
            result = Woken(wake)
        finally:
            self._running.pop(uid, None)
            if self._observe_duration is not None:
                self._observe_duration(time.perf_counter() - started)
            self._catch_up(entry)
            if uid not in self.cache:  # deleted during the pass: what it left goes too
                for forget in self._forget:
                    forget(uid)
        if log.isEnabledFor(logging.DEBUG):  # every pass: no formatting unless it is logged
            wake_text = "-" if result.wake_after is None else f"{result.wake_after:.1f}s"
            calls = getattr(result, "drs_calls", 0)
            log.debug("pass end %s wake=%s drs_calls=%d kind=%s", entry.name, wake_text, calls,
                      self.kind)
        if result.wake_after is not None and uid in self.cache:
            self.queue.add_after(uid, result.wake_after + self._delay)

    def describe(self, now: float | None = None) -> list[str]:
        """What the controller is doing, for a dump (engine/dump.py): its queue and the passes
        in progress, longest first."""
        now = time.monotonic() if now is None else now
        alive = sum(1 for task in self._workers if not task.done())
        lines = [
            f"controller {self.kind}: {len(self.cache)} objects cached, {len(self.queue)} "
            f"queued or in progress, {self.queue.delayed} timers, "
            f"{alive}/{len(self._workers)} workers alive, holder {self.identity or '-'}"
        ]
        for name, since in sorted(self._running.values(), key=lambda item: item[1]):
            lines.append(f"  pass of {name} running for {now - since:.1f}s")
        return lines

    def _catch_up(self, entry: E) -> None:
        """Keep the cache from falling behind this pass's own status write.

        If a watch event replaced the cache entry during the pass (e.g. an annotation edit that
        came before the write), the cache holds an older status than the one written: a pass
        run from it would check or send again what this pass already did.
        """
        body, entry.echo = entry.echo, None
        if body is None:
            return
        cached = self.cache.get(entry.uid)
        rv = str((body.get("metadata") or {}).get("resourceVersion") or "")
        if cached is not None and cached is not entry and rv and newer(
            rv, cached.resource_version
        ):
            self.cache[entry.uid] = self._entry_of(body)


def _kube_unavailable(err: Exception) -> bool:
    """A Kubernetes API error worth a quick retry: no connection, or a 429/5xx answer."""
    if isinstance(err, urllib3.exceptions.HTTPError):
        return True
    return isinstance(err, ApiException) and (err.status == 429 or (err.status or 0) >= 500)
