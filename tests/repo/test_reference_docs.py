"""docs/reference.md stays in step with the product.

Every property of the CRD schema (spec and status, nested, list items written as ``[]``), every
flag of ``drs-pause-operator run``, every environment variable, every reason the operator puts
in a condition or an Event, and every exported metric must be named in the reference, in
backticks, exactly as the product spells it: a field as `spec.jobs[].pauseMode`, a flag as
`--batch-size` or `--batch-size N`, a variable as `DRS_PAUSE_BATCH_SIZE`, a reason as
`CredentialsNotFound`, a metric as `drs_pause_requests_total`.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from drs_pause_operator import cli
from drs_pause_operator.app.metrics import Metrics
from drs_pause_operator.app.settings import Settings, env_name
from drs_pause_operator.resource.events import transition_events
from drs_pause_operator.resource.job import Job
from drs_pause_operator.resource.spec import RETRY_ANNOTATION
from drs_pause_operator.resource.status import ObjectStatus, Problem, pause_conditions, render
from drs_pause_operator.resource.verbs import ACCEPTED, FAILED, PAUSED, PENDING

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "docs" / "reference.md"
CRD = ROOT / "crds" / "drsjobpauses.drs.cloudops.dev.yaml"
PACKAGE = ROOT / "operator" / "drs_pause_operator"


def reference() -> str:
    return REFERENCE.read_text()


def documented(term: str, text: str) -> bool:
    """Is ``term`` written in backticks, alone or followed by an argument (`--flag VALUE`)?"""
    return re.search(rf"`{re.escape(term)}(?:[ =][^`\n]*)?`", text) is not None


def schema() -> dict[str, Any]:
    crd = yaml.safe_load(CRD.read_text())
    (version,) = crd["spec"]["versions"]
    return version["schema"]["openAPIV3Schema"]


def property_paths(node: dict[str, Any], prefix: str = "") -> Iterator[str]:
    """Every property path below ``node``: `spec.jobs`, `spec.jobs[].jobId`, ..."""
    if node.get("type") == "array" and isinstance(node.get("items"), dict):
        yield from property_paths(node["items"], prefix + "[]")
        return
    for name, child in (node.get("properties") or {}).items():
        path = f"{prefix}.{name}" if prefix else name
        yield path
        yield from property_paths(child, path)


def crd_paths(root: dict[str, Any]) -> list[str]:
    top = root["properties"]
    paths = []
    for part in ("spec", "status"):
        paths.append(part)
        paths.extend(property_paths(top[part], part))
    return paths


def undocumented(paths: list[str], text: str) -> list[str]:
    return [p for p in paths if p not in ("spec", "status") and not documented(p, text)]


def test_the_walk_sees_nested_and_list_item_fields() -> None:
    paths = crd_paths(schema())
    for path in (
        "spec.projectId",
        "spec.credentialsSecretRef.name",
        "spec.jobs",
        "spec.jobs[].pauseMode",
        "status.summary.failed",
        "status.conditions[].lastTransitionTime",
        "status.jobs[].nextAttemptTime",
    ):
        assert path in paths


def test_every_crd_field_is_documented() -> None:
    missing = undocumented(crd_paths(schema()), reference())
    assert not missing, (
        f"fields of {CRD.name} missing from docs/reference.md (write each one as its path in "
        f"backticks, e.g. `spec.jobs[].pauseMode`): {missing}"
    )


def test_a_field_added_to_the_crd_without_docs_is_caught() -> None:
    root = copy.deepcopy(schema())
    items = root["properties"]["spec"]["properties"]["jobs"]["items"]
    items["properties"]["comment"] = {"type": "string"}
    root["properties"]["status"]["properties"]["windowEnd"] = {"type": "string"}
    missing = undocumented(crd_paths(root), reference())
    assert missing == ["spec.jobs[].comment", "status.windowEnd"]


def run_flags(capsys: pytest.CaptureFixture[str]) -> list[str]:
    with pytest.raises(SystemExit):
        cli.main(["run", "--help"])
    help_text = capsys.readouterr().out
    flags = set(re.findall(r"(?<![\w-])(--?[A-Za-z][\w-]*)", help_text))
    return sorted(flags - {"-h", "--help"})


def test_every_run_flag_is_documented(capsys: pytest.CaptureFixture[str]) -> None:
    flags = run_flags(capsys)
    assert "--batch-size" in flags and "--liveness" in flags and "-A" in flags
    text = reference()
    missing = [f for f in flags if not documented(f, text)]
    assert not missing, f"`drs-pause-operator run` flags missing from docs/reference.md: {missing}"


def test_every_flag_in_the_reference_tables_exists(capsys: pytest.CaptureFixture[str]) -> None:
    flags = set(run_flags(capsys))
    rows = [line.split("|")[1] for line in reference().splitlines() if line.startswith("| `-")]
    listed = {f for cell in rows for f in re.findall(r"`(--?[A-Za-z][\w-]*)", cell)}
    assert listed, "no flag table in docs/reference.md"
    gone = sorted(listed - flags)
    assert not gone, f"docs/reference.md lists flags `drs-pause-operator run` does not have: {gone}"


def test_every_setting_and_its_environment_variable_is_documented() -> None:
    text = reference()
    missing = [env_name(f) for f in Settings.model_fields if not documented(env_name(f), text)]
    assert not missing, f"environment variables missing from docs/reference.md: {missing}"


def problem_reasons() -> set[str]:
    """Reasons of operator-level problems, as written in the package's source."""
    reasons = set()
    for path in PACKAGE.rglob("*.py"):
        if "dev" in path.relative_to(PACKAGE).parts:
            continue
        source = path.read_text()
        reasons.update(re.findall(r"\b(?:Problem|SecretUnavailable)\(\s*\"([A-Za-z]+)\"", source))
    return reasons


