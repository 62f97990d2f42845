"""The refresh grant has two paths: one database step for the common case (a worker that holds
the client and the signing key, an active token of a live session) and the full one that explains
every refusal. Both must give the same answers; the one-step path must refuse what it cannot
decide without changing anything."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update
from workos import WorkOSClient

from authkeep.crypto.secrets import hash_secret, new_id
from authkeep.store.db import create_engine, session_factory
from authkeep.store.models import (
    ApiKey,
    Permission,
    RefreshToken,
    Role,
    RolePermission,
    Session,
)
from tests.signin.hosted import PASSWORD, make_user, verify
from tests.support import LiveServer, TestEnvironment, run

VOLATILE = {"iat", "exp", "jti"}


def refresh(env: TestEnvironment, token: str, **body: Any) -> httpx.Response:
    return httpx.post(
        f"{env.base_url}/user_management/authenticate",
        json={
            "client_id": env.client_id,
            "grant_type": "refresh_token",
            "refresh_token": token,
            "client_secret": env.api_key,
            **body,
        },
        timeout=20,
    )


def authenticate_module() -> Any:
    from authkeep.api import authenticate

    return authenticate


def forget_caches(server: LiveServer) -> None:
    """The next grant loads the client and the key: the full path."""
    server.state.client_cache.clear()
    server.state.issuer._keys.clear()


def in_database(database_url: str, work: Any) -> Any:
    async def go() -> Any:
        engine = create_engine(database_url, pool_size=1)
        try:
            async with session_factory(engine)() as session:
                result = await work(session)
                await session.commit()
                return result
        finally:
            await engine.dispose()

    return run(go())


def grant_permissions(database_url: str, environment_id: str, role: str, slugs: list[str]) -> None:
    async def work(session: Any) -> None:
        role_id = await session.scalar(
            select(Role.id).where(Role.environment_id == environment_id, Role.slug == role)
        )
        for slug in slugs:
            permission = Permission(
                id=new_id("perm"), environment_id=environment_id, slug=slug, name=slug
            )
            session.add(permission)
            await session.flush()
            session.add(RolePermission(role_id=role_id, permission_id=permission.id))

    in_database(database_url, work)


@pytest.fixture
def org_session(env, admin, sdk, database_url: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    organization = admin.post("/organizations", json={"name": "Paths Inc"}).json()
    grant_permissions(database_url, env.environment_id, "admin", ["posts:write", "posts:read"])
    make_user(admin, "paths@example.com", (organization["id"],), role="admin")
    auth = sdk.user_management.authenticate_with_password(
        email="paths@example.com", password=PASSWORD
    )
    body = refresh(env, auth.refresh_token, organization_id=organization["id"]).json()
    return {"organization": organization["id"], "refresh_token": body["refresh_token"]}


def test_both_paths_answer_the_same(
    env: TestEnvironment,
    live_server: LiveServer,
    org_session: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from authkeep.services.grants import refresh_token

    paths: list[str] = []
    one_step, full_path = (
        refresh_token.grant_in_one_step,
        authenticate_module().GRANTS["refresh_token"],
    )

    async def declined(*args: Any, **kwargs: Any) -> Any:
        paths.append("one step")
        return None if len(paths) == 1 else await one_step(*args, **kwargs)

    async def counted(ctx: Any) -> Any:
        paths.append("full")
        return await full_path(ctx)

    monkeypatch.setattr(refresh_token, "grant_in_one_step", declined)
    monkeypatch.setitem(authenticate_module().GRANTS, "refresh_token", counted)
    full = refresh(env, org_session["refresh_token"])  # the one step declines: the full path
    assert full.status_code == 200, full.text
    quick = refresh(env, full.json()["refresh_token"])
    assert quick.status_code == 200, quick.text
    assert paths == ["one step", "full", "one step"]
    full_body, quick_body = full.json(), quick.json()
    full_claims = verify(env, full_body.pop("access_token"))
    quick_claims = verify(env, quick_body.pop("access_token"))
    assert quick_claims["org_id"] == org_session["organization"]
    assert quick_claims["role"] == "admin" and quick_claims["roles"] == ["admin"]
    assert quick_claims["permissions"] == ["posts:read", "posts:write"]
    assert {k: v for k, v in quick_claims.items() if k not in VOLATILE} == {
        k: v for k, v in full_claims.items() if k not in VOLATILE
    }
    assert quick_body.pop("refresh_token") != full_body.pop("refresh_token")
    assert quick_body == full_body  # user, organization_id, authentication_method
    # Repeating the current organization stays on the one-step path and changes nothing.
    again = refresh(env, quick.json()["refresh_token"], organization_id=org_session["organization"])
    assert again.status_code == 200
    assert verify(env, again.json()["access_token"])["org_id"] == org_session["organization"]


def test_a_revoked_client_secret_is_refused_and_the_token_kept(
    env: TestEnvironment, sdk: WorkOSClient, admin: httpx.Client, database_url: str
) -> None:
    make_user(admin, "revoked-key@example.com")
    auth = sdk.user_management.authenticate_with_password(
        email="revoked-key@example.com", password=PASSWORD
    )
    warm = refresh(env, auth.refresh_token)
    assert warm.status_code == 200
    token = warm.json()["refresh_token"]
    second_key = f"sk_test_{new_id('key')}"

    async def swap_keys(session: Any) -> None:
        session.add(
            ApiKey(
                id=new_id("key"),
                environment_id=env.environment_id,
                name="second",
                key_hash=hash_secret(second_key),
                display_prefix=second_key[:12],
            )
        )
        await session.execute(
            update(ApiKey)
            .where(ApiKey.key_hash == hash_secret(env.api_key))
            .values(revoked_at=dt.datetime.now(dt.UTC))
        )

    in_database(database_url, swap_keys)
    refused = refresh(env, token)
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_client"
    wrong = refresh(env, token, client_secret="sk_test_nope")
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_client"
    # Nothing was rotated by the refusals: the token still works with a valid key.
    assert refresh(env, token, client_secret=second_key).status_code == 200


def test_sessions_past_their_limits_are_refused_with_the_reason(
    env: TestEnvironment, sdk: WorkOSClient, admin: httpx.Client, database_url: str
) -> None:
    make_user(admin, "limits@example.com")
    tokens = []
    for _ in range(2):
        auth = sdk.user_management.authenticate_with_password(
            email="limits@example.com", password=PASSWORD
        )
        warm = refresh(env, auth.refresh_token)
        assert warm.status_code == 200
        tokens.append((verify(env, warm.json()["access_token"])["sid"], warm.json()))
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=400)

    async def age(session: Any) -> None:
        await session.execute(
            update(Session).where(Session.id == tokens[0][0]).values(last_active_at=long_ago)
        )
        await session.execute(
            update(Session).where(Session.id == tokens[1][0]).values(expires_at=long_ago)
        )

    in_database(database_url, age)
    idle = refresh(env, tokens[0][1]["refresh_token"])
    assert idle.status_code == 400 and "inactive" in idle.json()["error_description"]
    expired = refresh(env, tokens[1][1]["refresh_token"])
    assert expired.status_code == 400 and "maximum length" in expired.json()["error_description"]


def test_a_token_of_another_client_is_refused(
    env: TestEnvironment, sdk: WorkOSClient, admin: httpx.Client, live_server: LiveServer
) -> None:
    from tests.signin.hosted import signin_environment

    make_user(admin, "other-client@example.com")
    auth = sdk.user_management.authenticate_with_password(
        email="other-client@example.com", password=PASSWORD
    )
    warm = refresh(env, auth.refresh_token)  # warms this client
    assert warm.status_code == 200
    token = warm.json()["refresh_token"]
    other = signin_environment(live_server.settings.database_url, live_server.base_url)
    answer = httpx.post(
        f"{env.base_url}/user_management/authenticate",
        json={
            "client_id": other.client_id,
            "grant_type": "refresh_token",
            "refresh_token": token,
            "client_secret": other.api_key,
        },
    )
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"
    assert refresh(env, token).status_code == 200  # still its own client's


def _user_tokens(
    env: TestEnvironment, sdk: WorkOSClient, admin: httpx.Client, count: int
) -> list[Any]:
    """(e-mail, session ID, a refresh token taken through the one-step path once) per user."""
    made = []
    for index in range(count):
        email = f"together{index}@example.com"
        make_user(admin, email)
        auth = sdk.user_management.authenticate_with_password(email=email, password=PASSWORD)
        warm = refresh(env, auth.refresh_token)
        assert warm.status_code == 200, warm.text
        made.append((email, verify(env, auth.access_token)["sid"], warm.json()["refresh_token"]))
    return made


def test_refreshes_that_arrive_together_each_get_their_own_session(
    env: TestEnvironment,
    sdk: WorkOSClient,
    admin: httpx.Client,
    org_session: dict[str, Any],
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On PostgreSQL concurrent refreshes share one statement: every answer must still be its
    own token's (user, session, organization claims), a bogus token in the same statement is
    refused, and the same token twice rotates once."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    from authkeep.store import rotation

    users = _user_tokens(env, sdk, admin, 4)
    sizes: list[int] = []
    original = rotation._PostgresBatcher._execute

    async def held(self: Any, batch: list[Any]) -> Any:
        sizes.append(len(batch))
        if len(sizes) == 1:
            await asyncio.sleep(0.5)  # the others arrive meanwhile and go together
        return await original(self, batch)

    monkeypatch.setattr(rotation._PostgresBatcher, "_execute", held)
    # A held statement would otherwise count as stalled after 50 ms and let the waiting
    # requests start statements of their own as they trickle in.
    monkeypatch.setattr(rotation, "PG_STALL_SECONDS", 5.0)
    tokens = [token for _, _, token in users] + [
        org_session["refresh_token"],
        users[0][2],  # the same token twice
        "not-a-token",
    ]
    with ThreadPoolExecutor(max_workers=len(tokens)) as pool:
        answers = list(pool.map(lambda token: refresh(env, token), tokens))

    for (email, sid, _), answer in zip(users[1:], answers[1:4], strict=True):
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["user"]["email"] == email and "organization_id" not in body
        claims = verify(env, body["access_token"])
        assert claims["sid"] == sid and "org_id" not in claims
    in_org = answers[4]
    assert in_org.status_code == 200, in_org.text
    claims = verify(env, in_org.json()["access_token"])
    assert in_org.json()["user"]["email"] == "paths@example.com"
    assert claims["org_id"] == org_session["organization"] and claims["role"] == "admin"
    assert claims["permissions"] == ["posts:read", "posts:write"]
    twice = [answers[0], answers[5]]
    assert all(a.status_code == 200 for a in twice), [a.text for a in twice]
    assert twice[0].json()["refresh_token"] == twice[1].json()["refresh_token"]  # rotated once
    assert verify(env, twice[0].json()["access_token"])["sid"] == users[0][1]
    assert answers[6].status_code == 400 and answers[6].json()["error"] == "invalid_grant"
    if database_url.startswith("postgresql"):
        assert max(sizes) >= 4, sizes  # they did share a statement
    # Every new token works once more.
    for answer in answers[:5]:
        assert refresh(env, answer.json()["refresh_token"]).status_code == 200


def test_a_stuck_rotation_statement_does_not_hold_up_the_others(
    env: TestEnvironment,
    sdk: WorkOSClient,
    admin: httpx.Client,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A rotation statement that does not come back (a lock wait) is not waited for: after
    PG_STALL_SECONDS the refreshes that arrived meanwhile start a statement of their own."""
    import asyncio
    import time
    from concurrent.futures import ThreadPoolExecutor

    from authkeep.store import rotation

    users = _user_tokens(env, sdk, admin, 3)
    events: list[str] = []
    original = rotation._PostgresBatcher._execute

    async def first_stuck(self: Any, batch: list[Any]) -> Any:
        stuck = not events
        events.append("started")
        if stuck:
            for _ in range(100):  # until another statement has finished, at most 5 s
                await asyncio.sleep(0.05)
                if "finished" in events:
                    break
        found = await original(self, batch)
        events.append("stuck one finished" if stuck else "finished")
        return found

    monkeypatch.setattr(rotation._PostgresBatcher, "_execute", first_stuck)

    batched = database_url.startswith("postgresql")  # SQLite has no statements to share

    def refresh_later(index: int) -> httpx.Response:
        deadline = time.monotonic() + 10
        while index and batched and not events and time.monotonic() < deadline:
            time.sleep(0.005)  # until the first one's statement is running
        return refresh(env, users[index][2])

    with ThreadPoolExecutor(max_workers=3) as pool:
        answers = list(pool.map(refresh_later, range(3)))
    for (email, sid, _), answer in zip(users, answers, strict=True):
        assert answer.status_code == 200, answer.text
        assert answer.json()["user"]["email"] == email
        assert verify(env, answer.json()["access_token"])["sid"] == sid
    if batched:
        assert events.index("finished") < events.index("stuck one finished"), events


