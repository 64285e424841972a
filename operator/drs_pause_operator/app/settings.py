"""The operator's configuration: every knob named once, from flags or environment variables.

Flags win over environment variables (``DRS_PAUSE_<FIELD>``), which win over defaults; an empty
variable counts as unset. Invalid values stop the operator at start with a message naming the
flag or variable they came from. The settings are listed in docs/reference.md.
"""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    create_model,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

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
    # batch-progress readings of a job's replication delay (spec.delayGate, spec.resume.catchUp):
    # at most this often per job. The delay moves slowly; 30 s is what a DBA watching it uses.
    delay_poll_interval: float = Field(30.0, ge=1, le=3600)
    # Every object only plans (resource/plans.py), whatever its spec.dryRun: a safe first
    # install against production.
    dry_run: bool = False
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
    # Leader election on a coordination.k8s.io/v1 Lease (engine/leader.py), always on; the
    # timings are client-go's defaults. A standby takes over lease_duration seconds after the
    # leader's last renewal; the leader stops acting after lease_renew_deadline without one.
    lease_name: str = "drs-pause-operator"
    lease_namespace: str | None = Field(
        None, description="Default: the pod's namespace, else POD_NAMESPACE, else default."
    )
    lease_duration: int = Field(15, ge=2, le=3600)
    lease_renew_deadline: float = Field(10.0, gt=0, le=3600)
    lease_retry_period: float = Field(2.0, ge=0.1, le=600)

    @field_validator("namespaces")
    @classmethod
    def _namespaces(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for ns in value:
            if not re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", ns) or len(ns) > 63:
                raise ValueError(f"{ns!r} is not a valid namespace name")
        return value

    @field_validator("lease_name")
    @classmethod
    def _lease_name(cls, value: str) -> str:
        if len(value) > 253 or not re.fullmatch(
            r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*", value
        ):
            raise ValueError(f"{value!r} is not a valid Lease name (a DNS subdomain)")
        return value

    @field_validator("lease_namespace")
    @classmethod
    def _lease_namespace(cls, value: str | None) -> str | None:
        if value and (not re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", value) or len(value) > 63):
            raise ValueError(f"{value!r} is not a valid namespace name")
        return value or None

    @model_validator(mode="after")
    def _lease_timings(self) -> Settings:
        # client-go's rules: lease duration > renew deadline > 1.2 x retry period. The leader
        # must give up before a standby may take over, and retry at least once in between.
        if not self.lease_renew_deadline < self.lease_duration:
            raise ValueError(
                f"--lease-renew-deadline ({env_name('lease_renew_deadline')}) must be shorter "
                f"than --lease-duration ({env_name('lease_duration')})"
            )
        if not 1.2 * self.lease_retry_period < self.lease_renew_deadline:
            raise ValueError(
                f"--lease-retry-period ({env_name('lease_retry_period')}) x 1.2 must be shorter "
                f"than --lease-renew-deadline ({env_name('lease_renew_deadline')})"
            )
        return self

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


# flag -> (field, help). The order is the order of `run --help`.
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
    "--delay-poll-interval": (
        "delay_poll_interval",
        "Seconds between replication delay readings of a job (delayGate, catchUp).",
    ),
    "--metrics-port": ("metrics_port", "Prometheus port (0 = off)."),
    "--log-format": ("log_format", "text or json."),
    "--log-level": ("log_level", "DEBUG, INFO, WARNING or ERROR."),
    "--rate-limit": ("rate_limit", "DRS requests per second per endpoint+credentials."),
    "--rate-burst": ("rate_burst", "Token bucket size for --rate-limit."),
    "--coalesce-window": (
        "coalesce_window",
        "Longest seconds a job waits to share a DRS request with others while busy.",
    ),
    "--lease-name": ("lease_name", "Lease for leader election."),
    "--lease-namespace": (
        "lease_namespace",
        "Namespace of the Lease (default: the pod's, else POD_NAMESPACE, else default).",
    ),
    "--lease-duration": ("lease_duration", "Seconds a standby waits before taking over."),
    "--lease-renew-deadline": (
        "lease_renew_deadline",
        "Seconds without renewal after which the leader stops.",
    ),
    "--lease-retry-period": ("lease_retry_period", "Seconds between Lease attempts."),
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
    parser.add_argument(
        "--dry-run",
        action="store_true",
        default=None,
        help="Every object only plans: nothing is paused or resumed. "
        f"Env {env_name('dry_run')}.",
    )
    for flag, (field, text) in _OPTIONS.items():
        parser.add_argument(flag, dest=field, default=None, help=f"{text} Env {env_name(field)}.")


def _truthy(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{value!r}: expected true or false")


class _EnvironmentBase(BaseSettings):
    """The environment half of the configuration, read by pydantic-settings.

    One optional field per Settings field, from DRS_PAUSE_<FIELD>. Only what has a text form of
    its own is decoded here: the comma-separated namespace list and the true/false words.
    Everything else stays text and is validated by Settings together with the flags, so a bad
    value is reported once, naming where it came from, and a variable a flag overrides is never
    held against the operator.
    """

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The values come from _MappingEnvSource, as keyword arguments: no .env file, no
        # secrets directory, and never os.environ behind the caller's back.
        return (init_settings,)

    @field_validator("namespaces", mode="before", check_fields=False)
    @classmethod
    def _split_namespaces(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(n.strip() for n in value.split(",") if n.strip())
        return value

    @field_validator("allow_insecure_http", "dry_run", mode="before", check_fields=False)
    @classmethod
    def _boolean_words(cls, value: object) -> object:
        return _truthy(value) if isinstance(value, str) else value


_FIELD_TYPES: dict[str, Any] = {
    "namespaces": Annotated[tuple[str, ...] | None, NoDecode],  # comma-separated, not JSON
    "allow_insecure_http": bool | None,
    "dry_run": bool | None,
}
_ENVIRONMENT_FIELDS: dict[str, Any] = {
    field: (_FIELD_TYPES.get(field, str | None), None) for field in Settings.model_fields
}
_Environment: type[_EnvironmentBase] = create_model(
    "_Environment", __base__=_EnvironmentBase, **_ENVIRONMENT_FIELDS
)


class _MappingEnvSource(EnvSettingsSource):
    """pydantic-settings' environment source, over a given mapping instead of os.environ."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        self._environ = environ
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        # Names count only as documented, in upper case (lower-cased here for pydantic-settings'
        # case-insensitive matching); an empty or blank variable means "not set" (a chart may
        # render empty values).
        return {
            name.lower(): value
            for name, value in self._environ.items()
            if name.startswith(ENV_PREFIX) and name == name.upper() and value.strip()
        }


def _read_environment(environ: Mapping[str, str]) -> tuple[dict[str, object], dict[str, str]]:
    """The DRS_PAUSE_* variables that are set, by field; and by field the problem of each one
    that cannot be read."""
    problems: dict[str, str] = {}
    raw = _MappingEnvSource(_Environment, environ)()
    while True:
        try:
            return _Environment(**raw).model_dump(exclude_unset=True), problems
        except ValidationError as err:
            for e in err.errors():
                field = str(e["loc"][0])
                problems[field] = f"environment variable {env_name(field)}: {e['msg']}"
                raw.pop(field, None)  # and read the others


def load(
    args: argparse.Namespace | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Merge flags over environment over defaults; raise SettingsError naming the bad setting."""
    values, env_problems = _read_environment(os.environ if environ is None else environ)
    sources = {field: f"environment variable {env_name(field)}" for field in values}
    if args is not None:
        flags = {field: getattr(args, field, None) for field in Settings.model_fields}
        if getattr(args, "all_namespaces", False):
            flags["namespaces"] = ()
        for field, value in flags.items():
            if value is not None:
                values[field] = tuple(value) if isinstance(value, list) else value
                sources[field] = _FLAGS.get(field, "--" + field.replace("_", "-"))
                env_problems.pop(field, None)  # the flag wins, whatever the variable says
    problems = list(env_problems.values())
    try:
        settings = Settings.model_validate(values)
    except ValidationError as err:
        for e in err.errors():
            field = str(e["loc"][0]) if e["loc"] else ""
            flag = _FLAGS.get(field, "--" + field.replace("_", "-"))
            where = sources.get(field, flag) if field else "settings"
            problems.append(f"{where}: {e['msg']}")
    if problems:
        raise SettingsError("invalid operator configuration: " + "; ".join(problems))
    return settings


def describe(settings: Settings, fields: Sequence[str] | None = None) -> str:
    """One line for the start-up log (no secrets live in settings)."""
    data = settings.model_dump()
    return ", ".join(f"{k}={data[k]!r}" for k in (fields or data))
