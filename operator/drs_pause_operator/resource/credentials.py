"""Which endpoint and which credentials an object uses (docs/reference.md, "Credentials" and
"Endpoint safety").

The path from a Secret to an auth header, in two steps: here, pure functions -
``resolve_target`` decides from the spec and the settings, and ``credentials_from_secret``
turns a Secret's decoded data into :class:`Credentials` - and then
:func:`drs_pause_operator.drs.auth.auth_for`, which turns those into an ``httpx.Auth``. The
functions here report problems as :class:`~drs_pause_operator.resource.problem.Problem` values
whose messages never hold a secret value.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from drs_pause_operator.app.settings import Settings
from drs_pause_operator.drs.auth import KEY_SETS, CredentialKind
from drs_pause_operator.resource.problem import Problem
from drs_pause_operator.resource.spec import DrsJobPauseSpec

#: A Secret annotation: a regular expression of endpoints its credentials may also go to.
ALLOWED_ENDPOINTS_ANNOTATION = "drs.cloudops.dev/allowed-endpoints"


@dataclass(frozen=True)
class SecretRef:
    namespace: str
    name: str
    default: bool  # the operator's default Secret, not the object's own

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True)
class Target:
    endpoint: str
    iam_endpoint: str
    project_id: str
    secret: SecretRef
    custom_endpoint: bool = False  # spec.endpoint was given (not made from the template)


@dataclass(frozen=True, repr=False)
class Credentials:
    kind: CredentialKind
    values: dict[str, str] = field(compare=False)
    fingerprint: str = ""  # sha256 of the values: a cache key that reveals nothing

    def __repr__(self) -> str:
        return f"Credentials(kind={self.kind!r}, fingerprint={self.fingerprint[:12]!r})"

    def secret_values(self) -> list[str]:
        """Everything that must be redacted wherever text could leave the process."""
        return [
            v
            for k, v in self.values.items()
            if k not in ("username", "domainName", "iamEndpoint", "accessKey")
        ]


def _insecure(url: str, settings: Settings) -> bool:
    return url.lower().startswith("http://") and not settings.allow_insecure_http


def resolve_target(spec: DrsJobPauseSpec, namespace: str, settings: Settings) -> Target | Problem:
    """Endpoint, IAM endpoint and Secret for an object, or why it cannot have them."""
    if spec.credentials_secret_ref is not None:
        secret = SecretRef(namespace, spec.credentials_secret_ref.name, default=False)
    elif settings.default_credentials_secret:
        ns, name = settings.default_credentials_secret.split("/", 1)
        secret = SecretRef(ns, name, default=True)
    else:
        return Problem(
            "CredentialsNotFound",
            "spec.credentialsSecretRef is not set and the operator has no default credentials "
            "Secret (--default-credentials-secret)",
        )
    endpoint = (spec.endpoint or settings.endpoint_for(spec.region)).rstrip("/")
    if _insecure(endpoint, settings):
        return Problem(
            "InsecureEndpoint",
            f"spec.endpoint {endpoint} is http://; the operator only talks https:// unless it "
            "runs with --allow-insecure-http",
        )
    return Target(
        endpoint=endpoint,
        iam_endpoint=settings.iam_endpoint_for(spec.region),
        project_id=spec.project_id,
        secret=secret,
        custom_endpoint=bool(spec.endpoint),
    )


def endpoint_problem(
    target: Target, secret_annotations: Mapping[str, str], settings: Settings
) -> Problem | None:
    """May the Secret's credentials go to the object's ``spec.endpoint``?

    Whoever may create objects need not be able to read the Secrets they name: a custom endpoint
    must match the operator's ``--allowed-endpoints``, or the pattern the Secret itself carries
    in its ``drs.cloudops.dev/allowed-endpoints`` annotation (written by whoever may write the
    Secret). Otherwise an object could send any Secret of its namespace, or the operator's
    default one, to a host of its author's choice (a confused deputy).
    """
    if not target.custom_endpoint or settings.endpoint_allowed(target.endpoint):
        return None
    own = (secret_annotations.get(ALLOWED_ENDPOINTS_ANNOTATION) or "").strip()
    if own:
        try:
            if re.fullmatch(own, target.endpoint) is not None:
                return None
        except re.error as err:
            return Problem(
                "EndpointNotAllowed",
                f"the annotation {ALLOWED_ENDPOINTS_ANNOTATION} of Secret {target.secret} is "
                f"not a valid regular expression ({err}); spec.endpoint {target.endpoint} is "
                "refused",
            )
    return Problem(
        "EndpointNotAllowed",
        f"spec.endpoint {target.endpoint} matches neither the operator's allowed endpoints nor "
        f"the annotation {ALLOWED_ENDPOINTS_ANNOTATION} of Secret {target.secret}; use an "
        "allowed endpoint, or have whoever manages that Secret annotate it with a pattern "
        "that admits this endpoint",
    )


def decode_secret_data(data: dict[str, str] | None) -> dict[str, str]:
    """Secret .data values are base64; undecodable ones are dropped (reported as missing)."""
    out = {}
    for key, value in (data or {}).items():
        try:
            out[key] = base64.b64decode(value, validate=True).decode("utf-8").strip()
        except (binascii.Error, UnicodeDecodeError, ValueError):
            continue
    return out


def credentials_from_secret(
    data: dict[str, str], secret: SecretRef, settings: Settings
) -> Credentials | Problem:
    """Pick the first complete key set, in the order of preference of ``KEY_SETS``."""
    for kind, required, optional in KEY_SETS:
        if all(data.get(k) for k in required):
            values = {k: data[k] for k in (*required, *optional) if data.get(k)}
            iam = values.get("iamEndpoint")
            if iam and _insecure(iam, settings):
                return Problem("InsecureEndpoint", f"iamEndpoint in Secret {secret} is http://")
            digest = hashlib.sha256(
                "\0".join(f"{k}={values[k]}" for k in sorted(values)).encode()
            ).hexdigest()
            return Credentials(kind=kind, values=values, fingerprint=digest)
    present = ", ".join(sorted(data)) or "none"
    return Problem(
        "CredentialsInvalid",
        f"Secret {secret} has no usable key set: expected accessKey+secretKey, or "
        f"username+password+domainName, or token (keys present: {present})",
    )
