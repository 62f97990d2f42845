"""Read `authkeep.toml` into typed values; every problem names its file, line and field."""

from __future__ import annotations

import tomllib
from pathlib import Path as FilePath
from urllib.parse import urlsplit

from authkeep.services.config_file import model
from authkeep.services.config_file.locate import format_path, value_lines
from authkeep.services.config_file.reader import ConfigError, Problem, Table
from authkeep.services.config_file.seed_reader import pinned_id, read_seed
from authkeep.services.environments import SignInSettings, check_origin, check_settings, check_uri


def load_toml(path: str | FilePath, display: str | None = None) -> model.Config:
    name = display or str(path)
    try:
        source = FilePath(path).read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError([f"{name}: cannot read the file ({error.strerror})"]) from None
    return parse_toml(source, name)


def parse_toml(source: str, name: str = "authkeep.toml") -> model.Config:
    try:
        data = tomllib.loads(source)
    except tomllib.TOMLDecodeError as error:
        # tomllib ends its message with "(at line L, column C)"; lead with the line instead.
        message = str(error)
        line = getattr(error, "lineno", None) or _line_of(message)
        text = message.split(" (at line")[0]
        raise ConfigError([f"{name}:{line}: {text}" if line else f"{name}: {text}"]) from None
    config = model.Config(name, {}, value_lines(source))
    problems: list[Problem] = []
    root = Table(data, (), problems)
    environments = root.table("environments")
    if environments is None and not problems:
        problems.append(Problem("environments", "required: declare at least [environments.NAME]"))
    for env_name in environments.data if environments else []:
        table = environments.table(env_name) if environments else None
        if table is not None:
            config.environments[env_name] = read_environment(env_name, table)
    root.finish()
    if problems:
        located = sorted(
            (config.line_of(p.path), config.where(p.path), p.message) for p in problems
        )
        raise ConfigError([f"{where}: {message}" for _, where, message in located])
    return config


def _line_of(message: str) -> int | None:
    marker = "(at line "
    if marker not in message:
        return None
    return int(message.split(marker)[1].split(",")[0])


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{value!r} is not an absolute http(s) URL")
    return value


def _setting(**changes: object) -> object:
    check_settings(SignInSettings(**changes))  # type: ignore[arg-type]
    return next(iter(changes.values()))


def _duration(table: Table, key: str, setting: str) -> int | None:
    raw = table.raw(key)
    if raw is None:
        return None
    path = (*table.path, key)
    if isinstance(raw, bool) or not isinstance(raw, int | str):
        table.problem(path, 'must be seconds (a number) or a duration like "15m" or "30d"')
        return None
    seconds = table.check(path, raw, model.parse_duration)
    if seconds is None:
        return None
    ok = table.check(path, seconds, lambda value: _setting(**{setting: value}))
    return None if ok is None else int(seconds)


def _choice(table: Table, key: str, choices: tuple[str, ...], required: bool = False) -> str | None:
    def check(value: str) -> str:
        if value not in choices:
            raise ValueError(f"{value!r} is not one of: {', '.join(choices)}")
        return value

    return table.checked(key, check, required=required)


def _unique(table: Table, key: str, values: tuple[str, ...] | None) -> tuple[str, ...] | None:
    if values is None:
        return None
    seen: set[str] = set()
    for index, value in enumerate(values):
        if value in seen:
            table.problem((*table.path, key, index), f"{value!r} is listed twice")
        seen.add(value)
    return tuple(dict.fromkeys(values))


