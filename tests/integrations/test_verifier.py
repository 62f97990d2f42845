"""The access-token verifier (authkeep.integrations.verifier) against a live authkeep server.

Real tokens come from the password grant; forged ones are made here with `cryptography` (another
key, `alg: none`, HS256 keyed with the public key, bad claims signed with the environment's real
key read from the database). Rotation runs on a server without its JWKS cache. For an endpoint
that goes down, and for counting fetches, the verifier reads the real JWKS bytes from a small
local HTTP server this file controls. Time moves through an injected clock, never by sleeping.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import datetime as dt
import hashlib
import hmac
import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from sqlalchemy import select, update

from authkeep.crypto import jwt as authkeep_jwt
from authkeep.crypto.keys import SecretBox, b64url
from authkeep.integrations.verifier import (
    AccessTokenClaims,
    AsyncTokenVerifier,
    JwksUnavailable,
    TokenExpired,
    TokenInvalid,
    TokenSignatureInvalid,
    TokenVerifier,
    UnknownSigningKey,
    UnsupportedAlgorithm,
    VerifierError,
    WrongAudience,
    WrongClient,
    WrongIssuer,
)
from authkeep.services.environments import (
    SignInSettings,
    configure_environment,
    get_environment_by_name,
)
from authkeep.services.signing_keys import rotate
from authkeep.store.db import create_engine, session_factory
from authkeep.store.models import Permission, Role, RolePermission, SigningKey
from tests.signin.hosted import PASSWORD, make_user
from tests.support import (
    SECRET,
    LiveServer,
    TestEnvironment,
    free_port,
    make_environment,
    run,
    set_access_token_ttl,
    start_live_server,
)

Verifier = TokenVerifier | AsyncTokenVerifier


# Helpers ----------------------------------------------------------------------------------------


class Clock:
    """Real time plus an offset that tests move forward."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


def verify(verifier: Verifier, token: str) -> AccessTokenClaims:
    """One call for both flavours, so a test can run on each."""
    if isinstance(verifier, AsyncTokenVerifier):
        return asyncio.run(verifier.verify(token))
    return verifier.verify(token)


def make_verifier(mode: str, env: TestEnvironment, **options: Any) -> Verifier:
    cls = AsyncTokenVerifier if mode == "async" else TokenVerifier
    return cls(base_url=env.base_url, client_id=env.client_id, **options)


def admin_client(env: TestEnvironment) -> httpx.Client:
    return httpx.Client(
        base_url=env.base_url, headers={"Authorization": f"Bearer {env.api_key}"}, timeout=10
    )


def password_token(env: TestEnvironment, email: str) -> str:
    response = httpx.post(
        f"{env.base_url}/user_management/authenticate",
        json={
            "client_id": env.client_id,
            "client_secret": env.api_key,
            "grant_type": "password",
            "email": email,
            "password": PASSWORD,
        },
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def new_user_token(env: TestEnvironment, email: str = "ada@example.com") -> tuple[str, str]:
    with admin_client(env) as admin:
        user = make_user(admin, email)
    return user["id"], password_token(env, email)


def segments(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    header, payload, _ = token.split(".")

    def decode(part: str) -> dict[str, Any]:
        return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))

    return decode(header), decode(payload)


def compact(header: dict[str, Any], claims: dict[str, Any], signature: bytes) -> str:
    head = b64url(json.dumps(header).encode())
    body = b64url(json.dumps(claims).encode())
    return f"{head}.{body}.{b64url(signature)}"


async def _in_session(database_url: str, work: Callable[[Any], Any]) -> Any:
    engine = create_engine(database_url, pool_size=1)
    try:
        async with session_factory(engine)() as session:
            result = await work(session)
            await session.commit()
            return result
    finally:
        await engine.dispose()


