"""kubectl drs's commands with click's runner and a fake cluster: the objects pause and plan
create, pause --wait through the delay gate and the catch-up, plan and pause --dry-run (one
path), replan, exit codes, usage errors (exit 2), and a start without kopf."""

from __future__ import annotations

import subprocess
import sys

import pytest
from click.testing import CliRunner

from drs_pause_operator.plugin.cli import main

from .fakes import (
    J2,
    J3,
    J4,
    JOB,
    PLAN_MESSAGE,
    FakeCluster,
    installed,
    job,
    planned,
    status,
)

READ = "2026-11-28T09:59:00Z"
PAUSE = ["pause", "--project", "p", "--job", JOB]
PLAN = ["plan", "--project", "p", "--job", JOB, "--job", J2, "--job", J3, "--job", J4]


def run(args: list[str]):
    return CliRunner().invoke(main, args, env={"COLUMNS": "100"})


@pytest.mark.parametrize(
    "args",
    [
        ["pause", "--project", "p"],  # neither jobs nor selector
        ["pause", "--project", "p", "--job", JOB, "--selector-db-use-type", "sync"],
        ["pause", "--project", "p", "--selector-name", "orders"],  # no dbUseType
        [*PAUSE, "--resume-after", "1h", "--resume-at", "x"],
        [*PAUSE, "--mode", "stop"],
        [*PAUSE, "--timeout", "soon"],
        [*PAUSE, "--resume-after", "1d"],
        [*PAUSE, "--catch-up-max-delay", "1 minute"],
        [*PAUSE, "--catch-up-max-delay", "1m", "--catch-up-timeout", "2d"],
        [*PAUSE, "--catch-up-timeout", "2h"],  # without a max delay
        [*PAUSE, "--delay-gate-max", "5"],
        [*PAUSE, "--delay-gate-max", "5m", "--delay-gate-wait", "half an hour"],
        [*PAUSE, "--delay-gate-wait", "30m"],  # without a max delay
        [*PAUSE, "--delay-gate-max", "5m", "--delay-gate-on-timeout", "Wait"],
        [*PAUSE, "--keep"],  # only with --dry-run
        ["plan", "--project", "p"],
        ["plan", "--job", JOB],  # no project
        [*PLAN, "--delay-gate-max", "5x"],
        [*PLAN, "--timeout", "soon"],
        ["replan"],
        ["pause", "--job", JOB],  # no project
        ["frobnicate"],
        ["describe"],
    ],
)
def test_usage_errors_exit_2_before_any_request(monkeypatch, args) -> None:
    cluster = installed(monkeypatch, FakeCluster(status("Paused", [job()])))
    result = run(args)
    assert result.exit_code == 2, result.output
    assert cluster.created == [] and cluster.gets == 0


@pytest.mark.parametrize(
    ("flag", "value"),
    [("--catch-up-max-delay", "1 minute"), ("--delay-gate-max", "5"),
     ("--delay-gate-wait", "1d")],
)
def test_a_bad_duration_names_its_flag_and_the_form(monkeypatch, flag, value) -> None:
    installed(monkeypatch, FakeCluster(status("Paused", [job()])))
    extra = [] if flag == "--delay-gate-max" else ["--delay-gate-max", "5m"]
    result = run([*PAUSE, *extra, flag, value])
    assert result.exit_code == 2
    assert f"Invalid value for '{flag}': '{value}' is not a duration in whole hours, " \
           "minutes and seconds such as 90s, 5m, 2h or 1h30m" in result.output


def test_pause_sets_the_delay_gate_and_the_catch_up(monkeypatch) -> None:
    cluster = installed(monkeypatch, FakeCluster(status("Paused", [job()])))
    result = run([*PAUSE, "--delay-gate-max", "5m", "--delay-gate-wait", "30m",
                  "--delay-gate-on-timeout", "Skip", "--resume-after", "2h",
                  "--catch-up-max-delay", "1m", "--catch-up-timeout", "2h"])
    assert result.exit_code == 0, result.output
    (body,) = cluster.created
    assert body["spec"]["delayGate"] == {"maxDelay": "5m", "waitUpTo": "30m",
                                         "onTimeout": "Skip"}
    assert body["spec"]["resume"] == {"after": "2h",
                                      "catchUp": {"maxDelay": "1m", "timeout": "2h"}}
    assert "dryRun" not in body["spec"] and cluster.gets == 0  # no --wait: no wait


