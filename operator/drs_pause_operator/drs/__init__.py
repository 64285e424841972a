"""Outbound DRS client: models, errors, authentication and the HTTP client.

Modules, bottom up: ``models`` (request and response shapes), ``errors`` (the exception tree),
``parsing`` (bodies into models), ``retry`` (what is transient, and how long to wait),
``redact``, ``signing`` and ``auth`` (how credentials become request headers), ``transport``
(the shared HTTP client), ``outcomes`` (one result per job of a pause or resume), ``progress``
(one job's batch-progress answer), ``exchange`` (one request and its inline retries),
``batches`` (pause and resume), ``lookups`` (batch-status and batch-progress) and ``client``
(the calls).

Usable without Kubernetes::

    http = make_http_client(timeouts=Timeouts(read=30))
    client = DrsClient(http, "https://drs.eu-de.otc.t-systems.com", project_id,
                       AkSkAuth(ak, sk, project_id))
    outcomes = await client.pause([PauseInfo(job_id=..., pause_mode="target")])
"""

from drs_pause_operator.drs.auth import AkSkAuth, IamPasswordAuth, TokenAuth, TokenCache
from drs_pause_operator.drs.client import DrsClient
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
)
from drs_pause_operator.drs.models import JobStatus, PauseInfo, is_paused_state
from drs_pause_operator.drs.outcomes import PauseOutcome
from drs_pause_operator.drs.progress import JobProgress
from drs_pause_operator.drs.redact import RedactingFilter, Redactor, redact
from drs_pause_operator.drs.transport import Timeouts, make_http_client, make_ssl_context

__all__ = [
    "AkSkAuth",
    "DrsAuthenticationError",
    "DrsClient",
    "DrsError",
    "DrsInvalidProjectError",
    "DrsProtocolError",
    "DrsRequestError",
    "DrsResponseError",
    "DrsServerError",
    "DrsTLSError",
    "DrsThrottledError",
    "DrsTransportError",
    "IamPasswordAuth",
    "JobProgress",
    "JobStatus",
    "PauseInfo",
    "PauseOutcome",
    "RedactingFilter",
    "Redactor",
    "Timeouts",
    "TokenAuth",
    "TokenCache",
    "is_paused_state",
    "make_http_client",
    "make_response_error",
    "make_ssl_context",
    "redact",
]
