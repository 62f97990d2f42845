"""`authkeep dev --signing-key FILE` / `AUTHKEEP_DEV_SIGNING_KEY`: two fresh data directories
pinned to the same key serve the same JWKS, sign with it, and keep it across restarts."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from authkeep.crypto.keys import public_jwk, thumbprint
from authkeep.integrations.verifier import TokenVerifier
from tests.cli.test_dev import CLI, DevServer, authkeep
from tests.support import free_port


def start(workdir: Path, *args: str, env: dict[str, str] | None = None) -> DevServer:
    server = DevServer(workdir, free_port())
    environ = {k: v for k, v in os.environ.items() if not k.startswith("AUTHKEEP_")}
    server.process = subprocess.Popen(
        [*CLI, "dev", "--port", str(server.port), *args],
        cwd=workdir,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=environ | (env or {}),
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert server.process.poll() is None, server.process.stdout.read()  # type: ignore[union-attr]
        try:
            if httpx.get(f"http://127.0.0.1:{server.port}/healthz", timeout=1).is_success:
                return server
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError("authkeep dev did not start")


def jwks(workdir: Path) -> dict[str, object]:
    credentials = json.loads(authkeep("env", "--json", cwd=workdir).stdout)
    return httpx.get(f"{credentials['base_url']}/sso/jwks/{credentials['client_id']}").json()  # type: ignore[no-any-return]


def test_two_data_dirs_with_one_pinned_key_serve_the_same_jwks(tmp_path: Path) -> None:
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key_file = tmp_path / "dev-signing-key.pem"
    key_file.write_bytes(  # PKCS #1, as `openssl genrsa` writes it
        private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    kid = thumbprint(public_jwk(private_key.public_key()))
    first, second = tmp_path / "laptop", tmp_path / "ci"
    first.mkdir()
    second.mkdir()

    laptop = start(first, "--signing-key", str(key_file))
    ci = start(second, env={"AUTHKEEP_DEV_SIGNING_KEY": str(key_file)})
    try:
        served = jwks(first)
        assert served == jwks(second)
        assert [key["kid"] for key in served["keys"]] == [kid]  # type: ignore[index]

        credentials = json.loads(authkeep("env", "--json", cwd=first).stdout)
        user = httpx.post(
            f"{credentials['base_url']}/user_management/users",
            headers={"Authorization": f"Bearer {credentials['api_key']}"},
            json={"email": "pinned@example.com"},
        ).json()
        token = authkeep("token", "mint", "--user", user["id"], cwd=first).stdout.strip()
        assert jwt.get_unverified_header(token)["kid"] == kid
        verifier = TokenVerifier(
            base_url=credentials["base_url"], client_id=credentials["client_id"]
        )
        assert verifier.verify(token).user_id == user["id"]
    finally:
        laptop.stop()
        ci.stop()
    assert f"signing key {kid} pinned from {key_file}" in laptop.output

    # A restart without the option keeps the pinned key: it lives in the dev database.
    again = start(first)
    try:
        assert jwks(first) == served
    finally:
        again.stop()


def test_an_unusable_key_file_stops_dev_with_the_fix(tmp_path: Path) -> None:
    bad = tmp_path / "small.pem"
    bad.write_bytes(
        rsa.generate_private_key(public_exponent=65537, key_size=1024).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    result = subprocess.run(
        [*CLI, "dev", "--port", str(free_port()), "--signing-key", str(bad)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "must be RSA of at least 2048 bits" in result.stderr
    assert "openssl genpkey -algorithm RSA" in result.stderr
