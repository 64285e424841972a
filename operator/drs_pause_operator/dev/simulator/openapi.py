"""OpenAPI 3 description of the DRS (and IAM) endpoints the simulator implements.

Schemas follow the DRS API pages (drs_03_0133 pause, drs_api_0150 batch-status, drs_03_0132
batch-retry-task, drs_03_0114 batch-progress, drs_03_0138 tenant task list) plus the constraints
the simulator enforces (with its default settings), so a fuzzer (schemathesis) can tell valid
input from invalid. Served at ``GET /openapi.json``.
"""

from __future__ import annotations

from typing import Any

from .config import SimulatorConfig
from .state import (
    DB_USE_TYPES,
    ENGINE_TYPES,
    JOB_ID_PATTERN,
    NET_TYPES,
    TAG_KEY_MAX,
    TAG_VALUE_MAX,
    TASK_STATES,
)
from .validation import LIST_DEFAULT_PER_PAGE, MAX_NAME_FILTER, MAX_NAME_IDS, MAX_PER_PAGE, MAX_TAGS

_REF = "#/components/schemas/"
DEFAULT_MAX_JOBS = SimulatorConfig.model_fields["max_jobs"].default


def _ref(name: str) -> dict[str, str]:
    return {"$ref": _REF + name}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_ERROR_RESPONSES: dict[str, Any] = {
    "400": _json(_ref("Error"), "Invalid request (DRS.M00007, M00201, M00202, M00301, M00289...)"),
    "401": _json(_ref("Error"), "Missing or wrong credentials (APIGW.0301, APIGW.0307)"),
    "403": _json(_ref("Error"), "Invalid token (DRS.M00100) or project (DRS.M00261)"),
    "413": _json(_ref("Error"), "Request body too large (APIGW.0201)"),
    "429": {
        "description": "Throttled (APIGW.0308)",
        "headers": {"Retry-After": {"schema": {"type": "string"}}},
        "content": {"application/json": {"schema": _ref("Error")}},
    },
}

_HEADERS = [
    {
        "name": "X-Language",
        "in": "header",
        "required": False,
        "schema": {"type": "string", "enum": ["en-us", "zh-cn"]},
    },
]

_PROJECT = {
    "name": "project_id",
    "in": "path",
    "required": True,
    "description": "Project ID of a tenant in a region",
    "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"},
}


def _drs_operation(operation_id: str, summary: str, request: str, response: str) -> dict[str, Any]:
    return {
        "post": {
            "operationId": operation_id,
            "summary": summary,
            "parameters": [_PROJECT, *_HEADERS],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": _ref(request)}},
            },
            "responses": {"200": _json(_ref(response), "OK"), **_ERROR_RESPONSES},
            "security": [{"token": []}, {"aksk": []}],
        }
    }


_nonempty: dict[str, Any] = {"type": "string", "minLength": 1}


def _filter(values: list[str]) -> dict[str, Any]:
    """An optional enum filter of the task list; "" and null mean no filter."""
    return {"type": "string", "nullable": True, "enum": [*values, "", None]}


