"""kubectl drs as a subprocess against the real API server, with the operator and the simulator
running: pause --wait (progress, exit codes; through the delay gate, the resume and the catch-up),
get and describe (with the replication delay), plan (verdicts, nothing sent, the object gone),
retry, resume, reselect, replan."""

from __future__ import annotations

import json
import re
import subprocess
import uuid
from pathlib import Path

import pytest

from .conftest import get_status, operator_args, token_secret, wait_for


class Drs:
    """Runs `kubectl drs` (kubectl finds kubectl-drs on PATH) with kubectl's flags; its output
    goes to the test log."""

    def __init__(self, kubectl: Path, plugin_dir: Path, kubeconfig: Path, context: str,
                 namespace: str) -> None:
        self.command = [str(kubectl), "drs"]
        self.env = {"COLUMNS": "100", "PATH": f"{plugin_dir}:/usr/bin:/bin"}
        self.flags = ["--kubeconfig", str(kubeconfig), "--context", context, "-n", namespace]
        self.started: list[subprocess.Popen[str]] = []

    def __call__(self, *args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
        result = subprocess.run([*self.command, *args, *self.flags], capture_output=True,
                                text=True, timeout=timeout, check=False, env=self.env)
        self.log(args, result.returncode, result.stdout, result.stderr)
        return result

    def start(self, *args: str) -> subprocess.Popen[str]:
        """The command in the background (``finish`` collects it)."""
        proc = subprocess.Popen([*self.command, *args, *self.flags], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=self.env)
        proc.args = args
        self.started.append(proc)
        return proc

    def finish(self, proc: subprocess.Popen[str],
               timeout: float = 240) -> subprocess.CompletedProcess[str]:
        out, err = proc.communicate(timeout=timeout)
        self.log(proc.args, proc.returncode, out, err)
        return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)

    @staticmethod
    def log(args, code: int, out: str, err: str) -> None:
        print(f"$ kubectl drs {' '.join(args)}  -> exit {code}")
        print(out, end="")
        print(err, end="")


@pytest.fixture
def drs(cluster, namespace, plugin_dir):
    context = cluster.kubectl("config", "current-context").stdout.strip()
    runner = Drs(cluster.binaries.kubectl, plugin_dir, cluster.kubeconfig, context, namespace)
    yield runner
    for proc in runner.started:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


@pytest.fixture
def operator(cluster, namespace, simulator, start_operator):
    cluster.kubectl("apply", "-f", "-", input=token_secret(namespace))
    return start_operator(operator_args(simulator.url, namespace))


@pytest.fixture
def delay_operator(cluster, namespace, simulator, start_operator):
    """An operator that reads a delay every second (not every 30 s), so a test sees the gate
    open and a catch-up end within seconds."""
    cluster.kubectl("apply", "-f", "-", input=token_secret(namespace))
    return start_operator(operator_args(simulator.url, namespace, "--delay-poll-interval", "1"))


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


COLUMNS = ("JOB ID", "MODE", "PHASE", "PLAN", "TASK STATUS", "DELAY", "ERROR", "TRY", "RESUME",
           "NAME", "PAUSED", "FAILED", "RESUMES", "AGE", "MESSAGE")


def table(text: str, first: str) -> dict[str, dict[str, str]]:
    """The table whose header starts with ``first``, read by the header's positions (blank
    cells read as ""): first cell -> {column: cell}. It ends at a blank or "Messages:" line."""
    lines = text.splitlines()
    top = next(i for i, line in enumerate(lines) if line.startswith(first))
    found = {m.start(): m.group(1) for name in COLUMNS
             for m in re.finditer(rf"(?<!\S)({re.escape(name)})(?!\S)", lines[top])}
    starts = sorted(found)
    rows = {}
    for line in lines[top + 2:]:
        if not line.strip() or line.startswith("Messages:"):
            break
        cells = [line[a:b].strip() for a, b in zip(starts, [*starts[1:], None], strict=True)]
        rows[cells[0]] = {found[a]: cell for a, cell in zip(starts, cells, strict=True)}
    return rows


def sends(simulator) -> int:
    """Every pause and resume request that reached the simulator, for any job, any answer."""
    return len(simulator.calls("pause")) + len(simulator.calls("resume"))


def test_plan_prints_each_verdict_sends_nothing_and_deletes_its_object(
    cluster, namespace, simulator, operator, drs
):
    project = uuid.uuid4().hex
    (pausable,) = seed(simulator, project, 1)
    (paused,) = seed(simulator, project, 1, status="PAUSING")
    (configuring,) = seed(simulator, project, 1, status="CONFIGURATION")
    unknown = str(uuid.uuid4())
    before = sends(simulator)

    result = drs("plan", "--project", project, "--secret", "drs-credentials", "--job", pausable,
                 "--job", paused, "--job", configuring, "--job", unknown, "--name", "look",
                 "--timeout", "90s")
    # First what matters most: the plan sent nothing, whatever it printed.
    assert sends(simulator) == before
    assert result.returncode == 0
    rows = table(result.stdout, "JOB ID")
    assert {j: rows[j]["PLAN"] for j in rows} == {
        pausable: "WouldPause", paused: "AlreadyPaused", configuring: "NotPausable",
        unknown: "NotFound"}
    assert rows[configuring]["TASK STATUS"] == "CONFIGURATION"
    assert rows[paused]["MODE"] == "target"
    assert f"{configuring}  NotPausable: task is CONFIGURATION" in result.stdout
    assert ("plan: 1 would pause, 1 already paused, 1 not pausable, 1 not found (spec.dryRun"
            in result.stdout)
    assert max(len(line) for line in result.stdout.splitlines()) <= 100
    assert "drsjobpause.drs.cloudops.dev/look deleted" in result.stdout
    gone = cluster.kubectl("get", "djp", "look", "-n", namespace, check=False)
    assert gone.returncode != 0 and "NotFound" in gone.stderr
    # It looked (batch-status for the tasks): the plan was made from DRS's answers.
    assert simulator.calls("status", job_id=pausable)
    assert {t["id"]: t["status"] for t in simulator.tasks()}[pausable] == "INCRE_TRANSFER_STARTED"

    # pause --dry-run is the same plan; --keep leaves the object, replan makes the plan again.
    kept = drs("pause", "--dry-run", "--keep", "--project", project, "--secret",
               "drs-credentials", "--job", pausable, "--name", "kept", "--timeout", "90s")
    assert kept.returncode == 0
    assert table(kept.stdout, "JOB ID")[pausable]["PLAN"] == "WouldPause"
    body = json.loads(cluster.kubectl("get", "djp", "kept", "-n", namespace, "-o",
                                      "json").stdout)
    assert body["spec"]["dryRun"] is True and body["status"]["phase"] == "Planned"
    assert drs("replan", "kept").returncode == 0
    token = annotations(cluster, namespace, "kept")["drs.cloudops.dev/replan"]
    wait_for(lambda: get_status(cluster, namespace, "kept").get("replanToken") == token,
             timeout=90, what="planned again")
    assert "Planned" in drs("describe", "kept").stdout
    assert sends(simulator) == before


