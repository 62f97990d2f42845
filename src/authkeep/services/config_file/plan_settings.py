"""Plan the settings of an environment: sign-in settings, branding, URIs and origins."""

from __future__ import annotations

from typing import Any

from authkeep.services import environments
from authkeep.services.config_file import model
from authkeep.services.config_file.changes import Context, Plan, Step, show

# File name -> field of `SignInSettings`; the others live in the settings JSON under their own key.
_SIGN_IN_FIELDS = {
    "issuer": "issuer",
    "access_token_ttl": "access_token_ttl",
    "session_max_age": "session_max_seconds",
    "session_idle_timeout": "session_idle_seconds",
    "signup": "signup",
    "email_verification_required": "email_verification_required",
}
_SETTINGS_KEYS = {
    "homepage_url": "homepage_url",
    "sign_in_methods": "auth_methods",
    "multiple_roles": "multiple_roles",
    "end_sessions_on_password_reset": "end_sessions_on_password_reset",
}
_DURATIONS = ("access_token_ttl", "session_max_age", "session_idle_timeout")
_BRANDING = ("name", "logo_url", "color")


def _shown(name: str, value: Any) -> str:
    if name in _DURATIONS and isinstance(value, int):
        return model.format_duration(value)
    if name == "issuer" and not value:
        return "(default)"
    return show(value)


def _configure(**changes: Any) -> Step:
    async def step(context: Context) -> None:
        assert context.environment is not None
        await environments.configure_environment(
            context.session, context.environment, environments.SignInSettings(**changes)
        )

    return step


def _set_setting(key: str, value: Any) -> Step:
    async def step(context: Context) -> None:
        assert context.environment is not None
        settings = dict(context.environment.settings or {})
        settings[key] = list(value) if isinstance(value, tuple) else value
        context.environment.settings = settings  # a new dict, so the JSON column is written

    return step


def plan_settings(
    plan: Plan, desired: model.EnvironmentConfig, current: model.EnvironmentConfig
) -> None:
    sign = "+" if plan.is_new else "~"
    for name in (*_SIGN_IN_FIELDS, *_SETTINGS_KEYS):
        wanted, now = getattr(desired, name), getattr(current, name)
        if wanted is None or wanted == now:
            continue
        if name in _SIGN_IN_FIELDS:
            value = wanted.replace("-", "_") if name == "signup" else wanted
            step = _configure(**{_SIGN_IN_FIELDS[name]: value})
        else:
            step = _set_setting(_SETTINGS_KEYS[name], wanted)
        detail = (
            _shown(name, wanted)
            if plan.is_new
            else f"{_shown(name, now)} -> {_shown(name, wanted)}"
        )
        plan.add(sign, name, detail, step)
    unserved = [
        method
        for method in desired.sign_in_methods or ()
        if method not in model.SERVED_SIGN_IN_METHODS
    ]
    if unserved:
        plan.notes.append(
            f"sign_in_methods: {', '.join(unserved)} recorded; the hosted pages offer only "
            f"{', '.join(model.SERVED_SIGN_IN_METHODS)} today"
        )
    if desired.branding is not None and current.branding is not None:
        for name in _BRANDING:
            wanted, now = getattr(desired.branding, name), getattr(current.branding, name)
            if wanted is None or (wanted or None) == now:
                continue
            detail = show(wanted) if plan.is_new else f"{show(now)} -> {show(wanted)}"
            plan.add(sign, f"branding.{name}", detail, _configure(**{f"brand_{name}": wanted}))


def plan_uris(
    plan: Plan, desired: model.EnvironmentConfig, current: model.EnvironmentConfig
) -> None:
    for subject, wanted, now, add, remove in (
        (
            "redirect_uri",
            desired.redirect_uris,
            current.redirect_uris or (),
            environments.add_redirect_uri,
            environments.remove_redirect_uri,
        ),
        (
            "logout_uri",
            desired.logout_uris,
            current.logout_uris or (),
            environments.add_logout_uri,
            environments.remove_logout_uri,
        ),
        (
            "cors_origin",
            desired.cors_origins,
            current.cors_origins or (),
            environments.add_cors_origin,
            environments.remove_cors_origin,
        ),
    ):
        if wanted is None:
            continue
        for value in wanted:
            if value not in now:
                plan.add("+", subject, value, _uri_step(add, value))
        for value in now:
            if value not in wanted:
                plan.add("-", subject, value, _uri_step(remove, value))
    wanted_uris, now_uris = desired.redirect_uris, current.redirect_uris or ()
    if wanted_uris and (set(wanted_uris) != set(now_uris) or wanted_uris[0] != now_uris[0]):
        if now_uris and wanted_uris[0] != now_uris[0]:
            plan.add("~", "default redirect_uri", f"{now_uris[0]} -> {wanted_uris[0]}")
        # Adding and removing may leave another URI as the default; the file's first one is.
        plan.add("", "default redirect_uri", step=_default_redirect(wanted_uris[0]))


def _uri_step(action: Any, value: str) -> Step:
    async def step(context: Context) -> None:
        assert context.environment is not None
        await action(context.session, context.environment.id, value)

    return step


def _default_redirect(uri: str) -> Step:
    async def step(context: Context) -> None:
        assert context.environment is not None
        for row in await environments.list_redirect_uris(context.session, context.environment.id):
            row.is_default = row.uri == uri

    return step
