"""Garbage in: always a 4xx (or a 2xx), never a 5xx, never a hang, and the server stays up.

Runs against the simulator as a separate process (SimulatorProcess), so a crash would show.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drs_pause_operator.dev.simulator.testing import SimulatorProcess

from .helpers import JOB_A, JOB_B, PROJECT, TOKEN

OPERATIONS = ["batch-pause-task", "batch-status", "batch-retry-task"]
LIST = ""  # POST /v3/{project_id}/jobs, the task list


def url(operation: str) -> str:
    return f"/v3/{PROJECT}/jobs/{operation}" if operation else f"/v3/{PROJECT}/jobs"


FUZZ = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=25,
)
job_ids = st.sampled_from([JOB_A, JOB_B, "", "x", JOB_A.upper()]) | st.text(max_size=40)
job_items = st.fixed_dictionaries(
    {},
    optional={
        "job_id": job_ids | json_values,
        "pause_mode": st.sampled_from(["target", "all", "", "ALL"]) | json_values,
        "is_sync_re_edit": json_values,
    },
)
bodies = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {"jobs": st.lists(job_items | json_values | job_ids, max_size=6)},
        optional={
            "page_req": st.dictionaries(st.sampled_from(["cur_page", "per_page"]), json_values)
        },
    ),
)


list_values = st.sampled_from(["", "migration", "sync", "mysql", "PAUSING", "eip"]) | json_values
list_bodies = st.fixed_dictionaries(
    {},
    optional={
        name: list_values | st.integers(min_value=-2, max_value=200)
        for name in ("cur_page", "per_page", "db_use_type", "engine_type", "name", "net_type",
                     "status", "service_name", "enterprise_project_id")
    }
    | {
        "tags": st.lists(
            st.fixed_dictionaries({}, optional={"key": list_values, "value": list_values}),
            max_size=4,
        )
        | st.dictionaries(st.text(max_size=40), list_values, max_size=4)
        | json_values
    },
)


@pytest.fixture(scope="module")
def proc() -> Iterator[SimulatorProcess]:
    with SimulatorProcess(["--token", TOKEN]) as running:
        running.seed([{"id": JOB_A}, {"id": JOB_B, "status": "PAUSING"}])
        yield running


@pytest.fixture(scope="module")
def http(proc: SimulatorProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=proc.url, timeout=5.0) as client:
        yield client


def check(response: httpx.Response) -> None:
    assert response.status_code < 500, response.text
    assert len(response.headers["X-Request-Id"]) == 32
    if response.content:
        json.loads(response.content)  # every body is JSON


@FUZZ
@given(operation=st.sampled_from(OPERATIONS), body=bodies)
def test_json_garbage(http: httpx.Client, operation: str, body: object) -> None:
    response = http.post(
        f"/v3/{PROJECT}/jobs/{operation}",
        content=json.dumps(body),
        headers={"X-Auth-Token": TOKEN, "Content-Type": "application/json"},
    )
    check(response)
    if response.status_code == 400:
        assert response.json()["error_code"].startswith("DRS.M")


@FUZZ
@given(body=list_bodies | json_values)
def test_list_garbage(http: httpx.Client, body: object) -> None:
    response = http.post(
        url(LIST),
        content=json.dumps(body),
        headers={"X-Auth-Token": TOKEN, "Content-Type": "application/json"},
    )
    check(response)
    if response.status_code == 400:
        assert response.json()["error_code"].startswith("DRS.M")
    else:
        assert response.status_code == 200
        assert set(response.json()) == {"total_record", "jobs"}


@FUZZ
@given(
    operation=st.sampled_from([*OPERATIONS, LIST, "../auth/tokens"]),
    raw=st.binary(max_size=300),
    content_type=st.sampled_from(["application/json", "text/plain", "", "application/json; x"]),
)
def test_byte_garbage(http: httpx.Client, operation: str, raw: bytes, content_type: str) -> None:
    path = "/v3/auth/tokens" if operation.startswith("..") else url(operation)
    headers = {"X-Auth-Token": TOKEN}
    if content_type:
        headers["Content-Type"] = content_type
    check(http.post(path, content=raw, headers=headers))


@FUZZ
@given(
    project=st.text(min_size=1, max_size=80),
    token=st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), max_size=60),
    method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]),
)
def test_paths_tokens_methods(http: httpx.Client, project: str, token: str, method: str) -> None:
    headers = {"X-Auth-Token": token} if token else {}
    response = http.request(
        method,
        f"/v3/{quote(project, safe='')}/jobs/batch-pause-task",
        json={"jobs": [{"job_id": JOB_A, "pause_mode": "target"}]},
        headers=headers,
    )
    check(response)


@FUZZ
@given(
    authorization=st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=200)
)
def test_authorization_garbage(http: httpx.Client, authorization: str) -> None:
    value = ("SDK-HMAC-SHA256 " + authorization).strip()
    headers = {"Authorization": value, "X-Sdk-Date": "20240101T000000Z"}
    check(http.post(f"/v3/{PROJECT}/jobs/batch-status", json={"jobs": [JOB_A]}, headers=headers))


@pytest.mark.parametrize(
    "body",
    [
        b"{" * 50_000,
        b'{"jobs": ' + b"[" * 50_000 + b"]" * 50_000 + b"}",
        b'{"jobs": [{"job_id": "' + b"9" * 5000 + b'", "pause_mode": "target"}]}',
        b'{"jobs": [{"job_id": 1' + b"0" * 5000 + b', "pause_mode": "target"}]}',
        b'{"jobs": [{"job_id": "\\ud800", "pause_mode": "target"}]}',
        b'{"jobs": [NaN, Infinity]}',
        b"\x00" * 1000,
        b'{"jobs": [' + b'{"job_id": "x"},' * 20_000 + b"{}]}",
        b"{" + b" " * (2 << 20) + b"}",  # 2 MiB
    ],
)
def test_pathological_bodies(http: httpx.Client, body: bytes) -> None:
    for operation in [*OPERATIONS, LIST]:
        response = http.post(
            url(operation),
            content=body,
            headers={"X-Auth-Token": TOKEN, "Content-Type": "application/json"},
        )
        check(response)
        assert response.status_code in {400, 413}


def test_non_utf8_header_value(http: httpx.Client) -> None:
    headers = [(b"X-Auth-Token", b"\xff\xfe\xc3"), (b"Content-Type", b"application/json")]
    response = http.post(f"/v3/{PROJECT}/jobs/batch-status", content=b"{}", headers=headers)
    check(response)


def test_still_alive(http: httpx.Client, proc: SimulatorProcess) -> None:
    assert http.get("/healthz").json() == {"status": "ok"}
    assert proc.returncode is None
    statuses = {c["status"] for c in proc.calls()}
    assert not {s for s in statuses if s is not None and s >= 500}
