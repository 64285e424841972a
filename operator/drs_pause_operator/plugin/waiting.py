"""Following an object after it was created: ``pause --wait`` (a progress bar until it settles)
and ``plan`` (wait for the plan, print it, delete the object)."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn
from rich.progress import Progress as Bar

from drs_pause_operator.plugin import views
from drs_pause_operator.plugin.kube import Cluster, KubeError
from drs_pause_operator.plugin.progress import PAUSE_SETTLED, Progress
from drs_pause_operator.resource.spec import GROUP


def console(stderr: bool = False) -> Console:
    """Tables on stdout at most views.WIDTH wide; on stderr, log lines that rich does not
    wrap (the terminal does)."""
    width = min(Console().width, views.WIDTH)
    return Console(width=width, stderr=stderr, highlight=False, soft_wrap=stderr)


def _follows_resume(progress: Progress, deadline: dt.datetime) -> bool:
    """A pause that settled with its scheduled resume due before the wait ends: the wait
    follows the resume (and the catch-up) too."""
    due = progress.resume_time
    return (due is not None and due <= deadline and progress.phase in PAUSE_SETTLED
            and progress.paused > 0)


def watch(cluster: Cluster, name: str, limit: float, interval: float = 1.0) -> int:
    """Poll the object until it settles; a bar on a terminal, a line per change in any case.

    Exit code: 0 every job paused (and resumed and caught up, when the resume came within
    ``limit``), 1 otherwise (a failure, a selection problem, the time ran out)."""
    err = console(stderr=True)
    start = time.monotonic()
    deadline = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=limit)
    last: tuple[str, tuple[int, int]] | None = None
    told_resume = False

    # The elapsed time is the wait's own: rich's stops when a stage's bar is full.
    columns = (TextColumn("{task.description}"), BarColumn(bar_width=30),
               MofNCompleteColumn(), TextColumn("{task.fields[counts]}"),
               TextColumn("{task.fields[elapsed]}"))
    with Bar(*columns, console=err, transient=False) as bar:
        task = bar.add_task(name, total=None, counts="", elapsed="")
        while True:
            try:
                progress = Progress.of(cluster.get(name))
            except KubeError as e:
                err.print(f"error: {e}")
                return 1
            elapsed = time.monotonic() - start
            bar.update(task, elapsed=f"{int(elapsed) // 60}:{int(elapsed) % 60:02d}")
            shown = (progress.line(), progress.bar())
            if shown != last:
                last = shown
                done, total = progress.bar()
                bar.update(task, total=total or None, completed=done, counts=progress.counts())
                err.print(f"[{elapsed:5.1f}s] {progress.line()}")
            if progress.blocked:
                reason, message = progress.blocked
                err.print(f"{name}: {reason}: {message}")
                return 1
            if progress.settled and _follows_resume(progress, deadline):
                if not told_resume:
                    told_resume = True
                    assert progress.resume_time is not None
                    err.print(f"{name}: resumes at {views.fmt(progress.resume_time)}; "
                              "waiting for the resume")
            elif progress.settled:
                err.print(f"{name}: {progress.line()}")
                return progress.exit_code
            if time.monotonic() - start > limit:
                err.print(f"{name}: timed out after {limit:g}s: {progress.line()}")
                return 1
            time.sleep(interval)


def await_plan(cluster: Cluster, name: str, limit: float, err: Console,
               interval: float = 1.0) -> dict[str, Any] | None:
    """The object once it is Planned for its generation; None (and why, on ``err``) when the
    plan did not come within ``limit`` seconds or cannot come."""
    start = time.monotonic()
    while True:
        try:
            obj = cluster.get(name)
        except KubeError as e:
            err.print(f"error: {e}")
            return None
        progress = Progress.of(obj)
        if progress.phase == "Planned" and progress.settled:
            return obj
        if progress.blocked:
            reason, message = progress.blocked
            err.print(f"{name}: {reason}: {message}")
            return None
        if any(j.get("attempts") for j in views.jobs_of(obj)):
            # A fresh plan's object never has a job sent: an operator that does not know
            # spec.dryRun acts on it instead.
            err.print(f"{name}: the operator did not plan but sent jobs (phase "
                      f"{progress.phase}); does it know spec.dryRun?")
            return None
        if time.monotonic() - start > limit:
            found = views.problem(obj)
            if found:
                err.print(f"{name}: no plan after {limit:g}s: {found[0]}: {found[1]}")
            else:
                err.print(f"{name}: no plan after {limit:g}s (phase {progress.phase}); is the "
                          f"operator running and watching namespace {cluster.namespace}?")
            return None
        time.sleep(interval)


def plan(cluster: Cluster, body: dict[str, Any], limit: float, *, keep: bool,
         interval: float = 1.0) -> int:
    """Create the dryRun object, wait for its plan, print it, delete the object (unless
    ``keep``). Exit code 0 when the plan was printed, 1 otherwise."""
    out, err = console(), console(stderr=True)
    try:
        created = cluster.create(body)
    except KubeError as e:
        err.print(f"error: {e}")
        return 1
    name = created["metadata"]["name"]
    ref = f"drsjobpause.{GROUP}/{name}"
    out.print(f"{ref} created in namespace {cluster.namespace} (spec.dryRun: a plan, nothing "
              "is paused)")
    code = 1
    try:
        obj = await_plan(cluster, name, limit, err, interval)
        if obj is not None:
            out.print(views.plan_report(obj, out.width))
            code = 0
    finally:
        if keep:
            out.print(f"{ref} kept (kubectl drs replan {name} plans again)")
        else:
            try:
                cluster.delete(name)
                out.print(f"{ref} deleted")
            except KubeError as e:
                err.print(f"error: {e}")
                code = 1
    return code
