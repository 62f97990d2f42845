"""`GET /sso/jwks/{client_id}` and signing keys: published shape, rotation, encryption at rest."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from collections.abc import Iterator

import httpx
import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from sqlalchemy import select, update
from workos import WorkOSClient

from authkeep.crypto.keys import SecretBox, thumbprint
from authkeep.services.environments import get_environment_by_name
from authkeep.services.signing_keys import current_signing_key, rotate
from authkeep.store.db import create_engine, session_factory
from authkeep.store.models import SigningKey
from tests.support import (
    SECRET,
    LiveServer,
    TestEnvironment,
    make_environment,
    run,
    start_live_server,
)


@pytest.fixture(scope="module")
def uncached_server(database_url: str, recorder) -> Iterator[LiveServer]:
    server = start_live_server(database_url, wrap=recorder.wrap, jwks_cache_seconds=0.0)
    yield server
    server.stop()


@pytest.fixture
def env(uncached_server: LiveServer, database_url: str) -> TestEnvironment:
    return make_environment(database_url, uncached_server.base_url)


def _b64url_int(value: str) -> int:
    return int.from_bytes(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)), "big")


def test_jwks_shape_parses_in_the_sdk_and_matches_its_certificate(
    workos: WorkOSClient, environment: TestEnvironment
) -> None:
    jwks = workos.user_management.get_jwks(environment.client_id)
    assert len(jwks.keys) == 1
    response = httpx.get(f"{environment.base_url}/sso/jwks/{environment.client_id}")
    assert response.headers["content-type"] == "application/json"
    assert "max-age=300" in response.headers["cache-control"]
    key = response.json()["keys"][0]
    assert {key["alg"], key["kty"], key["use"], key["e"]} == {"RS256", "RSA", "sig", "AQAB"}
    assert key["kid"] == thumbprint(key)  # RFC 7638
    der = base64.b64decode(key["x5c"][0])
    assert (
        key["x5t#S256"]
        == base64.urlsafe_b64encode(hashlib.sha256(der).digest()).rstrip(b"=").decode()
    )
    public = x509.load_der_x509_certificate(der).public_key()
    assert isinstance(public, rsa.RSAPublicKey) and public.key_size >= 2048
    assert public.public_numbers().n == _b64url_int(key["n"])
    # PyJWKClient (what the Python SDK verifies tokens with) finds the key by kid.
    client = jwt.PyJWKClient(f"{environment.base_url}/sso/jwks/{environment.client_id}")
    assert client.get_signing_key(key["kid"]).key_id == key["kid"]


async def _with_session(database_url: str, work):  # type: ignore[no-untyped-def]
    engine = create_engine(database_url, pool_size=1)
    try:
        async with session_factory(engine)() as session:
            result = await work(session)
            await session.commit()
            return result
    finally:
        await engine.dispose()


def test_rotation_publishes_before_signing_and_retires_after_tokens_expire(
    env: TestEnvironment, database_url: str
) -> None:
    url = f"{env.base_url}/sso/jwks/{env.client_id}"
    old_kid = httpx.get(url).json()["keys"][0]["kid"]

    async def rotate_later(session):  # type: ignore[no-untyped-def]
        environment = await get_environment_by_name(session, env.name)
        new = await rotate(
            session, SecretBox(SECRET), environment, publish_delay=300, token_lifetime=300
        )
        signer = await current_signing_key(session, environment.id)
        return new.kid, signer.kid if signer else None

    new_kid, signer = run(_with_session(database_url, rotate_later))
    assert signer == old_kid  # the new key is published but does not sign yet
    assert {k["kid"] for k in httpx.get(url).json()["keys"]} == {old_kid, new_kid}

    async def time_passes(session):  # type: ignore[no-untyped-def]
        # Move the clock: the new key's signing period began and the old key's tokens expired.
        past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
        await session.execute(
            update(SigningKey).where(SigningKey.kid == new_kid).values(active_from=past)
        )
        await session.execute(
            update(SigningKey).where(SigningKey.kid == old_kid).values(retire_at=past)
        )
        environment = await get_environment_by_name(session, env.name)
        signer = await current_signing_key(session, environment.id)
        return signer.kid if signer else None

    assert run(_with_session(database_url, time_passes)) == new_kid
    assert [k["kid"] for k in httpx.get(url).json()["keys"]] == [new_kid]


def test_private_keys_are_encrypted_at_rest(env: TestEnvironment, database_url: str) -> None:
    async def stored(session):  # type: ignore[no-untyped-def]
        return (
            await session.scalars(
                select(SigningKey).where(SigningKey.environment_id == env.environment_id)
            )
        ).one()

    row = run(_with_session(database_url, stored))
    assert b"PRIVATE KEY" not in row.private_key_encrypted
    pem = SecretBox(SECRET).decrypt(row.private_key_encrypted, row.id)
    private = load_pem_private_key(pem, password=None)
    assert isinstance(private, rsa.RSAPrivateKey)
    signature = private.sign(b"x", padding.PKCS1v15(), hashes.SHA256())
    public = x509.load_der_x509_certificate(row.certificate_der).public_key()
    assert isinstance(public, rsa.RSAPublicKey)
    public.verify(signature, b"x", padding.PKCS1v15(), hashes.SHA256())
    with pytest.raises(Exception):
        SecretBox("another-secret-" + "y" * 40).decrypt(row.private_key_encrypted, row.id)
    with pytest.raises(Exception):
        SecretBox(SECRET).decrypt(row.private_key_encrypted, "sso_oidc_key_pair_other")


def test_health_and_readiness(live_server: LiveServer) -> None:
    assert httpx.get(f"{live_server.base_url}/healthz").json() == {"status": "ok"}
    ready = httpx.get(f"{live_server.base_url}/readyz")
    assert ready.status_code == 200 and ready.json() == {"status": "ready"}
    assert ready.headers["x-request-id"]
    echoed = httpx.get(f"{live_server.base_url}/healthz", headers={"X-Request-ID": "trace-123"})
    assert echoed.headers["x-request-id"] == "trace-123"
