"""Verify access tokens (RS256 JWTs) against `GET /sso/jwks/{client_id}`, with the keys cached.

Works against authkeep and against WorkOS itself: only the public contract is used.

    verifier = TokenVerifier(base_url="https://auth.example.com", client_id="client_01H...")
    claims = verifier.verify(access_token)          # or: await AsyncTokenVerifier(...).verify()
    claims.user_id, claims.organization_id, "posts:write" in claims.permissions

Checks, in order: the `alg` header is RS256 (`none` and HS256 are refused before any key is
touched); the token names this client (its `client_id`, the client in its issuer, or its `aud`
in the `{base}/` issuer form), else `WrongClient`; the `kid` is in the JWKS; the signature; `exp`
and `nbf` (with `leeway`); `iss` is one of `issuers`; `aud`, when present, is one of `audience`,
and it must be present with an issuer ending in `/`; `sub` and `sid` are strings; no `sub_type`
(widget and agent tokens are signed with the same keys but are not user access tokens).

Keys: the JWKS is fetched on first use and kept `ttl` seconds (default: the response's max-age).
A `kid` not in it triggers a refetch, at most once per `refetch_interval`; concurrent callers
share one fetch. If a refresh fails, the cached keys keep working for `stale_if_error` more
seconds; after that `JwksUnavailable` names the URL and the last failure. `load_keys()` fetches
at once (at startup, say); `key_ids` lists the cached `kid`s.

Errors: `TokenInvalid` and its subclasses mean "reject this token" (HTTP 401). `JwksUnavailable`
is not one of them: the token may be fine but cannot be checked now (HTTP 503). Both are
`VerifierError`s.

Options (keyword-only, the same for `TokenVerifier` and `AsyncTokenVerifier`):

* `base_url`, `client_id`: the server (`https://api.workos.com` for WorkOS) and the client ID.
* `jwks_url`: default `{base_url}/sso/jwks/{client_id}`.
* `issuers`: accepted `iss` values; default `{base_url}/user_management/{client_id}` and
  `{base_url}/`. Set it when the environment has a custom issuer.
* `audience`: accepted `aud` values; default the client ID.
* `leeway`: seconds of clock skew allowed on `exp` and `nbf`; default 0, as workos-python.
* `ttl`: seconds the JWKS is fresh; default the response's `max-age` (300 on authkeep).
* `refetch_interval`: least seconds between fetches for unknown `kid`s or retries; default 30.
* `stale_if_error`: seconds past the TTL that cached keys serve while refreshes fail; default 3600.
* `timeout`: seconds per JWKS request; default 10.
* `http_client`: an `httpx.Client` (`TokenVerifier`) or `httpx.AsyncClient` (`AsyncTokenVerifier`)
  for proxies, custom CAs or pooling; default a short-lived client per fetch.
* `clock`: returns Unix seconds; default `time.time`. Tests pass their own.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import datetime as dt
import hashlib
import json
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey, RSAPublicNumbers

if TYPE_CHECKING:
    import httpx

from authkeep.integrations.errors import (
    JwksUnavailable,
    TokenExpired,
    TokenInvalid,
    TokenSignatureInvalid,
    UnknownSigningKey,
    UnsupportedAlgorithm,
    VerifierError,
    WrongAudience,
    WrongClient,
    WrongIssuer,
)

__all__ = [
    "AccessTokenClaims",
    "AsyncTokenVerifier",
    "JwksUnavailable",
    "TokenExpired",
    "TokenInvalid",
    "TokenSignatureInvalid",
    "TokenVerifier",
    "UnknownSigningKey",
    "UnsupportedAlgorithm",
    "VerifierError",
    "WrongAudience",
    "WrongClient",
    "WrongIssuer",
]

_PADDING = padding.PKCS1v15()
# RFC 8017 §9.2 note 1: the DER DigestInfo prefix of a SHA-256 digest in PKCS #1 v1.5.
_SHA256_DIGEST_INFO = bytes.fromhex("3031300d060960864801650304020105000420")
_sha256 = hashlib.sha256
# base64url to base64; `+`, `/` and `=` become `!`, which strict decoding refuses.
_TO_STANDARD = bytes.maketrans(b"-_+/=", b"+/!!!")
_SCAN = json.JSONDecoder().scan_once
_MAX_TOKEN_LENGTH = 16_384
_HEADER_CACHE_SIZE = 64
_MIN_KEY_BITS = 2048
_DEFAULT_TTL = 300.0
_MAX_TTL = 86_400.0
_MAX_AGE = re.compile(r"(?:^|[,\s])max-age\s*=\s*\"?(\d+)", re.IGNORECASE)
# The last character of an unpadded base64url string carries 2 (length % 4 == 2) or 4 (== 3)
# bits of data; the rest must be zero, else several strings decode to the same signature.
_CANONICAL_LAST = {2: frozenset("AQgw"), 3: frozenset("AEIMQUYcgkosw048")}


_Key = tuple[RSAPublicKey, int]  # the key and its modulus length in bytes


class _KeyNeeded(Exception):
    """Raised by the core when it needs the fetcher: no fresh key for `kid` in the cache."""

    def __init__(self, kid: str, now: float) -> None:
        self.kid = kid
        self.now = now


@dataclass(frozen=True, slots=True)
class AccessTokenClaims:
    """The verified claims of an access token; `raw` holds all of them as sent (read-only).

    >>> claims.user_id, claims.session_id, claims.organization_id, claims.role
    ('user_01H...', 'session_01H...', 'org_01H...', 'admin')
    """

    user_id: str
    session_id: str
    organization_id: str | None
    role: str | None
    roles: tuple[str, ...]
    permissions: tuple[str, ...]
    raw: Mapping[str, Any] = field(repr=False)

    @property
    def issued_at(self) -> dt.datetime:
        """`iat` as an aware UTC datetime."""
        return dt.datetime.fromtimestamp(self.raw["iat"], dt.UTC)

    @property
    def expires_at(self) -> dt.datetime:
        """`exp` as an aware UTC datetime."""
        return dt.datetime.fromtimestamp(self.raw["exp"], dt.UTC)


_new_object = object.__new__
(
    _set_user_id,
    _set_session_id,
    _set_organization_id,
    _set_role,
    _set_roles,
    _set_permissions,
    _set_raw,
) = (getattr(AccessTokenClaims, f.name).__set__ for f in fields(AccessTokenClaims))


def _new_claims(
    user_id: str,
    session_id: str,
    organization_id: str | None,
    role: str | None,
    roles: tuple[str, ...],
    permissions: tuple[str, ...],
    raw: Mapping[str, Any],
) -> AccessTokenClaims:
    """`AccessTokenClaims(...)` in half the time, on the hot path: the frozen dataclass's
    `__init__` goes through `object.__setattr__` per field; this sets the slots directly."""
    claims = _new_object(AccessTokenClaims)
    _set_user_id(claims, user_id)
    _set_session_id(claims, session_id)
    _set_organization_id(claims, organization_id)
    _set_role(claims, role)
    _set_roles(claims, roles)
    _set_permissions(claims, permissions)
    _set_raw(claims, raw)
    return claims


_MAX_TIME = 253_402_300_800  # 10000-01-01: later times have no datetime
_NUMBER = frozenset((int, float))
_OPTIONAL_STRING = frozenset((str, type(None)))
_STRING_LIST = frozenset((list, tuple))  # tuple: the default when the claim is absent


def _signature_bytes(segment: str) -> bytes:
    """Strict: only the one canonical base64url spelling of a signature is accepted."""
    remainder = len(segment) % 4
    if remainder > 1 and segment[-1] not in _CANONICAL_LAST[remainder]:
        raise TokenSignatureInvalid("the signature is not canonical base64url")
    try:
        return binascii.a2b_base64(
            segment.encode("ascii").translate(_TO_STANDARD) + b"=" * (-remainder % 4),
            strict_mode=True,
        )
    except (ValueError, binascii.Error):
        raise TokenSignatureInvalid("the signature is not canonical base64url") from None


def _json_segment(segment: str, what: str) -> dict[str, Any]:
    """The JSON object in a base64url segment. Compact JSON goes straight to the C scanner
    (`json.loads` of bytes spends as long detecting the encoding as parsing); the rest to loads."""
    try:
        text = binascii.a2b_base64(
            segment.encode("ascii").translate(_TO_STANDARD) + b"=" * (-len(segment) % 4)
        ).decode()
    except (ValueError, binascii.Error):
        raise TokenInvalid(f"the token {what} is not base64url") from None
    try:
        value, end = _SCAN(text, 0)
        if end != len(text):
            raise ValueError
    except (StopIteration, ValueError):
        try:
            value = json.loads(text)
        except ValueError:
            raise TokenInvalid(f"the token {what} is not JSON") from None
    if type(value) is not dict:
        raise TokenInvalid(f"the token {what} is not a JSON object")
    return value


def _algorithm_problem(alg: object) -> str:
    if alg == "none" or alg is None:
        return "the token is unsigned (alg 'none' or missing); only RS256 is accepted"
    if isinstance(alg, str) and alg.startswith("HS"):
        return (
            f"the token uses {alg}, a shared-secret algorithm; only RS256 is accepted "
            "(an HMAC keyed with the public key is a known forgery)"
        )
    return f"the token algorithm {alg!r} is not accepted; only RS256 is"


def _utc(seconds: float) -> dt.datetime:
    try:
        return dt.datetime.fromtimestamp(seconds, dt.UTC)
    except (OverflowError, OSError, ValueError):
        raise TokenInvalid("a time claim is out of range") from None


def _rsa_key(member: object) -> tuple[str, _Key] | None:
    """A usable RS256 signing key of a JWKS, or None for anything else (skipped, not fatal)."""
    if not isinstance(member, dict):
        return None
    kid, n, e = member.get("kid"), member.get("n"), member.get("e")
    if (
        member.get("kty") != "RSA"
        or member.get("use", "sig") != "sig"
        or member.get("alg", "RS256") != "RS256"
        or not (isinstance(kid, str) and kid and isinstance(n, str) and isinstance(e, str))
    ):
        return None
    try:
        modulus = int.from_bytes(base64.urlsafe_b64decode(n + "=" * (-len(n) % 4)), "big")
        exponent = int.from_bytes(base64.urlsafe_b64decode(e + "=" * (-len(e) % 4)), "big")
        key = RSAPublicNumbers(exponent, modulus).public_key()
    except (ValueError, binascii.Error):
        return None
    return (kid, (key, (key.key_size + 7) // 8)) if key.key_size >= _MIN_KEY_BITS else None


def _max_age(cache_control: str | None) -> float | None:
    if not cache_control:
        return None
    if "no-store" in cache_control.lower() or "no-cache" in cache_control.lower():
        return 0.0
    match = _MAX_AGE.search(cache_control)
    return float(match.group(1)) if match else None


class _BaseVerifier:
    """Configuration, the key cache and every check; subclasses only add the fetching."""

    def __init__(
        self,
        *,
        base_url: str,
        client_id: str,
        jwks_url: str | None = None,
        issuers: str | Iterable[str] | None = None,
        audience: str | Iterable[str] | None = None,
        leeway: float = 0.0,
        ttl: float | None = None,
        refetch_interval: float = 30.0,
        stale_if_error: float = 3600.0,
        timeout: float = 10.0,
        http_client: httpx.Client | httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        base = base_url.rstrip("/")
        self.client_id = client_id
        self.jwks_url = jwks_url or f"{base}/sso/jwks/{client_id}"
        if issuers is None:
            issuers = (f"{base}/user_management/{client_id}", f"{base}/")
        self.issuers = frozenset([issuers] if isinstance(issuers, str) else issuers)
        if audience is None:
            audience = client_id
        self.audience = frozenset([audience] if isinstance(audience, str) else audience)
        self.leeway = leeway
        self.ttl = ttl
        self.refetch_interval = refetch_interval
        self.stale_if_error = stale_if_error
        self.timeout = timeout
        self._http_client = http_client  # type: ignore[assignment]  # narrowed by each subclass
        self._clock = clock
        self._lock = threading.Lock()  # single flight for TokenVerifier
        self._inflight: asyncio.Task[None] | None = None  # single flight for AsyncTokenVerifier
        self._header_kids: dict[str, str] = {}
        self._keys: dict[str, _Key] = {}
        self._fetched_at: float | None = None  # last successful fetch
        self._fresh_until = float("-inf")
        self._usable_until = float("-inf")
        self._attempted_at = float("-inf")
        self._generation = 0  # counts fetch attempts, so waiters can tell one happened
        self._last_error: str | None = None

    @property
    def key_ids(self) -> frozenset[str]:
        """The `kid`s currently cached, e.g. to check that a rotated key has been seen."""
        return frozenset(self._keys)

    # Parsing and checks ---------------------------------------------------------------------

    def _kid_of(self, segment: str) -> str:
        """The `kid` of a header not seen before; only RS256 headers are remembered."""
        header = _json_segment(segment, "header")
        alg = header.get("alg")
        if alg != "RS256":
            raise UnsupportedAlgorithm(_algorithm_problem(alg))
        if "crit" in header:
            raise TokenInvalid("the token header has critical extensions this verifier lacks")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise UnknownSigningKey("the token header has no kid, so no key can be chosen")
        if len(self._header_kids) >= _HEADER_CACHE_SIZE:
            self._header_kids.clear()
        self._header_kids[segment] = kid
        return kid

    def _check_client(self, claims: dict[str, Any]) -> None:
        """Before any key lookup, so another environment's token never triggers a fetch."""
        claimed = claims.get("client_id")
        if type(claimed) is not str:
            claimed = None
            iss = claims.get("iss")
            if type(iss) is str:
                at = iss.rfind("/user_management/")
                if at >= 0:
                    claimed = iss[at + 17 :]
                elif iss.endswith("/") and type(claims.get("aud")) is str:
                    claimed = claims["aud"]
        if claimed is not None and claimed != self.client_id:
            raise WrongClient(claimed, self.client_id)

    def _verify(self, token: str, resolved: bool = False) -> AccessTokenClaims:
        """Everything but I/O, in one frame (this is the hot path). Without a fresh cached key it
        raises `_KeyNeeded` unless `resolved`, when a stale key or the reason for none will do."""
        if type(token) is not str or len(token) > _MAX_TOKEN_LENGTH:
            raise TokenInvalid("the token is not a string of a plausible length")
        signing_input, _, signature = token.rpartition(".")
        header, _, payload = signing_input.partition(".")
        if not header or not payload or "." in payload:
            raise TokenInvalid("the token is not a compact JWS (three dot-separated parts)")
        kid = self._header_kids.get(header) or self._kid_of(header)
        claims = _json_segment(payload, "payload")
        if claims.get("client_id") != self.client_id:
            self._check_client(claims)  # before any key lookup: no fetch for foreign tokens
        now = self._clock()
        key = self._keys.get(kid)
        if key is None or now >= self._fresh_until:
            if not resolved:
                raise _KeyNeeded(kid, now)
            key = self._resolve(kid, now)
        public_key, size = key
        signature_bytes = _signature_bytes(signature)
        # RS256 verification as RFC 8017 §8.2.2 describes it: undo the RSA and the type-1 padding
        # (OpenSSL checks 00 01 FF..FF 00), then compare what remains with the DigestInfo of
        # SHA-256(signing input). The same check as `RSAPublicKey.verify`, about 2 µs cheaper:
        # no digest object is fetched per call. The length check refuses signatures with their
        # leading zero bytes dropped, which `verify` refuses too.
        try:
            recovered = public_key.recover_data_from_signature(signature_bytes, _PADDING, None)
        except (InvalidSignature, ValueError):
            recovered = None
        if (
            len(signature_bytes) != size
            or recovered != _SHA256_DIGEST_INFO + _sha256(signing_input.encode()).digest()
        ):
            raise TokenSignatureInvalid("the signature does not match the key the token names")
        get = claims.get
        exp, iat = get("exp"), get("iat")
        if type(exp) not in _NUMBER or type(iat) not in _NUMBER:
            raise TokenInvalid("the token lacks numeric exp and iat claims")
        if not (0 <= iat < _MAX_TIME and 0 <= exp < _MAX_TIME):
            raise TokenInvalid("iat or exp is out of range")
        if now >= exp + self.leeway:
            raise TokenExpired(
                f"the token expired at {_utc(exp):%Y-%m-%dT%H:%M:%SZ}, {now - exp:.0f} s ago "
                f"(leeway {self.leeway:g} s)"
            )
        nbf = get("nbf")
        if nbf is not None and (type(nbf) not in _NUMBER or now + self.leeway < nbf):
            raise TokenInvalid("the token is not valid yet (nbf)")
        iss = get("iss")
        if type(iss) is not str or iss not in self.issuers:
            expected = " or ".join(repr(issuer) for issuer in sorted(self.issuers))
            raise WrongIssuer(f"the token issuer {iss!r} is not accepted; expected {expected}")
        aud = get("aud")
        if aud is None:
            if iss.endswith("/"):
                raise WrongAudience(f"a token from issuer {iss!r} must carry aud (the client ID)")
        elif not (
            aud in self.audience
            if type(aud) is str
            else type(aud) is list and any(type(a) is str and a in self.audience for a in aud)
        ):
            raise WrongAudience(
                f"the token audience {aud!r} is not {' or '.join(sorted(self.audience))}"
            )
        user_id, session_id = get("sub"), get("sid")
        if type(user_id) is not str or type(session_id) is not str:
            raise TokenInvalid("the token lacks string sub and sid claims: not a session token")
        if "sub_type" in claims or ("sub_profile" in claims and claims["sub_profile"] != "user"):
            raise TokenInvalid("the token is not a user access token (sub_type or sub_profile)")
        organization_id, role = get("org_id"), get("role")
        roles, permissions = get("roles", ()), get("permissions", ())
        if (
            type(organization_id) not in _OPTIONAL_STRING
            or type(role) not in _OPTIONAL_STRING
            or type(roles) not in _STRING_LIST
            or type(permissions) not in _STRING_LIST
        ):
            raise TokenInvalid("org_id, role, roles or permissions has the wrong type")
        try:
            # str.join raises TypeError unless every item is a string: a C-speed type check.
            "".join(roles), "".join(permissions)
        except TypeError:
            raise TokenInvalid("roles and permissions must be lists of strings") from None
        return _new_claims(
            user_id,
            session_id,
            organization_id,
            role,
            tuple(roles),
            tuple(permissions),
            MappingProxyType(claims),
        )

    # The key cache (no I/O) -----------------------------------------------------------------

    def _plan(self, kid: str, now: float) -> tuple[_Key | None, bool]:
        """(a key usable now or None, whether to attempt a fetch first)."""
        key = self._keys.get(kid) if now < self._usable_until else None
        may_fetch = now - self._attempted_at >= self.refetch_interval
        if key is not None:
            return key, now >= self._fresh_until and may_fetch
        return None, may_fetch

    def _resolve(self, kid: str, now: float) -> _Key:
        """The key after any fetch, or the error that explains why there is none."""
        if now >= self._usable_until:
            if self._fetched_at is None:
                state = "no keys have been fetched yet"
            else:
                state = f"the cached keys expired {now - self._usable_until:.0f} s ago"
            raise JwksUnavailable(
                f"cannot get signing keys from {self.jwks_url}: "
                f"{self._last_error or 'not fetched yet'}; {state}"
            )
        key = self._keys.get(kid)
        if key is not None:
            return key
        when = f"{now - self._attempted_at:.0f} s ago"
        if self._last_error is None:
            note = f"fetched {when}"
        else:
            note = f"the refetch {when} failed: {self._last_error}"
        wait = self._attempted_at + self.refetch_interval - now
        retry = f"; next refetch allowed in {wait:.0f} s" if wait > 0 else ""
        raise UnknownSigningKey(
            f"no key {kid!r} in the JWKS at {self.jwks_url} ({note}{retry}); "
            "is the token from another server or environment?"
        )

    def _record_response(
        self, status: int, body: bytes, cache_control: str | None, now: float
    ) -> None:
        if status != 200:
            hint = f" (the server does not know client {self.client_id})" if status == 404 else ""
            self._record_failure(f"HTTP {status}{hint}", now)
            return
        try:
            document = json.loads(body)
            members = document["keys"]
            if not isinstance(members, list):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            self._record_failure("the response is not a JWKS (no keys list)", now)
            return
        keys: dict[str, _Key] = {}
        for member in members:
            parsed = _rsa_key(member)
            if parsed is not None:
                keys[parsed[0]] = parsed[1]
        ttl = self.ttl
        if ttl is None:
            max_age = _max_age(cache_control)
            ttl = _DEFAULT_TTL if max_age is None else min(_MAX_TTL, max_age)
            ttl = max(ttl, self.refetch_interval)
        self._keys = keys
        self._fetched_at = self._attempted_at = now
        self._fresh_until = now + ttl
        self._usable_until = self._fresh_until + self.stale_if_error
        self._last_error = None
        self._generation += 1

    def _raise_if_failed(self) -> None:
        if self._last_error is not None:
            raise JwksUnavailable(
                f"cannot get signing keys from {self.jwks_url}: {self._last_error}"
            )

    def _record_failure(self, problem: str, now: float) -> None:
        self._attempted_at = now
        self._last_error = problem
        self._generation += 1


