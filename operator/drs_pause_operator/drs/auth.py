"""``httpx.Auth`` classes for the three ways to authenticate to DRS.

- :class:`TokenAuth`: a ready IAM token, sent as ``X-Auth-Token``.
- :class:`IamPasswordAuth`: logs in to IAM with a password, caches the project-scoped token in a
  shared :class:`TokenCache` (one login per credential set, however many requests wait for it),
  refreshes it shortly before expiry, and once more when DRS rejects it (HTTP 401, DRS.M00100,
  APIGW.0307), then retries that request once.
- :class:`AkSkAuth`: SDK-HMAC-SHA256 request signing, sending the headers the Huawei SDK sends.

A Secret's keys pick the class through :func:`auth_for` (:data:`KEY_SETS` lists them in order
of preference). Every class registers its secrets with :data:`drs.redact.REDACTOR` and hides
them in ``repr``.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections import OrderedDict
from collections.abc import AsyncGenerator, Callable, Generator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

import httpx

from drs_pause_operator.drs import signing
from drs_pause_operator.drs.errors import (
    DrsAuthenticationError,
    DrsError,
    DrsProtocolError,
    make_response_error,
    transport_error,
)
from drs_pause_operator.drs.models import IamTokenBody, error_fields
from drs_pause_operator.drs.parsing import parse_json
from drs_pause_operator.drs.redact import REDACTOR, RedactingFilter, register_secret
from drs_pause_operator.drs.retry import TOKEN_EXPIRED_CODES

__all__ = [
    "AkSkAuth",
    "CachedToken",
    "IamPasswordAuth",
    "TokenAuth",
    "TokenCache",
    "TokenKey",
    "auth_for",
]

log = logging.getLogger(__name__)
log.addFilter(RedactingFilter())

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


def _hint(value: str) -> str:
    """A recognisable but useless prefix of an identifier, for reprs."""
    return f"{value[:4]}…" if len(value) > 4 else "…"


# --- static token -------------------------------------------------------------------------


class TokenAuth(httpx.Auth):
    """Sends a ready token as ``X-Auth-Token``. It cannot be refreshed: a rejected token ends as
    :class:`DrsAuthenticationError` in the client."""

    def __init__(self, token: str) -> None:
        if not token:
            raise ValueError("token must not be empty")
        self._token = token
        register_secret(token)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["X-Auth-Token"] = self._token
        yield request

    def __repr__(self) -> str:
        return "TokenAuth(token=<redacted>)"


# --- IAM password login and the token cache -----------------------------------------------

#: (iam endpoint, domain name, user name, sha256(password), project id)
TokenKey = tuple[str, str, str, str, str]


@dataclass(frozen=True, repr=False)
class CachedToken:
    value: str
    expires_at: datetime
    obtained_at: datetime

    def refresh_due(self, now: datetime, *, margin_seconds: float, margin_ratio: float) -> bool:
        """True within ``min(margin_seconds, margin_ratio * lifetime)`` of expiry. The ratio keeps
        short-lived tokens (tests, STS) usable; the absolute margin covers 24 h IAM tokens."""
        lifetime = (self.expires_at - self.obtained_at).total_seconds()
        margin = min(margin_seconds, max(lifetime, 0.0) * margin_ratio)
        return now >= self.expires_at - timedelta(seconds=margin)

    def __repr__(self) -> str:
        return f"CachedToken(value=<redacted>, expires_at={self.expires_at.isoformat()})"


class TokenCache:
    """IAM tokens shared by every client of the process, keyed by credential set.

    Holds one ``asyncio.Lock`` per key so concurrent requests log in once. Bounded (least
    recently used entries go first) so memory stays flat however many credential sets come
    and go.
    """

    def __init__(
        self,
        *,
        clock: Clock = utcnow,
        margin_seconds: float = 300.0,
        margin_ratio: float = 0.1,
        max_entries: int = 1024,
    ) -> None:
        self.clock = clock
        self.margin_seconds = margin_seconds
        self.margin_ratio = margin_ratio
        self._max_entries = max_entries
        self._tokens: OrderedDict[TokenKey, CachedToken] = OrderedDict()
        self._locks: dict[TokenKey, asyncio.Lock] = {}
        #: Number of IAM logins done through this cache (for metrics and tests).
        self.logins = 0

    def usable(self, key: TokenKey) -> CachedToken | None:
        """The cached token for ``key`` unless it is missing or due for refresh."""
        token = self._tokens.get(key)
        if token is None:
            return None
        if token.refresh_due(
            self.clock(), margin_seconds=self.margin_seconds, margin_ratio=self.margin_ratio
        ):
            return None
        self._tokens.move_to_end(key)
        return token

    def put(self, key: TokenKey, token: CachedToken) -> None:
        self._tokens[key] = token
        self._tokens.move_to_end(key)
        while len(self._tokens) > self._max_entries:
            old, _ = self._tokens.popitem(last=False)
            lock = self._locks.get(old)
            if lock is not None and not lock.locked():
                del self._locks[old]

    def discard(self, key: TokenKey) -> None:
        self._tokens.pop(key, None)

    def lock(self, key: TokenKey) -> asyncio.Lock:
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        return lock

    def __len__(self) -> int:
        return len(self._tokens)

    def __repr__(self) -> str:
        return f"TokenCache(<{len(self._tokens)} tokens>)"


#: Assumed lifetime when IAM's body does not say (real tokens live 24 h).
_FALLBACK_TTL = timedelta(hours=1)


class IamPasswordAuth(httpx.Auth):
    """Project-scoped IAM token from a password login, cached and refreshed.

    Async only (the login is an HTTP call on ``http``, the shared client).
    """

    # The flow reads DRS error bodies to spot DRS.M00100 / APIGW.0307. httpx only acts on this
    # flag in the default flows, which this class replaces: async_auth_flow reads the body of
    # error answers itself (bounded by the size guard of make_http_client) and leaves success
    # bodies to stream.
    requires_response_body = True

    def __init__(
        self,
        iam_endpoint: str,
        username: str,
        password: str,
        domain_name: str,
        project_id: str,
        *,
        cache: TokenCache,
        http: httpx.AsyncClient,
    ) -> None:
        if not (iam_endpoint and username and password and domain_name and project_id):
            raise ValueError(
                "iam_endpoint, username, password, domain_name and project_id are required"
            )
        self._iam = iam_endpoint.rstrip("/")
        self._username = username
        self._password = password
        self._domain = domain_name
        self._project_id = project_id
        self._cache = cache
        self._http = http
        digest = hashlib.sha256(password.encode("utf-8")).hexdigest()
        self._key: TokenKey = (self._iam, domain_name, username, digest, project_id)
        register_secret(password)

    @property
    def cache_key(self) -> TokenKey:
        return self._key

    async def token(self, *, rejected: str | None = None) -> str:
        """A usable token, logging in when none is cached (or the cached one is ``rejected``)."""
        cached = self._cache.usable(self._key)
        if cached is not None and cached.value != rejected:
            return cached.value
        async with self._cache.lock(self._key):
            # Someone else may have logged in while this coroutine waited for the lock.
            cached = self._cache.usable(self._key)
            if cached is not None and cached.value != rejected:
                return cached.value
            self._cache.discard(self._key)
            fresh = await self._login()
            self._cache.put(self._key, fresh)
            return fresh.value

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        token = await self.token()
        request.headers["X-Auth-Token"] = token
        response = yield request
        if response.status_code >= 400:
            await response.aread()
        if _token_rejected(response):
            log.debug(
                "DRS rejected the IAM token (HTTP %s); logging in again", response.status_code
            )
            request.headers["X-Auth-Token"] = await self.token(rejected=token)
            yield request

    def sync_auth_flow(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, None]:
        raise RuntimeError("IamPasswordAuth works with httpx.AsyncClient only")

    def _who(self) -> str:
        return f"user {self._username!r} in domain {self._domain!r} (project {self._project_id})"

    async def _login(self) -> CachedToken:
        url = f"{self._iam}/v3/auth/tokens"
        body = {
            "auth": {
                "identity": {
                    "methods": ["password"],
                    "password": {
                        "user": {
                            "name": self._username,
                            "password": self._password,
                            "domain": {"name": self._domain},
                        }
                    },
                },
                "scope": {"project": {"id": self._project_id}},
            }
        }
        started = self._cache.clock()
        self._cache.logins += 1
        try:
            response = await self._http.post(url, json=body)
        except DrsError:
            raise
        except httpx.HTTPError as err:
            raise transport_error(err, what="IAM login", url=url) from err
        request_id = response.headers.get("X-Request-Id")
        if response.is_success:
            return self._token_from(response, started, url)
        try:
            code, message = error_fields(response.json())
        except ValueError:
            code, message = None, None
        status = response.status_code
        if status == 429 or status >= 500:
            raise make_response_error(
                status,
                code,
                message,
                request_id=request_id,
                what="IAM login",
                secrets=(self._password,),
            )
        detail = f"HTTP {status}" + (f" {code}" if code else "")
        if message:
            detail += f": {REDACTOR(message, (self._password,))}"
        raise DrsAuthenticationError(
            f"IAM rejected the password login of {self._who()} at {self._iam} ({detail})",
            status_code=status,
            error_code=code,
            error_msg=message and REDACTOR(message, (self._password,)),
            request_id=request_id,
        )

    def _token_from(self, response: httpx.Response, started: datetime, url: str) -> CachedToken:
        value = response.headers.get("X-Subject-Token")
        if not value:
            raise DrsProtocolError(f"IAM login at {url}: answer has no X-Subject-Token header")
        # Issued tokens are not registered with the redactor (one per day per credential set
        # would grow it without bound); they are never logged, and header-shaped text is masked.
        try:
            body = parse_json(IamTokenBody, response.content, what="IAM login")
            expires_at = body.token.expires_at
            if expires_at.tzinfo is None:
                expires_at = expires_at.replace(tzinfo=UTC)
        except DrsProtocolError:
            expires_at = started + _FALLBACK_TTL
            log.warning("IAM login answer has no readable token.expires_at; assuming 1 hour")
        log.debug("IAM token obtained for %s, expires %s", self._who(), expires_at.isoformat())
        return CachedToken(value=value, expires_at=expires_at, obtained_at=started)

    def __repr__(self) -> str:
        return (
            f"IamPasswordAuth(iam_endpoint={self._iam!r}, username={self._username!r}, "
            f"password=<redacted>, domain_name={self._domain!r}, project_id={self._project_id!r})"
        )


def _token_rejected(response: httpx.Response) -> bool:
    if response.status_code == 401:
        return True
    if response.status_code < 400:
        return False
    try:
        code, _ = error_fields(response.json())
    except ValueError:
        return False
    return code in TOKEN_EXPIRED_CODES


# --- AK/SK signing ------------------------------------------------------------------------

#: The headers signed besides X-Sdk-Date: what the Huawei SDK sends and signs for DRS calls
#: (it also signs its User-Agent; leaving ours out keeps proxies that rewrite it harmless).
_SIGNED_HEADERS = ("Content-Type", "Host", "X-Language", "X-Project-Id", "X-Security-Token")


class AkSkAuth(httpx.Auth):
    """SDK-HMAC-SHA256 signing with an access key / secret key pair (optionally temporary,
    with a security token). Adds ``X-Project-Id``, ``X-Security-Token``, ``X-Sdk-Date`` and
    ``Authorization``; signs the request body, so the request must not change afterwards."""

    requires_request_body = True

    def __init__(
        self,
        access_key: str,
        secret_key: str,
        project_id: str,
        security_token: str | None = None,
        clock: Clock = utcnow,
    ) -> None:
        if not access_key or not secret_key:
            raise ValueError("access_key and secret_key are required")
        self._ak = access_key
        self._sk = secret_key
        self._project_id = project_id
        self._security_token = security_token or None
        self._clock = clock
        register_secret(secret_key, security_token)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if self._project_id:
            request.headers["X-Project-Id"] = self._project_id
        if self._security_token:
            request.headers["X-Security-Token"] = self._security_token
        to_sign = {n: request.headers[n] for n in _SIGNED_HEADERS if n in request.headers}
        added = signing.sign_request(
            request.method,
            str(request.url),
            to_sign,
            request.content,
            self._ak,
            self._sk,
            signing.format_sdk_date(self._clock()),
        )
        request.headers.update(added)
        yield request

    def __repr__(self) -> str:
        token = ", security_token=<redacted>" if self._security_token else ""
        return (
            f"AkSkAuth(access_key={_hint(self._ak)!r}, secret_key=<redacted>{token}, "
            f"project_id={self._project_id!r})"
        )


CredentialKind = Literal["aksk", "password", "token"]

#: The key sets of a credentials Secret, in order of preference: (kind, required, optional).
KEY_SETS: tuple[tuple[CredentialKind, tuple[str, ...], tuple[str, ...]], ...] = (
    ("aksk", ("accessKey", "secretKey"), ("securityToken",)),
    ("password", ("username", "password", "domainName"), ("iamEndpoint",)),
    ("token", ("token",), ()),
)


def auth_for(
    kind: str,
    values: Mapping[str, str],
    project_id: str,
    *,
    iam_endpoint: str,
    cache: TokenCache,
    http: httpx.AsyncClient,
) -> httpx.Auth:
    """The auth of one credential set, from the keys of :data:`KEY_SETS` (``kind`` names which).

    ``iam_endpoint`` is used for password logins unless the values carry their own
    ``iamEndpoint``; ``cache`` and ``http`` are shared by every password login of the process.
    """
    if kind == "aksk":
        return AkSkAuth(
            values["accessKey"],
            values["secretKey"],
            project_id,
            security_token=values.get("securityToken"),
        )
    if kind == "password":
        return IamPasswordAuth(
            values.get("iamEndpoint") or iam_endpoint,
            values["username"],
            values["password"],
            values["domainName"],
            project_id,
            cache=cache,
            http=http,
        )
    if kind == "token":
        return TokenAuth(values["token"])
    raise ValueError(f"unknown credentials kind {kind!r}")