def signing_key(database_url: str, kid: str) -> rsa.RSAPrivateKey:
    """The environment's real private key, decrypted the way the server does it."""

    async def load(session: Any) -> SigningKey:
        return (await session.scalars(select(SigningKey).where(SigningKey.kid == kid))).one()

    row = run(_in_session(database_url, load))
    pem = SecretBox(SECRET).decrypt(row.private_key_encrypted, row.id)
    key = serialization.load_pem_private_key(pem, password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


def rotate_key(database_url: str, env: TestEnvironment, publish_delay: int) -> str:
    async def go(session: Any) -> str:
        environment = await get_environment_by_name(session, env.name)
        new = await rotate(
            session,
            SecretBox(SECRET),
            environment,
            publish_delay=publish_delay,
            token_lifetime=3600,
        )
        return new.kid

    return run(_in_session(database_url, go))


def grant_permissions(database_url: str, env: TestEnvironment, role: str, slugs: list[str]) -> None:
    async def go(session: Any) -> None:
        role_id = await session.scalar(
            select(Role.id).where(
                Role.environment_id == env.environment_id,
                Role.slug == role,
                Role.organization_id.is_(None),
            )
        )
        for slug in slugs:
            permission = Permission(
                id=f"perm_{slug.replace(':', '_')}_{env.environment_id[-8:]}",
                environment_id=env.environment_id,
                slug=slug,
                name=slug,
            )
            session.add(permission)
            await session.flush()
            session.add(RolePermission(role_id=role_id, permission_id=permission.id))

    run(_in_session(database_url, go))


def set_issuer(database_url: str, env: TestEnvironment, issuer: str) -> None:
    async def go(session: Any) -> None:
        environment = await get_environment_by_name(session, env.name)
        await configure_environment(session, environment, SignInSettings(issuer=issuer))

    run(_in_session(database_url, go))


class JwksServer:
    """A stand-in for the JWKS endpoint: serves given bytes, or a status, and counts GETs."""

    def __init__(self, body: bytes, delay: float = 0.0) -> None:
        self.body = body
        self.status = 200
        self.delay = delay
        self.requests = 0
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/sso/jwks/client"
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self.start()

    def start(self) -> None:
        jwks = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                with jwks._lock:
                    jwks.requests += 1
                time.sleep(jwks.delay)
                body = jwks.body if jwks.status == 200 else b'{"message":"unavailable"}'
                self.send_response(jwks.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "public, max-age=300")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


@pytest.fixture
def jwks_bytes(environment: TestEnvironment) -> bytes:
    response = httpx.get(f"{environment.base_url}/sso/jwks/{environment.client_id}")
    assert response.status_code == 200
    return response.content


@pytest.fixture
def long_lived(environment: TestEnvironment, database_url: str) -> TestEnvironment:
    """An environment whose tokens live a day, so the clock can cross JWKS TTLs before `exp`."""
    set_access_token_ttl(database_url, environment.environment_id, 86_400)
    return environment


@pytest.fixture
def local_jwks(jwks_bytes: bytes) -> Iterator[JwksServer]:
    server = JwksServer(jwks_bytes)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def uncached_server(database_url: str, recorder: Any) -> Iterator[LiveServer]:
    server = start_live_server(database_url, wrap=recorder.wrap, jwks_cache_seconds=0.0)
    yield server
    server.stop()


# Real tokens --------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_real_token_gives_typed_claims(
    mode: str, environment: TestEnvironment, database_url: str
) -> None:
    grant_permissions(database_url, environment, "admin", ["posts:write", "posts:read"])
    with admin_client(environment) as admin:
        org = admin.post("/organizations", json={"name": "Acme"}).json()["id"]
        member = make_user(admin, "grace@example.com", (org,), role="admin")
    user_id, plain_token = new_user_token(environment)
    verifier = make_verifier(mode, environment)

    claims = verify(verifier, password_token(environment, "grace@example.com"))
    assert claims.user_id == member["id"]
    assert claims.session_id.startswith("session_")
    assert claims.organization_id == org
    assert (claims.role, claims.roles) == ("admin", ("admin",))
    assert claims.permissions == ("posts:read", "posts:write")
    assert claims.issued_at == dt.datetime.fromtimestamp(claims.raw["iat"], dt.UTC)
    assert claims.expires_at - claims.issued_at == dt.timedelta(seconds=300)
    assert claims.raw["client_id"] == environment.client_id
    with pytest.raises(TypeError):
        claims.raw["sub"] = "someone else"  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        claims.user_id = "someone else"  # type: ignore[misc]
    assert dataclasses.replace(claims) == claims  # the fast constructor builds a normal instance

    plain = verify(verifier, plain_token)
    assert plain.user_id == user_id and plain.user_id != claims.user_id
    assert (plain.organization_id, plain.role, plain.roles, plain.permissions) == (
        None,
        None,
        (),
        (),
    )
    assert verifier.key_ids == {segments(plain_token)[0]["kid"]}


