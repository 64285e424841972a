"""What became of each job of a pause or resume call, and how a DRS answer turns into that.

Every job passed to :meth:`DrsClient.pause` or :meth:`DrsClient.resume` gets exactly one
:class:`PauseOutcome`: from its ``results[]`` entry (:func:`result_outcome`), or from the error
of the request that carried it (:func:`error_outcome`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from drs_pause_operator.drs.errors import DrsError
from drs_pause_operator.drs.models import ErrorBody, PauseJobResp, error_fields
from drs_pause_operator.drs.redact import REDACTOR
from drs_pause_operator.drs.retry import code_is_transient, is_transient

__all__ = ["NO_RESULT", "PauseOutcome", "error_body", "error_outcome", "result_outcome"]

NO_RESULT = "no result for this job in the response"


@dataclass(frozen=True, slots=True)
class PauseOutcome:
    """What became of one job in one :meth:`DrsClient.pause` (or ``resume``) call."""

    job_id: str
    #: The ``status`` the API gave for this job ("success", "failed"); None when it never did.
    api_status: str | None
    error_code: str | None = None
    error_message: str | None = None
    #: ``X-Request-Id`` of the response that decided this outcome.
    request_id: str | None = None
    #: HTTP status of that response; None when no response came (network, timeout).
    http_status: int | None = None
    #: Whether trying this job again later may succeed (False for successes).
    transient: bool = False
    #: Minimum seconds before trying again, when known (Retry-After or the pending backoff).
    retry_after: float | None = None
    #: HTTP attempts that carried this job during this call.
    attempts: int = 0

    @property
    def succeeded(self) -> bool:
        return (self.api_status or "").strip().lower() == "success"


def error_body(data: Any) -> ErrorBody | None:
    if not isinstance(data, dict):
        return None
    try:
        return ErrorBody.model_validate(data)
    except ValueError:  # odd per-job results: keep the top-level code at least
        code, message = error_fields(data)
        return ErrorBody(error_code=code, error_msg=message)


def result_outcome(
    result: PauseJobResp,
    *,
    http_status: int | None,
    request_id: str | None,
    retry_after: float | None,
    attempts: int,
    fallback: DrsError | None = None,
) -> PauseOutcome:
    """The outcome of one job from its ``results[]`` entry (``fallback``: the error of the
    response the entry came in, for what the entry leaves out)."""
    job_id = result.id or ""
    if (result.status or "").strip().lower() == "success":
        return PauseOutcome(
            job_id=job_id,
            api_status=result.status,
            request_id=request_id,
            http_status=http_status,
            attempts=attempts,
        )
    code = result.error_code
    message = result.error_msg
    if fallback is not None and (not code or code == fallback.error_code):
        code, message = fallback.error_code, message or fallback.error_msg
    # In a 2xx, a per-job failure is transient only by its code; in a rejection, by both.
    if fallback is None:
        transient = bool(code_is_transient(code))
    else:
        transient = is_transient(http_status, code)
    return PauseOutcome(
        job_id=job_id,
        api_status=result.status,
        error_code=code,
        error_message=REDACTOR(message) if message else None,
        request_id=request_id,
        http_status=http_status,
        transient=transient,
        retry_after=retry_after if transient else None,
        attempts=attempts,
    )


def error_outcome(
    job_id: str, err: DrsError, attempts: int, *, retry_after: float | None = None
) -> PauseOutcome:
    """The outcome of a job whose request failed as a whole."""
    message = err.error_msg or str(err)
    return PauseOutcome(
        job_id=job_id,
        api_status=None,
        error_code=err.error_code,
        error_message=message,
        request_id=err.request_id,
        http_status=err.status_code,
        transient=err.transient,
        retry_after=(retry_after if retry_after is not None else err.retry_after)
        if err.transient
        else None,
        attempts=attempts,
    )
