"""Endpoint safety and credentials from Secrets (docs/reference.md): values never leak."""

from __future__ import annotations

import base64

import pytest

from drs_pause_operator.app.settings import Settings
from drs_pause_operator.resource.credentials import (
    Credentials,
    SecretRef,
    Target,
    credentials_from_secret,
    decode_secret_data,
    endpoint_problem,
    resolve_target,
)
from drs_pause_operator.resource.problem import Problem

from ..values import J1, spec_of

DEFAULT = Settings(default_credentials_secret="drs-system/drs-credentials")
INSECURE = Settings(
    default_credentials_secret="drs-system/drs-credentials", allow_insecure_http=True
)
NO_DEFAULT = Settings()
OWN = {"credentialsSecretRef": {"name": "my-creds"}}
SECRET = SecretRef("drs-system", "drs-credentials", default=True)


def _spec(**extra):
    return spec_of(J1, **extra)


def _check(spec, settings: Settings, annotations: dict[str, str] | None = None):
    """What the operator decides for an object: the target, or why not (its Secret read)."""
    target = resolve_target(spec, "team-a", settings)
    if isinstance(target, Problem):
        return target
    return endpoint_problem(target, annotations or {}, settings) or target


WIDEN = "drs.cloudops.dev/allowed-endpoints"


# --- resolve_target -------------------------------------------------------------------------


def test_default_secret_and_template_endpoint() -> None:
    target = resolve_target(_spec(region="eu-nl"), "team-a", DEFAULT)
    assert target == Target(
        endpoint="https://drs.eu-nl.otc.t-systems.com",
        iam_endpoint="https://iam.eu-nl.otc.t-systems.com",
        project_id="054ba152d480d55b2f5dc0069e7ddef0",
        secret=SECRET,
    )
    # Without a region: the operator's default region.
    target = resolve_target(_spec(), "team-a", DEFAULT)
    assert isinstance(target, Target)
    assert target.endpoint == "https://drs.eu-de.otc.t-systems.com"


def test_own_secret_is_read_from_the_objects_namespace() -> None:
    target = resolve_target(_spec(**OWN), "team-a", DEFAULT)
    assert isinstance(target, Target)
    assert target.secret == SecretRef("team-a", "my-creds", default=False)
    assert str(target.secret) == "team-a/my-creds"
    # Works without any default Secret, too.
    assert isinstance(resolve_target(_spec(**OWN), "team-a", NO_DEFAULT), Target)


def test_no_secret_at_all_is_credentials_not_found() -> None:
    problem = resolve_target(_spec(), "team-a", NO_DEFAULT)
    assert isinstance(problem, Problem)
    assert problem.reason == "CredentialsNotFound"
    assert "credentialsSecretRef" in problem.message
    assert "--default-credentials-secret" in problem.message


@pytest.mark.parametrize(
    ("endpoint", "allowed"),
    [
        ("https://drs.eu-de.otc.t-systems.com", True),
        ("https://drs.eu-nl.otc.t-systems.com/", True),  # a trailing slash is the same URL
        ("https://drs.ap-southeast-1.otc.t-systems.com", True),
        ("https://drs.eu-de.otc.t-systems.com.evil.example", False),
        ("https://drs.eu-de.otc.t-systems.com@evil.example", False),
        ("https://evil.example/drs.eu-de.otc.t-systems.com", False),
        ("https://drs.eu-de.otc.t-systems.com:8443", False),
        ("https://drs.eu_de.otc.t-systems.com", False),
        ("https://drs.EU-DE.otc.t-systems.com", False),
        ("http://drs.eu-de.otc.t-systems.com", False),
        ("https://drsXeu-deXotcXt-systems.com", False),  # dots are literal
    ],
)
def test_spec_endpoint_with_the_default_secret_must_be_allowed(
    endpoint: str, allowed: bool
) -> None:
    result = _check(_spec(endpoint=endpoint), DEFAULT)
    if allowed:
        assert isinstance(result, Target)
        assert result.endpoint == endpoint.rstrip("/")
    else:
        assert isinstance(result, Problem)
        assert result.reason in ("EndpointNotAllowed", "InsecureEndpoint")
        if result.reason == "EndpointNotAllowed":
            assert WIDEN in result.message and "drs-system/drs-credentials" in result.message


def test_own_secret_does_not_allow_any_endpoint() -> None:
    """Naming a Secret one cannot read must not send it to a host of one's choice."""
    result = _check(_spec(endpoint="https://drs.attacker.example", **OWN), DEFAULT)
    assert isinstance(result, Problem) and result.reason == "EndpointNotAllowed"
    assert "team-a/my-creds" in result.message and WIDEN in result.message


