"""A server started with die_with_parent goes when the process that started it is killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from drs_pause_operator.dev.child_process import die_with_parent

# The parent: starts a long sleeper the way the tests start servers, prints its pid, then waits.
PARENT = """
import subprocess, sys, time
from drs_pause_operator.dev.child_process import die_with_parent
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"],
                         preexec_fn=die_with_parent)
print(child.pid, flush=True)
time.sleep(600)
"""


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (killed, not yet reaped by init) counts as gone.
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().rsplit(")", 1)[1].split()[0] != "Z"


def test_the_child_is_killed_with_its_parent() -> None:
    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    try:
        assert alive(child)
        parent.send_signal(signal.SIGKILL)  # no clean-up can run
        parent.wait(10)
        deadline = time.monotonic() + 10
        while alive(child) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not alive(child), "the child outlived the parent that was killed"
    finally:
        if alive(child):
            os.kill(child, signal.SIGKILL)


def test_the_child_has_a_session_of_its_own() -> None:
    # (A terminal's Ctrl-C reaches the test run, which stops its servers in order.)
    proc = subprocess.Popen([sys.executable, "-c", "import os; print(os.getsid(0))"],
                            stdout=subprocess.PIPE, text=True,
                            preexec_fn=die_with_parent)  # noqa: PLW1509 - no threads here
    out, _ = proc.communicate(timeout=10)
    assert int(out) == proc.pid and int(out) != os.getsid(0)
