"""AK/SK request signing (``SDK-HMAC-SHA256``) exactly as the Huawei Cloud SDK signs.

Mirrors ``huaweicloudsdkcore.signer.signer.Signer``:

1. ``X-Sdk-Date`` (UTC, ``%Y%m%dT%H%M%SZ``) and ``Host`` are added to the request headers.
2. Signed headers: every header name lowercased, sorted, skipping names that contain ``_``.
3. CanonicalRequest = METHOD, URI, QUERY, HEADERS, SIGNEDHEADERS, hex(sha256(body)), joined by
   newlines. The URI is percent-decoded, each segment re-encoded (safe ``~``) and a trailing ``/``
   is always appended; the query is sorted and encoded the same way; each header line is
   ``name:stripped-value``. An empty body hashes as the empty string; a non-JSON/BSON
   Content-Type makes the SDK send ``X-Sdk-Content-Sha256: UNSIGNED-PAYLOAD`` and use that
   literal instead of the body hash.
4. StringToSign = ``SDK-HMAC-SHA256\\n<X-Sdk-Date>\\nhex(sha256(CanonicalRequest))``.
5. Signature = hex(HMAC-SHA256(key=SK, StringToSign)).

Both sides of the protocol live here: :func:`sign_request` for the client and
:func:`verify_request` for the simulator. Nothing here logs, and no error message ever contains
the secret key or a computed signature.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, unquote, urlsplit

__all__ = [
    "ALGORITHM",
    "SDK_DATE_FORMAT",
    "SignatureError",
    "canonical_query_string",
    "canonical_request",
    "canonical_uri",
    "format_sdk_date",
    "parse_authorization",
    "sign_request",
    "verify_request",
]

ALGORITHM = "SDK-HMAC-SHA256"
SDK_DATE_FORMAT = "%Y%m%dT%H%M%SZ"
HEADER_DATE = "X-Sdk-Date"
HEADER_CONTENT_SHA256 = "X-Sdk-Content-Sha256"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
EMPTY_BODY_SHA256 = hashlib.sha256(b"").hexdigest()

_DEFAULT_PORTS = {"http": 80, "https": 443}
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


class SignatureError(Exception):
    """The request's AK/SK signature is malformed, unknown or wrong.

    ``reason`` is short and safe to log: it never contains the secret key or the expected
    signature.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def format_sdk_date(moment: datetime) -> str:
    """Format ``moment`` as an ``X-Sdk-Date`` value (naive datetimes are taken as UTC)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime(SDK_DATE_FORMAT)


def _encode(value: str) -> str:
    return quote(value, safe="~")


def canonical_uri(path: str) -> str:
    """Decode the path, re-encode each segment and append the trailing ``/`` the SDK adds."""
    uri = "/".join(_encode(segment) for segment in unquote(path).split("/"))
    return uri if uri.endswith("/") else uri + "/"


def _split_query(query: str) -> list[tuple[str, str]]:
    pairs = []
    for part in query.split("&"):
        if not part:
            continue
        key, _, value = part.partition("=")
        pairs.append((unquote(key), unquote(value)))
    return pairs


def canonical_query_string(query: str | Iterable[tuple[str, str]]) -> str:
    """Sorted ``key=value`` pairs, both encoded with only ``~`` kept literal.

    ``query`` is either a raw query string (``a=1&b=2``, percent-encoded) or decoded pairs.
    """
    pairs = _split_query(query) if isinstance(query, str) else list(query)
    return "&".join(f"{_encode(k)}={_encode(v)}" for k, v in sorted(pairs))


def _lower_headers(headers: Mapping[str, str]) -> dict[str, str]:
    lowered: dict[str, str] = {}
    for name, value in headers.items():
        # First occurrence wins for repeated headers (multidicts iterate every value).
        lowered.setdefault(name.lower(), str(value).strip())
    return lowered


def _payload_hash(body: bytes, lowered: Mapping[str, str]) -> str:
    if not body:
        return EMPTY_BODY_SHA256
    declared = lowered.get(HEADER_CONTENT_SHA256.lower())
    if declared:
        return declared
    return hashlib.sha256(body).hexdigest()


def canonical_request(
    method: str,
    path: str,
    query: str,
    headers: Mapping[str, str],
    signed_headers: list[str],
    body: bytes,
) -> str:
    """The SDK's CanonicalRequest. Raises KeyError if a signed header is absent."""
    lowered = _lower_headers(headers)
    header_lines = "".join(f"{name}:{lowered[name]}\n" for name in signed_headers)
    return "\n".join(
        [
            method.upper(),
            canonical_uri(path),
            canonical_query_string(query),
            header_lines,
            ";".join(signed_headers),
            _payload_hash(body, lowered),
        ]
    )


def _string_to_sign(canonical: str, sdk_date: str) -> str:
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    return f"{ALGORITHM}\n{sdk_date}\n{digest}"


def _signature(secret_key: str, string_to_sign: str) -> str:
    return hmac.new(
        secret_key.encode("utf-8"), string_to_sign.encode("utf-8"), hashlib.sha256
    ).hexdigest()


def _host_from_url(scheme: str, netloc: str, port: int | None) -> str:
    host = netloc.rpartition("@")[2]
    if port is not None and _DEFAULT_PORTS.get(scheme) == port:
        host = host.rsplit(":", 1)[0]
    return host


