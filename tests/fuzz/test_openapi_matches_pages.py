"""The published OpenAPI description says what the API pages say.

Pages: ``reference/drs_03_0133-batch-pause-task.rst`` (pause) and ``reference/drs-api-facts.md``
sections 2 (batch-status) and 7 (batch-progress, with the Huawei SDK's QueryProgressResp), and
the OTC DRS API reference pages drs_03_0132 (resuming or retrying tasks in batches) and
drs_03_0138 (querying tasks of a tenant). The facts are written down here as constants (so the
test runs anywhere); when the facts pages are at hand (``../shared/reference`` beside the
repository), the constants are read back from them too. Then the live simulator is held to the
same bounds.
"""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from drs_pause_operator.dev.simulator.openapi import DEFAULT_MAX_JOBS, openapi_document

from .conftest import FUZZ_MAX_JOBS, TOKEN

REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "reference"
PAUSE_PAGE = REFERENCE / "drs_03_0133-batch-pause-task.rst"
FACTS_PAGE = REFERENCE / "drs-api-facts.md"
PROJECT = "054ba152d480d55b2f5dc0069e7ddef0"
API_EXAMPLE_JOB = "8d0e8e36-a618-490d-8a46-8c61ac9jb502"  # not hex: the page's own example

# drs_03_0133, tables 1-6
PAUSE_PATH = "/v3/{project_id}/jobs/batch-pause-task"
PAUSE_REQUEST_REQUIRED = {"jobs"}
PAUSE_INFO_REQUIRED = {"job_id", "pause_mode"}
PAUSE_MODES = {"target", "all"}
LANGUAGES = {"en-us", "zh-cn"}
PAUSE_RESULT_FIELDS = {"id", "status", "error_code", "error_msg"}
PAUSE_RESPONSE_FIELDS = {"results", "count"}
# drs-api-facts.md section 2 (drs_api_0150)
STATUS_PATH = "/v3/{project_id}/jobs/batch-status"
CUR_PAGE_MIN, CUR_PAGE_DEFAULT = 1, 1
PER_PAGE_MIN, PER_PAGE_MAX, PER_PAGE_DEFAULT = 0, 100, 5
STATUS_RESULT_FIELDS = {"id", "status", "error_code", "error_message"}
# drs_03_0132 (resume/retry), tables 1-6
RETRY_PATH = "/v3/{project_id}/jobs/batch-retry-task"
RETRY_INFO_FIELDS = {"job_id", "is_sync_re_edit"}
RETRY_INFO_REQUIRED = {"job_id"}
RETRY_RESULT_FIELDS = {"id", "status", "error_code", "error_msg"}
# drs_03_0138 (tasks of a tenant), tables 3-5
LIST_PATH = "/v3/{project_id}/jobs"
LIST_REQUEST_REQUIRED = {"cur_page", "per_page", "db_use_type"}
LIST_REQUEST_FIELDS = LIST_REQUEST_REQUIRED | {
    "engine_type", "enterprise_project_id", "name", "net_type", "service_name", "status", "tags"}
LIST_PER_PAGE_MIN, LIST_PER_PAGE_MAX, LIST_PER_PAGE_DEFAULT, LIST_CUR_PAGE_DEFAULT = 0, 100, 10, 1
DB_USE_TYPES = {"migration", "sync", "cloudDataGuard"}
NET_TYPES = {"vpn", "vpc", "eip"}
OTC_ENGINE_TYPES = {"mysql", "mongodb", "cloudDataGuard-mysql", "mysql-to-taurus", "postgresql"}
LIST_RESPONSE_FIELDS = {"total_record", "jobs"}
# drs-api-facts.md section 7 (drs_03_0114, SDK BatchQueryProgressReq / QueryProgressResp)
PROGRESS_PATH = "/v3/{project_id}/jobs/batch-progress"
PROGRESS_RESPONSE_FIELDS = {"count", "results"}
PROGRESS_RESULT_FIELDS = {"job_id", "progress", "incre_trans_delay", "incre_trans_delay_millis",
                          "task_mode", "transfer_status", "process_time", "remaining_time",
                          "progress_map", "error_code", "error_msg", "apply_rows_rate",
                          "apply_bytes_rate"}
