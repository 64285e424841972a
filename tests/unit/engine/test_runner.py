"""The runner starts kopf only once the API server serves drsjobpauses (no log-text matching)."""

from __future__ import annotations

import asyncio
import logging

import pytest

from drs_pause_operator.engine.runner import wait_until_served


async def test_waits_until_the_resource_is_served(caplog: pytest.LogCaptureFixture) -> None:
    answers = iter([False, False, True])
    asked = []

    def served() -> bool:
        asked.append(1)
        return next(answers)

    with caplog.at_level(logging.INFO, logger="drs_pause_operator.engine.runner"):
        assert await wait_until_served(None, served, delay=0.01) is True
    assert len(asked) == 3
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1  # said once, not at every attempt
    assert "does not serve drsjobpauses and drspausewindows in drs.cloudops.dev" in (
        warnings[0].getMessage()
    )
    assert any("serves drs.cloudops.dev now" in r.getMessage() for r in caplog.records)


async def test_a_stop_request_ends_the_wait() -> None:
    stop = asyncio.Event()
    asyncio.get_running_loop().call_later(0.05, stop.set)
    assert await wait_until_served(stop, lambda: False, delay=10) is False


async def test_served_at_once_starts_without_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="drs_pause_operator.engine.runner"):
        assert await wait_until_served(None, lambda: True, delay=10) is True
    assert caplog.records == []
