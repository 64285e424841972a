"""Pydantic models of the DRS API pages the operator uses (and of IAM's token API).

Response models ignore unknown fields and accept results in any order; request models are
strict (``parsing.parse_json`` turns a body into one of them).
Field names follow the API (``error_msg`` on pause/retry results, ``error_message`` on
batch-status results).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = [
    "PAUSED_STATES",
    "BatchPauseRequest",
    "BatchPauseResponse",
    "BatchProgressRequest",
    "BatchProgressResponse",
    "BatchRetryRequest",
    "BatchRetryResponse",
    "BatchStatusRequest",
    "BatchStatusResponse",
    "ErrorBody",
    "IamError",
    "IamErrorBody",
    "IamToken",
    "IamTokenBody",
    "JobInfo",
    "JobStatus",
    "ListJobsRequest",
    "ListJobsResponse",
    "PageReq",
    "PauseInfo",
    "PauseJobResp",
    "PauseMode",
    "ResourceTag",
    "RetryInfo",
    "is_paused_state",
]

PauseMode = Literal["target", "all"]

#: A paused task sits in PAUSING; one OTC page spells it PAUSEING.
PAUSED_STATES = frozenset({"PAUSING", "PAUSEING"})


def is_paused_state(status: str | None) -> bool:
    """Whether a batch-status ``status`` means the task is paused."""
    return bool(status and status.strip().upper() in PAUSED_STATES)


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Response(BaseModel):
    model_config = ConfigDict(extra="ignore")


def _none_to_empty(value: Any) -> Any:
    return [] if value is None else value


# --- batch-pause-task ---------------------------------------------------------------------


class PauseInfo(_Request):
    job_id: str = Field(min_length=1)
    pause_mode: PauseMode


class BatchPauseRequest(_Request):
    jobs: list[PauseInfo]


class PauseJobResp(_Response):
    """One job's answer in a pause (or retry) response. ``id`` may be missing in odd bodies;
    such entries cannot be matched to a job and are ignored by the client."""

    id: str | None = None
    status: str | None = None
    error_code: str | None = None
    error_msg: str | None = None


class BatchPauseResponse(_Response):
    results: list[PauseJobResp] = []
    count: int | None = None
    # A 2xx body can still be an error body (no results, an error_code): the client checks.
    error_code: str | None = None
    error_msg: str | None = None

    _results_none = field_validator("results", mode="before")(_none_to_empty)


# --- batch-retry-task (resume) ------------------------------------------------------------


class RetryInfo(_Request):
    """``is_sync_re_edit`` must be true only when starting a task after a re-edit (SDK
    docstring); a plain resume leaves it out (None is not serialised)."""

    job_id: str = Field(min_length=1)
    is_sync_re_edit: bool | None = None


class BatchRetryRequest(_Request):
    jobs: list[RetryInfo]


class BatchRetryResponse(BatchPauseResponse):
    """Same shape as the pause response: ``results[{id, status, error_code, error_msg}]``."""


# --- batch-status -------------------------------------------------------------------------


class PageReq(_Request):
    cur_page: int = Field(default=1, ge=1)
    per_page: int = Field(default=100, ge=0, le=100)


class BatchStatusRequest(_Request):
    jobs: list[str]
    page_req: PageReq


class JobStatus(_Response):
    id: str | None = None
    status: str | None = None
    error_code: str | None = None
    error_message: str | None = None

    @property
    def paused(self) -> bool:
        return is_paused_state(self.status)


class BatchStatusResponse(_Response):
    results: list[JobStatus] = []
    count: int | None = None
    error_code: str | None = None
    error_msg: str | None = None

    _results_none = field_validator("results", mode="before")(_none_to_empty)


# --- batch-progress (page drs_03_0114) -----------------------------------------------------


class BatchProgressRequest(_Request):
    """``{"jobs": [ids]}`` (the SDK's BatchQueryProgressReq); no paging."""

    jobs: list[str]


class BatchProgressResponse(_Response):
    """``{"count", "results": [QueryProgressResp]}``. Each result is read on its own
    (``drs.progress``), so that one odd entry spoils only its own job; ``count`` is not used."""

    results: list[Any] = []
    count: Any = None

    _results_none = field_validator("results", mode="before")(_none_to_empty)


# --- errors -------------------------------------------------------------------------------


class ErrorBody(_Response):
    """A DRS or gateway error body: ``{"error_code", "error_msg"}``, sometimes with per-job
    ``results`` (a 400 naming the job that does not exist with DRS.M00289)."""

    error_code: str | None = None
    error_msg: str | None = None
    results: list[PauseJobResp] | None = None


class IamError(_Response):
    code: int | str | None = None
    message: str | None = None
    title: str | None = None


class IamErrorBody(_Response):
    """IAM's (and Keystone's) error shape: ``{"error": {"code", "message", "title"}}``."""

    error: IamError | None = None


def error_fields(data: Any) -> tuple[str | None, str | None]:
    """(error_code, error_msg) from any known error body shape; (None, None) otherwise."""
    if not isinstance(data, dict):
        return None, None
    code = data.get("error_code") or data.get("errorCode")
    msg = data.get("error_msg") or data.get("error_message") or data.get("message")
    nested = data.get("error")
    if isinstance(nested, dict):
        code = code or nested.get("code")
        msg = msg or nested.get("message")
    return (str(code) if code not in (None, "") else None), (str(msg) if msg else None)


# --- IAM tokens ---------------------------------------------------------------------------


class IamToken(_Response):
    expires_at: datetime
    issued_at: datetime | None = None


class IamTokenBody(_Response):
    token: IamToken


# --- list tasks of a tenant (POST /v3/{project_id}/jobs, page drs_03_0138) ----------------

#: The task scenarios the list call requires one of.
DbUseType = Literal["migration", "sync", "cloudDataGuard"]
#: Page size limit of the list call (``per_page`` 0..100).
MAX_LIST_PAGE = 100


class ResourceTag(BaseModel):
    """``{"key", "value"}``; what the page calls ResourceTag (sent and read)."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    key: str = Field(min_length=1)
    value: str = ""


class ListJobsRequest(_Request):
    """``cur_page``/``per_page``/``db_use_type`` are required by the page; an empty optional
    filter is left out (None is not serialised)."""

    cur_page: int = Field(default=1, ge=1)
    per_page: int = Field(default=MAX_LIST_PAGE, ge=1, le=MAX_LIST_PAGE)
    db_use_type: DbUseType
    engine_type: str | None = None
    name: str | None = None
    status: str | None = None
    tags: list[ResourceTag] | None = None


class JobInfo(_Response):
    """One task of the list. Only ``id`` is certain; ``tags`` is not on the page's JobInfo
    (kept when a service sends it)."""

    id: str
    name: str | None = None
    status: str | None = None
    description: str | None = None
    create_time: str | None = None
    engine_type: str | None = None
    db_use_type: str | None = None
    net_type: str | None = None
    tags: list[ResourceTag] | dict[str, str] | None = None

    def tag_map(self) -> dict[str, str] | None:
        """The task's tags as a mapping; None when the answer did not carry them."""
        if self.tags is None:
            return None
        if isinstance(self.tags, dict):
            return dict(self.tags)
        return {t.key: t.value for t in self.tags}


class ListJobsResponse(_Response):
    total_record: int | None = None
    jobs: list[JobInfo] = []
    error_code: str | None = None
    error_msg: str | None = None

    _jobs_none = field_validator("jobs", mode="before")(_none_to_empty)
