"""Cost of one access-token verification with a warm JWKS cache, beside a raw RS256 verify.

    .venv/bin/python bench/verify.py
    .venv/bin/python bench/verify.py --rounds 15 --number 3000

All in one process, no server: an authkeep signing key (`generate_signing_key`), a token with the
claims authkeep mints (organization, role, roles, permissions), and a JWKS served to the verifier
by an in-memory httpx transport, fetched once before timing starts. Cases, each timed in
`--rounds` interleaved rounds of `--number` calls (the best round counts, so a busy neighbour
slows a round, not the figure):

* raw: `RSAPublicKey.verify` of the token's signature, already decoded, with the same key. The
  floor: any verifier must pay for it.
* TokenVerifier.verify: parse, key lookup, signature, every claim check, `AccessTokenClaims`.
* AsyncTokenVerifier.verify: the same, awaited (one coroutine per call).
* PyJWT `jwt.decode` with the same key object, RS256, issuer pinned, no audience.
* joserfc `jwt.decode` + claims registry (if joserfc is installed).

Prints, per case, microseconds per call (best round), that over raw's best round, and the
median over rounds of the ratio to raw in the same round (steadier on a shared machine); then
the target line (information only; the script always exits 0 and never asserts on time).

Then the FastAPI integration's per-request cost, in the same process and rounds: one FastAPI
app with `AuthKitMiddleware` (its `AsyncAuthKit` using the warm verifier above), driven through
`httpx.ASGITransport` with `--requests` sequential GETs per round, all carrying the same
`Authorization: Bearer` header:

* open route: a route without dependencies (what the app costs anyway);
* require_bearer route: the same route behind `Depends(require_bearer)`.

Prints microseconds per request (best round), the overhead (protected minus open) and the ratio
protected/open, best rounds and median of same-round ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import statistics
import time
from collections.abc import Callable
from typing import Annotated

import httpx
import jwt as pyjwt
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from fastapi import Depends, FastAPI

from authkeep.crypto import jwt as authkeep_jwt
from authkeep.crypto.keys import generate_signing_key
from authkeep.integrations import AccessTokenClaims, ApiKey, AsyncAuthKit
from authkeep.integrations.starlette import AuthKitMiddleware, require_bearer
from authkeep.integrations.verifier import AsyncTokenVerifier, TokenVerifier

BASE_URL = "https://auth.example.com"
CLIENT_ID = "client_01JBENCHVERIFY0000000000000"
TARGET = 1.5
RAW = "raw cryptography RS256 verify"
VERIFIER = "TokenVerifier.verify (warm)"
OPEN = "FastAPI open route"
PROTECTED = "FastAPI require_bearer route (warm)"


def _token(private_key: RSAPrivateKey, kid: str) -> str:
    now = int(time.time())
    claims = {
        "iss": f"{BASE_URL}/user_management/{CLIENT_ID}",
        "sub": "user_01JBENCHVERIFY00000000000000",
        "sid": "session_01JBENCHVERIFY000000000000",
        "jti": "01JBENCHVERIFY000000000000AB",
        "client_id": CLIENT_ID,
        "auth_time": now,
        "iat": now,
        "exp": now + 86_400,
        "org_id": "org_01JBENCHVERIFY000000000000",
        "role": "admin",
        "roles": ["admin", "member"],
        "permissions": ["posts:read", "posts:write", "users:manage"],
    }
    return authkeep_jwt.encode(claims, private_key, kid)


def _timed(call: Callable[[], object], number: int) -> float:
    """Seconds per call over `number` calls."""
    start = time.perf_counter()
    for _ in range(number):
        call()
    return (time.perf_counter() - start) / number


def _fastapi_cases(
    verifier: AsyncTokenVerifier, token: str, loop: asyncio.AbstractEventLoop
) -> dict[str, Callable[[int], float]]:
    """The open and the protected route of one FastAPI app, each timed per request."""
    authkit = AsyncAuthKit(
        client_id=CLIENT_ID,
        base_url=BASE_URL,
        redirect_uri="http://localhost:8000/auth/callback",
        cookie_password="bench-cookie-password-" + "0" * 16,
        verifier=verifier,
    )
    app = FastAPI()
    app.add_middleware(AuthKitMiddleware, authkit=authkit)

    @app.get("/api/open")
    async def open_route() -> dict[str, str | None]:
        return {"user_id": None}

    @app.get("/api/protected")
    async def protected(
        caller: Annotated[AccessTokenClaims | ApiKey, Depends(require_bearer)],
    ) -> dict[str, str | None]:
        return {"user_id": caller.user_id}

    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench")
    headers = {"Authorization": f"Bearer {token}"}

    async def batch(path: str, number: int) -> None:
        for _ in range(number):
            response = await client.get(path, headers=headers)
            if response.status_code != 200:
                raise RuntimeError(f"{path}: {response.status_code} {response.text}")

    def case(path: str) -> Callable[[int], float]:
        def timed(number: int) -> float:
            start = time.perf_counter()
            loop.run_until_complete(batch(path, number))
            return (time.perf_counter() - start) / number

        return timed

    return {OPEN: case("/api/open"), PROTECTED: case("/api/protected")}


def _report_fastapi(rounds: dict[str, list[float]], number: int) -> None:
    opened, protected = rounds[OPEN], rounds[PROTECTED]
    print(f"\nFastAPI integration, in-process (httpx.ASGITransport), {number} requests per round")
    print(f"{'case':<36} {'us/req':>8}")
    for name in (OPEN, PROTECTED):
        print(f"{name:<36} {min(rounds[name]) * 1e6:>8.1f}")
    overhead = (min(protected) - min(opened)) * 1e6
    ratio = min(protected) / min(opened)
    paired = statistics.median(p / o for p, o in zip(protected, opened, strict=True))
    print(
        f"require_bearer overhead: {overhead:.1f} us/request; protected/open {ratio:.2f}x "
        f"(best rounds), {paired:.2f}x (median of same-round ratios)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15, help="interleaved rounds per case")
    parser.add_argument("--number", type=int, default=2000, help="calls per round")
    parser.add_argument("--requests", type=int, default=500, help="FastAPI requests per round")
    args = parser.parse_args()

    generated = generate_signing_key("bench")
    private_key = load_pem_private_key(generated.private_pem, password=None)
    assert isinstance(private_key, RSAPrivateKey)
    public_key: RSAPublicKey = private_key.public_key()
    token = _token(private_key, generated.kid)
    jwks = json.dumps({"keys": [generated.public_jwk]}).encode()
    fetches = 0

    def serve_jwks(request: httpx.Request) -> httpx.Response:
        nonlocal fetches
        fetches += 1
        return httpx.Response(200, content=jwks, headers={"cache-control": "max-age=300"})

    transport = httpx.MockTransport(serve_jwks)
    verifier = TokenVerifier(
        base_url=BASE_URL, client_id=CLIENT_ID, http_client=httpx.Client(transport=transport)
    )
    async_verifier = AsyncTokenVerifier(
        base_url=BASE_URL, client_id=CLIENT_ID, http_client=httpx.AsyncClient(transport=transport)
    )
    loop = asyncio.new_event_loop()
    verifier.load_keys()
    loop.run_until_complete(async_verifier.load_keys())

    signing_input, _, signature_part = token.rpartition(".")
    signature = base64.urlsafe_b64decode(signature_part + "=" * (-len(signature_part) % 4))
    message = signing_input.encode()
    pkcs1, sha256 = padding.PKCS1v15(), hashes.SHA256()
    issuer = f"{BASE_URL}/user_management/{CLIENT_ID}"

    def raw() -> None:
        public_key.verify(signature, message, pkcs1, sha256)

    def pyjwt_decode() -> object:
        return pyjwt.decode(
            token, public_key, algorithms=["RS256"], issuer=issuer, options={"verify_aud": False}
        )

    async def async_batch(number: int) -> None:
        for _ in range(number):
            await async_verifier.verify(token)

    def async_round(number: int) -> float:
        start = time.perf_counter()
        loop.run_until_complete(async_batch(number))
        return (time.perf_counter() - start) / number

    cases: dict[str, Callable[[int], float]] = {
        RAW: lambda n: _timed(raw, n),
        VERIFIER: lambda n: _timed(lambda: verifier.verify(token), n),
        "AsyncTokenVerifier.verify (warm)": async_round,
        "PyJWT jwt.decode": lambda n: _timed(pyjwt_decode, n),
    }
    try:
        from joserfc import jwt as jose_jwt
        from joserfc.jwk import RSAKey

        jose_key = RSAKey.import_key(generated.public_jwk)
        registry = jose_jwt.JWTClaimsRegistry(iss={"essential": True, "value": issuer})

        def joserfc_decode() -> object:
            decoded = jose_jwt.decode(token, jose_key, algorithms=["RS256"])
            registry.validate(decoded.claims)
            return decoded

        cases["joserfc jwt.decode + claims"] = lambda n: _timed(joserfc_decode, n)
    except ImportError:
        pass

    http_cases = _fastapi_cases(async_verifier, token, loop)

    # Every case must accept the token before it is timed.
    assert verifier.verify(token).organization_id == "org_01JBENCHVERIFY000000000000"
    assert pyjwt_decode()
    for case in (*cases.values(), *http_cases.values()):
        case(50)

    rounds: dict[str, list[float]] = {name: [] for name in (*cases, *http_cases)}
    for _ in range(args.rounds):
        for name, case in cases.items():
            rounds[name].append(case(args.number))
        for name, case in http_cases.items():
            rounds[name].append(case(args.requests))
    loop.close()

    raw_rounds = rounds[RAW]
    print(f"{'case':<36} {'us/op':>8} {'x raw':>7} {'median x raw':>13}")
    for name in cases:
        seconds = rounds[name]
        best = min(seconds) / min(raw_rounds)
        # The same round's raw figure, so a busy neighbour weighs on both sides of the ratio.
        paired = statistics.median(s / r for s, r in zip(seconds, raw_rounds, strict=True))
        print(f"{name:<36} {min(seconds) * 1e6:>8.1f} {best:>7.2f} {paired:>13.2f}")
    ratio = min(rounds[VERIFIER]) / min(raw_rounds)
    verdict = "PASS" if ratio <= TARGET else "MISS"
    print(f"target: TokenVerifier <= {TARGET}x raw: {ratio:.2f}x {verdict} (information only)")
    _report_fastapi(rounds, args.requests)
    print(f"JWKS fetches during the run: {fetches} (one per verifier, before timing)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
