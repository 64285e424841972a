"""kubectl drs without a cluster: its tables fit 100 columns, its progress and exit codes, the
objects ``pause`` builds, usage errors (exit 2), and a start without kopf."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import click
import pytest
from click.testing import CliRunner
from rich.console import Console

from drs_pause_operator.plugin import views
from drs_pause_operator.plugin.cli import build, main, parse_duration

NOW = dt.datetime(2026, 11, 28, 10, 0, tzinfo=dt.UTC)
JOB = "8d0e8e36-a618-490d-8a46-8c61ac9jb502"


def render(renderable, width: int = 100) -> list[str]:
    console = Console(width=width, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print(renderable)
    return console.export_text().splitlines()


def obj(jobs: list[dict], **status) -> dict:
    return {
        "metadata": {"name": "nightly-maintenance-for-orders", "namespace": "data-platform",
                     "generation": 1, "creationTimestamp": "2026-11-28T07:00:00Z"},
        "spec": {"projectId": "054ba152d480d55b2f5dc0069e7ddef0"},
        "status": {"observedGeneration": 1, "jobs": jobs, **status},
    }


FAILED_JOB = {"jobId": JOB, "pauseMode": "target", "phase": "Failed",
              "taskStatus": "INCRE_TRANSFER_STARTED", "errorCode": "DRS.M05003",
              "errorMessage": "Task information not found. " * 4, "attempts": 3}
PAUSED_JOB = {"jobId": "11111111-2222-3333-4444-555555555555", "pauseMode": "all",
              "phase": "Paused", "taskStatus": "PAUSING", "attempts": 1,
              "resumePhase": "Pending"}


def test_describe_fits_100_columns_and_names_each_error_code() -> None:
    o = obj([FAILED_JOB, PAUSED_JOB], phase="PartiallyPaused",
            summary={"total": 2, "paused": 1, "failed": 1, "pending": 0},
            conditions=[{"type": "Ready", "status": "False", "reason": "PartiallyPaused",
                         "message": "1 of 2 jobs paused; 1 failed: DRS.M05003"}],
            selection={"observedGeneration": 1, "matched": 2, "jobIds": [JOB, "x"],
                       "resolvedTime": "2026-11-28T07:00:01Z"})
    lines = render(views.describe(o, NOW))
    assert max(len(line) for line in lines) <= 100
    text = "\n".join(lines)
    for cell in (JOB, "DRS.M05003", "Failed", "PAUSING", "Pending", "2 matched, 2 chosen",
                 "PartiallyPaused"):
        assert cell in text
    assert "Task information not found." in text  # the message wraps, it is not cut


def test_get_table_fits_and_shows_counts_and_problems() -> None:
    good = obj([PAUSED_JOB], phase="Paused",
               summary={"total": 1, "paused": 1, "failed": 0, "pending": 0},
               resumeTime="2026-11-28T12:00:00Z")
    stuck = obj([], phase="Failed", summary={"total": 0, "paused": 0, "failed": 0,
                                             "pending": 0},
                conditions=[{"type": "Stalled", "status": "True", "reason": "TooManyMatches",
                             "message": "120 DRS tasks match spec.selector, more than " * 3}])
    stuck["metadata"] = {**stuck["metadata"], "name": "selected"}
    lines = render(views.objects_table([good, stuck], NOW, namespaces=True))
    assert max(len(line) for line in lines) <= 100
    text = "\n".join(lines)
    assert "1/1" in text and "in 2h" in text and "3h" in text
    assert "TooManyMatches" in text
    assert lines[0].split()[:7] == ["NAMESPACE", "NAME", "PHASE", "PAUSED", "FAILED", "RESUMES",
                                    "AGE"]


def test_windows_table() -> None:
    window = {"metadata": {"name": "nightly-batch", "namespace": "data-platform"},
              "spec": {"schedule": "0 1 * * 1-5", "timeZone": "Europe/Berlin",
                       "duration": "2h"},
              "status": {"active": [{"name": "nightly-batch-29412060"}],
                         "lastRun": {"phase": "Resumed"},
                         "nextScheduleTime": "2026-11-29T00:00:00Z"}}
    lines = render(views.windows_table([window], NOW))
    assert max(len(line) for line in lines) <= 100
    assert lines[2].split() == ["nightly-batch", "0", "1", "*", "*", "1-5", "Europe/Berlin",
                                "2h", "false", "1", "Resumed", "in", "14h"]


@pytest.mark.parametrize(
    ("status", "settled", "code"),
    [
        ({"phase": "Paused", "summary": {"total": 2, "paused": 2}}, True, 0),
        ({"phase": "PartiallyPaused", "summary": {"total": 2, "paused": 1, "failed": 1}},
         True, 1),
        ({"phase": "Failed", "summary": {"total": 1, "failed": 1}}, True, 1),
        ({"phase": "InProgress", "summary": {"total": 2, "paused": 1, "pending": 1}}, False, 1),
        ({}, False, 1),
    ],
)
def test_progress_and_exit_codes(status, settled, code) -> None:
    o = obj([], **status)
    if not status:
        o["status"] = {}
    progress = views.Progress.of(o)
    assert progress.settled is settled and progress.exit_code == code


def test_an_older_generation_is_not_settled() -> None:
    o = obj([], phase="Paused", summary={"total": 1, "paused": 1})
    o["metadata"]["generation"] = 2
    assert not views.Progress.of(o).settled


def test_a_blocking_problem_ends_the_wait() -> None:
    o = obj([], conditions=[{"type": "Stalled", "status": "True", "reason": "NoMatches",
                             "message": "no DRS task"}])
    assert views.Progress.of(o).blocked == ("NoMatches", "no DRS task")
    o["status"]["conditions"][0]["reason"] = "CredentialsNotFound"  # may clear by itself
    assert views.Progress.of(o).blocked is None


def test_ages() -> None:
    for seconds, text in ((5, "5s"), (119, "119s"), (600, "10m"), (3 * 3600, "3h"),
                          (86400 * 2, "2d")):
        stamp = (NOW - dt.timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")
        assert views.age(stamp, NOW) == text


def test_build_jobs_and_selector() -> None:
    body = build("p", (JOB, JOB), "all", {}, name=None, secret="creds", region=None,
                 endpoint=None, resume_after="2h", resume_at=None)
    assert body["metadata"] == {"generateName": "drs-pause-"}
    assert body["spec"] == {"projectId": "p", "credentialsSecretRef": {"name": "creds"},
                            "jobs": [{"jobId": JOB, "pauseMode": "all"}],
                            "resume": {"after": "2h"}}
    body = build("p", (), "target", {"dbUseType": "sync", "tags": {"team": "pay"},
                                     "statuses": ("INCRE_TRANSFER_STARTED",), "maxJobs": None},
                 name="n", secret=None, region="eu-de", endpoint=None, resume_after=None,
                 resume_at=None)
    assert body["spec"]["selector"] == {"dbUseType": "sync", "tags": {"team": "pay"},
                                        "statuses": ["INCRE_TRANSFER_STARTED"],
                                        "pauseMode": "target"}
    assert body["metadata"] == {"name": "n"} and body["spec"]["region"] == "eu-de"


@pytest.mark.parametrize(
    "args",
    [
        ["pause", "--project", "p"],  # neither jobs nor selector
        ["pause", "--project", "p", "--job", JOB, "--selector-db-use-type", "sync"],
        ["pause", "--project", "p", "--selector-name", "orders"],  # no dbUseType
        ["pause", "--project", "p", "--job", JOB, "--resume-after", "1h", "--resume-at", "x"],
        ["pause", "--project", "p", "--job", JOB, "--mode", "stop"],
        ["pause", "--project", "p", "--job", JOB, "--timeout", "soon"],
        ["pause", "--job", JOB],  # no project
        ["frobnicate"],
        ["describe"],
    ],
)
def test_usage_errors_exit_2(args) -> None:
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output


def test_durations() -> None:
    assert parse_duration("90") == 90 and parse_duration("1h30m") == 5400
    with pytest.raises(click.BadParameter):
        parse_duration("1d")


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
