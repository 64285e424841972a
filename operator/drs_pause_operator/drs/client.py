"""The DRS API client: pause, resume and batch-status over a shared ``httpx.AsyncClient``.

One cheap :class:`DrsClient` per (endpoint, project, credentials), on top of the shared HTTP
client of :mod:`drs_pause_operator.drs.transport`; outcomes are built in
:mod:`drs_pause_operator.drs.outcomes`.

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
import json
import logging
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel

from drs_pause_operator.drs.errors import (
    DrsAuthenticationError,
    DrsError,
    DrsInvalidProjectError,
    DrsProtocolError,
    DrsRequestError,
    DrsServerError,
    DrsThrottledError,
    DrsTLSError,
    DrsTransportError,
    ResponseTooLargeError,
    make_response_error,
    transport_error,
)
from drs_pause_operator.drs.models import (
    MAX_LIST_PAGE,
    BatchPauseRequest,
    BatchPauseResponse,
    BatchRetryRequest,
    BatchRetryResponse,
    BatchStatusRequest,
    BatchStatusResponse,
    ErrorBody,
    JobInfo,
    JobStatus,
    ListJobsRequest,
    ListJobsResponse,
    PageReq,
    PauseInfo,
    PauseJobResp,
    RetryInfo,
    error_fields,
)
from drs_pause_operator.drs.outcomes import (
    NO_RESULT,
    PauseOutcome,
    error_body,
    error_outcome,
    result_outcome,
)
from drs_pause_operator.drs.parsing import load_json, parse_json
from drs_pause_operator.drs.redact import RedactingFilter
from drs_pause_operator.drs.retry import next_delay, parse_retry_after
from drs_pause_operator.drs.transport import DEFAULT_MAX_RESPONSE_BYTES

__all__ = ["DrsClient", "OnAttempt", "PauseOutcome"]

log = logging.getLogger(__name__)
log.addFilter(RedactingFilter())

#: on_attempt(endpoint name, HTTP status or 0, seconds, outcome label)
OnAttempt = Callable[[str, int, float, str], None]

#: The list call's name (metrics, logs); its path is the jobs collection itself.
LIST = "list"
#: Pages of the list call followed at most, whatever ``total_record`` says (100 per page).
MAX_LIST_PAGES = 1000

#: Errors about the whole configuration: raised, never turned into per-job outcomes.
FATAL_ERRORS = (DrsAuthenticationError, DrsTLSError, DrsInvalidProjectError)


# --- the client -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Answer:
    status: int
    request_id: str | None
    retry_after: float | None
    body: Any  # the parsed response model


@dataclass(frozen=True)
class _Tried:
    """The end of an inline retry loop: an answer, or the last error with the pending delay."""

    answer: _Answer | None
    error: DrsError | None
    attempts: int
    delay: float | None = None


T = TypeVar("T")


@dataclass(frozen=True)
class _BatchOp:
    name: str
    build: Callable[[list[Any]], dict[str, Any]]
    response: type[BatchPauseResponse]


_PAUSE = _BatchOp(
    "batch-pause-task",
    lambda items: BatchPauseRequest(jobs=items).model_dump(mode="json"),
    BatchPauseResponse,
)
_RESUME = _BatchOp(
    "batch-retry-task",
    lambda items: BatchRetryRequest(jobs=items).model_dump(mode="json", exclude_none=True),
    BatchRetryResponse,
)


def _label(err: DrsError) -> str:
    for cls, label in (
        (DrsInvalidProjectError, "invalid_project"),
        (DrsAuthenticationError, "auth_error"),
        (DrsThrottledError, "throttled"),
        (DrsServerError, "server_error"),
        (DrsRequestError, "client_error"),
        (DrsTLSError, "tls_error"),
        (DrsProtocolError, "protocol_error"),
    ):
        if isinstance(err, cls):
            return label
    if isinstance(err, DrsTransportError):
        return "timeout" if err.phase else "transport_error"
    return "error"


def _splittable(err: DrsError) -> bool:
    """Whether a rejected multi-job request is worth splitting: the error may be about one of
    its jobs (a DRS code, or a 400/409/413/422), not about the endpoint or the request form."""
    if not isinstance(err, DrsRequestError) or isinstance(err, DrsInvalidProjectError):
        return False
    return (err.error_code or "").startswith("DRS.") or err.status_code in (400, 409, 413, 422)


async def _gather_all(*coros: Coroutine[Any, Any, T]) -> list[T]:
    """Run all to completion (never orphan a request in flight), then raise the first error."""
    results = await asyncio.gather(*coros, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return results  # type: ignore[return-value]


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
        self._http = http
        self.endpoint = endpoint.rstrip("/")
        self.project_id = project_id
        self._base_path = f"/v3/{quote(project_id, safe='')}/jobs"
        self._auth = auth
        self._language = language
        self._batch_size = batch_size
        self._page_size = status_page_size
        self._max_retries = max_inline_retries
        self._max_delay = max_inline_delay
        self._rng = rng or random.Random()
        self._sleep = sleep
        self._on_attempt = on_attempt
        self._slots = asyncio.Semaphore(max_concurrency)
        self._max_bytes = max_response_bytes
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap

    def __repr__(self) -> str:
        return (
            f"DrsClient(endpoint={self.endpoint!r}, project_id={self.project_id!r}, "
            f"auth={self._auth!r})"
        )

    # --- public API ---------------------------------------------------------------------------

    async def pause(self, jobs: Sequence[PauseInfo]) -> list[PauseOutcome]:
        """Pause ``jobs``; one outcome per job, in the order given. Job ids must be unique."""
        return await self._run_batches(_PAUSE, list(jobs))

    async def resume(
        self, job_ids: Sequence[str], *, is_sync_re_edit: bool | None = None
    ) -> list[PauseOutcome]:
        """Resume (batch-retry-task) paused tasks; same contract as :meth:`pause`."""
        items = [RetryInfo(job_id=j, is_sync_re_edit=is_sync_re_edit) for j in job_ids]
        return await self._run_batches(_RESUME, items)

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
        return await self._status_group(ids)

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
            tried = await self._post_retrying(
                LIST,
                lambda b=body: b.model_dump(mode="json", exclude_none=True),
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

    # --- pause / resume -----------------------------------------------------------------------

    async def _run_batches(self, op: _BatchOp, items: list[Any]) -> list[PauseOutcome]:
        ids = [item.job_id for item in items]
        if len(set(ids)) != len(ids):
            raise ValueError("job ids must be unique within one call")
        if not items:
            return []
        chunks = [items[i : i + self._batch_size] for i in range(0, len(items), self._batch_size)]
        merged: dict[str, PauseOutcome] = {}
        for part in await _gather_all(*(self._run_group(op, chunk, 0) for chunk in chunks)):
            merged.update(part)
        return [merged[job_id] for job_id in ids]

    async def _run_group(
        self, op: _BatchOp, items: list[Any], carried: int
    ) -> dict[str, PauseOutcome]:
        tried = await self._post_retrying(op.name, lambda: op.build(items), op.response)
        attempts = carried + tried.attempts
        if tried.answer is not None:
            return self._outcomes(op, items, tried.answer, attempts)
        err = tried.error
        assert err is not None
        if err.transient:
            return {
                item.job_id: error_outcome(item.job_id, err, attempts, retry_after=tried.delay)
                for item in items
            }
        return await self._split_rejected(op, items, err, attempts)

    def _outcomes(
        self, op: _BatchOp, items: list[Any], answer: _Answer, attempts: int
    ) -> dict[str, PauseOutcome]:
        body: BatchPauseResponse = answer.body
        by_id: dict[str, PauseJobResp] = {}
        for result in body.results:
            if result.id is not None:
                by_id.setdefault(result.id, result)
        out: dict[str, PauseOutcome] = {}
        for item in items:
            result = by_id.get(item.job_id)
            if result is None or (result.status is None and result.error_code is None):
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
                result,
                http_status=answer.status,
                request_id=answer.request_id,
                retry_after=answer.retry_after,
                attempts=attempts,
            )
        return out

    async def _split_rejected(
        self, op: _BatchOp, items: list[Any], err: DrsError, attempts: int
    ) -> dict[str, PauseOutcome]:
        """A terminal rejection of the whole request: nothing in it was done. Jobs the error
        body names get their answer; the others are sent again, halved when none was named."""
        wanted = {item.job_id for item in items}
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
            out.update(await self._run_group(op, rest, attempts))
        elif len(rest) == 1 or not _splittable(err):
            out.update({item.job_id: error_outcome(item.job_id, err, attempts) for item in rest})
        else:
            half = len(rest) // 2
            log.debug(
                "%s: %d jobs rejected as a whole (%s); splitting",
                op.name,
                len(rest),
                err.error_code,
            )
            for part in await _gather_all(
                self._run_group(op, rest[:half], attempts),
                self._run_group(op, rest[half:], attempts),
            ):
                out.update(part)
        return out

    # --- batch-status -------------------------------------------------------------------------

    async def _status_group(self, ids: list[str]) -> dict[str, JobStatus]:
        wanted = set(ids)
        found: dict[str, JobStatus] = {}
        per_page = self._page_size
        max_pages = 1 if per_page == 0 else -(-len(ids) // per_page) + 1
        page = 1
        while True:
            page_req = PageReq(cur_page=page, per_page=per_page)
            tried = await self._post_retrying(
                "batch-status",
                lambda p=page_req: BatchStatusRequest(jobs=ids, page_req=p).model_dump(mode="json"),
                BatchStatusResponse,
            )
            if tried.error is not None:
                if page == 1 and not tried.error.transient:
                    return await self._split_status(ids, tried.error)
                raise tried.error
            assert tried.answer is not None
            body: BatchStatusResponse = tried.answer.body
            for status in body.results:
                if status.id in wanted and status.id not in found:
                    found[status.id] = status
            done = len(found) == len(wanted) or not body.results
            past_count = body.count is not None and page * per_page >= body.count
            if done or past_count or page >= max_pages:
                return found
            page += 1

    async def _split_status(self, ids: list[str], err: DrsError) -> dict[str, JobStatus]:
        wanted = set(ids)
        found: dict[str, JobStatus] = {}
        body = getattr(err, "body", None)
        for result in (body.results or []) if isinstance(body, ErrorBody) else []:
            if result.id in wanted and result.id not in found:
                found[result.id] = JobStatus(
                    id=result.id,
                    status=None,
                    error_code=result.error_code or err.error_code,
                    error_message=result.error_msg or err.error_msg,
                )
        rest = [i for i in ids if i not in found]
        if not rest:
            return found
        if found:
            found.update(await self._status_group(rest))
        elif len(rest) == 1:
            found[rest[0]] = JobStatus(
                id=rest[0], status=None, error_code=err.error_code, error_message=err.error_msg
            )
        elif _splittable(err):
            half = len(rest) // 2
            for part in await _gather_all(
                self._status_group(rest[:half]), self._status_group(rest[half:])
            ):
                found.update(part)
        else:
            raise err
        return found

    # --- one request, with inline retries -----------------------------------------------------

    async def _post_retrying(
        self, name: str, build: Callable[[], dict[str, Any]], model: type[BaseModel]
    ) -> _Tried:
        """POST until an answer, a terminal error, or the inline retry budget is spent.
        Configuration errors are raised."""
        attempt = 0
        while True:
            attempt += 1
            try:
                return _Tried(await self._post(name, build(), model), None, attempt)
            except FATAL_ERRORS:
                raise
            except DrsError as err:
                if not err.transient:
                    return _Tried(None, err, attempt)
                delay = next_delay(
                    attempt,
                    err.retry_after,
                    base=self._backoff_base,
                    cap=self._backoff_cap,
                    rng=self._rng,
                )
                if attempt > self._max_retries or delay > self._max_delay:
                    return _Tried(None, err, attempt, delay)
                log.debug("%s: %s; retry %d in %.2fs", name, err, attempt, delay)
                await self._sleep(delay)

    async def _post(self, name: str, payload: dict[str, Any], model: type[BaseModel]) -> _Answer:
        path = self._base_path if name == LIST else f"{self._base_path}/{name}"
        url = self.endpoint + path
        content = json.dumps(payload).encode("utf-8")
        headers = {"Content-Type": "application/json", "X-Language": self._language}
        status, label, request_id = 0, "error", None
        async with self._slots:
            started = time.monotonic()
            try:
                request = self._http.build_request("POST", url, content=content, headers=headers)
                response = await self._http.send(request, auth=self._auth, stream=True)
                status = response.status_code
                request_id = response.headers.get("X-Request-Id")
                try:
                    raw = await self._read_limited(response)
                finally:
                    await response.aclose()
                answer = self._interpret(name, response, raw, model)
                label = "ok"
                return answer
            except DrsError as err:
                label = _label(err)
                if isinstance(err, DrsProtocolError) and err.status_code is None and status:
                    err.status_code, err.request_id = status, request_id
                raise
            except httpx.HTTPError as err:
                mapped = transport_error(err, what=f"POST {name}", url=url)
                label = _label(mapped)
                raise mapped from err
            finally:
                elapsed = time.monotonic() - started
                log.debug(
                    "POST %s -> %s %s request_id=%s in %.3fs",
                    path,
                    status or "-",
                    label,
                    request_id or "-",
                    elapsed,
                )
                self._record(name, status, elapsed, label)

    async def _read_limited(self, response: httpx.Response) -> bytes:
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > self._max_bytes:
                raise ResponseTooLargeError(
                    f"response from {response.url.path} exceeds {self._max_bytes} bytes",
                    status_code=response.status_code,
                    request_id=response.headers.get("X-Request-Id"),
                )
            chunks.append(chunk)
        return b"".join(chunks)

    def _interpret(
        self, name: str, response: httpx.Response, raw: bytes, model: type[BaseModel]
    ) -> _Answer:
        """The parsed answer of a 2xx, or the matching error (raised)."""
        status = response.status_code
        request_id = response.headers.get("X-Request-Id")
        retry_after = _retry_after(response)
        what = f"{name} (HTTP {status})"
        if response.is_success:
            try:
                data = load_json(raw, what=what)
            except DrsProtocolError as err:
                raise DrsProtocolError(str(err), status_code=status, request_id=request_id) from err
            if not isinstance(data, dict):
                raise DrsProtocolError(
                    f"{what}: expected a JSON object", status_code=status, request_id=request_id
                )
            code, message = error_fields(data)
            if code and not data.get("results"):
                # A 2xx that carries an error instead of results (e.g. 202 DRS.M01504).
                raise make_response_error(
                    status,
                    code,
                    message,
                    request_id=request_id,
                    retry_after=retry_after,
                    body=error_body(data),
                    what=f"POST {name}",
                )
            body = parse_json(model, data, what=f"{name} response")
            return _Answer(status, request_id, retry_after, body)
        try:
            data = json.loads(raw) if raw.strip() else None
        except ValueError:
            data = None
        code, message = error_fields(data)
        if message is None and raw.strip() and data is None:
            message = raw[:200].decode("utf-8", "replace").strip()  # e.g. a proxy's HTML page
        raise make_response_error(
            status,
            code,
            message,
            request_id=request_id,
            retry_after=retry_after,
            body=error_body(data),
            what=f"POST {name}",
        )

    def _record(self, name: str, status: int, elapsed: float, label: str) -> None:
        if self._on_attempt is None:
            return
        try:
            self._on_attempt(name, status, elapsed, label)
        except Exception:  # a metrics bug must not break a pause
            log.exception("on_attempt callback failed")


def _retry_after(response: httpx.Response) -> float | None:
    return parse_retry_after(response.headers.get("Retry-After"), datetime.now(UTC))