def test_plan_that_does_not_come_exits_1_and_leaves_nothing(cluster, namespace, drs):
    """No operator watches the namespace: the plan does not come in time."""
    result = drs("plan", "--project", uuid.uuid4().hex, "--job", str(uuid.uuid4()),
                 "--timeout", "3s")
    assert result.returncode == 1
    assert "no plan after 3s (phase Pending); is the operator running" in result.stderr
    listed = json.loads(cluster.kubectl("get", "djp", "-n", namespace, "-o", "json").stdout)
    assert listed["items"] == []


def test_pause_wait_through_the_delay_gate_and_the_catch_up_with_describe_and_get(
    cluster, namespace, simulator, delay_operator, drs
):
    project = uuid.uuid4().hex
    still = {"delay_growth_per_second": 0, "delay_catch_up_per_second": 0}
    (slow,) = seed(simulator, project, 1, delay_seconds=432, **still)
    (quick,) = seed(simulator, project, 1, delay_seconds=3, **still)
    (full,) = seed(simulator, project, 1, status="FULL_TRANSFER_STARTED")  # delay: n/a

    waiting = drs.start("pause", "--project", project, "--secret", "drs-credentials",
                        "--job", slow, "--job", quick, "--job", full, "--name", "gated",
                        "--delay-gate-max", "5m", "--delay-gate-wait", "10m",
                        "--resume-after", "10s", "--catch-up-max-delay", "30s",
                        "--catch-up-timeout", "5m", "--wait", "--timeout", "4m")

    def held() -> bool:
        got = cluster.kubectl("get", "djp", "gated", "-n", namespace, "-o", "json",
                              check=False)  # the command may not have created it yet
        if got.returncode:
            return False
        jobs = {j["jobId"]: j for j in json.loads(got.stdout).get("status", {}).get("jobs", [])}
        return len(jobs) == 3 and bool(jobs[slow].get("delayGateSince")) and (
            jobs[quick]["phase"] == jobs[full]["phase"] == "Paused")

    wait_for(held, timeout=90, what="the gate holds the slow task, the others paused")

    described = drs("describe", "gated")
    assert described.returncode == 0
    assert max(len(line) for line in described.stdout.splitlines()) <= 100
    rows = table(described.stdout, "JOB ID")
    assert (rows[slow]["PHASE"], rows[slow]["DELAY"]) == ("Pending", "7m12s")
    assert (rows[quick]["PHASE"], rows[quick]["DELAY"]) == ("Paused", "3s")
    assert (rows[full]["PHASE"], rows[full]["DELAY"]) == ("Paused", "n/a")
    assert "Delay gate: maxDelay 5m, waitUpTo 10m, onTimeout Pause" in described.stdout
    assert "Catch-up:   maxDelay 30s, timeout 5m" in described.stdout
    listed = drs("get")
    assert table(listed.stdout, "NAME")["gated"]["DELAY"] == "7m12s"
    assert sent(simulator, slow) == 0

    # The delay comes down to the gate's limit: the slow task is paused; after the resume it
    # catches up at 20 s per second, from at most 5m to 30s in at most 14 s.
    simulator.set_delay(slow, delay_seconds=300, delay_catch_up_per_second=20)
    result = drs.finish(waiting, timeout=300)
    assert result.returncode == 0
    err = result.stderr
    assert "waiting for delay 1, largest 7m12s  (InProgress)" in err
    assert "gated: resumes at " in err and "waiting for the resume" in err
    assert "(CatchingUp)" in err and "largest delay" in err
    assert "gated: resumed 3/3  catching up 0  resuming 0  failed 0  (Resumed)" in err
    assert sent(simulator, slow) == 1 and sent(simulator, slow, "resume") == 1

    after = table(drs("describe", "gated").stdout, "JOB ID")
    assert {after[j]["RESUME"] for j in (slow, quick, full)} == {"Resumed"}
    status = get_status(cluster, namespace, "gated")
    slow_entry = next(j for j in status["jobs"] if j["jobId"] == slow)
    # It replicates (and shrinks) from 300 s until the gate's next reading lets it through.
    assert 30 < slow_entry["delayAtPause"] <= 300 and slow_entry["delaySeconds"] <= 30
    assert slow_entry.get("caughtUpTime")
