"""batch-progress (``POST /v3/{project_id}/jobs/batch-progress``): each task's progress and
replication delay, in the shape of the Huawei SDK's ``QueryProgressResp``; and the admin call
that sets a task's delay.

The delay is meaningful only in the incremental phase (``INCRE_TRANSFER_STARTED``, and
``PAUSING`` paused from it); elsewhere it is ``"-1"``, as in the API page's examples, and so are
``apply_rows_rate`` / ``apply_bytes_rate`` before the incremental phase.
"""

from __future__ import annotations

import time
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from . import codes
from .state import (
    DEFAULT_RESUMED,
    MAX_DELAY_RATE,
    MAX_DELAY_SECONDS,
    PAUSED,
    Task,
    TaskStore,
)

#: Every simulated task copies its full data, then replicates increments.
TASK_MODE = "FULL_INCR_TRANS"
NOT_APPLICABLE = -1
#: What a replicating task applies per second (a fixed figure; 0 while paused).
APPLY_ROWS_RATE = 100
APPLY_BYTES_RATE = 10_240
#: States in which the full transfer is done (checked on the state before a pause).
FULL_DONE = frozenset({"FULL_TRANSFER_COMPLETE", "INCRE_TRANSFER_STARTED", "INCRE_TRANSFER_FAILED"})
#: The parts of ``progress_map`` (data, structure and index migration).
PROGRESS_PARTS = ("data", "structure", "index")


def _phase(task: Task) -> str:
    """The state that says how far the transfer is: for a paused task, the one before."""
    if task.status == PAUSED:
        return task.status_before_pause or DEFAULT_RESUMED
    return task.status


def _apply_rate(task: Task, running: int) -> int:
    if not task.incremental:
        return NOT_APPLICABLE
    return 0 if task.status == PAUSED else running


def task_progress(task: Task, now_ms: int) -> dict[str, Any]:
    """One QueryProgressResp for a known (and settled) task."""
    done = _phase(task) in FULL_DONE
    if task.incremental:
        millis = round(task.delay.seconds * 1000)  # whole ms: no float noise in the seconds
        delay, delay_ms = str(millis // 1000), str(millis)
    else:
        delay = delay_ms = str(NOT_APPLICABLE)
    part = {"completed": "100%" if done else "0%", "remaining_time": "0" if done else "-1"}
    return {
        "job_id": task.id,
        "progress": "100" if done else "0",
        "incre_trans_delay": delay,
        "incre_trans_delay_millis": delay_ms,
        "task_mode": TASK_MODE,
        "transfer_status": task.status,
        "process_time": str(now_ms),
        "remaining_time": part["remaining_time"],
        "progress_map": {name: dict(part) for name in PROGRESS_PARTS},
        "apply_rows_rate": _apply_rate(task, APPLY_ROWS_RATE),
        "apply_bytes_rate": _apply_rate(task, APPLY_BYTES_RATE),
    }


def unknown_progress(job_id: str) -> dict[str, Any]:
    """The per-job answer for an id the project does not know."""
    return {
        "job_id": job_id,
        "error_code": codes.NOT_FOUND,
        "error_msg": codes.message(codes.NOT_FOUND),
    }


def batch_progress(store: TaskStore, project_id: str, ids: list[str]) -> list[dict[str, Any]]:
    """The per-job answers of one batch-progress request, in request order."""
    now_ms = int(time.time() * 1000)
    results = []
    for job_id in ids:
        task = store.find(project_id, job_id)
        results.append(unknown_progress(job_id) if task is None else task_progress(task, now_ms))
    return results


class DelayUpdate(BaseModel):
    """``PATCH /admin/tasks/{id}/delay``: the task's delay as of now, and its own rates (null =
    back to the simulator-wide setting). Fields left out stay as they are."""

    model_config = ConfigDict(extra="forbid")

    delay_seconds: float | None = Field(default=None, ge=0, le=MAX_DELAY_SECONDS)
    delay_growth_per_second: float | None = Field(default=None, ge=0, le=MAX_DELAY_RATE)
    delay_catch_up_per_second: float | None = Field(default=None, ge=0, le=MAX_DELAY_RATE)

    @model_validator(mode="after")
    def _check(self) -> DelayUpdate:
        if not self.model_fields_set:
            raise ValueError(
                "give delay_seconds, delay_growth_per_second or delay_catch_up_per_second"
            )
        if "delay_seconds" in self.model_fields_set and self.delay_seconds is None:
            raise ValueError("delay_seconds must be a number of seconds >= 0")
        return self

    def apply(self, store: TaskStore, task: Task) -> None:
        """Apply to ``task`` (found through ``store``, so settled up to now)."""
        rates = {
            name: getattr(self, field)
            for name, field in (
                ("growth", "delay_growth_per_second"),
                ("catch_up", "delay_catch_up_per_second"),
            )
            if field in self.model_fields_set
        }
        store.set_delay(task, self.delay_seconds, rates)
