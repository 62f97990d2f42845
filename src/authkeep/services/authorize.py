"""`GET /user_management/authorize` (CONTRACT.md §2.1): request checks, redirect-URI matching,
authorization codes and PKCE.

Redirect URIs match exactly. In development environments a loopback `http` URI also matches on
any port (RFC 8252 §7.3), so a dev server that moved to another port keeps working.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import logging
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from authkeep.crypto.secrets import constant_time_equal, hash_secret, new_id, random_token
from authkeep.errors import InvalidClient, InvalidGrant, OAuthError
from authkeep.services.environments import list_redirect_uris
from authkeep.store.models import (
    AuthorizationCode,
    AuthorizationRequest,
    Client,
    Environment,
    utcnow,
)

log = logging.getLogger("authkeep.authorize")
CODE_SECONDS = 600
REQUEST_SECONDS = 1800
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "[::1]", "::1")


class AuthorizeError(Exception):
    """A request that cannot be sent back to the app: shown on an authkeep error page."""

    def __init__(self, title: str, message: str) -> None:
        super().__init__(message)
        self.title = title
        self.message = message


class RedirectError(OAuthError):
    """A request error reported to the app's redirect URI (`error`, `error_description`)."""

    def __init__(self, error: str, message: str, redirect_uri: str, state: str | None) -> None:
        self.error = error
        self.redirect_uri = redirect_uri
        self.state = state
        super().__init__(message)


def _is_loopback(uri: str) -> bool:
    parts = urlsplit(uri)
    return parts.scheme == "http" and (parts.hostname or "") in LOOPBACK_HOSTS


def _without_port(uri: str) -> tuple[str, str, str, str]:
    parts = urlsplit(uri)
    return (parts.scheme, parts.hostname or "", parts.path, parts.query)


def redirect_uri_allowed(environment: Environment, registered: list[str], uri: str) -> bool:
    if any(constant_time_equal(uri, candidate) for candidate in registered):
        return True
    if environment.kind == "development" and _is_loopback(uri):
        parts = urlsplit(uri)
        if parts.username or parts.password or parts.fragment:
            return False
        wanted = _without_port(uri)
        for candidate in registered:
            if _is_loopback(candidate) and _without_port(candidate) == wanted:
                log.warning(
                    "redirect_uri %s matched the registered %s on another port (development)",
                    uri,
                    candidate,
                )
                return True
    return False


@dataclass
class AuthorizeParams:
    client_id: str
    redirect_uri: str
    response_type: str | None
    state: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    screen_hint: str | None
    login_hint: str | None
    organization_id: str | None
    provider: str | None


async def start(
    session: AsyncSession, params: AuthorizeParams
) -> tuple[Environment, AuthorizationRequest]:
    """Check an authorize request and record it for the hosted pages."""
    client = await session.get(Client, params.client_id) if params.client_id else None
    if client is None:
        raise AuthorizeError(
            "Unknown application",
            "This sign-in link names an application that does not exist. Start again from the app.",
        )
    environment = await session.get(Environment, client.environment_id)
    assert environment is not None
    registered = [row.uri for row in await list_redirect_uris(session, environment.id)]
    if not params.redirect_uri or not redirect_uri_allowed(
        environment, registered, params.redirect_uri
    ):
        raise AuthorizeError(
            "Redirect URI not allowed",
            "The app asked to return to an address that is not registered for it, so sign-in "
            "stops here. If you develop this app, register the address with the command "
            "authkeep redirect-uris add.",
        )

    def fail(error: str, message: str) -> RedirectError:
        return RedirectError(error, message, params.redirect_uri, params.state)

    if params.response_type != "code":
        raise fail("unsupported_response_type", "response_type must be code.")
    if params.provider not in (None, "", "authkit"):
        raise fail("invalid_request", f"The provider {params.provider!r} is not available.")
    if params.code_challenge is not None:
        if (params.code_challenge_method or "plain") != "S256":
            raise fail("invalid_request", "code_challenge_method must be S256.")
        if not 43 <= len(params.code_challenge) <= 128:
            raise fail("invalid_request", "code_challenge must be 43 to 128 characters.")
    elif params.code_challenge_method is not None:
        raise fail("invalid_request", "code_challenge_method was sent without code_challenge.")
    hint = params.screen_hint or "sign-in"
    if hint not in ("sign-in", "sign-up"):
        raise fail("invalid_request", "screen_hint must be sign-in or sign-up.")
    await _forget_expired(session)
    request = AuthorizationRequest(
        id=new_id("authorization_request"),
        environment_id=environment.id,
        client_id=client.id,
        redirect_uri=params.redirect_uri,
        state=params.state,
        code_challenge=params.code_challenge,
        screen_hint=hint,
        login_hint=(params.login_hint or None),
        organization_id=params.organization_id or None,
        expires_at=utcnow() + dt.timedelta(seconds=REQUEST_SECONDS),
    )
    session.add(request)
    await session.flush()
    return environment, request


