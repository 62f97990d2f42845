"""What browser apps using authkit-js need (CONTRACT.md §8.6): CORS on
`/user_management/authenticate`, the HttpOnly refresh-token cookie of cookie mode, and the
script-readable `workos-has-session` cookie."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from authkeep.api.state import AppState
from authkeep.store.models import CorsOrigin, Environment, RedirectUri

AUTHENTICATE = "/user_management/authenticate"
HAS_SESSION = "workos-has-session"
COOKIE_PATH = "/user_management"
REFRESH_COOKIE_SECONDS = 400 * 24 * 3600
ORIGIN_CACHE_SECONDS = 5.0
LOOPBACK = ("localhost", "127.0.0.1", "[::1]", "::1")


def refresh_cookie_name(client_id: str) -> str:
    return f"authkeep-refresh-{client_id}"


def refresh_cookie(request: Request, client_id: str) -> str | None:
    return request.cookies.get(refresh_cookie_name(client_id)) or None


def _is_secure(request: Request) -> bool:
    return request.url.scheme == "https" or (request.url.hostname or "") not in LOOPBACK


def _parent_domain(host: str) -> str | None:
    """`auth.example.com` -> `example.com`, so the app on `app.example.com` can read the cookie."""
    if host in LOOPBACK or host.replace(".", "").isdigit() or host.count(".") < 2:
        return None
    return host.split(".", 1)[1]


def after_grant(request: Request, response: Response, client_id: str, result: Any) -> None:
    """Cookie mode: a browser request (it has an Origin) gets the rotated refresh token as an
    HttpOnly cookie, and `workos-has-session` for authkit-js's next page load."""
    if "origin" not in request.headers:
        return
    secure = _is_secure(request)
    response.set_cookie(
        refresh_cookie_name(client_id),
        result.issued.refresh_token,
        max_age=REFRESH_COOKIE_SECONDS,
        path=COOKIE_PATH,
        secure=secure,
        httponly=True,
        samesite="lax",
    )
    response.set_cookie(
        HAS_SESSION,
        client_id,
        max_age=REFRESH_COOKIE_SECONDS,
        path="/",
        domain=_parent_domain(request.url.hostname or ""),
        secure=secure,
        httponly=False,
        samesite="lax",
    )


def clear_browser_cookies(request: Request, response: Response, client_id: str) -> None:
    secure = _is_secure(request)
    response.delete_cookie(
        refresh_cookie_name(client_id), path=COOKIE_PATH, secure=secure, httponly=True
    )
    response.delete_cookie(
        HAS_SESSION, path="/", domain=_parent_domain(request.url.hostname or ""), secure=secure
    )


def origin_of(uri: str) -> str | None:
    parts = urlsplit(uri)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}".lower()


class BrowserCors:
    """CORS for `/user_management/authenticate`, the one endpoint authkit-js fetches across
    origins (the JWKS answers any origin itself).

    Allowed origins are every environment's CORS origins, the origins of its redirect URIs, and,
    when a development environment exists, any loopback origin.
    """

    def __init__(self, app: ASGIApp, state: AppState) -> None:
        self.app = app
        self.state = state
        self._origins: tuple[float, frozenset[str], bool] = (0.0, frozenset(), False)

    async def _allowed(self, origin: str) -> bool:
        expires, origins, any_development = self._origins
        if expires < time.monotonic():
            async with self.state.read_sessions() as session:
                cors = set(await session.scalars(select(CorsOrigin.origin)))
                redirects = {
                    origin_of(uri) for uri in await session.scalars(select(RedirectUri.uri))
                }
                kinds = set(await session.scalars(select(Environment.kind).distinct()))
            origins = frozenset(cors | {o for o in redirects if o})
            any_development = "development" in kinds
            self._origins = (time.monotonic() + ORIGIN_CACHE_SECONDS, origins, any_development)
        if origin.lower() in origins:
            return True
        parts = urlsplit(origin)
        return any_development and parts.scheme == "http" and (parts.hostname or "") in LOOPBACK

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != AUTHENTICATE:
            await self.app(scope, receive, send)
            return
        origin = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"origin"), None)
        if origin is None:
            await self.app(scope, receive, send)
            return
        headers = [(b"vary", b"Origin")]
        allowed = await self._allowed(origin)
        if allowed:
            headers += [
                (b"access-control-allow-origin", origin.encode("latin-1")),
                (b"access-control-allow-credentials", b"true"),
            ]
        if scope["method"] == "OPTIONS":
            if allowed:
                headers += [
                    (b"access-control-allow-methods", b"POST, OPTIONS"),
                    (b"access-control-allow-headers", b"Content-Type, Accept, Authorization"),
                    (b"access-control-max-age", b"600"),
                ]
            await send({"type": "http.response.start", "status": 204, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return

        async def with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *headers]
            await send(message)

        await self.app(scope, receive, with_cors)