def status_reasons() -> set[str]:
    """Condition and Event reasons, from the status logic run over every kind of job set."""
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    job = Job("8d0e8e36-a618-490d-8a46-8c61ac9jb502", "target")

    def leg(j: Job, **changes: object) -> Job:
        return j.update(pause=j.pause.update(**changes))

    sets = [
        [job],
        [leg(job, attempts=1)],
        [leg(job, phase=ACCEPTED, attempts=1)],
        [leg(job, phase=PAUSED)],
        [leg(job, phase=FAILED, error_code="DRS.M05003")],
        [leg(job, phase=PAUSED), leg(job.update(job_id="x"), phase=FAILED)],
    ]
    reasons: set[str] = set()
    before = render(None, ObjectStatus([job], 1), now)
    stalled = render(None, ObjectStatus([job], 1, _problem()), now)
    for jobs in sets:
        for problem in (None, _problem()):
            reasons.update(c[2] for c in pause_conditions(jobs, problem))
            after = render(before, ObjectStatus(jobs, 1, problem), now)
            reasons.update(e[1] for e in transition_events(before, after))
            reasons.update(e[1] for e in transition_events(stalled, after))
    return reasons - {_problem().reason}


def _problem() -> Problem:
    return Problem("SomeProblem", "details")


def test_every_reason_is_documented() -> None:
    problems = problem_reasons()
    assert {"CredentialsNotFound", "EndpointNotAllowed", "InvalidSpec"} <= problems
    others = status_reasons()
    assert {"Verifying", "JobsFailed", "NotStalled", "Recovered", PENDING} <= others
    text = reference()
    missing = sorted(r for r in problems | others if not documented(r, text))
    assert not missing, f"condition/Event reasons missing from docs/reference.md: {missing}"


def metric_names() -> list[str]:
    names = []
    for family in Metrics().registry.collect():
        suffix = {"counter": "_total", "info": "_info"}.get(family.type, "")
        names.append(family.name + suffix)
    return sorted(names)


def test_every_metric_is_documented() -> None:
    names = metric_names()
    assert names
    text = reference()
    missing = [n for n in names if not documented(n, text)]
    assert not missing, f"metrics missing from docs/reference.md: {missing}"
    listed = set(re.findall(r"`(drs_pause_[a-z_]+)`", text))
    gone = sorted(listed - set(names))
    assert not gone, f"docs/reference.md names metrics the operator does not export: {gone}"


def test_the_retry_annotation_is_documented() -> None:
    assert documented(RETRY_ANNOTATION, reference())
