"""A real Flask app using authkeep.integrations.flask, served by werkzeug on a free port in a
thread, for tests that drive it against a live authkeep server."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
from flask import Flask, jsonify
from werkzeug.serving import BaseWSGIServer, make_server

from authkeep.integrations import ApiKey, AuthKit
from authkeep.integrations.flask import (
    AuthKitFlask,
    bearer_required,
    current_principal,
    current_session,
    current_user,
    get_session,
    login_required,
    permission_required,
    role_required,
)
from tests.integrations.apps import COOKIE_PASSWORD
from tests.support import TestEnvironment, free_port, make_environment


def make_flask_app(authkit: AuthKit) -> Flask:
    app = Flask(__name__)
    AuthKitFlask(app, authkit)

    @app.get("/")
    def home() -> Any:
        return {"signed_in": get_session() is not None}

    @app.get("/me")
    @login_required
    def me() -> str:
        return f"<p>Hello {current_user['email']} in {current_session.organization_id}</p>"

    @app.get("/api/me")
    @login_required
    def api_me() -> Any:
        session = current_session
        return jsonify(
            user_id=session.user_id,
            email=session.user["email"],
            session_id=session.session_id,
            organization_id=session.organization_id,
            role=session.role,
            permissions=list(session.permissions),
            jti=session.claims.raw["jti"],
        )

    @app.get("/api/bearer")
    @bearer_required
    def bearer() -> Any:
        who = current_principal
        if isinstance(who, ApiKey):
            return {"api_key": who.id, "organization_id": who.organization_id}
        return {"user_id": who.user_id, "organization_id": who.organization_id}

    @app.post("/api/posts")
    @permission_required("posts:write")
    def posts() -> Any:
        return {"created_by": current_principal.user_id}

    @app.get("/admin")
    @role_required("admin")
    def admin() -> str:
        return f"<p>admin {current_principal.user_id}</p>"

    return app


class WsgiServer:
    """A WSGI app under werkzeug's threaded server on a free loopback port."""

    def __init__(self, app: Any, port: int) -> None:
        self.port = port
        self.url = f"http://localhost:{port}"
        self.server: BaseWSGIServer = make_server("127.0.0.1", port, app, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> WsgiServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


@dataclass
class FlaskSite:
    """One environment on the live server and one Flask app configured for it."""

    env: TestEnvironment
    app_url: str
    authkit: AuthKit
    admin: httpx.Client

    def browser(self) -> httpx.Client:
        return httpx.Client(base_url=self.env.base_url, timeout=10)


def start_flask_site(
    database_url: str,
    base_url: str,
    *,
    access_token_ttl: int = 300,
    build: Callable[[AuthKit], Flask] = make_flask_app,
    **authkit_options: Any,
) -> Iterator[FlaskSite]:
    """Generator for a fixture: an environment, its Flask app running, an admin API client."""
    port = free_port()
    app_url = f"http://localhost:{port}"
    env = make_environment(
        database_url,
        base_url,
        redirect_uris=(f"{app_url}/auth/callback",),
        logout_uris=(f"{app_url}/signed-out",),
        access_token_ttl=access_token_ttl,
    )
    authkit = AuthKit(
        client_id=env.client_id,
        api_key=env.api_key,
        base_url=env.base_url,
        redirect_uri=f"{app_url}/auth/callback",
        cookie_password=COOKIE_PASSWORD,
        **authkit_options,
    )
    headers = {"Authorization": f"Bearer {env.api_key}"}
    with (
        WsgiServer(build(authkit), port),
        httpx.Client(base_url=env.base_url, headers=headers, timeout=10) as admin,
    ):
        yield FlaskSite(env, app_url, authkit, admin)
