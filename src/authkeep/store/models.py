"""Tables. The same schema on SQLite and PostgreSQL; every row carries its environment."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    """Now, truncated to milliseconds: the precision of the wire format (CONTRACT.md §0.2)."""
    now = dt.datetime.now(dt.UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC datetimes on both backends (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def _env_fk() -> Mapped[str]:
    return mapped_column(String(64), ForeignKey("environments.id", ondelete="CASCADE"), index=True)


class Timestamps:
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Environment(Timestamps, Base):
    __tablename__ = "environments"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    # "development" environments get loopback redirect URIs on any port (RFC 8252 §7.3);
    # "production" ones match exactly.
    kind: Mapped[str] = mapped_column(String(20))
    issuer: Mapped[str | None] = mapped_column(Text)
    access_token_ttl: Mapped[int] = mapped_column(Integer, default=300)
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Client(Timestamps, Base):
    __tablename__ = "clients"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    environment_id: Mapped[str] = _env_fk()
    name: Mapped[str] = mapped_column(String(200))


class RedirectUri(Timestamps, Base):
    __tablename__ = "redirect_uris"
    __table_args__ = (UniqueConstraint("client_id", "uri"),)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    environment_id: Mapped[str] = _env_fk()
    client_id: Mapped[str] = mapped_column(String(64), ForeignKey("clients.id", ondelete="CASCADE"))
    uri: Mapped[str] = mapped_column(String(2048))
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)


class LogoutUri(Timestamps, Base):
    __tablename__ = "logout_uris"
    __table_args__ = (UniqueConstraint("client_id", "uri"),)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    environment_id: Mapped[str] = _env_fk()
    client_id: Mapped[str] = mapped_column(String(64), ForeignKey("clients.id", ondelete="CASCADE"))
    uri: Mapped[str] = mapped_column(String(2048))


class CorsOrigin(Timestamps, Base):
    __tablename__ = "cors_origins"
    __table_args__ = (UniqueConstraint("client_id", "origin"),)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    environment_id: Mapped[str] = _env_fk()
    client_id: Mapped[str] = mapped_column(String(64), ForeignKey("clients.id", ondelete="CASCADE"))
    origin: Mapped[str] = mapped_column(String(2048))


class ApiKey(Timestamps, Base):
    __tablename__ = "api_keys"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    environment_id: Mapped[str] = _env_fk()
    name: Mapped[str] = mapped_column(String(200))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # First characters only, so people can tell keys apart in `authkeep api-keys list`.
    display_prefix: Mapped[str] = mapped_column(String(32))
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class SigningKey(Timestamps, Base):
    __tablename__ = "signing_keys"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    environment_id: Mapped[str] = _env_fk()
    kid: Mapped[str] = mapped_column(String(64), unique=True)
    private_key_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    certificate_der: Mapped[bytes] = mapped_column(LargeBinary)
    # Published in JWKS from creation; signs from `active_from`; dropped from JWKS after
    # `retire_at` (set on rotation to when every token it signed has expired).
    active_from: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    retire_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class User(Timestamps, Base):
    __tablename__ = "users"
    __table_args__ = (
        UniqueConstraint("environment_id", "email_normalized"),
        UniqueConstraint("environment_id", "external_id"),
    )
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    environment_id: Mapped[str] = _env_fk()
    email: Mapped[str] = mapped_column(String(320))
    email_normalized: Mapped[str] = mapped_column(String(320))
    email_verified: Mapped[bool] = mapped_column(Boolean, default=False)
    first_name: Mapped[str | None] = mapped_column(Text)
    last_name: Mapped[str | None] = mapped_column(Text)
    name: Mapped[str | None] = mapped_column(Text)
    profile_picture_url: Mapped[str | None] = mapped_column(Text)
    external_id: Mapped[str | None] = mapped_column(String(128))
    metadata_: Mapped[dict[str, str]] = mapped_column("metadata", JSON, default=dict)
    locale: Mapped[str | None] = mapped_column(String(35))
    password_hash: Mapped[str | None] = mapped_column(Text)
    last_sign_in_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class Organization(Timestamps, Base):
    __tablename__ = "organizations"
    __table_args__ = (UniqueConstraint("environment_id", "external_id"),)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    environment_id: Mapped[str] = _env_fk()
    name: Mapped[str] = mapped_column(Text)
    external_id: Mapped[str | None] = mapped_column(String(128))
    metadata_: Mapped[dict[str, str]] = mapped_column("metadata", JSON, default=dict)
    stripe_customer_id: Mapped[str | None] = mapped_column(String(255))
    allow_profiles_outside_organization: Mapped[bool] = mapped_column(Boolean, default=False)
    domains: Mapped[list[OrganizationDomain]] = relationship(
        order_by="OrganizationDomain.id", lazy="selectin", cascade="all, delete-orphan"
    )


class OrganizationDomain(Timestamps, Base):
    __tablename__ = "organization_domains"
    __table_args__ = (UniqueConstraint("environment_id", "domain"),)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    environment_id: Mapped[str] = _env_fk()
    organization_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    domain: Mapped[str] = mapped_column(String(253))
    state: Mapped[str] = mapped_column(String(20))
    verification_strategy: Mapped[str] = mapped_column(String(10))
    verification_token: Mapped[str] = mapped_column(String(64))
    verification_prefix: Mapped[str] = mapped_column(String(100))


class Permission(Timestamps, Base):
    __tablename__ = "permissions"
    __table_args__ = (UniqueConstraint("environment_id", "slug"),)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    environment_id: Mapped[str] = _env_fk()
    slug: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    system: Mapped[bool] = mapped_column(Boolean, default=False)
    resource_type_slug: Mapped[str] = mapped_column(String(100), default="organization")


class Role(Timestamps, Base):
    """An environment role (organization_id null) or an organization's own role (`org-...`)."""

    __tablename__ = "roles"
    __table_args__ = (UniqueConstraint("environment_id", "organization_id", "slug"),)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    environment_id: Mapped[str] = _env_fk()
    organization_id: Mapped[str | None] = mapped_column(
        String(64), ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    slug: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    # Lower comes first: the membership's `role` is its highest-priority role (§6.4).
    priority: Mapped[int] = mapped_column(Integer, default=100)
    permissions: Mapped[list[Permission]] = relationship(
        secondary="role_permissions", order_by="Permission.slug", lazy="selectin"
    )


class RolePermission(Base):
    __tablename__ = "role_permissions"
    role_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("roles.id", ondelete="CASCADE"), primary_key=True
    )
    permission_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("permissions.id", ondelete="CASCADE"), primary_key=True
    )


