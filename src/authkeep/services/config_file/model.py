"""What an `authkeep.toml` says, as typed values.

`None` means "not in the file": apply leaves that part of the environment as it is. A list that is
in the file is the whole list: apply adds what is missing and removes what is not declared.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

KINDS = ("development", "production")
SIGNUP_MODES = ("open", "invite-only")
# Methods a file may declare; the hosted pages serve `password` today, and apply says so for the
# others instead of refusing a file written for a later version.
SIGN_IN_METHODS = (
    "password",
    "magic_auth",
    "passkey",
    "sso",
    "google_oauth",
    "microsoft_oauth",
    "github_oauth",
    "apple_oauth",
)
SERVED_SIGN_IN_METHODS = ("password",)
MEMBERSHIP_STATUSES = ("active", "inactive", "pending")
DOMAIN_STATES = ("verified", "pending")
# As the WorkOS emulator accepts: one URL path segment, so the resource stays reachable by its ID.
PINNED_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")

_DURATION = re.compile(r"^\s*(\d+)\s*(s|m|h|d)\s*$")
_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}


def parse_duration(value: int | str) -> int:
    """`300`, `"300s"`, `"5m"`, `"12h"` or `"30d"` -> seconds."""
    if isinstance(value, int):
        return value
    match = _DURATION.match(value)
    if not match:
        raise ValueError(f'{value!r} is not a duration like 300, "90s", "15m", "12h" or "30d"')
    return int(match.group(1)) * _UNITS[match.group(2)]


def format_duration(seconds: int) -> str:
    """The largest whole unit: 300 -> "5m", 2592000 -> "30d", 90 -> "90s"."""
    for unit, size in _UNITS.items():
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


@dataclass(frozen=True)
class Branding:
    name: str | None = None
    logo_url: str | None = None
    color: str | None = None


@dataclass(frozen=True)
class PermissionConfig:
    slug: str
    name: str
    description: str | None = None


@dataclass(frozen=True)
class RoleConfig:
    slug: str
    name: str
    description: str | None = None
    permissions: tuple[str, ...] = ()
    default: bool = False
    # Lower comes first. A file's roles get theirs from their order; None leaves it alone.
    priority: int | None = None


@dataclass(frozen=True)
class SeedUser:
    email: str
    id: str | None = None
    password: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    name: str | None = None
    email_verified: bool = True
    external_id: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SeedDomain:
    domain: str
    state: str = "verified"


@dataclass(frozen=True)
class SeedMembership:
    email: str
    roles: tuple[str, ...] = ()
    status: str = "active"


@dataclass(frozen=True)
class SeedOrganization:
    name: str
    id: str | None = None
    external_id: str | None = None
    domains: tuple[SeedDomain, ...] = ()
    memberships: tuple[SeedMembership, ...] = ()
    metadata: dict[str, str] = field(default_factory=dict)
    allow_profiles_outside_organization: bool = False


@dataclass(frozen=True)
class SeedApiKey:
    """A pinned API key value (from an emulator seed): it authenticates once applied."""

    name: str
    value: str


@dataclass(frozen=True)
class Seed:
    users: tuple[SeedUser, ...] = ()
    organizations: tuple[SeedOrganization, ...] = ()
    api_keys: tuple[SeedApiKey, ...] = ()


@dataclass(frozen=True)
class EnvironmentConfig:
    name: str
    kind: str
    client_id: str | None = None
    homepage_url: str | None = None
    redirect_uris: tuple[str, ...] | None = None  # the first is the default
    logout_uris: tuple[str, ...] | None = None
    cors_origins: tuple[str, ...] | None = None
    issuer: str | None = None  # "" restores the default issuer
    access_token_ttl: int | None = None
    session_max_age: int | None = None
    session_idle_timeout: int | None = None
    signup: str | None = None
    email_verification_required: bool | None = None
    sign_in_methods: tuple[str, ...] | None = None
    multiple_roles: bool | None = None
    end_sessions_on_password_reset: bool | None = None
    branding: Branding | None = None
    permissions: tuple[PermissionConfig, ...] | None = None
    roles: tuple[RoleConfig, ...] | None = None
    # A file's role and permission lists are complete; an emulator seed only adds to them.
    exclusive_roles: bool = True
    seed: Seed | None = None


@dataclass
class Config:
    """A loaded file: its environments in file order, and where each value was written."""

    path: str
    environments: dict[str, EnvironmentConfig]
    lines: dict[str, int] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)  # what the file declared that is not applied

    def line_of(self, path: str) -> int:
        """The line of `path`, or of the nearest enclosing value the file wrote (0: none)."""
        probe = path
        while probe:
            if probe in self.lines:
                return self.lines[probe]
            probe = re.sub(r"(\[\d+\]|\.[^.\[]+|^[^.\[]+)$", "", probe)
        return 0

    def where(self, path: str) -> str:
        """`authkeep.toml:14: environments.dev.redirect_uris[2]` for messages."""
        line = self.line_of(path)
        return f"{self.path}:{line}: {path}" if line else f"{self.path}: {path}"
