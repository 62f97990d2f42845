"""The password grant's fast path (one read before argon2; the session built, and on PostgreSQL
written in an open transaction, while it runs; one commit or write after it) against a live
server on both databases: what it writes must be what the ORM path wrote, and every refusal must
still come out right and leave nothing behind."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
from argon2 import PasswordHasher
from sqlalchemy import select
from workos import WorkOSClient
from workos._errors import BadRequestError, EmailVerificationRequiredError

from authkeep.store.db import create_engine, session_factory
from authkeep.store.models import RefreshToken, User
from authkeep.store.models import Session as UserSession
from tests.signin.hosted import PASSWORD, make_user, verify
from tests.support import TestEnvironment, make_environment, run


def _when(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _stored(database_url: str, user_id: str) -> tuple[User, list[UserSession], list[RefreshToken]]:
    async def go() -> tuple[User, list[UserSession], list[RefreshToken]]:
        engine = create_engine(database_url, pool_size=1)
        try:
            async with session_factory(engine)() as session:
                user = await session.get(User, user_id)
                assert user is not None
                sessions = list(
                    await session.scalars(select(UserSession).where(UserSession.user_id == user_id))
                )
                tokens = list(
                    await session.scalars(
                        select(RefreshToken).where(
                            RefreshToken.session_id.in_([s.id for s in sessions])
                        )
                    )
                )
                return user, sessions, tokens
        finally:
            await engine.dispose()

    return run(go())


def test_sign_in_writes_what_the_session_needs(
    env: TestEnvironment, admin: httpx.Client, sdk: WorkOSClient, database_url: str
) -> None:
    org = admin.post("/organizations", json={"name": "Acme"}).json()["id"]
    user = make_user(admin, "one-org@example.com", (org,), role="admin")
    assert user["last_sign_in_at"] is None
    auth = sdk.user_management.authenticate_with_password(
        email="One-Org@Example.com", password=PASSWORD, ip_address="203.0.113.9", user_agent="ua/1"
    )
    assert auth.user.id == user["id"] and auth.organization_id == org
    assert auth.authentication_method == "Password"
    claims = verify(env, auth.access_token)
    assert claims["sub"] == user["id"] and claims["org_id"] == org and claims["role"] == "admin"
    assert claims["roles"] == ["admin"] and isinstance(claims["permissions"], list)

    # The answer's user is the stored one, sign-in time included.
    fetched = admin.get(f"/user_management/users/{user['id']}").json()
    assert auth.user.last_sign_in_at is not None
    assert _when(fetched["last_sign_in_at"]) == auth.user.last_sign_in_at
    assert _when(fetched["updated_at"]) == auth.user.updated_at
    _, sessions, tokens = _stored(database_url, user["id"])
    assert [s.id for s in sessions] == [claims["sid"]]
    session = sessions[0]
    assert (session.status, session.auth_method, session.organization_id) == (
        "active",
        "password",
        org,
    )
    assert (session.ip_address, session.user_agent, session.client_id) == (
        "203.0.113.9",
        "ua/1",
        env.client_id,
    )
    assert session.expires_at > session.created_at and session.last_active_at is not None
    assert [t.status for t in tokens] == ["active"]
    listed = sdk.user_management.list_sessions(user["id"])
    assert [s.id for s in listed.data] == [claims["sid"]]

    # The refresh token was stored under its hash: it rotates, once.
    refreshed = sdk.user_management.authenticate_with_refresh_token(
        refresh_token=auth.refresh_token
    )
    assert verify(env, refreshed.access_token)["sid"] == claims["sid"]


def test_outdated_hash_is_upgraded_and_an_imported_weak_password_still_works(
    admin: httpx.Client, sdk: WorkOSClient, database_url: str
) -> None:
    old = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash("abc")
    created = admin.post(
        "/user_management/users",
        json={
            "email": "imported@example.com",
            "password_hash": old,
            "password_hash_type": "argon2",
        },
    )
    assert created.status_code == 201, created.text
    user_id = created.json()["id"]
    auth = sdk.user_management.authenticate_with_password(
        email="imported@example.com", password="abc"
    )
    assert auth.user.id == user_id
    stored, _, _ = _stored(database_url, user_id)
    assert stored.password_hash is not None and stored.password_hash != old
    assert stored.password_hash.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    again = sdk.user_management.authenticate_with_password(
        email="imported@example.com", password="abc"
    )
    assert again.user.id == user_id
    assert _stored(database_url, user_id)[0].password_hash == stored.password_hash
    with pytest.raises(BadRequestError) as raised:
        sdk.user_management.authenticate_with_password(email="imported@example.com", password="abd")
    assert raised.value.code == "invalid_credentials"


def test_refusals(env: TestEnvironment, admin: httpx.Client, database_url: str) -> None:
    make_user(admin, "refused@example.com")
    other = make_environment(database_url, env.base_url)

    def grant(**fields: str) -> httpx.Response:
        body = {"grant_type": "password", "client_id": env.client_id, **fields}
        return httpx.post(f"{env.base_url}/user_management/authenticate", json=body)

    wrong = grant(client_secret=env.api_key, email="refused@example.com", password="wrong-pass")
    unknown = grant(client_secret=env.api_key, email="nobody@example.com", password="wrong-pass")
    assert wrong.status_code == unknown.status_code == 400
    assert wrong.json()["code"] == unknown.json()["code"] == "invalid_credentials"
    assert wrong.json().keys() == unknown.json().keys()
    for secret in ("sk_test_not_a_key", other.api_key):
        refused = grant(client_secret=secret, email="refused@example.com", password=PASSWORD)
        assert refused.status_code == 400 and refused.json()["error"] == "invalid_client"
        # A bad secret is the answer even when the rest of the request is incomplete too.
        incomplete = grant(client_secret=secret, email="refused@example.com")
        assert incomplete.status_code == 400 and incomplete.json()["error"] == "invalid_client"
    missing = grant(email="refused@example.com", password=PASSWORD)
    assert missing.status_code == 400 and missing.json()["error"] == "invalid_client"
    incomplete = grant(client_secret=env.api_key, email="refused@example.com")
    assert incomplete.status_code == 400 and incomplete.json()["error"] == "invalid_request"
    # Nothing was written by any of these.
    user_id = admin.get("/user_management/users", params={"email": "refused@example.com"}).json()[
        "data"
    ][0]["id"]
    stored, sessions, _ = _stored(database_url, user_id)
    assert sessions == [] and stored.last_sign_in_at is None


def test_verification_required_answers_before_any_session(
    live_server: object, database_url: str
) -> None:
    base_url = live_server.base_url  # type: ignore[attr-defined]
    env = make_environment(database_url, base_url, settings={"email_verification_required": True})
    with httpx.Client(
        base_url=base_url, headers={"Authorization": f"Bearer {env.api_key}"}
    ) as admin:
        user = make_user(admin, "unverified@example.com")
    sdk = WorkOSClient(api_key=env.api_key, client_id=env.client_id, base_url=base_url)
    with pytest.raises(EmailVerificationRequiredError) as raised:
        sdk.user_management.authenticate_with_password(
            email="unverified@example.com", password=PASSWORD
        )
    assert raised.value.code == "email_verification_required"
    stored, sessions, _ = _stored(database_url, user["id"])
    assert sessions == [] and stored.last_sign_in_at is None


def _open_transactions(database_url: str) -> int:
    """Connections of this test database idle inside a transaction (PostgreSQL)."""
    import asyncpg

    async def go() -> int:
        connection = await asyncpg.connect(database_url.replace("+asyncpg", "").split("?")[0])
        try:
            return int(
                await connection.fetchval(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND state LIKE 'idle in transaction%'"
                )
            )
        finally:
            await connection.close()

    return run(go())


def test_refused_attempts_leave_nothing_open(
    env: TestEnvironment, admin: httpx.Client, live_server: object, database_url: str
) -> None:
    """On PostgreSQL a known account's sign-in is written while the hash runs, in a transaction
    that only a matching password commits: a wrong one must roll it back, after the answer."""
    import time

    from authkeep.store import planned

    user = make_user(admin, "no-trace@example.com")

    def grant(password: str) -> httpx.Response:
        body = {
            "grant_type": "password",
            "client_id": env.client_id,
            "client_secret": env.api_key,
            "email": "no-trace@example.com",
            "password": password,
        }
        return httpx.post(f"{env.base_url}/user_management/authenticate", json=body)

    for attempt in range(4):
        assert grant(f"wrong-pass-{attempt}").status_code == 400
    assert grant(PASSWORD).status_code == 200
    stored, sessions, tokens = _stored(database_url, user["id"])
    assert len(sessions) == 1 and len(tokens) == 1 and stored.last_sign_in_at is not None
    if not database_url.startswith("postgresql"):
        return
    engine = live_server.state.engine  # type: ignore[attr-defined]
    deadline = time.monotonic() + 5
    while planned.in_use(engine) or _open_transactions(database_url):
        assert time.monotonic() < deadline, "a refused sign-in left its transaction open"
        time.sleep(0.05)


def test_a_sign_in_whose_commit_fails_is_written_again(
    env: TestEnvironment,
    admin: httpx.Client,
    sdk: WorkOSClient,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from authkeep.store import sign_in

    user = make_user(admin, "commit-lost@example.com")
    original = sign_in.OpenRecord.commit
    failed: list[bool] = []

    async def lost(self: sign_in.OpenRecord, new_hash: str | None, user_id: str) -> bool:
        self.connection.terminate()  # the connection goes away before COMMIT
        failed.append(await original(self, new_hash, user_id))
        return failed[-1]

    monkeypatch.setattr(sign_in.OpenRecord, "commit", lost)
    auth = sdk.user_management.authenticate_with_password(
        email="commit-lost@example.com", password=PASSWORD
    )
    if database_url.startswith("postgresql"):
        assert failed == [False]
    sid = verify(env, auth.access_token)["sid"]
    _, sessions, tokens = _stored(database_url, user["id"])
    assert [s.id for s in sessions] == [sid] and len(tokens) == 1
    refreshed = sdk.user_management.authenticate_with_refresh_token(
        refresh_token=auth.refresh_token
    )
    assert verify(env, refreshed.access_token)["sid"] == sid


def test_concurrent_sign_ins_of_one_account_all_succeed(
    env: TestEnvironment, admin: httpx.Client, sdk: WorkOSClient, database_url: str
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    user = make_user(admin, "busy@example.com")

    def sign_in(_: int) -> str:
        auth = sdk.user_management.authenticate_with_password(
            email="busy@example.com", password=PASSWORD
        )
        return str(verify(env, auth.access_token)["sid"])

    with ThreadPoolExecutor(max_workers=5) as pool:
        sids = list(pool.map(sign_in, range(5)))
    _, sessions, tokens = _stored(database_url, user["id"])
    assert len(set(sids)) == 5 and {s.id for s in sessions} == set(sids) and len(tokens) == 5
