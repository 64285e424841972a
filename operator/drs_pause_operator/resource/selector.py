"""spec.selector: choosing DRS tasks by scenario, engine, name, tags and state (pure).

The selector is resolved once per generation (or again when the annotation
``drs.cloudops.dev/reselect`` takes a new value) through DRS's list call; the result is recorded
in ``status.selection`` and from then on the object behaves exactly as if its ``spec.jobs``
listed those IDs:

    needs_resolve -> [list tasks, in engine/selection.py] -> matches -> decide
        -> status.selection -> as_jobs (the job list the rest of the pass works on)

DRS filters what it can (``db_use_type``, ``engine_type``, ``name``, ``tags``, one ``status``);
:func:`matches` applies every filter again on each listed task (a service that ignores a filter
must not widen the set), plus what only the operator does: ``nameRegex`` and several statuses.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from drs_pause_operator.resource.formats import fmt_time, parse_time
from drs_pause_operator.resource.job import Job
from drs_pause_operator.resource.problem import Problem
from drs_pause_operator.resource.verbs import ACCEPTED, PAUSED, PENDING

RESELECT_ANNOTATION = "drs.cloudops.dev/reselect"

#: The states a pause is accepted from (the pause page); the default of ``statuses``.
PAUSABLE_STATES = (
    "FULL_TRANSFER_STARTED",
    "FULL_TRANSFER_FAILED",
    "FULL_TRANSFER_COMPLETE",
    "INCRE_TRANSFER_STARTED",
    "INCRE_TRANSFER_FAILED",
)
DEFAULT_MAX_JOBS = 50
MAX_JOBS_LIMIT = 500  # spec.jobs holds at most 500 too
MAX_TAG_KEY, MAX_TAG_VALUE = 36, 43  # the list page's ResourceTag bounds

DbUseType = Literal["migration", "sync", "cloudDataGuard"]


class Selector(BaseModel):
    """``spec.selector`` (also usable inside a DrsPauseWindow template)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)

    db_use_type: DbUseType = Field(alias="dbUseType")
    engine_type: str | None = Field(None, alias="engineType", min_length=1, max_length=64)
    name: str | None = Field(None, min_length=1, max_length=64)
    name_regex: str | None = Field(None, alias="nameRegex", min_length=1, max_length=256)
    tags: dict[str, str] = Field(default_factory=dict, max_length=20)
    statuses: tuple[str, ...] = PAUSABLE_STATES
    pause_mode: Literal["target", "all"] = Field(alias="pauseMode")
    max_jobs: int = Field(DEFAULT_MAX_JOBS, alias="maxJobs", ge=1, le=MAX_JOBS_LIMIT)

    @field_validator("name_regex")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as err:
                raise ValueError(f"is not a valid regular expression: {err}") from None
        return value

    @field_validator("tags")
    @classmethod
    def _tag_bounds(cls, tags: dict[str, str]) -> dict[str, str]:
        for key, value in tags.items():
            if not key or len(key) > MAX_TAG_KEY or len(value) > MAX_TAG_VALUE:
                raise ValueError(
                    f"tag {key!r}: keys are 1..{MAX_TAG_KEY} and values at most "
                    f"{MAX_TAG_VALUE} characters"
                )
        return tags

    @field_validator("statuses", mode="before")
    @classmethod
    def _statuses(cls, value: Any) -> Any:
        if value is None or (isinstance(value, (list, tuple)) and not value):
            return PAUSABLE_STATES
        return tuple(str(v).strip().upper() for v in value)

    def list_filters(self) -> dict[str, Any]:
        """The filters DRS's list call takes (``ListJobsRequest`` fields)."""
        filters: dict[str, Any] = {"db_use_type": self.db_use_type}
        if self.engine_type:
            filters["engine_type"] = self.engine_type
        if self.name:
            filters["name"] = self.name
        if len(self.statuses) == 1:
            filters["status"] = self.statuses[0]
        if self.tags:
            filters["tags"] = [{"key": k, "value": v} for k, v in sorted(self.tags.items())]
        return filters