class OrganizationMembership(Timestamps, Base):
    __tablename__ = "organization_memberships"
    __table_args__ = (UniqueConstraint("organization_id", "user_id"),)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    environment_id: Mapped[str] = _env_fk()
    user_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    organization_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(20))
    directory_managed: Mapped[bool] = mapped_column(Boolean, default=False)
    custom_attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    user: Mapped[User] = relationship(lazy="joined", innerjoin=True)
    organization: Mapped[Organization] = relationship(lazy="joined", innerjoin=True)
    roles: Mapped[list[Role]] = relationship(
        secondary="membership_roles", order_by="Role.priority", lazy="selectin"
    )


class MembershipRole(Base):
    __tablename__ = "membership_roles"
    membership_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("organization_memberships.id", ondelete="CASCADE"), primary_key=True
    )
    role_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("roles.id", ondelete="CASCADE"), primary_key=True
    )


class IdempotencyRecord(Base):
    """The first result of a POST carrying an `Idempotency-Key`, replayed for retries (§1.2)."""

    __tablename__ = "idempotency_records"
    __table_args__ = (UniqueConstraint("environment_id", "key"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    environment_id: Mapped[str] = _env_fk()
    key: Mapped[str] = mapped_column(String(255))
    request_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


Index("ix_users_env_id", User.environment_id, User.id)
Index("ix_organizations_env_id", Organization.environment_id, Organization.id)


class AuthorizationRequest(Base):
    """A pending `GET /user_management/authorize`, kept while the person uses the hosted pages."""

    __tablename__ = "authorization_requests"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    environment_id: Mapped[str] = _env_fk()
    client_id: Mapped[str] = mapped_column(String(64), ForeignKey("clients.id", ondelete="CASCADE"))
    redirect_uri: Mapped[str] = mapped_column(String(2048))
    state: Mapped[str | None] = mapped_column(Text)
    code_challenge: Mapped[str | None] = mapped_column(String(128))
    screen_hint: Mapped[str] = mapped_column(String(20), default="sign-in")
    login_hint: Mapped[str | None] = mapped_column(String(320))
    organization_id: Mapped[str | None] = mapped_column(String(64))
    user_id: Mapped[str | None] = mapped_column(String(64))  # known once the person signed in
    auth_method: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)


class AuthorizationCode(Base):
    """Single use, short-lived, bound to client, redirect URI and PKCE challenge (RFC 6749 §4.1)."""

    __tablename__ = "authorization_codes"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    environment_id: Mapped[str] = _env_fk()
    client_id: Mapped[str] = mapped_column(String(64), ForeignKey("clients.id", ondelete="CASCADE"))
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    redirect_uri: Mapped[str] = mapped_column(String(2048))
    code_challenge: Mapped[str | None] = mapped_column(String(128))
    user_id: Mapped[str] = mapped_column(String(64), ForeignKey("users.id", ondelete="CASCADE"))
    organization_id: Mapped[str | None] = mapped_column(String(64))
    auth_method: Mapped[str] = mapped_column(String(40))
    auth_time: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    ip_address: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # The session the code was exchanged for: revoked if the code is ever replayed.
    session_id: Mapped[str | None] = mapped_column(String(64))


class Session(Timestamps, Base):
    __tablename__ = "sessions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    environment_id: Mapped[str] = _env_fk()
    client_id: Mapped[str] = mapped_column(String(64), ForeignKey("clients.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    organization_id: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20), default="active")
    auth_method: Mapped[str] = mapped_column(String(40))
    auth_time: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    ip_address: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(Text)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    last_active_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    hosted_session_id: Mapped[str | None] = mapped_column(String(64))


class RefreshToken(Base):
    """Opaque, stored as a hash, rotated on every use. A rotated token presented again within
    the grace window gets its successor back; later, it revokes the whole session."""

    __tablename__ = "refresh_tokens"
    # Room on each page for the one update every token gets (migration 0004).
    __table_args__ = {"postgresql_with": {"fillfactor": 70}}
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    environment_id: Mapped[str] = _env_fk()
    session_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("sessions.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(20), default="active")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    rotated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    successor_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)


class HostedSession(Base):
    """The hosted pages' own sign-in (a cookie on authkeep's host) so a second authorize from the
    same browser needs no form."""

    __tablename__ = "hosted_sessions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    environment_id: Mapped[str] = _env_fk()
    user_id: Mapped[str] = mapped_column(String(64), ForeignKey("users.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    auth_method: Mapped[str] = mapped_column(String(40))
    auth_time: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class PendingAuthentication(Base):
    """Behind a `pending_authentication_token`: a sign-in that needs one more step (§3.6)."""

    __tablename__ = "pending_authentications"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    environment_id: Mapped[str] = _env_fk()
    client_id: Mapped[str] = mapped_column(String(64), ForeignKey("clients.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[str] = mapped_column(String(64), ForeignKey("users.id", ondelete="CASCADE"))
    auth_method: Mapped[str] = mapped_column(String(40))
    auth_time: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    ip_address: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class OutboxEmail(Base):
    """An e-mail waiting for, or done with, delivery (authkeep.mail: outbox and sender).

    Added in the transaction of the change that causes it, so a mail exists exactly when its
    change committed. A sender claims due rows by setting `claimed_until` (a lease) and commits
    that before it talks SMTP; a node that dies mid-send leaves the row to be claimed again once
    the lease has passed.
    """

    __tablename__ = "outbox_emails"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    environment_id: Mapped[str] = _env_fk()
    to: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(Text)
    html: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    template: Mapped[str] = mapped_column(String(40))
    # pending -> sent, or pending -> failed after the last attempt (authkeep.mail.sender).
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


Index("ix_outbox_emails_due", OutboxEmail.status, OutboxEmail.next_attempt_at)


def _user_fk(ondelete: str = "CASCADE", index: bool = True) -> Mapped[Any]:
    return mapped_column(String(64), ForeignKey("users.id", ondelete=ondelete), index=index)


class MagicAuthCode(Timestamps, Base):
    """A Magic Auth one-time code (CONTRACT.md §6.6), redeemed by the magic-auth grant (§3.2).

    `code_hash` (SHA-256, compared in constant time) checks a presented code; `code_encrypted`
    (SecretBox, associated data = the row's id) exists because `GET /user_management/magic_auth/
    {id}` returns the code, so apps that send their own e-mails can read it.
    """

    __tablename__ = "magic_auth_codes"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # magic_auth_...
    environment_id: Mapped[str] = _env_fk()
    user_id: Mapped[str] = _user_fk()
    email: Mapped[str] = mapped_column(String(320))
    code_hash: Mapped[str] = mapped_column(String(64))
    code_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    ip_address: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(Text)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class EmailVerification(Timestamps, Base):
    """A six-digit code proving a user owns their e-mail (§6.1, the 403
    `email_verification_required` of §3.6 and the email-verification grant). Code stored as for
    Magic Auth: `GET /user_management/email_verification/{id}` returns it."""

    __tablename__ = "email_verifications"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # email_verification_...
    environment_id: Mapped[str] = _env_fk()
    user_id: Mapped[str] = _user_fk()
    email: Mapped[str] = mapped_column(String(320))
    code_hash: Mapped[str] = mapped_column(String(64))
    code_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class PasswordReset(Timestamps, Base):
    """A password-reset token (§6.7). Looked up by `token_hash` on confirm; `token_encrypted`
    because `GET /user_management/password_reset/{id}` returns `password_reset_token` and the
    `password_reset_url` built from it."""

    __tablename__ = "password_resets"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # password_reset_...
    environment_id: Mapped[str] = _env_fk()
    user_id: Mapped[str] = _user_fk()
    email: Mapped[str] = mapped_column(String(320))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    token_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class Invitation(Timestamps, Base):
    """An invitation (§6.5). `state` stores pending, accepted or revoked; the wire's `expired`
    is computed from `expires_at` for a pending one. Every invitation object carries `token` and
    `accept_invitation_url`, so the token is kept encrypted (associated data = the row's id)
    beside the hash that `GET .../invitations/by_token/{token}` and `invitation_token` look up."""

    __tablename__ = "invitations"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # invitation_...
    environment_id: Mapped[str] = _env_fk()
    email: Mapped[str] = mapped_column(String(320))
    email_normalized: Mapped[str] = mapped_column(String(320))
    state: Mapped[str] = mapped_column(String(20), default="pending")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    token_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    organization_id: Mapped[str | None] = mapped_column(
        String(64), ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    role_slug: Mapped[str | None] = mapped_column(String(200))
    inviter_user_id: Mapped[str | None] = _user_fk("SET NULL", index=False)
    accepted_user_id: Mapped[str | None] = _user_fk("SET NULL", index=False)
    locale: Mapped[str | None] = mapped_column(String(35))
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    accepted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


Index("ix_invitations_env_email", Invitation.environment_id, Invitation.email_normalized)
