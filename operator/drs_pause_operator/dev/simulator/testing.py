"""Run the simulator from tests: in-process (async) or as a subprocess (sync).

In-process::

    async with running_simulator(tasks=[{"id": JOB, "status": "INCRE_TRANSFER_STARTED"}],
                                 tokens=["t0k3n"]) as sim:
        ...  # talk to sim.url; assert on sim.state.get(JOB).status, sim.calls()

Subprocess (a separate process, e.g. for end-to-end tests)::

    with SimulatorProcess(["--token", "t0k3n"]) as proc:
        proc.seed([...]); proc.add_fault(kind="drop", endpoint="pause")
"""

from __future__ import annotations

import contextlib
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from aiohttp import web

from ..child_process import die_with_parent
from .app import create_app
from .auth import User
from .config import SimulatorConfig
from .core import Simulator
from .faults import FaultRule
from .progress import DelayUpdate
from .state import BulkSeed, Task, TaskSeed, TaskStore

TaskLike = TaskSeed | Mapping[str, Any]
LISTENING_RE = re.compile(r"DRS simulator listening on (https?://\S+)")


def _seeds(tasks: Iterable[TaskLike]) -> list[TaskSeed]:
    return [t if isinstance(t, TaskSeed) else TaskSeed.model_validate(dict(t)) for t in tasks]


@dataclass
class RunningSimulator:
    """An in-process simulator on 127.0.0.1."""

    url: str
    core: Simulator

    @property
    def state(self) -> TaskStore:
        """The task store: ``sim.state.get(job_id).status`` and friends."""
        return self.core.store

    def task(self, job_id: str) -> Task:
        task = self.core.store.get(job_id)
        if task is None:
            raise KeyError(job_id)
        return task

    def seed(self, tasks: Iterable[TaskLike], *, replace: bool = False) -> list[Task]:
        return self.core.store.seed(_seeds(tasks), replace=replace)

    def seed_many(self, count: int, **spec: Any) -> list[str]:
        """Seed ``count`` tasks at once (BulkSeed: prefix, start, statuses, create_time,
        replace, fields={...}); returns their ids."""
        bulk = BulkSeed.model_validate({"count": count, **spec})
        return [t.id for t in self.core.store.seed(bulk.seeds(), replace=bulk.replace)]

    def set_delay(self, job_id: str, **fields: Any) -> Task:
        """Set a task's replication delay and rates as of now (fields of DelayUpdate:
        ``delay_seconds``, ``delay_growth_per_second``, ``delay_catch_up_per_second``)."""
        update = DelayUpdate.model_validate(fields)
        task = self.task(job_id)
        update.apply(self.core.store, task)
        return task

    def add_fault(self, **rule: Any) -> dict[str, Any]:
        """Add a fault rule (fields of FaultRule, e.g. ``kind="http_error", status=503``)."""
        return self.core.faults.add(FaultRule.model_validate(rule)).to_dict()

    def clear_faults(self) -> None:
        self.core.faults.clear()

    def configure(self, **changes: Any) -> SimulatorConfig:
        return self.core.configure(changes)

    def calls(self, endpoint: str | None = None, job_id: str | None = None) -> list[dict[str, Any]]:
        """Call log entries, of one endpoint (``resume`` = ``retry``), of requests carrying
        ``job_id``."""
        endpoint = {"resume": "retry"}.get(endpoint or "", endpoint)
        return self.core.calls.list(endpoint, job_id=job_id)

    def expire_tokens(self) -> int:
        return self.core.auth.expire_all()


@contextlib.asynccontextmanager
async def running_simulator(
    *,
    tasks: Iterable[TaskLike] = (),
    tokens: Iterable[str] = (),
    access_keys: Mapping[str, str] | None = None,
    users: Iterable[User | str] = (),
    admin: bool = True,
    clock: Callable[[], float] = time.monotonic,
    **config: Any,
) -> AsyncIterator[RunningSimulator]:
    """Serve a simulator on 127.0.0.1 (free port) for the duration of the block.

    ``config`` takes SimulatorConfig fields (latency_ms, pause_delay_seconds, not_found, ...).
    With no tokens, access_keys or users, any credentials are accepted. ``clock`` is the
    monotonic clock of the task state machine and of replication delays.
    """
    sim = Simulator(
        SimulatorConfig.model_validate(config),
        tasks=_seeds(tasks),
        tokens=tokens,
        access_keys=dict(access_keys or {}),
        users=[u if isinstance(u, User) else User.parse(u) for u in users],
        admin=admin,
        clock=clock,
    )
    runner = web.AppRunner(
        create_app(sim), access_log=None, handle_signals=False, shutdown_timeout=0.5
    )
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        yield RunningSimulator(url=f"http://127.0.0.1:{port}", core=sim)
    finally:
        await runner.cleanup()


def _package_root() -> str:
    # operator/ (the source root), so the child imports this very checkout.
    return str(Path(__file__).resolve().parents[3])


