"""Users through the official `workos` Python SDK against a live server (CONTRACT.md §6.1)."""

from __future__ import annotations

import httpx
import pytest
from workos import WorkOSClient
from workos._errors import BadRequestError, NotFoundError
from workos.user_management._resource import PasswordPlaintext


def test_create_get_update_delete_user(workos: WorkOSClient) -> None:
    created = workos.user_management.create_user(
        email="Ada@Example.com",
        first_name="Ada",
        last_name="Lovelace",
        email_verified=True,
        external_id="ext-ada",
        metadata={"team": "engines"},
        password=PasswordPlaintext(password="correct horse battery"),
    )
    assert created.id.startswith("user_")
    assert created.email == "Ada@Example.com"
    assert created.email_verified is True
    assert created.metadata == {"team": "engines"}

    fetched = workos.user_management.get_user(created.id)
    assert fetched.id == created.id and fetched.first_name == "Ada"
    by_external = workos.user_management.get_user_by_external_id("ext-ada")
    assert by_external.id == created.id

    updated = workos.user_management.update_user(
        created.id, first_name="Augusta", metadata={"team": "analytical", "lang": "en"}
    )
    assert updated.first_name == "Augusta"
    assert updated.last_name == "Lovelace"  # omitted fields stay as they were
    assert updated.metadata == {"team": "analytical", "lang": "en"}
    assert updated.updated_at >= created.updated_at

    workos.user_management.delete_user(created.id)
    with pytest.raises(NotFoundError) as raised:
        workos.user_management.get_user(created.id)
    assert raised.value.code == "entity_not_found"


def test_metadata_merges_key_by_key(http: httpx.Client) -> None:
    user = http.post(
        "/user_management/users", json={"email": "m@example.com", "metadata": {"a": "1", "b": "2"}}
    ).json()
    response = http.put(
        f"/user_management/users/{user['id']}", json={"metadata": {"a": None, "c": "3"}}
    )
    assert response.status_code == 200
    assert response.json()["metadata"] == {"b": "2", "c": "3"}
    cleared = http.put(f"/user_management/users/{user['id']}", json={"metadata": None}).json()
    assert cleared["metadata"] == {}


def test_list_users_pages_both_directions(workos: WorkOSClient) -> None:
    ids = [
        workos.user_management.create_user(email=f"user{i:02d}@example.com").id for i in range(7)
    ]
    newest_first = list(reversed(ids))

    first = workos.user_management.list_users(limit=3)
    assert [u.id for u in first.data] == newest_first[:3]
    assert first.list_metadata.before is None
    assert first.list_metadata.after == newest_first[2]

    second = workos.user_management.list_users(limit=3, after=first.list_metadata.after)
    assert [u.id for u in second.data] == newest_first[3:6]
    assert second.list_metadata.before == newest_first[3]

    back = workos.user_management.list_users(limit=3, before=second.list_metadata.before)
    assert [u.id for u in back.data] == newest_first[:3]
    assert back.list_metadata.before is None

    last = workos.user_management.list_users(limit=3, after=second.list_metadata.after)
    assert [u.id for u in last.data] == newest_first[6:]
    assert last.list_metadata.after is None

    everyone = [u.id for u in workos.user_management.list_users(limit=2).auto_paging_iter()]
    assert everyone == newest_first

    ascending = workos.user_management.list_users(limit=4, order="asc")
    assert [u.id for u in ascending.data] == ids[:4]
    rest = workos.user_management.list_users(
        limit=4, order="asc", after=ascending.list_metadata.after
    )
    assert [u.id for u in rest.data] == ids[4:]


def test_list_users_filters(workos: WorkOSClient) -> None:
    alice = workos.user_management.create_user(email="alice@example.com")
    bob = workos.user_management.create_user(email="bob@example.com")
    org = workos.organizations.create_organization(name="Filters Inc")
    workos.organization_membership.create_organization_membership(
        user_id=bob.id, organization_id=org.id
    )
    assert [u.id for u in workos.user_management.list_users(email="ALICE@example.com").data] == [
        alice.id
    ]
    assert [u.id for u in workos.user_management.list_users(organization_id=org.id).data] == [
        bob.id
    ]


def test_duplicate_email_is_rejected_case_insensitively(workos: WorkOSClient) -> None:
    workos.user_management.create_user(email="dup@example.com")
    with pytest.raises(BadRequestError) as raised:
        workos.user_management.create_user(email="DUP@example.com")
    assert raised.value.code == "user_creation_error"


def test_idempotency_key_replays_the_first_result(http: httpx.Client) -> None:
    headers = {"Idempotency-Key": "create-once-1"}
    body = {"email": "once@example.com"}
    first = http.post("/user_management/users", json=body, headers=headers)
    again = http.post("/user_management/users", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert (
        len(http.get("/user_management/users", params={"email": "once@example.com"}).json()["data"])
        == 1
    )
    other = http.post("/user_management/users", json={"email": "x@example.com"}, headers=headers)
    assert other.status_code == 409
    assert other.json()["code"] == "idempotency_key_reused"


def test_password_is_hashed_with_argon2id(http: httpx.Client, database_url: str) -> None:
    from sqlalchemy import select

    from authkeep.store.db import create_engine, session_factory
    from authkeep.store.models import User
    from tests.support import run

    user = http.post(
        "/user_management/users", json={"email": "pw@example.com", "password": "a long passphrase"}
    ).json()

    async def stored_hash() -> str | None:
        engine = create_engine(database_url, pool_size=1)
        try:
            async with session_factory(engine)() as session:
                return await session.scalar(select(User.password_hash).where(User.id == user["id"]))
        finally:
            await engine.dispose()

    password_hash = run(stored_hash())
    assert password_hash is not None and password_hash.startswith("$argon2id$")
    assert "a long passphrase" not in password_hash


def test_concurrent_retries_with_one_idempotency_key_create_one_user(
    http: httpx.Client, environment
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    def post(_: int) -> httpx.Response:
        with httpx.Client(base_url=environment.base_url, timeout=20) as client:
            return client.post(
                "/user_management/users",
                json={"email": "racer@example.com"},
                headers={
                    "Authorization": f"Bearer {environment.api_key}",
                    "Idempotency-Key": "race-1",
                },
            )

    with ThreadPoolExecutor(max_workers=6) as pool:
        responses = list(pool.map(post, range(6)))
    assert {r.status_code for r in responses} <= {201, 429}, [r.text for r in responses]
    created = [r.json() for r in responses if r.status_code == 201]
    assert created and all(body == created[0] for body in created)
    listed = http.get("/user_management/users", params={"email": "racer@example.com"}).json()[
        "data"
    ]
    assert [u["id"] for u in listed] == [created[0]["id"]]
