"""The object pause and plan create from their flags, and the flags refused before anything
reaches the API server."""

from __future__ import annotations

import click
import pytest

from drs_pause_operator.plugin.build import build, parse_duration, spec_duration

from .fakes import JOB


def _build(**changes):
    args = {"name": None, "secret": None, "region": None, "endpoint": None,
            "resume_after": None, "resume_at": None, **changes}
    return build("p", (JOB,), "target", {}, **args)


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


def test_build_a_delay_gate_and_a_catch_up() -> None:
    spec = _build(resume_after="2h",
                  delay_gate={"maxDelay": "5m", "waitUpTo": "30m", "onTimeout": "Skip"},
                  catch_up={"maxDelay": "1m", "timeout": "2h"})["spec"]
    assert spec["delayGate"] == {"maxDelay": "5m", "waitUpTo": "30m", "onTimeout": "Skip"}
    assert spec["resume"] == {"after": "2h", "catchUp": {"maxDelay": "1m", "timeout": "2h"}}
    # Only what was given; a catch-up alone is a resume policy without a schedule.
    spec = _build(delay_gate={"maxDelay": "5m", "waitUpTo": None, "onTimeout": None},
                  catch_up={"maxDelay": "1m", "timeout": None})["spec"]
    assert spec["delayGate"] == {"maxDelay": "5m"} and spec["resume"] == {
        "catchUp": {"maxDelay": "1m"}}
    assert "dryRun" not in spec


def test_build_a_plan() -> None:
    body = _build(dry_run=True)
    assert body["spec"]["dryRun"] is True
    assert body["metadata"] == {"generateName": "drs-plan-"}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"delay_gate": {"waitUpTo": "30m"}}, "need --delay-gate-max"),
        ({"delay_gate": {"onTimeout": "Skip"}}, "need --delay-gate-max"),
        ({"catch_up": {"timeout": "2h"}}, "--catch-up-timeout needs --catch-up-max-delay"),
        ({"resume_after": "1h", "resume_at": "2026-12-01T06:00:00Z"}, "at most one of"),
    ],
)
def test_flags_that_need_or_exclude_others(changes, message) -> None:
    with pytest.raises(click.UsageError, match=message):
        _build(**changes)


@pytest.mark.parametrize("good", ["90s", "5m", "2h", "1h30m", "0s", "999999h"])
def test_spec_durations_as_the_crd_takes_them(good) -> None:
    assert spec_duration(None, None, good) == good  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", ["", "5", "1d", "5M", "1.5h", "30m1h", "1234567h", " 5m", "-5m"])
def test_spec_durations_the_crd_refuses(bad) -> None:
    with pytest.raises(click.BadParameter, match="whole hours, minutes and seconds"):
        spec_duration(None, None, bad)  # type: ignore[arg-type]


def test_the_plugins_own_timeouts() -> None:
    assert parse_duration("90") == 90 and parse_duration("1h30m") == 5400
    with pytest.raises(click.BadParameter):
        parse_duration("1d")