def read_environment(name: str, table: Table) -> model.EnvironmentConfig:
    kind = _choice(table, "kind", model.KINDS, required=True) or "production"
    client_id = table.checked("client_id", pinned_id)
    homepage_url = table.checked("homepage_url", _http_url)
    redirect_uris = _unique(table, "redirect_uris", table.strings("redirect_uris", check_uri))
    logout_uris = _unique(table, "logout_uris", table.strings("logout_uris", check_uri))
    cors_origins = _unique(table, "cors_origins", table.strings("cors_origins", check_origin))
    issuer = table.checked("issuer", lambda value: str(_setting(issuer=value)))
    access_token_ttl = _duration(table, "access_token_ttl", "access_token_ttl")
    session_max_age = _duration(table, "session_max_age", "session_max_seconds")
    session_idle_timeout = _duration(table, "session_idle_timeout", "session_idle_seconds")
    signup = _choice(table, "signup", model.SIGNUP_MODES)
    email_verification_required = table.get("email_verification_required", bool)
    methods = table.strings("sign_in_methods", _sign_in_method)
    if methods is not None and not methods:
        table.problem((*table.path, "sign_in_methods"), "declare at least one method")
    multiple_roles = table.get("multiple_roles", bool)
    end_sessions = table.get("end_sessions_on_password_reset", bool)
    branding = _branding(table.table("branding"))
    permissions = _permissions(table)
    roles = _roles(table, permissions)
    seed = None
    seed_table = table.table("seed")
    if seed_table is not None:
        if kind != "development":
            table.problem(
                seed_table.path,
                "seed data is only for development environments; a production environment's "
                "users and organizations come through the API",
            )
        declared = {role.slug for role in roles} if roles is not None else None
        seed = read_seed(seed_table, declared, format_path((*table.path, "roles")))
    table.finish()
    return model.EnvironmentConfig(
        name=name,
        kind=kind,
        client_id=client_id,
        homepage_url=homepage_url,
        redirect_uris=redirect_uris,
        logout_uris=logout_uris,
        cors_origins=cors_origins,
        issuer=issuer,
        access_token_ttl=access_token_ttl,
        session_max_age=session_max_age,
        session_idle_timeout=session_idle_timeout,
        signup=signup,
        email_verification_required=email_verification_required,
        sign_in_methods=_unique(table, "sign_in_methods", methods),
        multiple_roles=multiple_roles,
        end_sessions_on_password_reset=end_sessions,
        branding=branding,
        permissions=permissions,
        roles=roles,
        seed=seed,
    )


def _sign_in_method(value: str) -> str:
    if value not in model.SIGN_IN_METHODS:
        raise ValueError(f"{value!r} is not one of: {', '.join(model.SIGN_IN_METHODS)}")
    return value


def _branding(table: Table | None) -> model.Branding | None:
    if table is None:
        return None
    branding = model.Branding(
        name=table.get("name", str),
        logo_url=table.checked("logo_url", lambda v: str(_setting(brand_logo_url=v))),
        color=table.checked("color", lambda v: str(_setting(brand_color=v))),
    )
    table.finish()
    return branding


def _permissions(table: Table) -> tuple[model.PermissionConfig, ...] | None:
    if not table.has("permissions"):
        table.raw("permissions")
        return None
    result: list[model.PermissionConfig] = []
    for item in table.tables("permissions"):
        slug = item.get("slug", str, required=True)
        name = item.get("name", str)
        description = item.get("description", str)
        item.finish()
        if slug is None:
            continue
        if any(p.slug == slug for p in result):
            item.problem((*item.path, "slug"), f"the permission {slug!r} is declared twice")
        result.append(model.PermissionConfig(slug, name or slug, description))
    return tuple(result)


def _roles(
    table: Table, permissions: tuple[model.PermissionConfig, ...] | None
) -> tuple[model.RoleConfig, ...] | None:
    if not table.has("roles"):
        table.raw("roles")
        return None
    declared = {p.slug for p in permissions} if permissions is not None else None
    result: list[model.RoleConfig] = []
    for index, item in enumerate(table.tables("roles")):
        slug = item.get("slug", str, required=True)
        name = item.get("name", str)
        description = item.get("description", str)
        role_permissions = item.strings("permissions") or ()
        default = bool(item.get("default", bool))
        item.finish()
        for position, permission in enumerate(role_permissions):
            if declared is not None and permission not in declared:
                item.problem(
                    (*item.path, "permissions", position),
                    f"{permission!r} is not declared in "
                    + format_path((*table.path, "permissions")),
                )
        if slug is None:
            continue
        if any(r.slug == slug for r in result):
            item.problem((*item.path, "slug"), f"the role {slug!r} is declared twice")
        priority = (index + 1) * 10  # listed highest priority first
        result.append(
            model.RoleConfig(
                slug,
                name or slug,
                description,
                tuple(sorted(set(role_permissions))),
                default,
                priority,
            )
        )
    defaults = [role.slug for role in result if role.default]
    if result and len(defaults) != 1:
        table.problem(
            (*table.path, "roles"),
            "exactly one role has `default = true` (the role of a new member), "
            f"not {len(defaults)}",
        )
    return tuple(result)
