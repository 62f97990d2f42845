"""The notes backend's tests, with real sessions minted by authkeep's pytest plugin.

    authkeep dev --seed authkeep.toml      # in another terminal
    eval "$(authkeep env --framework python | sed 's/^/export /')"
    pytest test_app.py

No part of authentication is replaced: each token is signed by the server and verified by the
app against the server's JWKS, as in production.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from app import create_app
from fastapi.testclient import TestClient

from authkeep.integrations.testing import AuthkeepServer


@pytest.fixture
def client() -> Iterator[TestClient]:
    with TestClient(create_app()) as client:
        yield client


@pytest.fixture
def organization(authkeep_server: AuthkeepServer, authkeep_session: Any) -> str:
    """A new organization where alice is an admin and bob a member."""
    with authkeep_server.http() as http:
        org = http.post("/organizations", json={"name": "Acme"}).json()["id"]
        for email, role in (("alice@acme.test", "admin"), ("bob@acme.test", "member")):
            user_id = authkeep_session(email=email).user_id  # creates the user when new
            membership = {"user_id": user_id, "organization_id": org, "role_slug": role}
            added = http.post("/user_management/organization_memberships", json=membership)
            assert added.status_code == 201, added.text
    return org


def refusal(response: Any) -> str:
    assert response.status_code == 401, response.text
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith('Bearer error="invalid_token", error_description="'), challenge
    return challenge


def test_notes_are_private(authkeep_session: Any, client: TestClient) -> None:
    alice = authkeep_session(email="alice@acme.test").authorization_header()
    bob = authkeep_session(email="bob@acme.test").authorization_header()
    note = client.post("/api/notes", json={"text": "alice's"}, headers=alice).json()
    assert client.get(f"/api/notes/{note['id']}", headers=alice).json()["text"] == "alice's"
    assert client.get(f"/api/notes/{note['id']}", headers=bob).status_code == 404
    assert client.get("/api/notes", headers=bob).json() == []
    assert [n["id"] for n in client.get("/api/notes", headers=alice).json()] == [note["id"]]


def test_organization_admins_review_their_organization(
    authkeep_session: Any, client: TestClient, organization: str
) -> None:
    alice = authkeep_session(email="alice@acme.test", organization_id=organization)
    bob = authkeep_session(email="bob@acme.test", organization_id=organization)
    elsewhere = authkeep_session(email="bob@acme.test").authorization_header()
    note = client.post("/api/notes", json={"text": "q3"}, headers=bob.authorization_header())
    client.post("/api/notes", json={"text": "outside"}, headers=elsewhere)

    reviewed = client.get("/api/admin/notes", headers=alice.authorization_header())
    assert reviewed.status_code == 200, "give the admin role notes:audit (see authkeep.toml)"
    assert [n["text"] for n in reviewed.json()] == ["q3"]
    denied = client.get("/api/admin/notes", headers=bob.authorization_header())
    assert denied.status_code == 403 and "notes:audit" in denied.json()["message"]
    assert denied.headers["www-authenticate"].startswith('Bearer error="insufficient_scope"')
    path = f"/api/admin/notes/{note.json()['id']}"
    assert client.delete(path, headers=bob.authorization_header()).status_code == 403
    assert client.delete(path, headers=alice.authorization_header()).status_code == 204


def test_missing_forged_and_expired_tokens_are_refused(
    authkeep_session: Any, client: TestClient
) -> None:
    assert "no access token" in refusal(client.get("/api/notes"))
    minted = authkeep_session(email="alice@acme.test", ttl=1)
    head, payload, signature = minted.access_token.split(".")
    forged = f"{head}.{payload}.{signature[::-1]}"
    assert "signature" in refusal(client.get("/api/notes", headers=bearer(forged)))
    time.sleep(max(0.0, token_exp(payload) - time.time() + 0.1))
    assert "expired" in refusal(client.get("/api/notes", headers=minted.authorization_header()))


def test_api_keys_read_their_organization_only(
    authkeep_session: Any, organization: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NOTES_API_KEYS", f"sk_test_notes_reader={organization}")
    bob = authkeep_session(email="bob@acme.test", organization_id=organization)
    with TestClient(create_app()) as client:
        client.post("/api/notes", json={"text": "q4"}, headers=bob.authorization_header())
        key = bearer("sk_test_notes_reader")
        assert client.get("/api/me", headers=key).json()["kind"] == "api_key"
        assert [n["text"] for n in client.get("/api/admin/notes", headers=key).json()] == ["q4"]
        assert client.get("/api/notes", headers=key).status_code == 403
        assert client.delete("/api/admin/notes/note_1", headers=key).status_code == 403
        unknown = client.get("/api/me", headers=bearer("sk_test_unknown"))
        assert unknown.status_code == 401 and unknown.json()["code"] == "invalid_api_key"


def bearer(credential: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {credential}"}


def token_exp(payload: str) -> float:
    return float(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["exp"])
