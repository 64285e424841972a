"""DRS tasks and their state machine.

A pause accepted for a task in a pausable state moves it to PAUSING (the paused state) after
``pause_delay_seconds``; until then it still shows its old state and answers DRS.M01504 (busy).
A resume (batch-retry-task) puts a paused task back into the state it had before the pause after
``resume_delay_seconds`` (until then it still shows PAUSING and is busy).
Transitions are applied lazily on every read, against an injectable monotonic clock.

Each task also has a replication delay (``delay.ReplicationDelay``): it grows while the task is
paused in its incremental phase and shrinks back to a floor once it replicates again; the store
brings it up to date before every change of state and on every read.

Tasks also carry what the tenant task list (``POST /v3/{project_id}/jobs``, page drs_03_0138)
shows and filters on: name, description, db_use_type, engine_type, net_type, tags, create_time.
"""

from __future__ import annotations

import itertools
import re
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from . import codes
from .delay import DelayRates, Motion, ReplicationDelay

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
#: The incremental phase: the only state in which a replication delay means something.
INCREMENTAL = DEFAULT_RESUMED
# batch-retry-task also retries failed transfers.
RETRYABLE = {
    "FULL_TRANSFER_FAILED": "FULL_TRANSFER_STARTED",
    "INCRE_TRANSFER_FAILED": DEFAULT_RESUMED,
}

# Task list (drs_03_0138): the documented values. Engine types: OTC's list plus the Huawei
# Cloud SDK's (QueryJobsReq); states: OTC's list plus PAUSING and Huawei's extra states.
DB_USE_TYPES = ("migration", "sync", "cloudDataGuard")
DbUseType = Literal["migration", "sync", "cloudDataGuard"]
NET_TYPES = ("vpn", "vpc", "eip")
NetType = Literal["vpn", "vpc", "eip"]
ENGINE_TYPES = (
    "mysql",
    "mongodb",
    "cloudDataGuard-mysql",
    "mysql-to-taurus",
    "postgresql",
    "gaussdbv5",
    "mysql-to-kafka",
    "taurus-to-kafka",
    "gaussdbv5ha-to-kafka",
)
TASK_STATES = (
    "CREATING",
    "CREATE_FAILED",
    "CONFIGURATION",
    "STARTJOBING",
    "WAITING_FOR_START",
    "START_JOB_FAILED",
    "PAUSING",
    "FULL_TRANSFER_STARTED",
    "FULL_TRANSFER_FAILED",
    "FULL_TRANSFER_COMPLETE",
    "INCRE_TRANSFER_STARTED",
    "INCRE_TRANSFER_FAILED",
    "RELEASE_RESOURCE_STARTED",
    "RELEASE_RESOURCE_FAILED",
    "RELEASE_RESOURCE_COMPLETE",
    "REBUILD_NODE_STARTED",
    "REBUILD_NODE_FAILED",
    "CHANGE_JOB_STARTED",
    "CHANGE_JOB_FAILED",
    "DELETED",
    "CHILD_TRANSFER_STARTING",
    "CHILD_TRANSFER_STARTED",
    "CHILD_TRANSFER_COMPLETE",
    "CHILD_TRANSFER_FAILED",
    "RELEASE_CHILD_TRANSFER_STARTED",
    "RELEASE_CHILD_TRANSFER_COMPLETE",
    "NODE_UPGRADE_START",
    "NODE_UPGRADE_COMPLETE",
    "NODE_UPGRADE_FAILED",
)
# ResourceTag (drs_03_0104 table 6): key at most 36 characters, value at most 43.
TAG_KEY_MAX, TAG_VALUE_MAX = 36, 43
CREATE_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"  # as in the page's example answer

JOB_ID_PATTERN = r"^[A-Za-z0-9]{8}-[A-Za-z0-9]{4}-[A-Za-z0-9]{4}-[A-Za-z0-9]{4}-[A-Za-z0-9]{12}$"
JOB_ID_RE = re.compile(JOB_ID_PATTERN)
STATE_RE = re.compile(r"^[A-Z][A-Z_]{0,63}$")
# Bounds of a seeded or set replication delay (seconds) and of its rates (seconds per second).
MAX_DELAY_SECONDS = 1e9
MAX_DELAY_RATE = 1e6


