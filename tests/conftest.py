"""Fixtures: every storage-backed test runs on a SQLite file and on the real PostgreSQL server."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from workos import WorkOSClient

from tests import support
from tests.conformance import ConformanceRecorder

BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(scope="session")
def recorder() -> ConformanceRecorder:
    return ConformanceRecorder.shared()


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'authkeep.db'}"
        support.migrate_database(url)
        yield url
        return
    try:
        schema = support.create_postgres_schema()
    except Exception as error:
        pytest.fail(
            f"PostgreSQL is unreachable at {support.POSTGRES_URL} ({error!r}). Start it with "
            "`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`.",
            pytrace=False,
        )
    url = support.postgres_url(schema)
    try:
        support.migrate_database(url)
        yield url
    finally:
        support.drop_postgres_schema(schema)


@pytest.fixture(scope="session")
def live_server(database_url: str, recorder: ConformanceRecorder) -> Iterator[support.LiveServer]:
    server = support.start_live_server(database_url, wrap=recorder.wrap)
    yield server
    server.stop()


@pytest.fixture
def environment(live_server: support.LiveServer, database_url: str) -> support.TestEnvironment:
    """A fresh environment per test: its own client ID, API key and data."""
    return support.make_environment(database_url, live_server.base_url)


@pytest.fixture
def workos(environment: support.TestEnvironment) -> WorkOSClient:
    return WorkOSClient(
        api_key=environment.api_key,
        client_id=environment.client_id,
        base_url=environment.base_url,
        request_timeout=10,
    )


@pytest.fixture
def http(environment: support.TestEnvironment) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=environment.base_url,
        headers={"Authorization": f"Bearer {environment.api_key}"},
        timeout=10,
    ) as client:
        yield client


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    ConformanceRecorder.shared().report(session)


@pytest.fixture(autouse=True)
def conformance(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail a test whose responses do not match WorkOS's schemas (see tests/conformance.py)."""
    recorder = ConformanceRecorder.shared()
    recorder.current_test = request.node.nodeid
    start = len(recorder.exchanges)
    yield
    problems = recorder.problems_since(start)
    if problems:
        pytest.fail(
            "responses do not match the WorkOS OpenAPI schemas:\n  " + "\n  ".join(problems[:20]),
            pytrace=False,
        )
