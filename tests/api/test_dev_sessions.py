"""`POST /_authkeep/dev/sessions` and `GET /_authkeep/environment` on a live server: minted
tokens verify against the JWKS with the membership's claims, refresh through the token endpoint,
and seal as authkit-nextjs cookies; production environments refuse."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from workos import WorkOSClient

from authkeep.integrations.sealing import unseal_data
from authkeep.integrations.verifier import TokenVerifier
from tests import support

COOKIE_PASSWORD = "a-cookie-password-of-at-least-32-characters"


def member(http: httpx.Client, email: str, role: str | None = None) -> tuple[str, str]:
    user = http.post("/user_management/users", json={"email": email}).json()["id"]
    org = http.post("/organizations", json={"name": "Acme"}).json()["id"]
    body = {"user_id": user, "organization_id": org} | ({"role_slug": role} if role else {})
    assert http.post("/user_management/organization_memberships", json=body).status_code == 201
    return user, org


def mint(http: httpx.Client, **fields: Any) -> httpx.Response:
    return http.post("/_authkeep/dev/sessions", json=fields)


def test_minted_session_verifies_refreshes_and_seals(
    http: httpx.Client, environment: support.TestEnvironment, workos: WorkOSClient
) -> None:
    user, org = member(http, "mint@example.com", role="admin")
    response = mint(
        http, email="MINT@example.com", organization_id=org, cookie_password=COOKIE_PASSWORD
    )
    assert response.status_code == 201, response.text
    minted = response.json()
    assert minted["user"]["id"] == user and minted["organization_id"] == org

    verifier = TokenVerifier(base_url=environment.base_url, client_id=environment.client_id)
    claims = verifier.verify(minted["access_token"])
    assert claims.user_id == user and claims.session_id == minted["session_id"]
    assert claims.organization_id == org and claims.role == "admin"
    assert claims.roles == ("admin",) and claims.permissions == ()
    assert claims.raw["exp"] - claims.raw["iat"] == 300

    sealed = unseal_data(minted["sealed_session"], COOKIE_PASSWORD)
    assert sealed["accessToken"] == minted["access_token"]
    assert sealed["refreshToken"] == minted["refresh_token"]
    assert sealed["user"]["id"] == user and sealed["user"]["email"] == "mint@example.com"
    assert sealed["organizationId"] == org

    refreshed = workos.user_management.authenticate_with_refresh_token(
        refresh_token=minted["refresh_token"]
    )
    assert refreshed.user.id == user and refreshed.organization_id == org
    assert verifier.verify(refreshed.access_token).session_id == minted["session_id"]

    # The session is real: the API lists it.
    sessions = workos.user_management.list_sessions(user).data
    assert [s.id for s in sessions] == [minted["session_id"]]


def test_role_overrides_the_token_only_and_ttl_sets_the_lifetime(
    http: httpx.Client, environment: support.TestEnvironment, workos: WorkOSClient
) -> None:
    user, org = member(http, "role@example.com")
    minted = mint(http, user_id=user, organization_id=org, role_slug="admin", access_token_ttl=60)
    assert minted.status_code == 201, minted.text
    verifier = TokenVerifier(base_url=environment.base_url, client_id=environment.client_id)
    claims = verifier.verify(minted.json()["access_token"])
    assert claims.role == "admin" and claims.raw["exp"] - claims.raw["iat"] == 60
    # A refresh reads the membership again: its role is still `member`.
    refreshed = workos.user_management.authenticate_with_refresh_token(
        refresh_token=minted.json()["refresh_token"]
    )
    assert verifier.verify(refreshed.access_token).role == "member"

    plain = mint(http, user_id=user).json()
    assert "org_id" not in verifier.verify(plain["access_token"]).raw
    assert plain["organization_id"] is None and "sealed_session" not in plain


@pytest.mark.parametrize(
    ("fields", "status", "code"),
    [
        ({}, 422, "invalid_request_parameters"),
        ({"email": "nobody@example.com"}, 422, "user_not_found"),
        ({"user_id": "user_01HZZZZZZZZZZZZZZZZZZZZZZZ"}, 404, "entity_not_found"),
        ({"role_slug": "admin"}, 422, "invalid_request_parameters"),
        ({"organization_id": "OTHER"}, 422, "organization_membership_not_found"),
        ({"organization_id": "ORG", "role_slug": "owner"}, 422, "invalid_role"),
        ({"access_token_ttl": 0}, 422, "invalid_request_parameters"),
        ({"access_token_ttl": "60"}, 422, "invalid_request_parameters"),
        ({"cookie_password": "short"}, 422, "invalid_request_parameters"),
        ({"surprise": True}, 422, "invalid_request_parameters"),
    ],
)
def test_bad_input_gets_workos_errors(
    http: httpx.Client, fields: dict[str, Any], status: int, code: str
) -> None:
    user, org = member(http, "bad@example.com")
    other = http.post("/organizations", json={"name": "Other"}).json()["id"]
    body = {"user_id": user} | fields
    if body.get("organization_id") == "ORG":
        body["organization_id"] = org
    if body.get("organization_id") == "OTHER":
        body["organization_id"] = other
    if "email" in fields:
        del body["user_id"]
    if not fields:
        body = {}
    response = mint(http, **body)
    assert response.status_code == status, response.text
    assert response.json()["code"] == code and response.json()["message"]


def test_production_environments_do_not_mint(
    live_server: support.LiveServer, database_url: str
) -> None:
    production = support.make_environment(database_url, live_server.base_url, kind="production")
    headers = {"Authorization": f"Bearer {production.api_key}"}
    with httpx.Client(base_url=production.base_url, headers=headers) as http:
        user = http.post("/user_management/users", json={"email": "p@example.com"}).json()["id"]
        response = mint(http, user_id=user)
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"
        assert "only for development environments" in response.json()["message"]
        info = http.get("/_authkeep/environment").json()
    assert info["kind"] == "production" and info["client_id"] == production.client_id
    assert info["issuer"] == f"{production.base_url}/user_management/{production.client_id}"


def test_environment_info_and_api_key_required(
    http: httpx.Client, environment: support.TestEnvironment
) -> None:
    info = http.get("/_authkeep/environment").json()
    assert info["id"] == environment.environment_id and info["kind"] == "development"
    anonymous = httpx.post(f"{environment.base_url}/_authkeep/dev/sessions", json={})
    assert anonymous.status_code == 401 and anonymous.json()["code"] == "unauthorized"