def test_a_failed_rotation_changes_nothing(
    env: TestEnvironment,
    sdk: WorkOSClient,
    admin: httpx.Client,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A one-step rotation that fails (a dropped connection, a disk error) leaves none of its
    rows behind: each request takes the full path and is answered as if it had not been tried."""
    import sqlite3

    from authkeep.store import rotation

    users = _user_tokens(env, sdk, admin, 2)
    failed: list[str] = []  # the successors the failed attempt would have stored
    if database_url.startswith("postgresql"):
        execute = rotation._PostgresBatcher._execute

        async def failing_statement(self: Any, batch: list[Any]) -> Any:
            if not failed:
                failed.extend(r.successor_id for r in batch)
                await execute(self, [])  # the connection is used, then the statement "fails"
                raise ConnectionResetError("the connection went away")
            return await execute(self, batch)

        monkeypatch.setattr(rotation._PostgresBatcher, "_execute", failing_statement)
    else:
        rotate = rotation._SqliteRotator._rotate

        def failing_transaction(self: Any, r: Any) -> Any:
            rotated = rotate(self, r)  # every row written, not yet committed
            if not failed and rotated is not None:
                failed.append(r.successor_id)
                raise sqlite3.OperationalError("disk I/O error")
            return rotated

        monkeypatch.setattr(rotation._SqliteRotator, "_rotate", failing_transaction)
    answers = [refresh(env, token) for _, _, token in users]
    assert len(failed) == 1
    for (email, sid, _), answer in zip(users, answers, strict=True):
        assert answer.status_code == 200, answer.text
        assert answer.json()["user"]["email"] == email
        assert verify(env, answer.json()["access_token"])["sid"] == sid
        assert refresh(env, answer.json()["refresh_token"]).status_code == 200

    async def leftovers(session: Any) -> list[str]:
        return list(
            await session.scalars(select(RefreshToken.id).where(RefreshToken.id.in_(failed)))
        )

    assert in_database(database_url, leftovers) == []


def test_a_worker_whose_caches_lapsed_still_refreshes_in_one_step(
    env: TestEnvironment,
    live_server: LiveServer,
    org_session: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every few seconds a worker's client and key caches lapse; the requests that find them so
    load them and still take the one step, not the full path."""
    full_path = authenticate_module().GRANTS["refresh_token"]
    taken: list[str] = []

    async def counted(ctx: Any) -> Any:
        taken.append("full")
        return await full_path(ctx)

    monkeypatch.setitem(authenticate_module().GRANTS, "refresh_token", counted)
    token = org_session["refresh_token"]
    for _ in range(2):
        forget_caches(live_server)
        answer = refresh(env, token)
        assert answer.status_code == 200, answer.text
        claims = verify(env, answer.json()["access_token"])
        assert claims["org_id"] == org_session["organization"] and claims["role"] == "admin"
        token = answer.json()["refresh_token"]
    assert taken == []
    live_server.state.issuer._keys.clear()  # the key alone
    assert refresh(env, token).status_code == 200 and taken == []
