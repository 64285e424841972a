"""``kubectl drs``: see and act on DrsJobPause objects from a terminal.

    kubectl drs get [NAME]                 objects (and pause windows) with their counts
    kubectl drs describe NAME              one row per job, with its error code and message
    kubectl drs pause --project P (--job ID ... | --selector-... ) [--wait]
    kubectl drs retry|resume|reselect NAME set the annotation that asks the operator to act

Exit codes: 0 all paused (or done), 1 some job failed or a request was refused, 2 usage error.
"""

from __future__ import annotations

import datetime as dt
import re
import sys
import time
from collections.abc import Callable
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
from rich.progress import Progress as Bar

from drs_pause_operator.plugin import views
from drs_pause_operator.plugin.kube import Cluster, KubeError
from drs_pause_operator.resource.selector import RESELECT_ANNOTATION
from drs_pause_operator.resource.spec import GROUP, KIND, RETRY_ANNOTATION, VERSION

RESUME_NOW_ANNOTATION = f"{GROUP}/resume-now"
CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": views.WIDTH}


def _console(stderr: bool = False) -> Console:
    width = min(Console().width, views.WIDTH)
    return Console(width=width, stderr=stderr, highlight=False, soft_wrap=False)


def kube_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """kubectl's connection flags, accepted before or after the subcommand."""
    for option in reversed([
        click.option("--kubeconfig", help="Path to the kubeconfig file to use."),
        click.option("--context", help="The kubeconfig context to use."),
        click.option("-n", "--namespace", help="The namespace (default: the context's)."),
        click.option("-A", "--all-namespaces", is_flag=True, default=None,
                     help="List across all namespaces (get)."),
    ]):
        fn = option(fn)
    return fn


def _cluster(ctx: click.Context, kw: dict[str, Any]) -> tuple[Cluster, bool]:
    top = ctx.find_root().params
    pick = {k: kw.get(k) if kw.get(k) is not None else top.get(k)
            for k in ("kubeconfig", "context", "namespace", "all_namespaces")}
    cluster = Cluster.connect(pick["kubeconfig"], pick["context"], pick["namespace"])
    return cluster, bool(pick["all_namespaces"])


@click.group(context_settings=CONTEXT)
@kube_options
def main(**_: Any) -> None:
    """See and act on DrsJobPause objects (pausing Huawei / OTC DRS tasks)."""


def _fail(err: Exception) -> None:
    click.echo(f"error: {err}", err=True)
    sys.exit(1)


@main.command()
@click.argument("name", required=False)
@kube_options
@click.pass_context
def get(ctx: click.Context, name: str | None, **kw: Any) -> None:
    """Objects with phase, paused/failed counts and next resume; pause windows too."""
    try:
        cluster, everywhere = _cluster(ctx, kw)
        items = [cluster.get(name)] if name else cluster.list(everywhere)
        windows = None if name else cluster.windows(everywhere)
    except KubeError as err:
        _fail(err)
    out = _console()
    now = dt.datetime.now(dt.UTC)
    if not items and not windows:
        where = "any namespace" if everywhere else f"namespace {cluster.namespace}"
        out.print(f"No DrsJobPause objects found in {where}.")
        return
    if items:
        out.print(views.objects_table(items, now, namespaces=everywhere))
    if windows:
        out.print(views.windows_table(windows, now, namespaces=everywhere))


@main.command()
@click.argument("name")
@kube_options
@click.pass_context
def describe(ctx: click.Context, name: str, **kw: Any) -> None:
    """One object: its conditions, selection, and one row per job (error code and message)."""
    try:
        cluster, _ = _cluster(ctx, kw)
        obj = cluster.get(name)
    except KubeError as err:
        _fail(err)
    _console().print(views.describe(obj, dt.datetime.now(dt.UTC)))


def _annotate(ctx: click.Context, name: str, annotation: str, kw: dict[str, Any]) -> None:
    try:
        cluster, _ = _cluster(ctx, kw)
        value = cluster.annotate(name, annotation, None)
    except KubeError as err:
        _fail(err)
    click.echo(f"drsjobpause.{GROUP}/{name} annotated: {annotation}={value}")