def sign_request(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    access_key: str,
    secret_key: str,
    sdk_date: str,
) -> dict[str, str]:
    """Sign a request; return the headers to add to it.

    The result always holds ``X-Sdk-Date`` and ``Authorization``; also ``Host`` when ``headers``
    has none (derived from ``url`` the way HTTP clients send it: default ports omitted), and
    ``X-Sdk-Content-Sha256: UNSIGNED-PAYLOAD`` when the Content-Type is neither JSON nor BSON,
    as the SDK does. Send every header of ``headers`` plus the result, unchanged: any header
    added or changed afterwards (except ones whose name contains ``_``) breaks the signature.
    """
    if not access_key or not secret_key:
        raise ValueError("access key and secret key are required")
    parts = urlsplit(url)
    # Drop anything this function owns so a retried request can be re-signed.
    owned = {"authorization", HEADER_DATE.lower()}
    to_sign = {k: str(v) for k, v in headers.items() if k.lower() not in owned}
    added: dict[str, str] = {HEADER_DATE: sdk_date}

    lowered = _lower_headers(to_sign)
    content_type = lowered.get("content-type")
    signs_payload = content_type is None or content_type.startswith(
        ("application/json", "application/bson")
    )
    if not signs_payload and HEADER_CONTENT_SHA256.lower() not in lowered:
        added[HEADER_CONTENT_SHA256] = UNSIGNED_PAYLOAD
    if "host" not in lowered:
        added["Host"] = _host_from_url(parts.scheme, parts.netloc, parts.port)

    all_headers = {**to_sign, **added}
    signed = sorted({name.lower() for name in all_headers if "_" not in name})
    canonical = canonical_request(method, parts.path, parts.query, all_headers, signed, body)
    signature = _signature(secret_key, _string_to_sign(canonical, sdk_date))
    added["Authorization"] = (
        f"{ALGORITHM} Access={access_key}, SignedHeaders={';'.join(signed)}, Signature={signature}"
    )
    return added


def parse_authorization(value: str) -> tuple[str, list[str], str]:
    """Split an ``SDK-HMAC-SHA256`` Authorization value into (access key, signed headers,
    signature). Raises SignatureError when it is not one."""
    scheme, _, rest = value.strip().partition(" ")
    if scheme != ALGORITHM:
        raise SignatureError("unsupported authorization scheme")
    fields: dict[str, str] = {}
    for item in rest.split(","):
        key, sep, field_value = item.strip().partition("=")
        if not sep:
            raise SignatureError("malformed Authorization header")
        fields[key] = field_value.strip()
    access = fields.get("Access", "")
    signed = fields.get("SignedHeaders", "")
    signature = fields.get("Signature", "")
    if not access or not signed or not signature:
        raise SignatureError("malformed Authorization header: Access, SignedHeaders, Signature")
    if not _HEX64.match(signature):
        raise SignatureError("malformed signature")
    names = signed.split(";")
    if any(not n or n != n.lower() for n in names):
        raise SignatureError("malformed SignedHeaders")
    return access, names, signature


def verify_request(
    method: str,
    path: str,
    query: str,
    headers: Mapping[str, str],
    body: bytes,
    lookup_secret: Callable[[str], str | None],
    *,
    now: datetime | None = None,
    max_clock_skew: timedelta | None = None,
) -> str:
    """Verify an SDK-HMAC-SHA256 signed request; return its access key.

    ``path`` is the raw (still percent-encoded) request path, ``query`` the raw query string
    without ``?``. ``lookup_secret`` maps an access key to its secret key, or None when unknown.
    With ``max_clock_skew`` set, an ``X-Sdk-Date`` further than that from ``now`` (default: the
    current time) is refused, as the API gateway does (15 minutes there).
    Raises SignatureError with a log-safe reason otherwise.
    """
    lowered = _lower_headers(headers)
    authorization = lowered.get("authorization")
    if not authorization:
        raise SignatureError("missing Authorization header")
    access_key, signed_headers, signature = parse_authorization(authorization)

    sdk_date = lowered.get(HEADER_DATE.lower())
    if not sdk_date:
        raise SignatureError("missing X-Sdk-Date header")
    try:
        signed_at = datetime.strptime(sdk_date, SDK_DATE_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        raise SignatureError("invalid X-Sdk-Date header") from None
    if HEADER_DATE.lower() not in signed_headers:
        raise SignatureError("X-Sdk-Date is not a signed header")
    for name in signed_headers:
        if name not in lowered:
            raise SignatureError(f"signed header {name!r} is missing")
    if max_clock_skew is not None:
        current = now or datetime.now(UTC)
        if abs(current - signed_at) > max_clock_skew:
            raise SignatureError("X-Sdk-Date is outside the allowed clock skew")

    secret_key = lookup_secret(access_key)
    if not secret_key:
        raise SignatureError(f"unknown access key {access_key!r}")
    try:
        canonical = canonical_request(method, path, query, lowered, signed_headers, body)
        expected = _signature(secret_key, _string_to_sign(canonical, sdk_date))
    except UnicodeError:
        raise SignatureError("request is not valid UTF-8") from None
    if not hmac.compare_digest(expected, signature):
        raise SignatureError("signature mismatch")
    return access_key
