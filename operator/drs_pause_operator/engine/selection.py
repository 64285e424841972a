"""The I/O of ``spec.selector``: resolve it through DRS's list call when due, record the result
in ``status.selection``, and hand the pass a spec whose ``jobs`` are the chosen tasks.

The pure rules (what matches, when to resolve, too many or no matches) are in
``resource/selector.py``. A pass calls :func:`select_jobs` right after parsing the spec:

    no selector                        -> the spec as it is
    selection recorded for this generation (and reselect token)
                                       -> the recorded ids as spec.jobs (no DRS call)
    otherwise                          -> list tasks (every page), match, decide,
                                          write status.selection, then the ids as spec.jobs

The selection is written before anything is paused (like the write-ahead of a pause): a pass
that dies after it does not resolve again into a different set. When the selection poses a
problem (``TooManyMatches``, ``NoMatches``) or cannot be made (no Secret, DRS refusing the
credentials, DRS down), the pass ends there with Stalled and nothing is paused.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from drs_pause_operator.drs.errors import DrsError
from drs_pause_operator.drs.models import ListJobsRequest
from drs_pause_operator.drs.redact import REDACTOR
from drs_pause_operator.engine.connection import ACCESS_ERRORS, Connection, problem_from
from drs_pause_operator.engine.objects import ObjectView
from drs_pause_operator.engine.status_writer import StatusWriter
from drs_pause_operator.outbound.gateway import DrsGateway
from drs_pause_operator.resource.job import jobs_from_status
from drs_pause_operator.resource.policy import Policy
from drs_pause_operator.resource.selector import (
    Selection,
    Selector,
    as_jobs,
    decide,
    kept_jobs,
    matches,
    needs_resolve,
    selection_problem,
)
from drs_pause_operator.resource.spec import JOB_ID_RE, DrsJobPauseSpec, JobSpec
from drs_pause_operator.resource.status import ObjectStatus, Problem, carried_problem, render


@dataclass(frozen=True)
class Stop:
    """The pass ends in the selection step (the reconciler turns this into its PassResult)."""

    wake_after: float | None
    drs_calls: int = 0
    transient_failure: bool = False


@dataclass(frozen=True)
class SelectionContext:
    """What the step uses of its pass."""

    writer: StatusWriter
    gateway: DrsGateway
    policy: Policy
    clock: Callable[[], dt.datetime]
    connect: Callable[[DrsJobPauseSpec, str], Awaitable[Connection | Problem]]


async def select_jobs(
    ctx: SelectionContext,
    obj: ObjectView,
    spec: DrsJobPauseSpec,
    olog: logging.LoggerAdapter[logging.Logger],
) -> DrsJobPauseSpec | Stop:
    """The spec the rest of the pass works on, or :class:`Stop` when the pass ends here."""
    selector = spec.selector
    start = obj.status
    if selector is None:
        if "selection" in start:  # the object went from a selector to a job list
            status = {k: v for k, v in start.items() if k != "selection"}
            await ctx.writer.write(obj, status, olog)
        return spec

    previous = Selection.from_status(start)
    if obj.deleting:
        # Being deleted (a resume finalizer holds it): never resolve again, and never stop
        # here; the pass works on the jobs the status holds, so what was paused gets resumed.
        held = tuple(j.job_id for j in jobs_from_status(start))
        return _with_jobs(spec, Selection(obj.generation, None, len(held), held), selector)
    token = obj.reselect_token
    if previous is not None and not needs_resolve(previous, obj.generation, token):
        problem = selection_problem(previous, selector)
        if problem is not None:
            await _stall(ctx, obj, problem, None, olog)
            return Stop(wake_after=None)
        return _with_jobs(spec, previous, selector)

    conn = await ctx.connect(spec, obj.ref.namespace)
    if isinstance(conn, Problem):
        status = await _stall(ctx, obj, conn, None, olog)
        return Stop(wake_after=ctx.policy.stalled_backoff(status, ctx.clock()))
    query = ListJobsRequest(**selector.list_filters())
    found: list[str] = []
    listed = 0
    try:
        async for task in ctx.gateway.list_jobs(conn.target, conn.creds, conn.language, query):
            listed += 1
            if JOB_ID_RE.fullmatch(task.id) and matches(task, selector):
                found.append(task.id)
    except ACCESS_ERRORS as err:
        status = await _stall(ctx, obj, problem_from(err), None, olog)
        return Stop(wake_after=ctx.policy.stalled_backoff(status, ctx.clock()), drs_calls=1)
    except DrsError as err:
        olog.info(
            "listing DRS tasks failed (%s); looking again in %ss",
            REDACTOR.redact(str(err)),
            ctx.policy.transient_retry,
        )
        carried = carried_problem(start)
        if carried is not None:
            await _stall(ctx, obj, carried, None, olog)
        return Stop(
            wake_after=ctx.policy.transient_retry, drs_calls=1, transient_failure=True
        )

    now = ctx.clock()
    selection, problem = decide(
        found,
        selector,
        generation=obj.generation,
        now=now,
        token=token or (previous.reselect_token if previous else None),
        kept=kept_jobs(jobs_from_status(start), previous),
    )
    olog.info(
        "spec.selector resolved: %d task(s) listed, %d matched, %d chosen%s",
        listed,
        len(found),
        len(selection.job_ids),
        f" ({problem.reason})" if problem else "",
    )
    if problem is not None:
        await _stall(ctx, obj, problem, selection, olog)
        return Stop(wake_after=None, drs_calls=1)
    if not await ctx.writer.write(obj, {**start, "selection": selection.to_dict()}, olog):
        return Stop(wake_after=None, drs_calls=1)
    return _with_jobs(spec, selection, selector)


def _with_jobs(spec: DrsJobPauseSpec, selection: Selection, selector: Selector) -> DrsJobPauseSpec:
    jobs = [JobSpec.model_validate(j) for j in as_jobs(selection, selector)]
    return spec.model_copy(update={"jobs": jobs})


async def _stall(
    ctx: SelectionContext,
    obj: ObjectView,
    problem: Problem,
    selection: Selection | None,
    olog: logging.LoggerAdapter[logging.Logger],
) -> dict[str, Any]:
    """Write Stalled with this problem (and the new selection, when there is one); nothing of
    the object's jobs changes."""
    start = obj.status
    rendered = render(start, ObjectStatus.kept(start, obj.generation, problem), ctx.clock())
    # Only the conditions and the generation change: whatever else the status holds (its jobs'
    # entries, what other steps wrote) stays as it was.
    status = {**rendered, **start}
    status["observedGeneration"] = rendered["observedGeneration"]
    status["conditions"] = rendered["conditions"]
    if selection is not None:
        status["selection"] = selection.to_dict()
    await ctx.writer.write(obj, status, olog)
    await ctx.writer.post_transitions(obj, start)
    return status

