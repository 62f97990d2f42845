"""The library's settings: one frozen object, read from the variables authkit-nextjs reads.

    config = AuthKitConfig.from_env()                       # WORKOS_* variables
    config = AuthKitConfig.from_env(cookie_name="app-session")  # explicit overrides win
    config = AuthKitConfig(client_id=..., cookie_password=..., redirect_uri=..., base_url=...)

Variables (CONTRACT.md §1.1, §9.1), each overridden by the keyword of the same meaning:

* `WORKOS_CLIENT_ID` (`client_id`), required.
* `WORKOS_API_KEY` (`api_key`): sent as `client_secret`; without one the library is a public
  client and relies on PKCE alone, which authkeep and WorkOS both accept.
* `WORKOS_REDIRECT_URI` or `NEXT_PUBLIC_WORKOS_REDIRECT_URI` (`redirect_uri`), required: the
  absolute URL of the app's callback route, registered with the server.
* `WORKOS_COOKIE_PASSWORD` (`cookie_password`), required, at least 32 characters. For rotation
  give a JSON object of id to password, `{"2": "new...", "1": "old..."}`: cookies are sealed with
  the highest id and opened with the id they name, as iron-session does.
* `WORKOS_COOKIE_NAME` (`cookie_name`, default `wos-session`), `WORKOS_COOKIE_DOMAIN`
  (`cookie_domain`), `WORKOS_COOKIE_MAX_AGE` (`cookie_max_age`, seconds, default 400 days),
  `WORKOS_COOKIE_SAMESITE` (`cookie_same_site`: `lax` default, `strict`, `none`).
* The server (`base_url`): `WORKOS_API_HOSTNAME` (default `api.workos.com`), `WORKOS_API_PORT`,
  `WORKOS_API_HTTPS` (unset or `true` means https, any other value http), as authkit-nextjs;
  else workos-python's `WORKOS_BASE_URL`; else `https://api.workos.com`.

Cookies are `Secure` unless the redirect URI is plain http on a loopback host (local development),
or `cookie_secure` says otherwise; `SameSite=None` always comes with `Secure`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any
from urllib.parse import urlsplit

from authkeep.integrations.errors import ConfigurationError
from authkeep.integrations.sealing import Password, PasswordError, seal_data

__all__ = ["AuthKitConfig"]

DEFAULT_BASE_URL = "https://api.workos.com"
DEFAULT_MAX_AGE = 400 * 24 * 3600  # authkit-nextjs: 34 560 000 s, the longest browsers keep
LOOPBACK_HOSTS = frozenset(("localhost", "127.0.0.1", "::1"))
SAME_SITE = frozenset(("lax", "strict", "none"))


@dataclass(frozen=True, slots=True)
class AuthKitConfig:
    """Everything the session core needs; checked when built (`ConfigurationError`).

    >>> AuthKitConfig(client_id="client_01H...", cookie_password="x" * 32,
    ...               redirect_uri="http://localhost:8000/auth/callback").cookie_secure
    False
    """

    client_id: str
    cookie_password: Password
    redirect_uri: str
    api_key: str | None = None
    base_url: str = DEFAULT_BASE_URL
    cookie_name: str = "wos-session"
    cookie_domain: str | None = None
    cookie_max_age: int = DEFAULT_MAX_AGE
    cookie_same_site: str = "lax"
    cookie_secure: bool | None = None  # None: decided from the redirect URI (see above)
    refresh_margin: float | None = None  # None: 30 s (60 s past 5-minute tokens), <= 1/10 life
    refresh_reuse_seconds: float = 10.0  # a refresh result serves the same token this long
    timeout: float = 10.0  # seconds per request to the server

    def __post_init__(self) -> None:
        if not self.client_id:
            raise ConfigurationError("set WORKOS_CLIENT_ID (client_id): the client ID")
        if not self.cookie_password:
            raise ConfigurationError(
                "set WORKOS_COOKIE_PASSWORD (cookie_password): 32 or more random characters"
            )
        try:
            seal_data(0, self.cookie_password)
        except PasswordError as error:
            raise ConfigurationError(f"WORKOS_COOKIE_PASSWORD is unusable: {error}") from None
        redirect = urlsplit(self.redirect_uri or "")
        if redirect.scheme not in ("http", "https") or not redirect.hostname:
            raise ConfigurationError(
                "set WORKOS_REDIRECT_URI (redirect_uri) to the absolute http(s) URL of the "
                f"callback route, not {self.redirect_uri!r}"
            )
        base = urlsplit(self.base_url)
        if base.scheme not in ("http", "https") or not base.hostname:
            raise ConfigurationError(f"base_url must be an http(s) URL, not {self.base_url!r}")
        object.__setattr__(self, "base_url", self.base_url.rstrip("/"))
        same_site = self.cookie_same_site.lower()
        if same_site not in SAME_SITE:
            raise ConfigurationError(
                f"WORKOS_COOKIE_SAMESITE must be lax, strict or none, not {self.cookie_same_site!r}"
            )
        object.__setattr__(self, "cookie_same_site", same_site)
        if self.cookie_max_age < 0:
            raise ConfigurationError("WORKOS_COOKIE_MAX_AGE must be a number of seconds >= 0")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> AuthKitConfig:
        """Read the `WORKOS_*` variables (or `environ`); keywords override single settings."""
        env = os.environ if environ is None else environ
        known = {f.name for f in fields(cls)}
        unknown = set(overrides) - known
        if unknown:
            raise TypeError(f"unknown settings: {', '.join(sorted(unknown))}")
        values: dict[str, Any] = {
            "client_id": env.get("WORKOS_CLIENT_ID", ""),
            "api_key": env.get("WORKOS_API_KEY") or None,
            "redirect_uri": env.get("WORKOS_REDIRECT_URI")
            or env.get("NEXT_PUBLIC_WORKOS_REDIRECT_URI", ""),
            "cookie_password": _password(env.get("WORKOS_COOKIE_PASSWORD", "")),
            "base_url": _base_url(env),
        }
        if env.get("WORKOS_COOKIE_NAME"):
            values["cookie_name"] = env["WORKOS_COOKIE_NAME"]
        if env.get("WORKOS_COOKIE_DOMAIN"):
            values["cookie_domain"] = env["WORKOS_COOKIE_DOMAIN"]
        if env.get("WORKOS_COOKIE_MAX_AGE"):
            values["cookie_max_age"] = _integer(env["WORKOS_COOKIE_MAX_AGE"], "COOKIE_MAX_AGE")
        if env.get("WORKOS_COOKIE_SAMESITE"):
            values["cookie_same_site"] = env["WORKOS_COOKIE_SAMESITE"]
        values.update(overrides)
        return cls(**values)

    @property
    def is_secure(self) -> bool:
        """Whether cookies carry `Secure`."""
        if self.cookie_same_site == "none":
            return True
        if self.cookie_secure is not None:
            return self.cookie_secure
        redirect = urlsplit(self.redirect_uri)
        return not (redirect.scheme == "http" and redirect.hostname in LOOPBACK_HOSTS)

    @property
    def app_origin(self) -> str:
        """`scheme://host[:port]` of the redirect URI: the origin relative paths belong to."""
        redirect = urlsplit(self.redirect_uri)
        return f"{redirect.scheme}://{redirect.netloc}"


def _password(value: str) -> Password:
    if value.startswith("{"):
        try:
            parsed = json.loads(value)
        except ValueError:
            raise ConfigurationError(
                "WORKOS_COOKIE_PASSWORD starts with { but is not a JSON object of id to password"
            ) from None
        if not isinstance(parsed, dict) or not all(isinstance(v, str) for v in parsed.values()):
            raise ConfigurationError("WORKOS_COOKIE_PASSWORD: the JSON values must be strings")
        return {str(k): v for k, v in parsed.items()}
    return value


def _base_url(env: Mapping[str, str]) -> str:
    hostname = env.get("WORKOS_API_HOSTNAME")
    if hostname:
        https = env.get("WORKOS_API_HTTPS")
        scheme = "https" if https is None or https == "true" else "http"
        port = env.get("WORKOS_API_PORT")
        host = f"[{hostname}]" if ":" in hostname else hostname
        if port:
            return f"{scheme}://{host}:{_integer(port, 'API_PORT')}"
        return f"{scheme}://{host}"
    return env.get("WORKOS_BASE_URL") or DEFAULT_BASE_URL


def _integer(value: str, name: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise ConfigurationError(f"WORKOS_{name} must be an integer, not {value!r}") from None
