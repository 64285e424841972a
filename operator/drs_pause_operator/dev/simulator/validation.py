"""Request body validation with the service's error codes (HTTP 400 unless said otherwise)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from . import codes
from .state import (
    DB_USE_TYPES,
    ENGINE_TYPES,
    JOB_ID_RE,
    NET_TYPES,
    TAG_KEY_MAX,
    TAG_VALUE_MAX,
    TASK_STATES,
)

PAUSE_MODES = frozenset({"target", "all"})
LANGUAGES = frozenset({"en-us", "zh-cn"})  # X-Language, page drs_03_0133 table 2
DEFAULT_PER_PAGE = 5
MAX_PER_PAGE = 100
# Task list (drs_03_0138): cur_page 0 = all, default 1; per_page 0..100, default 10.
LIST_DEFAULT_PER_PAGE = 10
MAX_NAME_FILTER = 4096  # "name or ID"; Huawei: up to 100 comma-separated ids
MAX_NAME_IDS = 100
MAX_TAGS = 20  # the simulator's cap on tag filters (DRS.M00271); none is documented here
PAUSED_SPELLINGS = frozenset({"PAUSING", "PAUSEING"})


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


def parse_retry(
    data: dict[str, Any], max_jobs: int, *, require_re_edit: bool = False
) -> list[str]:
    """``{"jobs": [{"job_id", "is_sync_re_edit"?}]}`` -> [job_id].

    ``is_sync_re_edit`` "must be set to true" when a task is resumed or retried (page
    drs_03_0132): ``false`` or a non-boolean is DRS.M00202; missing (or null) is accepted unless
    ``require_re_edit`` (then DRS.M00201).
    """
    ids = []
    for raw in _job_list(data, max_jobs):
        item = _job_object(raw)
        ids.append(_job_id(item.get("job_id")))
        re_edit = item.get("is_sync_re_edit")
        if re_edit is None:
            if require_re_edit:
                raise bad(codes.PARAM_EMPTY, codes.param_empty("is_sync_re_edit"))
        elif re_edit is not True:
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


def parse_progress(data: dict[str, Any], max_jobs: int) -> list[str]:
    """batch-progress: ``{"jobs": [ids]}``, checked like batch-status (no paging)."""
    ids = [_job_id(raw, "jobs") for raw in _job_list(data, max_jobs)]
    _no_duplicates(ids)
    return ids


@dataclass(frozen=True)
class ListQuery:
    """A tenant task list query (``POST /v3/{project_id}/jobs``, page drs_03_0138)."""

    cur_page: int
    per_page: int
    db_use_type: str
    engine_type: str | None = None
    enterprise_project_id: str | None = None
    name: str | None = None
    net_type: str | None = None
    service_name: str | None = None
    status: str | None = None
    tags: tuple[tuple[str | None, str | None], ...] = ()

    @property
    def everything(self) -> bool:
        return self.cur_page == 0 or self.per_page == 0


def _list_page(data: dict[str, Any], name: str, default: int, required: bool) -> int:
    value = data.get(name)
    if value is None:
        if required:
            raise bad(codes.PARAM_EMPTY, codes.param_empty(name))
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise bad(codes.PAGE_INVALID, codes.page_invalid(f"{name} must be an integer"))
    return value


def _optional_string(
    data: dict[str, Any], name: str, allowed: Iterable[str] | None = None, max_length: int = 64
) -> str | None:
    """An optional string filter: missing, null or "" = no filter (the page's example sends
    empty strings)."""
    value = data.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > max_length:
        raise bad(codes.PARAM_INVALID, codes.param_invalid(name))
    if allowed is not None and value not in allowed:
        raise bad(codes.PARAM_INVALID, codes.param_invalid(name))
    return value


def _tag_filters(value: Any) -> tuple[tuple[str | None, str | None], ...]:
    """``tags``: an array of ResourceTag ``{"key", "value"}`` (OTC page) or a ``{key: value}``
    object (the Huawei Cloud SDK's QueryJobsReq); both optional in a ResourceTag."""
    if value is None:
        return ()
    if isinstance(value, dict):
        items: list[Any] = [{"key": k, "value": v} for k, v in value.items()]
    elif isinstance(value, list):
        items = value
    else:
        raise bad(codes.PARAM_INVALID, codes.param_invalid("tags"))
    if len(items) > MAX_TAGS:
        raise bad(codes.TOO_MANY_TAGS)
    tags = []
    keys: set[str] = set()
    for item in items:
        if not isinstance(item, dict):
            raise bad(codes.PARAM_INVALID, codes.param_invalid("tags"))
        key, tag_value = item.get("key"), item.get("value")
        for part in (key, tag_value):
            if part is not None and not isinstance(part, str):
                raise bad(codes.PARAM_INVALID, codes.param_invalid("tags"))
        if (key and len(key) > TAG_KEY_MAX) or (tag_value and len(tag_value) > TAG_VALUE_MAX):
            raise bad(codes.TAG_TOO_LONG)
        if key:
            if key in keys:
                raise bad(codes.TAG_KEY_NOT_UNIQUE)
            keys.add(key)
        tags.append((key or None, tag_value or None))
    return tuple(tags)


def parse_list(data: dict[str, Any], *, page_required: bool = True) -> ListQuery:
    """The task list body: ``cur_page``, ``per_page``, ``db_use_type`` (mandatory), filters."""
    cur_page = _list_page(data, "cur_page", 1, page_required)
    per_page = _list_page(data, "per_page", LIST_DEFAULT_PER_PAGE, page_required)
    if cur_page < 0:
        raise bad(codes.PAGE_INVALID, codes.page_invalid("cur_page must be 0 or more"))
    if per_page < 0:
        raise bad(codes.PAGE_INVALID, codes.page_invalid("per_page must be 0 to 100"))
    if per_page > MAX_PER_PAGE:
        raise bad(codes.PAGE_TOO_LARGE)
    db_use_type = data.get("db_use_type")
    if db_use_type is None or db_use_type == "":
        raise bad(codes.PARAM_EMPTY, codes.param_empty("db_use_type"))
    if not isinstance(db_use_type, str) or db_use_type not in DB_USE_TYPES:
        raise bad(codes.PARAM_INVALID, codes.param_invalid("db_use_type"))
    enterprise_project_id = data.get("enterprise_project_id")
    if enterprise_project_id == "":  # "This parameter cannot be left blank."
        raise bad(codes.PARAM_EMPTY, codes.param_empty("enterprise_project_id"))
    name = _optional_string(data, "name", max_length=MAX_NAME_FILTER)
    if name is not None and name.count(",") >= MAX_NAME_IDS:
        raise bad(codes.PARAM_INVALID, codes.param_invalid("name"))
    return ListQuery(
        cur_page=cur_page,
        per_page=per_page,
        db_use_type=db_use_type,
        engine_type=_optional_string(data, "engine_type", ENGINE_TYPES),
        enterprise_project_id=_optional_string(data, "enterprise_project_id"),
        name=name,
        net_type=_optional_string(data, "net_type", NET_TYPES),
        service_name=_optional_string(data, "service_name"),
        status=_optional_string(data, "status", (*TASK_STATES, "PAUSEING")),
        tags=_tag_filters(data.get("tags")),
    )


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
