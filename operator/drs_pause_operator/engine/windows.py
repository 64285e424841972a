"""DrsPauseWindow: the cache, queue and one pass of each window (the maths is
``resource/window.py`` and ``resource/schedule.py``).

kopf's event handlers feed two things: the windows themselves (:meth:`WindowController.observe`)
and, for a window's children, a nudge when a child appears, goes or changes phase
(:meth:`WindowController.observe_child`), so a window whose previous child finished resuming
moves on at once. Otherwise a window waits on one timer of the work queue: until its next start
(or a held start's deadline). An idle window costs that timer and a cache entry; the window
controller never talks to DRS.

A pass lists the window's children (by label, checked against the ownerReference), creates the
child due now (idempotent by name: AlreadyExists means an earlier pass created it), deletes
finished children beyond ``historyLimit`` itself (the test control plane has no garbage
collector, and a real cluster's only removes children together with their window), writes the
status and posts Events.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from drs_pause_operator.app.metrics import Metrics
from drs_pause_operator.engine.kube import ObjectRef, make_event, run_in_pool
from drs_pause_operator.engine.workqueue import WorkQueue
from drs_pause_operator.resource.spec import GROUP, PLURAL, VERSION
from drs_pause_operator.resource.status import merge_conditions, parse_time
from drs_pause_operator.resource.window import (
    WINDOW_KIND,
    WINDOW_LABEL,
    WINDOW_PLURAL,
    Child,
    WindowMeta,
    child_of,
    plan,
    window_owner,
)
from drs_pause_operator.resource.window_skips import SKIP_NEXT_ANNOTATION

log = logging.getLogger(__name__)

#: Seconds before a pass that failed on a Kubernetes error runs again.
ERROR_RETRY = 10.0
#: Window passes in flight at once: a pass is a LIST, maybe a create or delete, and a status
#: write; windows are few and their passes rare.
WORKERS = 2


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class WindowKube(Protocol):
    """What a window pass needs of the Kubernetes API (:class:`KubeWindows` in the operator)."""

    async def list_children(self, namespace: str, window: str) -> list[dict[str, Any]]: ...

    async def create_child(self, body: dict[str, Any]) -> bool:
        """Create; False when an object of that name exists already."""

    async def delete_child(self, namespace: str, name: str, uid: str) -> None: ...

    async def patch_window_status(
        self, meta: WindowMeta, status: dict[str, Any]
    ) -> dict[str, Any] | None: ...

    async def post_window_event(
        self, meta: WindowMeta, type_: str, reason: str, message: str
    ) -> None: ...


class ChildRejected(Exception):
    """The API server refused the child (its template breaks the DrsJobPause schema)."""


class KubeWindows:
    """The window controller's own Kubernetes client (the ``kubernetes`` package is
    synchronous: calls run in a small thread pool). Configuration is loaded by ``KubeApi``."""

    def __init__(self, metrics: Metrics, component: str = "drs-pause-operator") -> None:
        self._api = k8s.ApiClient(k8s.Configuration.get_default_copy())
        self._custom = k8s.CustomObjectsApi(self._api)
        self._core = k8s.CoreV1Api(self._api)
        self._pool = ThreadPoolExecutor(WORKERS, thread_name_prefix="kube-windows")
        self._metrics = metrics
        self._component = component

    async def _run(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return await run_in_pool(self._pool, fn, *args, **kwargs)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._api.close()

    async def list_children(self, namespace: str, window: str) -> list[dict[str, Any]]:
        answer = await self._run(
            self._custom.list_namespaced_custom_object,
            GROUP, VERSION, namespace, PLURAL,
            label_selector=f"{WINDOW_LABEL}={window}",
        )
        return list(answer.get("items") or [])

    async def create_child(self, body: dict[str, Any]) -> bool:
        meta = body["metadata"]
        try:
            await self._run(
                self._custom.create_namespaced_custom_object,
                GROUP, VERSION, meta["namespace"], PLURAL, body,
            )
        except ApiException as err:
            if err.status == 409:
                return False
            if err.status in (400, 422):
                raise ChildRejected(_api_message(err)) from None
            raise
        self._metrics.kube_writes.labels("create").inc()
        return True

    async def delete_child(self, namespace: str, name: str, uid: str) -> None:
        try:
            await self._run(
                self._custom.delete_namespaced_custom_object,
                GROUP, VERSION, namespace, PLURAL, name,
                body=k8s.V1DeleteOptions(preconditions=k8s.V1Preconditions(uid=uid)),
            )
        except ApiException as err:
            if err.status not in (404, 409):  # gone already, or replaced under that name
                raise
            return
        self._metrics.kube_writes.labels("delete").inc()

    async def patch_window_status(
        self, meta: WindowMeta, status: dict[str, Any]
    ) -> dict[str, Any] | None:
        """Replace the status if the window is still the one with ``meta.uid``; None if gone."""
        patch = [
            {"op": "test", "path": "/metadata/uid", "value": meta.uid},
            {"op": "add", "path": "/status", "value": status},
        ]
        try:
            body = await self._run(
                self._custom.patch_namespaced_custom_object_status,
                GROUP, VERSION, meta.namespace, WINDOW_PLURAL, meta.name, patch,
                _content_type="application/json-patch+json",
            )
        except ApiException as err:
            if err.status in (404, 422):
                log.info("status of window %s/%s not written (%s)", meta.namespace, meta.name,
                         err.status)
                return None
            raise
        self._metrics.kube_writes.labels("status").inc()
        return body

    async def post_window_event(
        self, meta: WindowMeta, type_: str, reason: str, message: str
    ) -> None:
        ref = ObjectRef(meta.namespace, meta.name, meta.uid)
        event = make_event(WINDOW_KIND, ref, type_, reason, message, self._component)
        try:
            await self._run(self._core.create_namespaced_event, meta.namespace, event)
            self._metrics.kube_writes.labels("event").inc()
        except ApiException as err:  # events are best effort
            log.warning("could not post event %s for window %s/%s: %s", reason,
                        meta.namespace, meta.name, err.reason)


def _api_message(err: ApiException) -> str:
    try:
        return str(json.loads(err.body or "{}").get("message") or err.reason)[:900]
    except ValueError:
        return str(err.reason)


@dataclass
class WindowEntry:
    meta: WindowMeta
    resource_version: str
    spec: dict[str, Any]
    status: dict[str, Any]

    @classmethod
    def of(cls, body: dict[str, Any]) -> WindowEntry:
        meta = body.get("metadata") or {}
        created = parse_time(meta.get("creationTimestamp")) or utcnow()
        return cls(
            meta=WindowMeta(
                namespace=str(meta.get("namespace") or ""),
                name=str(meta.get("name") or ""),
                uid=str(meta.get("uid") or ""),
                generation=int(meta.get("generation") or 0),
                created=created,
                skip_next=(meta.get("annotations") or {}).get(SKIP_NEXT_ANNOTATION) or None,
            ),
            resource_version=str(meta.get("resourceVersion") or ""),
            spec=dict(body.get("spec") or {}),
            status=dict(body.get("status") or {}),
        )


class WindowReconciler:
    """One pass of one window."""

    def __init__(self, kube: WindowKube, clock: Callable[[], dt.datetime] = utcnow) -> None:
        self.kube = kube
        self.clock = clock

    async def reconcile(self, entry: WindowEntry) -> float | None:
        """Run a pass; the seconds until the window wants another one (None: only a change)."""
        meta = entry.meta
        wlog = logging.LoggerAdapter(log, {"object": f"{meta.namespace}/{meta.name}"})
        bodies = await self.kube.list_children(meta.namespace, meta.name)
        children = [c for c in (child_of(b, meta.uid) for b in bodies) if c is not None]
        now = self.clock()
        p = plan(meta, entry.spec, entry.status, children, now)
        if p.missed:
            wlog.info("window %s/%s: %d start(s) missed (outage, deadline or previous child)",
                      meta.namespace, meta.name, p.missed)
        if p.create is not None:
            name = p.create["metadata"]["name"]
            try:
                if await self.kube.create_child(p.create):
                    wlog.info("created %s/%s", meta.namespace, name)
                else:
                    wlog.info("%s/%s exists already (created by an earlier pass)",
                              meta.namespace, name)
                    p.events = [e for e in p.events if e[1] != "WindowStarted"]
            except ChildRejected as err:
                # Not written as started: the status keeps the previous lastScheduleTime, so
                # the same start is tried again once the template is fixed (within its window).
                p = plan(meta, entry.spec, entry.status, children, now)
                p.create = None
                p.status = _rejected(p.status, entry.status, str(err))
                p.events = [("Warning", "ChildRejected", str(err))]
                p.wake_after = min(p.wake_after or 60.0, 60.0)
        for child in p.delete:
            await self.kube.delete_child(meta.namespace, child.name, child.uid)
            wlog.info("deleted %s/%s (history limit)", meta.namespace, child.name)
        if p.status != entry.status:
            body = await self.kube.patch_window_status(meta, p.status)
            if body is None:
                return None
            entry.status = dict(body.get("status") or p.status)
            entry.resource_version = str(
                (body.get("metadata") or {}).get("resourceVersion") or entry.resource_version
            )
        for type_, reason, message in p.events:
            await self.kube.post_window_event(meta, type_, reason, message)
        return p.wake_after


def _rejected(status: dict[str, Any], old: dict[str, Any], message: str) -> dict[str, Any]:
    """The status of a pass whose child the API server refused: Stalled, ChildRejected; the
    previous lastScheduleTime kept (the start did not happen)."""
    out = dict(status)
    if old.get("lastScheduleTime"):
        out["lastScheduleTime"] = old["lastScheduleTime"]
    else:
        out.pop("lastScheduleTime", None)
    generation = int(out.get("observedGeneration") or 0)
    text = f"the API server refused the child DrsJobPause: {message}"
    out["conditions"] = merge_conditions(
        old.get("conditions"),
        [("Ready", "False", "ChildRejected", text), ("Stalled", "True", "ChildRejected", text)],
        generation,
        utcnow(),
    )
    return out


class WindowController:
    def __init__(
        self,
        kube: WindowKube,
        clock: Callable[[], dt.datetime] = utcnow,
        workers: int = WORKERS,
    ) -> None:
        self.cache: dict[str, WindowEntry] = {}
        self.queue = WorkQueue()
        self.reconciler = WindowReconciler(kube, clock)
        self._children: dict[str, tuple[str, str]] = {}  # child uid -> (window uid, phase)
        self._workers: list[asyncio.Task[None]] = []
        self._count = workers

    def observe(self, event_type: str | None, body: dict[str, Any]) -> None:
        entry = WindowEntry.of(body)
        uid = entry.meta.uid
        if event_type == "DELETED":
            self.cache.pop(uid, None)
            self.queue.forget(uid)
            return
        current = self.cache.get(uid)
        if current is not None and current.resource_version == entry.resource_version:
            return
        self.cache[uid] = entry
        self.queue.add(uid)

    def observe_child(self, event_type: str | None, body: Any) -> None:
        """A DrsJobPause changed: wake its window when the child came, went or changed phase.

        Cheap for the DrsJobPause objects no window owns (one look at ownerReferences)."""
        window = window_owner(body)
        if window is None:
            return
        meta = body.get("metadata") or {}
        child_uid = str(meta.get("uid") or "")
        phase = str((body.get("status") or {}).get("phase") or "")
        if meta.get("deletionTimestamp"):
            phase += "/deleting"
        if event_type == "DELETED":
            self._children.pop(child_uid, None)
        elif self._children.get(child_uid) == (window, phase):
            return
        else:
            self._children[child_uid] = (window, phase)
        if window in self.cache:
            self.queue.add(window)

    def start(self) -> None:
        # Every known window gets a pass: a process that starts its workers late (a standby
        # that became leader) has set no timers yet.
        for uid in self.cache:
            self.queue.add(uid)
        for _ in range(self._count):
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
        try:
            wake = await self.reconciler.reconcile(entry)
        except Exception:
            log.exception("pass of window %s/%s failed; retrying in %ss",
                          entry.meta.namespace, entry.meta.name, ERROR_RETRY)
            wake = ERROR_RETRY
        if wake is not None and uid in self.cache:
            # A little late rather than early: a timer that fires a few milliseconds before
            # the start would find nothing due and set itself again.
            self.queue.add_after(uid, wake + 0.05)


__all__ = ["Child", "KubeWindows", "WindowController", "WindowEntry", "WindowReconciler"]
