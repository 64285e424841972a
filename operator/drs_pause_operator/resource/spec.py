"""The DrsJobPause custom resource as the operator reads it.

The CRD schema already rejects bad input at admission; the operator parses the spec again so that
an object stored under an older or hand-edited CRD fails with a readable message, not a crash.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from drs_pause_operator.resource.selector import Selector

GROUP = "drs.cloudops.dev"
VERSION = "v1alpha1"
PLURAL = "drsjobpauses"
KIND = "DrsJobPause"
RETRY_ANNOTATION = f"{GROUP}/retry-failed"

JOB_ID_RE = re.compile(
    r"[A-Za-z0-9]{8}-[A-Za-z0-9]{4}-[A-Za-z0-9]{4}-[A-Za-z0-9]{4}-[A-Za-z0-9]{12}"
)
PauseMode = Literal["target", "all"]


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
