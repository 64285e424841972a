"""Fixtures for the simulator tests: an in-process simulator and an httpx client on it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from drs_pause_operator.dev.simulator.testing import RunningSimulator, running_simulator

from .helpers import DEFAULT_TASKS, TIMEOUT, TOKEN, Drs


@pytest.fixture
async def sim() -> AsyncIterator[RunningSimulator]:
    async with running_simulator(tasks=DEFAULT_TASKS, tokens=[TOKEN], seed=7) as running:
        yield running


@pytest.fixture
async def client(sim: RunningSimulator) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=sim.url, timeout=TIMEOUT) as http:
        yield http


@pytest.fixture
def drs(client: httpx.AsyncClient) -> Drs:
    return Drs(client)
