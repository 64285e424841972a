"""Pause and resume calls (batch-pause-task, batch-retry-task): one outcome per job.

Jobs go out in batches of ``batch_size``. A job the answer does not mention is undecided
(transient), never silently successful. A transient failure of the whole request becomes a
transient outcome for each of its jobs (with the pending delay as ``retry_after``). A terminal
rejection of the whole request is split until every job has its own answer, so one bad job never
fails the others. Outcomes are built in :mod:`drs_pause_operator.drs.outcomes`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from drs_pause_operator.drs.errors import DrsError, DrsInvalidProjectError, DrsRequestError
from drs_pause_operator.drs.exchange import Answer, Exchange
from drs_pause_operator.drs.models import (
    BatchPauseRequest,
    BatchPauseResponse,
    BatchRetryRequest,
    BatchRetryResponse,
    ErrorBody,
    PauseJobResp,
)
from drs_pause_operator.drs.outcomes import NO_RESULT, PauseOutcome, error_outcome, result_outcome

__all__ = ["PAUSE", "RESUME", "BatchOp", "gather_all", "run_batches", "splittable"]

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class BatchOp:
    """One per-job endpoint: its name, how a batch's body is built, its response model."""

    name: str
    build: Callable[[list[Any]], dict[str, Any]]
    response: type[BatchPauseResponse]


PAUSE = BatchOp(
    "batch-pause-task",
    lambda items: BatchPauseRequest(jobs=items).model_dump(mode="json"),
    BatchPauseResponse,
)
RESUME = BatchOp(
    "batch-retry-task",
    lambda items: BatchRetryRequest(jobs=items).model_dump(mode="json", exclude_none=True),
    BatchRetryResponse,
)


def splittable(err: DrsError) -> bool:
    """Whether a rejected multi-job request is worth splitting: the error may be about one of
    its jobs (a DRS code, or a 400/409/413/422), not about the endpoint or the request form."""
    if not isinstance(err, DrsRequestError) or isinstance(err, DrsInvalidProjectError):
        return False
    return (err.error_code or "").startswith("DRS.") or err.status_code in (400, 409, 413, 422)


async def gather_all(*coros: Awaitable[T]) -> list[T]:
    """Run all to completion (never orphan a request in flight), then raise the first error."""
    results: list[T] = []
    for result in await asyncio.gather(*coros, return_exceptions=True):
        if isinstance(result, BaseException):
            raise result
        results.append(result)
    return results


async def run_batches(
    exchange: Exchange, op: BatchOp, items: list[Any], batch_size: int
) -> list[PauseOutcome]:
    """One outcome per item (items carry ``job_id``; unique), in the order given."""
    ids = [item.job_id for item in items]
    if len(set(ids)) != len(ids):
        raise ValueError("job ids must be unique within one call")
    if not items:
        return []
    chunks = [items[i : i + batch_size] for i in range(0, len(items), batch_size)]
    merged: dict[str, PauseOutcome] = {}
    for part in await gather_all(*(_run_group(exchange, op, chunk, 0) for chunk in chunks)):
        merged.update(part)
    return [merged[job_id] for job_id in ids]


async def _run_group(
    exchange: Exchange, op: BatchOp, items: list[Any], carried: int
) -> dict[str, PauseOutcome]:
    tried = await exchange.post_retrying(op.name, lambda: op.build(items), op.response)
    attempts = carried + tried.attempts
    if tried.answer is not None:
        return _outcomes(items, tried.answer, attempts)
    err = tried.error
    assert err is not None
    if err.transient:
        return {
            item.job_id: error_outcome(item.job_id, err, attempts, retry_after=tried.delay)
            for item in items
        }
    return await _split_rejected(exchange, op, items, err, attempts)


def _outcomes(items: list[Any], answer: Answer, attempts: int) -> dict[str, PauseOutcome]:
    body: BatchPauseResponse = answer.body
    by_id: dict[str, PauseJobResp] = {}
    for result in body.results:
        if result.id is not None:
            by_id.setdefault(result.id, result)
    out: dict[str, PauseOutcome] = {}
    for item in items:
        found = by_id.get(item.job_id)
        if found is None or (found.status is None and found.error_code is None):
            out[item.job_id] = PauseOutcome(
                job_id=item.job_id,
                api_status=None,
                error_message=NO_RESULT,
                request_id=answer.request_id,
                http_status=answer.status,
                transient=True,
                retry_after=answer.retry_after,
                attempts=attempts,
            )
            continue
        out[item.job_id] = result_outcome(
            found,
            http_status=answer.status,
            request_id=answer.request_id,
            retry_after=answer.retry_after,
            attempts=attempts,
        )
    return out


async def _split_rejected(
    exchange: Exchange, op: BatchOp, items: list[Any], err: DrsError, attempts: int
) -> dict[str, PauseOutcome]:
    """A terminal rejection of the whole request: nothing in it was done. Jobs the error body
    names get their answer; the others are sent again, halved when none was named."""
    wanted: set[str] = {item.job_id for item in items}
    named: dict[str, PauseJobResp] = {}
    body = getattr(err, "body", None)
    for result in (body.results or []) if isinstance(body, ErrorBody) else []:
        if result.id in wanted and result.id not in named:
            named[result.id] = result
    out = {
        job_id: result_outcome(
            result,
            http_status=err.status_code,
            request_id=err.request_id,
            retry_after=err.retry_after,
            attempts=attempts,
            fallback=err,
        )
        for job_id, result in named.items()
    }
    rest = [item for item in items if item.job_id not in named]
    if not rest:
        return out
    if named:
        log.debug(
            "%s: %d job(s) named in a rejection; resending %d", op.name, len(named), len(rest)
        )
        out.update(await _run_group(exchange, op, rest, attempts))
    elif len(rest) == 1 or not splittable(err):
        out.update({item.job_id: error_outcome(item.job_id, err, attempts) for item in rest})
    else:
        half = len(rest) // 2
        log.debug(
            "%s: %d jobs rejected as a whole (%s); splitting", op.name, len(rest), err.error_code
        )
        for part in await gather_all(
            _run_group(exchange, op, rest[:half], attempts),
            _run_group(exchange, op, rest[half:], attempts),
        ):
            out.update(part)
    return out
