"""The DrsJobPause custom resource as the operator reads it.

The CRD schema already rejects bad input at admission; the operator parses the spec again so that
an object stored under an older or hand-edited CRD fails with a readable message, not a crash.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from drs_pause_operator.resource.selector import Selector

GROUP = "drs.cloudops.dev"
VERSION = "v1alpha1"
PLURAL = "drsjobpauses"
KIND = "DrsJobPause"
RETRY_ANNOTATION = f"{GROUP}/retry-failed"
RESUME_NOW_ANNOTATION = f"{GROUP}/resume-now"
SKIP_RESUME_ANNOTATION = f"{GROUP}/skip-resume"
#: The operator's only finalizer, present only while spec.resume.onDelete asks for it.
RESUME_FINALIZER = f"{GROUP}/resume"

JOB_ID_RE = re.compile(
    r"[A-Za-z0-9]{8}-[A-Za-z0-9]{4}-[A-Za-z0-9]{4}-[A-Za-z0-9]{4}-[A-Za-z0-9]{12}"
)
PauseMode = Literal["target", "all"]
# spec.resume.after: whole numbers with h, m, s units, each at most once, in that order.
DURATION_PATTERN = r"^([0-9]{1,6}h)?([0-9]{1,6}m)?([0-9]{1,7}s)?$"


class SpecError(ValueError):
    """The object's spec cannot be used; the message is written to its status."""


class JobSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    job_id: str = Field(alias="jobId")
    pause_mode: PauseMode = Field(alias="pauseMode")

    @field_validator("job_id")
    @classmethod
    def _uuid_shape(cls, value: str) -> str:
        if not JOB_ID_RE.fullmatch(value):
            raise ValueError("must be UUID-shaped (8-4-4-4-12 letters and digits)")
        return value


class SecretRef(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1)


def _duration(text: str) -> str:
    """A duration field's value, checked (``30s``, ``5m``, ``2h``, ``1h30m``)."""
    if not re.fullmatch(DURATION_PATTERN, text) or not text:
        raise ValueError(f"{text!r} is not a duration such as 90s, 5m, 2h or 1h30m")
    return text


class _DelayLimit(BaseModel):
    """A replication delay limit (``maxDelay``) and how long to wait for it."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    max_delay: str = Field(alias="maxDelay")

    @field_validator("max_delay", "wait_up_to", "timeout", check_fields=False)
    @classmethod
    def _durations(cls, value: str) -> str:
        return _duration(value)

    @property
    def max_delay_seconds(self) -> int:
        return int(parse_duration(self.max_delay).total_seconds())


class DelayGate(_DelayLimit):
    """spec.delayGate: pause a task only once its replication delay is small
    (``resource/delay.py``)."""

    wait_up_to: str = Field("0s", alias="waitUpTo")
    on_timeout: Literal["Pause", "Skip"] = Field("Pause", alias="onTimeout")

    @property
    def wait(self) -> dt.timedelta:
        return parse_duration(self.wait_up_to)


class CatchUp(_DelayLimit):
    """spec.resume.catchUp: a resume is done only once the task has caught up again."""

    timeout: str = "1h"

    @property
    def limit(self) -> dt.timedelta:
        return parse_duration(self.timeout)


class ResumeSpec(BaseModel):
    """spec.resume: when the jobs this object paused are resumed (see resource/resuming.py)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    after: str | None = Field(None, min_length=2, pattern=DURATION_PATTERN)
    at: dt.datetime | None = None
    on_delete: bool = Field(False, alias="onDelete")
    catch_up: CatchUp | None = Field(None, alias="catchUp")

    @field_validator("at")
    @classmethod
    def _aware(cls, value: dt.datetime | None) -> dt.datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("must be an RFC 3339 time with a zone, e.g. 2026-12-01T06:00:00Z")
        return value

    @model_validator(mode="after")
    def _one_of(self) -> ResumeSpec:
        if self.after is not None and self.at is not None:
            raise ValueError("set at most one of after and at")
        return self

    @property
    def after_delta(self) -> dt.timedelta | None:
        return parse_duration(self.after) if self.after is not None else None


def parse_duration(text: str) -> dt.timedelta:
    """``90s``, ``15m``, ``2h``, ``1h30m``: whole numbers with s, m or h units."""
    if not re.fullmatch(DURATION_PATTERN, text):
        raise ValueError(f"not a duration: {text!r}")
    unit = {"h": 3600, "m": 60, "s": 1}
    return dt.timedelta(
        seconds=sum(int(n) * unit[u] for n, u in re.findall(r"([0-9]+)([hms])", text))
    )


class DrsJobPauseSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    project_id: str = Field(alias="projectId", min_length=1, pattern=r"^[^/\s]+$")
    # As in the CRD: the region fills the endpoint templates, so it must stay a DNS label
    # (a stale CRD must not let "x@evil.example/" send the default credentials elsewhere).
    region: str | None = Field(None, max_length=63, pattern=r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")
    endpoint: str | None = None
    credentials_secret_ref: SecretRef | None = Field(None, alias="credentialsSecretRef")
    language: Literal["en-us", "zh-cn"] = "en-us"
    # Exactly one of jobs and selector (a selector is resolved into jobs: engine/selection.py).
    jobs: list[JobSpec] = Field(default_factory=list, min_length=1, max_length=500)
    selector: Selector | None = Field(None, validate_default=True)
    resume: ResumeSpec | None = None
    delay_gate: DelayGate | None = Field(None, alias="delayGate")
    # Look, decide, report; send no pause and no resume (resource/plans.py).
    dry_run: bool = Field(False, alias="dryRun")

    @field_validator("jobs")
    @classmethod
    def _unique(cls, jobs: list[JobSpec]) -> list[JobSpec]:
        seen: set[str] = set()
        for job in jobs:
            if job.job_id in seen:
                raise ValueError(f"duplicate jobId {job.job_id}")
            seen.add(job.job_id)
        return jobs

    @field_validator("selector")
    @classmethod
    def _jobs_or_selector(cls, selector: Selector | None, info: Any) -> Selector | None:
        if "jobs" in info.data and bool(info.data["jobs"]) == (selector is not None):
            if selector is None:
                raise ValueError("spec.jobs (1 to 500 items) or spec.selector is required")
            raise ValueError("set exactly one of spec.jobs and spec.selector, not both")
        return selector


def parse_spec(spec: dict[str, Any]) -> DrsJobPauseSpec:
    try:
        return DrsJobPauseSpec.model_validate(spec)
    except ValidationError as err:
        parts = []
        for e in err.errors()[:5]:
            loc = ".".join(str(p) for p in e["loc"])
            parts.append(f"spec.{loc}: {e['msg']}" if loc else e["msg"])
        raise SpecError("; ".join(parts)) from None
