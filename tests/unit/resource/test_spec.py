"""The operator's own parse of spec: readable SpecErrors, the UUID shape, duplicates, and
spec.resume's durations and times."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest

from drs_pause_operator.resource.spec import JOB_ID_RE, SpecError, parse_duration, parse_spec

from ..values import J1, J2

PROJECT = "054ba152d480d55b2f5dc0069e7ddef0"


def _spec(**changes: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {"projectId": PROJECT, "jobs": [{"jobId": J1, "pauseMode": "target"}]}
    spec.update(changes)
    return {k: v for k, v in spec.items() if v is not ...}


def test_full_spec_parses() -> None:
    spec = parse_spec(
        _spec(
            region="eu-de",
            endpoint="https://drs.eu-de.otc.t-systems.com",
            credentialsSecretRef={"name": "drs-credentials"},
            language="zh-cn",
            jobs=[{"jobId": J1, "pauseMode": "target"}, {"jobId": J2, "pauseMode": "all"}],
        )
    )
    assert spec.project_id == PROJECT
    assert spec.region == "eu-de"
    assert spec.credentials_secret_ref is not None
    assert spec.credentials_secret_ref.name == "drs-credentials"
    assert spec.language == "zh-cn"
    assert [(j.job_id, j.pause_mode) for j in spec.jobs] == [(J1, "target"), (J2, "all")]


def test_defaults() -> None:
    spec = parse_spec(_spec())
    assert spec.language == "en-us"
    assert spec.region is None and spec.endpoint is None and spec.credentials_secret_ref is None


@pytest.mark.parametrize(
    "job_id",
    [
        "8d0e8e36-a618-490d-8a46-8c61ac9jb502",  # the API's own example: not hex
        "ZZZZZZZZ-zzzz-ZZZZ-zzzz-ZZZZZZZZZZZZ",
        "00000000-0000-0000-0000-000000000000",
    ],
)
def test_uuid_shaped_ids_of_letters_and_digits_are_valid(job_id: str) -> None:
    assert parse_spec(_spec(jobs=[{"jobId": job_id, "pauseMode": "all"}])).jobs[0].job_id == job_id


@pytest.mark.parametrize(
    "job_id",
    [
        "8d0e8e36a618490d8a468c61ac9jb502",  # no dashes
        "8d0e8e36-a618-490d-8a46-8c61ac9jb50",  # 11 at the end
        "8d0e8e36-a618-490d-8a46-8c61ac9jb5023",
        "8d0e8e3_-a618-490d-8a46-8c61ac9jb502",
        " 8d0e8e36-a618-490d-8a46-8c61ac9jb502",
        "8d0e8e36-a618-490d-8a46-8c61ac9jb502\n",
        "8d0e8e36-a618-490d-8a46-8c61ac9jb5ü2",
        "",
    ],
)
def test_other_ids_are_refused_with_a_readable_message(job_id: str) -> None:
    with pytest.raises(SpecError) as err:
        parse_spec(_spec(jobs=[{"jobId": job_id, "pauseMode": "target"}]))
    assert "spec.jobs.0.jobId" in str(err.value)
    assert "UUID-shaped" in str(err.value)
    assert JOB_ID_RE.fullmatch(job_id) is None


@pytest.mark.parametrize(
    ("changes", "fragments"),
    [
        ({"projectId": ...}, ["spec.projectId", "required"]),
        ({"projectId": ""}, ["spec.projectId"]),
        ({"projectId": "a/b"}, ["spec.projectId"]),
        ({"projectId": "a b"}, ["spec.projectId"]),
        ({"jobs": []}, ["spec.jobs", "at least 1"]),
        ({"jobs": ...}, ["spec.jobs", "required"]),
        (
            {"jobs": [{"jobId": J1, "pauseMode": "target"}] * 2},
            ["spec.jobs", f"duplicate jobId {J1}"],
        ),
        ({"jobs": [{"jobId": J1, "pauseMode": "both"}]}, ["spec.jobs.0.pauseMode", "'target'"]),
        ({"jobs": [{"jobId": J1}]}, ["spec.jobs.0.pauseMode", "required"]),
        ({"jobs": [{"jobId": J1, "pauseMode": "all", "extra": 1}]}, ["spec.jobs.0.extra"]),
        ({"language": "de-de"}, ["spec.language"]),
        ({"credentialsSecretRef": {"name": ""}}, ["spec.credentialsSecretRef.name"]),
        (
            {"credentialsSecretRef": {"name": "x", "namespace": "other"}},
            ["spec.credentialsSecretRef.namespace"],
        ),  # never another namespace
        ({"unknownField": True}, ["spec.unknownField"]),
        ({"region": "x@evil.example/"}, ["spec.region"]),
        ({"region": "evil.example#"}, ["spec.region"]),
        ({"region": "EU-DE"}, ["spec.region"]),
        ({"region": ""}, ["spec.region"]),
        ({"region": "a" * 64}, ["spec.region"]),
    ],
)
def test_spec_errors_are_readable(changes: dict[str, Any], fragments: list[str]) -> None:
    with pytest.raises(SpecError) as err:
        parse_spec(_spec(**changes))
    message = str(err.value)
    for fragment in fragments:
        assert fragment in message
    assert "\n" not in message and "pydantic" not in message.lower()


def test_500_jobs_allowed_501_not() -> None:
    jobs = [
        {"jobId": f"{i:08d}-0000-0000-0000-000000000000", "pauseMode": "target"} for i in range(501)
    ]
    assert len(parse_spec(_spec(jobs=jobs[:500])).jobs) == 500
    with pytest.raises(SpecError, match=r"spec\.jobs"):
        parse_spec(_spec(jobs=jobs))


def test_many_errors_are_capped_at_five() -> None:
    jobs = [{"jobId": f"bad-{i}", "pauseMode": "target"} for i in range(20)]
    with pytest.raises(SpecError) as err:
        parse_spec(_spec(jobs=jobs))
    assert str(err.value).count("UUID-shaped") == 5


@pytest.mark.parametrize("region", ["eu-de", "eu-nl", "ap-southeast-1", "cn-north-4", "x"])
def test_real_region_names_parse(region: str) -> None:
    assert parse_spec(_spec(region=region)).region == region


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("5s", 5), ("15m", 900), ("2h", 7200), ("1h30m", 5400), ("1h0m10s", 3610)],
)
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text) == dt.timedelta(seconds=seconds)


@pytest.mark.parametrize("resume_spec", [{"after": "5"}, {"after": "1d"}, {"after": ""},
                                         {"after": "30m1h"},
                                         {"after": "1h", "at": "2026-12-01T06:00:00Z"},
                                         {"at": "2026-12-01T06:00:00"}, {"when": "later"}])
def test_bad_resume_specs_are_refused(resume_spec: dict[str, Any]) -> None:
    with pytest.raises(SpecError):
        parse_spec({"projectId": "p", "jobs": [{"jobId": J1, "pauseMode": "all"}],
                    "resume": resume_spec})


@pytest.mark.parametrize(
    ("extra", "error"),
    [
        ({"delayGate": {}}, "spec.delayGate.maxDelay: Field required"),
        ({"delayGate": {"maxDelay": "5x"}}, "'5x' is not a duration"),
        ({"delayGate": {"maxDelay": "5m", "waitUpTo": "soon"}}, "spec.delayGate.waitUpTo"),
        ({"delayGate": {"maxDelay": "5m", "onTimeout": "Wait"}}, "'Pause' or 'Skip'"),
        ({"delayGate": {"maxDelay": "5m", "extra": 1}}, "spec.delayGate.extra"),
        ({"resume": {"catchUp": {"timeout": "1h"}}}, "spec.resume.catchUp.maxDelay"),
        ({"resume": {"catchUp": {"maxDelay": "1m", "timeout": "1d"}}}, "'1d' is not a duration"),
        ({"dryRun": "maybe"}, "spec.dryRun"),
    ],
)
def test_bad_delay_and_plan_fields_say_which(extra: dict, error: str) -> None:
    with pytest.raises(SpecError, match=re.escape(error)):
        parse_spec(_spec(**extra))


def test_delay_and_plan_fields_parse() -> None:
    spec = parse_spec(_spec(dryRun=True,
                            delayGate={"maxDelay": "5m", "waitUpTo": "30m", "onTimeout": "Skip"},
                            resume={"after": "2h", "catchUp": {"maxDelay": "1m"}}))
    assert spec.dry_run and spec.delay_gate is not None and spec.resume is not None
    assert (spec.delay_gate.max_delay_seconds, spec.delay_gate.wait.total_seconds()) == (300, 1800)
    assert spec.delay_gate.on_timeout == "Skip"
    assert spec.resume.catch_up is not None
    assert (spec.resume.catch_up.max_delay_seconds, spec.resume.catch_up.limit.total_seconds()
            ) == (60, 3600)  # timeout defaults to 1h
    assert parse_spec(_spec()).delay_gate is None and not parse_spec(_spec()).dry_run
