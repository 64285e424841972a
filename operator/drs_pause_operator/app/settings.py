"""The operator's configuration: every knob named once, from flags or environment variables.

Flags win over environment variables, which win over defaults (API.md section 3.2). Invalid
values stop the operator at start with a message naming the setting.
"""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Mapping, Sequence
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

ENV_PREFIX = "DRS_PAUSE_"


class SettingsError(ValueError):
    """A setting has an invalid value; the message names the flag and the variable."""


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    namespaces: tuple[str, ...] = Field((), description="Namespaces to watch; empty = all.")
    default_credentials_secret: str | None = Field(
        None, description="NS/NAME of the default Secret."
    )
    endpoint_template: str = "https://drs.{region}.otc.t-systems.com"
    iam_endpoint_template: str = "https://iam.{region}.otc.t-systems.com"
    default_region: str = "eu-de"
    allowed_endpoints: str | None = Field(
        None, description="Regex of allowed spec.endpoint values; default: what the template makes."
    )
    allow_insecure_http: bool = False
    ca_bundle: str | None = None
    # 100 jobs per pause request: no limit is documented for the pause API, and a batch-status
    # page holds at most 100 ids, so a full pause is verified with one status request.
    batch_size: int = Field(100, ge=1, le=1000)
    # DRS requests in flight per key (and the HTTP pool size): at the default 10 requests/s,
    # 10 in flight keep the limiter busy even at a 1 s round trip; more would only queue on it.
    max_concurrency: int = Field(10, ge=1, le=1000)
    request_timeout: float = Field(30.0, gt=0, le=600)
    verify_timeout: float = Field(
        600.0, ge=0, le=7 * 86400, description="0 = no verification via batch-status."
    )
    metrics_port: int = Field(9090, ge=0, le=65535)
    log_format: Literal["text", "json"] = "text"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # Outbound rate limit per endpoint + credentials (token bucket), and the coalescing window
    # in which pending jobs of different objects are merged into one pause request.
    rate_limit: float = Field(10.0, gt=0, description="DRS requests per second per key.")
    # One second's worth: a bucket larger than the service's own burst allowance turns every
    # return from idle into a volley of 429s (bench: 20 let the first second overshoot).
    rate_burst: int = Field(10, ge=1)
    # The longest a pending job waits for company while its key is busy (a call in flight, or
    # other objects announced on their way); an idle key sends at once, so a lone object never
    # waits. 0.5 s lets a burst fill its calls while Kubernetes writes pace the objects (bench,
    # 500 x 10 jobs, bound 60: 0.02 s -> 73 pause requests, 0.25 s -> 57, 0.5 s -> 53, 1 s -> 51).
    coalesce_window: float = Field(0.5, ge=0, le=5)

    @field_validator("namespaces")
    @classmethod
    def _namespaces(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for ns in value:
            if not re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", ns) or len(ns) > 63:
                raise ValueError(f"{ns!r} is not a valid namespace name")
        return value

    @field_validator("default_credentials_secret")
    @classmethod
    def _secret_ref(cls, value: str | None) -> str | None:
        if value and not re.fullmatch(r"[a-z0-9][-a-z0-9]*/[a-z0-9][-a-z0-9.]*", value):
            raise ValueError(f"{value!r} must be NAMESPACE/NAME")
        return value or None

    @field_validator("endpoint_template", "iam_endpoint_template")
    @classmethod
    def _template(cls, value: str) -> str:
        probe = value.replace("{region}", "eu-de")
        parts = urlsplit(probe)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"{value!r} is not an http(s) URL template")
        if "{" in probe or "}" in probe:
            raise ValueError(f"{value!r} may only contain the {{region}} placeholder")
        return value.rstrip("/")

    @field_validator("allowed_endpoints")
    @classmethod
    def _regex(cls, value: str | None) -> str | None:
        if value:
            try:
                re.compile(value)
            except re.error as err:
                raise ValueError(f"{value!r} is not a valid regular expression: {err}") from None
        return value or None

    @field_validator("ca_bundle")
    @classmethod
    def _ca_bundle(cls, value: str | None) -> str | None:
        if value and not os.path.isfile(value):
            raise ValueError(f"{value!r} is not a readable file")
        return value or None

    @model_validator(mode="after")
    def _insecure_templates(self) -> Settings:
        for name in ("endpoint_template", "iam_endpoint_template"):
            if getattr(self, name).lower().startswith("http://") and not self.allow_insecure_http:
                flag = "--" + name.replace("_", "-")
                raise ValueError(
                    f"{flag} ({env_name(name)}) is http:// but --allow-insecure-http "
                    f"({env_name('allow_insecure_http')}) is off"
                )
        return self

    def endpoint_for(self, region: str | None) -> str:
        return self.endpoint_template.replace("{region}", region or self.default_region)

    def iam_endpoint_for(self, region: str | None) -> str:
        return self.iam_endpoint_template.replace("{region}", region or self.default_region)

    def endpoint_allowed(self, endpoint: str) -> bool:
        """Does a user-given spec.endpoint match the allowed pattern?

        Default pattern: exactly what the endpoint template produces for any region name.
        """
        pattern = self.allowed_endpoints or (
            re.escape(self.endpoint_template).replace(r"\{region\}", "[a-z0-9-]+")
        )
        return re.fullmatch(pattern, endpoint.rstrip("/")) is not None


