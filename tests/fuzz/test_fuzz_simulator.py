"""Schemathesis against the OpenAPI description the simulator publishes (GET /openapi.json).

Every operation gets schema-valid and schema-violating requests (bodies, path, headers, with
and without credentials). The simulator must never answer 5xx, never take long, answer only
documented status codes with documented bodies and headers, reject what the schema forbids, and
accept what it allows (up to the rules JSON Schema cannot say: job ids must not repeat, tag keys
must not repeat in the task list's tags array, and are at most 36 characters in its object form).
"""

from __future__ import annotations

import json
import time

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from drs_pause_operator.dev.simulator.openapi import openapi_document

from .conftest import FUZZ_MAX_JOBS, TOKEN

# The document as the code builds it for the fuzzing simulator's settings (needed at collection,
# before any server runs); test_openapi_matches_pages checks that the served one is the same.
schema = schemathesis.openapi.from_dict(openapi_document(max_jobs=FUZZ_MAX_JOBS))
MAX_SECONDS = 5.0


def _repeated_job_ids(case) -> bool:
    jobs = case.body.get("jobs") if isinstance(case.body, dict) else None
    if not isinstance(jobs, list):
        return False
    ids = [j.get("job_id") if isinstance(j, dict) else j for j in jobs]
    ids = [json.dumps(i, sort_keys=True) for i in ids]
    return len(set(ids)) != len(ids)


def _tag_keys_clash_or_too_long(case) -> bool:
    """Two rules of the task list's tags that the schema cannot say: keys are unique in the
    array form, and at most 36 characters long in the {key: value} form."""
    tags = case.body.get("tags") if isinstance(case.body, dict) else None
    if isinstance(tags, dict):
        return any(len(key) > 36 for key in tags)
    if isinstance(tags, list):
        keys = [t.get("key") for t in tags if isinstance(t, dict) and t.get("key")]
        return len(set(keys)) != len(keys)
    return False


def _check_valid_data_accepted(case, response) -> None:
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code < 400:
        return
    if case.path == "/v3/auth/tokens" and response.status_code == 401:
        return  # well-formed, but not a user the simulator knows
    body = response.json()
    if response.status_code == 400 and body.get("error_code") == "DRS.M00301":
        assert _repeated_job_ids(case), body  # "There are duplicate job_id in request."
        return
    if response.status_code == 400 and body.get("error_code") in {"DRS.M00269", "DRS.M00270"}:
        assert _tag_keys_clash_or_too_long(case), body
        return
    raise AssertionError(f"valid request rejected: {response.status_code} {body}\n"
                         f"{case.as_curl_command()}")


@schema.parametrize()
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck),
          derandomize=True)
def test_simulator_conforms_to_its_schema(case, fuzz_simulator):
    started = time.monotonic()
    response = case.call(base_url=fuzz_simulator.url, headers={"X-Auth-Token": TOKEN},
                         timeout=MAX_SECONDS)
    elapsed = time.monotonic() - started
    assert elapsed < MAX_SECONDS, f"{case.as_curl_command()} took {elapsed:.1f}s"
    assert response.status_code < 500, case.as_curl_command()
    assert response.headers.get("x-request-id"), case.as_curl_command()
    case.validate_response(response, excluded_checks=[positive_data_acceptance])
    _check_valid_data_accepted(case, response)
