"""The official `@workos-inc/authkit-js` in Debian's Chromium against a live server: sign-up and
sign-in through the hosted pages, the PKCE code exchange, `getAccessToken`, `getUser`,
`switchToOrganization`, the automatic refresh before expiry and `signOut`, in dev mode (refresh
token in the body, kept in localStorage) and in cookie mode (an HttpOnly refresh cookie on the API
origin, `workos-has-session` for the app). Also screenshots of every hosted page and a
keyboard-only sign-in."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx

from tests.browser.conftest import (
    ACCESS_TOKEN_TTL,
    REGISTERED_CALLBACK,
    SCREENSHOTS,
    AppServer,
    OpenApp,
    browser_environment,
)
from tests.signin.hosted import PASSWORD, make_user, verify
from tests.support import LiveServer, TestEnvironment

REFRESH_WAIT_MS = (ACCESS_TOKEN_TTL + 10) * 1000


def call(page: Any, action: str, *args: Any) -> Any:
    """`window.app.<action>(...args)` in the page: a JSON-friendly result."""
    return page.evaluate("([action, args]) => window.app[action](...args)", [action, list(args)])


def wait_ready(page: Any) -> None:
    page.wait_for_selector("body[data-ready='true']")


def at_app(app: AppServer, path: str) -> Any:
    def matches(url: str) -> bool:
        parts = urlsplit(url)
        return parts.port == app.port and parts.path == path

    return matches


def wait_for_callback(page: Any, app: AppServer) -> None:
    try:
        page.wait_for_url(at_app(app, "/callback"))
    except Exception as error:
        raise AssertionError(
            f"never came back to the app: at {page.url}\n{page.inner_text('body')[:1000]}\n"
            f"{page.problems}"
        ) from error
    wait_ready(page)
    # authkit-js cleans `code` and `state` out of the address once the exchange is done.
    assert page.url == app.callback, page.url


def access_token(page: Any, env: TestEnvironment) -> tuple[str, dict[str, Any]]:
    result = call(page, "getAccessToken")
    assert result["ok"], (result, page.problems)
    claims = verify(env, result["token"])
    assert claims == result["claims"]
    assert claims["exp"] - claims["iat"] == ACCESS_TOKEN_TTL
    return result["token"], claims


def switch_organization(page: Any, env: TestEnvironment, organization_id: str) -> dict[str, Any]:
    """authkit-js skips a switch asked for while a refresh is in flight (it joins that refresh),
    so a switch that lands on an automatic refresh is asked for again."""
    for _ in range(3):
        result = call(page, "switchToOrganization", organization_id)
        assert result["ok"], (result, page.problems)
        if result["claims"].get("org_id") == organization_id:
            return verify(env, result["token"])
    raise AssertionError(f"switchToOrganization({organization_id}) did not switch: {result}")


def wait_for_automatic_refresh(page: Any, env: TestEnvironment, before: str) -> dict[str, Any]:
    """authkit-js refreshes on its own 10 s before expiry: the token changes and still verifies."""
    count = page.evaluate("window.__refreshes.length")
    page.wait_for_function(f"window.__refreshes.length > {count}", timeout=REFRESH_WAIT_MS)
    token, claims = access_token(page, env)
    assert token != before
    return claims


def assert_signed_out(page: Any) -> None:
    assert call(page, "getUser") is None
    result = call(page, "getAccessToken")
    assert result == {
        "ok": False,
        "error": "LoginRequiredError",
        "message": "No access token available",
    }, (result, page.problems)
    assert page.inner_text("#status") == "Signed out"


def cookies_by_name(page: Any) -> dict[str, dict[str, Any]]:
    return {cookie["name"]: cookie for cookie in page.context.cookies()}


def sign_out_to_app(page: Any, app: AppServer) -> None:
    """authkit-js navigates to the logout endpoint; with no `returnTo` the server sends the
    browser to the environment's one logout URI: the app."""
    with page.expect_navigation(url=at_app(app, "/")):
        page.click("#sign-out")
    wait_ready(page)


def create_organization(admin: httpx.Client, name: str) -> str:
    response = admin.post("/organizations", json={"name": name})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def add_membership(admin: httpx.Client, user_id: str, organization_id: str) -> None:
    body = {"user_id": user_id, "organization_id": organization_id}
    response = admin.post("/user_management/organization_memberships", json=body)
    assert response.status_code == 201, response.text


def active_sessions(admin: httpx.Client, user_id: str) -> list[dict[str, Any]]:
    response = admin.get(f"/user_management/users/{user_id}/sessions")
    assert response.status_code == 200, response.text
    return [s for s in response.json()["data"] if s["status"] == "active"]


