"""Contract tests: the real DrsClient against the real simulator over HTTP on 127.0.0.1.

Inline retry sleeps are recorded, not slept (``Sleeps``), so fault tests stay fast while the
delays the client chose remain assertable.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from drs_pause_operator.dev.simulator.testing import RunningSimulator, running_simulator
from drs_pause_operator.drs import (
    DrsClient,
    PauseInfo,
    Timeouts,
    TokenAuth,
    make_http_client,
)

PROJECT = "054ba152d480d55b2f5dc0069e7ddef0"
TOKEN = "t0k3n-contract-tests"
FAST = Timeouts(connect=2.0, read=2.0, write=2.0, pool=2.0)


def job_ids(n: int) -> list[str]:
    return [str(uuid.uuid4()) for _ in range(n)]


def tasks(ids: Iterable[str], status: str = "INCRE_TRANSFER_STARTED", **extra: Any) -> list[dict]:
    return [{"id": i, "status": status, **extra} for i in ids]


def pause_infos(ids: Iterable[str], mode: str = "target") -> list[PauseInfo]:
    return [PauseInfo(job_id=i, pause_mode=mode) for i in ids]  # type: ignore[arg-type]


@dataclass
class Sleeps:
    """An injectable ``sleep`` that records delays and only yields to the loop."""

    delays: list[float] = field(default_factory=list)

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        await asyncio.sleep(0)


@dataclass
class Attempts:
    """An ``on_attempt`` callback recording (endpoint, status, seconds, label)."""

    calls: list[tuple[str, int, float, str]] = field(default_factory=list)

    def __call__(self, endpoint: str, status: int, seconds: float, label: str) -> None:
        self.calls.append((endpoint, status, seconds, label))

    @property
    def labels(self) -> list[str]:
        return [c[3] for c in self.calls]


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    client = make_http_client(timeouts=FAST, max_connections=10)
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
async def sim() -> AsyncIterator[RunningSimulator]:
    async with running_simulator(tokens=[TOKEN], seed=7) as running:
        yield running


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def attempts() -> Attempts:
    return Attempts()


@pytest.fixture
def make_client(sim: RunningSimulator, http: httpx.AsyncClient, sleeps: Sleeps, attempts: Attempts):
    """Build a DrsClient on the simulator; keyword arguments override the defaults."""

    def build(**overrides: Any) -> DrsClient:
        options: dict[str, Any] = {
            "rng": random.Random(1),
            "sleep": sleeps,
            "on_attempt": attempts,
            "max_inline_retries": 2,
            "max_inline_delay": 10.0,
        }
        options.update(overrides)
        endpoint = options.pop("endpoint", sim.url)
        project = options.pop("project_id", PROJECT)
        auth = options.pop("auth", None) or TokenAuth(TOKEN)
        client = options.pop("http", http)
        return DrsClient(client, endpoint, project, auth, **options)

    return build
