"""The JSON request bodies of the API, as pydantic models: validated by `wire.parse_body`.

They live apart from their endpoints so that pydantic (~7 MB of a worker's memory with its
compiled core) is imported only when a body is first validated: a worker that serves tokens,
JWKS, hosted pages and reads never loads it. Endpoints import their model where they parse it.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Body(BaseModel):
    """Request bodies: unknown fields are rejected so a misspelt field is never silently lost."""

    model_config = ConfigDict(extra="forbid", strict=True, defer_build=True)


class NoFields(Body):
    """For endpoints that take no body: anything sent must be empty."""


Metadata = dict[str, str]
MetadataPatch = dict[str, str | None]


# /user_management/users (api/users.py)


class PasswordFields(Body):
    password: str | None = Field(default=None, max_length=1024)
    password_hash: str | None = Field(default=None, max_length=1024)
    password_hash_type: str | None = None
    password_salt_position: str | None = None


class CreateUser(PasswordFields):
    email: str = Field(max_length=320)
    first_name: str | None = Field(default=None, max_length=256)
    last_name: str | None = Field(default=None, max_length=256)
    name: str | None = Field(default=None, max_length=512)
    email_verified: bool | None = None
    external_id: str | None = None
    metadata: Metadata | None = None
    locale: str | None = Field(default=None, max_length=35)
    # Accepted for SDK compatibility (Radar signals); authkeep does not use them yet.
    ip_address: str | None = None
    user_agent: str | None = None
    signals_id: str | None = None


class UpdateUser(PasswordFields):
    email: str | None = Field(default=None, max_length=320)
    first_name: str | None = Field(default=None, max_length=256)
    last_name: str | None = Field(default=None, max_length=256)
    name: str | None = Field(default=None, max_length=512)
    email_verified: bool | None = None
    external_id: str | None = None
    metadata: MetadataPatch | None = None
    locale: str | None = Field(default=None, max_length=35)


# /user_management/sessions/revoke (api/sessions.py)


class RevokeSession(Body):
    session_id: str


# /organizations (api/organizations.py)


class DomainData(Body):
    domain: str = Field(max_length=253)
    state: str | None = None


class CreateOrganization(Body):
    name: str = Field(min_length=1, max_length=512)
    domain_data: list[DomainData] | None = Field(default=None, max_length=100)
    domains: list[str] | None = Field(default=None, max_length=100)
    allow_profiles_outside_organization: bool | None = None
    metadata: dict[str, str] | None = None
    external_id: str | None = None


class UpdateOrganization(Body):
    name: str | None = Field(default=None, min_length=1, max_length=512)
    domain_data: list[DomainData] | None = Field(default=None, max_length=100)
    domains: list[str] | None = Field(default=None, max_length=100)
    allow_profiles_outside_organization: bool | None = None
    metadata: dict[str, str | None] | None = None
    external_id: str | None = None
    stripe_customer_id: str | None = Field(default=None, max_length=255)


class CreateDomain(Body):
    domain: str = Field(max_length=253)
    organization_id: str


# /user_management/organization_memberships (api/memberships.py)


class CreateMembership(Body):
    user_id: str
    organization_id: str
    role_slug: str | None = None
    role_slugs: list[str] | None = Field(default=None, max_length=50)


class UpdateMembership(Body):
    role_slug: str | None = None
    role_slugs: list[str] | None = Field(default=None, max_length=50)


# /user_management/invitations (api/invitations.py)


class SendInvitation(Body):
    email: str = Field(max_length=320)
    organization_id: str | None = Field(default=None, max_length=64)
    role_slug: str | None = Field(default=None, max_length=200)
    expires_in_days: int | None = None
    inviter_user_id: str | None = Field(default=None, max_length=64)
    locale: str | None = Field(default=None, max_length=35)


class ResendInvitation(Body):
    locale: str | None = Field(default=None, max_length=35)


# /user_management/redirect_uris and cors_origins (api/environment_config.py)


class CreateRedirectUri(Body):
    uri: str = Field(min_length=1, max_length=2048)


class CreateCorsOrigin(Body):
    origin: str = Field(min_length=1, max_length=2048)


# /user_management/users/{id}/email_verification (api/email_verification.py)


class SendVerification(Body):
    locale: str | None = Field(default=None, max_length=35)


class ConfirmVerification(Body):
    code: str = Field(max_length=64)


# /user_management/password_reset (api/password_reset.py)


class CreatePasswordReset(Body):
    email: str = Field(max_length=320)
    locale: str | None = Field(default=None, max_length=35)  # one language of mail so far


class ConfirmPasswordReset(Body):
    token: str = Field(max_length=512)
    new_password: str = Field(max_length=1024)


# /user_management/magic_auth (api/magic_auth.py)


class CreateMagicAuth(Body):
    email: str = Field(max_length=320)
    invitation_token: str | None = Field(default=None, max_length=512)
    ip_address: str | None = Field(default=None, max_length=64)
    user_agent: str | None = Field(default=None, max_length=2048)
    radar_auth_attempt_id: str | None = None
    signals_id: str | None = None
    locale: str | None = Field(default=None, max_length=35)


# /_authkeep/dev/sessions (api/devtools.py)


class MintSession(Body):
    user_id: str | None = Field(default=None, max_length=64)
    email: str | None = Field(default=None, max_length=320)
    organization_id: str | None = Field(default=None, max_length=64)
    role_slug: str | None = Field(default=None, max_length=200)
    access_token_ttl: int | None = None
    cookie_password: str | None = Field(default=None, max_length=1024)


# /_authkeep/dev/faults (api/faults.py)


class AddFault(Body):
    method: str = Field(max_length=10)
    path: str = Field(max_length=2048)
    status: int
    body: dict[str, Any] | None = None
    headers: dict[str, str] | None = None
    count: int = 1
