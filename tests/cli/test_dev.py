"""`authkeep dev` as a real subprocess: first start, SDK calls, restart with the same data."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from workos import WorkOSClient

from tests.support import free_port

CLI = [sys.executable, "-m", "authkeep.cli"]


def authkeep(
    *args: str, cwd: Path, check: bool = True, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("AUTHKEEP_")}
    environ.update(env or {})
    result = subprocess.run(
        [*CLI, *args], cwd=cwd, capture_output=True, text=True, timeout=60, env=environ
    )
    if check and result.returncode != 0:
        raise AssertionError(f"authkeep {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


class DevServer:
    def __init__(self, workdir: Path, port: int) -> None:
        self.workdir, self.port = workdir, port
        self.command = [*CLI, "dev", "--port", str(port)]
        self.process: subprocess.Popen[str] | None = None
        self.output = ""

    def start(self) -> DevServer:
        environ = {k: v for k, v in os.environ.items() if not k.startswith("AUTHKEEP_")}
        self.process = subprocess.Popen(
            self.command,
            cwd=self.workdir,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=environ,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"authkeep dev exited:\n{self.process.stdout.read()}")  # type: ignore[union-attr]
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                time.sleep(0.1)
        raise AssertionError("authkeep dev did not become healthy")

    def stop(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGINT)
        try:
            self.output, _ = self.process.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.output, _ = self.process.communicate()


@pytest.fixture
def dev(tmp_path: Path) -> Iterator[DevServer]:
    server = DevServer(tmp_path, free_port()).start()
    yield server
    if server.process and server.process.poll() is None:
        server.stop()


def test_dev_keeps_credentials_and_data_across_restarts(dev: DevServer, tmp_path: Path) -> None:
    credentials = json.loads(authkeep("env", "--json", cwd=tmp_path).stdout)
    assert set(credentials) == {"base_url", "client_id", "api_key", "environment_id"}
    assert credentials["base_url"] == f"http://127.0.0.1:{dev.port}"
    assert credentials["api_key"].startswith("sk_test_")
    workos = WorkOSClient(
        api_key=credentials["api_key"],
        client_id=credentials["client_id"],
        base_url=credentials["base_url"],
    )
    user = workos.user_management.create_user(email="persist@example.com")
    org = workos.organizations.create_organization(name="Persisted")
    kid = workos.user_management.get_jwks(credentials["client_id"]).keys[0].kid

    dev.stop()
    assert "WORKOS_CLIENT_ID=" + credentials["client_id"] in dev.output
    assert "WORKOS_API_KEY=" + credentials["api_key"] in dev.output
    assert (
        "WORKOS_API_HOSTNAME=127.0.0.1" in dev.output
        and f"WORKOS_API_PORT={dev.port}" in dev.output
    )

    dev.start()
    again = json.loads(authkeep("env", "--json", cwd=tmp_path).stdout)
    assert again == credentials
    assert workos.user_management.get_user(user.id).email == "persist@example.com"
    assert workos.organizations.get_organization(org.id).name == "Persisted"
    assert workos.user_management.get_jwks(credentials["client_id"]).keys[0].kid == kid
    assert (tmp_path / ".authkeep" / ".gitignore").exists()
    assert oct((tmp_path / ".authkeep" / "dev.json").stat().st_mode & 0o777) == "0o600"


def test_cli_manages_uris_origins_keys_and_rotation(dev: DevServer, tmp_path: Path) -> None:
    credentials = json.loads(authkeep("env", "--json", cwd=tmp_path).stdout)
    base, api_key = credentials["base_url"], credentials["api_key"]
    headers = {"Authorization": f"Bearer {api_key}"}

    authkeep("redirect-uris", "add", "https://app.example.com/callback", cwd=tmp_path)
    listed = authkeep("redirect-uris", "list", cwd=tmp_path).stdout.split()
    assert listed == ["http://localhost:3000/callback", "https://app.example.com/callback"]
    api_uris = [
        r["uri"]
        for r in httpx.get(f"{base}/user_management/redirect_uris", headers=headers).json()["data"]
    ]
    assert sorted(api_uris) == sorted(listed)
    authkeep("redirect-uris", "remove", "https://app.example.com/callback", cwd=tmp_path)
    assert authkeep("redirect-uris", "list", cwd=tmp_path).stdout.split() == [
        "http://localhost:3000/callback"
    ]
    bad = authkeep("redirect-uris", "add", "not a url", cwd=tmp_path, check=False)
    assert bad.returncode == 2 and "not an absolute URL" in bad.stderr

    authkeep("logout-uris", "add", "http://localhost:3000/", cwd=tmp_path)
    assert authkeep("logout-uris", "list", cwd=tmp_path).stdout.split() == [
        "http://localhost:3000/"
    ]
    authkeep("cors-origins", "add", "http://localhost:5173", cwd=tmp_path)
    origins = httpx.get(f"{base}/user_management/cors_origins", headers=headers).json()["data"]
    assert [o["origin"] for o in origins] == ["http://localhost:5173"]
    authkeep("cors-origins", "remove", "http://localhost:5173", cwd=tmp_path)
    assert authkeep("cors-origins", "list", cwd=tmp_path).stdout.strip() == "(none)"

    created = authkeep("api-keys", "create", "--name", "ci", cwd=tmp_path).stdout.split()
    key_id, secret = created[0], created[1]
    assert (
        httpx.get(
            f"{base}/user_management/users", headers={"Authorization": f"Bearer {secret}"}
        ).status_code
        == 200
    )
    assert "ci" in authkeep("api-keys", "list", cwd=tmp_path).stdout
    authkeep("api-keys", "revoke", key_id, cwd=tmp_path)
    assert (
        httpx.get(
            f"{base}/user_management/users", headers={"Authorization": f"Bearer {secret}"}
        ).status_code
        == 401
    )
    assert httpx.get(f"{base}/user_management/users", headers=headers).status_code == 200

    before = httpx.get(f"{base}/sso/jwks/{credentials['client_id']}").json()["keys"]
    out = authkeep("keys", "rotate", cwd=tmp_path).stdout
    assert out.startswith("new signing key")
    time.sleep(5.2)  # the dev server reuses a serialized JWKS for 5 seconds
    after = httpx.get(f"{base}/sso/jwks/{credentials['client_id']}").json()["keys"]
    assert len(after) == 2 and before[0]["kid"] in {k["kid"] for k in after}

    made = authkeep("environments", "create", "staging", cwd=tmp_path).stdout
    staging_key = next(line.split()[-1] for line in made.splitlines() if "api_key" in line)
    assert staging_key.startswith("sk_live_")
    names = [
        line.split()[0]
        for line in authkeep("environments", "list", cwd=tmp_path).stdout.splitlines()
    ]
    assert names == ["development", "staging"]
    staging = {"Authorization": f"Bearer {staging_key}"}
    assert httpx.get(f"{base}/user_management/users", headers=staging).json()["data"] == []


def test_commands_explain_missing_setup(tmp_path: Path) -> None:
    result = authkeep("env", "--json", cwd=tmp_path, check=False)
    assert result.returncode == 2 and "run `authkeep dev` first" in result.stderr
    result = authkeep("redirect-uris", "list", cwd=tmp_path, check=False)
    assert result.returncode == 2 and "authkeep dev" in result.stderr


def test_dev_on_a_busy_port_says_so(dev: DevServer, tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    result = subprocess.run(
        [*CLI, "dev", "--port", str(dev.port)],
        cwd=other,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert f"Port {dev.port} on 127.0.0.1 is already in use" in result.stderr
    assert f"authkeep dev --port {dev.port + 1}" in result.stderr