def test_both_issuer_forms(live_server: LiveServer, database_url: str) -> None:
    base = live_server.base_url
    default = make_environment(database_url, base)
    root = make_environment(database_url, base)
    set_issuer(database_url, root, f"{base}/")
    _, default_token = new_user_token(default)
    _, root_token = new_user_token(root)

    assert segments(default_token)[1]["iss"] == f"{base}/user_management/{default.client_id}"
    assert "aud" not in segments(default_token)[1]
    assert segments(root_token)[1]["iss"] == f"{base}/"
    assert segments(root_token)[1]["aud"] == root.client_id
    assert TokenVerifier(base_url=base, client_id=default.client_id).verify(default_token)
    assert TokenVerifier(base_url=base + "/", client_id=root.client_id).verify(root_token)

    pinned = TokenVerifier(
        base_url=base, client_id=root.client_id, issuers=f"{base}/user_management/{root.client_id}"
    )
    with pytest.raises(WrongIssuer, match=r"issuer '.*/' is not accepted"):
        pinned.verify(root_token)
    other_audience = TokenVerifier(base_url=base, client_id=root.client_id, audience="api://x")
    with pytest.raises(WrongAudience, match="is not api://x"):
        other_audience.verify(root_token)

    # The root form without `aud` would be accepted for any client of the issuer: refused.
    key = signing_key(database_url, segments(root_token)[0]["kid"])
    header, claims = segments(root_token)
    del claims["aud"], claims["client_id"]
    with pytest.raises(WrongAudience, match="must carry aud"):
        TokenVerifier(base_url=base, client_id=root.client_id).verify(
            authkeep_jwt.encode(claims, key, header["kid"])
        )


def test_a_token_of_another_client_is_explained_without_fetching(
    environment: TestEnvironment, database_url: str
) -> None:
    other = make_environment(database_url, environment.base_url)
    _, foreign = new_user_token(other)
    requests: list[httpx.Request] = []
    verifier = TokenVerifier(
        base_url=environment.base_url,
        client_id=environment.client_id,
        http_client=httpx.Client(event_hooks={"request": [requests.append]}),
    )
    with pytest.raises(WrongClient) as caught:
        verifier.verify(foreign)
    assert str(caught.value) == (
        f"token issued for client {other.client_id}, "
        f"this verifier expects client {environment.client_id}"
    )
    assert caught.value.token_client_id == other.client_id
    assert requests == []  # no JWKS fetch for a token that names another client

    # The same through the issuer alone (no client_id claim), signed by the other's real key.
    header, claims = segments(foreign)
    del claims["client_id"]
    resigned = authkeep_jwt.encode(claims, signing_key(database_url, header["kid"]), header["kid"])
    with pytest.raises(WrongClient, match=f"issued for client {other.client_id}"):
        verifier.verify(resigned)
    # ... and through `aud` in the root issuer form.
    claims.update(iss=f"{environment.base_url}/", aud=other.client_id)
    with pytest.raises(WrongClient, match=f"issued for client {other.client_id}"):
        verifier.verify(authkeep_jwt.encode(claims, signing_key(database_url, header["kid"]), "k"))


# Forged and invalid tokens --------------------------------------------------------------------


