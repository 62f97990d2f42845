"""The refresh, code-exchange and password grants of a backend, answered straight from ASGI.

Most requests an AuthKit deployment serves are refreshes of live sessions by the apps' backends
(the SDKs' `authenticate_with_refresh_token`, `session.refresh()`). For those this layer reads the
body, rotates the token in one database step (store/rotation.py) and answers, skipping the rest of
the middleware stack and the router. A backend's code exchange (the callback of every sign-in) is
claimed and written in one database step the same way (store/code_exchange.py). A backend's
password sign-in for a client this worker has cached is run here too, its refusals included (argon2
has run and the attempt has counted by then, so nothing is handed on): it saves the stack's ~0.3 ms
on a path measured against the bare hash. Everything else goes through the app with the body
replayed exactly as it came: browser requests (an `Origin`: CORS and cookie mode live in the app),
other grants, bodies that do not parse, injected faults, and every refresh or exchange the one step
cannot do (unknown or rotated tokens, organization switches, ended sessions; spent, expired or
foreign codes, PKCE mismatches, unverified users, invitations), which the app then explains."""

from __future__ import annotations

import json
import logging
import time
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from authkeep.api.authenticate import ONE_STEP_TRIED as TRIED
from authkeep.api.authenticate import grant_response, password_sign_in
from authkeep.api.middleware import request_id_of
from authkeep.api.state import AppState
from authkeep.api.wire import JSON_TYPE, dumps, error_response, server_error_response
from authkeep.errors import AuthkeepError
from authkeep.services.grants import authorization_code, refresh_token
from authkeep.store.models import Client, Environment

PATH = "/user_management/authenticate"
log = logging.getLogger("authkeep.access")
# status, body, headers (without the request ID)
_Answer = tuple[int, bytes, list[tuple[bytes, bytes]]]


