"""Environment B's API key can never see or touch environment A's data: 404, not 403."""

from __future__ import annotations

import httpx
import pytest

from tests.support import LiveServer, TestEnvironment, make_environment


@pytest.fixture
def other(live_server: LiveServer, database_url: str) -> TestEnvironment:
    return make_environment(database_url, live_server.base_url)


def test_other_environment_gets_404_for_everything(
    http: httpx.Client, other: TestEnvironment
) -> None:
    user = http.post(
        "/user_management/users", json={"email": "a@example.com", "external_id": "a-1"}
    ).json()
    org = http.post("/organizations", json={"name": "A", "external_id": "org-a"}).json()
    membership = http.post(
        "/user_management/organization_memberships",
        json={"user_id": user["id"], "organization_id": org["id"]},
    ).json()
    domain = http.post(
        "/organization_domains", json={"domain": "a.test", "organization_id": org["id"]}
    ).json()

    with httpx.Client(
        base_url=other.base_url, headers={"Authorization": f"Bearer {other.api_key}"}
    ) as intruder:
        attempts = [
            ("GET", f"/user_management/users/{user['id']}", None),
            ("PUT", f"/user_management/users/{user['id']}", {"first_name": "Mallory"}),
            ("DELETE", f"/user_management/users/{user['id']}", None),
            ("GET", "/user_management/users/external_id/a-1", None),
            ("GET", f"/organizations/{org['id']}", None),
            ("PUT", f"/organizations/{org['id']}", {"name": "Owned"}),
            ("DELETE", f"/organizations/{org['id']}", None),
            ("GET", "/organizations/external_id/org-a", None),
            ("GET", f"/organization_domains/{domain['id']}", None),
            ("DELETE", f"/organization_domains/{domain['id']}", None),
            ("GET", f"/user_management/organization_memberships/{membership['id']}", None),
            (
                "PUT",
                f"/user_management/organization_memberships/{membership['id']}",
                {"role_slug": "admin"},
            ),
            (
                "PUT",
                f"/user_management/organization_memberships/{membership['id']}/deactivate",
                None,
            ),
            ("DELETE", f"/user_management/organization_memberships/{membership['id']}", None),
            ("GET", f"/authorization/organizations/{org['id']}/roles", None),
            (
                "POST",
                "/user_management/organization_memberships",
                {"user_id": user["id"], "organization_id": org["id"]},
            ),
            ("POST", "/organization_domains", {"domain": "b.test", "organization_id": org["id"]}),
        ]
        for method, path, body in attempts:
            response = intruder.request(method, path, json=body)
            assert response.status_code == 404, (method, path, response.text)
            assert response.json()["code"] == "entity_not_found"

        assert intruder.get("/user_management/users").json()["data"] == []
        assert intruder.get("/organizations").json()["data"] == []
        assert (
            intruder.get("/user_management/users", params={"organization_id": org["id"]}).json()[
                "data"
            ]
            == []
        )
        listed = intruder.get(
            "/user_management/organization_memberships", params={"organization_id": org["id"]}
        )
        assert listed.json()["data"] == []
        # B may reuse A's e-mail and external IDs: uniqueness is per environment.
        assert (
            intruder.post(
                "/user_management/users", json={"email": "a@example.com", "external_id": "a-1"}
            ).status_code
            == 201
        )
        assert (
            intruder.post("/organizations", json={"name": "B", "external_id": "org-a"}).status_code
            == 201
        )

    # A's data is untouched.
    assert http.get(f"/user_management/users/{user['id']}").json()["first_name"] is None
    assert http.get(f"/organizations/{org['id']}").json()["name"] == "A"
    assert (
        http.get(f"/user_management/organization_memberships/{membership['id']}").json()["status"]
        == "active"
    )
