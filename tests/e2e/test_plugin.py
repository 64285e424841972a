"""kubectl drs as a subprocess against the real API server, with the operator and the simulator
running: pause --wait (progress, exit codes), get, describe, retry, resume, reselect."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from .conftest import get_status, operator_args, token_secret, wait_for

SOURCE_ROOT = Path(__file__).resolve().parents[2] / "operator"


@pytest.fixture(scope="module")
def plugin_dir(tmp_path_factory) -> Path:
    """A folder with the executable `kubectl-drs`, as the package installs it, except that it runs
    this clone's plugin with the tests' Python (the venv holds no project)."""
    folder = tmp_path_factory.mktemp("plugin-bin")
    script = folder / "kubectl-drs"
    script.write_text(
        f"#!/bin/sh\nPYTHONPATH={shlex.quote(str(SOURCE_ROOT))} "
        f"exec {shlex.quote(sys.executable)} -m drs_pause_operator.plugin.cli \"$@\"\n"
    )
    script.chmod(0o755)
    return folder


@pytest.fixture
def drs(cluster, namespace, plugin_dir):
    """Run `kubectl drs` (kubectl finds kubectl-drs on PATH) with kubectl's flags; its output goes
    to the test log."""
    context = cluster.kubectl("config", "current-context").stdout.strip()
    env = {"COLUMNS": "100", "PATH": f"{plugin_dir}:/usr/bin:/bin"}

    def run(*args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
        cmd = [str(cluster.binaries.kubectl), "drs", *args, "--kubeconfig",
               str(cluster.kubeconfig), "--context", context, "-n", namespace]
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                                check=False, env=env)
        print(f"$ kubectl drs {' '.join(args)}  -> exit {result.returncode}")
        print(result.stdout, end="")
        print(result.stderr, end="")
        return result

    return run


@pytest.fixture
def operator(cluster, namespace, simulator, start_operator):
    cluster.kubectl("apply", "-f", "-", input=token_secret(namespace))
    return start_operator(operator_args(simulator.url, namespace))


def seed(simulator, project: str, n: int, **fields) -> list[str]:
    ids = [str(uuid.uuid4()) for _ in range(n)]
    simulator.seed([{"id": i, "status": "INCRE_TRANSFER_STARTED", "project_id": project,
                     **fields} for i in ids])
    return ids


def sent(simulator, job_id: str, endpoint: str = "pause") -> int:
    return sum(job_id in (c.get("job_ids") or []) for c in simulator.calls(endpoint))


def annotations(cluster, namespace: str, name: str) -> dict[str, str]:
    body = json.loads(cluster.kubectl("get", "djp", name, "-n", namespace, "-o", "json").stdout)
    return body["metadata"].get("annotations") or {}


def test_pause_wait_get_describe_retry_and_resume(cluster, namespace, simulator, operator, drs):
    project = uuid.uuid4().hex
    a, b = seed(simulator, project, 2)
    common = ("--project", project, "--secret", "drs-credentials", "--timeout", "3m")

    ok = drs("pause", *common, "--job", a, "--job", b, "--mode", "all", "--name", "ok", "--wait")
    assert ok.returncode == 0
    assert "paused 2/2  failed 0  pending 0" in ok.stderr  # the progress lines
    assert "drsjobpause.drs.cloudops.dev/ok created" in ok.stdout

    unknown = str(uuid.uuid4())
    (c,) = seed(simulator, project, 1)
    bad = drs("pause", *common, "--job", c, "--job", unknown, "--name", "bad", "--wait")
    assert bad.returncode == 1
    assert "failed 1" in bad.stderr and "PartiallyPaused" in bad.stderr

    listed = drs("get")
    assert listed.returncode == 0
    rows = {line.split()[0]: line.split() for line in listed.stdout.splitlines()[2:] if line}
    assert rows["ok"][1:4] == ["Paused", "2/2", "0"]
    assert rows["bad"][1:4] == ["PartiallyPaused", "1/2", "1"]
    assert max(len(line) for line in listed.stdout.splitlines()) <= 100

    described = drs("describe", "bad")
    assert described.returncode == 0
    status = get_status(cluster, namespace, "bad")
    codes = {j["jobId"]: j["errorCode"] for j in status["jobs"]}
    assert codes[unknown] in ("DRS.M00289", "DRS.M05003")
    lines = described.stdout.splitlines()
    assert max(len(line) for line in lines) <= 100
    row = next(line for line in lines if line.startswith(unknown) and "Failed" in line)
    assert codes[unknown] in row
    assert next(line for line in lines if line.startswith(c)).split()[2] == "Paused"

    # retry: the annotation is set, and the operator sends the failed job once more.
    before = sent(simulator, unknown)
    retried = drs("retry", "bad")
    assert retried.returncode == 0
    token = annotations(cluster, namespace, "bad")["drs.cloudops.dev/retry-failed"]
    assert f"drs.cloudops.dev/retry-failed={token}" in retried.stdout
    wait_for(lambda: get_status(cluster, namespace, "bad").get("retryFailedToken") == token
             and sent(simulator, unknown) > before, timeout=90, what="failed job sent again")

    # resume: the annotation is set, and the operator resumes what the object paused.
    resumed = drs("resume", "ok")
    assert resumed.returncode == 0
    token = annotations(cluster, namespace, "ok")["drs.cloudops.dev/resume-now"]
    assert f"drs.cloudops.dev/resume-now={token}" in resumed.stdout
    wait_for(lambda: sent(simulator, a, "resume") and sent(simulator, b, "resume"),
             timeout=90, what="the paused jobs resumed")
    wait_for(lambda: {t["id"]: t["status"] for t in simulator.tasks()}[a] != "PAUSING",
             timeout=90, what="task out of PAUSING")

    missing = drs("describe", "nothing-here")
    assert missing.returncode == 1 and "not found" in missing.stderr


def test_pause_by_selector_and_reselect(cluster, namespace, simulator, operator, drs):
    project, prefix = uuid.uuid4().hex, f"pay-{uuid.uuid4().hex[:6]}"
    first = seed(simulator, project, 2, db_use_type="sync", name=f"{prefix}-1")
    result = drs("pause", "--project", project, "--secret", "drs-credentials",
                 "--selector-db-use-type", "sync", "--selector-name-regex", f"^{prefix}-",
                 "--name", "chosen", "--wait", "--timeout", "3m")
    assert result.returncode == 0 and "paused 2/2" in result.stderr
    spec = json.loads(cluster.kubectl("get", "djp", "chosen", "-n", namespace, "-o",
                                      "json").stdout)["spec"]
    assert spec["selector"] == {"dbUseType": "sync", "nameRegex": f"^{prefix}-",
                                "pauseMode": "target", "maxJobs": 50}

    (later,) = seed(simulator, project, 1, db_use_type="sync", name=f"{prefix}-2")
    assert drs("reselect", "chosen").returncode == 0
    token = annotations(cluster, namespace, "chosen")["drs.cloudops.dev/reselect"]
    status = wait_for(lambda: (s := get_status(cluster, namespace, "chosen")).get("selection",
                      {}).get("reselectToken") == token and s.get("phase") == "Paused" and s,
                      timeout=90, what="reselected")
    assert sorted(status["selection"]["jobIds"]) == sorted([*first, later])
    assert sent(simulator, later) == 1 and all(sent(simulator, j) == 1 for j in first)

    too_many = drs("pause", "--project", project, "--secret", "drs-credentials",
                   "--selector-db-use-type", "sync", "--selector-name-regex", f"^{prefix}-",
                   "--selector-status", "PAUSING", "--selector-max-jobs", "1", "--wait")
    assert too_many.returncode == 1 and "TooManyMatches" in too_many.stderr


def test_usage_errors_exit_2(drs) -> None:
    assert drs("pause", "--project", "p").returncode == 2
    assert drs("pause", "--project", "p", "--job", "x", "--selector-db-use-type",
               "sync").returncode == 2
    assert drs("nonsense").returncode == 2


def test_get_lists_pause_windows_and_a_selector_template_is_accepted(
    cluster, namespace, operator, drs
):
    window = {
        "apiVersion": "drs.cloudops.dev/v1alpha1", "kind": "DrsPauseWindow",
        "metadata": {"name": "yearly", "namespace": namespace},
        "spec": {"schedule": "0 1 1 1 *", "timeZone": "Europe/Berlin", "duration": "2h",
                 "template": {"projectId": uuid.uuid4().hex,
                              "credentialsSecretRef": {"name": "drs-credentials"},
                              "selector": {"dbUseType": "sync", "nameRegex": "^orders-",
                                           "pauseMode": "target"}}},
    }
    cluster.kubectl("apply", "-f", "-", input=json.dumps(window))

    def judged():
        body = json.loads(cluster.kubectl("get", "drspausewindow", "yearly", "-n", namespace,
                                          "-o", "json").stdout)
        return body.get("status", {}).get("conditions") and body["status"]

    status = wait_for(judged, timeout=90, what="the window's conditions")
    reasons = {c["type"]: c["reason"] for c in status["conditions"]}
    assert "InvalidTemplate" not in reasons.values() and "InvalidSpec" not in reasons.values()

    listed = drs("get")
    assert listed.returncode == 0
    lines = listed.stdout.splitlines()
    assert max(len(line) for line in lines) <= 100
    header = next(line for line in lines if line.startswith("WINDOW"))
    assert header.split() == ["WINDOW", "SCHEDULE", "TIMEZONE", "DURATION", "SUSPEND", "ACTIVE",
                              "LAST", "NEXT"]
    row = next(line for line in lines if line.startswith("yearly"))
    assert "Europe/Berlin" in row and "0 1 1 1 *" in row and " in " in row
