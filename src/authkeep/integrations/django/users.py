"""`request.user` without Django's auth tables: who the session or bearer credential names.

`AuthKitUser` answers what views and templates usually ask of a user (`is_authenticated`, `id`,
`email`, names, `has_perm`) from the session's user and its access token's claims: the
organization, role and permissions of the token, not rows of `django.contrib.auth`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from authkeep.integrations.bearer import ApiKey
from authkeep.integrations.flows import Principal
from authkeep.integrations.session import AuthSession

__all__ = ["AnonymousUser", "AuthKitUser"]


@dataclass(frozen=True, slots=True)
class AuthKitUser:
    """A signed-in user (or an API key's owner). `principal` is the `AuthSession`,
    `AccessTokenClaims` or `ApiKey` it was made from.

    >>> request.user.email, request.user.role, request.user.has_perm("posts:write")
    ('ada@example.com', 'admin', True)
    """

    id: str | None
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    organization_id: str | None = None
    role: str | None = None
    roles: tuple[str, ...] = ()
    permissions: tuple[str, ...] = ()
    principal: Principal | None = field(default=None, repr=False, compare=False)

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False

    @classmethod
    def from_principal(cls, principal: Principal) -> AuthKitUser:
        if isinstance(principal, AuthSession):
            user = principal.user
            return cls(
                id=principal.user_id,
                email=_text(user.get("email")),
                first_name=_text(user.get("first_name")),
                last_name=_text(user.get("last_name")),
                organization_id=principal.organization_id,
                role=principal.role,
                roles=principal.roles,
                permissions=principal.permissions,
                principal=principal,
            )
        if isinstance(principal, ApiKey):
            return cls(
                id=principal.user_id,
                organization_id=principal.organization_id,
                permissions=principal.permissions,
                principal=principal,
            )
        return cls(
            id=principal.user_id,
            organization_id=principal.organization_id,
            role=principal.role,
            roles=principal.roles,
            permissions=principal.permissions,
            principal=principal,
        )

    @property
    def pk(self) -> str | None:
        return self.id

    @property
    def username(self) -> str:
        return self.email or self.id or ""

    def get_username(self) -> str:
        return self.username

    def get_full_name(self) -> str:
        return " ".join(part for part in (self.first_name, self.last_name) if part)

    def has_perm(self, permission: str, obj: Any = None) -> bool:
        """Whether the access token grants `permission` (a slug such as `posts:write`)."""
        return permission in self.permissions

    def has_perms(self, permissions: Iterable[str], obj: Any = None) -> bool:
        return all(self.has_perm(permission) for permission in permissions)

    def has_role(self, role: str) -> bool:
        return role == self.role or role in self.roles

    def __str__(self) -> str:
        return self.username


class AnonymousUser:
    """Nobody is signed in. Also usable as DRF's `UNAUTHENTICATED_USER`."""

    id = None
    pk = None
    email = None
    first_name = None
    last_name = None
    organization_id = None
    role = None
    roles: tuple[str, ...] = ()
    permissions: tuple[str, ...] = ()
    username = ""
    is_authenticated = False
    is_anonymous = True
    is_active = False
    is_staff = False
    is_superuser = False

    def get_username(self) -> str:
        return ""

    def has_perm(self, permission: str, obj: Any = None) -> bool:
        return False

    def has_perms(self, permissions: Iterable[str], obj: Any = None) -> bool:
        return False

    def has_role(self, role: str) -> bool:
        return False

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AnonymousUser)

    def __hash__(self) -> int:
        return 1

    def __str__(self) -> str:
        return "AnonymousUser"


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None
