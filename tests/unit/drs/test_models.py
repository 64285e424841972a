"""Parsing DRS and IAM bodies: tolerant of extra fields and order, strict about garbage."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from drs_pause_operator.drs.errors import DrsProtocolError
from drs_pause_operator.drs.models import (
    BatchPauseRequest,
    BatchPauseResponse,
    BatchRetryRequest,
    BatchStatusRequest,
    BatchStatusResponse,
    ErrorBody,
    IamErrorBody,
    IamTokenBody,
    PageReq,
    PauseInfo,
    RetryInfo,
    error_fields,
    is_paused_state,
)
from drs_pause_operator.drs.parsing import parse_json

JOB_A = "8d0e8e36-a618-490d-8a46-8c61ac9jb502"
JOB_B = "11111111-2222-3333-4444-555555555555"


def test_pause_request_serialises_like_the_api_page() -> None:
    body = BatchPauseRequest(jobs=[PauseInfo(job_id=JOB_A, pause_mode="target")])
    assert body.model_dump(mode="json") == {"jobs": [{"job_id": JOB_A, "pause_mode": "target"}]}


@pytest.mark.parametrize("mode", ["TARGET", "both", "", None])
def test_pause_info_rejects_unknown_modes(mode: object) -> None:
    with pytest.raises(ValidationError):
        PauseInfo(job_id=JOB_A, pause_mode=mode)  # type: ignore[arg-type]


def test_pause_info_rejects_empty_id_and_extra_fields() -> None:
    with pytest.raises(ValidationError):
        PauseInfo(job_id="", pause_mode="all")
    with pytest.raises(ValidationError):
        PauseInfo(job_id=JOB_A, pause_mode="all", extra=1)  # type: ignore[call-arg]


def test_retry_request_leaves_out_unset_re_edit() -> None:
    plain = BatchRetryRequest(jobs=[RetryInfo(job_id=JOB_A)])
    assert plain.model_dump(mode="json", exclude_none=True) == {"jobs": [{"job_id": JOB_A}]}
    edited = BatchRetryRequest(jobs=[RetryInfo(job_id=JOB_A, is_sync_re_edit=True)])
    assert edited.model_dump(mode="json", exclude_none=True)["jobs"][0]["is_sync_re_edit"] is True


def test_status_request_always_has_page_req() -> None:
    body = BatchStatusRequest(jobs=[JOB_A], page_req=PageReq(cur_page=2, per_page=100))
    assert body.model_dump(mode="json") == {
        "jobs": [JOB_A],
        "page_req": {"cur_page": 2, "per_page": 100},
    }
    with pytest.raises(ValidationError):
        PageReq(per_page=101)
    with pytest.raises(ValidationError):
        PageReq(cur_page=0)


def test_pause_response_extra_fields_any_order() -> None:
    raw = json.dumps(
        {
            "count": 2,
            "unexpected": {"nested": True},
            "results": [
                {
                    "status": "failed",
                    "error_msg": "Task information not found.",
                    "error_code": "DRS.M05003",
                    "id": JOB_B,
                    "new_field": 1,
                },
                {"id": JOB_A, "status": "success"},
            ],
        }
    ).encode()
    body = parse_json(BatchPauseResponse, raw)
    assert body.count == 2
    by_id = {r.id: r for r in body.results}
    assert by_id[JOB_A].status == "success"
    assert by_id[JOB_A].error_code is None
    assert by_id[JOB_B].error_code == "DRS.M05003"
    assert by_id[JOB_B].error_msg == "Task information not found."


def test_pause_response_tolerates_missing_and_null_results() -> None:
    assert parse_json(BatchPauseResponse, b"{}").results == []
    assert parse_json(BatchPauseResponse, b'{"results": null, "count": 0}').results == []
    partial = parse_json(BatchPauseResponse, b'{"results": [{"status": "success"}]}')
    assert partial.results[0].id is None  # cannot be matched; the client ignores it


def test_status_response_uses_error_message() -> None:
    raw = json.dumps(
        {
            "results": [
                {"id": JOB_A, "status": "PAUSEING", "error_code": None, "error_message": None},
                {
                    "id": JOB_B,
                    "status": "",
                    "error_code": "DRS.M05003",
                    "error_message": "Task information not found.",
                },
            ],
            "count": 2,
        }
    ).encode()
    body = parse_json(BatchStatusResponse, raw)
    assert body.results[0].paused
    assert body.results[1].error_message == "Task information not found."
    assert not body.results[1].paused


@pytest.mark.parametrize(
    ("status", "paused"),
    [
        ("PAUSING", True),
        ("PAUSEING", True),
        ("pausing", True),
        (" PAUSING ", True),
        ("INCRE_TRANSFER_STARTED", False),
        ("", False),
        (None, False),
    ],
)
def test_is_paused_state(status: str | None, paused: bool) -> None:
    assert is_paused_state(status) is paused


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"   ",
        b"not json",
        b"<html>502 Bad Gateway</html>",
        b'{"results": [',
        b"[1, 2]",
        b'"a string"',
        b"\xff\xfe\x00",
        b'{"results": "nope"}',
        b'{"results": [1, 2]}',
        b'{"results": [{"id": 5}]}',
        b'{"count": "many"}',
    ],
)
def test_garbage_is_a_protocol_error(raw: bytes) -> None:
    with pytest.raises(DrsProtocolError) as caught:
        parse_json(BatchPauseResponse, raw)
    assert caught.value.transient


def test_error_body_with_per_job_results() -> None:
    raw = {
        "error_code": "DRS.M00289",
        "error_msg": "non exist",
        "results": [{"id": JOB_B, "status": "failed", "error_code": "DRS.M00289"}],
    }
    body = parse_json(ErrorBody, raw)
    assert body.results is not None
    assert body.results[0].id == JOB_B


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            {"error_code": "DRS.M05003", "error_msg": "Task information not found."},
            ("DRS.M05003", "Task information not found."),
        ),
        (
            {
                "error": {
                    "code": 401,
                    "message": "The username or password is wrong.",
                    "title": "Unauthorized",
                }
            },
            ("401", "The username or password is wrong."),
        ),
        (
            {
                "error_code": "APIGW.0307",
                "error_msg": "The token must be updated.",
                "request_id": "x",
            },
            ("APIGW.0307", "The token must be updated."),
        ),
        ({"error_code": "", "error_msg": ""}, (None, None)),
        ({}, (None, None)),
        ([], (None, None)),
        (None, (None, None)),
    ],
)
def test_error_fields(data: object, expected: tuple[str | None, str | None]) -> None:
    assert error_fields(data) == expected


def test_iam_bodies() -> None:
    token = parse_json(
        IamTokenBody,
        b'{"token": {"expires_at": "2024-01-02T00:00:00.000000Z", "methods": ["password"],'
        b' "issued_at": "2024-01-01T00:00:00.000000Z", "catalog": []}}',
    )
    assert token.token.expires_at.isoformat() == "2024-01-02T00:00:00+00:00"
    error = parse_json(
        IamErrorBody, b'{"error": {"code": 401, "message": "wrong", "title": "Unauthorized"}}'
    )
    assert error.error is not None
    assert error.error.code == 401
    with pytest.raises(DrsProtocolError):
        parse_json(IamTokenBody, b'{"token": {}}')
