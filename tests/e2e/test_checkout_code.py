"""Every Python process the tests start runs this checkout's code.

A virtualenv's editable install points at one checkout, and PYTHONPATH may name another: a child
process that imported from either would test code other than the one under test. Here a decoy
package that fails on import comes first on PYTHONPATH, the way another checkout would; each
kind of child process must still import this checkout's package.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from drs_pause_operator.dev.simulator.testing import SimulatorProcess

from ..conftest import SOURCE_ROOT, checkout_env
from .conftest import OperatorProcess, operator_args, wait_for

PACKAGE = SOURCE_ROOT / "drs_pause_operator"
LOADED = re.compile(r"drs_pause_operator \S+ from (\S+)")
DECOY_ERROR = "imported drs_pause_operator from the decoy checkout"


@pytest.fixture
def decoy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Another checkout's source root, first on this process's PYTHONPATH."""
    root = tmp_path / "other-checkout" / "operator"
    package = root / "drs_pause_operator"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(f"raise ImportError({DECOY_ERROR!r})\n")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(root), str(SOURCE_ROOT)]))
    return root


def test_the_test_session_puts_this_checkout_first_on_pythonpath() -> None:
    # tests/conftest.py, before any test or xdist worker starts.
    assert os.environ["PYTHONPATH"].split(os.pathsep)[0] == str(SOURCE_ROOT)


def test_the_operator_process_runs_this_checkout(decoy: Path, tmp_path: Path) -> None:
    op = OperatorProcess(tmp_path / "no-kubeconfig",
                         operator_args("http://127.0.0.1:1", "default"),
                         tmp_path / "operator.log").start()
    try:
        # The DEBUG line at start-up names the package the process imported.
        found = wait_for(lambda: LOADED.search(op.log) or (op.proc.poll() is not None and "exited"),
                         timeout=60, what="the operator's start-up line")
    finally:
        op.stop()
    assert DECOY_ERROR not in op.log
    assert found != "exited", op.log[-3000:]
    assert Path(found.group(1)) == PACKAGE


def test_the_simulator_process_runs_this_checkout(decoy: Path) -> None:
    with SimulatorProcess() as sim:
        assert sim.returncode is None


def test_kubectl_drs_runs_this_checkout(decoy: Path, plugin_dir: Path) -> None:
    # plugin_dir (tests/e2e/conftest.py) holds kubectl-drs as the e2e tests run it.
    proc = subprocess.run([str(plugin_dir / "kubectl-drs"), "--help"], capture_output=True,
                          text=True, env=dict(os.environ), timeout=60, check=False)
    assert DECOY_ERROR not in proc.stderr
    assert proc.returncode == 0, proc.stderr
    assert "pause" in proc.stdout


def test_a_python_child_with_the_session_environment_runs_this_checkout(decoy: Path) -> None:
    # The demo, the discovery check, the simulator's CLI test: children that inherit os.environ
    # get the session's PYTHONPATH (the decoy stands in for whatever it held before).
    code = "import drs_pause_operator; print(drs_pause_operator.__file__)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=checkout_env(os.environ), timeout=60, check=False)
    assert DECOY_ERROR not in proc.stderr
    assert Path(proc.stdout.strip()).parent == PACKAGE
