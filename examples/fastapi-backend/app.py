"""A FastAPI backend that trusts authkeep (or WorkOS) access tokens, and a few API keys; and a
small browser face over the same notes.

    uvicorn --factory app:create_app --port 8000   # the redirect URI is http://localhost:8000/callback

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
* In a browser: `/` signs people in through the hosted pages (the sign-in routes `/login`,
  `/sign-up`, `/callback`, `/logout` and `/switch-organization` are mounted at the root), and
  `/notes` shows the person's notes, their organization and role, a switcher between their
  organizations, and, with `notes:audit`, the organization's notes. The session lives in the
  `wos-session` cookie and is refreshed when its access token is due.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from html import escape
from typing import Annotated, Any
from urllib.parse import parse_qs, urlencode

import httpx
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel, Field

from authkeep.integrations import (
    AccessTokenClaims,
    ApiKey,
    ApiKeyValidator,
    AsyncAuthKit,
    AuthSession,
    Principal,
)
from authkeep.integrations.starlette import (
    AuthKitMiddleware,
    auth_router,
    current_session,
    require_bearer,
    require_permission,
    require_role,
    require_user,
)

AUDIT = "notes:audit"
Caller = Annotated[AccessTokenClaims | ApiKey, Depends(require_bearer)]
Auditor = Annotated[Principal, Depends(require_permission(AUDIT))]
Admin = Annotated[Principal, Depends(require_role("admin"))]
Visitor = Annotated[AuthSession | None, Depends(current_session)]
SignedIn = Annotated[AuthSession, Depends(require_user)]
MAX_NOTE = 10_000

STYLE = """
body{font:16px/1.5 system-ui,sans-serif;margin:0;background:#f5f6fa;color:#1f2430}
header{display:flex;align-items:center;gap:1rem;padding:.8rem 2rem;background:#1f2430;color:#fff}
header strong{flex:1}main{max-width:46rem;margin:2rem auto;padding:0 1rem}
.card{background:#fff;border-radius:10px;padding:1.2rem 1.5rem;margin-bottom:1rem;
box-shadow:0 1px 3px #0002}button,.button{font:inherit;border:0;border-radius:6px;
padding:.45rem 1rem;background:#4f46e5;color:#fff;cursor:pointer;text-decoration:none}
header button{background:#fff2}select{font:inherit;padding:.35rem}.muted{color:#667}
.badge{font-size:.8rem;background:#e0e7ff;color:#3730a3;border-radius:99px;padding:.1rem .6rem}
form{display:inline}textarea{font:inherit;width:100%;box-sizing:border-box;padding:.5rem;
border:1px solid #ccd;border-radius:6px;margin-bottom:.5rem}ul{padding-left:1.2rem}
"""


@dataclass
class Note:
    id: str
    owner_id: str
    organization_id: str | None
    text: str


class NewNote(BaseModel):
    text: str = Field(min_length=1, max_length=MAX_NOTE)


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
        defaults: dict[str, Any] = {}  # enough for the API; the pages want both variables set
        if not env.get("WORKOS_REDIRECT_URI"):
            defaults["redirect_uri"] = "http://localhost:8000/callback"
        if not env.get("WORKOS_COOKIE_PASSWORD"):  # sessions then end when the process does
            defaults["cookie_password"] = os.urandom(24).hex()
        authkit = AsyncAuthKit(
            api_key_validator=api_keys_from(env.get("NOTES_API_KEYS", "")), **defaults
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

    add_pages(app, authkit, notes)
    # Last: the mount at the root answers every path the routes above do not.
    app.mount("/", auth_router(sign_out_return_to="/"))
    return app


def add_pages(app: FastAPI, authkit: AsyncAuthKit, notes: Notes) -> None:
    """The browser face: a home page, and `/notes` for the signed-in person (session cookie)."""

    async def organizations(user_id: str) -> list[dict[str, Any]]:
        """The person's organizations, from the server's API (needs WORKOS_API_KEY)."""
        if not authkit.config.api_key:
            return []
        async with httpx.AsyncClient(timeout=10) as http:
            response = await http.get(
                f"{authkit.config.base_url}/user_management/organization_memberships",
                params={"user_id": user_id},
                headers={"Authorization": f"Bearer {authkit.config.api_key}"},
            )
        return list(response.json().get("data", [])) if response.status_code == 200 else []

    def page(title: str, body: str, session: AuthSession | None) -> HTMLResponse:
        account = ""
        if session is not None:
            who = escape(str(session.user.get("email", "")))
            account = (
                f'<span id="email">{who}</span><form method="post" action="/logout">'
                '<button id="sign-out">Sign out</button></form>'
            )
        return HTMLResponse(
            '<!doctype html><html lang="en"><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width"><title>{escape(title)}</title>'
            f"<style>{STYLE}</style><header><strong>Notes</strong>{account}</header>"
            f"<main><h1>{escape(title)}</h1>{body}</main></html>",
            headers={"Cache-Control": "no-store"},
        )

    def note_list(rows: list[Note], list_id: str, empty: str) -> str:
        if not rows:
            return f'<p class="muted" id="{list_id}">{empty}</p>'
        items = "".join(f"<li>{escape(note.text)}</li>" for note in rows)
        return f'<ul id="{list_id}">{items}</ul>'

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def home(session: Visitor) -> HTMLResponse:
        if session is None:
            sign_in = "/login?" + urlencode({"return_to": "/notes"})
            return page(
                "Your notes",
                '<div class="card"><p>Sign in to write notes; the same notes are at '
                "<code>/api/notes</code> for apps that call with an access token.</p>"
                f'<a class="button" id="sign-in" href="{escape(sign_in)}">Sign in</a></div>',
                None,
            )
        return page(
            "Welcome back",
            '<div class="card"><a class="button" href="/notes">Your notes</a></div>',
            session,
        )

    @app.get("/notes", response_class=HTMLResponse, include_in_schema=False)
    async def notes_page(session: SignedIn) -> HTMLResponse:
        memberships = await organizations(session.user_id)
        names = {
            m["organization_id"]: str(m.get("organization_name") or m["organization_id"])
            for m in memberships
        }
        current = session.organization_id
        organization = escape(names.get(current, current) if current else "no organization")
        role = escape(session.role or "no role")
        body = (
            f'<div class="card"><p>Organization <strong id="organization">{organization}'
            f'</strong> <span class="badge" id="role">{role}</span></p>'
            f"{switcher(memberships, current)}</div>"
            '<div class="card"><form method="post" action="/notes" id="write">'
            f'<textarea name="text" rows="3" maxlength="{MAX_NOTE}" required '
            'placeholder="A new note"></textarea><button>Save</button></form>'
            "<h2>Yours</h2>"
            f"{note_list(notes.of_owner(session.user_id), 'mine', 'No notes yet.')}</div>"
        )
        if AUDIT in session.permissions:
            written = notes.in_organization(current)
            body += (
                '<div class="card"><h2>Written in your organization</h2>'
                f"{note_list(written, 'audit', 'Nothing written here yet.')}</div>"
            )
        return page("Your notes", body, session)

    def switcher(memberships: list[dict[str, Any]], current: str | None) -> str:
        if len(memberships) < 2:
            return ""
        options = "".join(
            f'<option value="{escape(m["organization_id"])}"'
            f"{' selected' if m['organization_id'] == current else ''}>"
            f"{escape(str(m.get('organization_name') or m['organization_id']))}</option>"
            for m in memberships
        )
        return (
            '<form method="post" action="/switch-organization" id="switch">'
            '<input type="hidden" name="return_to" value="/notes">'
            f'<label>Switch to <select name="organization_id">{options}</select></label> '
            "<button>Switch</button></form>"
        )

    @app.post("/notes", include_in_schema=False)
    async def write_from_page(request: Request, session: SignedIn) -> RedirectResponse:
        origin = request.headers.get("origin")
        if origin is not None and origin != f"{request.url.scheme}://{request.url.netloc}":
            raise HTTPException(403, "a page of another site cannot write notes here")
        form = parse_qs((await request.body()).decode("utf-8", "replace"))
        text = (form.get("text") or [""])[0].strip()
        if not 0 < len(text) <= MAX_NOTE:
            raise HTTPException(400, f"a note is 1 to {MAX_NOTE} characters")
        notes.add(session.user_id, session.organization_id, text)
        return RedirectResponse("/notes", 303)