def matches(task: Any, selector: Selector) -> bool:
    """Does this listed task (``id``, ``status``, ``name``, ``engine_type``, ``db_use_type``,
    optional tags) match every filter the operator can check?"""
    if not getattr(task, "id", None):
        return False
    if (task.status or "").strip().upper() not in selector.statuses:
        return False
    if task.db_use_type and task.db_use_type != selector.db_use_type:
        return False
    if selector.engine_type and task.engine_type and task.engine_type != selector.engine_type:
        return False
    if selector.name_regex is not None and not re.search(selector.name_regex, task.name or ""):
        return False
    tags = task.tag_map() if hasattr(task, "tag_map") else None
    if selector.tags and tags is not None:
        return all(tags.get(k) == v for k, v in selector.tags.items())
    return True


@dataclass(frozen=True)
class Selection:
    """``status.selection``: what a resolution chose, for which generation and token."""

    observed_generation: int
    resolved_time: dt.datetime | None
    matched: int
    job_ids: tuple[str, ...]
    reselect_token: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "observedGeneration": self.observed_generation,
            "resolvedTime": fmt_time(self.resolved_time),
            "matched": self.matched,
            "jobIds": list(self.job_ids),
        }
        if self.reselect_token:
            data["reselectToken"] = self.reselect_token
        return data

    @classmethod
    def from_status(cls, status: Mapping[str, Any] | None) -> Selection | None:
        data = (status or {}).get("selection")
        if not isinstance(data, dict):
            return None
        ids = data.get("jobIds") or []
        return cls(
            observed_generation=int(data.get("observedGeneration") or 0),
            resolved_time=parse_time(data.get("resolvedTime")),
            matched=int(data.get("matched") or 0),
            job_ids=tuple(str(i) for i in ids if isinstance(i, str)),
            reselect_token=data.get("reselectToken") or None,
        )


def needs_resolve(selection: Selection | None, generation: int, token: str | None) -> bool:
    """Resolve when nothing was resolved for this generation, or on a new reselect value."""
    if selection is None or selection.observed_generation != generation:
        return True
    return bool(token) and token != selection.reselect_token


def kept_jobs(jobs: Iterable[Job], previous: Selection | None) -> list[str]:
    """Jobs of an earlier selection that stay whatever a new resolution finds: those this
    object paused or may have paused (Paused, Accepted, or sent at least once). A paused task
    no longer matches the default ``statuses``, yet it must stay in the object (its status,
    and a later resume, belong to it)."""
    if previous is None:
        return []
    chosen = set(previous.job_ids)
    return [
        j.job_id
        for j in jobs
        if j.job_id in chosen
        and (j.phase in (PAUSED, ACCEPTED) or (j.phase == PENDING and j.pause.attempts > 0))
    ]


def decide(
    found: Iterable[str],
    selector: Selector,
    *,
    generation: int,
    now: dt.datetime,
    token: str | None,
    kept: Iterable[str] = (),
) -> tuple[Selection, Problem | None]:
    """The selection for these matching ids, and the problem it poses (if any).

    Over ``maxJobs`` (counting the kept jobs too): ``TooManyMatches`` and no job at all, so
    nothing is paused. No match: ``NoMatches``.
    """
    matched = list(dict.fromkeys(found))
    ids = sorted(set(matched) | set(kept))
    if len(ids) > selector.max_jobs:
        selection = Selection(generation, now, len(ids), (), token)
    else:
        selection = Selection(generation, now, len(matched), tuple(ids), token)
    return selection, selection_problem(selection, selector)


def selection_problem(selection: Selection, selector: Selector) -> Problem | None:
    """The problem a selection poses: too many matches, or none."""
    if selection.job_ids:
        return None
    if selection.matched > selector.max_jobs:
        return Problem(
            "TooManyMatches",
            f"{selection.matched} DRS tasks match spec.selector, more than maxJobs "
            f"({selector.max_jobs}): nothing was paused. Narrow the selector or raise maxJobs "
            f"(at most {MAX_JOBS_LIMIT}), or set the annotation {RESELECT_ANNOTATION} to a "
            "new value to look again",
        )
    return Problem(
        "NoMatches",
        f"no DRS task of type {selector.db_use_type} in state {', '.join(selector.statuses)} "
        f"matches spec.selector; set the annotation {RESELECT_ANNOTATION} to a new value to "
        "look again",
    )


def as_jobs(selection: Selection, selector: Selector) -> list[dict[str, str]]:
    """The selection as ``spec.jobs`` entries: the rest of the pass treats them as listed."""
    return [{"jobId": i, "pauseMode": selector.pause_mode} for i in selection.job_ids]
