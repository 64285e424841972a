"""Error codes and messages, verbatim from the DRS and API gateway documentation.

The DRS table is OTC's (`reference/drs-error-codes.md`); gateway (APIGW) codes are the ones seen
in practice; where nothing is documented the simulator picks a code and says so in
docs/simulator.md.
"""

from __future__ import annotations

from typing import Any

# DRS service codes.
INVALID_REQUEST = "DRS.M00007"
SERVICE_ABNORMAL = "DRS.M00004"
INVALID_TOKEN = "DRS.M00100"
PARAM_EMPTY = "DRS.M00201"
PARAM_INVALID = "DRS.M00202"
PAGE_INVALID = "DRS.M00210"
PAGE_TOO_LARGE = "DRS.M00211"
INVALID_PROJECT = "DRS.M00261"
TAG_KEY_NOT_UNIQUE = "DRS.M00269"
TAG_TOO_LONG = "DRS.M00270"
TOO_MANY_TAGS = "DRS.M00271"
JOB_NON_EXIST = "DRS.M00289"
DUPLICATE = "DRS.M00301"
WRONG_STATUS = "DRS.M00304"
TOO_FREQUENT = "DRS.M01503"
BUSY = "DRS.M01504"
NOT_FOUND = "DRS.M05003"
DELETED = "DRS.M05004"

# API gateway codes.
GW_NO_API = "APIGW.0101"
GW_TOO_LARGE = "APIGW.0201"
GW_AUTH = "APIGW.0301"
GW_TOKEN_EXPIRED = "APIGW.0307"
GW_THROTTLED = "APIGW.0308"

MESSAGES: dict[str, str] = {
    INVALID_REQUEST: "Invalid request parameter.",
    SERVICE_ABNORMAL: "Service is abnormal. Check logs.",
    INVALID_TOKEN: "Invalid token.",
    PAGE_TOO_LARGE: "The value of Page exceeds the upper limit.",
    INVALID_PROJECT: "Invalid project ID.",
    TAG_KEY_NOT_UNIQUE: "The tag key must be unique.",
    TAG_TOO_LONG: "The tag key or value exceeds the maximum length allowed.",
    TOO_MANY_TAGS: "The maximum number of tags has been reached.",
    JOB_NON_EXIST: "job non exist",
    WRONG_STATUS: "This API cannot be called in the current task status.",
    TOO_FREQUENT: "Operation too frequent. Try again later.",
    BUSY: (
        "Another operation is being performed on the migration task or the migration task is "
        "abnormal."
    ),
    NOT_FOUND: "Task information not found.",
    DELETED: "The task has been deleted or the resource has been released.",
    GW_NO_API: "The API does not exist or has not been published in the environment.",
    GW_TOO_LARGE: "Request entity too large.",
    GW_AUTH: "Incorrect IAM authentication information: x-auth-token not found",
    GW_TOKEN_EXPIRED: "The token must be updated.",
    GW_THROTTLED: "The throttling threshold has been reached: policy user over ratelimit,limit:%s",
}

AKSK_FAILED = "Incorrect IAM authentication information: verify aksk signature fail"


def message(code: str) -> str:
    """The documented message of ``code`` (the code itself when none is known)."""
    return MESSAGES.get(code, code)


def param_empty(name: str) -> str:
    return f"The parameter {name} is empty."


def param_invalid(name: str) -> str:
    return f"The value of parameter {name} is invalid."


def duplicate(name: str) -> str:
    return f"There are duplicate {name} in request."


def page_invalid(detail: str) -> str:
    return f"The value of Page is invalid, {detail}"


def error_body(code: str, msg: str | None = None) -> dict[str, Any]:
    """The DRS error body: ``{"error_code": ..., "error_msg": ...}``."""
    return {"error_code": code, "error_msg": msg if msg is not None else message(code)}


def iam_error_body(status: int, msg: str, title: str) -> dict[str, Any]:
    """IAM (Keystone) error body: ``{"error": {"code", "message", "title"}}``."""
    return {"error": {"code": status, "message": msg, "title": title}}
