"""The Django integration's public surface, its imports, and its settings: `__all__` pinned, the
package named `django` never shadowing the real Django, nothing of Django pulled in by
`authkeep.integrations`, and `AUTHKEEP` / `WORKOS_*` settings read in that order."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import authkeep.integrations.django
from authkeep.integrations import AuthKit, ConfigurationError
from authkeep.integrations.django import drf
from authkeep.integrations.django.conf import get_authkit, integration_settings
from tests.integrations.django_app import configure_django

PACKAGE = Path(authkeep.integrations.django.__file__).parent

DJANGO = {
    "AnonymousUser",
    "AuthKitMiddleware",
    "AuthKitUser",
    "LoginRequiredMixin",
    "PermissionRequiredMixin",
    "RequestAuth",
    "RoleRequiredMixin",
    "get_authkit",
    "login_required",
    "permission_required",
    "request_auth",
    "require_user",
    "role_required",
}
DRF = {
    "AuthKitBearerAuthentication",
    "AuthKitSessionAuthentication",
    "HasPermission",
    "HasRole",
    "IsAuthKitAuthenticated",
}


def test_public_surface() -> None:
    assert set(authkeep.integrations.django.__all__) == DJANGO
    assert set(drf.__all__) == DRF
    for module, names in ((authkeep.integrations.django, DJANGO), (drf, DRF)):
        for name in names:
            assert getattr(module, name) is not None


def test_the_package_does_not_shadow_django() -> None:
    import django

    assert Path(django.__file__).parent != PACKAGE
    assert "site-packages" in django.__file__ or "dist-packages" in django.__file__
    for source in PACKAGE.glob("*.py"):
        tree = ast.parse(source.read_text())
        assert "from __future__ import annotations" in source.read_text(), source
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                assert node.level == 0, f"{source.name}: relative import"
                root = (node.module or "").split(".")[0]
                assert root in {"__future__", "authkeep", "django", "rest_framework"} or (
                    root in sys.stdlib_module_names
                ), f"{source.name} imports {node.module}"
                if root == "authkeep":
                    assert node.module.startswith(("authkeep.integrations", "authkeep.crypto"))


PROBE = """
import importlib.abc, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("django", "rest_framework"):
            raise ImportError(f"No module named {name!r}")
sys.meta_path.insert(0, Block())
import authkeep.integrations
from authkeep.integrations import AuthKit
try:
    import authkeep.integrations.django
except ImportError as error:
    assert "django" in str(error), error
else:
    raise AssertionError("authkeep.integrations.django imported without Django")
print("ok")
"""


def test_the_library_works_without_django() -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_settings_are_read_from_authkeep_then_workos_then_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from django.test.utils import override_settings

    configure_django()
    monkeypatch.setenv("WORKOS_CLIENT_ID", "client_from_env")
    monkeypatch.setenv("WORKOS_COOKIE_PASSWORD", "e" * 32)
    monkeypatch.setenv("WORKOS_REDIRECT_URI", "http://localhost:8000/auth/callback")
    monkeypatch.setenv("WORKOS_BASE_URL", "http://127.0.0.1:9")
    with override_settings(AUTHKEEP={}):
        config = get_authkit().config
        assert config.client_id == "client_from_env" and config.base_url == "http://127.0.0.1:9"
    with override_settings(AUTHKEEP={}, WORKOS_CLIENT_ID="client_from_settings"):
        assert get_authkit().config.client_id == "client_from_settings"
    with override_settings(
        AUTHKEEP={"client_id": "client_from_authkeep", "api_path_prefixes": ["/v1/"]},
        WORKOS_CLIENT_ID="client_from_settings",
        WORKOS_COOKIE_NAME="app-session",
    ):
        options = integration_settings()
        assert options.authkit.config.client_id == "client_from_authkeep"
        assert options.authkit.config.cookie_name == "app-session"
        assert options.api_path_prefixes == ("/v1/",)
    ready = AuthKit(client_id="client_ready")
    with override_settings(AUTHKEEP={"authkit": ready}):
        assert get_authkit() is ready
    with override_settings(AUTHKEEP={"client_secret": "x"}), pytest.raises(ConfigurationError):
        get_authkit()