def test_dev_mode_sign_up_switch_refresh_and_sign_out(
    env: TestEnvironment, admin: httpx.Client, open_app: OpenApp, app_server: AppServer
) -> None:
    page = open_app(env, dev_mode=True)
    page.goto(f"{app_server.origin}/")
    wait_ready(page)
    assert_signed_out(page)  # a refresh with no refresh token is a 400: LoginRequiredError

    page.click("#sign-up")
    page.wait_for_url(re.compile(r"/authkit/sign-up\?request="))
    page.fill("#first_name", "Grace")
    page.fill("#last_name", "Hopper")
    page.fill("#email", "grace@example.com")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    wait_for_callback(page, app_server)

    user = call(page, "getUser")
    assert user["email"] == "grace@example.com", page.problems
    assert (user["firstName"], user["lastName"]) == ("Grace", "Hopper")
    assert page.inner_text("#status") == "Signed in as grace@example.com"
    assert page.evaluate("window.__callbacks") == [
        {"state": {"from": "sign-up button"}, "userId": user["id"]}
    ]
    _, claims = access_token(page, env)
    assert claims["sub"] == user["id"] and "org_id" not in claims
    # Dev mode: the refresh token lives in localStorage, and the API set no cookie the app keeps.
    stored = page.evaluate(f"localStorage.getItem('workos:refresh-token:{env.client_id}')")
    assert stored
    assert "workos-has-session" not in page.evaluate("document.cookie")
    assert f"authkeep-refresh-{env.client_id}" not in cookies_by_name(page)

    org_a = create_organization(admin, "Alpha")
    org_b = create_organization(admin, "Beta")
    add_membership(admin, user["id"], org_a)
    add_membership(admin, user["id"], org_b)
    in_a = switch_organization(page, env, org_a)
    in_b = switch_organization(page, env, org_b)
    assert in_a["sid"] == in_b["sid"] == claims["sid"]
    assert in_b["role"] == "member"

    refreshed = wait_for_automatic_refresh(page, env, call(page, "getAccessToken")["token"])
    assert refreshed["org_id"] == org_b and refreshed["sid"] == claims["sid"]
    assert page.evaluate(f"localStorage.getItem('workos:refresh-token:{env.client_id}')") not in (
        None,
        stored,
    )

    # A reload keeps the session: the refresh token in localStorage.
    page.reload()
    wait_ready(page)
    assert call(page, "getUser")["id"] == user["id"], page.problems
    _, reloaded = access_token(page, env)
    assert reloaded["org_id"] == org_b and reloaded["sid"] == claims["sid"]

    sign_out_to_app(page, app_server)
    assert_signed_out(page)
    assert page.evaluate(f"localStorage.getItem('workos:refresh-token:{env.client_id}')") is None
    assert active_sessions(admin, user["id"]) == []


def test_cookie_mode_sign_in_with_organization_selection_refresh_and_sign_out(
    env: TestEnvironment, admin: httpx.Client, open_app: OpenApp, app_server: AppServer
) -> None:
    org_a = create_organization(admin, "Alpha")
    org_b = create_organization(admin, "Beta")
    user = make_user(admin, "ada@example.com", (org_a, org_b))

    page = open_app(env, dev_mode=False)
    page.goto(f"{app_server.origin}/")
    wait_ready(page)
    assert_signed_out(page)  # no cookie yet: the credentialed refresh is a 400

    page.click("#sign-in")
    page.wait_for_url(re.compile(r"/authkit/sign-in\?request="))
    page.fill("#email", "ada@example.com")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    # Two active memberships: the hosted flow asks which organization.
    page.wait_for_url(re.compile(r"/authkit/organization"))
    page.click("button.choice:has-text('Alpha')")
    wait_for_callback(page, app_server)

    assert call(page, "getUser")["id"] == user["id"], page.problems
    assert page.evaluate("window.__callbacks") == [
        {"state": {"from": "sign-in button"}, "userId": user["id"]}
    ]
    _, claims = access_token(page, env)
    assert claims["sub"] == user["id"] and claims["org_id"] == org_a

    # Cookie mode: the refresh token is an HttpOnly cookie for the API's /user_management only,
    # never in storage; `workos-has-session` (the client ID) tells the app's next page load.
    cookies = cookies_by_name(page)
    refresh = cookies[f"authkeep-refresh-{env.client_id}"]
    assert refresh["httpOnly"] and refresh["path"] == "/user_management"
    assert refresh["sameSite"] == "Lax" and refresh["domain"] == "localhost"
    has_session = cookies["workos-has-session"]
    assert has_session["value"] == env.client_id and not has_session["httpOnly"]
    assert f"workos-has-session={env.client_id}" in page.evaluate("document.cookie")
    assert page.evaluate("Object.keys(localStorage)") == []

    in_b = switch_organization(page, env, org_b)
    assert in_b["org_id"] == org_b and in_b["sid"] == claims["sid"]
    assert cookies_by_name(page)[refresh["name"]]["value"] != refresh["value"]  # rotated

    refreshed = wait_for_automatic_refresh(page, env, call(page, "getAccessToken")["token"])
    assert refreshed["org_id"] == org_b and refreshed["sid"] == claims["sid"]

    # A reload keeps the session: `workos-has-session` makes authkit-js refresh with the cookie.
    page.reload()
    wait_ready(page)
    assert call(page, "getUser")["id"] == user["id"], page.problems
    _, reloaded = access_token(page, env)
    assert reloaded["org_id"] == org_b and reloaded["sid"] == claims["sid"]

    sign_out_to_app(page, app_server)
    assert_signed_out(page)
    cookies = cookies_by_name(page)
    assert refresh["name"] not in cookies and "workos-has-session" not in cookies, cookies
    assert active_sessions(admin, user["id"]) == []
    # …and a reload does not bring the session back, nor does signing in skip the form.
    page.reload()
    wait_ready(page)
    assert_signed_out(page)
    page.click("#sign-in")
    page.wait_for_url(re.compile(r"/authkit/sign-in\?request="))