class TaskSeed(BaseModel):
    """A task as seeded through ``--jobs`` or ``POST /admin/tasks``."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=128)
    status: str = "INCRE_TRANSFER_STARTED"
    project_id: str | None = Field(default=None, min_length=1, max_length=64)
    pause_outcome: str = "paused"
    """``paused``: PAUSING after the delay; ``stuck``: the pause is accepted but the task never
    changes state; any state name: the task lands in that state instead of PAUSING."""
    resume_outcome: str = "resumed"
    """``resumed``: back to the state before the pause after the delay; ``stuck``: the resume is
    accepted but the task stays paused; any state name: the task lands in that state instead."""
    status_before_pause: str | None = None
    """For a task seeded as PAUSING: the state a resume returns it to (default
    INCRE_TRANSFER_STARTED)."""
    # What the task list shows and filters on; defaults when absent.
    name: str | None = Field(default=None, min_length=1, max_length=64)
    """Default: ``DRS-`` and the first 8 characters of the id."""
    description: str = Field(default="", max_length=256)
    db_use_type: DbUseType = "migration"
    engine_type: str = "mysql"
    net_type: NetType = "eip"
    enterprise_project_id: str = Field(default="0", min_length=1, max_length=64)
    tags: dict[str, str] = Field(default_factory=dict)
    """``{"key": "value"}``, or a list of ``{"key", "value"}`` objects (as the API pages write
    tags)."""
    create_time: str | None = None
    """``YYYY-MM-DD HH:MM:SS`` (UTC) or ISO 8601; default: when it was seeded."""
    # The replication delay (batch-progress), as of seeding.
    delay_seconds: float = Field(default=0.0, ge=0, le=MAX_DELAY_SECONDS)
    delay_growth_per_second: float | None = Field(default=None, ge=0, le=MAX_DELAY_RATE)
    """While paused; None = the setting ``delay_growth_per_second``."""
    delay_catch_up_per_second: float | None = Field(default=None, ge=0, le=MAX_DELAY_RATE)
    """After a resume; None = the setting ``delay_catch_up_per_second``."""

    @field_validator("status", "status_before_pause")
    @classmethod
    def _state_name(cls, value: str | None) -> str | None:
        if value is not None and not STATE_RE.match(value):
            raise ValueError("status must be an upper-case DRS state name, e.g. PAUSING")
        return PAUSED if value == "PAUSEING" else value  # one OTC page's spelling

    @field_validator("pause_outcome")
    @classmethod
    def _outcome(cls, value: str) -> str:
        if value not in {"paused", "stuck"} and not STATE_RE.match(value):
            raise ValueError("pause_outcome must be 'paused', 'stuck' or a DRS state name")
        return value

    @field_validator("resume_outcome")
    @classmethod
    def _resume_outcome(cls, value: str) -> str:
        if value not in {"resumed", "stuck"} and not STATE_RE.match(value):
            raise ValueError("resume_outcome must be 'resumed', 'stuck' or a DRS state name")
        return value

    @field_validator("engine_type")
    @classmethod
    def _engine(cls, value: str) -> str:
        if value not in ENGINE_TYPES:
            raise ValueError(f"engine_type must be one of {', '.join(ENGINE_TYPES)}")
        return value

    @field_validator("tags", mode="before")
    @classmethod
    def _tags(cls, value: Any) -> Any:
        if isinstance(value, list):
            tags: dict[str, str] = {}
            for item in value:
                if not isinstance(item, dict) or not isinstance(item.get("key"), str):
                    raise ValueError('tags must be {"key": "value"} or [{"key", "value"}, ...]')
                tags[item["key"]] = item.get("value") or ""
            value = tags
        if isinstance(value, dict):
            for key, tag_value in value.items():
                if not isinstance(key, str) or not 1 <= len(key) <= TAG_KEY_MAX:
                    raise ValueError(f"a tag key has 1 to {TAG_KEY_MAX} characters")
                if not isinstance(tag_value, str) or len(tag_value) > TAG_VALUE_MAX:
                    raise ValueError(f"a tag value is a string of at most {TAG_VALUE_MAX}")
        return value

    @field_validator("create_time")
    @classmethod
    def _create_time(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parsers: tuple[Callable[[str], datetime], ...] = (
            lambda v: datetime.strptime(v, CREATE_TIME_FORMAT),
            lambda v: datetime.fromisoformat(v.replace("Z", "+00:00")),
        )
        for parse in parsers:
            try:
                moment = parse(value)
            except ValueError:
                continue
            if moment.tzinfo is not None:
                moment = moment.astimezone(UTC).replace(tzinfo=None)
            return moment.strftime(CREATE_TIME_FORMAT)
        raise ValueError("create_time must be 'YYYY-MM-DD HH:MM:SS' or ISO 8601")


@dataclass
class Task:
    id: str
    status: str
    project_id: str | None = None
    pause_outcome: str = "paused"
    resume_outcome: str = "resumed"
    pause_mode: str | None = None
    pause_count: int = 0
    resume_count: int = 0
    status_before_pause: str | None = None
    pending_status: str | None = None
    pending_due: float | None = None
    name: str = ""
    description: str = ""
    db_use_type: str = "migration"
    engine_type: str = "mysql"
    net_type: str = "eip"
    enterprise_project_id: str = "0"
    tags: dict[str, str] = field(default_factory=dict)
    create_time: str = ""
    seq: int = 0  # seeding order: ties of create_time list the later task first
    delay: ReplicationDelay = field(default_factory=ReplicationDelay)

    @property
    def busy(self) -> bool:
        return self.pending_due is not None

    @property
    def incremental(self) -> bool:
        """In the incremental phase, or paused from it: the delay means something."""
        if self.status == PAUSED:
            return (self.status_before_pause or DEFAULT_RESUMED) == INCREMENTAL
        return self.status == INCREMENTAL

    @property
    def delay_motion(self) -> Motion:
        """How the delay moves in the current state."""
        if not self.incremental:
            return "still"
        return "grows" if self.status == PAUSED else "shrinks"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status,
            "project_id": self.project_id,
            "pause_outcome": self.pause_outcome,
            "resume_outcome": self.resume_outcome,
            "pause_mode": self.pause_mode,
            "pause_count": self.pause_count,
            "resume_count": self.resume_count,
            "status_before_pause": self.status_before_pause,
            "pending_status": self.pending_status,
            "name": self.name,
            "description": self.description,
            "db_use_type": self.db_use_type,
            "engine_type": self.engine_type,
            "net_type": self.net_type,
            "enterprise_project_id": self.enterprise_project_id,
            "tags": dict(self.tags),
            "create_time": self.create_time,
            "delay_seconds": round(self.delay.seconds, 3),
            "delay_applies": self.incremental,
            "delay_growth_per_second": self.delay.growth,
            "delay_catch_up_per_second": self.delay.catch_up,
        }

    def job_info(self) -> dict[str, Any]:
        """The task as the tenant task list shows it (JobInfo, drs_03_0138 table 5)."""
        return {
            "id": self.id,
            "name": self.name,
            "status": self.status,
            "description": self.description,
            "create_time": self.create_time,
            "engine_type": self.engine_type,
            "net_type": self.net_type,
            "billing_tag": False,
            "job_direction": "up",
            "db_use_type": self.db_use_type,
            "task_type": "FULL_INCR_TRANS",
            "node_newFramework": True,
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
    rates: DelayRates = field(default_factory=DelayRates)
    _seq: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def seed(self, seeds: Iterable[TaskSeed], *, replace: bool = False) -> list[Task]:
        if replace:
            self.tasks.clear()
        added = []
        now = datetime.now(UTC).strftime(CREATE_TIME_FORMAT)
        for seed in seeds:
            task = Task(
                id=seed.id,
                status=seed.status,
                project_id=seed.project_id,
                pause_outcome=seed.pause_outcome,
                resume_outcome=seed.resume_outcome,
                status_before_pause=seed.status_before_pause,
                name=seed.name or f"DRS-{seed.id[:8]}",
                description=seed.description,
                db_use_type=seed.db_use_type,
                engine_type=seed.engine_type,
                net_type=seed.net_type,
                enterprise_project_id=seed.enterprise_project_id,
                tags=dict(seed.tags),
                create_time=seed.create_time or now,
                seq=next(self._seq),
                delay=ReplicationDelay(
                    seconds=seed.delay_seconds,
                    stamp=self.clock(),
                    growth=seed.delay_growth_per_second,
                    catch_up=seed.delay_catch_up_per_second,
                ),
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
        """Apply a change of state that is due, and bring the delay up to now: up to the
        change under the old state, from there under the new one."""
        now = self.clock()
        if task.pending_due is not None and now >= task.pending_due:
            self._enter(task, task.pending_status or task.status, task.pending_due)
            task.pending_status = None
            task.pending_due = None
        task.delay.advance(now, task.delay_motion, self.rates)

    def _enter(self, task: Task, status: str, at: float) -> None:
        """Move ``task`` to ``status`` at the clock reading ``at``: its delay moves as the old
        state said until then. ``status_before_pause`` lasts as long as the pause (so a paused
        task whose resume is pending is still paused from the same phase)."""
        task.delay.advance(at, task.delay_motion, self.rates)
        task.status = status
        if status != PAUSED:
            task.status_before_pause = None

    def set_rates(self, rates: DelayRates) -> None:
        """New simulator-wide delay rates from now on (the time before keeps the old ones)."""
        self.all()
        self.rates = rates

    def set_delay(
        self, task: Task, seconds: float | None, changes: dict[str, float | None]
    ) -> None:
        """Set a task's delay as of now (None keeps it) and its own rates (``growth``,
        ``catch_up``: a number, or None for the simulator-wide rate); the task is settled."""
        if seconds is not None:
            task.delay.reset(seconds, self.clock())
        for name, value in changes.items():
            setattr(task.delay, name, value)

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
            self._enter(task, target, self.clock())

    @staticmethod
    def resume_refusal(task: Task) -> str | None:
        """The DRS error code refusing a resume (retry) of ``task`` now, or None."""
        if task.busy:
            return codes.BUSY
        if task.status in GONE:
            return codes.DELETED
        if task.status != PAUSED and task.status not in RETRYABLE:
            return codes.WRONG_STATUS
        return None

    def resume(self, task: Task, delay_seconds: float = 0.0) -> None:
        """Resume a paused task, or retry a failed transfer (call resume_refusal first)."""
        task.resume_count += 1
        if task.resume_outcome == "stuck":
            return
        if task.status == PAUSED:
            target = task.status_before_pause or DEFAULT_RESUMED
        else:
            target = RETRYABLE[task.status]
        if task.resume_outcome != "resumed":
            target = task.resume_outcome
        if delay_seconds > 0:
            task.pending_status = target
            task.pending_due = self.clock() + delay_seconds
        else:
            self._enter(task, target, self.clock())


BULK_NAMESPACE = uuid.UUID("5e3c1f0e-8a4b-4c1d-9a57-d2a5d1b0c0de")
BULK_MAX = 100_000


class BulkSeed(BaseModel):
    """Many tasks at once (``POST /admin/tasks/bulk``): ``count`` tasks sharing the given fields.

    Task ``i`` (from ``start``) gets the id ``uuid5(prefix/i)`` (stable, UUID-shaped), the name
    ``{prefix}-{i:05d}``, a ``create_time`` one second after task ``i-1`` (from
    ``create_time``, default now minus ``count`` seconds) and, when ``statuses`` is given, the
    state ``statuses[i % len(statuses)]``.
    """

    model_config = ConfigDict(extra="forbid")

    count: int = Field(ge=1, le=BULK_MAX)
    prefix: str = Field(default="bulk", min_length=1, max_length=40)
    start: int = Field(default=0, ge=0)
    replace: bool = False
    statuses: list[str] | None = Field(default=None, min_length=1)
    create_time: str | None = None
    fields: dict[str, Any] = Field(default_factory=dict)
    """Any other TaskSeed fields, shared by all (status, project_id, db_use_type, tags, ...)."""

    def ids(self) -> list[str]:
        return [
            str(uuid.uuid5(BULK_NAMESPACE, f"{self.prefix}/{i}"))
            for i in range(self.start, self.start + self.count)
        ]

    def seeds(self) -> list[TaskSeed]:
        """The TaskSeeds (raises pydantic.ValidationError for bad fields)."""
        base = TaskSeed.model_validate({"id": "x", **self.fields})
        if self.create_time is not None:
            first = datetime.strptime(
                TaskSeed.model_validate({"id": "x", "create_time": self.create_time}).create_time
                or "",
                CREATE_TIME_FORMAT,
            )
        else:
            first = datetime.now(UTC).replace(tzinfo=None, microsecond=0) - timedelta(
                seconds=self.count
            )
        statuses = [
            TaskSeed.model_validate({"id": "x", "status": s}).status for s in self.statuses or []
        ]
        seeds = []
        for offset, (i, task_id) in enumerate(
            zip(range(self.start, self.start + self.count), self.ids(), strict=True)
        ):
            seed = base.model_copy(
                update={
                    "id": task_id,
                    "name": f"{self.prefix}-{i:05d}",
                    "create_time": (first + timedelta(seconds=offset)).strftime(
                        CREATE_TIME_FORMAT
                    ),
                }
            )
            if statuses:
                seed.status = statuses[i % len(statuses)]
            seeds.append(seed)
        return seeds