class TokenVerifier(_BaseVerifier):
    """Verify access tokens from synchronous code; safe to share between threads.

    >>> verifier = TokenVerifier(base_url="https://auth.example.com", client_id="client_01H")
    >>> verifier.verify(request.headers["Authorization"].removeprefix("Bearer ")).user_id
    'user_01H...'

    Options are listed in the module docstring; `http_client` is an `httpx.Client` here.
    """

    _http_client: httpx.Client | None

    def verify(self, token: str) -> AccessTokenClaims:
        """The claims of a valid token; raises a `TokenInvalid` or `JwksUnavailable`."""
        try:
            return self._verify(token)
        except _KeyNeeded as needed:
            self._obtain_key(needed.kid, needed.now)
        return self._verify(token, resolved=True)

    def load_keys(self) -> None:
        """Fetch the JWKS now (for example at startup); raises `JwksUnavailable` on failure."""
        with self._lock:
            self._fetch(self._clock())
        self._raise_if_failed()

    def _obtain_key(self, kid: str, now: float) -> None:
        generation = self._generation
        key, fetch = self._plan(kid, now)
        # An unknown kid waits for the fetch in flight; a known one keeps its cached key.
        if fetch and self._lock.acquire(blocking=key is None):
            try:
                if self._generation == generation and self._plan(kid, self._clock())[1]:
                    self._fetch(self._clock())
            finally:
                self._lock.release()

    def _fetch(self, now: float) -> None:
        import httpx

        try:
            if self._http_client is not None:
                response = self._http_client.get(self.jwks_url, timeout=self.timeout)
            else:
                with httpx.Client(timeout=self.timeout) as client:
                    response = client.get(self.jwks_url)
        except httpx.HTTPError as error:
            self._record_failure(f"{type(error).__name__}: {error}", now)
            return
        self._record_response(
            response.status_code, response.content, response.headers.get("cache-control"), now
        )