PROGRESS_INTEGER_FIELDS = {"apply_rows_rate", "apply_bytes_rate"}  # the SDK's int; others str
TASK_MODES = {"FULL_TRANS", "INCR_TRANS", "FULL_INCR_TRANS"}
PROGRESS_INFO_FIELDS = {"completed", "remaining_time"}
JOB_INFO_FIELDS = {"id", "name", "status", "description", "create_time", "engine_type",
                   "net_type", "billing_tag", "job_direction", "db_use_type", "task_type",
                   "node_newFramework"}


def resolve(document: dict, node: dict) -> dict:
    while "$ref" in node or ("allOf" in node and len(node["allOf"]) == 1):
        if "$ref" in node:
            node = document["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
        else:
            node = node["allOf"][0]
    return node


def request_schema(document: dict, path: str) -> dict:
    body = document["paths"][path]["post"]["requestBody"]
    assert body["required"] is True
    return resolve(document, body["content"]["application/json"]["schema"])


def response_schema(document: dict, path: str, status: str = "200") -> dict:
    response = document["paths"][path]["post"]["responses"][status]
    return resolve(document, response["content"]["application/json"]["schema"])


# -- the facts, read back from the pages when they are there -----------------------------------


def _rst_rows(text: str, table: str) -> dict[str, str]:
    """``{parameter: mandatory}`` of one grid table of the rst page."""
    start = text.index(f"**{table}**")
    end = text.find(".. table::", start + 1)
    rows = {}
    for line in text[start:end if end > 0 else None].splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("   |") and len(cells) >= 3 and re.fullmatch(r"[a-z_A-Z-]+", cells[0]):
            rows[cells[0]] = cells[1]
    if not rows:  # simple tables: "   project_id Yes       String ..."
        for line in text[start:end if end > 0 else None].splitlines():
            match = re.match(r"^\s{3}([a-z_]+)\s+(Yes|No)\s", line)
            if match:
                rows[match.group(1)] = match.group(2)
    return rows


@pytest.mark.skipif(not PAUSE_PAGE.exists(), reason="the API pages are not beside the repository")
def test_constants_are_what_the_pause_page_says() -> None:
    text = PAUSE_PAGE.read_text()
    assert "POST /v3/{project_id}/jobs/batch-pause-task" in text
    assert _rst_rows(text, "Table 1")["project_id"] == "Yes"
    headers = _rst_rows(text, "Table 2")
    assert headers["Content-Type"] == "Yes" and headers["X-Language"] == "No"
    assert {k for k, v in _rst_rows(text, "Table 3").items() if v == "Yes"} == (
        PAUSE_REQUEST_REQUIRED)
    assert {k for k, v in _rst_rows(text, "Table 4").items() if v == "Yes"} == (
        PAUSE_INFO_REQUIRED)
    response_fields = re.findall(r"^\s+\| (\w+)\s+\| \w", text[text.index("**Table 5**"):],
                                 re.M)
    assert set(response_fields) >= PAUSE_RESPONSE_FIELDS | PAUSE_RESULT_FIELDS
    assert "error_message" not in text
    modes = text[text.index("pause_mode"):text.index("Response Parameters")]
    assert set(re.findall(r"-  \*\*(\w+)\*\*", modes)) == PAUSE_MODES
    language = text[text.index("X-Language"):text.index("Table 3")]
    assert set(re.findall(r"-  \*\*([\w-]+)\*\*", language)) == LANGUAGES
    assert API_EXAMPLE_JOB in text


@pytest.mark.skipif(not FACTS_PAGE.exists(), reason="the API pages are not beside the repository")
def test_constants_are_what_the_batch_status_facts_say() -> None:
    text = FACTS_PAGE.read_text()
    section = text[text.index("## 2."):text.index("## 3.")]
    assert "POST /v3/{project_id}/jobs/batch-status" in section
    cur = re.search(r"`cur_page` >= (\d+) \(default (\d+)\)", section)
    per = re.search(r"`per_page` (\d+)\.\.(\d+), \*\*default (\d+)\*\*", section)
    assert cur and (int(cur[1]), int(cur[2])) == (CUR_PAGE_MIN, CUR_PAGE_DEFAULT)
    assert per and tuple(map(int, per.groups())) == (PER_PAGE_MIN, PER_PAGE_MAX, PER_PAGE_DEFAULT)
    results = re.search(r'\{"results": \[\{([^}]*)\}\], "count": N\}', section)
    assert results
    assert set(re.findall(r'"(\w+)"', results[1])) == STATUS_RESULT_FIELDS
    assert "**`error_message`** here" in section and "**`error_msg`**" in section


@pytest.mark.skipif(not FACTS_PAGE.exists(), reason="the API pages are not beside the repository")
def test_constants_are_what_the_batch_progress_facts_say() -> None:
    text = FACTS_PAGE.read_text()
    start = text.index("## 7.")
    end = text.find("\n## ", start + 1)
    section = text[start:end if end > 0 else None]
    assert "POST /v3/{project_id}/jobs/batch-progress" in section
    assert 'Body `{"jobs": ["<id>", ...]}`' in section
    results = section[section.index('"results": [{'):section.index("}]}`.")]
    assert set(re.findall(r'"(\w+)"', results)) >= PROGRESS_RESULT_FIELDS
    assert set(re.findall(r"\b(FULL_TRANS|INCR_TRANS|FULL_INCR_TRANS)\b", section)) == TASK_MODES


# -- the published description ------------------------------------------------------------------


def test_served_description_is_the_documented_one(fuzz_simulator) -> None:
    served = httpx.get(fuzz_simulator.url + "/openapi.json", timeout=10)
    assert served.status_code == 200 and served.headers["Content-Type"].startswith(
        "application/json")
    assert served.json() == openapi_document(max_jobs=FUZZ_MAX_JOBS)


def test_paths_and_parameters() -> None:
    document = openapi_document()
    assert document["openapi"].startswith("3.")
    assert set(document["paths"]) == {PAUSE_PATH, STATUS_PATH, RETRY_PATH, PROGRESS_PATH,
                                      LIST_PATH, "/v3/auth/tokens"}
    for path, item in document["paths"].items():
        assert set(item) == {"post"}, path
        responses = item["post"]["responses"]
        assert set(responses) & {"200", "201"}, path
        for response in responses.values():
            assert response["headers"]["X-Request-Id"]["required"] is True
        if path.startswith("/v3/{project_id}"):
            params = {p["name"]: p for p in item["post"]["parameters"]}
            assert params["project_id"]["in"] == "path" and params["project_id"]["required"]
            assert params["X-Language"]["in"] == "header"
            assert params["X-Language"]["required"] is False
            assert set(params["X-Language"]["schema"]["enum"]) == LANGUAGES
            assert {"400", "401", "403", "429"} <= set(responses), path
            assert "Retry-After" in responses["429"]["headers"]
            assert {next(iter(s)) for s in item["post"]["security"]} == {"token", "aksk"}
    schemes = document["components"]["securitySchemes"]
    assert schemes["token"] == {"type": "apiKey", "in": "header", "name": "X-Auth-Token"}


def test_pause_request_and_response_match_the_page() -> None:
    document = openapi_document()
    request = request_schema(document, PAUSE_PATH)
    assert set(request["required"]) == PAUSE_REQUEST_REQUIRED
    jobs = request["properties"]["jobs"]
    assert jobs["type"] == "array" and jobs["minItems"] == 1  # "cannot contain empty objects"
    assert jobs["maxItems"] == DEFAULT_MAX_JOBS  # the simulator's own cap: none is documented
    info = resolve(document, jobs["items"])
    assert set(info["required"]) == PAUSE_INFO_REQUIRED
    assert set(info["properties"]["pause_mode"]["enum"]) == PAUSE_MODES
    pattern = re.compile(info["properties"]["job_id"]["pattern"])
    assert pattern.search(API_EXAMPLE_JOB) and not pattern.search("not-a-uuid")
    response = response_schema(document, PAUSE_PATH)
    assert set(response["properties"]) == PAUSE_RESPONSE_FIELDS
    result = resolve(document, response["properties"]["results"]["items"])
    assert set(result["properties"]) == PAUSE_RESULT_FIELDS  # error_msg, not error_message
    assert response["properties"]["count"]["type"] == "integer"


def test_batch_status_request_and_response_match_the_facts() -> None:
    document = openapi_document()
    request = request_schema(document, STATUS_PATH)
    assert request["required"] == ["jobs"]
    ids = request["properties"]["jobs"]["items"]
    assert ids["type"] == "string" and re.search(ids["pattern"], API_EXAMPLE_JOB)
    page = resolve(document, request["properties"]["page_req"])
    cur, per = page["properties"]["cur_page"], page["properties"]["per_page"]
    assert (cur["minimum"], cur["default"]) == (CUR_PAGE_MIN, CUR_PAGE_DEFAULT)
    assert (per["minimum"], per["maximum"], per["default"]) == (
        PER_PAGE_MIN, PER_PAGE_MAX, PER_PAGE_DEFAULT)
    assert cur["type"] == per["type"] == "integer"
    response = response_schema(document, STATUS_PATH)
    assert set(response["required"]) == {"results", "count"}
    result = resolve(document, response["properties"]["results"]["items"])
    assert set(result["properties"]) == STATUS_RESULT_FIELDS  # error_message, not error_msg


def test_retry_request_and_response_match_the_page() -> None:
    document = openapi_document()
    request = request_schema(document, RETRY_PATH)
    assert request["required"] == ["jobs"]
    jobs = request["properties"]["jobs"]
    assert jobs["type"] == "array" and jobs["minItems"] == 1
    info = resolve(document, jobs["items"])
    assert set(info["properties"]) == RETRY_INFO_FIELDS
    assert set(info["required"]) == RETRY_INFO_REQUIRED  # is_sync_re_edit: "No" in table 4
    re_edit = info["properties"]["is_sync_re_edit"]
    assert re_edit["type"] == "boolean" and True in re_edit["enum"] and False not in re_edit["enum"]
    response = response_schema(document, RETRY_PATH)
    assert set(response["properties"]) == {"results", "count"}
    result = resolve(document, response["properties"]["results"]["items"])
    assert set(result["properties"]) == RETRY_RESULT_FIELDS  # error_msg, not error_message
    assert document["paths"][RETRY_PATH]["post"]["operationId"] == "BatchRestoreTask"


def test_list_request_and_response_match_the_page() -> None:
    document = openapi_document()
    assert document["paths"][LIST_PATH]["post"]["operationId"] == "ShowJobList"
    request = request_schema(document, LIST_PATH)
    assert set(request["required"]) == LIST_REQUEST_REQUIRED
    assert set(request["properties"]) == LIST_REQUEST_FIELDS
    props = request["properties"]
    cur, per = props["cur_page"], props["per_page"]
    assert (cur["minimum"], cur["default"]) == (0, LIST_CUR_PAGE_DEFAULT)  # 0 = all items
    assert (per["minimum"], per["maximum"], per["default"]) == (
        LIST_PER_PAGE_MIN, LIST_PER_PAGE_MAX, LIST_PER_PAGE_DEFAULT)
    assert set(props["db_use_type"]["enum"]) == DB_USE_TYPES
    assert set(props["net_type"]["enum"]) - {"", None} == NET_TYPES
    assert set(props["engine_type"]["enum"]) >= OTC_ENGINE_TYPES
    assert set(props["status"]["enum"]) >= {
        "PAUSING", "INCRE_TRANSFER_STARTED", "RELEASE_CHILD_TRANSFER_COMPLETE"}
    tag = resolve(document, props["tags"]["anyOf"][0]["items"])
    assert (tag["properties"]["key"]["maxLength"], tag["properties"]["value"]["maxLength"]) == (
        36, 43)  # drs_03_0104 table 6
    response = response_schema(document, LIST_PATH)
    assert set(response["required"]) == LIST_RESPONSE_FIELDS
    job = resolve(document, response["properties"]["jobs"]["items"])
    assert set(job["properties"]) == JOB_INFO_FIELDS


def test_progress_request_and_response_match_the_facts() -> None:
    document = openapi_document()
    assert document["paths"][PROGRESS_PATH]["post"]["operationId"] == "BatchListProgresses"
    request = request_schema(document, PROGRESS_PATH)
    assert request["required"] == ["jobs"] and set(request["properties"]) == {"jobs"}
    jobs = request["properties"]["jobs"]
    assert (jobs["type"], jobs["minItems"], jobs["uniqueItems"]) == ("array", 1, True)
    assert jobs["maxItems"] == DEFAULT_MAX_JOBS
    assert jobs["items"]["type"] == "string" and re.search(jobs["items"]["pattern"],
                                                            API_EXAMPLE_JOB)
    response = response_schema(document, PROGRESS_PATH)
    assert set(response["properties"]) == set(response["required"]) == PROGRESS_RESPONSE_FIELDS
    result = resolve(document, response["properties"]["results"]["items"])
    assert set(result["properties"]) == PROGRESS_RESULT_FIELDS  # error_msg, not error_message
    for name, field in result["properties"].items():
        expected = "integer" if name in PROGRESS_INTEGER_FIELDS else (
            "object" if name == "progress_map" else "string")
        assert field["type"] == expected, name
    assert set(result["properties"]["task_mode"]["enum"]) == TASK_MODES
    info = resolve(document, result["properties"]["progress_map"]["additionalProperties"])
    assert set(info["properties"]) == PROGRESS_INFO_FIELDS


def test_max_jobs_follows_the_setting() -> None:
    for path in (PAUSE_PATH, STATUS_PATH, RETRY_PATH, PROGRESS_PATH):
        jobs = request_schema(openapi_document(max_jobs=7), path)["properties"]["jobs"]
        assert jobs["maxItems"] == 7


# -- the live simulator keeps the published bounds -----------------------------------------------


def _post(sim, operation: str, body: dict, **headers: str) -> httpx.Response:
    return httpx.post(f"{sim.url}/v3/{PROJECT}/jobs/{operation}", json=body, timeout=10,
                      headers={"X-Auth-Token": TOKEN, **headers})


def _ids(n: int) -> list[str]:
    return [f"00000000-0000-0000-0000-{i:012d}" for i in range(n)]


@pytest.mark.parametrize(("page_req", "status", "code"), [
    ({"cur_page": 1, "per_page": PER_PAGE_MAX}, 200, None),
    ({"cur_page": 1, "per_page": PER_PAGE_MAX + 1}, 400, "DRS.M00211"),
    ({"cur_page": 1, "per_page": PER_PAGE_MIN}, 200, None),
    ({"cur_page": 1, "per_page": PER_PAGE_MIN - 1}, 400, "DRS.M00210"),
    ({"cur_page": CUR_PAGE_MIN - 1, "per_page": 5}, 400, "DRS.M00210"),
    ({"cur_page": 1, "per_page": "5"}, 400, "DRS.M00210"),
])
def test_page_bounds(fuzz_simulator, page_req, status, code) -> None:
    answer = _post(fuzz_simulator, "batch-status", {"jobs": _ids(3), "page_req": page_req})
    assert answer.status_code == status, answer.text
    assert answer.json().get("error_code") == code


def test_page_defaults_and_field_names(fuzz_simulator) -> None:
    ids = _ids(FUZZ_MAX_JOBS)
    default = _post(fuzz_simulator, "batch-status", {"jobs": ids}).json()
    assert len(default["results"]) == PER_PAGE_DEFAULT and default["count"] == len(ids)
    everything = _post(fuzz_simulator, "batch-status",
                       {"jobs": ids, "page_req": {"per_page": 0}}).json()
    assert len(everything["results"]) == len(ids)
    unknown = everything["results"][0]
    assert set(unknown) == STATUS_RESULT_FIELDS and unknown["error_code"] == "DRS.M05003"
    paused = _post(fuzz_simulator, "batch-pause-task",
                   {"jobs": [{"job_id": ids[0], "pause_mode": "all"}]}).json()
    assert set(paused["results"][0]) == PAUSE_RESULT_FIELDS


def test_job_count_and_enum_bounds(fuzz_simulator) -> None:
    jobs = [{"job_id": j, "pause_mode": "target"} for j in _ids(FUZZ_MAX_JOBS + 1)]
    assert _post(fuzz_simulator, "batch-pause-task", {"jobs": jobs[:-1]}).status_code == 200
    too_many = _post(fuzz_simulator, "batch-pause-task", {"jobs": jobs})
    assert too_many.status_code == 400 and too_many.json()["error_code"] == "DRS.M00202"
    bad_mode = _post(fuzz_simulator, "batch-pause-task",
                     {"jobs": [{"job_id": _ids(1)[0], "pause_mode": "both"}]})
    assert bad_mode.status_code == 400 and "pause_mode" in bad_mode.json()["error_msg"]
    for language in LANGUAGES:
        ok = _post(fuzz_simulator, "batch-status", {"jobs": _ids(1)}, **{"X-Language": language})
        assert ok.status_code == 200
    bad = _post(fuzz_simulator, "batch-status", {"jobs": _ids(1)}, **{"X-Language": "de-de"})
    assert bad.status_code == 400 and "X-Language" in bad.json()["error_msg"]


def _list(sim, **fields) -> httpx.Response:
    body = {"cur_page": 1, "per_page": 10, "db_use_type": "migration", **fields}
    return httpx.post(f"{sim.url}/v3/{PROJECT}/jobs", json=body, timeout=10,
                      headers={"X-Auth-Token": TOKEN})


@pytest.mark.parametrize(("fields", "status", "code"), [
    ({"per_page": LIST_PER_PAGE_MAX}, 200, None),
    ({"per_page": LIST_PER_PAGE_MAX + 1}, 400, "DRS.M00211"),
    ({"per_page": LIST_PER_PAGE_MIN}, 200, None),
    ({"per_page": LIST_PER_PAGE_MIN - 1}, 400, "DRS.M00210"),
    ({"cur_page": 0}, 200, None),
    ({"cur_page": -1}, 400, "DRS.M00210"),
    ({"db_use_type": None}, 400, "DRS.M00201"),
    ({"db_use_type": "replication"}, 400, "DRS.M00202"),
    ({"per_page": None}, 400, "DRS.M00201"),
    ({"engine_type": "", "name": "", "net_type": "", "status": ""}, 200, None),
])
def test_list_bounds(fuzz_simulator, fields, status, code) -> None:
    answer = _list(fuzz_simulator, **fields)
    assert answer.status_code == status, answer.text
    assert answer.json().get("error_code") == code


def test_list_and_retry_field_names(fuzz_simulator) -> None:
    fuzz_simulator.seed([{"id": API_EXAMPLE_JOB, "status": "PAUSING"}])
    answer = _list(fuzz_simulator, name=API_EXAMPLE_JOB).json()
    assert set(answer) == LIST_RESPONSE_FIELDS and answer["total_record"] == 1
    assert set(answer["jobs"][0]) == JOB_INFO_FIELDS
    resumed = _post(fuzz_simulator, "batch-retry-task",
                    {"jobs": [{"job_id": API_EXAMPLE_JOB, "is_sync_re_edit": True}]}).json()
    assert resumed == {"results": [{"id": API_EXAMPLE_JOB, "status": "success"}], "count": 1}
    again = _post(fuzz_simulator, "batch-retry-task", {"jobs": [{"job_id": API_EXAMPLE_JOB}]})
    assert set(again.json()["results"][0]) == RETRY_RESULT_FIELDS  # failed: not paused any more


def test_progress_field_names_and_bounds(fuzz_simulator) -> None:
    fuzz_simulator.seed([{"id": API_EXAMPLE_JOB, "status": "INCRE_TRANSFER_STARTED"}])
    unknown = _ids(1)[0]
    answer = _post(fuzz_simulator, "batch-progress", {"jobs": [API_EXAMPLE_JOB, unknown]})
    assert answer.status_code == 200 and answer.headers["X-Request-Id"]
    body = answer.json()
    assert set(body) == PROGRESS_RESPONSE_FIELDS and body["count"] == 2
    known, missing = body["results"]
    assert set(known) == PROGRESS_RESULT_FIELDS - {"error_code", "error_msg"}
    assert all(isinstance(known[f], int) for f in PROGRESS_INTEGER_FIELDS)
    assert set(missing) == {"job_id", "error_code", "error_msg"}
    too_many = _post(fuzz_simulator, "batch-progress", {"jobs": _ids(FUZZ_MAX_JOBS + 1)})
    assert too_many.status_code == 400 and too_many.json()["error_code"] == "DRS.M00202"
    full = _post(fuzz_simulator, "batch-progress", {"jobs": _ids(FUZZ_MAX_JOBS)})
    assert full.status_code == 200 and full.json()["count"] == FUZZ_MAX_JOBS
