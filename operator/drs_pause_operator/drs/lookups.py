"""Lookups by job id: batch-status (task states) and batch-progress (progress and delay).

Each returns what the service answered, keyed by job id; ids it never mentions are absent. A
terminal rejection of the whole request (e.g. one id that is not UUID-shaped) is split until
every id has its own answer: ids the error body names, or a lone id, get the error as their own
answer. A transient failure (after the inline retries) or an error that is not about the ids is
raised.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any, TypeVar

from drs_pause_operator.drs.batches import gather_all, splittable
from drs_pause_operator.drs.errors import DrsError
from drs_pause_operator.drs.exchange import Exchange
from drs_pause_operator.drs.models import (
    BatchProgressRequest,
    BatchProgressResponse,
    BatchStatusRequest,
    BatchStatusResponse,
    ErrorBody,
    JobStatus,
    PageReq,
)
from drs_pause_operator.drs.progress import JobProgress, job_progress

__all__ = ["PROGRESS", "PROGRESS_BATCH", "STATUS", "progress_of", "status_of"]

STATUS = "batch-status"
PROGRESS = "batch-progress"
#: Ids per batch-progress request (the page size batch-status pages at).
PROGRESS_BATCH = 100

R = TypeVar("R")
#: The answer an id gets from an error: (id, error_code, error_msg) -> answer.
Failed = Callable[[str, str | None, str | None], R]


def _status_request(ids: list[str], page_req: PageReq) -> dict[str, Any]:
    return BatchStatusRequest(jobs=ids, page_req=page_req).model_dump(mode="json")


async def status_of(exchange: Exchange, ids: list[str], page_size: int) -> dict[str, JobStatus]:
    """batch-status of unique ``ids``: one request with ``page_req``, pages followed until
    every id is answered (or the service says there is no more)."""
    wanted = set(ids)
    found: dict[str, JobStatus] = {}
    max_pages = 1 if page_size == 0 else -(-len(ids) // page_size) + 1
    page = 1
    while True:
        page_req = PageReq(cur_page=page, per_page=page_size)
        tried = await exchange.post_retrying(
            STATUS,
            partial(_status_request, ids, page_req),
            BatchStatusResponse,
        )
        if tried.error is not None:
            if page == 1 and not tried.error.transient:
                return await _split(
                    ids,
                    tried.error,
                    lambda part: status_of(exchange, part, page_size),
                    _failed_status,
                )
            raise tried.error
        assert tried.answer is not None
        body: BatchStatusResponse = tried.answer.body
        for status in body.results:
            if status.id in wanted and status.id not in found:
                found[status.id] = status
        done = len(found) == len(wanted) or not body.results
        past_count = body.count is not None and page * page_size >= body.count
        if done or past_count or page >= max_pages:
            return found
        page += 1


async def progress_of(exchange: Exchange, ids: list[str]) -> dict[str, JobProgress]:
    """batch-progress of unique ``ids``, :data:`PROGRESS_BATCH` per request (in parallel up to
    the client's concurrency)."""
    found: dict[str, JobProgress] = {}
    chunks = [ids[i : i + PROGRESS_BATCH] for i in range(0, len(ids), PROGRESS_BATCH)]
    for part in await gather_all(*(_progress_group(exchange, chunk) for chunk in chunks)):
        found.update(part)
    return found


async def _progress_group(exchange: Exchange, ids: list[str]) -> dict[str, JobProgress]:
    tried = await exchange.post_retrying(
        PROGRESS,
        lambda: BatchProgressRequest(jobs=ids).model_dump(mode="json"),
        BatchProgressResponse,
    )
    if tried.error is not None:
        if tried.error.transient:
            raise tried.error
        return await _split(
            ids, tried.error, lambda part: _progress_group(exchange, part), _failed_progress
        )
    assert tried.answer is not None
    body: BatchProgressResponse = tried.answer.body
    wanted = set(ids)
    found: dict[str, JobProgress] = {}
    for entry in body.results:
        progress = job_progress(entry)
        if progress is not None and progress.job_id in wanted and progress.job_id not in found:
            found[progress.job_id] = progress
    return found


def _failed_status(job_id: str, code: str | None, message: str | None) -> JobStatus:
    return JobStatus(id=job_id, status=None, error_code=code, error_message=message)


def _failed_progress(job_id: str, code: str | None, message: str | None) -> JobProgress:
    return JobProgress(job_id=job_id, error_code=code, error_message=message)


async def _split(
    ids: list[str],
    err: DrsError,
    lookup: Callable[[list[str]], Awaitable[dict[str, R]]],
    failed: Failed[R],
) -> dict[str, R]:
    """Answers for ``ids`` after a terminal rejection of the request that carried them all."""
    wanted = set(ids)
    found: dict[str, R] = {}
    body = getattr(err, "body", None)
    for result in (body.results or []) if isinstance(body, ErrorBody) else []:
        if result.id is not None and result.id in wanted and result.id not in found:
            found[result.id] = failed(
                result.id, result.error_code or err.error_code, result.error_msg or err.error_msg
            )
    rest = [i for i in ids if i not in found]
    if not rest:
        return found
    if found:
        found.update(await lookup(rest))
    elif len(rest) == 1:
        found[rest[0]] = failed(rest[0], err.error_code, err.error_msg)
    elif splittable(err):
        half = len(rest) // 2
        for part in await gather_all(lookup(rest[:half]), lookup(rest[half:])):
            found.update(part)
    else:
        raise err
    return found
