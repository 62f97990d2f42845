"""The Django integration's settings: one `AuthKit` per process, built from `settings.AUTHKEEP`,
the `WORKOS_*` settings, then the environment.

    AUTHKEEP = {
        "client_id": "client_01H...",            # any AuthKitConfig field, by its name
        "redirect_uri": "http://localhost:8000/auth/callback",
        "api_key_validator": True,               # accept API keys on bearer routes (ask the server)
        "api_path_prefixes": ["/api/"],          # paths answered with JSON instead of redirects
        "sign_out_return_to": "/",               # where sign-out lands when none is asked for
        "user_model": True,                      # request.user a row of AUTH_USER_MODEL
        "update_user": "myapp.auth.update_user", # called on each sign-in (AuthKitBackend)
    }
    # or, as authkit-nextjs names them: WORKOS_CLIENT_ID = ..., WORKOS_COOKIE_PASSWORD = ...

`AUTHKEEP["authkit"]` may also be a ready `AuthKit`. Whatever is not set is read from the
environment (`AuthKitConfig.from_env`). Changing the settings (`override_settings` in tests)
drops the cached `AuthKit`. `user_model` defaults to whether `AuthKitBackend` is in
`AUTHENTICATION_BACKENDS`; see `authkeep.integrations.django.backends`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.module_loading import import_string

from authkeep.integrations.config import AuthKitConfig
from authkeep.integrations.errors import ConfigurationError
from authkeep.integrations.sync_client import AuthKit

__all__ = ["IntegrationSettings", "get_authkit", "integration_settings"]

_CONFIG_FIELDS = tuple(f.name for f in fields(AuthKitConfig))
_OPTIONS = (
    "authkit",
    "api_key_validator",
    "api_path_prefixes",
    "sign_out_return_to",
    "user_model",
    "update_user",
)
BACKEND = "authkeep.integrations.django.backends.AuthKitBackend"
_lock = threading.Lock()
_cached: IntegrationSettings | None = None


@dataclass(frozen=True, slots=True)
class IntegrationSettings:
    """The `AuthKit` and the options of the Django integration."""

    authkit: AuthKit
    api_path_prefixes: tuple[str, ...] = ("/api/",)
    sign_out_return_to: str | None = None
    user_model: bool = False
    update_user: Callable[..., Any] | None = None


def integration_settings() -> IntegrationSettings:
    """The process's settings, built on first use."""
    global _cached
    with _lock:
        if _cached is None:
            _cached = _build()
        return _cached


def get_authkit() -> AuthKit:
    """The process's `AuthKit`: for `authkit.refresh(...)`, `authkit.sign_in(...)`, ..."""
    return integration_settings().authkit


def _build() -> IntegrationSettings:
    options: dict[str, Any] = dict(getattr(settings, "AUTHKEEP", None) or {})
    unknown = set(options) - set(_CONFIG_FIELDS) - set(_OPTIONS)
    if unknown:
        raise ConfigurationError(f"unknown AUTHKEEP settings: {', '.join(sorted(unknown))}")
    authkit = options.pop("authkit", None)
    prefixes = tuple(options.pop("api_path_prefixes", ("/api/",)))
    sign_out_return_to = options.pop("sign_out_return_to", None)
    user_model = options.pop("user_model", None)
    if user_model is None:
        user_model = BACKEND in getattr(settings, "AUTHENTICATION_BACKENDS", ())
    update_user = options.pop("update_user", None)
    if isinstance(update_user, str):
        update_user = import_string(update_user)
    if authkit is None:
        validator = options.pop("api_key_validator", False)
        for name in _CONFIG_FIELDS:
            value = getattr(settings, f"WORKOS_{name.upper()}", None)
            if name not in options and value is not None:
                options[name] = value
        authkit = AuthKit(api_key_validator=validator, **options)
    elif not isinstance(authkit, AuthKit):
        raise ConfigurationError("AUTHKEEP['authkit'] must be an authkeep.integrations.AuthKit")
    return IntegrationSettings(authkit, prefixes, sign_out_return_to, bool(user_model), update_user)


@receiver(setting_changed)
def _settings_changed(*, setting: str, **kwargs: Any) -> None:
    global _cached
    if setting in ("AUTHKEEP", "AUTHENTICATION_BACKENDS") or setting.startswith("WORKOS_"):
        with _lock:
            _cached = None
