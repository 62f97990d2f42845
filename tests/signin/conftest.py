from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from workos import WorkOSClient

from tests.signin.hosted import signin_environment
from tests.support import LiveServer, TestEnvironment


@pytest.fixture
def env(live_server: LiveServer, database_url: str) -> TestEnvironment:
    return signin_environment(database_url, live_server.base_url)


@pytest.fixture
def admin(env: TestEnvironment) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=env.base_url, headers={"Authorization": f"Bearer {env.api_key}"}
    ) as client:
        yield client


@pytest.fixture
def sdk(env: TestEnvironment) -> WorkOSClient:
    return WorkOSClient(api_key=env.api_key, client_id=env.client_id, base_url=env.base_url)


@pytest.fixture
def browser(env: TestEnvironment) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=env.base_url, follow_redirects=False) as client:
        yield client