class AsyncTokenVerifier(_BaseVerifier):
    """Verify access tokens from asyncio code (FastAPI, Starlette, ...).

    >>> verifier = AsyncTokenVerifier(base_url="https://auth.example.com", client_id="client_01H")
    >>> (await verifier.verify(access_token)).organization_id
    'org_01H...'

    Concurrent calls that need the JWKS share one fetch. Options are listed in the module
    docstring; `http_client` is an `httpx.AsyncClient` here. Without one, each fetch opens its
    own client, so one verifier serves any event loop.
    """

    _http_client: httpx.AsyncClient | None

    async def verify(self, token: str) -> AccessTokenClaims:
        """The claims of a valid token; raises a `TokenInvalid` or `JwksUnavailable`."""
        try:
            return self._verify(token)
        except _KeyNeeded as needed:
            await self._obtain_key(needed.kid, needed.now)
        return self._verify(token, resolved=True)

    async def load_keys(self) -> None:
        """Fetch the JWKS now (for example at startup); raises `JwksUnavailable` on failure."""
        await self._shared_fetch()
        self._raise_if_failed()

    async def _obtain_key(self, kid: str, now: float) -> None:
        key, fetch = self._plan(kid, now)
        task = self._inflight
        busy = (
            task is not None and not task.done() and task.get_loop() is asyncio.get_running_loop()
        )
        # An unknown kid waits for the fetch in flight; a known one past the TTL waits only for
        # the fetch it starts itself, while other callers keep using the cached key meanwhile.
        if (key is None and (fetch or busy)) or (key is not None and fetch and not busy):
            await self._shared_fetch()

    async def _shared_fetch(self) -> None:
        loop = asyncio.get_running_loop()
        task = self._inflight
        if task is None or task.done() or task.get_loop() is not loop:
            task = loop.create_task(self._fetch())
            self._inflight = task
            task.add_done_callback(self._fetch_done)
        await asyncio.shield(task)

    def _fetch_done(self, task: asyncio.Task[None]) -> None:
        if self._inflight is task:
            self._inflight = None

    async def _fetch(self) -> None:
        import httpx

        try:
            if self._http_client is not None:
                response = await self._http_client.get(self.jwks_url, timeout=self.timeout)
            else:
                async with httpx.AsyncClient(timeout=self.timeout) as client:
                    response = await client.get(self.jwks_url)
        except httpx.HTTPError as error:
            self._record_failure(f"{type(error).__name__}: {error}", self._clock())
            return
        self._record_response(
            response.status_code,
            response.content,
            response.headers.get("cache-control"),
            self._clock(),
        )