async def _forget_expired(session: AsyncSession) -> None:
    """Requests and codes past their life are useless: drop them as new ones arrive."""
    now = utcnow()
    await session.execute(delete(AuthorizationRequest).where(AuthorizationRequest.expires_at < now))
    # Used codes stay a day so a replay can still revoke what the code gave (RFC 6749 §4.1.2).
    await session.execute(
        delete(AuthorizationCode).where(AuthorizationCode.expires_at < now - dt.timedelta(days=1))
    )


async def load_request(
    session: AsyncSession, request_id: str
) -> tuple[Environment, AuthorizationRequest]:
    request = await session.get(AuthorizationRequest, request_id) if request_id else None
    if request is None or request.expires_at <= utcnow():
        raise AuthorizeError(
            "This sign-in link has expired",
            "Go back to the app and start signing in again.",
        )
    environment = await session.get(Environment, request.environment_id)
    assert environment is not None
    return environment, request


def with_query(uri: str, **params: str | None) -> str:
    """`uri` with `params` added, keeping its own query (CONTRACT.md §2.1 rule 4)."""
    parts = urlsplit(uri)
    query = parse_qsl(parts.query, keep_blank_values=True)
    query += [(k, v) for k, v in params.items() if v is not None]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))


async def issue_code(
    session: AsyncSession,
    request: AuthorizationRequest,
    *,
    user_id: str,
    organization_id: str | None,
    auth_method: str,
    auth_time: dt.datetime,
    ip_address: str | None,
    user_agent: str | None,
) -> str:
    """A single-use code for the request, and the redirect URL that carries it."""
    code = random_token(32)
    session.add(
        AuthorizationCode(
            id=new_id("authorization_code"),
            environment_id=request.environment_id,
            client_id=request.client_id,
            code_hash=hash_secret(code),
            redirect_uri=request.redirect_uri,
            code_challenge=request.code_challenge,
            user_id=user_id,
            organization_id=organization_id,
            auth_method=auth_method,
            auth_time=auth_time,
            ip_address=ip_address,
            user_agent=user_agent,
            expires_at=utcnow() + dt.timedelta(seconds=CODE_SECONDS),
        )
    )
    await session.delete(request)  # one authorize request, one code
    await session.flush()
    return with_query(request.redirect_uri, code=code, state=request.state)


def pkce_challenge(verifier: str) -> str:
    """The S256 challenge of a verifier (RFC 7636 §4.2)."""
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def pkce_matches(verifier: str, challenge: str) -> bool:
    return constant_time_equal(pkce_challenge(verifier), challenge)


async def redeem_code(
    session: AsyncSession,
    environment: Environment,
    *,
    client_id: str,
    code: str,
    code_verifier: str | None,
    client_authenticated: bool,
) -> AuthorizationCode:
    """Check and consume a code. A code seen twice also ends what it was first exchanged for."""
    row = await session.scalar(
        select(AuthorizationCode).where(
            AuthorizationCode.code_hash == hash_secret(code),
            AuthorizationCode.environment_id == environment.id,
        )
    )
    if row is None or row.client_id != client_id:
        raise InvalidGrant("The code is invalid or was issued to another client.")
    if row.used_at is not None:
        raise CodeReplayed(row.session_id)
    if row.expires_at <= utcnow():
        raise InvalidGrant("The code has expired.")
    if row.code_challenge is not None:
        if not code_verifier or not pkce_matches(code_verifier, row.code_challenge):
            raise InvalidGrant("The code_verifier does not match the code_challenge.")
    elif not client_authenticated:
        # A code minted without PKCE can only be redeemed by a confidential client.
        raise InvalidClient("This code needs client_secret: it was issued without PKCE.")
    if code_verifier and row.code_challenge is None and not client_authenticated:
        raise InvalidGrant("The code was issued without a code_challenge.")
    row.used_at = utcnow()
    await session.flush()
    return row


class CodeReplayed(InvalidGrant):
    def __init__(self, session_id: str | None) -> None:
        self.session_id = session_id
        super().__init__("The code has already been used.")
