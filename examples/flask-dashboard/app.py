"""A small dashboard that signs people in with authkeep (or WorkOS) through the Flask integration.

    authkeep env --framework python --write .env   # next to this file, with `authkeep dev` running
    flask --app app run --port 8000                  # the redirect URI is http://localhost:8000/callback

Signed-out visitors get a sign-in button (the hosted page opens on sign-in: accounts come by
invitation). Signed in, each person sees the projects the authorization map below grants them:
an organization admin sees every project, anyone else only the projects they own. People in
several organizations switch between them; their role, and so what they see, follows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from html import escape
from typing import Any

import httpx
from flask import Flask, request, url_for

from authkeep.integrations.flask import (
    AuthKitFlask,
    current_session,
    get_session,
    login_required,
)


@dataclass(frozen=True)
class Project:
    name: str
    owner: str  # the owner's email
    summary: str


PROJECTS = (
    Project("Analytical Engine", "ada@example.com", "Notes on the engine's first program."),
    Project("Compiler", "grace@example.com", "A-0, then FLOW-MATIC, then COBOL."),
    Project("Kernel", "linus@example.com", "Just a hobby, won't be big and professional."),
    Project("Telescope", "grace@example.com", "Time on the big dish, by the hour."),
)

STYLE = """
body{font:16px/1.5 system-ui,sans-serif;margin:0;background:#f5f6fa;color:#1f2430}
header{display:flex;align-items:center;gap:1rem;padding:.8rem 2rem;background:#1f2430;color:#fff}
header strong{flex:1}main{max-width:46rem;margin:2rem auto;padding:0 1rem}
.card{background:#fff;border-radius:10px;padding:1.2rem 1.5rem;margin-bottom:1rem;
box-shadow:0 1px 3px #0002}button,.button{font:inherit;border:0;border-radius:6px;
padding:.45rem 1rem;background:#4f46e5;color:#fff;cursor:pointer;text-decoration:none}
header button{background:#fff2}select{font:inherit;padding:.35rem}.muted{color:#667}
.badge{font-size:.8rem;background:#e0e7ff;color:#3730a3;border-radius:99px;padding:.1rem .6rem}
form{display:inline}
"""


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """The app; `config` overrides `app.config` (the `WORKOS_*` keys, `PROJECTS`)."""
    app = Flask(__name__)
    app.config["PROJECTS"] = PROJECTS
    app.config.update(config or {})
    authkit = AuthKitFlask(app, url_prefix="").authkit
    assert authkit is not None

    def organizations(user_id: str) -> list[dict[str, Any]]:
        """The person's organizations, from the server's API (needs WORKOS_API_KEY)."""
        if not authkit.config.api_key:
            return []
        response = httpx.get(
            f"{authkit.config.base_url}/user_management/organization_memberships",
            params={"user_id": user_id},
            headers={"Authorization": f"Bearer {authkit.config.api_key}"},
            timeout=10,
        )
        return list(response.json().get("data", [])) if response.status_code == 200 else []

    def page(title: str, body: str) -> str:
        session = get_session()
        if session:
            who = escape(str(session.user.get("email", "")))
            action = url_for("authkit.logout")
            account = f'<span>{who}</span><form method="post" action="{action}">' + (
                '<button id="sign-out">Sign out</button></form>'
            )
        else:
            account = ""
        return (
            f'<!doctype html><html lang="en"><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width"><title>{escape(title)}</title>'
            f"<style>{STYLE}</style><header><strong>Dashboard</strong>{account}</header>"
            f"<main><h1>{escape(title)}</h1>{body}</main></html>"
        )

    @app.get("/")
    def home() -> str:
        if not get_session():
            sign_in = url_for("authkit.login", screen_hint="sign-in", return_to="/projects")
            return page(
                "Welcome",
                '<div class="card"><p>Accounts are by invitation. Signed in, you see the '
                "projects you may see.</p>"
                f'<a class="button" id="sign-in" href="{escape(sign_in)}">Sign in</a></div>',
            )
        return page(
            "Welcome back",
            f'<div class="card"><a class="button" href="{url_for("projects")}">Projects</a></div>',
        )

    @app.get("/projects")
    @login_required
    def projects() -> str:
        session = current_session
        email = session.user.get("email")
        is_admin = session.role == "admin"
        visible = [p for p in app.config["PROJECTS"] if is_admin or p.owner == email]
        cards = "".join(
            f'<div class="card project"><h2>{escape(p.name)}</h2>'
            f'<p class="muted">{escape(p.summary)} Owner: {escape(p.owner)}</p></div>'
            for p in visible
        )
        role = escape(session.role or "no organization")
        scope = "every project" if is_admin else "your projects"
        intro = f'<p>You see {scope}. <span class="badge" id="role">{role}</span></p>'
        return page("Projects", intro + _switcher(organizations(session.user_id)) + cards)

    def _switcher(memberships: list[dict[str, Any]]) -> str:
        if len(memberships) < 2:
            return ""
        options = "".join(
            f'<option value="{escape(m["organization_id"])}"'
            f"{' selected' if m['organization_id'] == current_session.organization_id else ''}>"
            f"{escape(str(m.get('organization_name') or m['organization_id']))}</option>"
            for m in memberships
        )
        action = url_for("authkit.switch_organization")
        return (
            f'<div class="card"><form method="post" action="{action}" id="switch">'
            f'<input type="hidden" name="return_to" value="{escape(request.path)}">'
            f'<label>Organization <select name="organization_id">{options}</select></label> '
            "<button>Switch</button></form></div>"
        )

    return app
