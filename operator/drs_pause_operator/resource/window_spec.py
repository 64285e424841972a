"""The spec of a DrsPauseWindow, checked and parsed (pure): its schedule, duration, starting
deadline, history limit, child template and exclusions. ``resource/window.py`` plans a pass
from it."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from drs_pause_operator.resource.exclusions import ExclusionError, Exclusions, parse_exclusions
from drs_pause_operator.resource.schedule import Schedule, ScheduleError
from drs_pause_operator.resource.spec import SpecError, parse_spec

MAX_DURATION = dt.timedelta(days=7)
_DURATION = re.compile(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")


class WindowSpecError(ValueError):
    """A spec the window cannot work with; ``reason`` is the Stalled reason."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


def parse_duration(text: str) -> dt.timedelta:
    """``2h``, ``90m``, ``1h30m``, ``45s``: hours, minutes and seconds, in that order."""
    match = _DURATION.fullmatch(text or "")
    if not text or match is None:
        raise ValueError(f"{text!r} is not a duration such as 2h, 90m, 1h30m or 45s")
    hours, minutes, seconds = (int(g or 0) for g in match.groups())
    value = dt.timedelta(hours=hours, minutes=minutes, seconds=seconds)
    if value <= dt.timedelta(0) or value > MAX_DURATION:
        raise ValueError(f"{text!r} must be more than 0s and at most 168h")
    return value


class WindowSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    schedule: str = Field(min_length=1)
    time_zone: str = Field("UTC", alias="timeZone")
    duration: str
    starting_deadline_seconds: int | None = Field(None, alias="startingDeadlineSeconds", ge=0)
    suspend: bool = False
    history_limit: int = Field(3, alias="historyLimit", ge=0, le=100)
    template: dict[str, Any]
    #: Checked by :func:`parse_exclusions` (reason InvalidExclusion, naming the entry).
    exclusions: Any = None

    @field_validator("duration")
    @classmethod
    def _duration(cls, value: str) -> str:
        parse_duration(value)
        return value

    @field_validator("template")
    @classmethod
    def _no_resume(cls, value: dict[str, Any]) -> dict[str, Any]:
        resume = value.get("resume")
        if resume is not None and (not isinstance(resume, dict) or set(resume) - {"catchUp"}):
            raise ValueError(
                "may set only resume.catchUp: the window sets the rest (at start + duration, "
                "onDelete)"
            )
        return value


@dataclass(frozen=True)
class Window:
    """A window's spec, parsed."""

    spec: WindowSpec
    schedule: Schedule
    duration: dt.timedelta
    starting_deadline: dt.timedelta | None
    exclusions: Exclusions = field(default_factory=Exclusions)


def parse_window(spec: dict[str, Any]) -> Window:
    try:
        parsed = WindowSpec.model_validate(spec)
    except ValidationError as err:
        parts = []
        for e in err.errors()[:5]:
            loc = ".".join(str(p) for p in e["loc"])
            msg = str(e["msg"]).removeprefix("Value error, ")
            parts.append(f"spec.{loc}: {msg}" if loc else msg)
        raise WindowSpecError("InvalidSpec", "; ".join(parts)) from None
    try:
        # The child's own parser: the template is whatever a DrsJobPause spec may be.
        parse_spec(parsed.template)
    except SpecError as err:
        raise WindowSpecError("InvalidTemplate", f"spec.template: {err}") from None
    try:
        schedule = Schedule.parse(parsed.schedule, parsed.time_zone)
    except ScheduleError as err:
        raise WindowSpecError(err.reason, err.message) from None
    try:
        exclusions = parse_exclusions(parsed.exclusions, schedule)
    except ExclusionError as err:
        raise WindowSpecError("InvalidExclusion", str(err)) from None
    deadline = parsed.starting_deadline_seconds
    return Window(
        spec=parsed,
        schedule=schedule,
        duration=parse_duration(parsed.duration),
        starting_deadline=None if deadline is None else dt.timedelta(seconds=deadline),
        exclusions=exclusions,
    )