def _schemas(max_jobs: int) -> dict[str, Any]:
    job_id = {"type": "string", "pattern": JOB_ID_PATTERN, "description": "Task ID (UUID shape)"}
    per_job = {
        "type": "object",
        "required": ["id", "status"],
        "properties": {
            "id": {"type": "string"},
            "status": {"type": "string", "description": "success or failed"},
            "error_code": {"type": "string"},
            "error_msg": {"type": "string"},
        },
    }
    return {
        "Error": {
            "type": "object",
            "properties": {
                "error_code": {"type": "string"},
                "error_msg": {"type": "string"},
                "results": {"type": "array", "items": _ref("JobResult")},
                "count": {"type": "integer"},
            },
        },
        "PauseInfo": {
            "type": "object",
            "required": ["job_id", "pause_mode"],
            "properties": {
                "job_id": job_id,
                "pause_mode": {
                    "type": "string",
                    "enum": ["target", "all"],
                    "description": "target: stop replay; all: stop log capturing and replay",
                },
            },
        },
        "BatchPauseJobReq": {
            "type": "object",
            "required": ["jobs"],
            "properties": {
                "jobs": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": max_jobs,
                    "uniqueItems": True,
                    "items": _ref("PauseInfo"),
                }
            },
        },
        "RetryInfo": {
            "type": "object",
            "required": ["job_id"],
            "properties": {
                "job_id": job_id,
                "is_sync_re_edit": {
                    "type": "boolean",
                    "nullable": True,
                    "enum": [True, None],
                    "description": "Must be true when a task is resumed or retried",
                },
            },
        },
        "BatchRetryReq": {
            "type": "object",
            "required": ["jobs"],
            "properties": {
                "jobs": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": max_jobs,
                    "uniqueItems": True,
                    "items": _ref("RetryInfo"),
                }
            },
        },
        "JobResult": per_job,
        "BatchJobResults": {
            "type": "object",
            "required": ["results", "count"],
            "properties": {
                "results": {"type": "array", "items": _ref("JobResult")},
                "count": {"type": "integer"},
            },
        },
        "PageReq": {
            "type": "object",
            "properties": {
                # null is taken as "not given" (the default), like the service's Java beans.
                "cur_page": {"type": "integer", "minimum": 1, "default": 1, "nullable": True},
                "per_page": {
                    "type": "integer",
                    "minimum": 0,
                    "maximum": MAX_PER_PAGE,
                    "default": 5,
                    "nullable": True,
                    "description": "0 = all items",
                },
            },
        },
        "BatchQueryJobReqPage": {
            "type": "object",
            "required": ["jobs"],
            "properties": {
                "jobs": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": max_jobs,
                    "uniqueItems": True,
                    "items": job_id,
                },
                "page_req": {"allOf": [_ref("PageReq")], "nullable": True},
            },
        },
        "QueryJobStatusResp": {
            "type": "object",
            "required": ["id", "status"],
            "properties": {
                "id": {"type": "string"},
                "status": {"type": "string", "description": "Task state, e.g. PAUSING"},
                "error_code": {"type": "string"},
                "error_message": {"type": "string"},
            },
        },
        "BatchListJobStatusResponse": {
            "type": "object",
            "required": ["results", "count"],
            "properties": {
                "results": {"type": "array", "items": _ref("QueryJobStatusResp")},
                "count": {"type": "integer", "description": "Total number of requested jobs"},
            },
        },
        "BatchQueryProgressReq": {
            "type": "object",
            "required": ["jobs"],
            "properties": {
                "jobs": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": max_jobs,
                    "uniqueItems": True,
                    "items": job_id,
                }
            },
        },
        "ProgressInfo": {
            "type": "object",
            "properties": {
                "completed": {"type": "string", "description": "Percentage, e.g. 94%"},
                "remaining_time": {"type": "string"},
            },
        },
        "QueryProgressResp": {
            "type": "object",
            "required": ["job_id"],
            "properties": {
                "job_id": {"type": "string"},
                "progress": {"type": "string", "description": "Percent complete (0-100)"},
                "incre_trans_delay": {
                    "type": "string",
                    "description": "Replication delay in seconds; -1 outside the incremental "
                    "phase",
                },
                "incre_trans_delay_millis": {
                    "type": "string",
                    "description": "The same delay in milliseconds",
                },
                "task_mode": {
                    "type": "string",
                    "enum": ["FULL_TRANS", "INCR_TRANS", "FULL_INCR_TRANS"],
                },
                "transfer_status": {"type": "string", "description": "Task state"},
                "process_time": {"type": "string", "description": "Milliseconds since the epoch"},
                "remaining_time": {"type": "string"},
                "progress_map": {"type": "object", "additionalProperties": _ref("ProgressInfo")},
                "error_code": {"type": "string"},
                "error_msg": {"type": "string"},
                "apply_rows_rate": {
                    "type": "integer",
                    "description": "-1 before the incremental phase",
                },
                "apply_bytes_rate": {
                    "type": "integer",
                    "description": "-1 before the incremental phase",
                },
            },
        },
        "BatchListProgressesResponse": {
            "type": "object",
            "required": ["count", "results"],
            "properties": {
                "count": {"type": "integer", "description": "Number of results"},
                "results": {"type": "array", "items": _ref("QueryProgressResp")},
            },
        },
        "ResourceTag": {
            "type": "object",
            "properties": {
                "key": {"type": "string", "maxLength": TAG_KEY_MAX, "nullable": True},
                "value": {"type": "string", "maxLength": TAG_VALUE_MAX, "nullable": True},
            },
        },
        "QueryJobsReq": {
            "type": "object",
            "required": ["cur_page", "per_page", "db_use_type"],
            "properties": {
                "cur_page": {
                    "type": "integer",
                    "minimum": 0,
                    "default": 1,
                    "description": "Current page; 0 = all items",
                },
                "per_page": {
                    "type": "integer",
                    "minimum": 0,
                    "maximum": MAX_PER_PAGE,
                    "default": LIST_DEFAULT_PER_PAGE,
                    "description": "Records per page; 0 = all items",
                },
                "db_use_type": {"type": "string", "enum": list(DB_USE_TYPES)},
                "engine_type": _filter(list(ENGINE_TYPES)),
                "enterprise_project_id": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": 64,
                    "nullable": True,
                },
                "name": {
                    "type": "string",
                    "nullable": True,
                    "maxLength": MAX_NAME_FILTER,
                    "pattern": f"^[^,]*(,[^,]*){{0,{MAX_NAME_IDS - 1}}}$",
                    "description": "Name (a part of it) or ID; several IDs separated by commas",
                },
                "net_type": _filter(list(NET_TYPES)),
                "service_name": {"type": "string", "maxLength": 64, "nullable": True},
                "status": _filter([*TASK_STATES, "PAUSEING"]),
                "tags": {
                    "description": "Array of ResourceTag (OTC) or {key: value} (Huawei SDK)",
                    "anyOf": [
                        {
                            "type": "array",
                            "nullable": True,
                            "maxItems": MAX_TAGS,
                            "items": _ref("ResourceTag"),
                        },
                        {
                            "type": "object",
                            "nullable": True,
                            "maxProperties": MAX_TAGS,
                            "additionalProperties": {
                                "type": "string",
                                "maxLength": TAG_VALUE_MAX,
                                "nullable": True,
                            },
                        },
                    ],
                },
            },
        },
        "JobInfo": {
            "type": "object",
            "required": ["id", "name", "status", "create_time", "engine_type", "db_use_type"],
            "properties": {
                "id": {"type": "string"},
                "name": {"type": "string"},
                "status": {"type": "string"},
                "description": {"type": "string"},
                "create_time": {"type": "string", "description": "YYYY-MM-DD HH:MM:SS"},
                "engine_type": {"type": "string"},
                "net_type": {"type": "string"},
                "billing_tag": {"type": "boolean"},
                "job_direction": {"type": "string"},
                "db_use_type": {"type": "string"},
                "task_type": {"type": "string"},
                "node_newFramework": {"type": "boolean"},
            },
        },
        "ShowJobListResponse": {
            "type": "object",
            "required": ["total_record", "jobs"],
            "properties": {
                "total_record": {"type": "integer", "description": "Matching tasks in all"},
                "jobs": {"type": "array", "items": _ref("JobInfo")},
            },
        },
        "TokenRequest": {
            "type": "object",
            "required": ["auth"],
            "properties": {
                "auth": {
                    "type": "object",
                    "required": ["identity", "scope"],
                    "properties": {
                        "identity": {
                            "type": "object",
                            "required": ["methods", "password"],
                            "properties": {
                                "methods": {
                                    "type": "array",
                                    "minItems": 1,
                                    "items": {"type": "string", "enum": ["password"]},
                                },
                                "password": {
                                    "type": "object",
                                    "required": ["user"],
                                    "properties": {"user": _ref("PasswordUser")},
                                },
                            },
                        },
                        "scope": {
                            "type": "object",
                            "required": ["project"],
                            "properties": {"project": _ref("ProjectScope")},
                        },
                    },
                }
            },
        },
        "PasswordUser": {
            "type": "object",
            "required": ["name", "password", "domain"],
            "properties": {
                "name": _nonempty,
                "password": {**_nonempty, "format": "password"},
                "domain": {
                    "type": "object",
                    "required": ["name"],
                    "properties": {"name": _nonempty},
                },
            },
        },
        "ProjectScope": {
            "type": "object",
            "description": "The project by id or by name",
            "anyOf": [{"required": ["id"]}, {"required": ["name"]}],
            "properties": {"id": _PROJECT["schema"], "name": _nonempty},
        },
        "TokenResponse": {"type": "object", "required": ["token"]},
        "IamError": {
            "type": "object",
            "required": ["error"],
            "properties": {
                "error": {
                    "type": "object",
                    "properties": {
                        "code": {"type": "integer"},
                        "message": {"type": "string"},
                        "title": {"type": "string"},
                    },
                }
            },
        },
    }


