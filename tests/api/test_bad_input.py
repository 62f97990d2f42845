"""Bad input gets the contract's status and WorkOS error body, loses nothing, and never a 500."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from tests.support import LiveServer, TestEnvironment, make_environment


@dataclass
class Case:
    name: str
    method: str
    path: str
    status: int
    code: str
    json: Any = None
    content: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    auth: str = "valid"  # valid | missing | invalid | revoked | malformed | other-env
    error_field: str | None = None


UNKNOWN_USER = "user_01HZZZZZZZZZZZZZZZZZZZZZZZ"
CASES = [
    Case(
        "malformed json",
        "POST",
        "/user_management/users",
        422,
        "invalid_request_parameters",
        content=b'{"email": "a@b.c",',
    ),
    Case(
        "json array body",
        "POST",
        "/organizations",
        422,
        "invalid_request_parameters",
        content=b'["Acme"]',
    ),
    Case(
        "not utf-8",
        "POST",
        "/organizations",
        422,
        "invalid_request_parameters",
        content=b'{"name": "\xff"}',
    ),
    Case(
        "form body",
        "POST",
        "/organizations",
        415,
        "unsupported_media_type",
        content=b"name=Acme",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    ),
    Case(
        "missing email",
        "POST",
        "/user_management/users",
        422,
        "invalid_request_parameters",
        json={"first_name": "A"},
        error_field="email",
    ),
    Case(
        "email wrong type",
        "POST",
        "/user_management/users",
        422,
        "invalid_request_parameters",
        json={"email": 42},
        error_field="email",
    ),
    Case(
        "bool as string",
        "POST",
        "/user_management/users",
        422,
        "invalid_request_parameters",
        json={"email": "t@example.com", "email_verified": "yes"},
        error_field="email_verified",
    ),
    Case(
        "metadata value not string",
        "POST",
        "/organizations",
        422,
        "invalid_request_parameters",
        json={"name": "A", "metadata": {"a": 1}},
        error_field="metadata.a",
    ),
    Case(
        "unknown field",
        "POST",
        "/user_management/users",
        422,
        "invalid_request_parameters",
        json={"email": "u@example.com", "frist_name": "A"},
        error_field="frist_name",
    ),
    Case(
        "unknown field on update",
        "PUT",
        "/organizations/{org}",
        422,
        "invalid_request_parameters",
        json={"nmae": "B"},
        error_field="nmae",
    ),
    Case(
        "invalid email",
        "POST",
        "/user_management/users",
        422,
        "invalid_request_parameters",
        json={"email": "not-an-email"},
        error_field="email",
    ),
    Case(
        "email with space",
        "POST",
        "/user_management/users",
        422,
        "invalid_request_parameters",
        json={"email": "a b@example.com"},
        error_field="email",
    ),
    Case(
        "invalid email on update",
        "PUT",
        "/user_management/users/{user}",
        422,
        "invalid_request_parameters",
        json={"email": "@example.com"},
        error_field="email",
    ),
    Case(
        "duplicate email",
        "POST",
        "/user_management/users",
        400,
        "user_creation_error",
        json={"email": "Taken@Example.com"},
    ),
    Case(
        "duplicate email on update",
        "PUT",
        "/user_management/users/{other_user}",
        400,
        "email_not_available",
        json={"email": "taken@example.com"},
    ),
    Case(
        "duplicate external id",
        "POST",
        "/user_management/users",
        400,
        "user_creation_error",
        json={"email": "n@example.com", "external_id": "taken-ext"},
    ),
    Case(
        "too many metadata keys",
        "POST",
        "/organizations",
        400,
        "invalid_metadata",
        json={"name": "A", "metadata": {f"k{i}": "v" for i in range(51)}},
    ),
    Case(
        "weak password",
        "POST",
        "/user_management/users",
        400,
        "password_strength_error",
        json={"email": "w@example.com", "password": "short"},
    ),
    Case(
        "password and hash",
        "POST",
        "/user_management/users",
        400,
        "password_and_password_hash_provided",
        json={
            "email": "h@example.com",
            "password": "long enough pw",
            "password_hash": "$2b$x",
            "password_hash_type": "bcrypt",
        },
    ),
    Case(
        "bad domain",
        "POST",
        "/organizations",
        422,
        "invalid_request_parameters",
        json={"name": "A", "domains": ["not a domain"]},
    ),
    Case(
        "empty organization name",
        "POST",
        "/organizations",
        422,
        "invalid_request_parameters",
        json={"name": ""},
        error_field="name",
    ),
    Case(
        "body over 1 MiB",
        "POST",
        "/user_management/users",
        413,
        "payload_too_large",
        content=b'{"email":"' + b"a" * (1024 * 1024) + b'@example.com"}',
    ),
    Case(
        "limit zero",
        "GET",
        "/user_management/users",
        422,
        "invalid_request_parameters",
        params={"limit": "0"},
        error_field="limit",
    ),
    Case(
        "limit too big",
        "GET",
        "/user_management/users",
        422,
        "invalid_request_parameters",
        params={"limit": "101"},
        error_field="limit",
    ),
    Case(
        "limit not a number",
        "GET",
        "/organizations",
        422,
        "invalid_request_parameters",
        params={"limit": "ten"},
        error_field="limit",
    ),
    Case(
        "bad order",
        "GET",
        "/user_management/users",
        422,
        "invalid_request_parameters",
        params={"order": "sideways"},
        error_field="order",
    ),
    Case(
        "cursor garbage",
        "GET",
        "/user_management/users",
        422,
        "invalid_request_parameters",
        params={"after": "'; drop table users; --"},
        error_field="after",
    ),
    Case(
        "cursor of another type",
        "GET",
        "/user_management/users",
        422,
        "invalid_request_parameters",
        params={"before": "org_01HZZZZZZZZZZZZZZZZZZZZZZZ"},
        error_field="before",
    ),
    Case(
        "membership list without filter",
        "GET",
        "/user_management/organization_memberships",
        400,
        "missing_user_id_or_organization_id",
    ),
    Case(
        "membership bad status",
        "GET",
        "/user_management/organization_memberships",
        422,
        "invalid_request_parameters",
        params={"user_id": UNKNOWN_USER, "statuses": "active,gone"},
    ),
    Case("unknown user", "GET", f"/user_management/users/{UNKNOWN_USER}", 404, "entity_not_found"),
    Case("unknown id shape", "GET", "/user_management/users/../../etc", 404, "not_found"),
    Case(
        "unknown organization",
        "PUT",
        "/organizations/org_01HZZZZZZZZZZZZZZZZZZZZZZZ",
        404,
        "entity_not_found",
        json={"name": "X"},
    ),
    Case("unknown external id", "GET", "/organizations/external_id/nope", 404, "entity_not_found"),
    Case(
        "membership for unknown user",
        "POST",
        "/user_management/organization_memberships",
        404,
        "entity_not_found",
        json={"user_id": UNKNOWN_USER, "organization_id": "{org}"},
    ),
    Case(
        "membership with unknown role",
        "POST",
        "/user_management/organization_memberships",
        422,
        "invalid_role",
        json={"user_id": "{user}", "organization_id": "{org}", "role_slug": "root"},
    ),
    Case(
        "role_slug and role_slugs",
        "POST",
        "/user_management/organization_memberships",
        422,
        "invalid_request_parameters",
        json={
            "user_id": "{user}",
            "organization_id": "{org}",
            "role_slug": "admin",
            "role_slugs": ["admin"],
        },
    ),
    Case(
        "user of another environment",
        "GET",
        "/user_management/users/{foreign_user}",
        404,
        "entity_not_found",
    ),
    Case(
        "membership with foreign org",
        "POST",
        "/user_management/organization_memberships",
        404,
        "entity_not_found",
        json={"user_id": "{user}", "organization_id": "{foreign_org}"},
    ),
    Case("missing api key", "GET", "/user_management/users", 401, "unauthorized", auth="missing"),
    Case("invalid api key", "GET", "/user_management/users", 401, "unauthorized", auth="invalid"),
    Case("malformed authorization", "GET", "/organizations", 401, "unauthorized", auth="malformed"),
    Case("revoked api key", "GET", "/user_management/users", 401, "unauthorized", auth="revoked"),
    Case(
        "duplicate cors origin",
        "POST",
        "/user_management/cors_origins",
        409,
        "duplicate_cors_origin",
        json={"origin": "https://App.example.com"},
    ),
    Case(
        "cors origin with path",
        "POST",
        "/user_management/cors_origins",
        422,
        "invalid_request_parameters",
        json={"origin": "https://app.example.com/path"},
    ),
    Case(
        "redirect uri not a url",
        "POST",
        "/user_management/redirect_uris",
        422,
        "invalid_request_parameters",
        json={"uri": "callback"},
    ),
    Case(
        "redirect uri wildcard",
        "POST",
        "/user_management/redirect_uris",
        422,
        "invalid_request_parameters",
        json={"uri": "https://*.example.com/cb"},
    ),
    Case(
        "unknown redirect uri",
        "DELETE",
        "/user_management/redirect_uris/redir_01HZZZZZZZZZZZZZZZZZZZZZZZ",
        404,
        "entity_not_found",
    ),
    Case(
        "jwks of unknown client",
        "GET",
        "/sso/jwks/client_01HZZZZZZZZZZZZZZZZZZZZZZZ",
        404,
        "entity_not_found",
        auth="missing",
    ),
    Case("method not allowed", "PATCH", "/user_management/users", 405, "method_not_allowed"),
    Case("unknown endpoint", "GET", "/user_management/nothing_here", 404, "not_found"),
]


@pytest.fixture
def world(
    http: httpx.Client, live_server: LiveServer, database_url: str, environment: TestEnvironment
) -> dict[str, Any]:
    user = http.post(
        "/user_management/users", json={"email": "taken@example.com", "external_id": "taken-ext"}
    ).json()
    other_user = http.post("/user_management/users", json={"email": "other@example.com"}).json()
    org = http.post("/organizations", json={"name": "Org"}).json()
    http.post("/user_management/cors_origins", json={"origin": "https://app.example.com"})
    foreign = make_environment(database_url, live_server.base_url)
    with httpx.Client(
        base_url=foreign.base_url, headers={"Authorization": f"Bearer {foreign.api_key}"}
    ) as client:
        foreign_user = client.post("/user_management/users", json={"email": "f@example.com"}).json()
        foreign_org = client.post("/organizations", json={"name": "Foreign"}).json()
    revoked = _revoked_key(database_url, environment)
    return {
        "user": user["id"],
        "other_user": other_user["id"],
        "org": org["id"],
        "foreign_user": foreign_user["id"],
        "foreign_org": foreign_org["id"],
        "revoked": revoked,
    }


def _revoked_key(database_url: str, environment: TestEnvironment) -> str:
    from authkeep.services.environments import (
        create_api_key,
        get_environment_by_name,
        revoke_api_key,
    )
    from authkeep.store.db import create_engine, session_factory
    from tests.support import run

    async def go() -> str:
        engine = create_engine(database_url, pool_size=1)
        try:
            async with session_factory(engine)() as session:
                env = await get_environment_by_name(session, environment.name)
                row, secret = await create_api_key(session, env, "to revoke")
                await revoke_api_key(session, row.id)
                await session.commit()
                return secret
        finally:
            await engine.dispose()

    return run(go())


def _fill(value: Any, world: dict[str, Any]) -> Any:
    if isinstance(value, str):
        return (
            value.format(**world)
            if "{" in value and "}" in value and not value.startswith('{"')
            else value
        )
    if isinstance(value, dict):
        return {k: _fill(v, world) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, world) for v in value]
    return value


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input(case: Case, world: dict[str, Any], environment: TestEnvironment) -> None:
    headers = {"Content-Type": "application/json", **case.headers}
    headers["Authorization"] = {
        "valid": f"Bearer {environment.api_key}",
        "invalid": "Bearer sk_test_not_a_real_key",
        "revoked": f"Bearer {world['revoked']}",
        "malformed": f"Basic {environment.api_key}",
        "missing": "",
    }[case.auth]
    if not headers["Authorization"]:
        del headers["Authorization"]
    content = case.content
    if case.json is not None:
        import json

        content = json.dumps(_fill(case.json, world)).encode()
    with httpx.Client(base_url=environment.base_url, timeout=10) as client:
        before_users = client.get(
            "/user_management/users",
            params={"limit": "100"},
            headers={"Authorization": f"Bearer {environment.api_key}"},
        ).json()
        response = client.request(
            case.method,
            _fill(case.path, world),
            content=content,
            headers=headers,
            params=case.params,
        )
        after_users = client.get(
            "/user_management/users",
            params={"limit": "100"},
            headers={"Authorization": f"Bearer {environment.api_key}"},
        ).json()
    assert response.status_code == case.status, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers.get("x-request-id")
    body = response.json()
    assert body["code"] == case.code, body
    assert isinstance(body["message"], str) and body["message"]
    if case.error_field is not None:
        assert case.error_field in [e["field"] for e in body["errors"]], body
    # Nothing changed and nothing was lost.
    assert after_users == before_users
