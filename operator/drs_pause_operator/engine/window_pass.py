"""One pass of one DrsPauseWindow: the I/O around ``resource/window.py``'s :func:`plan`.

A pass lists the window's children (by label, checked against the ownerReference), creates the
child due now (idempotent by name: AlreadyExists means an earlier pass created it), deletes
finished children beyond ``historyLimit`` itself (the test control plane has no garbage
collector, and a real cluster's only removes children together with their window), writes the
status and posts Events. The window controller never talks to DRS.

Between passes a window waits on one timer of its controller (until its next start, or a held
start's deadline), and :class:`ChildWatch` wakes it when one of its children appears, goes or
changes phase, so a window whose previous child finished resuming moves on at once.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any, Protocol

from drs_pause_operator.engine.controller import Woken
from drs_pause_operator.engine.kube import ChildRejected, ObjectRef
from drs_pause_operator.engine.objects import WindowEntry
from drs_pause_operator.resource.conditions import merge_conditions
from drs_pause_operator.resource.window import (
    WINDOW_KIND,
    WINDOW_PLURAL,
    WindowMeta,
    child_of,
    plan,
    window_owner,
)

log = logging.getLogger(__name__)

#: Seconds before a pass that failed on a Kubernetes error runs again.
ERROR_RETRY = 10.0
#: Window passes in flight at once: a pass is a LIST, maybe a create or delete, and a status
#: write; windows are few and their passes rare.
WORKERS = 2
#: A little late rather than early: a timer that fires a few milliseconds before the start
#: would find nothing due and set itself again.
TIMER_SLACK = 0.05


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class WindowKube(Protocol):
    """What a window pass needs of the Kubernetes API (``engine.kube.KubeApi``)."""

    async def list_children(self, namespace: str, window: str) -> list[dict[str, Any]]: ...

    async def create_child(self, body: dict[str, Any]) -> bool: ...

    async def delete_child(self, namespace: str, name: str, uid: str) -> None: ...

    async def patch_status(
        self, ref: ObjectRef, status: dict[str, Any], plural: str = ...
    ) -> dict[str, Any] | None: ...

    async def post_event(
        self, ref: ObjectRef, type_: str, reason: str, message: str, kind: str = ...
    ) -> None: ...


def _ref(meta: WindowMeta) -> ObjectRef:
    return ObjectRef(meta.namespace, meta.name, meta.uid)


class WindowReconciler:
    """One pass of one window."""

    def __init__(self, kube: WindowKube, clock: Callable[[], dt.datetime] = utcnow) -> None:
        self.kube = kube
        self.clock = clock

    async def reconcile(self, entry: WindowEntry) -> Woken:
        """Run a pass; when the window wants another one (None: only a change)."""
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
                p.status = _rejected(p.status, entry.status, str(err), now)
                p.events = [("Warning", "ChildRejected", str(err))]
                p.wake_after = min(p.wake_after or 60.0, 60.0)
        for child in p.delete:
            await self.kube.delete_child(meta.namespace, child.name, child.uid)
            wlog.info("deleted %s/%s (history limit)", meta.namespace, child.name)
        if p.status != entry.status:
            body = await self.kube.patch_status(_ref(meta), p.status, WINDOW_PLURAL)
            if body is None:
                return Woken(None)
            entry.status = dict(body.get("status") or p.status)
            entry.resource_version = str(
                (body.get("metadata") or {}).get("resourceVersion") or entry.resource_version
            )
        for type_, reason, message in p.events:
            await self.kube.post_event(_ref(meta), type_, reason, message, WINDOW_KIND)
        return Woken(p.wake_after)


def _rejected(
    status: dict[str, Any], old: dict[str, Any], message: str, now: dt.datetime
) -> dict[str, Any]:
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
        now,
    )
    return out


class ChildWatch:
    """Wakes a window when one of its children came, went or changed phase.

    Cheap for the DrsJobPause objects no window owns (one look at ownerReferences)."""

    def __init__(self, wake: Callable[[str], None]) -> None:
        self._wake = wake
        self._children: dict[str, tuple[str, str]] = {}  # child uid -> (window uid, phase)

    def observe(self, event_type: str | None, body: Any) -> None:
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
        self._wake(window)