# flag -> (field, environment variable, help). The order is the order of `run --help`.
_OPTIONS: dict[str, tuple[str, str]] = {
    "--default-credentials-secret": ("default_credentials_secret", "Default Secret as NS/NAME."),
    "--endpoint-template": ("endpoint_template", "DRS endpoint URL with {region}."),
    "--iam-endpoint-template": ("iam_endpoint_template", "IAM endpoint URL with {region}."),
    "--default-region": ("default_region", "Region when spec.region is empty."),
    "--allowed-endpoints": ("allowed_endpoints", "Regex of spec.endpoint values allowed."),
    "--ca-bundle": ("ca_bundle", "CA bundle file for DRS/IAM TLS."),
    "--batch-size": ("batch_size", "Jobs per pause request."),
    "--max-concurrency": ("max_concurrency", "DRS requests in flight."),
    "--request-timeout": ("request_timeout", "Seconds per DRS request."),
    "--verify-timeout": ("verify_timeout", "Seconds to wait for PAUSING (0 = do not verify)."),
    "--metrics-port": ("metrics_port", "Prometheus port (0 = off)."),
    "--log-format": ("log_format", "text or json."),
    "--log-level": ("log_level", "DEBUG, INFO, WARNING or ERROR."),
    "--rate-limit": ("rate_limit", "DRS requests per second per endpoint+credentials."),
    "--rate-burst": ("rate_burst", "Token bucket size for --rate-limit."),
    "--coalesce-window": (
        "coalesce_window",
        "Longest seconds a job waits to share a DRS request with others while busy.",
    ),
}


# Fields whose flag is not simply --field-name.
_FLAGS = {"namespaces": "--namespace"}


def env_name(field: str) -> str:
    return ENV_PREFIX + field.upper()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    ns = parser.add_mutually_exclusive_group()
    ns.add_argument(
        "--namespace",
        "-n",
        action="append",
        dest="namespaces",
        metavar="NS",
        help=f"Namespace to watch (repeatable). Env {env_name('namespaces')}.",
    )
    ns.add_argument(
        "--all-namespaces", "-A", action="store_true", help="Watch all namespaces (the default)."
    )
    parser.add_argument(
        "--allow-insecure-http",
        action="store_true",
        default=None,
        help=f"Allow http:// endpoints (simulator). Env {env_name('allow_insecure_http')}.",
    )
    for flag, (field, text) in _OPTIONS.items():
        parser.add_argument(flag, dest=field, default=None, help=f"{text} Env {env_name(field)}.")


def _truthy(name: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("", "0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name}={value!r}: expected true or false")


def load(
    args: argparse.Namespace | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Merge flags over environment over defaults; raise SettingsError naming the bad setting."""
    environ = os.environ if environ is None else environ
    values: dict[str, object] = {}
    sources: dict[str, str] = {}
    for field in Settings.model_fields:
        var = env_name(field)
        # An empty variable means "not set" (a chart may render empty values).
        if environ.get(var, "").strip():
            raw = environ[var]
            if field == "namespaces":
                values[field] = tuple(n.strip() for n in raw.split(",") if n.strip())
            elif field == "allow_insecure_http":
                values[field] = _truthy(var, raw)
            else:
                values[field] = raw
            sources[field] = f"environment variable {var}"
    if args is not None:
        for field in Settings.model_fields:
            value = getattr(args, field, None)
            if value is not None:
                values[field] = tuple(value) if isinstance(value, list) else value
                sources[field] = _FLAGS.get(field, "--" + field.replace("_", "-"))
        if getattr(args, "all_namespaces", False):
            values["namespaces"] = ()
    try:
        return Settings(**values)  # type: ignore[arg-type]
    except ValidationError as err:
        problems = []
        for e in err.errors():
            field = str(e["loc"][0]) if e["loc"] else ""
            flag = _FLAGS.get(field, "--" + field.replace("_", "-"))
            where = sources.get(field, flag) if field else "settings"
            problems.append(f"{where}: {e['msg']}")
        raise SettingsError("invalid operator configuration: " + "; ".join(problems)) from None


def describe(settings: Settings, fields: Sequence[str] | None = None) -> str:
    """One line for the start-up log (no secrets live in settings)."""
    data = settings.model_dump()
    return ", ".join(f"{k}={data[k]!r}" for k in (fields or data))
