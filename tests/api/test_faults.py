"""`/_authkeep/dev/faults`: the official Python SDK meets the injected errors for exactly the
requested number of calls, then normal answers; faults stay in their environment."""

from __future__ import annotations

import httpx
import pytest
from workos import WorkOSClient
from workos._errors import RateLimitExceededError, ServerError

from tests import support


def sdk(environment: support.TestEnvironment, **options: int) -> WorkOSClient:
    return WorkOSClient(
        api_key=environment.api_key,
        client_id=environment.client_id,
        base_url=environment.base_url,
        request_timeout=10,
        **options,
    )


def test_sdk_sees_the_injected_errors_then_normal_answers(
    http: httpx.Client, environment: support.TestEnvironment
) -> None:
    client = sdk(environment, max_retries=0)
    user = client.user_management.create_user(email="faulty@example.com")
    path = f"/user_management/users/{user.id}"
    added = http.post(
        "/_authkeep/dev/faults",
        json={"method": "get", "path": path, "status": 429, "count": 2},
    )
    assert added.status_code == 201, added.text
    assert added.json() == {
        "object": "fault",
        "method": "GET",
        "path": path,
        "status": 429,
        "remaining": 2,
    }
    for _ in range(2):
        with pytest.raises(RateLimitExceededError) as raised:
            client.user_management.get_user(user.id)
        assert raised.value.code == "rate_limit_exceeded" and raised.value.request_id
        assert raised.value.retry_after == 1
    assert client.user_management.get_user(user.id).email == "faulty@example.com"
    assert http.get("/_authkeep/dev/faults").json()["data"] == []

    # A custom body and headers; the SDK's own retries ride out a short outage.
    body = {"code": "maintenance", "message": "Back soon."}
    http.post(
        "/_authkeep/dev/faults",
        json={
            "method": "GET",
            "path": path,
            "status": 503,
            "count": 2,
            "body": body,
            "headers": {"Retry-After": "0"},
        },
    )
    assert sdk(environment).user_management.get_user(user.id).id == user.id

    http.post("/_authkeep/dev/faults", json={"method": "GET", "path": path, "status": 500})
    with pytest.raises(ServerError) as failed:
        client.user_management.get_user(user.id)
    assert failed.value.code == "server_error"


def test_faults_are_per_environment_and_cleared_by_delete(
    http: httpx.Client,
    environment: support.TestEnvironment,
    live_server: support.LiveServer,
    database_url: str,
) -> None:
    other = support.make_environment(database_url, live_server.base_url)
    jwks = f"/sso/jwks/{environment.client_id}"
    for path in ("/user_management/users", jwks):
        http.post("/_authkeep/dev/faults", json={"method": "GET", "path": path, "status": 502})
    # Another environment's key on the same route is not affected.
    assert sdk(other).user_management.list_users().data == []
    # A public call names its client in the path.
    assert httpx.get(f"{environment.base_url}{jwks}").status_code == 502
    assert httpx.get(f"{environment.base_url}{jwks}").status_code == 200
    assert len(http.get("/_authkeep/dev/faults").json()["data"]) == 1
    assert http.delete("/_authkeep/dev/faults").status_code == 204
    assert sdk(environment, max_retries=0).user_management.list_users().data == []


@pytest.mark.parametrize(
    "fields",
    [
        {"method": "BREW", "path": "/organizations", "status": 500},
        {"method": "GET", "path": "organizations", "status": 500},
        {"method": "GET", "path": "/_authkeep/dev/faults", "status": 500},
        {"method": "GET", "path": "/organizations", "status": 200},
        {"method": "GET", "path": "/organizations", "status": 500, "count": 0},
        {"method": "GET", "path": "/organizations", "status": 500, "headers": {"X\nY": "1"}},
        {"method": "GET", "path": "/organizations", "status": "500"},
        {"path": "/organizations", "status": 500},
    ],
)
def test_bad_faults_get_validation_errors(http: httpx.Client, fields: dict[str, object]) -> None:
    response = http.post("/_authkeep/dev/faults", json=fields)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "invalid_request_parameters"


def test_production_environments_have_no_faults(
    live_server: support.LiveServer, database_url: str
) -> None:
    production = support.make_environment(database_url, live_server.base_url, kind="production")
    headers = {"Authorization": f"Bearer {production.api_key}"}
    fault = {"method": "GET", "path": "/organizations", "status": 500}
    with httpx.Client(base_url=production.base_url, headers=headers) as http:
        assert http.post("/_authkeep/dev/faults", json=fault).status_code == 404
        assert http.delete("/_authkeep/dev/faults").status_code == 404
        assert http.get("/organizations").status_code == 200