def test_forged_and_invalid_tokens_say_what_is_wrong(
    environment: TestEnvironment, database_url: str
) -> None:
    _, token = new_user_token(environment)
    header, claims = segments(token)
    kid = header["kid"]
    real_key = signing_key(database_url, kid)
    clock = Clock()
    verifier = TokenVerifier(
        base_url=environment.base_url, client_id=environment.client_id, clock=clock
    )
    assert verifier.verify(token).user_id == claims["sub"]

    def rejected(error: type[TokenInvalid], forged: str, match: str) -> None:
        with pytest.raises(error, match=match):
            verifier.verify(forged)

    attacker = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    signing_input = token.rpartition(".")[0].encode()
    head, payload, signature = token.split(".")

    # Signatures.
    tampered = dict(claims, sub="user_someone_else")
    rejected(
        TokenSignatureInvalid,
        f"{head}.{b64url(json.dumps(tampered).encode())}.{signature}",
        "signature does not match",
    )
    rejected(TokenSignatureInvalid, authkeep_jwt.encode(claims, attacker, kid), "does not match")
    # Other spellings of the same signature bytes are refused (no token malleability): unused
    # low bits set in the last character, padding, the standard base64 alphabet.
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    twin = alphabet[alphabet.index(signature[-1]) + 1]
    assert base64.urlsafe_b64decode(signature + "==") == base64.urlsafe_b64decode(
        signature[:-1] + twin + "=="
    )
    for spelling in (signature[:-1] + twin, signature + "==", "+" + signature[1:]):
        rejected(TokenSignatureInvalid, f"{head}.{payload}.{spelling}", "canonical")

    # The real key's signatures, but not RS256 ones over these bytes: SHA-512, PSS, and one with
    # its leading zero byte dropped or doubled (the same number, so RSA alone would accept it).
    for other_padding, digest in (
        (padding.PKCS1v15(), hashes.SHA512()),
        (padding.PSS(padding.MGF1(hashes.SHA256()), 32), hashes.SHA256()),
    ):
        other = real_key.sign(signing_input, other_padding, digest)
        rejected(TokenSignatureInvalid, f"{head}.{payload}.{b64url(other)}", "does not match")
    jti = 0
    while True:
        jti += 1
        leading_zero = authkeep_jwt.encode(dict(claims, jti=str(jti)), real_key, kid)
        raw_signature = base64.urlsafe_b64decode(leading_zero.rpartition(".")[2] + "==")
        if raw_signature[0] == 0:
            break
    assert verifier.verify(leading_zero)
    for variant in (raw_signature[1:], b"\0" + raw_signature):
        rejected(
            TokenSignatureInvalid,
            f"{leading_zero.rpartition('.')[0]}.{b64url(variant)}",
            "does not match",
        )

    # Keys and algorithms.
    rejected(UnknownSigningKey, authkeep_jwt.encode(claims, attacker, "attacker-kid"), "no key")
    none_header = b64url(json.dumps({"alg": "none", "typ": "JWT", "kid": kid}).encode())
    rejected(UnsupportedAlgorithm, f"{none_header}.{payload}.", "unsigned")
    public_pem = real_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    hs_header = b64url(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode())
    hs_mac = hmac.new(public_pem, f"{hs_header}.{payload}".encode(), hashlib.sha256).digest()
    rejected(UnsupportedAlgorithm, f"{hs_header}.{payload}.{b64url(hs_mac)}", "HS256")
    rejected(
        UnsupportedAlgorithm,
        compact(
            {"alg": "RS512", "kid": kid},
            claims,
            real_key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256()),
        ),
        "'RS512' is not accepted",
    )

    # Claims, each signed with the environment's real key.
    def signed(**changes: Any) -> str:
        return authkeep_jwt.encode(
            {k: v for k, v in {**claims, **changes}.items() if v is not None}, real_key, kid
        )

    rejected(WrongIssuer, signed(iss="https://elsewhere.example/"), "'https://elsewhere.example/'")
    rejected(
        WrongAudience,
        signed(aud="https://api.example.com"),
        "audience 'https://api.example.com' is not",
    )
    rejected(TokenInvalid, signed(sid=None), "sub and sid")
    rejected(TokenInvalid, signed(sub_type="widget"), "not a user access token")
    rejected(TokenInvalid, signed(roles="admin"), "wrong type")
    rejected(TokenInvalid, signed(permissions=["a", 1]), "lists of strings")
    rejected(TokenInvalid, signed(exp="tomorrow"), "numeric exp")
    rejected(TokenInvalid, signed(nbf=int(time.time()) + 600), "not valid yet")
    rejected(TokenInvalid, signed(exp=10**20), "out of range")

    # Time, through the injected clock.
    expires = claims["exp"]
    clock.advance(expires - time.time() + 1)
    rejected(TokenExpired, token, r"expired at .*Z, 1 s ago \(leeway 0 s\)")
    lenient = TokenVerifier(
        base_url=environment.base_url, client_id=environment.client_id, clock=clock, leeway=30
    )
    assert lenient.verify(token).user_id == claims["sub"]
    clock.advance(60)
    with pytest.raises(TokenExpired):
        lenient.verify(token)

    # Not tokens at all.
    for junk in ["", "abc", "a.b", "a.b.c.d", f"{head}.%%%.{signature}", "x" * 20_000]:
        with pytest.raises(TokenInvalid):
            verifier.verify(junk)
    with pytest.raises(TokenInvalid, match="not a JSON object"):
        verifier.verify(f"{head}.{b64url(b'[1, 2]')}.{signature}")


