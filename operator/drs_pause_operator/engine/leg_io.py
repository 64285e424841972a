"""The I/O of one verb's legs in a pass, written once for pause and resume.

    [batch-status: the due lookups] -> write-ahead -> [send through the gateway]
      -> [batch-status: verify what was accepted or refused as "not now"]

The decisions are the pure steps of ``resource/legs.py``; the verb says which DRS call sends
(:data:`SENDERS`). Access errors (rejected credentials, TLS, the project) are raised to the
pass, which maps them to the object's Stalled problem (``engine/connection.py``); a
verification lookup that fails otherwise only postpones the verification.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from drs_pause_operator.app.metrics import Metrics
from drs_pause_operator.drs.errors import DrsError
from drs_pause_operator.drs.models import JobStatus, PauseInfo
from drs_pause_operator.drs.outcomes import PauseOutcome
from drs_pause_operator.drs.redact import REDACTOR
from drs_pause_operator.engine.connection import ACCESS_ERRORS, Connection
from drs_pause_operator.engine.objects import ObjectView
from drs_pause_operator.engine.status_writer import StatusWriter
from drs_pause_operator.outbound.gateway import DrsGateway
from drs_pause_operator.resource import legs
from drs_pause_operator.resource.job import Job
from drs_pause_operator.resource.policy import Policy
from drs_pause_operator.resource.verbs import PAUSE, RESUME, Verb


@dataclass
class PassResult:
    #: Seconds until the object wants another pass; None when nothing is due.
    wake_after: float | None
    drs_calls: int = 0
    # A whole DRS call failed transiently: nothing of this object is retried sooner than
    # Policy.transient_retry, whatever the jobs' own schedule says.
    transient_failure: bool = False
    # Jobs whose task state batch-status answered in this pass: only those can be found
    # overdue (a lost lookup must not fail a task that did get there).
    observed: set[str] = field(default_factory=set)
    # Jobs this pass's batch-status lookups asked about (answered or not).
    asked: set[str] = field(default_factory=set)
    # The jobs as DRS's answers left them, once this pass has read one: kept for the next pass
    # if this one ends before its status write (StatusWriter.keeping_answers).
    answered: list[Job] | None = None


@dataclass
class LegContext:
    """What the I/O of a pass's legs needs of the pass."""

    obj: ObjectView
    conn: Connection
    gateway: DrsGateway
    writer: StatusWriter
    metrics: Metrics
    policy: Policy
    clock: Callable[[], dt.datetime]
    rng: random.Random
    result: PassResult
    olog: logging.LoggerAdapter[logging.Logger]
    #: The status document for these jobs, as the pass would write it now (the write-ahead).
    render: Callable[[list[Job]], dict[str, Any]]
    #: The jobs as far as this pass's I/O got (kept when a step raises).
    progress: list[Job] = field(default_factory=list)
    #: Events the steps want posted once the pass's status is written.
    events: list[tuple[str, str, str]] = field(default_factory=list)
    #: Seconds between replication delay readings of a job (engine/delay_io.py).
    delay_poll: float = 30.0
    #: A reading to take together with the verification lookup after a send (catch-up's first
    #: delay reading goes out with the resume's verification: one round trip, not two), and
    #: what it read (None: nothing, or the reading failed).
    alongside: Callable[[list[str]], Awaitable[dict[str, Any] | None]] | None = None
    alongside_read: dict[str, Any] | None = None


Send = Callable[[DrsGateway, Connection, list[Job]], Awaitable[Mapping[str, PauseOutcome]]]


@dataclass(frozen=True)
class Sender:
    send: Send
    #: What a send adds to the metrics: (metrics, legs retried, answers).
    count: Callable[[Metrics, int, Mapping[str, PauseOutcome]], None]


async def _send_pause(
    gateway: DrsGateway, conn: Connection, jobs: list[Job]
) -> Mapping[str, PauseOutcome]:
    # A job's mode is text in the status: validated here, as it goes out.
    infos = [PauseInfo.model_validate({"job_id": j.job_id, "pause_mode": j.pause_mode})
             for j in jobs]
    return await gateway.pause(conn.target, conn.creds, conn.language, infos)


