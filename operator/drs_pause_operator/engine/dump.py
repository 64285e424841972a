"""What the operator is doing right now, on demand: ``kill -USR1 <pid>`` logs the controller's
queue and the passes in progress, then the stack of every asyncio task and every thread, and
the process goes on (like the goroutine dump of a Go controller, without the exit).

For the question a stuck object raises: is its pass waiting on something (and on what), or
does it have no pass at all?
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
import threading
import traceback
from types import FrameType
from typing import Any

log = logging.getLogger(__name__)

SIGNAL = signal.SIGUSR1
TASK_FRAMES = 12  # innermost frames kept per task: enough to see what a pass awaits


def describe_tasks(limit: int = TASK_FRAMES) -> list[str]:
    """Every asyncio task of the running loop with its await chain, innermost frame last."""
    lines = []
    tasks = sorted(asyncio.all_tasks(), key=lambda task: task.get_name())
    for task in tasks:
        coro = task.get_coro()
        lines.append(f"task {task.get_name()} ({getattr(coro, '__qualname__', coro)}):")
        frames, awaiting = _await_chain(coro)
        for frame in frames[-limit:]:
            lines.append(_where(frame.f_code.co_filename, frame.f_lineno, frame.f_code.co_name))
        if awaiting is not None:
            lines.append(f"    awaiting {awaiting!r}"[:300])
    return lines


def _await_chain(coro: Any) -> tuple[list[FrameType], Any]:
    """The frames of a suspended coroutine and of everything it awaits in turn (a task's own
    get_stack() stops at the outermost one), and the object at the end of the chain."""
    frames: list[FrameType] = []
    seen = 0
    while coro is not None and seen < 100:
        seen += 1
        frame = getattr(coro, "cr_frame", None) or getattr(coro, "gi_frame", None)
        if frame is None:
            return frames, coro
        frames.append(frame)
        coro = getattr(coro, "cr_await", None) or getattr(coro, "gi_yieldfrom", None)
    return frames, None


def describe_threads() -> list[str]:
    """Every thread with its stack (the Kubernetes client's calls run in thread pools)."""
    names = {thread.ident: thread.name for thread in threading.enumerate()}
    lines = []
    for ident, frame in sys._current_frames().items():
        lines.append(f"thread {names.get(ident, ident)}:")
        for where in traceback.extract_stack(frame)[-TASK_FRAMES:]:
            lines.append(_where(where.filename, where.lineno, where.name))
    return lines


def _where(filename: str, line: int | None, name: str) -> str:
    return f'    File "{filename}", line {line}, in {name}'

def dump(memo: Any) -> str:
    """Log the whole picture at WARNING (so it shows at every log level); returns it."""
    lines = [f"dump on request ({SIGNAL.name}):"]
    for name in ("controller", "windows"):
        part = memo.get(name)
        if part is not None and hasattr(part, "describe"):
            lines += part.describe()
    lines += describe_tasks()
    lines += describe_threads()
    text = "\n".join(lines)
    log.warning("%s", text)
    return text


def install(memo: Any) -> None:
    """Dump on SIGUSR1 from now on (the event loop's own handler: safe with asyncio)."""
    asyncio.get_running_loop().add_signal_handler(SIGNAL, dump, memo)


def uninstall() -> None:
    with contextlib.suppress(RuntimeError, ValueError):  # no loop, or not installed
        asyncio.get_running_loop().remove_signal_handler(SIGNAL)
