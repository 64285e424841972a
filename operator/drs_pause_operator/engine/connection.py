"""An object's way to DRS: its endpoint and credentials, or why it cannot have them.

Errors about the operator's access to DRS as a whole (rejected credentials, TLS, the project)
stall the object until a person fixes them; they are mapped to its Stalled problem here, in one
place, for every step that talks to DRS.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from drs_pause_operator.app.settings import Settings
from drs_pause_operator.drs.errors import (
    DrsAuthenticationError,
    DrsError,
    DrsInvalidProjectError,
    DrsTLSError,
)
from drs_pause_operator.drs.redact import REDACTOR, register_secret
from drs_pause_operator.engine.kube import SecretData, SecretUnavailable
from drs_pause_operator.resource.credentials import (
    Credentials,
    Target,
    credentials_from_secret,
    decode_secret_data,
    endpoint_problem,
    resolve_target,
)
from drs_pause_operator.resource.spec import DrsJobPauseSpec
from drs_pause_operator.resource.status import Problem

#: Errors about the operator's access to DRS as a whole: the object stalls until they are gone.
ACCESS_ERRORS = (DrsAuthenticationError, DrsTLSError, DrsInvalidProjectError)


class SecretReader(Protocol):
    async def read_secret(self, namespace: str, name: str) -> SecretData: ...


@dataclass
class Connection:
    target: Target
    creds: Credentials
    language: str


async def connect(
    settings: Settings, kube: SecretReader, spec: DrsJobPauseSpec, namespace: str
) -> Connection | Problem:
    """The endpoint and credentials of an object, or why it cannot have them."""
    target = resolve_target(spec, namespace, settings)
    if isinstance(target, Problem):
        return target
    try:
        secret = await kube.read_secret(target.secret.namespace, target.secret.name)
    except SecretUnavailable as err:
        return Problem(err.reason, err.message)
    refused = endpoint_problem(target, secret.annotations, settings)
    if refused is not None:
        return refused
    creds = credentials_from_secret(decode_secret_data(secret.data), target.secret, settings)
    if isinstance(creds, Problem):
        return creds
    register_secret(*creds.secret_values())
    return Connection(target, creds, spec.language)


def problem_from(err: DrsError) -> Problem:
    """The Stalled problem of an access error (one of ACCESS_ERRORS)."""
    message = REDACTOR.redact(str(err))
    if isinstance(err, DrsAuthenticationError):
        return Problem("AuthenticationFailed", f"DRS rejected the credentials: {message}")
    if isinstance(err, DrsTLSError):
        return Problem("TLSError", f"TLS connection to DRS failed: {message}")
    return Problem("InvalidProject", f"DRS rejected the project: {message}")
