"""A FastAPI backend that trusts authkeep (or WorkOS) access tokens, and a few API keys.

    uvicorn --factory app:create_app --port 8000

* Every `/api/` route needs `Authorization: Bearer <access token>`, verified locally against the
  server's cached JWKS (`require_bearer`); a refusal is a 401 whose `WWW-Authenticate` names the
  problem (no token, expired, bad signature, another client's token, ...).
* Notes belong to the user who wrote them: one user never sees another's (404, not 403, so IDs
  do not leak).
* Organization admins review the notes written in their current organization: `notes:audit`
  (a permission of the `admin` role, see authkeep.toml) for reading, the `admin` role for
  deleting.
* `sk_` API keys, for machine callers: `NOTES_API_KEYS="sk_...=org_...,..."` maps each key to its
  organization. Such a key holds `notes:audit` for that organization and nothing else.
  authkeep has no `POST /api_keys/validations` yet, so the keys are checked here; with WorkOS,
  `AsyncAuthKit(api_key_validator=True)` asks the server instead.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException
from pydantic import BaseModel, Field

from authkeep.integrations import (
    AccessTokenClaims,
    ApiKey,
    ApiKeyValidator,
    AsyncAuthKit,
    Principal,
)
from authkeep.integrations.starlette import (
    AuthKitMiddleware,
    require_bearer,
    require_permission,
    require_role,
)

AUDIT = "notes:audit"
Caller = Annotated[AccessTokenClaims | ApiKey, Depends(require_bearer)]
Auditor = Annotated[Principal, Depends(require_permission(AUDIT))]
Admin = Annotated[Principal, Depends(require_role("admin"))]


@dataclass
class Note:
    id: str
    owner_id: str
    organization_id: str | None
    text: str


class NewNote(BaseModel):
    text: str = Field(min_length=1, max_length=10_000)


class Notes:
    """The app's data; a dict here, a database table in a real app."""

    def __init__(self) -> None:
        self.rows: dict[str, Note] = {}
        self._ids = itertools.count(1)

    def add(self, owner_id: str, organization_id: str | None, text: str) -> Note:
        note = Note(f"note_{next(self._ids)}", owner_id, organization_id, text)
        self.rows[note.id] = note
        return note

    def of_owner(self, owner_id: str) -> list[Note]:
        return [note for note in self.rows.values() if note.owner_id == owner_id]

    def in_organization(self, organization_id: str | None) -> list[Note]:
        if organization_id is None:
            return []
        return [n for n in self.rows.values() if n.organization_id == organization_id]


def api_keys_from(spec: str) -> ApiKeyValidator:
    """A validator for `sk_a=org_1,sk_b=org_2`: each key belongs to its organization."""
    keys: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        key, _, organization_id = item.partition("=")
        if not key.startswith("sk_") or not organization_id:
            raise ValueError(f"NOTES_API_KEYS: {key[:6]}... is not sk_<key>=<organization ID>")
        keys[key] = organization_id

    def validate(value: str) -> ApiKey | None:
        for key, organization_id in keys.items():
            if hmac.compare_digest(key.encode(), value.encode()):
                key_id = "key_" + hashlib.sha256(key.encode()).hexdigest()[:16]
                owner = {"type": "organization", "id": organization_id}
                return ApiKey(key_id, "notes reader", organization_id, (AUDIT,), owner)
        return None

    return validate


def create_app(
    authkit: AsyncAuthKit | None = None, environ: Mapping[str, str] | None = None
) -> FastAPI:
    """The app, configured by the WORKOS_* variables (or the `authkit` given) and
    `NOTES_API_KEYS`."""
    env = os.environ if environ is None else environ
    if authkit is None:
        api_only: dict[str, Any] = {}  # no sign-in pages here: no callback and no cookie
        if not env.get("WORKOS_REDIRECT_URI"):
            api_only["redirect_uri"] = "http://localhost:8000/unused"
        if not env.get("WORKOS_COOKIE_PASSWORD"):
            api_only["cookie_password"] = os.urandom(24).hex()
        authkit = AsyncAuthKit(
            api_key_validator=api_keys_from(env.get("NOTES_API_KEYS", "")), **api_only
        )
    notes = Notes()
    app = FastAPI(title="notes")
    app.add_middleware(AuthKitMiddleware, authkit=authkit)

    @app.get("/healthz")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/api/me")
    async def me(caller: Caller) -> dict[str, Any]:
        kind = "api_key" if isinstance(caller, ApiKey) else "access_token"
        return {
            "kind": kind,
            "user_id": caller.user_id,
            "organization_id": caller.organization_id,
            "role": caller.role,
            "permissions": list(caller.permissions),
        }

    def user_of(caller: AccessTokenClaims | ApiKey) -> str:
        if caller.user_id is None:
            raise HTTPException(403, "an API key has no notes of its own: see /api/admin/notes")
        return caller.user_id

    @app.post("/api/notes", status_code=201)
    async def write(body: NewNote, caller: Caller) -> dict[str, Any]:
        return asdict(notes.add(user_of(caller), caller.organization_id, body.text))

    @app.get("/api/notes")
    async def mine(caller: Caller) -> list[dict[str, Any]]:
        return [asdict(note) for note in notes.of_owner(user_of(caller))]

    @app.get("/api/notes/{note_id}")
    async def read(note_id: str, caller: Caller) -> dict[str, Any]:
        note = notes.rows.get(note_id)
        if note is None or note.owner_id != user_of(caller):
            raise HTTPException(404, "no such note")
        return asdict(note)

    @app.get("/api/admin/notes")
    async def audit(who: Auditor) -> list[dict[str, Any]]:
        return [asdict(note) for note in notes.in_organization(who.organization_id)]

    @app.delete("/api/admin/notes/{note_id}", status_code=204)
    async def remove(note_id: str, who: Admin) -> None:
        note = notes.rows.get(note_id)
        if note is None or note.organization_id != who.organization_id:
            raise HTTPException(404, "no such note in your organization")
        del notes.rows[note_id]

    return app
