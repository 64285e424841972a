"""Session-wide hooks for the whole suite."""

from __future__ import annotations

import faulthandler
import os
import sys
import threading
import traceback
from pathlib import Path

import pytest

# The venv holds the dependencies, not the project: every process a test starts (the operator,
# the simulator, the demo) imports drs_pause_operator from this clone, whichever clone runs.
_SOURCE_ROOT = str(Path(__file__).resolve().parents[1] / "operator")
os.environ["PYTHONPATH"] = os.pathsep.join(
    [_SOURCE_ROOT, *(p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep)
                     if p and p != _SOURCE_ROOT)])

_EXIT_STATUS: list[int] = []


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    _EXIT_STATUS.append(int(exitstatus))


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    # Helpers of the e2e tests watch the API server and probe endpoints from daemon threads; one
    # may still sit in a blocking call when the interpreter finalizes. After a full run the
    # process once died there with SIGABRT (exit 134), after pytest had printed its verdict, so
    # the verdict was lost. pytest's verdict is final by now (summary printed, hooks run): exit
    # with it without finalizing, but only when such a thread is still alive, and name it with
    # where it stands, so the helper that outlived its test can be found and stopped.
    stray = [t for t in threading.enumerate() if t.daemon and t.is_alive()]
    if stray and _EXIT_STATUS:
        frames = sys._current_frames()
        for thread in stray:
            frame = frames.get(thread.ident) if thread.ident is not None else None
            where = traceback.format_stack(frame)[-3:] if frame is not None else []
            print(f"daemon thread still running at exit: {thread.name}\n{''.join(where)}",
                  file=sys.stderr)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(_EXIT_STATUS[-1])
    # Should the interpreter still abort while finalizing, leave every thread's stack behind
    # (pytest's own faulthandler is off again by now).
    faulthandler.enable(file=sys.__stderr__, all_threads=True)
