"""``kubectl drs``: see and act on DrsJobPause objects from a terminal.

    kubectl drs get [NAME]                 objects (and pause windows) with their counts
    kubectl drs describe NAME              one row per job: phase, delay, error code, plan
    kubectl drs pause --project P (--job ID ... | --selector-... ) [--wait] [--dry-run]
    kubectl drs plan --project P (--job ID ... | --selector-... )   what a pause would do
    kubectl drs retry|resume|reselect|replan NAME   set the annotation that asks the operator

Exit codes: 0 all paused (or done), 1 some job failed or a request was refused, 2 usage error.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable
from typing import Any, NoReturn

import click

from drs_pause_operator.plugin import views, waiting
from drs_pause_operator.plugin.build import from_flags, parse_duration, spec_options
from drs_pause_operator.plugin.kube import Cluster, KubeError
from drs_pause_operator.resource.plans import REPLAN_ANNOTATION
from drs_pause_operator.resource.selector import RESELECT_ANNOTATION
from drs_pause_operator.resource.spec import GROUP, RESUME_NOW_ANNOTATION, RETRY_ANNOTATION

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": views.WIDTH}
WAIT_TIMEOUT = "10m"
PLAN_TIMEOUT = "60s"


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


def _fail(err: Exception) -> NoReturn:
    click.echo(f"error: {err}", err=True)
    sys.exit(1)


@main.command()
@click.argument("name", required=False)
@kube_options
@click.pass_context
def get(ctx: click.Context, /, name: str | None, **kw: Any) -> None:
    """Objects with phase, paused/failed counts, largest delay, next resume; windows too."""
    try:
        cluster, everywhere = _cluster(ctx, kw)
        items = [cluster.get(name)] if name else cluster.list(everywhere)
        windows = None if name else cluster.windows(everywhere)
    except KubeError as err:
        _fail(err)
    out = waiting.console()
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
def describe(ctx: click.Context, /, name: str, **kw: Any) -> None:
    """One object: its conditions, selection, and one row per job (delay, error, plan)."""
    try:
        cluster, _ = _cluster(ctx, kw)
        obj = cluster.get(name)
    except KubeError as err:
        _fail(err)
    out = waiting.console()
    out.print(views.describe(obj, dt.datetime.now(dt.UTC), out.width))


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
def retry(ctx: click.Context, /, name: str, **kw: Any) -> None:
    """Send the object's Failed jobs once more (drs.cloudops.dev/retry-failed)."""
    _annotate(ctx, name, RETRY_ANNOTATION, kw)


@main.command()
@click.argument("name")
@kube_options
@click.pass_context
def resume(ctx: click.Context, /, name: str, **kw: Any) -> None:
    """Resume now what the object paused (drs.cloudops.dev/resume-now)."""
    _annotate(ctx, name, RESUME_NOW_ANNOTATION, kw)


@main.command()
@click.argument("name")
@kube_options
@click.pass_context
def reselect(ctx: click.Context, /, name: str, **kw: Any) -> None:
    """Resolve spec.selector again (drs.cloudops.dev/reselect)."""
    _annotate(ctx, name, RESELECT_ANNOTATION, kw)


@main.command()
@click.argument("name")
@kube_options
@click.pass_context
def replan(ctx: click.Context, /, name: str, **kw: Any) -> None:
    """Make the object's plan again (drs.cloudops.dev/replan)."""
    _annotate(ctx, name, REPLAN_ANNOTATION, kw)


@main.command()
@spec_options
@click.option("--wait", is_flag=True, help="Show progress until every job settled.")
@click.option("--dry-run", is_flag=True,
              help="Only plan: the same as kubectl drs plan (nothing is paused).")
@click.option("--keep", is_flag=True, help="With --dry-run: keep the object after the plan.")
@click.option("--timeout", metavar="D",
              help="How long --wait waits (default 10m), or --dry-run for the plan (60s).")
@kube_options
@click.pass_context
def pause(ctx: click.Context, /, wait: bool, dry_run: bool, keep: bool, timeout: str | None,
          **kw: Any) -> None:
    """Create a DrsJobPause; with --wait, show a progress bar until it settles (through the
    resume and the catch-up when the resume is due before --timeout runs out).

    Exit 0 when every job is paused (and resumed), 1 when any failed (or none could be chosen,
    or the wait timed out), 2 on usage errors.
    """
    if keep and not dry_run:
        raise click.UsageError("--keep goes with --dry-run (a plan's object is deleted "
                               "unless kept)")
    limit = parse_duration(timeout or (PLAN_TIMEOUT if dry_run else WAIT_TIMEOUT))
    body = from_flags(kw, dry_run=dry_run)
    if dry_run:
        _plan(ctx, body, limit, keep, kw)
    try:
        cluster, _ = _cluster(ctx, kw)
        created = cluster.create(body)
    except KubeError as err:
        _fail(err)
    name = created["metadata"]["name"]
    click.echo(f"drsjobpause.{GROUP}/{name} created in namespace {cluster.namespace}")
    if wait:
        sys.exit(waiting.watch(cluster, name, limit))


@main.command()
@spec_options
@click.option("--keep", is_flag=True, help="Keep the object after the plan (replan it later).")
@click.option("--timeout", metavar="D", default=PLAN_TIMEOUT, show_default=True,
              help="How long to wait for the plan.")
@kube_options
@click.pass_context
def plan(ctx: click.Context, /, keep: bool, timeout: str, **kw: Any) -> None:
    """Show what a pause would do, pausing nothing: create the object with spec.dryRun, wait
    for its plan, print each job's verdict, then delete the object (unless --keep).

    Exit 0 when the plan was printed, 1 when it did not come in time or the API server
    refused, 2 on usage errors.
    """
    limit = parse_duration(timeout)
    _plan(ctx, from_flags(kw, dry_run=True), limit, keep, kw)


def _plan(ctx: click.Context, body: dict[str, Any], limit: float, keep: bool,
          kw: dict[str, Any]) -> NoReturn:
    """``plan`` and ``pause --dry-run``: one path."""
    try:
        cluster, _ = _cluster(ctx, kw)
    except KubeError as err:
        _fail(err)
    sys.exit(waiting.plan(cluster, body, limit, keep=keep))


if __name__ == "__main__":  # pragma: no cover
    main()