_REQUEST_ID = {
    "description": "Identifies the request (32 hex digits); on every response",
    "required": True,
    "schema": {"type": "string", "pattern": "^[0-9a-f]{32}$"},
}


def openapi_document(max_jobs: int = DEFAULT_MAX_JOBS) -> dict[str, Any]:
    """The description; ``max_jobs`` is the simulator's cap on jobs per request (setting
    ``max_jobs``: none is documented for the service)."""
    document = _document(max_jobs)
    for path in document["paths"].values():
        for operation in path.values():
            for response in operation["responses"].values():
                response["headers"] = {**response.get("headers", {}), "X-Request-Id": _REQUEST_ID}
    return document


def _document(max_jobs: int) -> dict[str, Any]:
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "DRS simulator",
            "version": "v3",
            "description": "The DRS API subset served by drs-pause-operator's simulator.",
        },
        "paths": {
            "/v3/{project_id}/jobs/batch-pause-task": _drs_operation(
                "BatchStopJobs", "Pause tasks in batches", "BatchPauseJobReq", "BatchJobResults"
            ),
            "/v3/{project_id}/jobs/batch-status": _drs_operation(
                "BatchListJobStatus",
                "Query task statuses in batches",
                "BatchQueryJobReqPage",
                "BatchListJobStatusResponse",
            ),
            "/v3/{project_id}/jobs/batch-progress": _drs_operation(
                "BatchListProgresses",
                "Query task progress and replication delay in batches",
                "BatchQueryProgressReq",
                "BatchListProgressesResponse",
            ),
            "/v3/{project_id}/jobs": _drs_operation(
                "ShowJobList", "Query tasks of a tenant", "QueryJobsReq", "ShowJobListResponse"
            ),
            "/v3/{project_id}/jobs/batch-retry-task": _drs_operation(
                "BatchRestoreTask",
                "Resume (retry) tasks in batches",
                "BatchRetryReq",
                "BatchJobResults",
            ),
            "/v3/auth/tokens": {
                "post": {
                    "operationId": "KeystoneCreateUserTokenByPassword",
                    "summary": "IAM password login, project-scoped",
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": _ref("TokenRequest")}},
                    },
                    "responses": {
                        "201": {
                            "description": "Created; the token is in X-Subject-Token",
                            "headers": {"X-Subject-Token": {"schema": {"type": "string"}}},
                            "content": {"application/json": {"schema": _ref("TokenResponse")}},
                        },
                        "400": _json(_ref("IamError"), "Bad request"),
                        "401": _json(_ref("IamError"), "The username or password is wrong."),
                    },
                }
            },
        },
        "components": {
            "schemas": _schemas(max_jobs),
            "securitySchemes": {
                "token": {"type": "apiKey", "in": "header", "name": "X-Auth-Token"},
                "aksk": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "Authorization",
                    "description": "SDK-HMAC-SHA256 Access=..., SignedHeaders=..., Signature=...",
                },
            },
        },
    }
