"""Server-side authentication: X-Auth-Token, AK/SK signatures and IAM password logins.

With no credential configured at all, the simulator is *open*: any token, any signature and
any IAM login is accepted (tokens it issued still expire). Nothing here logs or returns a secret:
callers get an :class:`AuthResult` carrying only the kind and a safe identity (the AK, or a token
fingerprint).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from drs_pause_operator.drs.signing import SignatureError, verify_request

from . import codes


def _bytes(value: str) -> bytes:
    # Header values may carry undecodable bytes (surrogates): never fail on them.
    return value.encode("utf-8", "surrogatepass")


def fingerprint(token: str) -> str:
    """A log-safe identity for a token: its first 4 characters and a sha256 prefix."""
    digest = hashlib.sha256(_bytes(token)).hexdigest()[:12]
    prefix = token[:4] if len(token) >= 16 else ""  # a short token's prefix is most of it
    return f"{prefix}...{digest}"


@dataclass(frozen=True)
class User:
    name: str
    password: str
    domain: str

    @classmethod
    def parse(cls, spec: str) -> User:
        """``NAME:PASSWORD:DOMAIN``; the password may itself contain ``:``."""
        name, sep1, rest = spec.partition(":")
        password, sep2, domain = rest.rpartition(":")
        if not (sep1 and sep2 and name and password and domain):
            raise ValueError("a user must be given as NAME:PASSWORD:DOMAIN")
        return cls(name, password, domain)

    def __repr__(self) -> str:  # keep the password out of reprs and tracebacks
        return f"User(name={self.name!r}, domain={self.domain!r})"


@dataclass
class IssuedToken:
    user: str
    domain: str
    project_id: str | None
    project_name: str | None
    issued_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class AuthResult:
    kind: str  # "token", "iam-token", "aksk" or "open-token" / "open-aksk"
    identity: str  # the AK or a token fingerprint, never a secret
    project_id: str | None = None  # the project the credentials are bound to, when known


class AuthError(Exception):
    """Authentication failed; carries the HTTP status and the DRS/gateway error body."""

    def __init__(self, status: int, code: str, msg: str, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.code = code
        self.msg = msg
        self.reason = reason  # short, log-safe


@dataclass
class Authenticator:
    tokens: set[str] = field(default_factory=set)
    access_keys: dict[str, str] = field(default_factory=dict)
    users: list[User] = field(default_factory=list)
    clock: Callable[[], float] = time.time
    issued: dict[str, IssuedToken] = field(default_factory=dict)

    @property
    def open(self) -> bool:
        return not (self.tokens or self.access_keys or self.users)

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    # --- DRS requests -------------------------------------------------------------------------

    def authenticate(
        self,
        *,
        method: str,
        raw_path: str,
        query: str,
        headers: Mapping[str, str],
        body: bytes,
        max_clock_skew: float | None,
    ) -> AuthResult:
        token = headers.get("X-Auth-Token")
        if token:
            return self._check_token(token)
        authorization = headers.get("Authorization")
        if authorization:
            return self._check_signature(
                method=method,
                raw_path=raw_path,
                query=query,
                headers=headers,
                body=body,
                max_clock_skew=max_clock_skew,
                authorization=authorization,
            )
        raise AuthError(401, codes.GW_AUTH, codes.message(codes.GW_AUTH), "no credentials")

    def _check_token(self, token: str) -> AuthResult:
        issued = self.issued.get(token)
        if issued is not None:
            if self.now() >= issued.expires_at:
                raise AuthError(
                    401,
                    codes.GW_TOKEN_EXPIRED,
                    codes.message(codes.GW_TOKEN_EXPIRED),
                    "expired IAM token",
                )
            return AuthResult("iam-token", fingerprint(token), issued.project_id)
        if self.open:
            return AuthResult("open-token", fingerprint(token))
        if any(hmac.compare_digest(_bytes(token), _bytes(known)) for known in self.tokens):
            return AuthResult("token", fingerprint(token))
        raise AuthError(
            403, codes.INVALID_TOKEN, codes.message(codes.INVALID_TOKEN), "unknown token"
        )

    def _check_signature(
        self,
        *,
        method: str,
        raw_path: str,
        query: str,
        headers: Mapping[str, str],
        body: bytes,
        authorization: str,
        max_clock_skew: float | None,
    ) -> AuthResult:
        project = headers.get("X-Project-Id") or None
        if self.open:
            access = authorization.partition("Access=")[2].partition(",")[0].strip()
            return AuthResult("open-aksk", access[:64] or "?", project)
        skew = None if max_clock_skew is None else timedelta(seconds=max_clock_skew)
        try:
            access = verify_request(
                method,
                raw_path,
                query,
                headers,
                body,
                self.access_keys.get,
                now=self.now(),
                max_clock_skew=skew,
            )
        except SignatureError as err:
            raise AuthError(401, codes.GW_AUTH, codes.AKSK_FAILED, err.reason) from None
        return AuthResult("aksk", access, project)

    # --- IAM ----------------------------------------------------------------------------------

    def login(self, name: str, password: str, domain: str) -> bool:
        if self.open:
            return True
        return any(
            u.name == name
            and u.domain == domain
            and hmac.compare_digest(_bytes(u.password), _bytes(password))
            for u in self.users
        )

    def issue(
        self,
        user: str,
        domain: str,
        project_id: str | None,
        project_name: str | None,
        ttl_seconds: float,
    ) -> tuple[str, IssuedToken]:
        now = self.now()
        token = "MIIsim" + secrets.token_urlsafe(48)
        issued = IssuedToken(
            user, domain, project_id, project_name, now, now + timedelta(seconds=ttl_seconds)
        )
        self.issued[token] = issued
        return token, issued

    def expire_all(self) -> int:
        """Make every issued token expired now; return how many there were."""
        now = self.now()
        for issued in self.issued.values():
            issued.expires_at = min(issued.expires_at, now)
        return len(self.issued)
