"""Runtime settings of the simulator; all of them can be changed through ``PATCH /admin/config``."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from .delay import DelayRates

NotFoundMode = Literal["request", "per-job"]
NotFoundBody = Literal["full", "results-only"]
PausedSpelling = Literal["PAUSING", "PAUSEING"]


class SimulatorConfig(BaseModel):
    """Behaviour switches. Defaults model the real service as the Terraform providers see it."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    latency_ms: int = Field(default=0, ge=0, le=600_000)
    """Base latency added before every DRS and IAM answer."""

    pause_delay_seconds: float = Field(default=0.0, ge=0, le=86_400)
    """Time between an accepted pause and the task showing PAUSING (busy meanwhile)."""

    resume_delay_seconds: float = Field(default=0.0, ge=0, le=86_400)
    """Time between an accepted resume (batch-retry-task) and the task leaving PAUSING (busy
    meanwhile)."""

    delay_growth_per_second: float = Field(default=1.0, ge=0, le=1e6)
    """How fast a paused task's replication delay grows (seconds per second): the source keeps
    writing while the target stands still."""

    delay_catch_up_per_second: float = Field(default=10.0, ge=0, le=1e6)
    """How fast the delay shrinks once the task replicates again (seconds per second)."""

    delay_floor_seconds: float = Field(default=0.0, ge=0, le=1e9)
    """The delay a replicating task shrinks to (and stays at)."""

    rate_limit_per_second: float | None = Field(default=None, gt=0)
    """Token bucket over all DRS calls (not IAM, not admin); None = unlimited."""

    not_found: NotFoundMode = "request"
    """Unknown job ids in a pause/resume: reject the whole request with HTTP 400 DRS.M00289
    ("request", what the real service does) or answer a per-job DRS.M05003 ("per-job")."""

    not_found_by_project: dict[str, NotFoundMode] = Field(default_factory=dict)
    """Per-project override of ``not_found``."""

    not_found_body: NotFoundBody = "full"
    """The body of the whole-request 400 DRS.M00289: ``full`` = top-level error_code/error_msg
    plus ``results[]`` and ``count``; ``results-only`` = only ``results[]`` (per-job codes, no
    top-level error_code)."""

    retry_requires_sync_re_edit: bool = False
    """batch-retry-task: refuse a job without ``is_sync_re_edit`` (DRS.M00201). The page's table
    says optional (and its example omits it) while its text says it is mandatory for a resume."""

    list_page_required: bool = True
    """Task list: ``cur_page`` and ``per_page`` are mandatory (page drs_03_0138, DRS.M00201 when
    missing); False applies the documented defaults (1 and 10) instead."""

    shuffle_results: bool = False
    """Return per-job results in random order (clients must not rely on order)."""

    paused_spelling: PausedSpelling = "PAUSING"
    """How batch-status spells the paused state (one OTC page says PAUSEING)."""

    token_ttl_seconds: float = Field(default=86_400.0, gt=0)
    """Lifetime of tokens issued by POST /v3/auth/tokens."""

    max_body_bytes: int = Field(default=1 << 20, ge=1024)
    """Larger request bodies are refused with HTTP 413."""

    max_jobs: int = Field(default=1000, ge=1)
    """Sanity cap on jobs per request (none is documented); above it DRS.M00202."""

    max_clock_skew_seconds: float | None = Field(default=900.0, ge=0)
    """AK/SK requests whose X-Sdk-Date is further off are refused (the gateway allows 15 min);
    None = no check."""

    seed: int | None = None
    """Seed of the random generator behind fault probabilities and shuffling."""

    projects: dict[str, str] = Field(default_factory=dict)
    """IAM project name -> id, for logins scoped by project name (else an id is derived)."""

    def delay_rates(self) -> DelayRates:
        return DelayRates(
            growth=self.delay_growth_per_second,
            catch_up=self.delay_catch_up_per_second,
            floor=self.delay_floor_seconds,
        )

    def not_found_mode(self, project_id: str) -> NotFoundMode:
        return self.not_found_by_project.get(project_id, self.not_found)

    def patched(self, changes: dict[str, Any]) -> SimulatorConfig:
        """A validated copy with ``changes`` applied (raises pydantic.ValidationError)."""
        return SimulatorConfig.model_validate({**self.model_dump(), **changes})
