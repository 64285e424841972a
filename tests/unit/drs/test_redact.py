"""Redaction of secrets in text and log records."""

from __future__ import annotations

import io
import logging

import pytest

from drs_pause_operator.drs.redact import REDACTED, RedactingFilter, Redactor, redact


@pytest.mark.parametrize(
    ("text", "secrets", "expected"),
    [
        ("password is s3cr3t-pw!", ["s3cr3t-pw!"], f"password is {REDACTED}"),
        ("abcd and abcdefgh", ["abcd", "abcdefgh"], f"{REDACTED} and {REDACTED}"),
        ("nothing to see", ["s3cr3t-pw!"], "nothing to see"),
        ("a short pw: ab", ["ab"], "a short pw: ab"),  # too short to replace by value
        ("X-Auth-Token: MIIabc.def", [], f"X-Auth-Token: {REDACTED}"),
        ("x-subject-token=MIIabc", [], f"x-subject-token={REDACTED}"),
        (
            "{'X-Auth-Token': 'MIIabc', 'X-Language': 'en-us'}",
            [],
            f"{{'X-Auth-Token': '{REDACTED}', 'X-Language': 'en-us'}}",
        ),
        (
            '{"password": "pa\\"ss", "name": "bob"}',
            [],
            f'{{"password": "{REDACTED}", "name": "bob"}}',
        ),
        (
            "Authorization: SDK-HMAC-SHA256 Access=AK, SignedHeaders=host, Signature=ff\nnext",
            [],
            f"Authorization: {REDACTED}\nnext",
        ),
        ("authorization=Bearer abc.def rest", [], f"authorization={REDACTED} rest"),
        ("X-Security-Token: xyz", [], f"X-Security-Token: {REDACTED}"),
        ("secret_key='SKEXAMPLE'", [], f"secret_key='{REDACTED}'"),
        ("token expired for user bob", [], "token expired for user bob"),
        ('{"token": {"expires_at": "2024"}}', [], '{"token": {"expires_at": "2024"}}'),
    ],
)
def test_redact(text: str, secrets: list[str], expected: str) -> None:
    assert redact(text, secrets) == expected


def test_redactor_remembers_secrets() -> None:
    redactor = Redactor(["first-secret"])
    redactor.add("second-secret", None, "")
    assert len(redactor) == 2
    assert redactor("first-secret second-secret") == f"{REDACTED} {REDACTED}"
    assert redactor("x", extra=["x-extra-value"]) == "x"
    assert "first-secret" not in repr(redactor)


def test_redactor_is_bounded() -> None:
    redactor = Redactor(max_secrets=3)
    redactor.add("secret-1", "secret-2", "secret-3")
    redactor.add("secret-1")  # refreshed: now the most recent
    redactor.add("secret-4")
    assert len(redactor) == 3
    assert redactor("secret-2") == "secret-2"  # the oldest was forgotten
    assert redactor("secret-1 secret-3 secret-4") == " ".join([REDACTED] * 3)


def test_logging_filter_redacts_message_args_and_exceptions() -> None:
    redactor = Redactor(["hunter2-password"])
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter(redactor))
    logger = logging.getLogger("test_drs_redact")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    try:
        logger.debug("login with %s and %s", "hunter2-password", {"X-Auth-Token": "MIItoken"})
        try:
            raise RuntimeError("failed with hunter2-password")
        except RuntimeError:
            logger.exception("boom")
    finally:
        logger.removeHandler(handler)
    out = stream.getvalue()
    assert "hunter2-password" not in out
    assert "MIItoken" not in out
    assert out.count(REDACTED) >= 3
    assert "boom" in out