class TokenFastPath:
    def __init__(self, app: ASGIApp, state: AppState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["path"] != PATH
            or scope["method"] != "POST"
            or self.state.faults.routes
        ):
            await self.app(scope, receive, send)
            return
        content_type = b""
        authorization = b""
        user_agent = None
        for name, value in scope["headers"]:
            if name == b"origin":
                await self.app(scope, receive, send)
                return
            if name == b"content-type":
                content_type = value
            elif name == b"authorization":
                authorization = value
            elif name == b"user-agent":
                user_agent = value.decode("latin-1")
        started = time.perf_counter()
        body, complete = await self._read(receive)
        answer = None
        if complete:
            fields = _fields(body, content_type) or {}
            grant_type = fields.get("grant_type")
            if grant_type == "refresh_token":
                refreshed = await self._refresh(scope, fields, authorization)
                if refreshed is not None:
                    answer = _token_answer(refreshed)
            elif grant_type == "authorization_code":
                exchanged = await self._code(scope, fields, authorization, user_agent)
                if exchanged is not None:
                    answer = _token_answer(exchanged)
            elif grant_type == "password":
                answer = await self._password(scope, fields, authorization, user_agent)
        if answer is None:
            await self.app(scope, _replay(body, complete, receive), send)
            return
        status, payload, headers = answer
        request_id = scope.get("state", {}).get("request_id") or request_id_of(scope)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [*headers, (b"x-request-id", request_id.encode())],
            }
        )
        await send({"type": "http.response.body", "body": payload})
        if log.isEnabledFor(logging.INFO):
            elapsed = (time.perf_counter() - started) * 1000
            log.info("POST %s %s %.1fms request_id=%s", PATH, status, elapsed, request_id)

    async def _read(self, receive: Receive) -> tuple[bytes, bool]:
        """The body, and whether it is all there and within the size limit (else the app reads
        the rest and answers, e.g. 413)."""
        limit = self.state.settings.max_body_bytes
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return b"".join(chunks), False
            chunk = message.get("body", b"")
            chunks.append(chunk)
            size += len(chunk)
            if size > limit:
                return b"".join(chunks), False
            if not message.get("more_body", False):
                return b"".join(chunks), True

    def _signing_client(self, client_id: Any) -> tuple[float, Client, Environment] | None:
        """The client's cache entry while it is fresh and this worker holds its environment's
        signing key: what a one-step grant needs so that nothing after its write can fail."""
        cached = self.state.client_cache.get(client_id) if isinstance(client_id, str) else None
        if cached is None or cached[0] <= time.monotonic():
            return None
        return cached if self.state.issuer.cached_key(cached[2].id) is not None else None

    async def _refresh(
        self, scope: Scope, fields: dict[str, Any], authorization: bytes
    ) -> bytes | None:
        """The answer of a refresh done in one step, or None (nothing changed)."""
        client_id = fields.get("client_id")
        token = fields.get("refresh_token")
        organization_id = fields.get("organization_id") or None
        secret = fields.get("client_secret") or _bearer(authorization)
        cached = self._signing_client(client_id)
        if (
            cached is None
            or not isinstance(token, str)
            or not token
            or not isinstance(organization_id, str | None)
            or not isinstance(secret, str | None)
        ):
            return None  # the app loads what is missing and tries the one step itself
        scope.setdefault("state", {})[TRIED] = True
        try:
            result = await refresh_token.grant_in_one_step(
                self.state.engine,
                self.state.box,
                self.state.issuer,
                cached[2],
                cached[1],
                refresh_token=token,
                organization_id=organization_id,
                client_secret=secret,
            )
        except Exception:
            # The app takes the request from the start and answers in the API's error shape.
            log.exception("the one-step refresh failed; the request goes through the app")
            scope["state"].pop(TRIED, None)
            return None
        return None if result is None else dumps(grant_response(result))

    async def _code(
        self, scope: Scope, fields: dict[str, Any], authorization: bytes, user_agent: str | None
    ) -> bytes | None:
        """The answer of a code exchange done in one step, or None (nothing changed)."""
        client_id = fields.get("client_id")
        code = fields.get("code")
        verifier = fields.get("code_verifier") or None
        secret = fields.get("client_secret") or _bearer(authorization)
        cached = self._signing_client(client_id)
        if (
            cached is None
            or not isinstance(code, str)
            or not code
            or not isinstance(verifier, str | None)
            or not isinstance(secret, str | None)
            or fields.get("invitation_token")  # accepted by the full path (§3.3)
        ):
            return None
        try:
            result = await authorization_code.grant_in_one_step(
                self.state.engine,
                self.state.issuer,
                cached[2],
                cached[1],
                code=code,
                code_verifier=verifier,
                client_secret=secret,
                ip_address=_text(fields.get("ip_address")) or _client_host(scope),
                user_agent=_text(fields.get("user_agent")) or user_agent,
            )
        except Exception:
            # The app takes the request from the start (a code spent by now is refused there as
            # a replay, which ends the session it was exchanged for).
            log.exception("the one-step code exchange failed; the request goes through the app")
            return None
        return None if result is None else dumps(grant_response(result))

    async def _password(
        self, scope: Scope, fields: dict[str, Any], authorization: bytes, user_agent: str | None
    ) -> _Answer | None:
        """A backend's password sign-in: its answer, an error included (argon2 has run and the
        attempt has counted, so it is not handed on); None when the app should take it."""
        client_id = fields.get("client_id")
        if not isinstance(client_id, str) or not client_id:
            return None
        secret = fields.get("client_secret") or _bearer(authorization)
        try:
            result = await password_sign_in(
                self.state,
                client_id,
                fields,
                secret,
                peer=_client_host(scope),
                user_agent=user_agent,
            )
        except AuthkeepError as error:
            response = error_response(error)
        except Exception:
            request_id = request_id_of(scope)
            scope.setdefault("state", {})["request_id"] = request_id
            response = server_error_response(request_id)
        else:
            if result is None:
                return None
            return _token_answer(dumps(grant_response(result)))
        return response.status_code, bytes(response.body), response.raw_headers


def _token_answer(payload: bytes) -> _Answer:
    return (
        200,
        payload,
        [
            (b"content-type", JSON_TYPE.encode()),
            (b"content-length", str(len(payload)).encode()),
            (b"cache-control", b"no-store"),
            (b"pragma", b"no-cache"),
        ],
    )


def _fields(body: bytes, content_type: bytes) -> dict[str, Any] | None:
    media = content_type.split(b";")[0].strip().lower()
    try:
        if media == b"application/x-www-form-urlencoded":
            return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        fields = json.loads(body)
    except ValueError:  # also UnicodeDecodeError and json.JSONDecodeError
        return None
    return fields if isinstance(fields, dict) else None


def _text(value: Any) -> str | None:
    return str(value) if value else None


def _client_host(scope: Scope) -> str | None:
    client = scope.get("client")
    return client[0] if client else None


def _bearer(authorization: bytes) -> str | None:
    scheme, _, token = authorization.decode("latin-1").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def _replay(body: bytes, complete: bool, receive: Receive) -> Receive:
    """A `receive` that gives the app the body already read, then the connection's own events
    (the rest of a body that was too long, or the disconnect)."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": not complete}
        return await receive()

    return replayed
