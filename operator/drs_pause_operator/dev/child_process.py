"""Servers started by the demo and the tests never outlive the process that started them."""

from __future__ import annotations

import ctypes
import os
import signal

PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """Runs in the child before exec (``Popen(preexec_fn=...)``): a session of its own, and
    SIGKILL from the kernel when the thread that started it dies.

    A test worker killed by SIGTERM or SIGKILL runs no clean-up, so without this its control plane
    and operators went on running, and loading the machine the next run measures. SIGKILL, not
    SIGTERM: kube-apiserver answers SIGTERM with a graceful shutdown that waits for etcd, which
    dies at the same moment, and stayed up for minutes. The kernel ties the signal to the starting
    *thread*: start these children from a thread that lives as long as they should.
    """
    os.setsid()
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except OSError:
        pass
