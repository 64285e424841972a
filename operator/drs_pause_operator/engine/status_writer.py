"""Writes a DrsJobPause's status and posts its Events: the only door a pass writes through.

Status goes through the status subresource (``KubeApi.patch_status``) and only when it changed.
A status that ends a pass holds DRS's answers; if its write fails (an API server outage, a lost
leadership cancelling the pass), it is kept in this process and written first by the object's
next pass, as long as nobody else wrote the object's status meanwhile. Otherwise a pass after
the outage would start from the write-ahead and, for a task DRS accepted but that is not
PAUSING (yet, or ever), send the pause again.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from drs_pause_operator.engine.kube import ObjectRef
from drs_pause_operator.engine.objects import ObjectView
from drs_pause_operator.resource.events import Event, transition_events


class StatusKube(Protocol):
    """What the writer needs of the Kubernetes API (``engine.kube.KubeApi``)."""

    async def patch_status(
        self, ref: ObjectRef, status: dict[str, Any]
    ) -> dict[str, Any] | None: ...

    async def post_event(self, ref: ObjectRef, type_: str, reason: str, message: str) -> None: ...


@dataclass(frozen=True)
class _Unwritten:
    base: dict[str, Any]  # the object's status when the write failed
    status: dict[str, Any]  # what the pass meant to write


class StatusWriter:
    def __init__(self, kube: StatusKube) -> None:
        self.kube = kube
        # The end-of-pass status a failed write could not store, per object uid.
        self._unwritten: dict[str, _Unwritten] = {}

    def forget(self, uid: str) -> None:
        """The object is gone: drop what this process held for it."""
        self._unwritten.pop(uid, None)

    async def write(
        self,
        obj: ObjectView,
        status: dict[str, Any],
        olog: logging.LoggerAdapter[logging.Logger],
        *,
        hold: bool = False,
    ) -> bool:
        """Patch status if it changed. False when the object is gone or was replaced.

        ``hold``: the status ends a pass (DRS answers are in it); if the write fails, keep it
        for the object's next pass in this process (:meth:`held`)."""
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

    async def held(
        self,
        obj: ObjectView,
        olog: logging.LoggerAdapter[logging.Logger],
    ) -> dict[str, Any] | None:
        """Write first what an earlier pass could not, if the object still has the status that
        pass started from. Returns the status a pass starts from (the object's); None when the
        object is gone or was replaced.

        Kept across a lost and regained leadership (the outage that failed the write usually
        cost the Lease too): if another replica wrote the status meanwhile, the watch has shown
        it (the Lease changes hands only after a full lease duration) and the base differs."""
        held = self._unwritten.pop(obj.ref.uid, None)
        if held is None or not obj.status_is(held.base):
            return obj.status
        olog.info("writing the status an earlier pass could not store")
        return obj.status if await self.write(obj, held.status, olog, hold=True) else None

    @contextlib.contextmanager
    def keeping_answers(
        self, obj: ObjectView, answered: Callable[[], dict[str, Any] | None]
    ) -> Iterator[None]:
        """A pass cancelled (leadership lost) or failed after DRS answered keeps the answers for
        the object's next pass: ``answered()`` gives the status with them (None: DRS had not
        answered), unless the pass's final write failed and kept the whole status already."""
        try:
            yield
        except BaseException:
            if obj.ref.uid not in self._unwritten:
                status = answered()
                if status is not None:
                    self._unwritten[obj.ref.uid] = _Unwritten(obj.status, status)
            raise

    async def post(self, obj: ObjectView, events: list[Event]) -> None:
        for type_, reason, message in events:
            await self.kube.post_event(obj.ref, type_, reason, message)

    async def post_transitions(self, obj: ObjectView, before: dict[str, Any]) -> None:
        """One Event per transition between ``before`` and the object's status now."""
        await self.post(obj, transition_events(before, obj.status))
