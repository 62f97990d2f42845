"""A real Django project using authkeep.integrations.django (and DRF), served by Django's threaded
WSGI server on a free port against a live authkeep; its views are in tests.integrations.django_urls.

Django's settings are process-wide: `configure_django()` sets them once, for this app only;
each site swaps its `AuthKit` in with `override_settings`. `django.contrib.auth` and a SQLite
database (in a temporary directory) are installed for the user-model sites
(`start_django_site(user_model=True)`: `AuthKitBackend`, Django's sessions, `migrate` run); the
other sites never open that database.
"""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import django
import httpx
import pytest
from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.core.management import call_command
from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
from django.test.utils import override_settings

from authkeep.integrations import AuthKit
from tests.integrations.apps import COOKIE_PASSWORD, Site
from tests.support import LiveServer, free_port, make_environment

DRF = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "authkeep.integrations.django.drf.AuthKitBearerAuthentication",
        "authkeep.integrations.django.drf.AuthKitSessionAuthentication",
    ],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "UNAUTHENTICATED_USER": "authkeep.integrations.django.AnonymousUser",
}


def configure_django() -> None:
    """Configure Django for this module's app, once per process."""
    if settings.configured:
        assert settings.ROOT_URLCONF == "tests.integrations.django_urls", (
            "Django is configured for another app"
        )
        return
    settings.configure(
        DEBUG=False,
        SECRET_KEY="authkeep-django-test-" + "k" * 40,
        ALLOWED_HOSTS=["localhost", "127.0.0.1"],
        ROOT_URLCONF="tests.integrations.django_urls",
        INSTALLED_APPS=[
            "django.contrib.contenttypes",
            "django.contrib.auth",
            "django.contrib.sessions",
            "authkeep.integrations.django",
        ],
        DATABASES={
            "default": {
                "ENGINE": "django.db.backends.sqlite3",
                "NAME": str(Path(tempfile.mkdtemp(prefix="authkeep-django-")) / "app.sqlite3"),
            }
        },
        MIDDLEWARE=[
            "django.middleware.csrf.CsrfViewMiddleware",
            "authkeep.integrations.django.AuthKitMiddleware",
        ],
        REST_FRAMEWORK=DRF,
        USE_TZ=True,
        LOGGING_CONFIG=None,
    )
    django.setup()


USER_MODEL = {
    "AUTHENTICATION_BACKENDS": [
        "authkeep.integrations.django.backends.AuthKitBackend",
        "django.contrib.auth.backends.ModelBackend",
    ],
    "MIDDLEWARE": [
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.middleware.csrf.CsrfViewMiddleware",
        "authkeep.integrations.django.AuthKitMiddleware",
    ],
}


def reset_database() -> None:
    """Migrate the app's SQLite database and empty it, for a user-model site."""
    call_command("migrate", verbosity=0, interactive=False)
    call_command("flush", verbosity=0, interactive=False)


class WsgiServer:
    """A WSGI app under Django's threaded development server, in a background thread."""

    def __init__(self, app: Any, port: int) -> None:
        self.server = ThreadedWSGIServer(("127.0.0.1", port), QuietHandler)
        self.server.set_app(app)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> WsgiServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def start_django_site(
    database_url: str,
    base_url: str,
    *,
    access_token_ttl: int = 300,
    user_model: bool = False,
    **authkit_options: Any,
) -> Iterator[Site]:
    """Generator for a fixture: an environment, the Django app running for it, an admin client.
    With `user_model`, `AuthKitBackend` logs users in to Django (and `update_user` is set)."""
    configure_django()
    port = free_port()
    app_url = f"http://localhost:{port}"
    env = make_environment(
        database_url,
        base_url,
        redirect_uris=(f"{app_url}/auth/callback",),
        logout_uris=(f"{app_url}/signed-out",),
        access_token_ttl=access_token_ttl,
    )
    authkit = AuthKit(
        client_id=env.client_id,
        api_key=env.api_key,
        base_url=env.base_url,
        redirect_uri=f"{app_url}/auth/callback",
        cookie_password=COOKIE_PASSWORD,
        **authkit_options,
    )
    headers = {"Authorization": f"Bearer {env.api_key}"}
    options: dict[str, Any] = {"authkit": authkit}
    overrides: dict[str, Any] = {}
    if user_model:
        reset_database()
        options["update_user"] = "tests.integrations.django_urls.update_user"
        overrides = USER_MODEL
    with (
        override_settings(AUTHKEEP=options, **overrides),
        WsgiServer(WSGIHandler(), port),
        httpx.Client(base_url=env.base_url, headers=headers, timeout=10) as admin_client,
    ):
        yield Site(env, app_url, authkit, admin_client)  # type: ignore[arg-type]


@pytest.fixture
def django_site(
    counted_server: LiveServer, database_url: str, request: pytest.FixtureRequest
) -> Iterator[Site]:
    """A fresh environment and the Django app for it; `@pytest.mark.site(...)` passes options."""
    marker = request.node.get_closest_marker("site")
    options: dict[str, Any] = dict(marker.kwargs) if marker else {}
    yield from start_django_site(database_url, counted_server.base_url, **options)
