"""AK/SK signing: the documented test vector, the real SDK signer, and tampering."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import quote

import pytest
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.sdk_request import SdkRequest
from huaweicloudsdkcore.signer.signer import Signer

from drs_pause_operator.drs.signing import (
    SDK_DATE_FORMAT,
    SignatureError,
    canonical_query_string,
    canonical_uri,
    format_sdk_date,
    parse_authorization,
    sign_request,
    verify_request,
)

PROJECT = "054ba152d480d55b2f5dc0069e7ddef0"
PATH = f"/v3/{PROJECT}/jobs/batch-pause-task"
URL = f"https://drs.eu-de.otc.t-systems.com{PATH}"
BODY = b'{"jobs": [{"job_id": "8d0e8e36-a618-490d-8a46-8c61ac9jb502", "pause_mode": "target"}]}'
HEADERS = {"Content-Type": "application/json", "X-Project-Id": PROJECT}
DATE = "20240101T000000Z"
SECRETS = {"AKEXAMPLE": "SKEXAMPLE"}


def _signed_headers() -> dict[str, str]:
    added = sign_request("POST", URL, HEADERS, BODY, "AKEXAMPLE", "SKEXAMPLE", DATE)
    return {**HEADERS, **added}


def test_documented_test_vector() -> None:
    assert hashlib.sha256(BODY).hexdigest() == (
        "63a52027707c5126ba7797e75ae8e06e855d984872888ffe6be5720696c2edd6"
    )
    added = sign_request("POST", URL, HEADERS, BODY, "AKEXAMPLE", "SKEXAMPLE", DATE)
    assert added["X-Sdk-Date"] == DATE
    assert added["Host"] == "drs.eu-de.otc.t-systems.com"
    assert added["Authorization"] == (
        "SDK-HMAC-SHA256 Access=AKEXAMPLE, "
        "SignedHeaders=content-type;host;x-project-id;x-sdk-date, "
        "Signature=848f36de935caf83c4a804fc2d5d95da2f59014e04d7dd2713167f0bc50156b8"
    )


def test_verify_accepts_the_test_vector() -> None:
    assert verify_request("POST", PATH, "", _signed_headers(), BODY, SECRETS.get) == "AKEXAMPLE"


def _sdk_sign(
    host: str, path: str, query: list[tuple[str, object]], headers: dict[str, str], body: bytes
) -> dict[str, str]:
    request = SdkRequest(
        method="POST",
        schema="http",
        host=host,
        resource_path=path,
        query_params=query,
        header_params=dict(headers),
        body=body,
    )
    credentials = BasicCredentials("AKSDK", "SKSDK-secret", PROJECT)
    credentials.sign_request(request)  # adds X-Project-Id, then Signer.sign
    return request.header_params


@pytest.mark.parametrize(
    ("path", "query"),
    [
        (PATH, []),
        (PATH + "/", []),
        ("/v3/p/jobs/a b~c", [("z", "1"), ("a", "x y"), ("m", ["b", "a"]), ("flag", True)]),
    ],
)
def test_sdk_signer_roundtrip(path: str, query: list[tuple[str, object]]) -> None:
    headers = _sdk_sign("127.0.0.1:8080", path, query, {"Content-Type": "application/json"}, BODY)
    assert headers["X-Project-Id"] == PROJECT
    # The query string as the SDK puts it on the wire.
    wire_query = Signer.process_canonical_query_string(
        SdkRequest(query_params=[(k, v) for k, v in query])
    )
    wire_path = quote(path)  # how an HTTP client puts the path on the wire
    secrets = {"AKSDK": "SKSDK-secret"}
    key = verify_request("POST", wire_path, wire_query, headers, BODY, secrets.get)
    assert key == "AKSDK"


def test_sdk_unsigned_payload_for_non_json() -> None:
    headers = _sdk_sign("h", PATH, [], {"Content-Type": "text/plain"}, b"hello")
    assert headers["X-Sdk-Content-Sha256"] == "UNSIGNED-PAYLOAD"
    assert verify_request("POST", PATH, "", headers, b"other", {"AKSDK": "SKSDK-secret"}.get)
    ours = sign_request(
        "POST", "http://h" + PATH, {"Content-Type": "text/plain"}, b"x", "A", "S", DATE
    )
    assert ours["X-Sdk-Content-Sha256"] == "UNSIGNED-PAYLOAD"


def test_our_signature_equals_sdk_signature() -> None:
    headers = {"Content-Type": "application/json", "X-Project-Id": PROJECT, "X-Sdk-Date": DATE}
    sdk = _sdk_sign("127.0.0.1:9999", PATH, [("b", "2"), ("a", "1")], headers, BODY)
    ours = sign_request(
        "POST", f"http://127.0.0.1:9999{PATH}?b=2&a=1", headers, BODY, "AKSDK", "SKSDK-secret", DATE
    )
    assert ours["Authorization"] == sdk["Authorization"]


@pytest.mark.parametrize(
    "tamper",
    [
        lambda h, b: (h, b + b" "),
        lambda h, b: ({**h, "X-Project-Id": "other"}, b),
        lambda h, b: ({**h, "X-Sdk-Date": "20240101T000001Z"}, b),
        lambda h, b: ({**h, "Host": "evil.example"}, b),
        lambda h, b: ({k: v for k, v in h.items() if k != "X-Project-Id"}, b),
    ],
    ids=["body", "header", "date", "host", "missing-signed-header"],
)
def test_tampering_is_refused(tamper) -> None:
    headers, body = tamper(_signed_headers(), BODY)
    with pytest.raises(SignatureError) as info:
        verify_request("POST", PATH, "", headers, body, SECRETS.get)
    assert "SKEXAMPLE" not in info.value.reason
    assert "848f36de" not in info.value.reason


def test_tampered_path_and_query_are_refused() -> None:
    headers = _signed_headers()
    with pytest.raises(SignatureError):
        verify_request("POST", PATH.replace("pause", "retry"), "", headers, BODY, SECRETS.get)
    with pytest.raises(SignatureError):
        verify_request("POST", PATH, "a=1", headers, BODY, SECRETS.get)


def test_unknown_key_and_wrong_secret() -> None:
    with pytest.raises(SignatureError, match="unknown access key"):
        verify_request("POST", PATH, "", _signed_headers(), BODY, {}.get)
    with pytest.raises(SignatureError, match="mismatch") as info:
        verify_request("POST", PATH, "", _signed_headers(), BODY, {"AKEXAMPLE": "nope"}.get)
    assert "nope" not in str(info.value)


@pytest.mark.parametrize(
    "authorization",
    [
        "",
        "Bearer abc",
        "SDK-HMAC-SHA256",
        "SDK-HMAC-SHA256 Access=AK",
        "SDK-HMAC-SHA256 Access=AK, SignedHeaders=host, Signature=xyz",
        "SDK-HMAC-SHA256 Access=AK, SignedHeaders=Host, Signature=" + "0" * 64,
        "SDK-HMAC-SHA256 garbage, more",
    ],
)
def test_malformed_authorization(authorization: str) -> None:
    headers = {**_signed_headers(), "Authorization": authorization}
    with pytest.raises(SignatureError):
        verify_request("POST", PATH, "", headers, BODY, SECRETS.get)


def test_date_checks() -> None:
    headers = _signed_headers()
    bad = {**headers, "X-Sdk-Date": "2024-01-01"}
    with pytest.raises(SignatureError, match="X-Sdk-Date"):
        verify_request("POST", PATH, "", bad, BODY, SECRETS.get)
    signed_at = datetime(2024, 1, 1, tzinfo=UTC)
    ok = verify_request(
        "POST",
        PATH,
        "",
        headers,
        BODY,
        SECRETS.get,
        now=signed_at + timedelta(minutes=5),
        max_clock_skew=timedelta(minutes=15),
    )
    assert ok == "AKEXAMPLE"
    with pytest.raises(SignatureError, match="clock skew"):
        verify_request(
            "POST",
            PATH,
            "",
            headers,
            BODY,
            SECRETS.get,
            now=signed_at + timedelta(minutes=16),
            max_clock_skew=timedelta(minutes=15),
        )


def test_helpers() -> None:
    assert SDK_DATE_FORMAT == "%Y%m%dT%H%M%SZ"
    assert format_sdk_date(datetime(2024, 1, 2, 3, 4, 5)) == "20240102T030405Z"
    aware = datetime(2024, 1, 2, 5, 4, 5, tzinfo=timezone(timedelta(hours=1)))
    assert format_sdk_date(aware) == "20240102T040405Z"
    assert canonical_uri("/v3/x") == "/v3/x/"
    assert canonical_uri("/a%20b/") == "/a%20b/"
    assert canonical_query_string("b=2&a=x%20y&a=1") == "a=1&a=x%20y&b=2"
    assert parse_authorization(_signed_headers()["Authorization"])[0] == "AKEXAMPLE"


def test_headers_with_underscore_are_not_signed() -> None:
    added = sign_request(
        "POST", URL, {**HEADERS, "X_Custom": "1"}, BODY, "AKEXAMPLE", "SKEXAMPLE", DATE
    )
    assert "x_custom" not in added["Authorization"]
    headers = {**HEADERS, **added, "X_Custom": "changed"}
    assert verify_request("POST", PATH, "", headers, BODY, SECRETS.get) == "AKEXAMPLE"
