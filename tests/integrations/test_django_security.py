"""The Django integration's refusals against a live authkeep: return paths that leave the site,
DRF bearer tokens that are missing, malformed, expired, forged or another client's (401 with a
`WWW-Authenticate` naming why), API keys, and missing permissions and roles (403)."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from authkeep.crypto import jwt as authkeep_jwt
from authkeep.integrations import ApiKey
from tests.integrations.apps import Site, sign_in_through_app, token_claims
from tests.integrations.django_app import django_site
from tests.integrations.test_starlette_security import OPEN_REDIRECTS, token_claims_header
from tests.integrations.test_verifier import grant_permissions, password_token, signing_key
from tests.signin.hosted import make_user
from tests.support import make_environment

__all__ = ["django_site"]


def test_return_paths_off_the_site_become_the_root(django_site: Site) -> None:
    site = django_site
    make_user(site.admin, "redirects@example.com")
    with site.browser() as browser:
        landed = sign_in_through_app(site, browser, "redirects@example.com", "/reports?y=2024")
        assert landed.headers["location"] == "/reports?y=2024"
        for target in OPEN_REDIRECTS:
            response = sign_in_through_app(site, browser, "redirects@example.com", target)
            assert response.status_code == 302
            assert response.headers["location"] == "/", target


def bearer(site: Site, token: str | None, path: str = "/api/bearer") -> httpx.Response:
    headers = {"Authorization": token} if token is not None else {}
    return httpx.get(f"{site.app_url}{path}", headers=headers)


def refusal(response: httpx.Response) -> tuple[int, str, str]:
    return response.status_code, response.json()["code"], response.headers["www-authenticate"]


def test_drf_bearer_tokens(django_site: Site, counted_server: Any, database_url: str) -> None:
    site = django_site
    user = make_user(site.admin, "api@example.com")
    token = password_token(site.env, "api@example.com")
    ok = bearer(site, f"Bearer {token}")
    assert ok.status_code == 200 and ok.json() == {"user_id": user["id"], "organization_id": None}

    status, code, challenge = refusal(bearer(site, None))
    assert (status, code) == (401, "authentication_required")
    assert challenge == (
        'Bearer error="invalid_token", '
        'error_description="no access token: send Authorization: Bearer <token>"'
    )
    status, code, challenge = refusal(bearer(site, f"Basic {token}"))
    assert (status, code) == (401, "authentication_required") and "must be Bearer" in challenge
    status, code, challenge = refusal(bearer(site, "Bearer two words"))
    assert (status, code) == (400, "invalid_request")
    assert challenge.startswith('Bearer error="invalid_request"')

    claims = token_claims(token)
    kid = token_claims_header(token)["kid"]
    expired = authkeep_jwt.encode(
        {**claims, "iat": int(time.time()) - 600, "exp": int(time.time()) - 300},
        signing_key(database_url, kid),
        kid,
    )
    status, code, challenge = refusal(bearer(site, f"Bearer {expired}"))
    assert (status, code) == (401, "token_expired") and "expired at" in challenge

    forger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = authkeep_jwt.encode({**claims, "sub": "user_someone_else"}, forger, kid)
    status, code, challenge = refusal(bearer(site, f"Bearer {forged}"))
    assert (status, code) == (401, "token_signature_invalid") and "signature" in challenge

    other = make_environment(database_url, counted_server.base_url)
    with httpx.Client(
        base_url=other.base_url, headers={"Authorization": f"Bearer {other.api_key}"}
    ) as other_admin:
        make_user(other_admin, "api@example.com")
    foreign = password_token(other, "api@example.com")
    status, code, challenge = refusal(bearer(site, f"Bearer {foreign}"))
    assert (status, code) == (401, "wrong_client")
    assert f"token issued for client {other.client_id}" in challenge

    status, code, challenge = refusal(bearer(site, "Bearer sk_test_abc"))
    assert (status, code) == (401, "api_keys_not_accepted")
    # A bearer header on a plain Django view is judged the same way, as JSON.
    status, code, _ = refusal(bearer(site, f"Bearer {expired}", "/me"))
    assert (status, code) == (401, "token_expired")


def _lookup(value: str) -> ApiKey | None:
    if value != "sk_live_good":
        return None
    return ApiKey(
        id="api_key_01",
        name="CI",
        organization_id="org_01",
        permissions=("posts:write",),
        owner={"type": "organization", "id": "org_01"},
    )


@pytest.mark.site(api_key_validator=_lookup)
def test_api_keys_checked_by_a_validator_of_the_app(django_site: Site) -> None:
    site = django_site
    assert bearer(site, "Bearer sk_live_good").json() == {
        "api_key": "api_key_01",
        "organization_id": "org_01",
    }
    posted = httpx.post(
        f"{site.app_url}/api/posts", headers={"Authorization": "Bearer sk_live_good"}
    )
    assert posted.status_code == 200 and posted.json() == {"created_by": None}
    status, code, _ = refusal(bearer(site, "Bearer sk_live_bad"))
    assert (status, code) == (401, "invalid_api_key")


def test_missing_permission_or_role_is_403(django_site: Site, database_url: str) -> None:
    site = django_site
    grant_permissions(database_url, site.env, "admin", ["posts:write"])
    org = site.admin.post("/organizations", json={"name": "Acme"}).json()["id"]
    make_user(site.admin, "member@example.com", (org,))
    admin_user = make_user(site.admin, "boss@example.com", (org,), role="admin")
    member_token = password_token(site.env, "member@example.com")
    admin_token = password_token(site.env, "boss@example.com")

    def post(token: str) -> httpx.Response:
        return httpx.post(f"{site.app_url}/api/posts", headers={"Authorization": f"Bearer {token}"})

    denied = post(member_token)
    assert denied.status_code == 403
    assert denied.json() == {
        "code": "forbidden",
        "message": "this needs the permission 'posts:write'",
    }
    assert denied.headers["www-authenticate"] == (
        'Bearer error="insufficient_scope", '
        "error_description=\"this needs the permission 'posts:write'\""
    )
    allowed = post(admin_token)
    assert allowed.status_code == 200 and allowed.json() == {"created_by": admin_user["id"]}

    # Django views guarded by decorators and mixins judge a bearer token too.
    for path in ("/admin", "/reports", "/drafts"):
        refused = bearer(site, f"Bearer {member_token}", path)
        assert refused.status_code == 403 and refused.json()["code"] == "forbidden", path
        assert refused.headers["www-authenticate"].startswith('Bearer error="insufficient_scope"')
        assert bearer(site, f"Bearer {admin_token}", path).status_code == 200, path
    # A signed-in page visitor without the role gets a page, not JSON.
    with site.browser() as browser:
        sign_in_through_app(site, browser, "member@example.com")
        page = browser.get(f"{site.app_url}/admin", headers={"Accept": "text/html"})
        assert page.status_code == 403 and "text/html" in page.headers["content-type"]
        assert "this needs the role &#x27;admin&#x27;" in page.text
        # A session POST to a DRF view needs Django's CSRF token.
        no_token = browser.post(f"{site.app_url}/api/posts")
        assert no_token.status_code == 403 and no_token.json()["code"] == "csrf_failed"