def test_every_error_is_a_verifier_error_and_only_outages_are_not_token_errors() -> None:
    for error in (
        TokenExpired,
        TokenSignatureInvalid,
        UnknownSigningKey,
        WrongIssuer,
        WrongAudience,
        WrongClient,
        UnsupportedAlgorithm,
    ):
        assert issubclass(error, TokenInvalid) and error.code != TokenInvalid.code
    assert issubclass(JwksUnavailable, VerifierError)
    assert not issubclass(JwksUnavailable, TokenInvalid)  # a 503, never a 401


# Rotation -------------------------------------------------------------------------------------


def test_rotation_is_picked_up_without_restart(
    uncached_server: LiveServer, database_url: str
) -> None:
    env = make_environment(database_url, uncached_server.base_url)
    set_access_token_ttl(database_url, env.environment_id, 86_400)
    clock = Clock()
    requests: list[httpx.Request] = []
    verifier = TokenVerifier(
        base_url=env.base_url,
        client_id=env.client_id,
        clock=clock,
        http_client=httpx.Client(event_hooks={"request": [requests.append]}),
    )
    verifier.load_keys()
    (first_kid,) = verifier.key_ids

    # The server switches keys at once (no publish delay): its first token has an unknown kid.
    second_kid = rotate_key(database_url, env, publish_delay=0)
    _, token = new_user_token(env)
    assert segments(token)[0]["kid"] == second_kid != first_kid
    with pytest.raises(UnknownSigningKey, match=r"fetched \d s ago; next refetch allowed in \d+ s"):
        verifier.verify(token)  # the JWKS was fetched just now: no refetch storm
    assert len(requests) == 1
    clock.advance(31)
    assert verifier.verify(token).raw["sub"] == segments(token)[1]["sub"]
    assert len(requests) == 2 and verifier.key_ids == {first_kid, second_kid}

    # A key published ahead (the normal rotation) is learned at the TTL, before it signs.
    third_kid = rotate_key(database_url, env, publish_delay=300)
    clock.advance(301)
    assert verifier.verify(token)  # past the TTL: this call refreshes the keys
    assert len(requests) == 3 and third_kid in verifier.key_ids

    async def activate(session: Any) -> None:
        past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
        await session.execute(
            update(SigningKey).where(SigningKey.kid == third_kid).values(active_from=past)
        )

    run(_in_session(database_url, activate))
    claims = segments(token)[1]
    third_token = authkeep_jwt.encode(
        dict(claims, jti="third"), signing_key(database_url, third_kid), third_kid
    )
    assert verifier.verify(third_token).user_id == claims["sub"]
    assert verifier.verify(token)  # tokens of the previous key keep working until it retires
    assert len(requests) == 3  # neither needed a fetch