class SimulatorProcess:
    """The simulator CLI as a subprocess; talks to it through the admin API.

    ``args`` are CLI options (``--port 0`` is added unless a port is given). A child that exits
    is reported at once; ``start_timeout`` only bounds a start that hangs, and is generous: on a
    busy machine (tests in parallel, control planes bootstrapping) the imports alone have taken
    over 20 s.
    """

    def __init__(self, args: Sequence[str] = (), *, start_timeout: float = 120.0) -> None:
        self.args = list(args)
        if "--port" not in self.args:
            self.args += ["--port", "0"]
        self.start_timeout = start_timeout
        self.url = ""
        self.output: list[str] = []  # stdout lines, for diagnostics
        self._proc: subprocess.Popen[str] | None = None
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._client: httpx.Client | None = None

    def command(self) -> list[str]:
        code = "import sys; from drs_pause_operator.dev.simulator.cli import main; sys.exit(main())"
        return [sys.executable, "-c", code, *self.args]

    def __enter__(self) -> SimulatorProcess:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (_package_root(), env.get("PYTHONPATH")) if p
        )
        env["PYTHONUNBUFFERED"] = "1"
        self._proc = subprocess.Popen(
            self.command(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            env=env,
            preexec_fn=die_with_parent,  # noqa: PLW1509 - setsid + prctl only, no locks taken
        )
        threading.Thread(target=self._pump, daemon=True).start()
        try:
            self._wait_listening()
        except BaseException:
            self.stop()
            raise
        self._client = httpx.Client(base_url=self.url, timeout=10.0, verify=False)
        return self

    def _pump(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        for line in self._proc.stdout:
            self._lines.put(line.rstrip("\n"))
        self._lines.put(None)

    def _wait_listening(self) -> None:
        while True:
            try:
                line = self._lines.get(timeout=self.start_timeout)
            except queue.Empty:
                raise TimeoutError("the simulator did not start in time") from None
            if line is None:
                raise RuntimeError("the simulator exited:\n" + "\n".join(self.output))
            self.output.append(line)
            match = LISTENING_RE.search(line)
            if match:
                self.url = match.group(1)
                return

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM, then SIGKILL after ``timeout``; returns the exit code."""
        if self._client is not None:
            self._client.close()
            self._client = None
        proc = self._proc
        if proc is None:
            return None
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout)
        return proc.returncode

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def returncode(self) -> int | None:
        return None if self._proc is None else self._proc.poll()

    # --- admin API helpers --------------------------------------------------------------------

    def admin(self, method: str, path: str, payload: Any = None) -> Any:
        assert self._client is not None, "use SimulatorProcess as a context manager"
        response = self._client.request(method, path, json=payload)
        response.raise_for_status()
        return response.json()

    def seed(self, tasks: Iterable[Mapping[str, Any]], *, replace: bool = False) -> Any:
        return self.admin("PUT" if replace else "POST", "/admin/tasks", list(tasks))

    def seed_many(self, count: int, **spec: Any) -> list[str]:
        """``POST /admin/tasks/bulk``: ``count`` tasks at once; returns their ids."""
        ids: list[str] = self.admin("POST", "/admin/tasks/bulk", {"count": count, **spec})["ids"]
        return ids

    def tasks(self) -> list[dict[str, Any]]:
        tasks: list[dict[str, Any]] = self.admin("GET", "/admin/tasks")["tasks"]
        return tasks

    def set_delay(self, job_id: str, **fields: Any) -> dict[str, Any]:
        """``PATCH /admin/tasks/{id}/delay``; returns the task."""
        task: dict[str, Any] = self.admin("PATCH", f"/admin/tasks/{job_id}/delay", fields)
        return task

    def add_fault(self, **rule: Any) -> dict[str, Any]:
        fault: dict[str, Any] = self.admin("POST", "/admin/faults", rule)["faults"][0]
        return fault

    def clear_faults(self) -> None:
        self.admin("DELETE", "/admin/faults")

    def configure(self, **changes: Any) -> dict[str, Any]:
        config: dict[str, Any] = self.admin("PATCH", "/admin/config", changes)
        return config

    def calls(self, endpoint: str | None = None, job_id: str | None = None) -> list[dict[str, Any]]:
        params = {k: v for k, v in (("endpoint", endpoint), ("job_id", job_id)) if v}
        query = "&".join(f"{k}={v}" for k, v in params.items())
        calls: list[dict[str, Any]] = self.admin(
            "GET", "/admin/calls" + (f"?{query}" if query else "")
        )["calls"]
        return calls

    def in_flight(self, endpoint: str | None = None) -> list[dict[str, Any]]:
        """Requests the simulator has received and not answered yet (``?in_flight=1``)."""
        query = "?in_flight=1" + (f"&endpoint={endpoint}" if endpoint else "")
        calls: list[dict[str, Any]] = self.admin("GET", "/admin/calls" + query)["calls"]
        return calls

    def expire_tokens(self) -> int:
        expired: int = self.admin("POST", "/admin/tokens/expire")["expired"]
        return expired

    def reset(self) -> None:
        self.admin("POST", "/admin/reset")
