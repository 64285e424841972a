"""Bad DrsJobPause objects are rejected by the API server itself, with readable messages."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from drs_pause_operator.resource.job import Job, Leg
from drs_pause_operator.resource.status import ObjectStatus, Problem, render
from drs_pause_operator.resource.verbs import PAUSED

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


# -- fixed at creation: projectId, region and endpoint (CEL transition rules on spec) -----------

ENDPOINT = "https://drs.eu-de.otc.t-systems.com"

IMMUTABLE = {
    "change projectId": ({}, {"projectId": "0" * 32}, "spec.projectId", "projectId is immutable"),
    "change region": ({"region": "eu-de"}, {"region": "eu-nl"}, "spec.region",
                      "region is immutable"),
    "add region": ({}, {"region": "eu-nl"}, "spec.region", "cannot be added"),
    "remove region": ({"region": "eu-de"}, {"region": None}, "spec.region", "region is immutable"),
    "change endpoint": ({"endpoint": ENDPOINT}, {"endpoint": "https://drs.eu-nl.otc.t-systems.com"},
                        "spec.endpoint", "endpoint is immutable"),
    "add endpoint": ({}, {"endpoint": ENDPOINT}, "spec.endpoint", "cannot be added"),
    "remove endpoint": ({"endpoint": ENDPOINT}, {"endpoint": None}, "spec.endpoint",
                        "endpoint is immutable"),
}


def create(cluster, namespace: str, **spec: object) -> dict:
    cluster.kubectl("create", "-f", "-",
                    input=manifest(namespace, {"projectId": PROJECT, "jobs": [GOOD_JOB], **spec}))
    return get(cluster, namespace)


def get(cluster, namespace: str) -> dict:
    return json.loads(cluster.kubectl("get", "djp", "bad", "-n", namespace, "-o", "json").stdout)


def merge_patch(cluster, namespace: str, spec: dict, check: bool = True):
    return cluster.kubectl("patch", "djp", "bad", "-n", namespace, "--type=merge",
                           "-p", json.dumps({"spec": spec}), check=check)


@pytest.mark.parametrize("case", list(IMMUTABLE))
def test_project_region_and_endpoint_are_fixed_at_creation(cluster, namespace, case) -> None:
    initial, change, field, text = IMMUTABLE[case]
    before = create(cluster, namespace, **initial)
    result = merge_patch(cluster, namespace, change, check=False)
    assert result.returncode != 0, f"{case} was accepted"
    assert f"{field}: Invalid value" in result.stderr, result.stderr
    assert text in result.stderr and "create another DrsJobPause" in result.stderr, result.stderr
    assert get(cluster, namespace)["spec"] == before["spec"]


def test_jobs_language_and_secret_may_still_change(cluster, namespace) -> None:
    before = create(cluster, namespace, region="eu-de", endpoint=ENDPOINT)
    other = {"jobId": "3f1c2b7a-0d4e-4c8b-9a61-5e2f7c9d1a04", "pauseMode": "all"}
    merge_patch(cluster, namespace, {
        "jobs": [{**GOOD_JOB, "pauseMode": "all"}, other], "language": "zh-cn",
        "credentialsSecretRef": {"name": "other-credentials"},
        # the fixed fields given again unchanged, as a GitOps tool re-applying the manifest does
        "projectId": PROJECT, "region": "eu-de", "endpoint": ENDPOINT,
    })
    cluster.kubectl("annotate", "djp", "bad", "-n", namespace, "drs.cloudops.dev/retry-failed=1")
    after = get(cluster, namespace)
    assert after["spec"]["jobs"] == [{**GOOD_JOB, "pauseMode": "all"}, other]
    assert after["metadata"]["generation"] == before["metadata"]["generation"] + 1


def test_client_side_apply_of_changed_jobs_is_accepted(cluster, namespace) -> None:
    spec = {"projectId": PROJECT, "region": "eu-de", "jobs": [GOOD_JOB]}
    cluster.kubectl("apply", "-f", "-", input=manifest(namespace, spec))
    spec["jobs"] = [{**GOOD_JOB, "pauseMode": "all"}, *jobs(2)]
    cluster.kubectl("apply", "-f", "-", input=manifest(namespace, spec))
    assert len(get(cluster, namespace)["spec"]["jobs"]) == 3


# -- status.conditions are shaped like metav1.Condition ------------------------------------------


def patch_status(cluster, namespace: str, status: dict, check: bool = True):
    return cluster.kubectl("patch", "djp", "bad", "-n", namespace, "--subresource=status",
                           "--type=merge", "-p", json.dumps({"status": status}), check=check)


def test_the_status_the_operator_renders_is_accepted(cluster, namespace) -> None:
    create(cluster, namespace)
    now = dt.datetime.now(dt.UTC)
    paused = Job(GOOD_JOB["jobId"], "target", task_status="PAUSING",
                 pause=Leg(phase=PAUSED, attempts=1, last_attempt_time=now, accepted_time=now))
    for jobs_, problem in (
        ([Job(GOOD_JOB["jobId"], "target")], Problem("CredentialsNotFound", "no Secret")),
        ([paused], None),  # Stalled=False with an empty message
    ):
        status = render(None, ObjectStatus(jobs_, 1, problem, retry_token="2026-01-01"), now)
        patch_status(cluster, namespace, status)
        got = get(cluster, namespace)["status"]
        assert got["conditions"] == status["conditions"]
    assert got["phase"] == "Paused" and got["conditions"][2]["message"] == ""


CONDITION = {"type": "Ready", "status": "True", "reason": "Paused", "message": "",
             "observedGeneration": 1, "lastTransitionTime": "2026-01-01T00:00:00Z"}

BAD_CONDITIONS = {
    "no reason": ({k: v for k, v in CONDITION.items() if k != "reason"},
                  "status.conditions[0].reason: Required value"),
    "no message": ({k: v for k, v in CONDITION.items() if k != "message"},
                   "status.conditions[0].message: Required value"),
    "no lastTransitionTime": ({k: v for k, v in CONDITION.items() if k != "lastTransitionTime"},
                              "status.conditions[0].lastTransitionTime: Required value"),
    "status Maybe": ({**CONDITION, "status": "Maybe"}, "status.conditions[0].status: Unsupported"),
    "reason with spaces": ({**CONDITION, "reason": "All paused"},
                           "status.conditions[0].reason: Invalid value"),
    "type with spaces": ({**CONDITION, "type": "Is ready"},
                         "status.conditions[0].type: Invalid value"),
    "negative observedGeneration": ({**CONDITION, "observedGeneration": -1},
                                    "status.conditions[0].observedGeneration: Invalid value"),
}


@pytest.mark.parametrize("case", list(BAD_CONDITIONS))
def test_malformed_conditions_are_rejected(cluster, namespace, case) -> None:
    condition, expected = BAD_CONDITIONS[case]
    create(cluster, namespace)
    result = patch_status(cluster, namespace, {"conditions": [condition]}, check=False)
    assert result.returncode != 0, f"{case} was accepted"
    assert expected in result.stderr, result.stderr
