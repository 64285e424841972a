"""The simulated service, independent of aiohttp: tasks, auth, faults, rate limit, call log."""

from __future__ import annotations

import builtins
import hashlib
import itertools
import math
import random
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from . import codes
from .auth import Authenticator, User
from .config import SimulatorConfig
from .faults import FaultSet
from .progress import batch_progress
from .state import PAUSED, Task, TaskSeed, TaskStore
from .validation import ApiError, ListQuery, StatusQuery

CALL_LOG_SIZE = 10_000


@dataclass
class TokenBucket:
    """``rate`` tokens per second, bursts up to ``max(1, rate)``."""

    rate: float
    clock: Callable[[], float] = time.monotonic
    tokens: float = field(init=False)
    stamp: float = field(init=False)

    def __post_init__(self) -> None:
        self.tokens = self.capacity
        self.stamp = self.clock()

    @property
    def capacity(self) -> float:
        return max(1.0, self.rate)

    def take(self) -> float:
        """Take a token: 0 when allowed, else the seconds until one is available."""
        now = self.clock()
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate


@dataclass
class CallLog:
    entries: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=CALL_LOG_SIZE))
    _seq: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def record(self, entry: dict[str, Any]) -> dict[str, Any]:
        entry = {"seq": next(self._seq), **entry}
        self.entries.append(entry)
        return entry

    def list(
        self, endpoint: str | None = None, since: int = 0, job_id: str | None = None
    ) -> list[dict[str, Any]]:
        """Entries after ``since``, of ``endpoint``, of requests that carried ``job_id``."""
        return [
            e
            for e in self.entries
            if e["seq"] > since
            and (endpoint is None or e["endpoint"] == endpoint)
            and (job_id is None or job_id in e["job_ids"])
        ]

    def clear(self) -> None:
        self.entries.clear()

    # Requests being answered right now (received, not yet logged): a test can act while a
    # request is in flight, e.g. kill its sender.
    _open: dict[int, dict[str, Any]] = field(default_factory=dict)

    def begin(self, call: dict[str, Any]) -> None:
        self._open[id(call)] = call

    def end(self, call: dict[str, Any]) -> None:
        self._open.pop(id(call), None)

    def in_flight(
        self, endpoint: str | None = None, job_id: str | None = None
    ) -> builtins.list[dict[str, Any]]:
        """Requests received and not answered yet, as ``{"endpoint", "job_ids", "received"}``
        (the endpoint and job ids are known once the body is read)."""
        return [
            {k: c.get(k) for k in ("endpoint", "job_ids", "received")}
            for c in list(self._open.values())
            if (endpoint is None or c["endpoint"] == endpoint)
            and (job_id is None or job_id in (c.get("job_ids") or []))
        ]


def project_id_for_name(domain: str, name: str) -> str:
    """A stable 32-hex project id for a project name without a configured mapping."""
    return hashlib.md5(f"{domain}/{name}".encode(), usedforsecurity=False).hexdigest()