def test_pause_wait_follows_the_gate_the_resume_and_the_catch_up(monkeypatch) -> None:
    gated = job(JOB, "Pending", delaySeconds=432, delayTime=READ, delayGateSince=READ)
    cluster = installed(monkeypatch, FakeCluster(
        status("InProgress", [gated]),
        status("Paused", [job(delayAtPause=240)], resumeTime="2020-01-01T00:00:00Z"),
        status("Resuming", [job(resumePhase="Accepted")]),
        status("CatchingUp", [job(resumePhase="CatchingUp", delaySeconds=300,
                                  delayTime=READ)]),
        status("Resumed", [job(resumePhase="Resumed", delaySeconds=20, delayTime=READ)]),
    ))
    result = run([*PAUSE, "--delay-gate-max", "5m", "--resume-after", "90s",
                  "--catch-up-max-delay", "1m", "--wait"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "waiting for delay 1, largest 7m12s  (InProgress)" in out
    assert "resumes at 2020-01-01T00:00:00Z; waiting for the resume" in out
    assert "catching up 1  resuming 0  failed 0  largest delay 5m  (CatchingUp)" in out
    assert ("drs-pause-x7k2p: resumed 1/1  catching up 0  resuming 0  failed 0  (Resumed)"
            in out)
    assert cluster.gets == 5


def test_pause_wait_ends_with_1_when_the_catch_up_times_out(monkeypatch) -> None:
    installed(monkeypatch, FakeCluster(
        status("CatchingUp", [job(resumePhase="CatchingUp", delaySeconds=300,
                                  delayTime=READ)]),
        status("PartiallyResumed", [job(resumePhase="Failed", resumeErrorCode="CatchUpTimeout",
                                        delaySeconds=300, delayTime=READ)]),
    ))
    result = run([*PAUSE, "--catch-up-max-delay", "1m", "--wait"])
    assert result.exit_code == 1, result.output
    assert "(PartiallyResumed)" in result.output


@pytest.mark.parametrize("command", [PLAN, ["pause", "--dry-run", *PAUSE[1:3], "--job", JOB,
                                            "--job", J2, "--job", J3, "--job", J4]])
def test_plan_and_pause_dry_run_print_the_verdicts_and_delete_the_object(monkeypatch,
                                                                        command) -> None:
    cluster = installed(monkeypatch, FakeCluster(status("Pending", []), planned()))
    result = run(command)
    assert result.exit_code == 0, result.output
    (body,) = cluster.created
    assert body["spec"]["dryRun"] is True
    assert body["metadata"] == {"generateName": "drs-plan-"}
    assert cluster.deleted == ["drs-plan-x7k2p"]
    lines = result.output.splitlines()
    assert max(len(line) for line in lines) <= 100
    table = lines[:lines.index("Messages:")]
    verdicts = {line.split()[0]: line.split()[2] for line in table
                if line.split() and line.split()[0] in (JOB, J2, J3, J4)}
    assert verdicts == {JOB: "WouldPause", J2: "AlreadyPaused", J3: "NotPausable",
                        J4: "NotFound"}
    assert PLAN_MESSAGE[:60] in result.output
    assert result.output.rstrip().endswith("drsjobpause.drs.cloudops.dev/drs-plan-x7k2p deleted")


def test_plan_with_the_delay_gate_and_keep(monkeypatch) -> None:
    cluster = installed(monkeypatch, FakeCluster(planned()))
    result = run([*PLAN, "--name", "look", "--delay-gate-max", "5m", "--keep", "--secret", "s",
                  "--mode", "all"])
    assert result.exit_code == 0, result.output
    (body,) = cluster.created
    assert body["metadata"] == {"name": "look"} and body["spec"]["dryRun"] is True
    assert body["spec"]["delayGate"] == {"maxDelay": "5m"}
    assert body["spec"]["credentialsSecretRef"] == {"name": "s"}
    assert {j["pauseMode"] for j in body["spec"]["jobs"]} == {"all"}
    assert cluster.deleted == []
    assert "kept (kubectl drs replan look plans again)" in result.output


def test_a_plan_that_does_not_come_exits_1_and_deletes_the_object(monkeypatch) -> None:
    cluster = installed(monkeypatch, FakeCluster(status("Pending", [])))
    result = run([*PLAN, "--timeout", "0"])
    assert result.exit_code == 1
    assert "no plan after 0s (phase Pending); is the operator running" in result.output
    assert cluster.deleted == ["drs-plan-x7k2p"]


def test_a_plan_the_api_server_refuses_exits_1(monkeypatch) -> None:
    cluster = installed(monkeypatch, FakeCluster(planned(), refuse="create"))
    result = run(PLAN)
    assert result.exit_code == 1 and "create is forbidden" in result.output
    assert cluster.deleted == []


def test_replan_sets_the_annotation(monkeypatch) -> None:
    cluster = installed(monkeypatch, FakeCluster(planned()))
    result = run(["replan", "look"])
    assert result.exit_code == 0
    assert cluster.annotated == [("look", "drs.cloudops.dev/replan")]
    assert "drs.cloudops.dev/replan=2026-11-28T10:00:00.000000Z" in result.output


def test_describe_and_get_show_a_plan(monkeypatch) -> None:
    installed(monkeypatch, FakeCluster(planned()))
    described = run(["describe", "x"])
    assert described.exit_code == 0 and "NotPausable" in described.output
    missing = installed(monkeypatch, FakeCluster(planned(), missing=True))
    result = run(["describe", "nothing-here"])
    assert result.exit_code == 1 and "not found" in result.output and missing.gets == 0


def test_the_plugin_starts_without_kopf() -> None:
    code = ("import sys, drs_pause_operator.plugin.cli; "
            "sys.exit('kopf' in sys.modules or 'drs_pause_operator.engine' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


@pytest.mark.parametrize(
    ("args", "want"),
    [
        (["get"], (None, None, None, False)),
        (["get", "-A"], (None, None, None, True)),
        (["--kubeconfig", "/k", "--context", "c", "get", "-n", "ns"], ("/k", "c", "ns", False)),
        (["-n", "outer", "get", "--namespace", "inner", "--all-namespaces"],
         (None, None, "inner", True)),
        (["--context", "c", "-A", "get"], (None, "c", None, True)),
    ],
)
def test_kubectl_flags_before_or_after_the_subcommand(monkeypatch, args, want) -> None:
    seen = []

    class FakeCluster:
        namespace = "default"

        @classmethod
        def connect(cls, kubeconfig, context, namespace):
            seen.append((kubeconfig, context, namespace))
            return cls()

        def list(self, everywhere, plural="drsjobpauses"):
            seen.append(everywhere)
            return []

        def windows(self, everywhere):
            return None

    monkeypatch.setattr("drs_pause_operator.plugin.cli.Cluster", FakeCluster)
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert (*seen[0], seen[1]) == want
    assert "No DrsJobPause objects found" in result.output
