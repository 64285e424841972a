"""The exception tree: status/code to class, transport mapping, safe messages."""

from __future__ import annotations

import ssl

import httpx
import pytest

from drs_pause_operator.drs.errors import (
    DrsAuthenticationError,
    DrsError,
    DrsInvalidProjectError,
    DrsProtocolError,
    DrsRequestError,
    DrsResponseError,
    DrsServerError,
    DrsThrottledError,
    DrsTLSError,
    DrsTransportError,
    make_response_error,
    transport_error,
)


@pytest.mark.parametrize(
    ("status", "code", "cls", "transient"),
    [
        (401, None, DrsAuthenticationError, False),
        (401, "APIGW.0301", DrsAuthenticationError, False),
        (401, "APIGW.0307", DrsAuthenticationError, False),  # reached us after the refresh
        (403, "DRS.M00100", DrsAuthenticationError, False),
        (403, "DRS.M00102", DrsAuthenticationError, False),
        (401, "DRS.M00103", DrsAuthenticationError, False),
        (403, None, DrsAuthenticationError, False),
        (403, "DRS.M00261", DrsInvalidProjectError, False),
        (429, None, DrsThrottledError, True),
        (429, "APIGW.0308", DrsThrottledError, True),
        (429, "APIG.0308", DrsThrottledError, True),
        (400, "DRS.M01503", DrsThrottledError, True),
        (202, "DRS.M01504", DrsThrottledError, True),
        (500, None, DrsServerError, True),
        (503, None, DrsServerError, True),
        (500, "DRS.M00004", DrsServerError, True),
        (422, "DRS.M00004", DrsServerError, True),
        (408, None, DrsServerError, True),
        (400, "DRS.M05003", DrsRequestError, False),
        (400, "DRS.M00289", DrsRequestError, False),
        (400, "DRS.M00304", DrsRequestError, False),
        (400, None, DrsRequestError, False),
        (404, None, DrsRequestError, False),
        (422, "DRS.M01501", DrsRequestError, False),
    ],
)
def test_make_response_error_class(
    status: int, code: str | None, cls: type[DrsResponseError], transient: bool
) -> None:
    err = make_response_error(status, code, "msg", request_id="req-1", retry_after=3.0)
    assert type(err) is cls
    assert err.transient is transient
    assert err.status_code == status
    assert err.error_code == code
    assert err.request_id == "req-1"
    assert err.retry_after == 3.0
    assert isinstance(err, DrsError)


def test_invalid_project_is_a_request_error() -> None:
    assert issubclass(DrsInvalidProjectError, DrsRequestError)


def test_message_names_status_code_and_request_id_but_no_secret() -> None:
    err = make_response_error(
        400,
        "DRS.M00202",
        "The value of parameter X-Auth-Token: abcdef123 is invalid, password=hunter22",
        request_id="r-9",
        secrets=("hunter22",),
    )
    text = str(err)
    assert "HTTP 400 DRS.M00202" in text
    assert "r-9" in text
    assert "abcdef123" not in text
    assert "hunter22" not in text
    assert err.error_msg is not None
    assert "hunter22" not in err.error_msg


def _with_cause(outer: Exception, inner: BaseException) -> Exception:
    try:
        try:
            raise inner
        except BaseException as cause:
            raise outer from cause
    except Exception as err:
        return err


URL = "https://drs.example/v3/p/jobs/batch-pause-task"


@pytest.mark.parametrize(
    ("exc", "cls", "phase"),
    [
        (httpx.ConnectTimeout("t"), DrsTransportError, "connect"),
        (httpx.ReadTimeout("t"), DrsTransportError, "read"),
        (httpx.WriteTimeout("t"), DrsTransportError, "write"),
        (httpx.PoolTimeout("t"), DrsTransportError, "pool"),
        (httpx.ConnectError("refused"), DrsTransportError, None),
        (httpx.RemoteProtocolError("Server disconnected"), DrsTransportError, None),
        (httpx.ReadError("reset"), DrsTransportError, None),
        (httpx.DecodingError("bad gzip"), DrsProtocolError, None),
        (httpx.TooManyRedirects("loop"), DrsProtocolError, None),
    ],
)
def test_transport_error_mapping(exc: Exception, cls: type[DrsError], phase: str | None) -> None:
    err = transport_error(exc, what="POST batch-pause-task", url=URL)
    assert type(err) is cls
    assert err.transient
    if isinstance(err, DrsTransportError):
        assert err.phase == phase
    assert URL in str(err)


def test_certificate_failure_is_a_tls_error_and_not_transient() -> None:
    inner = ssl.SSLCertVerificationError(1, "[SSL: CERTIFICATE_VERIFY_FAILED] self-signed")
    exc = _with_cause(httpx.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED]"), inner)
    err = transport_error(exc, what="POST x", url=URL)
    assert isinstance(err, DrsTLSError)
    assert not err.transient
    assert "CA bundle" in str(err)


def test_other_ssl_hiccups_stay_transient() -> None:
    inner = ssl.SSLError(1, "[SSL: UNEXPECTED_EOF_WHILE_READING] EOF")
    exc = _with_cause(httpx.ConnectError("EOF"), inner)
    assert isinstance(transport_error(exc, what="POST x", url=URL), DrsTransportError)


def test_drs_errors_pass_through() -> None:
    original = DrsProtocolError("x")
    assert transport_error(original, what="POST", url=URL) is original


def test_every_error_exposes_answer_attributes() -> None:
    for err in (DrsTransportError("x"), DrsTLSError("x"), DrsProtocolError("x")):
        assert err.status_code is None
        assert err.error_code is None
        assert err.request_id is None
        assert err.retry_after is None
