"""The DrsPauseWindow custom resource: its spec, its children and one pass's decisions (pure).

A window is a CronJob whose children are DrsJobPause objects. At each start of its schedule a
window creates one child named ``<window>-<minutes since the epoch of the start>``, owned by
the window, with the window's template as spec and ``resume: {at: start + duration,
onDelete: true}``: the child pauses its tasks now and resumes them at the window's end (or
when it is deleted). The window itself never talks to DRS.

:func:`plan` is one pass: from the window, its children and the time it says which child to
create (or which start to skip: ``resource/window_skips.py``), which finished children to
delete, the status to write, the Events to post and when to look again.
``engine/window_pass.py`` does the I/O around it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from typing import Any

from drs_pause_operator.resource.conditions import condition, merge_conditions
from drs_pause_operator.resource.formats import fmt_time, parse_time
from drs_pause_operator.resource.schedule import due
from drs_pause_operator.resource.spec import GROUP, KIND, VERSION
from drs_pause_operator.resource.window_skips import (
    SKIP_NEXT,
    SKIP_NEXT_ANNOTATION,
    SkippedStart,
    pending_skip_token,
    record_skip,
    skip_message,
    skipped_starts,
)
from drs_pause_operator.resource.window_spec import Window, WindowSpecError, parse_window

WINDOW_KIND = "DrsPauseWindow"
WINDOW_PLURAL = "drspausewindows"
#: On each child: the name of its window (window names are at most 63 characters, a label's
#: limit), so ``kubectl get djp -l drs.cloudops.dev/window=NAME`` lists a window's children.
WINDOW_LABEL = f"{GROUP}/window"
#: On each child: the start it was created for (RFC 3339, UTC).
SCHEDULED_ANNOTATION = f"{GROUP}/scheduled-time"

# Child phases that end a window (the child resumed what it paused, or gave up on some of it).
FINISHED_PHASES = frozenset({"Resumed", "PartiallyResumed"})


def child_name(window: str, start: dt.datetime) -> str:
    return f"{window}-{int(start.timestamp()) // 60}"


@dataclass(frozen=True)
class Child:
    """A DrsJobPause this window created, as a pass needs it."""

    name: str
    uid: str
    scheduled: dt.datetime | None
    phase: str
    resume_at: dt.datetime | None
    deleting: bool = False

    def finished(self, now: dt.datetime) -> bool:
        """Has the child finished resuming? A child being deleted has not (its onDelete
        resume runs first); one whose pause failed everywhere has nothing to resume."""
        if self.deleting:
            return False
        if self.phase in FINISHED_PHASES:
            return True
        return self.phase == "Failed" and self.resume_at is not None and now >= self.resume_at

    @property
    def order(self) -> tuple[float, str]:
        return (self.scheduled.timestamp() if self.scheduled else 0.0, self.name)


def child_of(body: dict[str, Any], window_uid: str) -> Child | None:
    """The child view of a DrsJobPause, when this window (uid) is its controller."""
    meta = body.get("metadata") or {}
    owners = meta.get("ownerReferences") or []
    if not any(o.get("controller") and o.get("uid") == window_uid for o in owners):
        return None
    name = str(meta.get("name") or "")
    scheduled = parse_time((meta.get("annotations") or {}).get(SCHEDULED_ANNOTATION))
    if scheduled is None:
        suffix = name.rsplit("-", 1)[-1]
        if suffix.isdigit():
            scheduled = dt.datetime.fromtimestamp(int(suffix) * 60, dt.UTC)
    return Child(
        name=name,
        uid=str(meta.get("uid") or ""),
        scheduled=scheduled,
        phase=str((body.get("status") or {}).get("phase") or "Pending"),
        resume_at=parse_time(((body.get("spec") or {}).get("resume") or {}).get("at")),
        deleting=bool(meta.get("deletionTimestamp")),
    )


def window_owner(body: dict[str, Any]) -> str | None:
    """The uid of the window that controls this DrsJobPause, if one does."""
    for owner in (body.get("metadata") or {}).get("ownerReferences") or []:
        if owner.get("controller") and owner.get("kind") == WINDOW_KIND:
            return str(owner.get("uid") or "") or None
    return None


@dataclass(frozen=True)
class WindowMeta:
    namespace: str
    name: str
    uid: str
    generation: int
    created: dt.datetime
    #: The value of the drs.cloudops.dev/skip-next annotation, if set.
    skip_next: str | None = None


def child_body(meta: WindowMeta, window: Window, start: dt.datetime) -> dict[str, Any]:
    spec = dict(window.spec.template)
    # The template may carry resume.catchUp (then the child is done once caught up).
    spec["resume"] = {
        **(spec.get("resume") or {}),
        "at": fmt_time(start + window.duration),
        "onDelete": True,
    }
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": KIND,
        "metadata": {
            "name": child_name(meta.name, start),
            "namespace": meta.namespace,
            "labels": {WINDOW_LABEL: meta.name},
            "annotations": {SCHEDULED_ANNOTATION: fmt_time(start)},
            "ownerReferences": [
                {
                    "apiVersion": f"{GROUP}/{VERSION}",
                    "kind": WINDOW_KIND,
                    "name": meta.name,
                    "uid": meta.uid,
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        "spec": spec,
    }


@dataclass
class Plan:
    create: dict[str, Any] | None = None
    delete: list[Child] = field(default_factory=list)
    status: dict[str, Any] = field(default_factory=dict)
    events: list[tuple[str, str, str]] = field(default_factory=list)
    #: Seconds until the window wants another pass; None when only a change can move it.
    wake_after: float | None = None
    #: Starts not started and never to start (for the log); skipped starts are not missed.
    missed: int = 0


def local(when: dt.datetime, window: Window) -> str:
    """A time as the window's users think of it: local wall time with its offset."""
    return when.astimezone(window.schedule.zone).isoformat(timespec="minutes")


