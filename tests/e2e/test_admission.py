"""Bad DrsJobPause objects are rejected by the API server itself, with readable messages."""

from __future__ import annotations

import json

import pytest

from .conftest import PROJECT

GOOD_JOB = {"jobId": "8d0e8e36-a618-490d-8a46-8c61ac9jb502", "pauseMode": "target"}


def manifest(namespace: str, spec: dict) -> str:
    return json.dumps({
        "apiVersion": "drs.cloudops.dev/v1alpha1", "kind": "DrsJobPause",
        "metadata": {"name": "bad", "namespace": namespace}, "spec": spec,
    })


def jobs(n: int) -> list[dict]:
    return [{"jobId": f"00000000-0000-0000-0000-{i:012d}", "pauseMode": "all"} for i in range(n)]


CASES = {
    "bad jobId": ({"projectId": PROJECT, "jobs": [{"jobId": "not-a-uuid", "pauseMode": "all"}]},
                  ["spec.jobs[0].jobId", "should match"]),
    "bad pauseMode": ({"projectId": PROJECT, "jobs": [{**GOOD_JOB, "pauseMode": "stop"}]},
                      ["spec.jobs[0].pauseMode", "Unsupported value", '"target", "all"']),
    "empty jobs": ({"projectId": PROJECT, "jobs": []}, ["spec.jobs", "at least 1 item"]),
    "duplicate jobs": ({"projectId": PROJECT, "jobs": [GOOD_JOB, {**GOOD_JOB, "pauseMode": "all"}]},
                       ["spec.jobs[1]", "Duplicate value"]),
    "501 jobs": ({"projectId": PROJECT, "jobs": jobs(501)}, ["spec.jobs", "at most 500 items"]),
    "missing projectId": ({"jobs": [GOOD_JOB]}, ["spec.projectId", "Required value"]),
    "projectId with slash": ({"projectId": "a/b", "jobs": [GOOD_JOB]},
                             ["spec.projectId", "should match"]),
    "missing pauseMode": ({"projectId": PROJECT, "jobs": [{"jobId": GOOD_JOB["jobId"]}]},
                          ["spec.jobs[0].pauseMode", "Required value"]),
    "unknown field": ({"projectId": PROJECT, "jobs": [GOOD_JOB], "pauseAll": True},
                      ['unknown field "spec.pauseAll"']),
    "endpoint not a URL": ({"projectId": PROJECT, "jobs": [GOOD_JOB], "endpoint": "drs.example"},
                           ["spec.endpoint", "should match"]),
    "endpoint ftp": ({"projectId": PROJECT, "jobs": [GOOD_JOB], "endpoint": "ftp://drs.example"},
                     ["spec.endpoint", "should match"]),
    "bad language": ({"projectId": PROJECT, "jobs": [GOOD_JOB], "language": "de-de"},
                     ["spec.language", "Unsupported value"]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_is_rejected_with_a_readable_message(cluster, namespace, case) -> None:
    spec, expected = CASES[case]
    result = cluster.kubectl("apply", "-f", "-", input=manifest(namespace, spec), check=False)
    assert result.returncode != 0, f"{case} was accepted"
    for text in expected:
        assert text in result.stderr, f"{case}: {text!r} not in {result.stderr!r}"
    assert cluster.kubectl("get", "djp", "-n", namespace, "-o", "name").stdout.strip() == ""


def test_real_drs_ids_that_are_not_hex_are_accepted(cluster, namespace) -> None:
    spec = {"projectId": PROJECT, "jobs": [GOOD_JOB, *jobs(499)], "region": "eu-nl",
            "endpoint": "https://drs.eu-nl.otc.t-systems.com", "language": "zh-cn"}
    cluster.kubectl("apply", "-f", "-", input=manifest(namespace, spec))
    got = json.loads(cluster.kubectl("get", "djp", "bad", "-n", namespace, "-o", "json").stdout)
    assert len(got["spec"]["jobs"]) == 500


def test_status_cannot_be_written_through_the_main_resource(cluster, namespace) -> None:
    spec = {"projectId": PROJECT, "jobs": [GOOD_JOB]}
    body = json.loads(manifest(namespace, spec))
    body["status"] = {"phase": "Paused"}
    cluster.kubectl("apply", "-f", "-", input=json.dumps(body))
    got = json.loads(cluster.kubectl("get", "djp", "bad", "-n", namespace, "-o", "json").stdout)
    assert "status" not in got  # the status subresource ignores status on the main resource
