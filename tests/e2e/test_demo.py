"""`drs-pause-operator demo`, the README's run command, works end to end."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.slow  # its own control plane, simulator and operator
def test_demo_runs_and_reports_the_expected_outcome() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "drs_pause_operator", "demo", "--timeout", "90"],
        capture_output=True, text=True, timeout=300, check=False,
    )
    out = proc.stdout
    assert proc.returncode == 0, out[-3000:] + proc.stderr[-3000:]
    assert "PartiallyPaused" in out and "2/3" in out
    assert '"errorCode": "DRS.M00289"' in out
    assert "demo finished: the pausable and the already paused task are Paused" in out
