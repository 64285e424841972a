"""Request body validation with the service's error codes (HTTP 400 unless said otherwise)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from . import codes
from .state import JOB_ID_RE

PAUSE_MODES = frozenset({"target", "all"})
LANGUAGES = frozenset({"en-us", "zh-cn"})  # X-Language, page drs_03_0133 table 2
DEFAULT_PER_PAGE = 5
MAX_PER_PAGE = 100


class ApiError(Exception):
    """An error answer: HTTP status plus a JSON body."""

    def __init__(
        self,
        status: int,
        code: str,
        msg: str | None = None,
        *,
        body: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.body = body if body is not None else codes.error_body(code, msg)
        self.headers = headers or {}
        super().__init__(f"{status} {code}")


def bad(code: str, msg: str | None = None) -> ApiError:
    return ApiError(400, code, msg)


def parse_json_object(content_type: str, body: bytes) -> dict[str, Any]:
    """The body as a JSON object, or DRS.M00007."""
    if content_type != "application/json":
        raise bad(codes.INVALID_REQUEST)
    try:
        value = json.loads(body.decode("utf-8"))
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        raise bad(codes.INVALID_REQUEST) from None
    if not isinstance(value, dict):
        raise bad(codes.INVALID_REQUEST)
    return value


def check_language(value: str | None) -> None:
    """X-Language is optional; when sent it must be one of the documented values."""
    if value is not None and value not in LANGUAGES:
        raise bad(codes.PARAM_INVALID, codes.param_invalid("X-Language"))


def _job_id(value: Any, name: str = "job_id") -> str:
    if value is None or value == "":
        raise bad(codes.PARAM_EMPTY, codes.param_empty(name))
    if not isinstance(value, str) or not JOB_ID_RE.match(value):
        raise bad(codes.PARAM_INVALID, codes.param_invalid(name))
    return value


def _job_list(data: dict[str, Any], max_jobs: int) -> list[Any]:
    jobs = data.get("jobs")
    if not isinstance(jobs, list) or not jobs:
        raise bad(codes.PARAM_EMPTY, codes.param_empty("jobs"))
    if len(jobs) > max_jobs:
        raise bad(codes.PARAM_INVALID, codes.param_invalid("jobs"))
    return jobs


def _no_duplicates(ids: list[str]) -> None:
    if len(set(ids)) != len(ids):
        raise bad(codes.DUPLICATE, codes.duplicate("job_id"))


def _job_object(item: Any) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise bad(codes.PARAM_INVALID, codes.param_invalid("jobs"))
    if not item:  # "The value cannot contain empty objects."
        raise bad(codes.PARAM_EMPTY, codes.param_empty("jobs"))
    return item


def parse_pause(data: dict[str, Any], max_jobs: int) -> list[tuple[str, str]]:
    """``{"jobs": [{"job_id", "pause_mode"}]}`` -> [(job_id, pause_mode)]."""
    jobs = []
    for raw in _job_list(data, max_jobs):
        item = _job_object(raw)
        job_id = _job_id(item.get("job_id"))
        mode = item.get("pause_mode")
        if mode is None or mode == "":
            raise bad(codes.PARAM_EMPTY, codes.param_empty("pause_mode"))
        if not isinstance(mode, str) or mode not in PAUSE_MODES:  # {} or [] are unhashable
            raise bad(codes.PARAM_INVALID, codes.param_invalid("pause_mode"))
        jobs.append((job_id, mode))
    _no_duplicates([job_id for job_id, _ in jobs])
    return jobs


def parse_retry(data: dict[str, Any], max_jobs: int) -> list[str]:
    """``{"jobs": [{"job_id", "is_sync_re_edit"?}]}`` -> [job_id]."""
    ids = []
    for raw in _job_list(data, max_jobs):
        item = _job_object(raw)
        ids.append(_job_id(item.get("job_id")))
        re_edit = item.get("is_sync_re_edit")
        if re_edit is not None and not isinstance(re_edit, bool):
            raise bad(codes.PARAM_INVALID, codes.param_invalid("is_sync_re_edit"))
    _no_duplicates(ids)
    return ids


@dataclass(frozen=True)
class StatusQuery:
    ids: list[str]
    cur_page: int
    per_page: int


def _page_number(page: dict[str, Any], name: str, default: int) -> int:
    value = page.get(name, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise bad(codes.PAGE_INVALID, codes.page_invalid(f"{name} must be an integer"))
    return value


def parse_status(data: dict[str, Any], max_jobs: int) -> StatusQuery:
    """``{"jobs": [ids], "page_req": {"cur_page", "per_page"}}``."""
    ids = [_job_id(raw, "jobs") for raw in _job_list(data, max_jobs)]
    _no_duplicates(ids)
    page = data.get("page_req")
    if page is None:
        page = {}
    if not isinstance(page, dict):
        raise bad(codes.PARAM_INVALID, codes.param_invalid("page_req"))
    cur_page = _page_number(page, "cur_page", 1)
    per_page = _page_number(page, "per_page", DEFAULT_PER_PAGE)
    if cur_page < 1:
        raise bad(codes.PAGE_INVALID, codes.page_invalid("cur_page must be greater than 0"))
    if per_page < 0:
        raise bad(codes.PAGE_INVALID, codes.page_invalid("per_page must be 0 to 100"))
    if per_page > MAX_PER_PAGE:
        raise bad(codes.PAGE_TOO_LARGE)
    return StatusQuery(ids, cur_page, per_page)


def best_effort_job_ids(body: bytes) -> list[str]:
    """Job ids in a body that may be invalid, for fault matching and the call log."""
    try:
        data = json.loads(body.decode("utf-8"))
    except (ValueError, RecursionError):
        return []
    jobs = data.get("jobs") if isinstance(data, dict) else None
    if not isinstance(jobs, list):
        return []
    ids = []
    for item in jobs[:1000]:
        if isinstance(item, str):
            ids.append(item[:128])
        elif isinstance(item, dict) and isinstance(item.get("job_id"), str):
            ids.append(item["job_id"][:128])
    return ids
