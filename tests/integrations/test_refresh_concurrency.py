"""One refresh per session in a process: eight requests whose access token has just expired,
arriving together, make one refresh call to the live server (counted there), and all of them
stay signed in. Through the FastAPI app (asyncio) and through `AuthKit` from threads."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from authkeep.integrations import AuthKit, SessionResult
from tests.integrations.apps import (
    COOKIE_PASSWORD,
    GrantCounter,
    Site,
    session_payload,
    set_cookies,
    sign_in_through_app,
    token_claims,
    wait_until_expired,
)
from tests.signin.hosted import make_user

CONCURRENCY = 8


def all_at_once(work: Callable[[int], Any]) -> list[Any]:
    """Run `work(i)` in CONCURRENCY threads released together; their results in order."""
    barrier = threading.Barrier(CONCURRENCY)
    results: list[Any] = [None] * CONCURRENCY

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = work(i)
        except BaseException as error:  # reported by the assertion below
            results[i] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(CONCURRENCY)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(isinstance(r, BaseException) for r in results), results
    return results


def signed_in_cookie(site: Site, email: str) -> str:
    make_user(site.admin, email)
    with site.browser() as browser:
        return set_cookies(sign_in_through_app(site, browser, email))["wos-session"]["value"]


@pytest.mark.site(access_token_ttl=2)
def test_concurrent_requests_through_the_app_share_one_refresh(
    site: Site, grants: GrantCounter
) -> None:
    sealed = signed_in_cookie(site, "tabs@example.com")
    old = session_payload(sealed)
    wait_until_expired(sealed)

    def request(_: int) -> httpx.Response:
        with httpx.Client(cookies={"wos-session": sealed}) as browser:
            return browser.get(f"{site.app_url}/api/me")

    responses = all_at_once(request)
    assert [r.status_code for r in responses] == [200] * CONCURRENCY, [r.text for r in responses]
    assert grants.count(site.env.client_id) == 1
    assert len({r.json()["jti"] for r in responses}) == 1
    new_tokens = {
        session_payload(set_cookies(r)["wos-session"]["value"])["refreshToken"] for r in responses
    }
    assert len(new_tokens) == 1 and old["refreshToken"] not in new_tokens

    # A late request still carrying the old cookie gets the same result, without a refresh.
    with httpx.Client(cookies={"wos-session": sealed}) as late:
        again = late.get(f"{site.app_url}/api/me")
    assert again.status_code == 200 and again.json()["jti"] == responses[0].json()["jti"]
    assert grants.count(site.env.client_id) == 1
    # Nobody was signed out: the new cookie works and the server's session is active.
    with httpx.Client(
        cookies={"wos-session": set_cookies(responses[3])["wos-session"]["value"]}
    ) as tab:
        assert tab.get(f"{site.app_url}/api/me").status_code == 200
    user_id = responses[0].json()["user_id"]
    sessions = site.admin.get(f"/user_management/users/{user_id}/sessions").json()["data"]
    assert [s["id"] for s in sessions] == [token_claims(old["accessToken"])["sid"]]


@pytest.mark.site(access_token_ttl=2)
def test_concurrent_threads_with_the_sync_client_share_one_refresh(
    site: Site, grants: GrantCounter
) -> None:
    authkit = AuthKit(
        client_id=site.env.client_id,
        api_key=site.env.api_key,
        base_url=site.env.base_url,
        redirect_uri=f"{site.app_url}/auth/callback",
        cookie_password=COOKIE_PASSWORD,
    )
    sealed = signed_in_cookie(site, "threads@example.com")
    fresh = authkit.load_session({"wos-session": sealed})
    assert fresh.session is not None and not fresh.refreshed and fresh.cookies == ()
    wait_until_expired(sealed)

    results: list[SessionResult] = all_at_once(
        lambda _: authkit.load_session({"wos-session": sealed})
    )
    assert all(r.session is not None and r.refreshed for r in results), results
    assert grants.count(site.env.client_id) == 1
    assert len({r.session.claims.raw["jti"] for r in results if r.session}) == 1
    assert len({r.session.refresh_token for r in results if r.session}) == 1
    cookie = results[0].cookies[0]
    assert cookie.name == "wos-session" and cookie.max_age == 34_560_000
    after = authkit.load_session({"wos-session": cookie.value})
    assert after.session is not None and not after.refreshed
    assert grants.count(site.env.client_id) == 1
