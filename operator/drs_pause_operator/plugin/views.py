"""What ``kubectl drs`` prints: tables of objects, windows and jobs, sized for a terminal of 100
columns (long cells wrap or end in an ellipsis), and the progress line of ``pause --wait``.

Pure functions of the objects as the API server returns them (dicts), so they are tested
without a cluster.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

#: Phases after which nothing more happens to a job or an object without a person.
SETTLED = frozenset({"Paused", "PartiallyPaused", "Failed"})
#: Stalled reasons that only a change of the object can clear: waiting longer is pointless.
BLOCKING = frozenset({"TooManyMatches", "NoMatches", "InvalidSpec"})
#: The widest table the plugin prints (a 100-column terminal).
WIDTH = 100


def _table(*columns: str, tight: bool = False) -> Table:
    """kubectl-like: a header, no borders, columns apart by two spaces (one when tight)."""
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False, expand=False,
                  padding=(0, 0) if tight else (0, 1, 0, 0))
    for name in columns:
        table.add_column(name, no_wrap=True, overflow="ellipsis")
    return table


def age(timestamp: str | None, now: dt.datetime) -> str:
    """kubectl's short age: 45s, 12m, 5h, 3d."""
    when = parse_time(timestamp)
    if when is None:
        return "<unknown>"
    seconds = max(0, int((now - when).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= 2 * size or (unit == "d" and seconds >= size):
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def until(timestamp: Any, now: dt.datetime) -> str:
    """A time to come as ``in 2h``; one that passed as ``due``; none as ``-``."""
    when = parse_time(timestamp)
    if when is None:
        return "-"
    if when <= now:
        return "due"
    return "in " + age(fmt(now), when)


def fmt(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _fill(text: str | None) -> Text:
    """A cell that takes the room the other columns leave, on one line (ellipsis)."""
    return Text(text or "", no_wrap=True, overflow="ellipsis")


def parse_time(value: Any) -> dt.datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def condition(obj: Mapping[str, Any], ctype: str) -> dict[str, Any]:
    for c in (obj.get("status") or {}).get("conditions") or []:
        if isinstance(c, dict) and c.get("type") == ctype:
            return c
    return {}


def problem(obj: Mapping[str, Any]) -> tuple[str, str] | None:
    """(reason, message) of an operator-level Stalled condition, if the object has one."""
    stalled = condition(obj, "Stalled")
    if stalled.get("status") == "True" and stalled.get("reason") not in ("JobsFailed", None):
        return str(stalled["reason"]), str(stalled.get("message") or "")
    return None


def _summary(obj: Mapping[str, Any]) -> dict[str, int]:
    summary = (obj.get("status") or {}).get("summary") or {}
    return {k: int(summary.get(k) or 0) for k in ("total", "paused", "failed", "pending")}


def objects_table(items: Iterable[Mapping[str, Any]], now: dt.datetime, *,
                  namespaces: bool = False) -> Table:
    """One row per DrsJobPause: phase, paused/failed counts, next resume, age, message."""
    columns = ["NAMESPACE"] if namespaces else []
    table = _table(*columns, "NAME", "PHASE", "PAUSED", "FAILED", "RESUMES", "AGE", "MESSAGE")
    table.columns[-1].no_wrap = False  # the column that gives way (its cells stay one line)
    for obj in items:
        meta, status = obj.get("metadata") or {}, obj.get("status") or {}
        s = _summary(obj)
        found = problem(obj)
        message = f"{found[0]}: {found[1]}" if found else condition(obj, "Ready").get("message")
        row = [meta.get("namespace", "")] if namespaces else []
        row += [
            meta.get("name", ""),
            status.get("phase") or "-",
            f"{s['paused']}/{s['total']}" if status else "-",
            str(s["failed"]) if status else "-",
            until(status.get("resumeTime"), now),
            age(meta.get("creationTimestamp"), now),
            _fill(message),
        ]
        table.add_row(*row)
    return table


def windows_table(items: Iterable[Mapping[str, Any]], now: dt.datetime, *,
                  namespaces: bool = False) -> Table:
    """One row per DrsPauseWindow: schedule, time zone, duration, suspend, active, last, next."""
    columns = ["NAMESPACE"] if namespaces else []
    table = _table(*columns, "WINDOW", "SCHEDULE", "TIMEZONE", "DURATION", "SUSPEND", "ACTIVE",
                   "LAST", "NEXT")
    for obj in items:
        meta, spec = obj.get("metadata") or {}, obj.get("spec") or {}
        status = obj.get("status") or {}
        last = status.get("lastRun") or {}
        row = [meta.get("namespace", "")] if namespaces else []
        row += [
            meta.get("name", ""),
            str(spec.get("schedule") or ""),
            str(spec.get("timeZone") or "UTC"),
            str(spec.get("duration") or ""),
            str(bool(spec.get("suspend"))).lower(),
            str(len(status.get("active") or [])),
            str(last.get("phase") or "-"),
            until(status.get("nextScheduleTime"), now),
        ]
        table.add_row(*row)
    return table


def jobs_table(obj: Mapping[str, Any]) -> Table:
    """``describe``: one row per job: id, mode, phase, task state, error code, attempts and
    resume phase (99 columns at most; the messages follow the table, see :func:`messages`)."""
    table = _table("JOB ID", "MODE", "PHASE", "TASK STATUS", "ERROR", "TRY", "RESUME",
                   tight=True)
    for job in (obj.get("status") or {}).get("jobs") or []:
        table.add_row(
            str(job.get("jobId", "")),
            str(job.get("pauseMode") or ""),
            str(job.get("phase") or ""),
            str(job.get("taskStatus") or "-"),
            str(job.get("errorCode") or job.get("resumeErrorCode") or "-"),
            str(job.get("attempts") or 0),
            str(job.get("resumePhase") or "-"),
        )
    return table


def messages(obj: Mapping[str, Any]) -> Table | None:
    """Each job's error message (pause, then resume), wrapped under its id and code."""
    table = Table(box=None, show_header=False, pad_edge=False, padding=(0, 1))
    table.add_column(no_wrap=True)
    table.add_column(overflow="fold")
    for job in (obj.get("status") or {}).get("jobs") or []:
        for code, text in ((job.get("errorCode"), job.get("errorMessage")),
                           (job.get("resumeErrorCode"), job.get("resumeErrorMessage"))):
            if text:
                table.add_row(str(job.get("jobId", "")), f"{code or '-'}: {text}")
    return table if table.row_count else None


def describe(obj: Mapping[str, Any], now: dt.datetime) -> RenderableType:
    meta, spec, status = obj.get("metadata") or {}, obj.get("spec") or {}, obj.get("status") or {}
    s = _summary(obj)
    lines = [
        f"Name:       {meta.get('namespace', '')}/{meta.get('name', '')}",
        f"Project:    {spec.get('projectId', '')}",
        f"Phase:      {status.get('phase') or 'Pending'}  "
        f"(paused {s['paused']}/{s['total']}, failed {s['failed']}, pending {s['pending']})",
        f"Age:        {age(meta.get('creationTimestamp'), now)}",
    ]
    ready = condition(obj, "Ready")
    if ready:
        lines.append(f"Ready:      {ready.get('status')} {ready.get('reason')}: "
                     f"{ready.get('message') or ''}".rstrip(": "))
    found = problem(obj)
    if found:
        lines.append(f"Stalled:    {found[0]}: {found[1]}")
    selection = status.get("selection")
    if isinstance(selection, dict):
        lines.append(f"Selection:  {selection.get('matched', 0)} matched, "
                     f"{len(selection.get('jobIds') or [])} chosen at "
                     f"{selection.get('resolvedTime') or '-'} "
                     f"(generation {selection.get('observedGeneration')})")
    if status.get("resumeTime"):
        lines.append(f"Resumes:    {status['resumeTime']}")
    parts: list[RenderableType] = [Text("\n".join(lines))]
    if status.get("jobs"):
        parts += [Text(""), jobs_table(obj)]
        errors = messages(obj)
        if errors is not None:
            parts += [Text("Messages:"), errors]
    return Group(*parts)


@dataclass(frozen=True)
class Progress:
    """Where an object stands, as ``pause --wait`` shows it."""

    total: int
    paused: int
    failed: int
    pending: int
    phase: str
    settled: bool
    blocked: tuple[str, str] | None = None

    @classmethod
    def of(cls, obj: Mapping[str, Any]) -> Progress:
        meta, status = obj.get("metadata") or {}, obj.get("status") or {}
        s = _summary(obj)
        current = int(status.get("observedGeneration") or 0) >= int(meta.get("generation") or 1)
        phase = str(status.get("phase") or "Pending")
        found = problem(obj)
        blocked = found if found and found[0] in BLOCKING and current else None
        settled = current and phase in SETTLED and s["pending"] == 0 and s["total"] > 0
        return cls(s["total"], s["paused"], s["failed"], s["pending"], phase, settled, blocked)

    def line(self) -> str:
        return (f"paused {self.paused}/{self.total}  failed {self.failed}  "
                f"pending {self.pending}  ({self.phase})")

    @property
    def exit_code(self) -> int:
        """0 when every job is paused, 1 otherwise (some failed, or none could be chosen)."""
        return 0 if self.settled and self.total and self.paused == self.total else 1
