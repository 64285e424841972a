"""Session-wide hooks for the whole suite."""

from __future__ import annotations

import os
import sys
import threading

import pytest

_EXIT_STATUS: list[int] = []


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    _EXIT_STATUS.append(int(exitstatus))


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    # Helpers of the e2e tests watch the API server and probe endpoints from daemon threads; one
    # may still sit in a blocking call when the interpreter finalizes. After a full run the
    # process once died there with SIGABRT (exit 134), after pytest had printed its verdict, so
    # the verdict was lost. pytest's verdict is final by now (summary printed, hooks run): exit
    # with it without finalizing, but only when such a thread is still alive.
    stray = [t.name for t in threading.enumerate() if t.daemon and t.is_alive()]
    if stray and _EXIT_STATUS:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(_EXIT_STATUS[-1])