@dataclass
class _Skips:
    """What a pass knows and decides about skipped starts."""

    recorded: list[SkippedStart]
    acted_token: str | None
    pending_token: str | None

    def skip(self, result: Plan, window: Window, start: dt.datetime, reason: str) -> None:
        self.recorded = record_skip(self.recorded, start, reason)
        if reason == SKIP_NEXT:
            self.acted_token, self.pending_token = self.pending_token, None
        result.events.append(
            ("Normal", "WindowSkipped", skip_message(local(start, window), reason))
        )


def plan(
    meta: WindowMeta,
    spec: dict[str, Any],
    status: dict[str, Any],
    children: list[Child],
    now: dt.datetime,
) -> Plan:
    try:
        window = parse_window(spec)
    except WindowSpecError as err:
        return _stalled(meta, status, children, now, err)
    # A child without resume.at (an API server whose DrsJobPause schema dropped it) ends at its
    # start plus the window's duration.
    children = sorted(
        (
            replace(c, resume_at=c.scheduled + window.duration)
            if c.resume_at is None and c.scheduled is not None
            else c
            for c in children
        ),
        key=lambda c: c.order,
    )
    active = [c for c in children if not c.finished(now)]
    finished = [c for c in children if c.finished(now)]
    last = parse_time(status.get("lastScheduleTime"))
    skips = _Skips(
        recorded=skipped_starts(status),
        acted_token=status.get("skipNextToken") or None,
        pending_token=pending_skip_token(meta.skip_next, status),
    )
    result = Plan()
    wakes: list[dt.datetime] = []
    ready: tuple[str, str] | None = None

    # Starts up to the last one made or skipped are dealt with.
    dealt_with = [t for t in (last, skips.recorded[-1].time if skips.recorded else None) if t]
    d = due(
        window.schedule,
        now,
        since=max(dealt_with, default=meta.created),
        duration=window.duration,
        starting_deadline=window.starting_deadline,
        excluded=window.exclusions.excludes,
    )
    result.missed = d.missed
    created: str | None = None
    current = d.start or d.excluded
    if window.spec.suspend:
        ready = ("Suspended", "suspended: no window starts until spec.suspend is false")
    elif current is not None and any(c.name == child_name(meta.name, current) for c in children):
        last = current  # created by an earlier pass whose status write was lost
    elif d.excluded is not None:
        exclusion = window.exclusions.covering(d.excluded)
        skips.skip(result, window, d.excluded, exclusion.label if exclusion else "Excluded")
    elif d.start is not None and skips.pending_token is not None:
        skips.skip(result, window, d.start, SKIP_NEXT)
    elif d.start is not None:
        name = child_name(meta.name, d.start)
        end = d.start + window.duration
        if others := [c for c in active if c.name != name]:
            # Like CronJob's Forbid: the start waits, and starts late (to the same end) if the
            # previous child finishes within the deadline and before the end; else it is lost.
            give_up = end
            if window.starting_deadline is not None:
                give_up = min(give_up, d.start + window.starting_deadline)
            wakes.append(give_up)
            names = ", ".join(c.name for c in others)
            ready = (
                "WaitingForPrevious",
                f"the window starting {local(d.start, window)} has not started: {names} has "
                f"not finished resuming; it starts if that happens before "
                f"{local(give_up, window)}",
            )
        else:
            result.create = child_body(meta, window, d.start)
            created = name
            last = d.start
            result.events.append(
                (
                    "Normal",
                    "WindowStarted",
                    f"created {name}: paused until {local(end, window)}",
                )
            )
    # The next start that will make a child: past excluded starts, and past the one a pending
    # skip-next will skip.
    upcoming = window.exclusions.next_start(
        window.schedule, now, skip=1 if skips.pending_token else 0
    )
    active_names = [c.name for c in active] + ([created] if created else [])
    next_text = local(upcoming, window) if upcoming else "never"
    if skips.pending_token and not window.spec.suspend:
        to_skip = window.exclusions.next_start(window.schedule, now)
        if to_skip is not None:
            next_text += (
                f" (the start at {local(to_skip, window)} is skipped: {SKIP_NEXT_ANNOTATION})"
            )
    if ready is None and active_names:
        ready = ("Active", f"{active_names[-1]} is open; the next window starts {next_text}")
    elif ready is None:
        ready = ("Scheduled", f"the next window starts {next_text}")

    # History: finished children beyond the limit go, oldest first (the API server's
    # garbage collector only removes children with their window).
    keep = window.spec.history_limit
    old = finished[: len(finished) - keep] if keep else finished
    result.delete = [c for c in old if not c.deleting]

    if not window.spec.suspend and d.next is not None:
        wakes.append(d.next)  # also an excluded or skipped start: it is recorded then
    # A child whose pause failed everywhere finishes at its resume time without a status
    # change of its own: look then.
    wakes.extend(
        c.resume_at for c in active if c.phase == "Failed" and c.resume_at and c.resume_at > now
    )

    result.status = _status(
        meta,
        status,
        now,
        last=last,
        upcoming=None if window.spec.suspend else upcoming,
        active=active_names,
        finished=finished,
        skips=skips,
        conditions=[
            ("Ready", "True", *ready),
            ("Stalled", "False", "NotStalled", ""),
        ],
    )
    result.events.extend(window_events(status, result.status))
    if wakes:
        result.wake_after = max(0.0, (min(wakes) - now).total_seconds())
    return result