def screenshot(page: Any, name: str, taken: list[str]) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    taken.append(str(path))


def authorize_url(api_origin: str, env: TestEnvironment, **params: str) -> str:
    query = {
        "client_id": env.client_id,
        "redirect_uri": REGISTERED_CALLBACK,
        "response_type": "code",
        "provider": "authkit",
        **params,
    }
    return f"{api_origin}/user_management/authorize?{urlencode(query)}"


def test_hosted_pages_screenshots_and_keyboard_sign_in(
    env: TestEnvironment,
    admin: httpx.Client,
    open_app: OpenApp,
    app_server: AppServer,
    api_origin: str,
    live_server: LiveServer,
    database_url: str,
) -> None:
    taken: list[str] = []
    org_a = create_organization(admin, "Alpha Industries")
    create_organization(admin, "Beta")  # not a member: not offered
    org_c = create_organization(admin, "Gamma Research Laboratories")
    make_user(admin, "keys@example.com", (org_a, org_c))

    page = open_app(env, dev_mode=True)
    page.goto(f"{app_server.origin}/")
    wait_ready(page)
    page.click("#sign-in")
    page.wait_for_url(re.compile(r"/authkit/sign-in\?request="))
    screenshot(page, "sign-in", taken)

    page.click("text=Create one")
    page.wait_for_url(re.compile(r"/authkit/sign-up\?request="))
    screenshot(page, "sign-up", taken)
    page.fill("#first_name", "Weak")
    page.fill("#email", "weak@example.com")
    page.fill("#password", "abc")
    page.click("button[type=submit]")
    page.wait_for_selector(".error")
    assert "at least 8" in page.inner_text(".error")
    assert page.input_value("#email") == "weak@example.com"
    screenshot(page, "sign-up-weak-password", taken)

    # Keyboard only: the e-mail field has focus; Tab goes to the password, then to the button.
    page.click("text=Sign in")
    page.wait_for_url(re.compile(r"/authkit/sign-in\?request="))
    focused = "document.activeElement.id || document.activeElement.outerHTML"
    assert page.evaluate(focused) == "email"
    page.keyboard.type("keys@example.com")
    page.keyboard.press("Tab")
    assert page.evaluate(focused) == "password"
    page.keyboard.type("not the password")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.matches('button[type=submit]')")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.inner_text(".error"), page.content()[:1000]
    assert page.input_value("#email") == "keys@example.com"
    assert page.evaluate(focused) == "password"  # the e-mail is kept: focus on the password
    screenshot(page, "sign-in-wrong-password", taken)

    page.keyboard.type(PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/authkit/organization"))
    assert page.locator("button.choice").all_inner_texts() == [
        "Alpha Industries",
        "Gamma Research Laboratories",
    ]
    screenshot(page, "organization-selection", taken)
    page.click("button.choice:has-text('Gamma')")
    wait_for_callback(page, app_server)
    assert call(page, "getAccessToken")["claims"]["org_id"] == org_c

    phone = open_app(env, dev_mode=True, viewport=(390, 844))
    phone.goto(f"{app_server.origin}/")
    wait_ready(phone)
    phone.click("#sign-in")
    phone.wait_for_url(re.compile(r"/authkit/sign-in\?request="))
    screenshot(phone, "sign-in-phone", taken)
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scroll
    phone.click("text=Create one")
    phone.wait_for_url(re.compile(r"/authkit/sign-up\?request="))
    screenshot(phone, "sign-up-phone", taken)

    invite_only = browser_environment(
        database_url,
        live_server.base_url,
        redirect_uris=(REGISTERED_CALLBACK,),
        settings={"signup": "invite_only"},
    )
    page.goto(authorize_url(api_origin, invite_only, screen_hint="sign-up"))
    assert "invitation" in page.inner_text("main")
    screenshot(page, "invite-only", taken)

    response = page.goto(
        authorize_url(api_origin, env, redirect_uri="https://unregistered.invalid/callback")
    )
    assert response.status == 400 and urlsplit(page.url).path == "/user_management/authorize"
    screenshot(page, "error", taken)

    page.goto(f"{api_origin}/user_management/sessions/logout?session_id=session_unknown")
    assert "signed out" in page.inner_text("h1")
    screenshot(page, "signed-out", taken)

    print("\nscreenshots:\n  " + "\n  ".join(taken))
