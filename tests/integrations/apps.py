"""A real FastAPI app using authkeep.integrations.starlette, served by uvicorn on a free port, and
a browser (httpx with cookies) that signs in through it against a live authkeep server."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Annotated, Any

import httpx
import uvicorn
from fastapi import Depends, FastAPI
from fastapi.responses import HTMLResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from authkeep.integrations import (
    AccessTokenClaims,
    ApiKey,
    AsyncAuthKit,
    AuthSession,
    Principal,
    unseal_data,
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
from tests.signin.hosted import PASSWORD, callback_of, open_form, submit_sign_in
from tests.support import TestEnvironment, free_port, make_environment

COOKIE_PASSWORD = "authkeep-fastapi-test-cookie-password-0123456789"


class GrantCounter:
    """Wraps the authkeep server: records `(client_id, grant_type)` of every authenticate call."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    def count(self, client_id: str, grant_type: str = "refresh_token") -> int:
        with self._lock:
            return self.calls.count((client_id, grant_type))

    def wrap(self, app: ASGIApp) -> ASGIApp:
        async def counted(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http" or scope["path"] != "/user_management/authenticate":
                await app(scope, receive, send)
                return
            messages: list[Message] = []
            while True:
                message = await receive()
                messages.append(message)
                if not message.get("more_body"):
                    break
            try:
                body = json.loads(b"".join(m.get("body", b"") for m in messages))
                with self._lock:
                    self.calls.append((body.get("client_id"), body.get("grant_type")))
            except ValueError:
                pass

            async def replay() -> Message:
                return messages.pop(0) if messages else {"type": "http.disconnect"}

            await app(scope, replay, send)

        return counted


def make_app(authkit: AsyncAuthKit) -> FastAPI:
    app = FastAPI()
    app.add_middleware(AuthKitMiddleware, authkit=authkit)
    app.mount("/auth", auth_router())

    @app.get("/")
    async def home(session: Annotated[AuthSession | None, Depends(current_session)]) -> Any:
        return {"signed_in": session is not None}

    @app.get("/me", response_class=HTMLResponse)
    async def me(session: Annotated[AuthSession, Depends(require_user)]) -> str:
        return f"<p>Hello {session.user['email']} in {session.organization_id}</p>"

    @app.get("/api/me")
    async def api_me(session: Annotated[AuthSession, Depends(require_user)]) -> Any:
        return {
            "user_id": session.user_id,
            "email": session.user["email"],
            "session_id": session.session_id,
            "organization_id": session.organization_id,
            "role": session.role,
            "permissions": list(session.permissions),
            "jti": session.claims.raw["jti"],
        }

    @app.get("/api/bearer")
    async def bearer(who: Annotated[AccessTokenClaims | ApiKey, Depends(require_bearer)]) -> Any:
        if isinstance(who, ApiKey):
            return {"api_key": who.id, "organization_id": who.organization_id}
        return {"user_id": who.user_id, "organization_id": who.organization_id}

    @app.post("/api/posts")
    async def posts(who: Annotated[Principal, Depends(require_permission("posts:write"))]) -> Any:
        return {"created_by": who.user_id}

    @app.get("/admin", response_class=HTMLResponse)
    async def admin(who: Annotated[Principal, Depends(require_role("admin"))]) -> str:
        return f"<p>admin {who.user_id}</p>"

    return app


class AppServer:
    """An ASGI app under uvicorn on a free loopback port, in a background thread."""

    def __init__(self, app: ASGIApp, port: int) -> None:
        self.port = port
        self.url = f"http://localhost:{port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> AppServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the app server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@dataclass
class Site:
    """One environment on the live server and one app configured for it."""

    env: TestEnvironment
    app_url: str
    authkit: AsyncAuthKit
    admin: httpx.Client
    extra: dict[str, Any] = field(default_factory=dict)

    def browser(self) -> httpx.Client:
        return httpx.Client(base_url=self.env.base_url, timeout=10)


def start_site(
    database_url: str,
    base_url: str,
    *,
    access_token_ttl: int = 300,
    build: Callable[[AsyncAuthKit], ASGIApp] = make_app,
    **authkit_options: Any,
) -> Iterator[Site]:
    """Generator for a fixture: an environment, its app running, an admin API client."""
    port = free_port()
    app_url = f"http://localhost:{port}"
    env = make_environment(
        database_url,
        base_url,
        redirect_uris=(f"{app_url}/auth/callback",),
        logout_uris=(f"{app_url}/signed-out",),
        access_token_ttl=access_token_ttl,
    )
    authkit = AsyncAuthKit(
        client_id=env.client_id,
        api_key=env.api_key,
        base_url=env.base_url,
        redirect_uri=f"{app_url}/auth/callback",
        cookie_password=COOKIE_PASSWORD,
        **authkit_options,
    )
    headers = {"Authorization": f"Bearer {env.api_key}"}
    with (
        AppServer(build(authkit), port),
        httpx.Client(base_url=env.base_url, headers=headers, timeout=10) as admin,
    ):
        yield Site(env, app_url, authkit, admin)


def sign_in_through_app(
    site: Site, browser: httpx.Client, email: str, return_to: str = "/me"
) -> httpx.Response:
    """`/auth/login` -> hosted form -> `/auth/callback`; the callback's response."""
    login = browser.get(f"{site.app_url}/auth/login", params={"return_to": return_to})
    assert login.status_code == 302, login.text
    authorize = login.headers["location"]
    first = browser.get(authorize)
    if "/authkit/" in first.headers.get("location", ""):
        page = open_form(browser, authorize)
        callback = callback_of(submit_sign_in(browser, page, email, PASSWORD))
    else:  # the hosted sign-in remembers this browser
        callback = callback_of(first)
    assert callback.code, callback
    return browser.get(callback.url)


def set_cookies(response: httpx.Response) -> dict[str, dict[str, str]]:
    """Each Set-Cookie of a response: name -> {"value": ..., attribute: value or ""}."""
    cookies: dict[str, dict[str, str]] = {}
    for header in response.headers.get_list("set-cookie"):
        name, _, rest = header.partition("=")
        value, *attributes = rest.split("; ")
        parsed = {"value": value}
        for attribute in attributes:
            key, _, attribute_value = attribute.partition("=")
            parsed[key.lower()] = attribute_value
        cookies[name] = parsed
    return cookies


def session_payload(sealed: str) -> dict[str, Any]:
    return unseal_data(sealed, COOKIE_PASSWORD)


def token_claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def wait_until_expired(sealed: str) -> None:
    """Sleep until the cookie's access token has expired (a short-lived token)."""
    exp = token_claims(session_payload(sealed)["accessToken"])["exp"]
    delay = exp - time.time() + 0.05
    assert delay < 15, f"the token lives {delay:.0f} s more: set a short access_token_ttl"
    time.sleep(max(delay, 0))
