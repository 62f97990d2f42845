"""Bearer credentials for backend APIs: `Authorization: Bearer <access token or API key>`.

An access token (a JWT) is verified locally with the token verifier. A credential starting with
an API-key prefix (`sk_` by default) goes to an API-key validator instead: any callable taking the
key and returning an `ApiKey` or None, or the built-in one, which asks the server
(`POST /api_keys/validations` with `{"value": key}`, CONTRACT.md §6.11). Every refusal is an
`AuthenticationRequired` whose `www_authenticate()` names the problem (RFC 6750 §3):

    WWW-Authenticate: Bearer error="invalid_token", error_description="the token expired ..."

A request without credentials is told so the same way (`invalid_token`, "no access token ..."):
RFC 6750 §3.1 would rather leave the error out there, but a named reason is what people debugging
a 401 need, and clients treat both alike.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from authkeep.integrations.errors import (
    AuthenticationRequired,
    PermissionDenied,
    TokenInvalid,
    WrongClient,
)

__all__ = [
    "DEFAULT_API_KEY_PREFIXES",
    "ApiKey",
    "ApiKeyValidator",
    "AsyncApiKeyValidator",
    "api_key_from_validation",
    "bearer_credential",
    "token_refused",
    "www_authenticate",
]

DEFAULT_API_KEY_PREFIXES = ("sk_",)
_UNSAFE = re.compile(r"[^\x20\x21\x23-\x5b\x5d-\x7e]")  # RFC 6750 §3: no `"` or `\`, ASCII


@dataclass(frozen=True, slots=True)
class ApiKey:
    """A valid organization (or user) API key, as the validator describes it.

    >>> key.organization_id, key.permissions
    ('org_01H...', ('posts:read',))
    """

    id: str
    name: str
    organization_id: str | None
    permissions: tuple[str, ...]
    owner: Mapping[str, Any] = field(default_factory=dict)
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @property
    def user_id(self) -> str | None:
        """The owning user of a user API key, else None."""
        owner_id = self.owner.get("id")
        return owner_id if self.owner.get("type") == "user" and isinstance(owner_id, str) else None

    @property
    def role(self) -> None:
        return None

    @property
    def roles(self) -> tuple[str, ...]:
        return ()


ApiKeyValidator: TypeAlias = Callable[[str], ApiKey | None]
AsyncApiKeyValidator: TypeAlias = Callable[[str], Awaitable[ApiKey | None] | ApiKey | None]


def bearer_credential(authorization: str | None) -> str:
    """The credential of an `Authorization: Bearer ...` header; `AuthenticationRequired` when
    there is none (401) or it is malformed (`invalid_request`, 400)."""
    if not authorization:
        raise AuthenticationRequired(
            "authentication_required", "no access token: send Authorization: Bearer <token>"
        )
    scheme, _, credential = authorization.strip().partition(" ")
    if scheme.lower() != "bearer":
        raise AuthenticationRequired(
            "authentication_required",
            f"the Authorization scheme must be Bearer, not {_safe(scheme)}",
        )
    credential = credential.strip()
    if not credential or " " in credential:
        refused = AuthenticationRequired(
            "invalid_request", "the Bearer credential is empty or has spaces", "invalid_request"
        )
        refused.status = 400
        raise refused
    return credential


def token_refused(error: TokenInvalid) -> AuthenticationRequired:
    """The 401 for a token the verifier refused, keeping its code and reason."""
    if isinstance(error, WrongClient):
        message = f"the access token belongs to another client ({error})"
    else:
        message = f"the access token is not valid: {error}"
    return AuthenticationRequired(error.code, message)


def api_key_from_validation(body: Any) -> ApiKey | None:
    """Read `{"api_key": {...}}` or `{"api_key": null}` from `POST /api_keys/validations`."""
    member = body.get("api_key") if isinstance(body, dict) else None
    if not isinstance(member, dict) or not isinstance(member.get("id"), str):
        return None
    owner: dict[str, Any] = member["owner"] if isinstance(member.get("owner"), dict) else {}
    organization_id = owner.get("organization_id") or (
        owner.get("id") if owner.get("type") == "organization" else None
    )
    permissions = member.get("permissions") or []
    return ApiKey(
        id=member["id"],
        name=str(member.get("name") or ""),
        organization_id=organization_id if isinstance(organization_id, str) else None,
        permissions=tuple(p for p in permissions if isinstance(p, str)),
        owner=owner,
        raw=member,
    )


def www_authenticate(error: AuthenticationRequired | PermissionDenied) -> str:
    """The `WWW-Authenticate` value for a refusal."""
    if isinstance(error, PermissionDenied):
        return f'Bearer error="insufficient_scope", error_description="{_safe(str(error))}"'
    if error.error is None:
        return "Bearer"
    return f'Bearer error="{error.error}", error_description="{_safe(str(error))}"'


def has_api_key_prefix(credential: str, prefixes: tuple[str, ...]) -> bool:
    return credential.startswith(prefixes)


def _safe(text: str) -> str:
    return _UNSAFE.sub("'", text)[:300]