@main.command()
@click.argument("name")
@kube_options
@click.pass_context
def retry(ctx: click.Context, name: str, **kw: Any) -> None:
    """Send the object's Failed jobs once more (drs.cloudops.dev/retry-failed)."""
    _annotate(ctx, name, RETRY_ANNOTATION, kw)


@main.command()
@click.argument("name")
@kube_options
@click.pass_context
def resume(ctx: click.Context, name: str, **kw: Any) -> None:
    """Resume now what the object paused (drs.cloudops.dev/resume-now)."""
    _annotate(ctx, name, RESUME_NOW_ANNOTATION, kw)


@main.command()
@click.argument("name")
@kube_options
@click.pass_context
def reselect(ctx: click.Context, name: str, **kw: Any) -> None:
    """Resolve spec.selector again (drs.cloudops.dev/reselect)."""
    _annotate(ctx, name, RESELECT_ANNOTATION, kw)


def parse_duration(text: str) -> float:
    """Seconds in ``90``, ``90s``, ``15m``, ``2h`` or ``1h30m``."""
    if re.fullmatch(r"[0-9]+(\.[0-9]+)?", text):
        return float(text)
    match = re.fullmatch(r"(?:([0-9]+)h)?(?:([0-9]+)m)?(?:([0-9]+)s)?", text)
    if not text or match is None:
        raise click.BadParameter(f"{text!r} is not a duration such as 90s, 15m or 1h30m")
    h, m, s = (int(g or 0) for g in match.groups())
    return h * 3600 + m * 60 + s


def _tags(values: tuple[str, ...]) -> dict[str, str]:
    tags = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{item!r}: expected KEY=VALUE", param_hint="--selector-tag")
        tags[key] = value
    return tags


def build(project: str, jobs: tuple[str, ...], mode: str, selector: dict[str, Any],
          *, name: str | None, secret: str | None, region: str | None, endpoint: str | None,
          resume_after: str | None, resume_at: str | None) -> dict[str, Any]:
    """The DrsJobPause ``pause`` creates (pure; usage errors raise click.UsageError)."""
    wanted = {k: v for k, v in selector.items() if v not in (None, (), {})}
    if bool(jobs) == bool(wanted):
        raise click.UsageError("give either --job (one or more) or --selector-* options")
    if wanted and "dbUseType" not in wanted:
        raise click.UsageError("--selector-db-use-type is required with a selector")
    if resume_after and resume_at:
        raise click.UsageError("give at most one of --resume-after and --resume-at")
    spec: dict[str, Any] = {"projectId": project}
    for key, value in (("region", region), ("endpoint", endpoint)):
        if value:
            spec[key] = value
    if secret:
        spec["credentialsSecretRef"] = {"name": secret}
    if jobs:
        spec["jobs"] = [{"jobId": j, "pauseMode": mode} for j in dict.fromkeys(jobs)]
    else:
        spec["selector"] = {**wanted, "pauseMode": mode}
        if "statuses" in wanted:
            spec["selector"]["statuses"] = list(wanted["statuses"])
    if resume_after or resume_at:
        spec["resume"] = {"after": resume_after} if resume_after else {"at": resume_at}
    meta: dict[str, Any] = {"name": name} if name else {"generateName": "drs-pause-"}
    return {"apiVersion": f"{GROUP}/{VERSION}", "kind": KIND, "metadata": meta, "spec": spec}


@main.command()
@click.option("--project", required=True, help="The DRS project ID (spec.projectId).")
@click.option("--job", "jobs", multiple=True, metavar="ID", help="A task ID (repeatable).")
@click.option("--selector-db-use-type", type=click.Choice(["migration", "sync", "cloudDataGuard"]),
              help="Choose tasks instead: their scenario (required for a selector).")
@click.option("--selector-engine-type", help="Selector: DRS engine type, e.g. mysql.")
@click.option("--selector-name", help="Selector: DRS's name-or-ID filter.")
@click.option("--selector-name-regex", help="Selector: a regular expression for the name.")
@click.option("--selector-tag", multiple=True, metavar="KEY=VALUE",
              help="Selector: a tag every task must carry (repeatable).")
