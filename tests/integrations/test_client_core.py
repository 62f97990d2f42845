"""The session core's parts that need no server: settings from the WORKOS_* variables, return
paths, cookie attributes, password rotation, and the session cookie read and written by npm
iron-session in authkit-nextjs's shape."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from authkeep.integrations import (
    AuthKit,
    AuthKitConfig,
    ConfigurationError,
    Cookie,
    safe_return_to,
    seal_data,
    unseal_data,
)
from authkeep.integrations.session import SessionData
from tests.integrations.test_sealing import node, node_binary, ok  # noqa: F401  (fixtures)

PASSWORD = "p" * 32
ENV = {
    "WORKOS_CLIENT_ID": "client_01",
    "WORKOS_API_KEY": "sk_test_1",
    "WORKOS_REDIRECT_URI": "https://app.example.com/auth/callback",
    "WORKOS_COOKIE_PASSWORD": PASSWORD,
}


@pytest.mark.parametrize(
    ("variables", "base_url"),
    [
        ({}, "https://api.workos.com"),
        ({"WORKOS_API_HOSTNAME": "127.0.0.1", "WORKOS_API_PORT": "8720"}, "https://127.0.0.1:8720"),
        (
            {
                "WORKOS_API_HOSTNAME": "localhost",
                "WORKOS_API_HTTPS": "false",
                "WORKOS_API_PORT": "1",
            },
            "http://localhost:1",
        ),
        (
            {"WORKOS_API_HOSTNAME": "auth.example.com", "WORKOS_API_HTTPS": "true"},
            "https://auth.example.com",
        ),
        ({"WORKOS_API_HOSTNAME": "::1", "WORKOS_API_HTTPS": "no"}, "http://[::1]"),
        ({"WORKOS_BASE_URL": "http://127.0.0.1:8720/"}, "http://127.0.0.1:8720"),
    ],
)
def test_base_url_from_the_variables_authkit_nextjs_reads(
    variables: dict[str, str], base_url: str
) -> None:
    assert AuthKitConfig.from_env({**ENV, **variables}).base_url == base_url


def test_settings_from_the_environment_and_overrides() -> None:
    config = AuthKitConfig.from_env(
        {
            **ENV,
            "WORKOS_REDIRECT_URI": "",
            "NEXT_PUBLIC_WORKOS_REDIRECT_URI": "http://localhost:3000/callback",
            "WORKOS_COOKIE_NAME": "app-session",
            "WORKOS_COOKIE_DOMAIN": "example.com",
            "WORKOS_COOKIE_MAX_AGE": "3600",
            "WORKOS_COOKIE_SAMESITE": "Strict",
        },
        cookie_max_age=60,
    )
    assert config.redirect_uri == "http://localhost:3000/callback"
    assert (config.cookie_name, config.cookie_domain) == ("app-session", "example.com")
    assert (config.cookie_max_age, config.cookie_same_site) == (60, "strict")
    assert config.api_key == "sk_test_1" and config.is_secure is False  # http on localhost
    assert AuthKitConfig.from_env(ENV).is_secure is True
    assert AuthKitConfig.from_env(ENV, cookie_secure=False).is_secure is False
    none = AuthKitConfig.from_env({**ENV, "WORKOS_COOKIE_SAMESITE": "none"}, cookie_secure=False)
    assert none.is_secure is True  # browsers refuse SameSite=None without Secure
    rotated = AuthKitConfig.from_env(
        {**ENV, "WORKOS_COOKIE_PASSWORD": json.dumps({"2": "n" * 32, "1": PASSWORD})}
    )
    assert rotated.cookie_password == {"2": "n" * 32, "1": PASSWORD}


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"WORKOS_CLIENT_ID": ""}, "set WORKOS_CLIENT_ID"),
        ({"WORKOS_COOKIE_PASSWORD": ""}, "set WORKOS_COOKIE_PASSWORD"),
        ({"WORKOS_COOKIE_PASSWORD": "short"}, "WORKOS_COOKIE_PASSWORD is unusable"),
        ({"WORKOS_COOKIE_PASSWORD": "{not json"}, "not a JSON object"),
        ({"WORKOS_REDIRECT_URI": "/callback"}, "absolute http(s) URL"),
        ({"WORKOS_COOKIE_SAMESITE": "lenient"}, "lax, strict or none"),
        ({"WORKOS_COOKIE_MAX_AGE": "a year"}, "WORKOS_COOKIE_MAX_AGE must be an integer"),
        ({"WORKOS_API_HOSTNAME": "h", "WORKOS_API_PORT": "x"}, "WORKOS_API_PORT"),
    ],
)
def test_unusable_settings_name_the_variable(variables: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message.replace("(", r"\(").replace(")", r"\)")):
        AuthKitConfig.from_env({**ENV, **variables})


def test_unknown_override_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="cookie_nmae"):
        AuthKitConfig.from_env(ENV, cookie_nmae="x")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("/reports?year=2024#top", "/reports?year=2024#top"),
        ("/a/b%2F%2Fc", "/a/b%2F%2Fc"),
        ("/", "/"),
        (None, "/"),
        ("", "/"),
        ("//evil.example", "/"),
        ("/\\evil.example", "/"),
        ("\\\\evil.example", "/"),
        ("/\t/evil.example", "/"),
        ("/\n/evil.example", "/"),
        ("https://evil.example", "/"),
        ("javascript:alert(1)", "/"),
        ("reports", "/"),
        ("/caf\u00e9", "/"),
        ("/ spaced", "/"),
    ],
)
def test_return_paths(value: str | None, expected: str) -> None:
    assert safe_return_to(value) == expected


def test_cookie_headers() -> None:
    config = AuthKitConfig.from_env(ENV, cookie_domain="example.com", cookie_same_site="strict")
    core = AuthKit(config)
    session = core.session_cookie(SessionData("a.b.c", "r", {"id": "user_1"}))
    assert session.header().startswith(f"wos-session={session.value}; Path=/; Max-Age=34560000; ")
    assert session.header().endswith("; Domain=example.com; HttpOnly; Secure; SameSite=Strict")
    verifier = core.sign_in().cookies[0]
    # The verifier must reach the callback after a cross-site redirect: lax, callback path only.
    assert (verifier.path, verifier.domain, verifier.same_site) == ("/auth/callback", None, "lax")
    cleared = core.clear_session_cookie().header()
    assert "wos-session=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT" in cleared
    assert (
        Cookie("n", "v", None, secure=False, http_only=False).header()
        == "n=v; Path=/; SameSite=Lax"
    )


def test_password_rotation() -> None:
    old_cookie = seal_data(
        {"accessToken": "a.b.c", "refreshToken": "r", "user": {"id": "u"}}, PASSWORD
    )
    rotated = AuthKit(AuthKitConfig.from_env(ENV, cookie_password={"2": "n" * 32, "1": PASSWORD}))
    data, reason = rotated.read_session_cookie({"wos-session": old_cookie})
    assert reason == "ok" and data is not None and data.user == {"id": "u"}
    assert rotated.session_cookie(data).value.startswith("Fe26.2*2*")
    gone = AuthKit(AuthKitConfig.from_env(ENV, cookie_password="n" * 32))
    assert gone.read_session_cookie({"wos-session": old_cookie}) == (None, "invalid_session_cookie")


def test_the_session_cookie_is_authkit_nextjs_shaped_both_ways(node: Any) -> None:  # noqa: F811
    core = AuthKit(AuthKitConfig.from_env(ENV))
    user = {
        "object": "user",
        "id": "user_01",
        "email": "ada@example.com",
        "first_name": "Ada",
        "email_verified": True,
        "profile_picture_url": None,
        "metadata": {"plan_tier": "pro"},
    }
    ours = core.session_cookie(
        SessionData(
            "a.b.c", "refresh", user, {"email": "admin@example.com", "reason": "help"}, "Password"
        )
    ).value
    theirs_data = {
        "accessToken": "d.e.f",
        "refreshToken": "r2",
        "user": {"object": "user", "id": "user_02", "firstName": "Grace", "emailVerified": False},
        "authenticationMethod": "GoogleOAuth",
    }
    [opened, theirs] = node(
        {"op": "session.unseal", "seal": ours, "password": PASSWORD, "ttl": 0},
        {"op": "session.seal", "data": theirs_data, "password": PASSWORD, "ttl": 0},
    )
    assert ok(opened) == {
        "accessToken": "a.b.c",
        "refreshToken": "refresh",
        "user": {
            "object": "user",
            "id": "user_01",
            "email": "ada@example.com",
            "firstName": "Ada",
            "emailVerified": True,
            "profilePictureUrl": None,
            "metadata": {"plan_tier": "pro"},  # inside metadata, names are the app's own
        },
        "impersonator": {"email": "admin@example.com", "reason": "help"},
        "authenticationMethod": "Password",
    }
    data, reason = core.read_session_cookie({"wos-session": ok(theirs)})
    assert reason == "ok" and data is not None
    assert data.user == {
        "object": "user",
        "id": "user_02",
        "first_name": "Grace",
        "email_verified": False,
    }
    assert (data.access_token, data.refresh_token) == ("d.e.f", "r2")
    assert data.authentication_method == "GoogleOAuth"
    assert unseal_data(ours, PASSWORD)["user"]["firstName"] == "Ada"


def test_pending_sign_ins_are_capped() -> None:
    core = AuthKit(AuthKitConfig.from_env(ENV))
    pending: dict[str, str] = {"wos-session": "kept", "other": "kept"}
    for _ in range(6):
        started = core.sign_in(cookies=pending)
        for cookie in started.cookies:
            if cookie.max_age == 0:
                del pending[cookie.name]
            else:
                pending[cookie.name] = cookie.value
        time.sleep(0.002)  # seals carry millisecond expirations: keep them apart
    verifiers = [name for name in pending if name.startswith("wos-auth-verifier-")]
    assert len(verifiers) == 5 and {"wos-session", "other"} <= set(pending)
    assert started.cookies[0].name in verifiers  # the newest is always kept