def _stalled(
    meta: WindowMeta,
    status: dict[str, Any],
    children: list[Child],
    now: dt.datetime,
    err: WindowSpecError,
) -> Plan:
    children = sorted(children, key=lambda c: c.order)
    result = Plan()
    result.status = _status(
        meta,
        status,
        now,
        last=parse_time(status.get("lastScheduleTime")),
        upcoming=None,
        active=[c.name for c in children if not c.finished(now)],
        finished=[c for c in children if c.finished(now)],
        skips=_Skips(skipped_starts(status), status.get("skipNextToken") or None, None),
        conditions=[
            ("Ready", "False", err.reason, err.message),
            ("Stalled", "True", err.reason, err.message),
        ],
    )
    result.events.extend(window_events(status, result.status))
    return result


def _status(
    meta: WindowMeta,
    old: dict[str, Any],
    now: dt.datetime,
    *,
    last: dt.datetime | None,
    upcoming: dt.datetime | None,
    active: list[str],
    finished: list[Child],
    skips: _Skips,
    conditions: list[tuple[str, str, str, str]],
) -> dict[str, Any]:
    status: dict[str, Any] = {"observedGeneration": meta.generation}
    if last is not None:
        status["lastScheduleTime"] = fmt_time(last)
    if upcoming is not None:
        status["nextScheduleTime"] = fmt_time(upcoming)
    status["active"] = [{"name": n} for n in active]
    if finished:
        newest = finished[-1]
        status["lastRun"] = {"name": newest.name, "phase": newest.phase}
    elif isinstance(old.get("lastRun"), dict):
        status["lastRun"] = old["lastRun"]  # its child was deleted since
    if skips.recorded:
        status["skippedStarts"] = [s.to_dict() for s in skips.recorded]
    if skips.acted_token:
        status["skipNextToken"] = skips.acted_token
    status["conditions"] = merge_conditions(
        old.get("conditions"), conditions, meta.generation, now
    )
    return status


def window_events(old: dict[str, Any], new: dict[str, Any]) -> list[tuple[str, str, str]]:
    """Events for transitions of the conditions: one per held start, per problem, per fix."""
    events: list[tuple[str, str, str]] = []
    before, after = condition(old, "Ready") or {}, condition(new, "Ready") or {}
    if after.get("reason") == "WaitingForPrevious" and (
        before.get("reason"),
        before.get("message"),
    ) != (after.get("reason"), after.get("message")):
        events.append(("Warning", "WindowSkipped", str(after.get("message", ""))))
    old_stalled, stalled = condition(old, "Stalled") or {}, condition(new, "Stalled") or {}
    if stalled.get("status") == "True":
        reason = stalled.get("reason")
        if (old_stalled.get("status"), old_stalled.get("reason")) != ("True", reason):
            events.append(("Warning", str(stalled.get("reason")), str(stalled.get("message", ""))))
    elif old_stalled.get("status") == "True":
        events.append(("Normal", "Recovered", f"{old_stalled.get('reason')} resolved"))
    return events