class Simulator:
    """Everything the HTTP layer needs; tests may reach into it directly."""

    def __init__(
        self,
        config: SimulatorConfig | None = None,
        *,
        tasks: Iterable[TaskSeed] = (),
        tokens: Iterable[str] = (),
        access_keys: dict[str, str] | None = None,
        users: Iterable[User] = (),
        admin: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.initial_config = config or SimulatorConfig()
        self.initial_tasks = list(tasks)
        self.admin_enabled = admin
        self.auth = Authenticator(
            tokens=set(tokens), access_keys=dict(access_keys or {}), users=list(users)
        )
        self.store = TaskStore(clock=clock)
        self.calls = CallLog()
        self.reset()

    def reset(self) -> None:
        """Back to the start: initial config and tasks; no faults, calls or issued tokens."""
        self.config = self.initial_config.model_copy(deep=True)
        self.rng = random.Random(self.config.seed)
        self.faults = FaultSet(self.rng)
        self.store.rates = self.config.delay_rates()
        self.store.seed(self.initial_tasks, replace=True)
        self.calls.clear()
        self.auth.issued.clear()
        self.throttled = 0
        self._bucket: TokenBucket | None = None

    def configure(self, changes: dict[str, Any]) -> SimulatorConfig:
        new = self.config.patched(changes)
        if "seed" in changes:
            self.rng.seed(new.seed)
        if new.rate_limit_per_second != self.config.rate_limit_per_second:
            self._bucket = None
        if new.delay_rates() != self.config.delay_rates():
            self.store.set_rates(new.delay_rates())
        self.config = new
        return new

    # --- rate limit ---------------------------------------------------------------------------

    def throttle(self) -> None:
        """Raise a 429 ApiError when the DRS rate limit is exceeded."""
        rate = self.config.rate_limit_per_second
        if rate is None:
            return
        if self._bucket is None:
            self._bucket = TokenBucket(rate)
        wait = self._bucket.take()
        if wait > 0:
            self.throttled += 1
            raise ApiError(
                429,
                codes.GW_THROTTLED,
                codes.message(codes.GW_THROTTLED) % f"{rate:g}/s",
                headers={"Retry-After": str(max(1, math.ceil(wait)))},
            )

    # --- DRS operations -----------------------------------------------------------------------

    def _unknown(self, project_id: str, ids: Iterable[str]) -> list[str]:
        return [job_id for job_id in ids if self.store.find(project_id, job_id) is None]

    def _reject_unknown(self, project_id: str, ids: list[str]) -> set[str]:
        """Unknown ids: the whole request fails (HTTP 400 DRS.M00289) in "request" mode;
        in "per-job" mode they are returned for a per-job DRS.M05003."""
        unknown = self._unknown(project_id, ids)
        if unknown and self.config.not_found_mode(project_id) == "request":
            results = [_failed(job_id, codes.JOB_NON_EXIST) for job_id in unknown]
            body: dict[str, Any] = {"results": results}
            if self.config.not_found_body == "full":
                body = {**codes.error_body(codes.JOB_NON_EXIST), **body, "count": len(results)}
            raise ApiError(400, codes.JOB_NON_EXIST, body=body)
        return set(unknown)

    def pause(
        self, project_id: str, jobs: list[tuple[str, str]], job_error: Callable[[str], Any]
    ) -> list[dict[str, Any]]:
        """Pause ``jobs`` ((id, mode) pairs); return the per-job results.

        ``job_error(job_id)`` returns an injected FaultRule for that job, or None.
        """
        modes = dict(jobs)
        return self._per_job(
            project_id, [job_id for job_id, _ in jobs], job_error, self.store.pause_refusal,
            lambda task: self.store.pause(task, modes[task.id], self.config.pause_delay_seconds),
        )

    def resume(
        self, project_id: str, ids: list[str], job_error: Callable[[str], Any]
    ) -> list[dict[str, Any]]:
        """Resume paused tasks (or retry failed transfers); return the per-job results."""
        return self._per_job(
            project_id, ids, job_error, self.store.resume_refusal,
            lambda task: self.store.resume(task, self.config.resume_delay_seconds),
        )

    def _per_job(
        self,
        project_id: str,
        ids: list[str],
        job_error: Callable[[str], Any],
        refusal: Callable[[Any], str | None],
        act: Callable[[Any], Any],
    ) -> list[dict[str, Any]]:
        """The shared shape of pause and resume: unknown ids reject the whole request, then each
        job gets an injected error, the state machine's refusal, or the action and success."""
        unknown = self._reject_unknown(project_id, ids)
        results = []
        for job_id in ids:
            if job_id in unknown:
                results.append(_failed(job_id, codes.NOT_FOUND))
                continue
            injected = job_error(job_id)
            if injected is not None:
                results.append(injected.job_error_body(job_id))
                continue
            task = self.store.find(project_id, job_id)
            assert task is not None
            refused = refusal(task)
            if refused is not None:
                results.append(_failed(job_id, refused))
                continue
            act(task)
            results.append({"id": job_id, "status": "success"})
        return results

    def status(self, project_id: str, query: StatusQuery) -> tuple[list[dict[str, Any]], int]:
        """One page of statuses, and the total count."""
        if query.per_page == 0:
            page = query.ids
        else:
            start = (query.cur_page - 1) * query.per_page
            page = query.ids[start : start + query.per_page]
        results = []
        for job_id in page:
            task = self.store.find(project_id, job_id)
            if task is None:
                results.append(
                    {
                        "id": job_id,
                        "status": "",
                        "error_code": codes.NOT_FOUND,
                        "error_message": codes.message(codes.NOT_FOUND),
                    }
                )
                continue
            shown = task.status
            if shown == "PAUSING":
                shown = self.config.paused_spelling
            results.append({"id": job_id, "status": shown})
        return results, len(query.ids)

    def progress(self, project_id: str, ids: list[str]) -> list[dict[str, Any]]:
        """batch-progress: one QueryProgressResp per id, unknown ids with their error."""
        return batch_progress(self.store, project_id, ids)

    def list_jobs(self, project_id: str, query: ListQuery) -> tuple[list[dict[str, Any]], int]:
        """One page of the tenant's tasks (newest first), and how many match in all."""
        matching = [
            task
            for task in self.store.all()
            if task.project_id in (None, project_id) and _matches(task, query)
        ]
        matching.sort(key=lambda t: (t.create_time, t.seq), reverse=True)
        if query.everything:
            page = matching
        else:
            start = (query.cur_page - 1) * query.per_page
            page = matching[start : start + query.per_page]
        return [task.job_info() for task in page], len(matching)

    def shuffled(self, results: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if self.config.shuffle_results:
            results = list(results)
            self.rng.shuffle(results)
        return results

    # --- IAM ----------------------------------------------------------------------------------

    def resolve_project(self, domain: str, scope: dict[str, Any]) -> tuple[str, str]:
        """(id, name) of a project scope given by id or by name."""
        if isinstance(scope.get("id"), str) and scope["id"]:
            by_id = {v: k for k, v in self.config.projects.items()}
            return scope["id"], by_id.get(scope["id"], "eu-de")
        name = scope["name"]
        return self.config.projects.get(name) or project_id_for_name(domain, name), name


def _matches(task: Task, query: ListQuery) -> bool:
    if task.db_use_type != query.db_use_type:
        return False
    if query.engine_type is not None and task.engine_type != query.engine_type:
        return False
    if query.net_type is not None and task.net_type != query.net_type:
        return False
    if (
        query.enterprise_project_id is not None
        and task.enterprise_project_id != query.enterprise_project_id
    ):
        return False
    if query.status is not None:
        wanted = PAUSED if query.status == "PAUSEING" else query.status
        if task.status != wanted:
            return False
    if query.name is not None and not _name_matches(task, query.name):
        return False
    for key, value in query.tags:
        if key is not None and key not in task.tags:
            return False
        if value is not None and (
            task.tags.get(key) != value if key is not None else value not in task.tags.values()
        ):
            return False
    return True


def _name_matches(task: Task, name: str) -> bool:
    """"Name or ID": a part of the task name (any case), or the task id; several ids may be
    given separated by commas (Huawei Cloud SDK)."""
    if "," in name:
        return task.id in {part.strip() for part in name.split(",")}
    return name == task.id or name.lower() in task.name.lower()


def _failed(job_id: str, code: str) -> dict[str, Any]:
    return {"id": job_id, "status": "failed", "error_code": code, "error_msg": codes.message(code)}


def iso_millis(moment: datetime) -> str:
    """IAM's timestamp format, e.g. ``2024-01-01T00:00:00.000000Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
