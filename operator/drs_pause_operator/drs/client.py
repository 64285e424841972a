"""The DRS API client: pause, resume, batch-status, batch-progress and the task list.

One cheap :class:`DrsClient` per (endpoint, project, credentials), on top of the shared HTTP
client of :mod:`drs_pause_operator.drs.transport`. The requests themselves (auth, size limit,
inline retries) are :mod:`drs_pause_operator.drs.exchange`'s; pause and resume batching is in
:mod:`drs_pause_operator.drs.batches`, the lookups by id in :mod:`drs_pause_operator.drs.lookups`.

Guarantees of :meth:`DrsClient.pause` (and :meth:`DrsClient.resume`):

- every job passed in gets exactly one :class:`PauseOutcome`; a job the response does not
  mention is *undecided* (transient), never silently successful;
- transient whole-request failures are retried inline a few times (honouring Retry-After),
  then handed back as transient outcomes with ``retry_after`` for the caller to schedule;
- a request rejected as a whole with a terminal 4xx is split until every job has its own
  answer, so one bad job never fails the others;
- problems of the whole configuration are raised instead: :class:`DrsAuthenticationError`,
  :class:`DrsTLSError`, :class:`DrsInvalidProjectError`.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from functools import partial
from typing import Any

import httpx

from drs_pause_operator.drs.batches import PAUSE, RESUME, run_batches
from drs_pause_operator.drs.exchange import LIST, Exchange, OnAttempt
from drs_pause_operator.drs.lookups import progress_of, status_of
from drs_pause_operator.drs.models import (
    MAX_LIST_PAGE,
    JobInfo,
    JobStatus,
    ListJobsRequest,
    ListJobsResponse,
    PauseInfo,
    RetryInfo,
)
from drs_pause_operator.drs.outcomes import PauseOutcome
from drs_pause_operator.drs.progress import JobProgress
from drs_pause_operator.drs.redact import RedactingFilter
from drs_pause_operator.drs.transport import DEFAULT_MAX_RESPONSE_BYTES

__all__ = ["DrsClient", "JobProgress", "OnAttempt", "PauseOutcome"]

log = logging.getLogger(__name__)
log.addFilter(RedactingFilter())

#: Pages of the list call followed at most, whatever ``total_record`` says (100 per page).
MAX_LIST_PAGES = 1000


class DrsClient:
    """Pause, resume and query DRS tasks of one project at one endpoint.

    ``http`` is the shared client from :func:`make_http_client` (not owned, not closed here).
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        endpoint: str,
        project_id: str,
        auth: httpx.Auth,
        *,
        language: str = "en-us",
        batch_size: int = 100,
        status_page_size: int = 100,
        max_inline_retries: int = 2,
        max_inline_delay: float = 10.0,
        rng: random.Random | None = None,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        on_attempt: OnAttempt | None = None,
        max_concurrency: int = 4,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        backoff_base: float = 1.0,
        backoff_cap: float = 300.0,
    ) -> None:
        if not endpoint.startswith(("https://", "http://")):
            raise ValueError(f"endpoint must be an http(s) URL, got {endpoint!r}")
        if not project_id or "/" in project_id:
            raise ValueError("project_id must be non-empty and contain no '/'")
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        if not 0 <= status_page_size <= 100:
            raise ValueError("status_page_size must be within 0..100 (0 = all)")
        if max_inline_retries < 0 or max_concurrency < 1:
            raise ValueError("max_inline_retries must be >= 0 and max_concurrency >= 1")
        self.endpoint = endpoint.rstrip("/")
        self.project_id = project_id
        self._auth = auth
        self._batch_size = batch_size
        self._page_size = status_page_size
        self._exchange = Exchange(
            http,
            self.endpoint,
            project_id,
            auth,
            language=language,
            max_inline_retries=max_inline_retries,
            max_inline_delay=max_inline_delay,
            rng=rng,
            sleep=sleep,
            on_attempt=on_attempt,
            max_concurrency=max_concurrency,
            max_response_bytes=max_response_bytes,
            backoff_base=backoff_base,
            backoff_cap=backoff_cap,
        )

    def __repr__(self) -> str:
        return (
            f"DrsClient(endpoint={self.endpoint!r}, project_id={self.project_id!r}, "
            f"auth={self._auth!r})"
        )

    async def pause(self, jobs: Sequence[PauseInfo]) -> list[PauseOutcome]:
        """Pause ``jobs``; one outcome per job, in the order given. Job ids must be unique."""
        return await run_batches(self._exchange, PAUSE, list(jobs), self._batch_size)

    async def resume(
        self, job_ids: Sequence[str], *, is_sync_re_edit: bool | None = None
    ) -> list[PauseOutcome]:
        """Resume (batch-retry-task) paused tasks; same contract as :meth:`pause`."""
        items = [RetryInfo(job_id=j, is_sync_re_edit=is_sync_re_edit) for j in job_ids]
        return await run_batches(self._exchange, RESUME, items, self._batch_size)

    async def batch_status(self, job_ids: Sequence[str]) -> dict[str, JobStatus]:
        """The task state of each id the service answered for, keyed by id.

        Sends ``page_req`` and follows pages until every id is answered (or the service says
        there is no more). Ids it never mentions are absent from the result. An id the service
        rejects on its own (e.g. unknown) gets a JobStatus with ``status=None`` and its
        ``error_code``. Raises :class:`DrsError` when the call as a whole fails.
        """
        ids = list(dict.fromkeys(job_ids))
        if not ids:
            return {}
        return await status_of(self._exchange, ids, self._page_size)

    async def progress(self, job_ids: Sequence[str]) -> dict[str, JobProgress]:
        """Progress and replication delay (batch-progress) of each id the service answered
        for, keyed by id; 100 ids per request.

        Retried, split and raised like :meth:`batch_status`: ids never mentioned are absent;
        an id rejected on its own (e.g. unknown) gets a JobProgress with its ``error_code``; an
        entry that cannot be read (e.g. a delay that is no number) gets ``protocol_error`` and
        spoils nothing else. Raises :class:`DrsError` when the call as a whole fails.
        """
        ids = list(dict.fromkeys(job_ids))
        if not ids:
            return {}
        return await progress_of(self._exchange, ids)

    async def list_jobs(self, query: ListJobsRequest) -> AsyncIterator[JobInfo]:
        """The tasks of the project that match ``query``, page by page (POST
        /v3/{project_id}/jobs), as an async iterator.

        Pages of ``query.per_page`` (at most 100) from ``query.cur_page`` on, until
        ``total_record`` is reached or a page comes back empty (short, when the service gives
        no ``total_record``). Each page is one request with the same auth, inline retries and
        limits as the other calls; a failed page raises :class:`DrsError` (the tasks yielded
        before it stay valid). Stopping the iteration early sends no further request.
        """
        per_page = min(query.per_page, MAX_LIST_PAGE)
        page = query.cur_page
        for _ in range(MAX_LIST_PAGES):
            body = query.model_copy(update={"cur_page": page, "per_page": per_page})
            tried = await self._exchange.post_retrying(
                LIST,
                partial(body.model_dump, mode="json", exclude_none=True),
                ListJobsResponse,
            )
            if tried.error is not None:
                raise tried.error
            assert tried.answer is not None
            answer: ListJobsResponse = tried.answer.body
            for job in answer.jobs:
                yield job
            total = answer.total_record
            if not answer.jobs or (total is not None and page * per_page >= total):
                return
            if total is None and len(answer.jobs) < per_page:
                return
            page += 1
        log.warning("list: stopped after %d pages", MAX_LIST_PAGES)