# JWKS endpoint down --------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_jwks_down_cached_keys_work_until_expiry_then_a_clear_error(
    mode: str, long_lived: TestEnvironment, local_jwks: JwksServer
) -> None:
    _, token = new_user_token(long_lived)
    clock = Clock()
    verifier = make_verifier(
        mode, long_lived, jwks_url=local_jwks.url, clock=clock, stale_if_error=600
    )
    assert verify(verifier, token)
    assert local_jwks.requests == 1

    local_jwks.status = 503
    clock.advance(299)
    assert verify(verifier, token)  # within the TTL (max-age=300): no request at all
    assert local_jwks.requests == 1
    clock.advance(2)
    assert verify(verifier, token)  # past the TTL: the refresh fails, the cached keys serve
    assert local_jwks.requests == 2
    clock.advance(10)
    assert verify(verifier, token)  # no retry within the refetch interval
    assert local_jwks.requests == 2

    local_jwks.stop()
    clock.advance(300 + 600)  # past the TTL and the stale allowance
    with pytest.raises(JwksUnavailable) as caught:
        verify(verifier, token)
    message = str(caught.value)
    assert message.startswith(f"cannot get signing keys from {local_jwks.url}: ConnectError")
    assert "the cached keys expired" in message
    with pytest.raises(JwksUnavailable):
        verify(verifier, token)  # within the refetch interval: the same answer, no new attempt

    local_jwks.start()
    local_jwks.status = 200
    clock.advance(31)
    assert verify(verifier, token)  # the endpoint is back: keys again
    assert local_jwks.requests == 3


def test_without_stale_allowance_an_outage_fails_right_after_the_ttl(
    long_lived: TestEnvironment, local_jwks: JwksServer
) -> None:
    _, token = new_user_token(long_lived)
    clock = Clock()
    verifier = TokenVerifier(
        base_url=long_lived.base_url,
        client_id=long_lived.client_id,
        jwks_url=local_jwks.url,
        clock=clock,
        stale_if_error=0,
    )
    assert verifier.verify(token)
    local_jwks.status = 503
    clock.advance(299)
    assert verifier.verify(token)
    clock.advance(2)
    with pytest.raises(
        JwksUnavailable, match=r"from http://127\.0\.0\.1:\d+/sso/jwks/client: HTTP 503"
    ):
        verifier.verify(token)


def test_a_cold_verifier_with_the_endpoint_down_says_so(local_jwks: JwksServer) -> None:
    local_jwks.status = 404
    verifier = TokenVerifier(base_url="http://x", client_id="client_x", jwks_url=local_jwks.url)
    with pytest.raises(
        JwksUnavailable, match=r"HTTP 404 \(the server does not know client client_x\)"
    ):
        verifier.load_keys()
    local_jwks.status = 200
    local_jwks.body = b"<html>not json</html>"
    with pytest.raises(JwksUnavailable, match="not a JWKS"):
        verifier.load_keys()


# Concurrency --------------------------------------------------------------------------------------


def _unknown_kid_setup(
    environment: TestEnvironment, jwks_bytes: bytes, mode: str
) -> tuple[JwksServer, Verifier, Clock, str]:
    """A verifier whose cached JWKS lacks the token's key; the endpoint now has it."""
    _, token = new_user_token(environment)
    server = JwksServer(b'{"keys": []}', delay=0.3)
    clock = Clock()
    verifier = make_verifier(mode, environment, jwks_url=server.url, clock=clock)
    with pytest.raises(UnknownSigningKey):
        verify(verifier, token)
    assert server.requests == 1
    server.body = jwks_bytes
    clock.advance(31)
    return server, verifier, clock, token


