"""The DrsJobPause that ``pause`` and ``plan`` create, from their shared flags (pure).

Usage errors raise click's exceptions (exit code 2) before anything reaches the API server:
flags that exclude or need each other, and durations the CRD would refuse.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import click

from drs_pause_operator.resource.spec import DURATION_PATTERN, GROUP, KIND, VERSION

DURATION_HINT = "a duration in whole hours, minutes and seconds such as 90s, 5m, 2h or 1h30m"


def parse_duration(text: str) -> float:
    """Seconds in ``90``, ``90s``, ``15m``, ``2h`` or ``1h30m`` (the plugin's own timeouts)."""
    if re.fullmatch(r"[0-9]+(\.[0-9]+)?", text):
        return float(text)
    match = re.fullmatch(r"(?:([0-9]+)h)?(?:([0-9]+)m)?(?:([0-9]+)s)?", text)
    if not text or match is None:
        raise click.BadParameter(f"{text!r} is not a duration such as 90s, 15m or 1h30m")
    h, m, s = (int(g or 0) for g in match.groups())
    return h * 3600 + m * 60 + s


def spec_duration(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    """A click callback: a duration the object's spec takes as written (the CRD's pattern)."""
    if value is not None and not (value and re.fullmatch(DURATION_PATTERN, value)):
        raise click.BadParameter(f"{value!r} is not {DURATION_HINT}")
    return value


def _tags(values: tuple[str, ...]) -> dict[str, str]:
    tags = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{item!r}: expected KEY=VALUE", param_hint="--selector-tag")
        tags[key] = value
    return tags


_OPTIONS = [
    click.option("--project", required=True, help="The DRS project ID (spec.projectId)."),
    click.option("--job", "jobs", multiple=True, metavar="ID", help="A task ID (repeatable)."),
    click.option("--selector-db-use-type",
                 type=click.Choice(["migration", "sync", "cloudDataGuard"]),
                 help="Choose tasks instead: their scenario (required for a selector)."),
    click.option("--selector-engine-type", help="Selector: DRS engine type, e.g. mysql."),
    click.option("--selector-name", help="Selector: DRS's name-or-ID filter."),
    click.option("--selector-name-regex", help="Selector: a regular expression for the name."),
    click.option("--selector-tag", multiple=True, metavar="KEY=VALUE",
                 help="Selector: a tag every task must carry (repeatable)."),
    click.option("--selector-status", multiple=True, metavar="STATE",
                 help="Selector: a task state to choose from (repeatable)."),
    click.option("--selector-max-jobs", type=click.IntRange(1, 500),
                 help="Selector: the most tasks it may choose (default 50)."),
    click.option("--mode", type=click.Choice(["target", "all"]), default="target",
                 show_default=True, help="Pause mode."),
    click.option("--delay-gate-max", metavar="D", callback=spec_duration,
                 help="Pause a task only once its replication delay is at most D (5m)."),
    click.option("--delay-gate-wait", metavar="W", callback=spec_duration,
                 help="How long to wait for that (default 0s: read once)."),
    click.option("--delay-gate-on-timeout", type=click.Choice(["Pause", "Skip"]),
                 help="After the wait: Pause anyway (default) or Skip the task."),
    click.option("--resume-after", metavar="D", callback=spec_duration,
                 help="Resume this long after the pause (2h)."),
    click.option("--resume-at", metavar="T", help="Resume at this RFC 3339 time."),
    click.option("--catch-up-max-delay", metavar="D", callback=spec_duration,
                 help="After a resume, Resumed only once the delay is at most D (1m)."),
    click.option("--catch-up-timeout", metavar="T", callback=spec_duration,
                 help="How long to wait for the catch-up (default 1h)."),
    click.option("--secret", help="Credentials Secret in the namespace."),
    click.option("--region", help="Region, e.g. eu-de."),
    click.option("--endpoint", help="Explicit DRS endpoint URL."),
    click.option("--name", help="Object name (default: generated, drs-pause-xxxxx; for a "
                                "plan drs-plan-xxxxx)."),
]
#: The flags' parameter names, which :func:`from_flags` takes out of a command's keywords.
NAMES = ("project", "jobs", "selector_db_use_type", "selector_engine_type", "selector_name",
         "selector_name_regex", "selector_tag", "selector_status", "selector_max_jobs", "mode",
         "delay_gate_max", "delay_gate_wait", "delay_gate_on_timeout", "resume_after",
         "resume_at", "catch_up_max_delay", "catch_up_timeout", "secret", "region", "endpoint",
         "name")


def spec_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The flags that describe the object (``pause`` and ``plan`` share them)."""
    for option in reversed(_OPTIONS):
        fn = option(fn)
    return fn


def from_flags(kw: dict[str, Any], *, dry_run: bool) -> dict[str, Any]:
    """The object the flags describe; takes the flags out of ``kw``."""
    f = {name: kw.pop(name) for name in NAMES}
    selector = {
        "dbUseType": f["selector_db_use_type"],
        "engineType": f["selector_engine_type"],
        "name": f["selector_name"],
        "nameRegex": f["selector_name_regex"],
        "tags": _tags(f["selector_tag"]),
        "statuses": f["selector_status"],
        "maxJobs": f["selector_max_jobs"],
    }
    gate = {"maxDelay": f["delay_gate_max"], "waitUpTo": f["delay_gate_wait"],
            "onTimeout": f["delay_gate_on_timeout"]}
    catch_up = {"maxDelay": f["catch_up_max_delay"], "timeout": f["catch_up_timeout"]}
    return build(f["project"], f["jobs"], f["mode"], selector, name=f["name"],
                 secret=f["secret"], region=f["region"], endpoint=f["endpoint"],
                 resume_after=f["resume_after"], resume_at=f["resume_at"],
                 delay_gate=gate, catch_up=catch_up, dry_run=dry_run)


def _given(values: dict[str, Any] | None) -> dict[str, Any]:
    return {k: v for k, v in (values or {}).items() if v not in (None, (), {})}


def build(project: str, jobs: tuple[str, ...], mode: str, selector: dict[str, Any],
          *, name: str | None, secret: str | None, region: str | None, endpoint: str | None,
          resume_after: str | None, resume_at: str | None,
          delay_gate: dict[str, Any] | None = None, catch_up: dict[str, Any] | None = None,
          dry_run: bool = False) -> dict[str, Any]:
    """The DrsJobPause to create (usage errors raise click.UsageError)."""
    wanted = _given(selector)
    gate, catch = _given(delay_gate), _given(catch_up)
    if bool(jobs) == bool(wanted):
        raise click.UsageError("give either --job (one or more) or --selector-* options")
    if wanted and "dbUseType" not in wanted:
        raise click.UsageError("--selector-db-use-type is required with a selector")
    if resume_after and resume_at:
        raise click.UsageError("give at most one of --resume-after and --resume-at")
    if gate and "maxDelay" not in gate:
        raise click.UsageError("--delay-gate-wait and --delay-gate-on-timeout need "
                               "--delay-gate-max")
    if catch and "maxDelay" not in catch:
        raise click.UsageError("--catch-up-timeout needs --catch-up-max-delay")
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
    if gate:
        spec["delayGate"] = gate
    resume: dict[str, Any] = {"after": resume_after} if resume_after else {}
    if resume_at:
        resume["at"] = resume_at
    if catch:
        resume["catchUp"] = catch
    if resume:
        spec["resume"] = resume
    if dry_run:
        spec["dryRun"] = True
    prefix = "drs-plan-" if dry_run else "drs-pause-"
    meta: dict[str, Any] = {"name": name} if name else {"generateName": prefix}
    return {"apiVersion": f"{GROUP}/{VERSION}", "kind": KIND, "metadata": meta, "spec": spec}