@click.option("--selector-status", multiple=True, metavar="STATE",
              help="Selector: a task state to choose from (repeatable).")
@click.option("--selector-max-jobs", type=click.IntRange(1, 500),
              help="Selector: the most tasks it may choose (default 50).")
@click.option("--mode", type=click.Choice(["target", "all"]), default="target",
              show_default=True, help="Pause mode.")
@click.option("--resume-after", metavar="D", help="Resume this long after the pause (2h).")
@click.option("--resume-at", metavar="T", help="Resume at this RFC 3339 time.")
@click.option("--secret", help="Credentials Secret in the namespace.")
@click.option("--region", help="Region, e.g. eu-de.")
@click.option("--endpoint", help="Explicit DRS endpoint URL.")
@click.option("--name", help="Object name (default: generated, drs-pause-xxxxx).")
@click.option("--wait", is_flag=True, help="Show progress until every job settled.")
@click.option("--timeout", default="10m", show_default=True, help="How long --wait waits.")
@kube_options
@click.pass_context
def pause(ctx: click.Context, project: str, jobs: tuple[str, ...], mode: str, wait: bool,
          timeout: str, **kw: Any) -> None:
    """Create a DrsJobPause; with --wait, show a progress bar until it settles.

    Exit 0 when every job is paused, 1 when any failed (or none could be chosen, or the wait
    timed out), 2 on usage errors.
    """
    limit = parse_duration(timeout)
    selector = {
        "dbUseType": kw.pop("selector_db_use_type"),
        "engineType": kw.pop("selector_engine_type"),
        "name": kw.pop("selector_name"),
        "nameRegex": kw.pop("selector_name_regex"),
        "tags": _tags(kw.pop("selector_tag")),
        "statuses": kw.pop("selector_status"),
        "maxJobs": kw.pop("selector_max_jobs"),
    }
    body = build(project, jobs, mode, selector, name=kw.pop("name"), secret=kw.pop("secret"),
                 region=kw.pop("region"), endpoint=kw.pop("endpoint"),
                 resume_after=kw.pop("resume_after"), resume_at=kw.pop("resume_at"))
    try:
        cluster, _ = _cluster(ctx, kw)
        created = cluster.create(body)
    except KubeError as err:
        _fail(err)
    name = created["metadata"]["name"]
    click.echo(f"drsjobpause.{GROUP}/{name} created in namespace {cluster.namespace}")
    if wait:
        sys.exit(watch(cluster, name, limit))


def watch(cluster: Cluster, name: str, limit: float, interval: float = 1.0) -> int:
    """Poll the object until it settles; a bar on a terminal, a line per change in any case."""
    err = _console(stderr=True)
    start = time.monotonic()
    last: tuple[int, int, int, int] | None = None
    columns = (TextColumn("{task.description}"), BarColumn(bar_width=30),
               MofNCompleteColumn(), TextColumn("{task.fields[counts]}"), TimeElapsedColumn())
    with Bar(*columns, console=err, transient=False) as bar:
        task = bar.add_task(name, total=None, counts="")
        while True:
            try:
                progress = views.Progress.of(cluster.get(name))
            except KubeError as e:
                err.print(f"error: {e}")
                return 1
            counts = (progress.total, progress.paused, progress.failed, progress.pending)
            if counts != last:
                last = counts
                bar.update(task, total=progress.total or None,
                           completed=progress.paused + progress.failed,
                           counts=f"paused {progress.paused} failed {progress.failed} "
                                  f"pending {progress.pending}")
                bar.console.print(f"[{time.monotonic() - start:5.1f}s] {progress.line()}")
            if progress.blocked:
                reason, message = progress.blocked
                err.print(f"{name}: {reason}: {message}")
                return 1
            if progress.settled:
                err.print(f"{name}: {progress.line()}")
                return progress.exit_code
            if time.monotonic() - start > limit:
                err.print(f"{name}: timed out after {limit:g}s: {progress.line()}")
                return 1
            time.sleep(interval)


if __name__ == "__main__":  # pragma: no cover
    main()
