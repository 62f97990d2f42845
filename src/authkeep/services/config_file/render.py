"""Write environments as `authkeep.toml` text: what `authkeep export` prints.

The output is the normal form of a file: lists sorted (the default redirect URI first), durations
in their largest whole unit, roles highest priority first. Secrets are never written: no API keys,
no passwords.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import Any

from authkeep.services.config_file import model

_BARE = re.compile(r"^[A-Za-z0-9_-]+$")
HEADER = (
    "# authkeep.toml: environments as code. Apply with `authkeep apply`.\n"
    "# Written by `authkeep export`; API keys and passwords are never exported.\n"
)


def key(name: str) -> str:
    return name if _BARE.match(name) else json.dumps(name, ensure_ascii=False)


def value(item: Any) -> str:
    if isinstance(item, bool):
        return "true" if item else "false"
    if isinstance(item, int):
        return str(item)
    if isinstance(item, str):
        return json.dumps(item, ensure_ascii=False)
    if isinstance(item, tuple | list):
        return "[" + ", ".join(value(v) for v in item) + "]"
    if isinstance(item, dict):
        if not item:
            return "{}"
        return "{ " + ", ".join(f"{key(k)} = {value(v)}" for k, v in item.items()) + " }"
    raise TypeError(f"cannot write {item!r} as TOML")


def _pairs(pairs: dict[str, Any]) -> list[str]:
    lines = []
    for name, item in pairs.items():
        if item is None:
            continue
        if isinstance(item, tuple | list) and len(value(item)) > 80:
            lines += [f"{key(name)} = ["] + [f"  {value(v)}," for v in item] + ["]"]
        else:
            lines.append(f"{key(name)} = {value(item)}")
    return lines


def normalize(environment: model.EnvironmentConfig) -> model.EnvironmentConfig:
    """The environment as export would write it: secrets dropped, lists in their order."""
    seed = environment.seed
    if seed is not None:
        seed = model.Seed(
            users=tuple(
                sorted(
                    (replace(u, password=None) for u in seed.users), key=lambda u: u.email.lower()
                )
            ),
            organizations=tuple(
                sorted(
                    (
                        replace(
                            o,
                            domains=tuple(sorted(o.domains, key=lambda d: d.domain)),
                            memberships=tuple(sorted(o.memberships, key=lambda m: m.email.lower())),
                        )
                        for o in seed.organizations
                    ),
                    key=lambda o: (o.name, o.id or ""),
                )
            ),
        )
    redirects = environment.redirect_uris
    if redirects:
        redirects = (redirects[0], *sorted(redirects[1:]))
    return replace(
        environment,
        redirect_uris=redirects,
        logout_uris=_sorted(environment.logout_uris),
        cors_origins=_sorted(environment.cors_origins),
        sign_in_methods=environment.sign_in_methods,
        permissions=_sorted(environment.permissions, lambda p: p.slug),
        seed=seed,
    )


def _sorted(items: tuple[Any, ...] | None, by: Any = None) -> tuple[Any, ...] | None:
    return None if items is None else tuple(sorted(items, key=by))


def _duration(seconds: int | None) -> str | None:
    return None if seconds is None else model.format_duration(seconds)


def render(environments: list[model.EnvironmentConfig]) -> str:
    blocks = [HEADER]
    for environment in map(normalize, environments):
        blocks.append("\n".join(_environment(environment)) + "\n")
    return "\n".join(blocks)


def _environment(env: model.EnvironmentConfig) -> list[str]:
    base = f"environments.{key(env.name)}"
    lines = [f"[{base}]"]
    lines += _pairs(
        {
            "kind": env.kind,
            "client_id": env.client_id,
            "homepage_url": env.homepage_url,
            "redirect_uris": env.redirect_uris,
            "logout_uris": env.logout_uris,
            "cors_origins": env.cors_origins,
            "issuer": env.issuer or None,
            "access_token_ttl": _duration(env.access_token_ttl),
            "session_max_age": _duration(env.session_max_age),
            "session_idle_timeout": _duration(env.session_idle_timeout),
            "signup": env.signup,
            "email_verification_required": env.email_verification_required or None,
            "sign_in_methods": env.sign_in_methods,
            "multiple_roles": env.multiple_roles,
            "end_sessions_on_password_reset": env.end_sessions_on_password_reset,
        }
    )
    branding = env.branding
    if branding is not None and any((branding.name, branding.logo_url, branding.color)):
        lines += ["", f"[{base}.branding]"]
        lines += _pairs(
            {"name": branding.name, "logo_url": branding.logo_url, "color": branding.color}
        )
    for permission in env.permissions or ():
        lines += ["", f"[[{base}.permissions]]"]
        lines += _pairs(
            {
                "slug": permission.slug,
                "name": permission.name,
                "description": permission.description,
            }
        )
    for role in env.roles or ():
        lines += ["", f"[[{base}.roles]]"]
        lines += _pairs(
            {
                "slug": role.slug,
                "name": role.name,
                "description": role.description,
                "permissions": role.permissions,
                "default": role.default or None,
            }
        )
    if env.seed is not None:
        lines += _seed(f"{base}.seed", env.seed)
    return lines


def _seed(base: str, seed: model.Seed) -> list[str]:
    lines: list[str] = []
    for user in seed.users:
        lines += ["", f"[[{base}.users]]"]
        lines += _pairs(
            {
                "email": user.email,
                "id": user.id,
                "first_name": user.first_name,
                "last_name": user.last_name,
                "name": user.name,
                "email_verified": user.email_verified,
                "external_id": user.external_id,
                "metadata": user.metadata or None,
            }
        )
    for org in seed.organizations:
        lines += ["", f"[[{base}.organizations]]"]
        domains = [
            d.domain if d.state == "verified" else {"domain": d.domain, "state": d.state}
            for d in org.domains
        ]
        members = [_member(m) for m in org.memberships]
        lines += _pairs(
            {
                "name": org.name,
                "id": org.id,
                "external_id": org.external_id,
                "domains": domains or None,
                "allow_profiles_outside_organization": org.allow_profiles_outside_organization
                or None,
                "metadata": org.metadata or None,
            }
        )
        if members:
            lines += ["memberships = ["] + [f"  {value(m)}," for m in members] + ["]"]
    return lines


def _member(membership: model.SeedMembership) -> dict[str, Any]:
    member: dict[str, Any] = {"email": membership.email}
    if membership.roles:
        member["roles"] = membership.roles
    if membership.status != "active":
        member["status"] = membership.status
    return member