async def _send_resume(
    gateway: DrsGateway, conn: Connection, jobs: list[Job]
) -> Mapping[str, PauseOutcome]:
    return await gateway.resume(conn.target, conn.creds, conn.language, [j.job_id for j in jobs])


def _count_pause(metrics: Metrics, retried: int, answers: Mapping[str, PauseOutcome]) -> None:
    if retried:
        metrics.retries.inc(retried)
    for o in answers.values():
        result = "success" if o.succeeded else ("transient" if o.transient else "failed")
        metrics.job_result(result, o.error_code)


def _count_nothing(_m: Metrics, _r: int, _a: Mapping[str, PauseOutcome]) -> None:
    """Resume answers show in the request metrics (drs_pause_requests_total) only."""


#: How each verb is sent: the gateway call of its DRS API, and what it counts.
SENDERS: dict[str, Sender] = {
    PAUSE.api: Sender(_send_pause, _count_pause),
    RESUME.api: Sender(_send_resume, _count_nothing),
}


async def look(ctx: LegContext, ids: list[str]) -> dict[str, JobStatus]:
    """One batch-status lookup of this pass: what it asked about and what it answered for go
    into the pass's result (``legs.expire`` decides overdue legs on both)."""
    ctx.result.asked.update(ids)
    c = ctx.conn
    answers = await ctx.gateway.status(c.target, c.creds, c.language, ids)
    ctx.result.drs_calls += 1
    # Ids batch-status told something about (a state, or an error such as not found).
    ctx.result.observed.update(i for i, a in answers.items() if a.status or a.error_code)
    return answers


async def drive(verb: Verb, ctx: LegContext, jobs: list[Job]) -> list[Job]:
    """Look up, send and verify what of the verb's legs is due; the jobs as DRS left them."""
    ctx.progress = jobs
    now = ctx.clock()
    checks = legs.due_checks(verb, jobs, now)
    if checks:
        answers = await look(ctx, checks)
        jobs = ctx.progress = legs.fold_status(verb, jobs, answers, now)
    ids = legs.due_sends(verb, jobs, now)
    if not ids:
        return jobs
    sender = SENDERS[verb.api]
    retried = sum(1 for j in jobs if j.job_id in ids and j.leg(verb).attempts > 0)
    jobs = ctx.progress = legs.mark_attempts(verb, jobs, ids, now)
    # Write-ahead: the attempt is durable before the request leaves (see resource/legs.py).
    # Not written (object deleted or replaced): nothing is sent for it. Announced to the
    # gateway meanwhile, so a call about to leave half full waits for these legs.
    c = ctx.conn
    with ctx.gateway.announce(c.target, c.creds, c.language):
        written = await ctx.writer.write(ctx.obj, ctx.render(jobs), ctx.olog)
    if not written:
        return jobs
    outcomes = await sender.send(ctx.gateway, c, [j for j in jobs if j.job_id in ids])
    ctx.result.drs_calls += 1
    sender.count(ctx.metrics, retried, outcomes)
    now = ctx.clock()
    jobs, verify = legs.fold_answers(verb, jobs, outcomes, now, ctx.policy, ctx.rng)
    ctx.progress = ctx.result.answered = jobs
    if not verify:
        return jobs
    try:
        if ctx.alongside is None:
            found = await look(ctx, verify)
        else:
            found, ctx.alongside_read = await asyncio.gather(
                look(ctx, verify), ctx.alongside(verify)
            )
    except DrsError as err:
        if isinstance(err, ACCESS_ERRORS):
            raise
        ctx.olog.info("%s verification lookup failed (%s); polling later", verb.name,
                      REDACTOR.redact(str(err)))
        ctx.result.transient_failure = True
        return jobs
    jobs = legs.fold_status(verb, jobs, found, now)
    jobs = legs.settle_refused(verb, jobs, found, verify)
    ctx.progress = ctx.result.answered = jobs
    return jobs
