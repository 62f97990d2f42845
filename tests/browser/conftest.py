"""Browser fixtures: Debian's Chromium driven by Playwright, and a tiny static server for the
authkit-js test app (tests/browser/app) at http://localhost:<port>/ and /callback.

The app and the API are both on `localhost` on different ports: different origins, one site, so
the API's SameSite=Lax cookies of cookie mode are sent on authkit-js's credentialed fetches."""

from __future__ import annotations

import json
import os
import shutil
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.support import LiveServer, TestEnvironment, make_environment

HERE = Path(__file__).resolve().parent
AUTHKIT_JS = HERE / "node_modules" / "@workos-inc" / "authkit-js" / "dist" / "index.mjs"
SCREENSHOTS = HERE / "screenshots"
CHROMIUM = os.environ.get("AUTHKEEP_CHROMIUM", "/usr/bin/chromium")
# Headless, and quiet: without the background-networking flags Chromium keeps calling home.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ACCESS_TOKEN_TTL = 15  # seconds: authkit-js refreshes 10 s before expiry, so about 5 s in
REGISTERED_CALLBACK = "http://localhost:3000/callback"  # loopback: any port matches (RFC 8252)


class AppServer:
    """Serves the test app's three files from a thread; any other path is a 404."""

    def __init__(self) -> None:
        routes = {
            "/": (HERE / "app" / "index.html", "text/html; charset=utf-8"),
            "/callback": (HERE / "app" / "index.html", "text/html; charset=utf-8"),
            "/app.js": (HERE / "app" / "app.js", "text/javascript; charset=utf-8"),
            "/vendor/authkit-js.mjs": (AUTHKIT_JS, "text/javascript; charset=utf-8"),
        }

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                route = routes.get(urlsplit(self.path).path)
                if route is None:
                    self.send_error(HTTPStatus.NOT_FOUND)
                    return
                body = route[0].read_bytes()
                self.send_response(HTTPStatus.OK)
                self.send_header("Content-Type", route[1])
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = int(self.httpd.server_address[1])
        self.origin = f"http://localhost:{self.port}"
        self.callback = f"{self.origin}/callback"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="session")
def app_server() -> Iterator[AppServer]:
    if not AUTHKIT_JS.exists():
        pytest.fail(
            "the browser tests need authkit-js: run `npm ci --prefix tests/browser`", pytrace=False
        )
    server = AppServer()
    yield server
    server.stop()


def browser_environment(database_url: str, base_url: str, **options: Any) -> TestEnvironment:
    """`make_environment` from a thread of its own: Playwright's sync API keeps an asyncio loop
    running on the main thread, where `asyncio.run` refuses to start."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(make_environment, database_url, base_url, **options).result()


@pytest.fixture
def chromium() -> Iterator[Any]:
    """One Chromium per test. Not shared across tests: while Playwright runs, the main thread has
    a running asyncio loop, and the session fixtures (PostgreSQL schema, migrations) call
    `asyncio.run` when the database parameter changes between tests."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail(
            "the browser tests need Playwright: install the test extras (`pip install -e "
            '".[server,test]"`)',
            pytrace=False,
        )
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        pytest.fail(
            f"the browser tests need Debian's Chromium at {CHROMIUM}: "
            "`apt-get install -y chromium` (never `playwright install`)",
            pytrace=False,
        )
    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
    finally:
        playwright.stop()


@pytest.fixture
def env(live_server: LiveServer, database_url: str, app_server: AppServer) -> TestEnvironment:
    """A development environment with 15-second access tokens; signing out returns to the app."""
    return browser_environment(
        database_url,
        live_server.base_url,
        access_token_ttl=ACCESS_TOKEN_TTL,
        redirect_uris=(REGISTERED_CALLBACK,),
        logout_uris=(f"{app_server.origin}/",),
    )


@pytest.fixture
def admin(env: TestEnvironment) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=env.base_url, headers={"Authorization": f"Bearer {env.api_key}"}, timeout=10
    ) as client:
        yield client


@pytest.fixture
def api_origin(live_server: LiveServer) -> str:
    """The API as the browser reaches it: `localhost`, the app's site."""
    return f"http://localhost:{live_server.port}"


OpenApp = Callable[..., Any]


@pytest.fixture
def open_app(chromium: Any, app_server: AppServer, live_server: LiveServer) -> Iterator[OpenApp]:
    """`open_app(env, dev_mode=..., viewport=...)`: a fresh browser context (no cookies, no
    storage) whose pages get the app's configuration, and a page in it. Console errors and page
    errors are kept on `page.problems` for failure messages."""
    contexts: list[Any] = []

    def open_(env: TestEnvironment, dev_mode: bool, viewport: tuple[int, int] = (1280, 800)) -> Any:
        context = chromium.new_context(viewport={"width": viewport[0], "height": viewport[1]})
        context.set_default_timeout(15_000)
        contexts.append(context)
        config = {
            "clientId": env.client_id,
            "apiHostname": "localhost",
            "apiPort": live_server.port,
            "redirectUri": app_server.callback,
            "devMode": dev_mode,
        }
        context.add_init_script(f"window.__authkeepConfig = {json.dumps(config)};")
        page = context.new_page()
        problems: list[str] = []
        page.on(
            "console",
            lambda message: (
                problems.append(f"console.{message.type}: {message.text}")
                if message.type in ("error", "warning")
                else None
            ),
        )
        page.on("pageerror", lambda error: problems.append(f"pageerror: {error}"))
        page.problems = problems
        return page

    yield open_
    for context in contexts:
        context.close()
