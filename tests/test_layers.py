"""The client-side modules import without the server extras (DESIGN.md: one distribution, two
audiences)."""

from __future__ import annotations

import subprocess
import sys

SERVER_ONLY = [
    "flask",
    "starlette",
    "sqlalchemy",
    "alembic",
    "uvicorn",
    "asyncpg",
    "aiosqlite",
    "argon2",
    "jinja2",
    "pydantic",
    "aiosmtplib",
]

PROBE = """
import importlib.abc, sys
blocked = set(sys.argv[1].split(","))
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in blocked:
            raise ImportError(f"{name} is a server-only dependency")
sys.meta_path.insert(0, Block())
import authkeep, authkeep.crypto.keys, authkeep.crypto.secrets, authkeep.devdata, authkeep.cli
import authkeep.integrations.sealing, authkeep.integrations.verifier
import authkeep.integrations, authkeep.integrations.client, authkeep.integrations.flows
import authkeep.integrations.sync_client, authkeep.integrations.async_client
import authkeep.integrations.config, authkeep.integrations.session, authkeep.integrations.bearer
import authkeep.integrations.singleflight
import authkeep.integrations.testing, authkeep.integrations.pytest_plugin
from authkeep.integrations import AsyncAuthKit, AuthKit
assert not {"starlette", "fastapi", "flask", "django", "rest_framework"} & set(sys.modules), \
    "the library core imported a framework"
try:
    import authkeep.integrations.starlette
except ImportError as error:
    assert "starlette" in str(error), error
else:
    raise AssertionError("authkeep.integrations.starlette imported without starlette")
try:
    import authkeep.integrations.flask
except ImportError as error:
    assert "flask" in str(error), error
else:
    raise AssertionError("authkeep.integrations.flask imported without flask")
from authkeep.crypto.keys import generate_signing_key
assert generate_signing_key("probe").kid
code = authkeep.cli.main(["migrate"])
assert code == 2, code
print("ok")
"""


def test_library_modules_import_without_server_extras() -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, ",".join(SERVER_ONLY)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
    assert 'pip install "authkeep[server]"' in result.stderr


FLASK_PROBE = """
import importlib.abc, sys
blocked = set(sys.argv[1].split(","))
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in blocked:
            raise ImportError(f"{name} is a server-only dependency")
sys.meta_path.insert(0, Block())
import authkeep.integrations.flask
assert "starlette" not in sys.modules, "the Flask integration imported starlette"
print("ok")
"""


def test_the_flask_integration_imports_with_flask_alone() -> None:
    blocked = [
        name for name in SERVER_ONLY if name not in ("flask", "jinja2")
    ]  # flask needs jinja2
    result = subprocess.run(
        [sys.executable, "-c", FLASK_PROBE, ",".join(blocked)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
