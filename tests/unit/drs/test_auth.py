"""Auth classes: the signing test vector through AkSkAuth, token headers, reprs, token cache.

IAM login and refresh against a real HTTP server are covered in tests/contract; here only the
pieces that need no server (and the login body shape, through a narrow MockTransport).
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from drs_pause_operator.drs.auth import (
    AkSkAuth,
    CachedToken,
    IamPasswordAuth,
    TokenAuth,
    TokenCache,
)
from drs_pause_operator.drs.errors import (
    DrsAuthenticationError,
    DrsProtocolError,
    DrsServerError,
    DrsTransportError,
)
from drs_pause_operator.drs.redact import REDACTOR

PROJECT = "054ba152d480d55b2f5dc0069e7ddef0"
URL = f"https://drs.eu-de.otc.t-systems.com/v3/{PROJECT}/jobs/batch-pause-task"
BODY = b'{"jobs": [{"job_id": "8d0e8e36-a618-490d-8a46-8c61ac9jb502", "pause_mode": "target"}]}'
FIXED = datetime(2024, 1, 1, 0, 0, 0, tzinfo=UTC)


def _flow(auth: httpx.Auth, request: httpx.Request) -> httpx.Request:
    return next(auth.sync_auth_flow(request))


def test_aksk_reproduces_the_sdk_test_vector() -> None:
    auth = AkSkAuth("AKEXAMPLE", "SKEXAMPLE", PROJECT, clock=lambda: FIXED)
    request = httpx.Request("POST", URL, content=BODY, headers={"Content-Type": "application/json"})
    signed = _flow(auth, request)
    assert signed.headers["X-Project-Id"] == PROJECT
    assert signed.headers["X-Sdk-Date"] == "20240101T000000Z"
    assert signed.headers["Host"] == "drs.eu-de.otc.t-systems.com"
    assert signed.headers["Authorization"] == (
        "SDK-HMAC-SHA256 Access=AKEXAMPLE, "
        "SignedHeaders=content-type;host;x-project-id;x-sdk-date, "
        "Signature=848f36de935caf83c4a804fc2d5d95da2f59014e04d7dd2713167f0bc50156b8"
    )
    assert "X-Security-Token" not in signed.headers


def test_aksk_signs_language_and_security_token_not_user_agent() -> None:
    auth = AkSkAuth(
        "AKEXAMPLE", "SKEXAMPLE", PROJECT, security_token="sts-token-value", clock=lambda: FIXED
    )
    request = httpx.Request(
        "POST",
        URL,
        content=BODY,
        headers={"Content-Type": "application/json", "X-Language": "en-us", "User-Agent": "x"},
    )
    signed = _flow(auth, request)
    assert signed.headers["X-Security-Token"] == "sts-token-value"
    assert (
        "SignedHeaders=content-type;host;x-language;x-project-id;x-sdk-date;x-security-token,"
        in signed.headers["Authorization"]
    )


def test_aksk_signature_is_verifiable_with_the_simulator_side() -> None:
    from drs_pause_operator.drs.signing import verify_request

    auth = AkSkAuth("AKEXAMPLE", "SKEXAMPLE", PROJECT, clock=lambda: FIXED)
    request = httpx.Request(
        "POST",
        URL,
        content=BODY,
        headers={"Content-Type": "application/json", "X-Language": "zh-cn"},
    )
    signed = _flow(auth, request)
    access = verify_request(
        "POST",
        signed.url.raw_path.decode(),
        "",
        dict(signed.headers),
        BODY,
        {"AKEXAMPLE": "SKEXAMPLE"}.get,
    )
    assert access == "AKEXAMPLE"


def test_aksk_resigns_a_retried_request() -> None:
    times = iter([FIXED, FIXED + timedelta(seconds=5)])
    auth = AkSkAuth("AKEXAMPLE", "SKEXAMPLE", PROJECT, clock=lambda: next(times))
    request = httpx.Request("POST", URL, content=BODY, headers={"Content-Type": "application/json"})
    first = _flow(auth, request).headers["Authorization"]
    second = _flow(auth, request).headers["Authorization"]
    assert first != second
    assert request.headers["X-Sdk-Date"] == "20240101T000005Z"


def test_token_auth_sets_header() -> None:
    request = _flow(TokenAuth("MIItoken-value"), httpx.Request("POST", URL))
    assert request.headers["X-Auth-Token"] == "MIItoken-value"
    with pytest.raises(ValueError):
        TokenAuth("")


def test_reprs_hide_secrets() -> None:
    cache = TokenCache()
    http = httpx.AsyncClient()
    reprs = [
        repr(TokenAuth("MIItoken-value")),
        repr(AkSkAuth("AKEXAMPLE", "SKEXAMPLE", PROJECT, security_token="sts-token-value")),
        repr(
            IamPasswordAuth(
                "https://iam.example", "bob", "hunter2-pw", "dom", PROJECT, cache=cache, http=http
            )
        ),
        repr(CachedToken("MIIcached", FIXED, FIXED)),
        repr(cache),
    ]
    joined = "\n".join(reprs)
    for secret in ("MIItoken-value", "SKEXAMPLE", "sts-token-value", "hunter2-pw", "MIIcached"):
        assert secret not in joined
    assert "AKEX…" in reprs[1]
    assert "AKEXAMPLE" not in reprs[1]
    assert "<redacted>" in reprs[0]
    assert "'bob'" in reprs[2]
    assert "'dom'" in reprs[2]


def test_auth_classes_register_secrets_for_redaction() -> None:
    AkSkAuth("AKEXAMPLE", "SK-registered-1", PROJECT)
    TokenAuth("token-registered-2")
    assert REDACTOR("SK-registered-1 token-registered-2") == "<redacted> <redacted>"


@pytest.mark.parametrize(
    ("lifetime_s", "age_s", "due"),
    [
        (86400, 0, False),
        (86400, 86400 - 301, False),  # margin is 5 min for a day-long token
        (86400, 86400 - 299, True),
        (60, 53, False),  # margin is 10 % of a short token's lifetime
        (60, 55, True),
        (60, 61, True),
        (0, 0, True),
    ],
)
def test_refresh_due(lifetime_s: int, age_s: int, due: bool) -> None:
    token = CachedToken("x", FIXED + timedelta(seconds=lifetime_s), FIXED)
    now = FIXED + timedelta(seconds=age_s)
    assert token.refresh_due(now, margin_seconds=300, margin_ratio=0.1) is due


def test_token_cache_usable_and_bounded() -> None:
    now = [FIXED]
    cache = TokenCache(clock=lambda: now[0], max_entries=2)
    key = ("iam", "d", "u", "h", "p")
    cache.put(key, CachedToken("t1", FIXED + timedelta(hours=1), FIXED))
    assert cache.usable(key) is not None
    now[0] = FIXED + timedelta(minutes=55)
    assert cache.usable(key) is None
    for i in range(3):
        cache.put(("iam", "d", f"u{i}", "h", "p"), CachedToken("t", FIXED, FIXED))
    assert len(cache) == 2


# --- IAM login: narrow checks of the request shape and error mapping ------------------------


def _iam(handler, cache: TokenCache | None = None) -> tuple[IamPasswordAuth, TokenCache]:
    cache = cache or TokenCache(clock=lambda: FIXED)
    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    auth = IamPasswordAuth(
        "https://iam.example/", "bob", "hunter2-pw", "dom", PROJECT, cache=cache, http=http
    )
    return auth, cache


async def test_iam_login_request_shape_and_caching() -> None:
    seen: list[dict] = []

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url == "https://iam.example/v3/auth/tokens"
        seen.append(json.loads(request.content))
        return httpx.Response(
            201,
            headers={"X-Subject-Token": "MIIsubject"},
            json={"token": {"expires_at": "2024-01-02T00:00:00Z"}},
        )

    auth, cache = _iam(handler)
    assert await asyncio.gather(*(auth.token() for _ in range(5))) == ["MIIsubject"] * 5
    assert seen == [
        {
            "auth": {
                "identity": {
                    "methods": ["password"],
                    "password": {
                        "user": {"name": "bob", "password": "hunter2-pw", "domain": {"name": "dom"}}
                    },
                },
                "scope": {"project": {"id": PROJECT}},
            }
        }
    ]
    assert cache.logins == 1


@pytest.mark.parametrize("status", [400, 401, 403, 404])
async def test_iam_rejection_is_an_authentication_error_without_password(status: int) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            status, json={"error": {"code": status, "message": "nope", "title": "Unauthorized"}}
        )

    auth, _ = _iam(handler)
    with pytest.raises(DrsAuthenticationError) as caught:
        await auth.token()
    text = str(caught.value)
    assert "'bob'" in text
    assert "'dom'" in text
    assert "hunter2-pw" not in text
    assert f"HTTP {status}" in text
    assert not caught.value.transient


async def test_iam_server_errors_stay_transient() -> None:
    auth, _ = _iam(lambda request: httpx.Response(503, text="busy"))
    with pytest.raises(DrsServerError):
        await auth.token()

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused")

    auth, _ = _iam(refuse)
    with pytest.raises(DrsTransportError):
        await auth.token()


async def test_iam_answer_without_subject_token_is_a_protocol_error() -> None:
    auth, _ = _iam(lambda request: httpx.Response(201, json={"token": {}}))
    with pytest.raises(DrsProtocolError):
        await auth.token()


async def test_iam_answer_without_expiry_assumes_an_hour() -> None:
    auth, cache = _iam(lambda request: httpx.Response(201, headers={"X-Subject-Token": "MIIx"}))
    assert await auth.token() == "MIIx"
    token = cache.usable(auth.cache_key)
    assert token is not None
    assert token.expires_at == FIXED + timedelta(hours=1)


def test_iam_auth_refuses_sync_clients() -> None:
    auth, _ = _iam(lambda request: httpx.Response(500))
    with pytest.raises(RuntimeError, match="AsyncClient"):
        next(auth.sync_auth_flow(httpx.Request("POST", URL)))
