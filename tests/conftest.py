"""Session-wide hooks for the whole suite."""

from __future__ import annotations

import faulthandler
import fcntl
import importlib.util
import os
import sys
import threading
import traceback
from collections.abc import Mapping
from pathlib import Path

import pytest

_EXIT_STATUS: list[int] = []

TESTS = Path(__file__).resolve().parent
#: The source root of the checkout under test (``operator/``).
SOURCE_ROOT = TESTS.parent / "operator"


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
    config.addinivalue_line(
        "markers", "exclusive: time-bound checks under heavy CPU load; under pytest-xdist they "
        "run while no other test runs but the WAITING ones (see tests/conftest.py)")
    # The queue keeps the order pytest_collection_modifyitems gives it.
    if hasattr(config.option, "loadscopereorder"):
        config.option.loadscopereorder = False


# -- running under pytest-xdist (`make test`: pytest -n N) ---------------------------------------
# Each worker has its own control plane and simulator (session fixtures are per worker), so
# tests on different workers share nothing but the machine. Paths are relative to tests/.

#: Test modules whose tests run on one worker, one after the other.
ONE_WORKER = {
    # One node cluster per machine: one network namespace, node address and host state.
    "node/test_chart_on_node.py": "node",
    # A module-scoped private control plane and control flow: split over workers, they would
    # run once per worker.
    "e2e/test_chart_clusterwide.py": "chart-clusterwide",
}
#: The most CPU-hungry tests with time bounds (hundreds of objects and seven operator
#: processes; ten operators at once that must start and pause within seconds; answers cut off
#: on time): they run on one worker, first, while no other test runs but the WAITING ones.
EXCLUSIVE = ("e2e/test_chaos.py", "e2e/test_chart_rbac.py", "e2e/test_security_limits.py")
#: Tests that spend minutes waiting on the clock with next to no CPU (windows that open and
#: close on real minutes, outages of a minute or two): they run beside the EXCLUSIVE ones, on the
#: other workers, instead of leaving those idle.
WAITING = ("e2e/test_windows.py", "e2e/test_window_exclusions.py", "e2e/test_outages.py")
#: Tiers whose tests take seconds to minutes each (the rest take milliseconds).
LONG_TIERS = ("e2e", "node", "health")


def _module(nodeid: str) -> str:
    """tests/e2e/test_x.py::test_y[p] -> e2e/test_x.py"""
    return nodeid.split("::", 1)[0].removeprefix(f"{TESTS.name}/")


def _worker_group(nodeid: str) -> str | None:
    module = _module(nodeid)
    return "exclusive" if module in EXCLUSIVE else ONE_WORKER.get(module)


def _queue_rank(item: pytest.Item) -> int:
    """0 exclusive, 1 waiting (beside them), 2 slow (minutes), 3 the rest of a long tier, 4 the
    quick tiers."""
    if item.get_closest_marker("exclusive"):
        return 0
    if _module(item.nodeid) in WAITING:
        return 1
    if item.get_closest_marker("slow"):
        return 2
    return 3 if _module(item.nodeid).split("/")[0] in LONG_TIERS else 4


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark the exclusive tests; under xdist, queue them first, then the waiting ones, then the
    longest.

    Workers take tests from one queue in this order. The exclusive ones go to the first worker
    at once, while the others run the waiting ones: minutes of waiting to fill the minutes in
    which no other test may run. Then the minutes-long tests start and the short ones fill the
    gaps, instead of one long test starting late and running on alone. A serial run keeps the
    files' order. (Every worker sorts alike, as xdist requires.)
    """
    for item in items:
        if _module(item.nodeid) in EXCLUSIVE:
            item.add_marker(pytest.mark.exclusive)
    if os.environ.get("PYTEST_XDIST_WORKER"):
        items.sort(key=_queue_rank)  # stable: the order within each rank stays


if importlib.util.find_spec("xdist") is not None:
    from xdist.scheduler import LoadScopeScheduling

    class SuiteScheduling(LoadScopeScheduling):
        """xdist's load balancing, one test at a time, except that the tests of a group in
        ONE_WORKER (and the EXCLUSIVE ones, as one group) go to one worker together.

        (xdist's own ``--dist loadgroup`` would do this from ``xdist_group`` marks, but it
        passes them by rewriting node ids, which pytest 9.2 no longer allows: pytest-xdist
        issue 1386. The groups here follow from the node id itself.)
        """

        def _split_scope(self, nodeid: str) -> str:
            return _worker_group(nodeid) or nodeid

    def pytest_xdist_make_scheduler(config: pytest.Config, log) -> LoadScopeScheduling | None:
        if config.getvalue("dist") != "load":  # -n N alone means load; another --dist wins
            return None
        return SuiteScheduling(config, log)


class MachineLock:
    """A readers-writer lock over the workers of one xdist run (two flock'ed files).

    Every test holds it shared, but the WAITING ones, which take no part; an exclusive test
    holds it alone, so it runs while no other test does but those. The gate gives the writer
    precedence: once an exclusive test waits, no other test starts, and it waits only for the
    tests already running.
    """

    def __init__(self, directory: Path) -> None:
        self._gate = open(directory / "machine.gate", "a")  # noqa: SIM115 - held for the session
        self._lock = open(directory / "machine.lock", "a")  # noqa: SIM115
        self.held: str | None = None  # "shared" or "exclusive"

    def acquire(self, exclusive: bool) -> None:
        fcntl.flock(self._gate, fcntl.LOCK_EX)
        if exclusive:
            fcntl.flock(self._lock, fcntl.LOCK_EX)  # the gate stays closed until release
            self.held = "exclusive"
        else:
            fcntl.flock(self._lock, fcntl.LOCK_SH)
            fcntl.flock(self._gate, fcntl.LOCK_UN)
            self.held = "shared"

    def release(self) -> None:
        fcntl.flock(self._lock, fcntl.LOCK_UN)
        if self.held == "exclusive":
            fcntl.flock(self._gate, fcntl.LOCK_UN)
        self.held = None


_MACHINE_LOCK: list[MachineLock] = []


def _machine_lock(config: pytest.Config) -> MachineLock | None:
    """The run's lock, in the directory above the workers' own basetemps; None without xdist."""
    basetemp = getattr(config.option, "basetemp", None)
    if not os.environ.get("PYTEST_XDIST_WORKER") or not basetemp:
        return None
    if not _MACHINE_LOCK:
        _MACHINE_LOCK.append(MachineLock(Path(basetemp).resolve().parent))
    return _MACHINE_LOCK[0]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None):
    """Setup, call and teardown of each test under the machine lock (module and session
    fixtures are set up and torn down inside a test's protocol too)."""
    lock = _machine_lock(item.config)
    if lock is None or _module(item.nodeid) in WAITING:
        yield
        return
    exclusive = item.get_closest_marker("exclusive") is not None
    if lock.held is None:
        lock.acquire(exclusive)
    try:
        yield
    finally:
        # Exclusive tests in a row keep the machine (the next one would wait for nothing).
        if not (exclusive and nextitem is not None and nextitem.get_closest_marker("exclusive")):
            lock.release()


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
