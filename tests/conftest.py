"""Session-wide hooks for the whole suite."""

from __future__ import annotations

import faulthandler
import os
import sys
import threading
import traceback
from collections.abc import Mapping
from pathlib import Path

import pytest

_EXIT_STATUS: list[int] = []

#: The source root of the checkout under test (``operator/``).
SOURCE_ROOT = Path(__file__).resolve().parents[1] / "operator"


def checkout_env(env: Mapping[str, str]) -> dict[str, str]:
    """ENV with this checkout's source root first on PYTHONPATH.

    A child Python process (the operator, the simulator, ``kubectl drs``, the demo) imports
    ``drs_pause_operator`` from PYTHONPATH before the virtualenv's site-packages: without this,
    it would run whatever copy the virtualenv's editable install points at, which may be
    another checkout.
    """
    rest = [p for p in env.get("PYTHONPATH", "").split(os.pathsep)
            if p and Path(p).resolve() != SOURCE_ROOT]
    return {**env, "PYTHONPATH": os.pathsep.join([str(SOURCE_ROOT), *rest])}


def pytest_configure(config: pytest.Config) -> None:
    # Every process the tests start inherits this (xdist's workers too, started after this).
    os.environ["PYTHONPATH"] = checkout_env(os.environ)["PYTHONPATH"]


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