def test_a_secret_annotation_widens_the_endpoints_for_that_secret() -> None:
    own = {WIDEN: r"https://drs\.private\.example(:\d+)?"}
    result = _check(_spec(endpoint="https://drs.private.example:8443/", **OWN), DEFAULT, own)
    assert isinstance(result, Target)
    assert result.endpoint == "https://drs.private.example:8443"
    # The whole endpoint must match the annotation.
    for endpoint in ("https://drs.private.example.evil.example", "https://evil.example"):
        result = _check(_spec(endpoint=endpoint, **OWN), DEFAULT, own)
        assert isinstance(result, Problem) and result.reason == "EndpointNotAllowed"


def test_a_bad_annotation_pattern_refuses_with_a_reason() -> None:
    result = _check(_spec(endpoint="https://drs.private.example", **OWN), DEFAULT, {WIDEN: "(["})
    assert isinstance(result, Problem) and result.reason == "EndpointNotAllowed"
    assert "not a valid regular expression" in result.message


def test_template_endpoints_need_no_annotation() -> None:
    assert isinstance(_check(_spec(region="eu-nl", **OWN), DEFAULT), Target)
    assert isinstance(_check(_spec(endpoint="https://drs.eu-nl.otc.t-systems.com", **OWN),
                             DEFAULT), Target)


def test_allowed_endpoints_regex_widens_the_default_secret() -> None:
    settings = Settings(
        default_credentials_secret="drs-system/drs-credentials",
        allowed_endpoints=r"https://drs\.internal\.example(:\d+)?",
    )
    assert isinstance(
        _check(_spec(endpoint="https://drs.internal.example:443"), settings), Target
    )
    # The regex replaces the default pattern, and must match the whole endpoint.
    for endpoint in (
        "https://drs.eu-de.otc.t-systems.com",
        "https://drs.internal.example.evil.example",
    ):
        result = _check(_spec(endpoint=endpoint), settings)
        assert isinstance(result, Problem) and result.reason == "EndpointNotAllowed"


@pytest.mark.parametrize(
    "endpoint",
    ["http://drs.private.example", "HTTP://drs.private.example", "Http://drs.private.example:80"],
)
def test_http_endpoints_are_refused_unless_insecure_is_allowed(endpoint: str) -> None:
    result = resolve_target(_spec(endpoint=endpoint, **OWN), "team-a", DEFAULT)
    assert isinstance(result, Problem)
    assert result.reason == "InsecureEndpoint"
    assert "--allow-insecure-http" in result.message
    assert isinstance(resolve_target(_spec(endpoint=endpoint, **OWN), "team-a", INSECURE), Target)


def test_http_endpoint_with_default_secret_needs_both_allowances() -> None:
    settings = Settings(
        default_credentials_secret="drs-system/drs-credentials",
        allow_insecure_http=True,
        allowed_endpoints=r"http://127\.0\.0\.1:\d+",
    )
    assert isinstance(_check(_spec(endpoint="http://127.0.0.1:8080"), settings), Target)
    result = _check(_spec(endpoint="http://127.0.0.1:8080"), INSECURE)
    assert isinstance(result, Problem) and result.reason == "EndpointNotAllowed"


# --- credentials_from_secret ----------------------------------------------------------------

AKSK = {"accessKey": "AK-VALUE", "secretKey": "SK-VALUE-zzz"}
PASSWORD = {"username": "USER-VALUE", "password": "PW-VALUE-zzz", "domainName": "DOMAIN-VALUE"}
TOKEN = {"token": "TOKEN-VALUE-zzz"}


@pytest.mark.parametrize(
    ("data", "kind", "keys"),
    [
        (AKSK, "aksk", {"accessKey", "secretKey"}),
        ({**AKSK, "securityToken": "ST"}, "aksk", {"accessKey", "secretKey", "securityToken"}),
        ({**AKSK, **PASSWORD, **TOKEN}, "aksk", {"accessKey", "secretKey"}),  # preference order
        ({**PASSWORD, **TOKEN}, "password", {"username", "password", "domainName"}),
        (
            {**PASSWORD, "iamEndpoint": "https://iam.example"},
            "password",
            {"username", "password", "domainName", "iamEndpoint"},
        ),
        (TOKEN, "token", {"token"}),
        ({"accessKey": "AK", **TOKEN}, "token", {"token"}),  # an incomplete set is skipped
        ({**AKSK, "secretKey": "", **TOKEN}, "token", {"token"}),  # empty counts as missing
        ({"username": "u", "password": "p", **TOKEN}, "token", {"token"}),
    ],
)
def test_key_sets_in_order_of_preference(data, kind, keys) -> None:
    creds = credentials_from_secret(data, SECRET, DEFAULT)
    assert isinstance(creds, Credentials)
    assert creds.kind == kind
    assert set(creds.values) == keys
    assert len(creds.fingerprint) == 64


