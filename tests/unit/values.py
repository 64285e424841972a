"""Plain values for tests of the pure reconcile steps: job ids, a fixed clock, job entries,
and stand-ins for DRS answers with the shapes of ``PauseOutcome`` and ``JobStatus``."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from drs_pause_operator.resource.spec import DrsJobPauseSpec, parse_spec
from drs_pause_operator.resource.job import Job, Leg
from drs_pause_operator.resource.verbs import PENDING

NOW = dt.datetime(2026, 11, 28, 10, 0, 0, tzinfo=dt.UTC)

J1 = "8d0e8e36-a618-490d-8a46-8c61ac9jb502"
J2 = "11111111-2222-3333-4444-555555555555"
J3 = "abcdefgh-ijkl-mnop-qrst-uvwxyz012345"
J4 = "ZZZZZZZZ-0000-aaaa-9999-bbbbbbbbbbbb"


def at(seconds: float) -> dt.datetime:
    return NOW + dt.timedelta(seconds=seconds)


@dataclass(frozen=True)
class Pause:
    """A PauseAnswer (the shape of drs.client.PauseOutcome)."""

    job_id: str
    api_status: str | None = "success"
    error_code: str | None = None
    error_message: str | None = None
    request_id: str | None = "req-pause"
    transient: bool = False
    retry_after: float | None = None
    attempts: int = 1

    @property
    def succeeded(self) -> bool:
        return (self.api_status or "").strip().lower() == "success"


@dataclass(frozen=True)
class Task:
    """A TaskAnswer (the shape of drs.models.JobStatus)."""

    id: str
    status: str | None = "PAUSING"
    error_code: str | None = None
    error_message: str | None = None


def spec_of(*jobs: str | tuple[str, str], **extra: Any) -> DrsJobPauseSpec:
    items = [
        {"jobId": j, "pauseMode": "target"}
        if isinstance(j, str)
        else {"jobId": j[0], "pauseMode": j[1]}
        for j in jobs
    ]
    return parse_spec({"projectId": "054ba152d480d55b2f5dc0069e7ddef0", "jobs": items, **extra})


def job(job_id: str = J1, **changes: Any) -> Job:
    """A job entry; ``changes`` are its pause leg's fields, plus ``pause_mode``,
    ``task_status`` and ``resume`` (a Leg)."""
    mode = changes.pop("pause_mode", "target")
    task = changes.pop("task_status", "")
    resume = changes.pop("resume", Leg())
    return Job(job_id, mode, task, Leg(phase=PENDING).update(**changes), resume)
