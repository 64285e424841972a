"""What ``kubectl drs`` prints: tables of objects, windows and jobs, sized for a terminal of 100
columns, and the plan report of ``plan`` / ``pause --dry-run``.

Tables never wrap a row: the job table shows the columns that say something for the object at
hand and, when they do not fit, moves the least needed ones into the message lines below it
(see :func:`jobs_table`); the other tables give way in their last column (an ellipsis).

Pure functions of the objects as the API server returns them (dicts), so they are tested
without a cluster.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from rich import box
from rich.console import Console, Group, RenderableType
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from drs_pause_operator.resource.formats import fmt_seconds, parse_time
from drs_pause_operator.resource.plans import PLANNED

#: The widest table the plugin prints (a 100-column terminal).
WIDTH = 100
#: Stalled reasons that only a change of the object can clear: waiting longer is pointless.
BLOCKING = frozenset({"TooManyMatches", "NoMatches", "InvalidSpec"})


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


def summary(obj: Mapping[str, Any]) -> dict[str, int]:
    counts = (obj.get("status") or {}).get("summary") or {}
    return {k: int(counts.get(k) or 0) for k in ("total", "paused", "failed", "pending")}


def jobs_of(obj: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [j for j in (obj.get("status") or {}).get("jobs") or [] if isinstance(j, dict)]


# -- the replication delay -----------------------------------------------------------------


def delay_seconds(job: Mapping[str, Any]) -> int | None:
    value = job.get("delaySeconds")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def delay_text(job: Mapping[str, Any]) -> str:
    """A job's last delay reading: ``7m12s``; ``n/a`` when it does not apply (read, no
    number); ``-`` when it was never read."""
    seconds = delay_seconds(job)
    if seconds is not None:
        return fmt_seconds(seconds)
    return "n/a" if job.get("delayTime") else "-"


def largest_delay(jobs: Iterable[Mapping[str, Any]]) -> str:
    """The largest reading of these jobs; ``n/a`` when every reading says it does not apply;
    empty when none was read."""
    jobs = list(jobs)
    known = [s for s in map(delay_seconds, jobs) if s is not None]
    if known:
        return fmt_seconds(max(known))
    return "n/a" if any(j.get("delayTime") for j in jobs) else ""


def _watches_delay(obj: Mapping[str, Any]) -> bool:
    """Does the object read delays (a gate or catch-up), or did it read one?"""
    return bool(_delay_settings(obj.get("spec") or {})
                or any(j.get("delayTime") for j in jobs_of(obj)))


# -- get -----------------------------------------------------------------------------------


def objects_table(items: Iterable[Mapping[str, Any]], now: dt.datetime, *,
                  namespaces: bool = False) -> Table:
    """One row per DrsJobPause: phase, paused/failed counts, largest delay (a column only
    when some object reads delays), next resume, age, message."""
    items = list(items)
    delays = any(_watches_delay(obj) for obj in items)
    columns = ["NAMESPACE"] if namespaces else []
    columns += ["NAME", "PHASE", "PAUSED", "FAILED", *(["DELAY"] if delays else []), "RESUMES",
                "AGE", "MESSAGE"]
    table = _table(*columns)
    table.columns[-1].no_wrap = False  # the column that gives way (its cells stay one line)
    for obj in items:
        meta, status = obj.get("metadata") or {}, obj.get("status") or {}
        s = summary(obj)
        found = problem(obj)
        message = f"{found[0]}: {found[1]}" if found else condition(obj, "Ready").get("message")
        row = [meta.get("namespace", "")] if namespaces else []
        row += [
            meta.get("name", ""),
            status.get("phase") or "-",
            f"{s['paused']}/{s['total']}" if status else "-",
            str(s["failed"]) if status else "-",
            *([largest_delay(jobs_of(obj))] if delays else []),
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


# -- describe: the job table ---------------------------------------------------------------

Cell = Callable[[Mapping[str, Any]], str]
CELLS: dict[str, Cell] = {
    "JOB ID": lambda j: str(j.get("jobId", "")),
    "MODE": lambda j: str(j.get("pauseMode") or ""),
    "PHASE": lambda j: str(j.get("phase") or ""),
    "PLAN": lambda j: str(j.get("plan") or "-"),
    "TASK STATUS": lambda j: str(j.get("taskStatus") or "-"),
    "DELAY": delay_text,
    "ERROR": lambda j: str(j.get("errorCode") or j.get("resumeErrorCode") or "-"),
    "TRY": lambda j: str(j.get("attempts") or 0),
    "RESUME": lambda j: str(j.get("resumePhase") or "-"),
}
#: When a table is too wide: first one space between columns instead of two, then these
#: columns go, in this order (a plan verdict and an error code move to the message lines,
#: attempts and the mode are left out).
GIVE_WAY = ("PLAN", "ERROR", "TRY", "MODE")


def job_columns(obj: Mapping[str, Any]) -> list[str]:
    """The columns that say something about this object's jobs, before fitting."""
    jobs = jobs_of(obj)
    delay = ["DELAY"] if _watches_delay(obj) else []
    if (obj.get("status") or {}).get("phase") == PLANNED:
        # Nothing was sent: the pause phase (Pending), attempts and errors say nothing.
        return ["JOB ID", "MODE", "PLAN", "TASK STATUS", *delay]
    columns = ["JOB ID", "MODE", "PHASE", "TASK STATUS", *delay]
    if any(j.get("errorCode") or j.get("resumeErrorCode") for j in jobs):
        columns.append("ERROR")
    columns.append("TRY")
    if any(j.get("resumePhase") for j in jobs):
        columns.append("RESUME")
    if any(j.get("plan") for j in jobs):
        columns.append("PLAN")
    return columns