def test_fingerprint_depends_on_the_values_only() -> None:
    a = credentials_from_secret(AKSK, SECRET, DEFAULT)
    b = credentials_from_secret(dict(AKSK), SecretRef("x", "y", False), DEFAULT)
    c = credentials_from_secret({**AKSK, "secretKey": "other"}, SECRET, DEFAULT)
    assert isinstance(a, Credentials) and isinstance(b, Credentials)
    assert isinstance(c, Credentials)
    assert a.fingerprint == b.fingerprint != c.fingerprint
    assert a == b and a != c


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"accessKey": "AK-VALUE"},
        {"secretKey": "SK-VALUE-zzz", "username": "USER-VALUE", "password": "PW-VALUE-zzz"},
        {"token": ""},
        {"Token": "TOKEN-VALUE-zzz", "access_key": "AK-VALUE"},
    ],
)
def test_missing_keys_name_the_keys_present_but_never_their_values(data) -> None:
    problem = credentials_from_secret(data, SECRET, DEFAULT)
    assert isinstance(problem, Problem)
    assert problem.reason == "CredentialsInvalid"
    assert "drs-system/drs-credentials" in problem.message
    assert "accessKey+secretKey" in problem.message
    present = ", ".join(sorted(data)) or "none"
    assert f"(keys present: {present})" in problem.message
    for value in data.values():
        if value:
            assert value not in problem.message


def test_http_iam_endpoint_in_a_secret_is_refused() -> None:
    data = {**PASSWORD, "iamEndpoint": "http://iam.example"}
    problem = credentials_from_secret(data, SECRET, DEFAULT)
    assert isinstance(problem, Problem)
    assert problem.reason == "InsecureEndpoint"
    assert "PW-VALUE" not in problem.message
    assert isinstance(credentials_from_secret(data, SECRET, INSECURE), Credentials)


def test_credentials_never_show_their_values() -> None:
    for data in (AKSK, PASSWORD, TOKEN, {**AKSK, "securityToken": "ST-VALUE-zzz"}):
        creds = credentials_from_secret(data, SECRET, DEFAULT)
        assert isinstance(creds, Credentials)
        for text in (repr(creds), str(creds), f"{creds}", f"{creds!r}", repr([creds])):
            assert "VALUE" not in text
            assert creds.kind in text


def test_secret_values_lists_what_must_be_redacted() -> None:
    creds = credentials_from_secret({**AKSK, "securityToken": "ST"}, SECRET, DEFAULT)
    assert isinstance(creds, Credentials)
    assert sorted(creds.secret_values()) == ["SK-VALUE-zzz", "ST"]
    creds = credentials_from_secret(PASSWORD, SECRET, DEFAULT)
    assert isinstance(creds, Credentials)
    assert creds.secret_values() == ["PW-VALUE-zzz"]
    creds = credentials_from_secret(TOKEN, SECRET, DEFAULT)
    assert isinstance(creds, Credentials)
    assert creds.secret_values() == ["TOKEN-VALUE-zzz"]


# --- decode_secret_data ---------------------------------------------------------------------


def _b64(text: str | bytes) -> str:
    raw = text.encode() if isinstance(text, str) else text
    return base64.b64encode(raw).decode()


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (None, {}),
        ({}, {}),
        ({"token": _b64("abc")}, {"token": "abc"}),
        ({"token": _b64("  abc\n")}, {"token": "abc"}),  # kubectl create secret --from-file
        ({"token": _b64("äöü")}, {"token": "äöü"}),
        ({"token": "not base64!"}, {}),
        ({"token": _b64(b"\xff\xfe")}, {}),  # not UTF-8
        ({"a": _b64("1"), "b": "%%%", "c": _b64("3")}, {"a": "1", "c": "3"}),
    ],
)
def test_decode_secret_data(data, expected) -> None:
    assert decode_secret_data(data) == expected


def test_undecodable_values_are_reported_as_missing_keys() -> None:
    data = decode_secret_data({"accessKey": _b64("AK"), "secretKey": "%%%"})
    problem = credentials_from_secret(data, SECRET, DEFAULT)
    assert isinstance(problem, Problem)
    assert "(keys present: accessKey)" in problem.message
