"""The I/O of a plan: look every task up (batch-status, and batch-progress when a delay gate is
set) and nothing else. This module has no way to send a pause or a resume: it never touches
the senders of ``engine/leg_io.py``.
"""

from __future__ import annotations

from drs_pause_operator.engine import delay_io
from drs_pause_operator.engine.leg_io import LegContext, look
from drs_pause_operator.resource import plans
from drs_pause_operator.resource.job import Job
from drs_pause_operator.resource.spec import DelayGate


async def plan(ctx: LegContext, gate: DelayGate | None, jobs: list[Job]) -> list[Job] | None:
    """The jobs with their verdicts; None when a lookup failed (the plan is made later)."""
    ids = [j.job_id for j in jobs]
    answers = await look(ctx, ids)
    progress = {}
    if gate is not None:
        read = await delay_io.read(ctx, ids)
        if read is None:
            return None
        progress = read
    return plans.apply(jobs, answers, progress, gate, ctx.clock())
