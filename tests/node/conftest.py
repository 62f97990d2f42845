"""The sign-in fixtures (`env`, `admin`, `sdk`, `browser`) shared with tests/signin."""

from tests.signin.conftest import admin, browser, env, sdk

__all__ = ["admin", "browser", "env", "sdk"]
