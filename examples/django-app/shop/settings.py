"""Settings of the example: no database; authkeep's WORKOS_* variables come from the environment
or from a `.env` file next to manage.py (`authkeep env --framework python --write .env`)."""

from __future__ import annotations

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent


def _load_env_file(path: Path) -> None:
    """`KEY=value` lines of `.env`; variables already set win."""
    if not path.exists():
        return
    for line in path.read_text().splitlines():
        key, sep, value = line.strip().partition("=")
        if sep and not key.startswith("#"):
            os.environ.setdefault(key.removeprefix("export ").strip(), value.strip().strip("\"'"))


_load_env_file(BASE_DIR / ".env")
PORT = os.environ.get("PORT", "8000")
os.environ.setdefault("WORKOS_REDIRECT_URI", f"http://localhost:{PORT}/auth/callback")

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "example-only-" + "x" * 40)
DEBUG = os.environ.get("DJANGO_DEBUG", "true") == "true"
ALLOWED_HOSTS = ["localhost", "127.0.0.1"]
ROOT_URLCONF = "shop.urls"
INSTALLED_APPS = ["shop"]
DATABASES: dict[str, dict[str, str]] = {}
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "authkeep.integrations.django.AuthKitMiddleware",
]
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
    }
]
# Anything not given here is read from the WORKOS_* variables.
AUTHKEEP = {"sign_out_return_to": "/"}
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "authkeep.integrations.django.drf.AuthKitBearerAuthentication",
    ],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "UNAUTHENTICATED_USER": "authkeep.integrations.django.AnonymousUser",
}
USE_TZ = True
