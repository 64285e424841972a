"""The I/O of the replication-delay steps of a pass: batch-progress readings for the delay gate
(before a pause leg's first send) and for catch-up (after a resume is verified).

The decisions are ``resource/delay.py``'s. Readings go through the gateway (coalesced across
objects, rate-limited like batch-status); an object without ``spec.delayGate`` and
``spec.resume.catchUp`` never makes one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from drs_pause_operator.drs.errors import DrsError
from drs_pause_operator.drs.redact import REDACTOR
from drs_pause_operator.engine.connection import ACCESS_ERRORS
from drs_pause_operator.engine.leg_io import LegContext
from drs_pause_operator.resource import delay
from drs_pause_operator.resource.job import Job
from drs_pause_operator.resource.spec import CatchUp, DelayGate
from drs_pause_operator.resource.verbs import PAUSE, RESUME, Verb


async def read(ctx: LegContext, ids: list[str]) -> dict[str, Any] | None:
    """One batch-progress reading of this pass; None when the call failed (not for access:
    those are the pass's problem)."""
    c = ctx.conn
    try:
        answers = await ctx.gateway.progress(c.target, c.creds, c.language, ids)
    except DrsError as err:
        if isinstance(err, ACCESS_ERRORS):
            raise
        ctx.olog.info("replication delay reading failed (%s); reading again in %ss",
                      REDACTOR.redact(str(err)), ctx.policy.transient_retry)
        ctx.result.transient_failure = True
        return None
    finally:
        ctx.result.drs_calls += 1
    return dict(answers)


def _poll(ctx: LegContext) -> dt.timedelta:
    return dt.timedelta(seconds=ctx.delay_poll)


Apply = Callable[..., tuple[list[Job], list[delay.Event]]]


async def _step(ctx: LegContext, verb: Verb, spec: Any, jobs: list[Job], ids: list[str],
                apply: Apply, ready: dict[str, Any] | None = None) -> list[Job]:
    """Read the delays of ``ids`` (unless ``ready`` holds them already) and fold them in with
    ``apply``; on a failed reading the verb's legs wait (nothing of them is sent or decided in
    this pass)."""
    if spec is None or not ids:
        return jobs
    now = ctx.clock()
    answers = ready if ready is not None and set(ids) <= set(ready) else await read(ctx, ids)
    if answers is None:
        return delay.hold(verb, jobs, ids, now + dt.timedelta(seconds=ctx.policy.transient_retry))
    jobs, events = apply(spec, jobs, ids, answers, ctx.clock(), _poll(ctx))
    ctx.events += events
    return jobs


async def gate(ctx: LegContext, spec: DelayGate | None, jobs: list[Job]) -> list[Job]:
    """The delay gate: pause legs never sent pass, wait or time out (resource/delay.py)."""
    ids = delay.gate_due(spec, jobs, ctx.clock())
    return await _step(ctx, PAUSE, spec, jobs, ids, delay.apply_gate)


async def catch_up(ctx: LegContext, spec: CatchUp | None, jobs: list[Job]) -> list[Job]:
    """Catch-up: verified resumes wait for a small delay, or time out (resource/delay.py). A
    reading taken together with this pass's verification lookup (``with_verification``) is
    used when it covers the resumes just verified."""
    jobs = delay.begin_catch_up(spec, jobs)
    ids = delay.catch_up_due(spec, jobs, ctx.clock())
    ready, ctx.alongside_read = ctx.alongside_read, None
    return await _step(ctx, RESUME, spec, jobs, ids, delay.apply_catch_up, ready)


def with_verification(ctx: LegContext, spec: CatchUp | None) -> None:
    """With catch-up, the first delay reading of a resume goes out with its verification."""
    if spec is not None:
        ctx.alongside = lambda ids: read(ctx, ids)
