"""DRS tasks and their state machine.

A pause accepted for a task in a pausable state moves it to PAUSING (the paused state) after
``pause_delay_seconds``; until then it still shows its old state and answers DRS.M01504 (busy).
A resume (batch-retry-task) puts a paused task back into the state it had before the pause.
Transitions are applied lazily on every read, against an injectable monotonic clock.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from . import codes

PAUSED = "PAUSING"
PAUSABLE = frozenset(
    {
        "FULL_TRANSFER_STARTED",
        "FULL_TRANSFER_FAILED",
        "FULL_TRANSFER_COMPLETE",
        "INCRE_TRANSFER_STARTED",
        "INCRE_TRANSFER_FAILED",
    }
)
GONE = frozenset({"DELETED", "RELEASE_RESOURCE_COMPLETE"})
DEFAULT_RESUMED = "INCRE_TRANSFER_STARTED"
# batch-retry-task also retries failed transfers.
RETRYABLE = {
    "FULL_TRANSFER_FAILED": "FULL_TRANSFER_STARTED",
    "INCRE_TRANSFER_FAILED": DEFAULT_RESUMED,
}

JOB_ID_PATTERN = r"^[A-Za-z0-9]{8}-[A-Za-z0-9]{4}-[A-Za-z0-9]{4}-[A-Za-z0-9]{4}-[A-Za-z0-9]{12}$"
JOB_ID_RE = re.compile(JOB_ID_PATTERN)
STATE_RE = re.compile(r"^[A-Z][A-Z_]{0,63}$")


class TaskSeed(BaseModel):
    """A task as seeded through ``--jobs`` or ``POST /admin/tasks``."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=128)
    status: str = "INCRE_TRANSFER_STARTED"
    project_id: str | None = Field(default=None, min_length=1, max_length=64)
    pause_outcome: str = "paused"
    """``paused``: PAUSING after the delay; ``stuck``: the pause is accepted but the task never
    changes state; any state name: the task lands in that state instead of PAUSING."""

    @field_validator("status")
    @classmethod
    def _state_name(cls, value: str) -> str:
        if not STATE_RE.match(value):
            raise ValueError("status must be an upper-case DRS state name, e.g. PAUSING")
        return value

    @field_validator("pause_outcome")
    @classmethod
    def _outcome(cls, value: str) -> str:
        if value not in {"paused", "stuck"} and not STATE_RE.match(value):
            raise ValueError("pause_outcome must be 'paused', 'stuck' or a DRS state name")
        return value


@dataclass
class Task:
    id: str
    status: str
    project_id: str | None = None
    pause_outcome: str = "paused"
    pause_mode: str | None = None
    pause_count: int = 0
    resume_count: int = 0
    status_before_pause: str | None = None
    pending_status: str | None = None
    pending_due: float | None = None

    @property
    def busy(self) -> bool:
        return self.pending_due is not None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status,
            "project_id": self.project_id,
            "pause_outcome": self.pause_outcome,
            "pause_mode": self.pause_mode,
            "pause_count": self.pause_count,
            "resume_count": self.resume_count,
            "status_before_pause": self.status_before_pause,
            "pending_status": self.pending_status,
        }


@dataclass(frozen=True)
class JobOutcome:
    """One job's answer: success, or failed with a DRS code."""

    id: str
    error_code: str | None = None

    @property
    def ok(self) -> bool:
        return self.error_code is None


@dataclass
class TaskStore:
    """All tasks by id. A task without project_id is visible from every project."""

    clock: Callable[[], float] = time.monotonic
    tasks: dict[str, Task] = field(default_factory=dict)

    def seed(self, seeds: Iterable[TaskSeed], *, replace: bool = False) -> list[Task]:
        if replace:
            self.tasks.clear()
        added = []
        for seed in seeds:
            task = Task(
                id=seed.id,
                status=seed.status,
                project_id=seed.project_id,
                pause_outcome=seed.pause_outcome,
            )
            self.tasks[task.id] = task
            added.append(task)
        return added

    def clear(self) -> None:
        self.tasks.clear()

    def get(self, task_id: str) -> Task | None:
        """The task, whatever its project (for assertions and the admin API)."""
        task = self.tasks.get(task_id)
        if task is not None:
            self._settle(task)
        return task

    def find(self, project_id: str, task_id: str) -> Task | None:
        """The task as seen from ``project_id`` (None when unknown there)."""
        task = self.get(task_id)
        if task is None or (task.project_id is not None and task.project_id != project_id):
            return None
        return task

    def all(self) -> list[Task]:
        for task in self.tasks.values():
            self._settle(task)
        return list(self.tasks.values())

    def _settle(self, task: Task) -> None:
        if task.pending_due is not None and self.clock() >= task.pending_due:
            task.status = task.pending_status or task.status
            task.pending_status = None
            task.pending_due = None

    # The operations below expect a task already found (and settled) through find().

    @staticmethod
    def pause_refusal(task: Task) -> str | None:
        """The DRS error code refusing a pause of ``task`` now, or None when it is pausable."""
        if task.busy:
            return codes.BUSY
        if task.status in GONE:
            return codes.DELETED
        if task.status not in PAUSABLE:
            return codes.WRONG_STATUS
        return None

    def pause(self, task: Task, pause_mode: str, delay_seconds: float) -> None:
        """Apply an accepted pause (call pause_refusal first)."""
        task.pause_mode = pause_mode
        task.pause_count += 1
        if task.pause_outcome == "stuck":
            return
        target = PAUSED if task.pause_outcome == "paused" else task.pause_outcome
        if target == PAUSED:
            task.status_before_pause = task.status
        if delay_seconds > 0:
            task.pending_status = target
            task.pending_due = self.clock() + delay_seconds
        else:
            task.status = target

    @staticmethod
    def resume_refusal(task: Task) -> str | None:
        if task.busy:
            return codes.BUSY
        if task.status in GONE:
            return codes.DELETED
        if task.status != PAUSED and task.status not in RETRYABLE:
            return codes.WRONG_STATUS
        return None

    @staticmethod
    def resume(task: Task) -> None:
        """Resume a paused task, or retry a failed transfer (call resume_refusal first)."""
        if task.status == PAUSED:
            task.status = task.status_before_pause or DEFAULT_RESUMED
            task.status_before_pause = None
        else:
            task.status = RETRYABLE[task.status]
        task.resume_count += 1
