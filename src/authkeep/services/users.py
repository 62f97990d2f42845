"""Users (CONTRACT.md §6.1): e-mail unique per environment (case-insensitive), external ID unique
per environment, metadata merged key by key on update."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from authkeep.crypto.secrets import new_id
from authkeep.errors import BadRequest, NotFound
from authkeep.services import passwords
from authkeep.services.validation import (
    check_email,
    check_external_id,
    check_metadata,
    merge_metadata,
    normalize_email,
)
from authkeep.store.models import OrganizationMembership, User
from authkeep.store.pagination import Page, PageRequest, paginate

PROFILE_FIELDS = ("first_name", "last_name", "name", "profile_picture_url", "locale")


async def get_user(session: AsyncSession, environment_id: str, user_id: str) -> User:
    user = await session.scalar(
        select(User).where(User.id == user_id, User.environment_id == environment_id)
    )
    if user is None:
        raise NotFound.entity("User", user_id)
    return user


async def get_user_by_external_id(
    session: AsyncSession, environment_id: str, external_id: str
) -> User:
    user = await session.scalar(
        select(User).where(User.external_id == external_id, User.environment_id == environment_id)
    )
    if user is None:
        raise NotFound.entity("User", external_id)
    return user


async def find_by_email(session: AsyncSession, environment_id: str, email: str) -> User | None:
    return await session.scalar(
        select(User).where(
            User.environment_id == environment_id, User.email_normalized == normalize_email(email)
        )
    )


async def list_users(
    session: AsyncSession,
    environment_id: str,
    page: PageRequest,
    email: str | None = None,
    organization_id: str | None = None,
) -> Page[User]:
    query = select(User).where(User.environment_id == environment_id)
    if email is not None:
        query = query.where(User.email_normalized == normalize_email(email))
    if organization_id is not None:
        query = query.where(
            User.id.in_(
                select(OrganizationMembership.user_id).where(
                    OrganizationMembership.organization_id == organization_id,
                    OrganizationMembership.environment_id == environment_id,
                )
            )
        )
    return await paginate(session, query, User.id, page)


async def _password_fields(fields: dict[str, Any]) -> dict[str, Any]:
    password = fields.get("password")
    password_hash = fields.get("password_hash")
    hash_type = fields.get("password_hash_type")
    if password is not None and (password_hash is not None or hash_type is not None):
        code = (
            "password_and_password_hash_provided"
            if password_hash is not None
            else ("password_and_password_hash_type_provided")
        )
        raise BadRequest(code, "Send either password or password_hash, not both.")
    if fields.get("password_salt_position") is not None and password_hash is None:
        raise BadRequest(
            "password_salt_position_requires_password_hash",
            "password_salt_position goes with password_hash.",
        )
    if password is not None:
        return {"password_hash": await passwords.hash_password(password)}
    if password_hash is not None or hash_type is not None:
        if password_hash is None or hash_type is None:
            raise BadRequest(
                "invalid_password_hash", "password_hash and password_hash_type go together."
            )
        return {"password_hash": passwords.check_imported_hash(password_hash, hash_type)}
    return {}


async def _ensure_available(
    session: AsyncSession,
    environment_id: str,
    *,
    email: str | None = None,
    external_id: str | None = None,
    exclude_id: str | None = None,
) -> None:
    if email is not None:
        other = await find_by_email(session, environment_id, email)
        if other is not None and other.id != exclude_id:
            raise BadRequest(
                "email_not_available", f"The e-mail address {email} is already in use."
            )
    if external_id is not None:
        other_id = await session.scalar(
            select(User.id).where(
                User.environment_id == environment_id, User.external_id == external_id
            )
        )
        if other_id is not None and other_id != exclude_id:
            raise BadRequest(
                "external_id_already_used", f"The external ID {external_id!r} is already in use."
            )


async def create_user(
    session: AsyncSession,
    environment_id: str,
    fields: dict[str, Any],
    *,
    user_id: str | None = None,
) -> User:
    """A new user; `user_id` pins the ID (seeds that must match IDs an app already stores)."""
    email = check_email(fields["email"])
    external_id = check_external_id(fields.get("external_id"))
    metadata = check_metadata(dict(fields.get("metadata") or {}))
    try:
        await _ensure_available(session, environment_id, email=email, external_id=external_id)
    except BadRequest as error:
        # The create endpoint reports conflicts as `user_creation_error` with the reason inside.
        raise BadRequest(
            "user_creation_error",
            f"Could not create the user: {error.message}",
            errors=[{"code": error.code, "message": error.message}],
        ) from None
    user = User(
        id=user_id or new_id("user"),
        environment_id=environment_id,
        email=email,
        email_normalized=normalize_email(email),
        email_verified=bool(fields.get("email_verified") or False),
        external_id=external_id,
        metadata_=metadata,
        **{name: fields.get(name) for name in PROFILE_FIELDS},
        **await _password_fields(fields),
    )
    session.add(user)
    await _flush_unique(session, email)
    return user


async def update_user(
    session: AsyncSession, environment_id: str, user_id: str, fields: dict[str, Any]
) -> User:
    user = await get_user(session, environment_id, user_id)
    if "email" in fields and fields["email"] is not None:
        email = check_email(fields["email"])
        if normalize_email(email) != user.email_normalized:
            await _ensure_available(session, environment_id, email=email, exclude_id=user.id)
            user.email_verified = False
        user.email, user.email_normalized = email, normalize_email(email)
    if "external_id" in fields:
        external_id = check_external_id(fields["external_id"])
        await _ensure_available(
            session, environment_id, external_id=external_id, exclude_id=user.id
        )
        user.external_id = external_id
    if "metadata" in fields:
        user.metadata_ = merge_metadata(user.metadata_ or {}, fields["metadata"])
    if fields.get("email_verified") is not None:
        user.email_verified = fields["email_verified"]
    for name in PROFILE_FIELDS:
        if name in fields:
            setattr(user, name, fields[name])
    for name, value in (await _password_fields(fields)).items():
        setattr(user, name, value)
    await _flush_unique(session, user.email)
    return user


async def delete_user(session: AsyncSession, environment_id: str, user_id: str) -> None:
    user = await get_user(session, environment_id, user_id)
    await session.delete(user)
    await session.flush()


async def _flush_unique(session: AsyncSession, email: str) -> None:
    # Two concurrent creates can both pass the availability check; the unique index decides.
    try:
        await session.flush()
    except IntegrityError:
        raise BadRequest(
            "email_not_available",
            f"The e-mail address or external ID of {email} is already in use.",
        ) from None