def test_100_concurrent_unknown_kid_requests_cause_one_fetch_asyncio(
    environment: TestEnvironment, jwks_bytes: bytes
) -> None:
    server, verifier, _, token = _unknown_kid_setup(environment, jwks_bytes, "async")
    assert isinstance(verifier, AsyncTokenVerifier)
    try:

        async def burst(token: str) -> list[Any]:
            return await asyncio.gather(
                *(verifier.verify(token) for _ in range(100)), return_exceptions=True
            )

        results = asyncio.run(burst(token))
        assert all(isinstance(r, AccessTokenClaims) for r in results), results[:3]
        assert server.requests == 2

        # A kid that stays unknown: 100 rejections, still at most one fetch per interval.
        claims = segments(token)[1]
        attacker = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        forged = authkeep_jwt.encode(claims, attacker, "never-published")
        rejected = asyncio.run(burst(forged))
        assert all(isinstance(r, UnknownSigningKey) for r in rejected)
        assert server.requests == 2  # the last fetch was under 30 s ago
    finally:
        server.stop()


def test_100_concurrent_unknown_kid_requests_cause_one_fetch_threads(
    environment: TestEnvironment, jwks_bytes: bytes
) -> None:
    server, verifier, _, token = _unknown_kid_setup(environment, jwks_bytes, "sync")
    assert isinstance(verifier, TokenVerifier)
    try:
        barrier = threading.Barrier(100, timeout=30)

        def one() -> AccessTokenClaims:
            barrier.wait()
            return verifier.verify(token)

        with ThreadPoolExecutor(max_workers=100) as pool:
            results = list(pool.map(lambda _: one(), range(100)))
        assert all(isinstance(r, AccessTokenClaims) for r in results)
        assert server.requests == 2
    finally:
        server.stop()


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_cold_start_under_load_fetches_once(
    mode: str, environment: TestEnvironment, jwks_bytes: bytes
) -> None:
    _, token = new_user_token(environment)
    server = JwksServer(jwks_bytes, delay=0.3)
    try:
        verifier = make_verifier(mode, environment, jwks_url=server.url)
        if isinstance(verifier, AsyncTokenVerifier):

            async def burst() -> list[AccessTokenClaims]:
                return await asyncio.gather(*(verifier.verify(token) for _ in range(100)))

            results = asyncio.run(burst())
        else:
            with ThreadPoolExecutor(max_workers=50) as pool:
                results = list(pool.map(lambda _: verifier.verify(token), range(100)))
        assert len(results) == 100 and server.requests == 1
    finally:
        server.stop()


def test_past_the_ttl_only_one_caller_waits_for_the_refresh(
    long_lived: TestEnvironment, jwks_bytes: bytes
) -> None:
    """Known keys past their TTL: one caller refreshes, the others keep the cached key."""
    _, token = new_user_token(long_lived)
    server = JwksServer(jwks_bytes, delay=0.5)
    clock = Clock()
    try:
        verifier = AsyncTokenVerifier(
            base_url=long_lived.base_url,
            client_id=long_lived.client_id,
            jwks_url=server.url,
            clock=clock,
        )

        async def scenario() -> list[float]:
            await verifier.verify(token)
            clock.advance(301)

            async def timed() -> float:
                started = time.perf_counter()
                await verifier.verify(token)
                return time.perf_counter() - started

            return await asyncio.gather(*(timed() for _ in range(20)))

        durations = sorted(asyncio.run(scenario()))
        assert server.requests == 2
        assert durations[-1] >= 0.5 and durations[-2] < 0.25  # one waited, nineteen did not
    finally:
        server.stop()


# Packaging --------------------------------------------------------------------------------------

PROBE = """
import importlib.abc, sys
blocked = set(sys.argv[1].split(","))
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in blocked:
            raise ImportError(f"{name} is a server-only dependency")
sys.meta_path.insert(0, Block())
from authkeep.integrations import verifier
v = verifier.TokenVerifier(base_url="http://127.0.0.1:9", client_id="client_x")
try:
    v.load_keys()
except verifier.JwksUnavailable as error:
    assert "ConnectError" in str(error), error
print("ok")
"""


def test_the_verifier_imports_without_server_extras() -> None:
    blocked = "starlette,sqlalchemy,alembic,uvicorn,asyncpg,aiosqlite,argon2,jinja2,pydantic"
    result = subprocess.run(
        [sys.executable, "-c", PROBE, blocked], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
