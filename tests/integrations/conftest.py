from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.conformance import ConformanceRecorder
from tests.integrations.apps import GrantCounter, Site, start_site
from tests.integrations.flask_apps import FlaskSite, start_flask_site
from tests.support import LiveServer, start_live_server


@pytest.fixture(scope="session")
def grants() -> GrantCounter:
    return GrantCounter()


@pytest.fixture(scope="session")
def counted_server(
    database_url: str, recorder: ConformanceRecorder, grants: GrantCounter
) -> Iterator[LiveServer]:
    """A live authkeep whose authenticate calls are counted (by client ID and grant type)."""
    server = start_live_server(database_url, wrap=lambda app: grants.wrap(recorder.wrap(app)))
    yield server
    server.stop()


@pytest.fixture
def site(
    counted_server: LiveServer, database_url: str, request: pytest.FixtureRequest
) -> Iterator[Site]:
    """A fresh environment and a FastAPI app for it; `@pytest.mark.site(...)` passes options."""
    marker = request.node.get_closest_marker("site")
    options: dict[str, Any] = dict(marker.kwargs) if marker else {}
    yield from start_site(database_url, counted_server.base_url, **options)


@pytest.fixture
def flask_site(
    counted_server: LiveServer, database_url: str, request: pytest.FixtureRequest
) -> Iterator[FlaskSite]:
    """A fresh environment and a Flask app for it; `@pytest.mark.flask_site(...)` passes options."""
    marker = request.node.get_closest_marker("flask_site")
    options: dict[str, Any] = dict(marker.kwargs) if marker else {}
    yield from start_flask_site(database_url, counted_server.base_url, **options)
