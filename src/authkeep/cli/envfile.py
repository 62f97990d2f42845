"""The variables each SDK and framework reads (CONTRACT.md §1.1, §8, §9), and `.env` files: read
them, and merge variables into one without disturbing the rest of it.

* `next`: authkit-nextjs builds its `@workos-inc/node` client from `WORKOS_API_HOSTNAME`,
  `WORKOS_API_PORT`, `WORKOS_API_HTTPS` (only "true" means https), `WORKOS_API_KEY`,
  `WORKOS_CLIENT_ID`, and reads `WORKOS_COOKIE_PASSWORD` and `NEXT_PUBLIC_WORKOS_REDIRECT_URI`.
* `node`: `@workos-inc/node` reads `WORKOS_API_KEY`, `WORKOS_CLIENT_ID` and
  `WORKOS_COOKIE_PASSWORD` itself; it has no host variable, so apps pass the same
  `WORKOS_API_*` trio as authkit-nextjs to `new WorkOS(key, {apiHostname, port, https})`.
* `python`: workos-python reads `WORKOS_API_KEY`, `WORKOS_CLIENT_ID`, `WORKOS_BASE_URL` and
  `WORKOS_ISSUER` (pinned issuer of session tokens).
* `vite`: authkit-js / authkit-react take options only; Vite exposes `VITE_*` variables to the
  browser, so these carry the client ID, host and redirect URI, and never the API key.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

FRAMEWORKS = ("next", "vite", "python", "node")
# Where each framework's dev server listens by default: the callback of its redirect URI.
APP_PORTS = {"next": 3000, "vite": 5173, "python": 8000, "node": 3000}

_LINE = re.compile(
    r"(?P<lead>\s*(?:export\s+)?)(?P<key>[A-Za-z_][A-Za-z0-9_.]*)(?P<eq>\s*=\s*)(?P<value>.*?)"
    r"(?P<end>\r?\n?)\Z",
    re.DOTALL,
)


def default_redirect_uri(framework: str) -> str:
    return f"http://localhost:{APP_PORTS[framework]}/callback"


def framework_variables(
    framework: str,
    *,
    base_url: str,
    client_id: str,
    api_key: str,
    cookie_password: str,
    issuer: str,
    redirect_uri: str | None = None,
) -> dict[str, str]:
    parts = urlsplit(base_url)
    https = parts.scheme == "https"
    host = {
        "HOSTNAME": parts.hostname or "127.0.0.1",
        "PORT": str(parts.port or (443 if https else 80)),
        "HTTPS": "true" if https else "false",
    }
    redirect = redirect_uri or default_redirect_uri(framework)
    if framework == "vite":
        return {
            "VITE_WORKOS_CLIENT_ID": client_id,
            **{f"VITE_WORKOS_API_{name}": value for name, value in host.items()},
            "VITE_WORKOS_REDIRECT_URI": redirect,
        }
    if framework == "python":
        return {
            "WORKOS_BASE_URL": base_url,
            "WORKOS_CLIENT_ID": client_id,
            "WORKOS_API_KEY": api_key,
            "WORKOS_ISSUER": issuer,
            "WORKOS_COOKIE_PASSWORD": cookie_password,
            "WORKOS_REDIRECT_URI": redirect,
        }
    redirect_name = (
        "NEXT_PUBLIC_WORKOS_REDIRECT_URI" if framework == "next" else "WORKOS_REDIRECT_URI"
    )
    return {
        **{f"WORKOS_API_{name}": value for name, value in host.items()},
        "WORKOS_CLIENT_ID": client_id,
        "WORKOS_API_KEY": api_key,
        "WORKOS_COOKIE_PASSWORD": cookie_password,
        redirect_name: redirect,
    }


def _unquote(raw: str) -> str:
    value = raw.strip()
    close = value.find(value[0], 1) if value[:1] in ("'", '"') else -1
    if close > 0:
        inner = value[1:close]
        return inner.replace("\\n", "\n").replace('\\"', '"') if value[0] == '"' else inner
    return re.split(r"\s+#", value, maxsplit=1)[0].strip()


def read_env_file(path: str | os.PathLike[str]) -> dict[str, str]:
    """`KEY=VALUE` lines (with `export`, quotes and comments as dotenv writes them); later
    lines win, as in dotenv."""
    found: dict[str, str] = {}
    for line in _read_lines(Path(path)):
        match = _LINE.match(line)
        if match and not line.lstrip().startswith("#"):
            found[match["key"]] = _unquote(match["value"])
    return found


def _requote(old: str, new: str) -> str:
    """`new` in the quotes of the old value, before its inline comment if it had one."""
    old = old.strip()
    close = old.find(old[0], 1) if old[:1] in ("'", '"') else -1
    if close > 0:
        return f"{old[0]}{new}{old[0]}{old[close + 1 :]}"
    comment = re.search(r"\s+#.*\Z", old)
    return new + (comment.group(0) if comment else "")


def merge_env_file(
    path: str | os.PathLike[str], variables: dict[str, str], header: str
) -> tuple[list[str], list[str]]:
    """Set `variables` in the file: existing keys change in place, new ones are appended under
    `header`; every other line, comment and the order stay. A new file is made with mode 0600.
    Returns the updated and the added names."""
    target = Path(path).resolve()  # a symlinked .env keeps its link
    lines = _read_lines(target) if target.exists() else []
    updated: list[str] = []
    for index, line in enumerate(lines):
        match = _LINE.match(line)
        if not match or line.lstrip().startswith("#") or match["key"] not in variables:
            continue
        value = _requote(match["value"], variables[match["key"]])
        lines[index] = f"{match['lead']}{match['key']}{match['eq']}{value}{match['end']}"
        if match["key"] not in updated:
            updated.append(match["key"])
    added = [name for name in variables if name not in updated]
    if added:
        if lines and not lines[-1].endswith("\n"):
            lines[-1] += "\n"
        if lines and lines[-1].strip():
            lines.append("\n")
        lines.append(f"# {header}\n")
        lines.extend(f"{name}={variables[name]}\n" for name in added)
    _write(target, "".join(lines))
    return updated, added


def _read_lines(path: Path) -> list[str]:
    with open(path, newline="") as handle:  # keep CRLF line ends as they are
        return handle.read().splitlines(keepends=True)


def _write(target: Path, text: str) -> None:
    """Replace the file at once, keeping its mode (0600 for a new one)."""
    mode = target.stat().st_mode & 0o777 if target.exists() else 0o600
    descriptor, temporary = tempfile.mkstemp(dir=target.parent or ".", prefix=".authkeep-env-")
    try:
        with os.fdopen(descriptor, "w", newline="") as handle:
            handle.write(text)
        os.chmod(temporary, mode)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
