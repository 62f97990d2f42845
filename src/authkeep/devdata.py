"""The development data directory (`./.authkeep` by default) that `authkeep dev` owns.

It holds the SQLite database, the deployment secret and the dev environment's credentials. The
API key is kept here in clear (mode 0600) only because a dev environment must print it again on
every start; production keys are shown once and stored hashed.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path

DEFAULT_DATA_DIR = ".authkeep"
DEV_ENVIRONMENT = "development"
DEFAULT_REDIRECT_URI = "http://localhost:3000/callback"


@dataclass
class DevCredentials:
    environment_id: str
    client_id: str
    api_key: str
    cookie_password: str
    base_url: str = ""


def new_cookie_password() -> str:
    """44 characters: long enough for iron seals (authkit-nextjs, @workos-inc/node), and a
    Fernet key, which workos-python's sealed sessions require of the same variable."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


class DataDir:
    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path).resolve()

    @property
    def database_url(self) -> str:
        return f"sqlite:///{self.path / 'authkeep.db'}"

    def ensure(self) -> None:
        self.path.mkdir(parents=True, exist_ok=True, mode=0o700)
        gitignore = self.path / ".gitignore"
        if not gitignore.exists():
            gitignore.write_text("# authkeep dev data: secrets, never commit\n*\n")

    def exists(self) -> bool:
        return (self.path / "authkeep.db").exists()

    def secret_key(self) -> str:
        """The deployment secret for this data dir, made once."""
        path = self.path / "secret.key"
        if not path.exists():
            _write_private(path, secrets.token_urlsafe(48))
        return path.read_text().strip()

    def credentials(self) -> DevCredentials | None:
        path = self.path / "dev.json"
        if not path.exists():
            return None
        return DevCredentials(**json.loads(path.read_text()))

    def reset(self) -> list[Path]:
        """Delete the database and the dev environment's credentials; returns what was removed.

        The deployment secret stays: it encrypts nothing once the database is gone.
        """
        removed = []
        for name in ("authkeep.db", "authkeep.db-wal", "authkeep.db-shm", "dev.json"):
            path = self.path / name
            if path.exists():
                path.unlink()
                removed.append(path)
        return removed

    def save_credentials(self, credentials: DevCredentials) -> None:
        _write_private(self.path / "dev.json", json.dumps(asdict(credentials), indent=2) + "\n")


def _write_private(path: Path, text: str) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text)