def _build(columns: Sequence[str], jobs: list[dict[str, Any]], tight: bool) -> Table:
    table = _table(*columns, tight=tight)
    table.columns[0].min_width = max((len(CELLS["JOB ID"](j)) for j in jobs), default=6)
    for job in jobs:
        table.add_row(*(CELLS[c](job) for c in columns))
    return table


def _width(table: Table) -> int:
    console = Console(width=10_000)
    return Measurement.get(console, console.options, table).maximum


def fit_jobs(obj: Mapping[str, Any], width: int = WIDTH) -> tuple[Table, list[str]]:
    """The job table at most ``width`` wide, and the columns it shows."""
    jobs = jobs_of(obj)
    columns = job_columns(obj)
    table = _build(columns, jobs, tight=False)
    if _width(table) <= width:
        return table, columns
    table = _build(columns, jobs, tight=True)
    for name in GIVE_WAY:
        if _width(table) <= width:
            break
        if name in columns and len(columns) > 2:
            columns = [c for c in columns if c != name]
            table = _build(columns, jobs, tight=True)
    return table, columns


def jobs_table(obj: Mapping[str, Any], width: int = WIDTH) -> Table:
    return fit_jobs(obj, width)[0]


def messages(obj: Mapping[str, Any], shown: Sequence[str] = tuple(CELLS)) -> Table | None:
    """Under the job table, per job: its plan's message (with the verdict when the table has
    no PLAN column), its error messages (pause, then resume; with the code alone when the
    table has no ERROR column), wrapped under the job's id."""
    table = Table(box=None, show_header=False, pad_edge=False, padding=(0, 1))
    table.add_column(no_wrap=True)
    table.add_column(overflow="fold")
    for job in jobs_of(obj):
        lines = []
        plan, why = job.get("plan"), job.get("planMessage")
        if plan and (why or "PLAN" not in shown):
            lines.append(f"{plan}: {why}" if why else str(plan))
        for code, text in ((job.get("errorCode"), job.get("errorMessage")),
                           (job.get("resumeErrorCode"), job.get("resumeErrorMessage"))):
            if text:
                lines.append(f"{code or '-'}: {text}")
            elif code and "ERROR" not in shown:
                lines.append(str(code))
        for line in lines:
            table.add_row(str(job.get("jobId", "")), line)
    return table if table.row_count else None


def _job_section(obj: Mapping[str, Any], width: int) -> list[RenderableType]:
    table, shown = fit_jobs(obj, width)
    parts: list[RenderableType] = [table]
    notes = messages(obj, shown)
    if notes is not None:
        parts += [Text("Messages:"), notes]
    return parts


# -- describe ------------------------------------------------------------------------------


def _delay_settings(spec: Mapping[str, Any]) -> list[str]:
    lines = []
    gate = spec.get("delayGate")
    if isinstance(gate, dict):
        lines.append(f"Delay gate: maxDelay {gate.get('maxDelay')}, "
                     f"waitUpTo {gate.get('waitUpTo') or '0s'}, "
                     f"onTimeout {gate.get('onTimeout') or 'Pause'}")
    resume = spec.get("resume")
    catch_up = resume.get("catchUp") if isinstance(resume, dict) else None
    if isinstance(catch_up, dict):
        lines.append(f"Catch-up:   maxDelay {catch_up.get('maxDelay')}, timeout "
                     f"{catch_up.get('timeout') or '1h'}")
    return lines


def describe(obj: Mapping[str, Any], now: dt.datetime, width: int = WIDTH) -> RenderableType:
    meta, spec, status = obj.get("metadata") or {}, obj.get("spec") or {}, obj.get("status") or {}
    s = summary(obj)
    phase = status.get("phase") or "Pending"
    counts = (f"{s['total']} jobs planned" if phase == PLANNED else
              f"paused {s['paused']}/{s['total']}, failed {s['failed']}, pending {s['pending']}")
    lines = [
        f"Name:       {meta.get('namespace', '')}/{meta.get('name', '')}",
        f"Project:    {spec.get('projectId', '')}",
        f"Phase:      {phase}  ({counts})",
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
    lines += _delay_settings(spec)
    if status.get("plannedTime"):
        lines.append(f"Planned:    {status['plannedTime']} ({age(status['plannedTime'], now)} "
                     "ago; kubectl drs replan plans again)")
    if status.get("resumeTime"):
        lines.append(f"Resumes:    {status['resumeTime']}")
    parts: list[RenderableType] = [Text("\n".join(lines))]
    if jobs_of(obj):
        parts += [Text(""), *_job_section(obj, width)]
    return Group(*parts)


# -- plan ----------------------------------------------------------------------------------


def plan_report(obj: Mapping[str, Any], width: int = WIDTH) -> RenderableType:
    """``plan``: the verdict table, the verdicts' messages, and the one-line summary."""
    parts = _job_section(obj, width) if jobs_of(obj) else [Text("No jobs.")]
    ready = condition(obj, "Ready")
    parts.append(Text(str(ready.get("message") or (obj.get("status") or {}).get("phase")),
                      overflow="fold"))
    return Group(*parts)
