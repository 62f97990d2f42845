"""Environments and their credentials: clients, API keys, redirect/logout URIs, CORS origins."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from authkeep.crypto.keys import SecretBox
from authkeep.crypto.secrets import hash_secret, new_api_key, new_id
from authkeep.errors import Conflict, NotFound, ValidationFailed
from authkeep.services import roles as roles_service
from authkeep.services.signing_keys import create_signing_key
from authkeep.store.models import (
    ApiKey,
    Client,
    CorsOrigin,
    Environment,
    LogoutUri,
    RedirectUri,
    utcnow,
)
from authkeep.store.pagination import Page, PageRequest, paginate

KINDS = ("development", "production")


@dataclass(frozen=True)
class NewEnvironment:
    environment: Environment
    client: Client
    api_key: str


async def create_environment(
    session: AsyncSession,
    box: SecretBox,
    name: str,
    kind: str,
    access_token_ttl: int = 300,
    redirect_uris: tuple[str, ...] = (),
    logout_uris: tuple[str, ...] = (),
    settings: dict[str, object] | None = None,
    client_id: str | None = None,
) -> NewEnvironment:
    """A new environment with its client, first API key, signing key and default roles.

    `client_id` pins the client ID (config files that keep it stable across rebuilds).
    """
    if kind not in KINDS:
        raise ValueError(f"environment kind must be one of {', '.join(KINDS)}")
    if await session.scalar(select(Environment.id).where(Environment.name == name)):
        raise Conflict(f"An environment named {name!r} already exists.", code="environment_exists")
    environment = Environment(
        id=new_id("environment"),
        name=name,
        kind=kind,
        access_token_ttl=access_token_ttl,
        settings=dict(settings or {}),
    )
    session.add(environment)
    await session.flush()
    client = Client(id=client_id or new_id("client"), environment_id=environment.id, name=name)
    session.add(client)
    await session.flush()
    _, key = await create_api_key(session, environment, "default")
    await create_signing_key(session, box, environment, active_from=utcnow())
    await roles_service.create_default_roles(session, environment.id)
    for uri in redirect_uris:
        await add_redirect_uri(session, environment.id, uri)
    for uri in logout_uris:
        await add_logout_uri(session, environment.id, uri)
    return NewEnvironment(environment, client, key)


async def list_environments(session: AsyncSession) -> list[Environment]:
    return list(await session.scalars(select(Environment).order_by(Environment.created_at)))


async def get_environment_by_name(session: AsyncSession, name: str) -> Environment:
    environment = await session.scalar(select(Environment).where(Environment.name == name))
    if environment is None:
        raise NotFound.entity("Environment", name)
    return environment


async def client_for(session: AsyncSession, environment_id: str) -> Client:
    client = await session.scalar(
        select(Client).where(Client.environment_id == environment_id).order_by(Client.id).limit(1)
    )
    if client is None:
        raise NotFound.entity("Client", environment_id)
    return client


async def environment_for_client(session: AsyncSession, client_id: str) -> Environment | None:
    return await session.scalar(
        select(Environment)
        .join(Client, Client.environment_id == Environment.id)
        .where(Client.id == client_id)
    )


# API keys ------------------------------------------------------------------------------------


async def create_api_key(
    session: AsyncSession, environment: Environment, name: str
) -> tuple[ApiKey, str]:
    secret = new_api_key(live=environment.kind == "production")
    row = ApiKey(
        id=new_id("key"),
        environment_id=environment.id,
        name=name,
        key_hash=hash_secret(secret),
        display_prefix=secret[:12],
    )
    session.add(row)
    await session.flush()
    return row, secret


async def list_api_keys(session: AsyncSession, environment_id: str) -> list[ApiKey]:
    return list(
        await session.scalars(
            select(ApiKey).where(ApiKey.environment_id == environment_id).order_by(ApiKey.id)
        )
    )


async def revoke_api_key(session: AsyncSession, key_id: str) -> ApiKey:
    row = await session.get(ApiKey, key_id)
    if row is None:
        raise NotFound.entity("API key", key_id)
    if row.revoked_at is None:
        row.revoked_at = utcnow()
    return row


async def environment_for_api_key(session: AsyncSession, secret: str) -> Environment | None:
    """The environment of a live key, looked up by SHA-256 so the key leaks no timing."""
    return await session.scalar(
        select(Environment)
        .join(ApiKey, ApiKey.environment_id == Environment.id)
        .where(ApiKey.key_hash == hash_secret(secret), ApiKey.revoked_at.is_(None))
    )


async def environment_id_for_api_key(session: AsyncSession, secret: str) -> str | None:
    return await session.scalar(
        select(ApiKey.environment_id).where(
            ApiKey.key_hash == hash_secret(secret), ApiKey.revoked_at.is_(None)
        )
    )


# Redirect URIs, logout URIs, CORS origins -----------------------------------------------------


def check_uri(uri: str, field: str = "uri") -> str:
    parts = urlsplit(uri)
    if parts.scheme not in ("http", "https") and not (parts.scheme and "." in parts.scheme):
        # Native apps use private-use schemes like com.example.app:/callback (RFC 8252 §7.1).
        raise ValidationFailed.field(field, "invalid_uri", f"{uri!r} is not an absolute URL.")
    if parts.scheme in ("http", "https") and not parts.hostname:
        raise ValidationFailed.field(field, "invalid_uri", f"{uri!r} has no host.")
    if parts.fragment:
        raise ValidationFailed.field(field, "invalid_uri", "A redirect URI cannot have a fragment.")
    if "*" in uri:
        raise ValidationFailed.field(field, "invalid_uri", "Wildcards are not supported.")
    return uri


def check_origin(origin: str) -> str:
    parts = urlsplit(origin)
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
        or parts.username
    ):
        raise ValidationFailed.field(
            "origin", "invalid_origin", f"{origin!r} is not an origin like https://app.example.com."
        )
    return f"{parts.scheme}://{parts.netloc}".lower()


async def list_redirect_uris(session: AsyncSession, environment_id: str) -> list[RedirectUri]:
    return list(
        await session.scalars(
            select(RedirectUri)
            .where(RedirectUri.environment_id == environment_id)
            .order_by(RedirectUri.id)
        )
    )


async def page_redirect_uris(
    session: AsyncSession, environment_id: str, page: PageRequest
) -> Page[RedirectUri]:
    query = select(RedirectUri).where(RedirectUri.environment_id == environment_id)
    return await paginate(session, query, RedirectUri.id, page)


async def add_redirect_uri(session: AsyncSession, environment_id: str, uri: str) -> RedirectUri:
    check_uri(uri)
    client = await client_for(session, environment_id)
    existing = await session.scalar(
        select(RedirectUri).where(RedirectUri.client_id == client.id, RedirectUri.uri == uri)
    )
    if existing is not None:
        return existing
    is_first = not await list_redirect_uris(session, environment_id)
    row = RedirectUri(
        id=new_id("redir"),
        environment_id=environment_id,
        client_id=client.id,
        uri=uri,
        is_default=is_first,
    )
    session.add(row)
    await session.flush()
    return row


async def remove_redirect_uri(session: AsyncSession, environment_id: str, key: str) -> None:
    """Remove by ID (`redir_...`) or by the URI itself."""
    column = RedirectUri.id if key.startswith("redir_") else RedirectUri.uri
    row = await session.scalar(
        select(RedirectUri).where(RedirectUri.environment_id == environment_id, column == key)
    )
    if row is None:
        raise NotFound.entity("Redirect URI", key)
    await session.delete(row)
    await session.flush()
    if row.is_default:
        remaining = await list_redirect_uris(session, environment_id)
        if remaining:
            remaining[0].is_default = True


async def list_logout_uris(session: AsyncSession, environment_id: str) -> list[LogoutUri]:
    return list(
        await session.scalars(
            select(LogoutUri)
            .where(LogoutUri.environment_id == environment_id)
            .order_by(LogoutUri.id)
        )
    )


async def add_logout_uri(session: AsyncSession, environment_id: str, uri: str) -> LogoutUri:
    check_uri(uri)
    client = await client_for(session, environment_id)
    existing = await session.scalar(
        select(LogoutUri).where(LogoutUri.client_id == client.id, LogoutUri.uri == uri)
    )
    if existing is not None:
        return existing
    row = LogoutUri(
        id=new_id("logout_uri"), environment_id=environment_id, client_id=client.id, uri=uri
    )
    session.add(row)
    await session.flush()
    return row


async def remove_logout_uri(session: AsyncSession, environment_id: str, uri: str) -> None:
    row = await session.scalar(
        select(LogoutUri).where(LogoutUri.environment_id == environment_id, LogoutUri.uri == uri)
    )
    if row is None:
        raise NotFound.entity("Logout URI", uri)
    await session.delete(row)


async def list_cors_origins(session: AsyncSession, environment_id: str) -> list[CorsOrigin]:
    return list(
        await session.scalars(
            select(CorsOrigin)
            .where(CorsOrigin.environment_id == environment_id)
            .order_by(CorsOrigin.id)
        )
    )


async def page_cors_origins(
    session: AsyncSession, environment_id: str, page: PageRequest
) -> Page[CorsOrigin]:
    query = select(CorsOrigin).where(CorsOrigin.environment_id == environment_id)
    return await paginate(session, query, CorsOrigin.id, page)


async def add_cors_origin(
    session: AsyncSession, environment_id: str, origin: str, *, conflict_if_exists: bool = False
) -> CorsOrigin:
    origin = check_origin(origin)
    client = await client_for(session, environment_id)
    existing = await session.scalar(
        select(CorsOrigin).where(CorsOrigin.client_id == client.id, CorsOrigin.origin == origin)
    )
    if existing is not None:
        if conflict_if_exists:
            raise Conflict(
                f"The CORS origin {origin} already exists.", code="duplicate_cors_origin"
            )
        return existing
    row = CorsOrigin(
        id=new_id("cors_origin"), environment_id=environment_id, client_id=client.id, origin=origin
    )
    session.add(row)
    await session.flush()
    return row


async def remove_cors_origin(session: AsyncSession, environment_id: str, origin: str) -> None:
    row = await session.scalar(
        select(CorsOrigin).where(
            CorsOrigin.environment_id == environment_id, CorsOrigin.origin == check_origin(origin)
        )
    )
    if row is None:
        raise NotFound.entity("CORS origin", origin)
    await session.delete(row)


# Sign-in settings --------------------------------------------------------------------------

SIGNUP_MODES = ("open", "invite_only")
_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")


@dataclass(frozen=True)
class SignInSettings:
    """What `authkeep environments configure` may change; None leaves a value as it is."""

    issuer: str | None = None  # "" resets to the default issuer
    access_token_ttl: int | None = None
    signup: str | None = None
    session_max_seconds: int | None = None
    session_idle_seconds: int | None = None
    brand_name: str | None = None
    brand_logo_url: str | None = None
    brand_color: str | None = None
    end_sessions_on_password_reset: bool | None = None
    password_reset_url: str | None = None  # "" restores the hosted reset page
    email_verification_required: bool | None = None


def check_settings(changes: SignInSettings) -> None:
    if changes.issuer:
        parts = urlsplit(changes.issuer)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.query:
            raise ValidationFailed.field(
                "issuer", "invalid_uri", "The issuer must be an http(s) URL."
            )
    if changes.access_token_ttl is not None and not 10 <= changes.access_token_ttl <= 86400:
        raise ValidationFailed.field(
            "access_token_ttl", "invalid", "The access-token lifetime is 10 to 86400 seconds."
        )
    if changes.signup is not None and changes.signup not in SIGNUP_MODES:
        raise ValidationFailed.field("signup", "invalid", "Sign-up is open or invite_only.")
    for name in ("session_max_seconds", "session_idle_seconds"):
        value = getattr(changes, name)
        if value is not None and value < 60:
            raise ValidationFailed.field(name, "invalid", f"{name} is at least 60 seconds.")
    if changes.brand_color is not None and not _COLOR.match(changes.brand_color):
        raise ValidationFailed.field("brand_color", "invalid", "Use a colour like #4f46e5.")
    if changes.brand_logo_url and not changes.brand_logo_url.startswith("https://"):
        raise ValidationFailed.field("brand_logo_url", "invalid", "The logo must be an https URL.")
    if changes.password_reset_url:
        parts = urlsplit(changes.password_reset_url)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.fragment:
            raise ValidationFailed.field(
                "password_reset_url", "invalid_uri", "The reset URL must be an http(s) URL."
            )


async def configure_environment(
    session: AsyncSession, environment: Environment, changes: SignInSettings
) -> Environment:
    check_settings(changes)
    if changes.issuer is not None:
        environment.issuer = changes.issuer or None
    if changes.access_token_ttl is not None:
        environment.access_token_ttl = changes.access_token_ttl
    settings = dict(environment.settings or {})
    for key in (
        "signup",
        "session_max_seconds",
        "session_idle_seconds",
        "email_verification_required",
    ):
        if getattr(changes, key) is not None:
            settings[key] = getattr(changes, key)
    if changes.end_sessions_on_password_reset is not None:
        settings["end_sessions_on_password_reset"] = changes.end_sessions_on_password_reset
    if changes.password_reset_url is not None:
        settings["password_reset_url"] = changes.password_reset_url or None
    branding = dict(settings.get("branding") or {})
    for key in ("name", "logo_url", "color"):
        value = getattr(changes, f"brand_{key}")
        if value is not None:
            branding[key] = value
    settings["branding"] = {k: v for k, v in branding.items() if v}
    environment.settings = settings  # a new dict, so the JSON column is written
    await session.flush()
    return environment
