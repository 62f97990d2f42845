"""A WorkOS emulator seed file (`workos-emulate.config.yaml`) applied to authkeep: pinned IDs
honoured, unsupported entities reported by name, and the seeded people sign in."""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import jwt
import pytest
from workos import WorkOSClient

from authkeep.cli import main
from tests.cli.test_dev import CLI, DevServer, authkeep
from tests.signin.hosted import callback_of, open_form, submit_sign_in
from tests.support import SECRET, LiveServer, free_port

SEED = Path(__file__).parent / "seeds" / "workos-emulate.config.yaml"
ALICE = "user_01HZY5D3W9GQ4TJ7B2M6N8P0RS"
ACME = "org_01HZY5D6A4F8K2R9T3V7X1Z5B0"
CI_KEY = "sk_test_ci_key_0123456789"
SKIPPED = [
    "skipped: invitations: 1 skipped (authkeep has no invitations yet)",
    "skipped: webhookEndpoints: 1 skipped (authkeep has no webhook endpoints yet)",
    "skipped: users[1].totp: TOTP factors skipped (not supported yet)",
    "skipped: users[2].oauth_provider: linked OAuth identities skipped (not supported yet)",
    "skipped: organizations[0].entitlements: entitlements skipped (not supported yet)",
    "skipped: organizations[1].groups: groups skipped (not supported yet)",
    "skipped: roles[2]: organization role 'org-auditor' skipped (not supported yet)",
    "skipped: apiKeys[0]: 'CI Key' applied as an environment API key; its owner and "
    "permissions are skipped",
]


def test_emulator_seed_signs_in_with_pinned_ids(
    live_server: LiveServer,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("AUTHKEEP_SECRET_KEY", SECRET)
    name = f"emulated-{uuid.uuid4().hex[:8]}"
    args = ["apply", "--file", str(SEED), "--env", name, "--database-url", database_url]
    assert main(args) == 0
    output = capsys.readouterr().out
    lines = output.splitlines()
    assert f"  + user alice@acme.test ({ALICE})" in lines
    assert f"  + organization Acme Corp ({ACME}) [acme.test]" in lines
    assert "  + role viewer [posts:read]" in lines
    assert [line for line in lines if line.startswith("skipped: ")] == SKIPPED
    client_id = next(line.split()[-1] for line in lines if line.startswith("  client_id"))

    assert main(args) == 0
    assert "  no changes" in capsys.readouterr().out.splitlines()

    # The seeded API key value authenticates, as it does on the emulator.
    workos = WorkOSClient(api_key=CI_KEY, client_id=client_id, base_url=live_server.base_url)
    assert workos.user_management.get_user(ALICE).email == "alice@acme.test"
    assert workos.organizations.get_organization(ACME).domains[0].state == "verified"
    signed_in = workos.user_management.authenticate_with_password(
        email="alice@acme.test", password="test123-password"
    )
    assert signed_in.user.id == ALICE and signed_in.organization_id == ACME
    claims = jwt.decode(signed_in.access_token, options={"verify_signature": False})
    assert claims["sub"] == ALICE and claims["org_id"] == ACME
    assert claims["role"] == "admin" and claims["permissions"] == ["posts:read", "posts:write"]


def test_dev_seeds_on_start_and_reset_starts_fresh(tmp_path: Path) -> None:
    seed = tmp_path / "workos-emulate.config.yaml"
    seed.write_text(SEED.read_text())
    with dev_server(tmp_path, "--seed", str(seed)) as output:
        credentials = json.loads(authkeep("env", "--json", cwd=tmp_path).stdout)
        base, client_id = credentials["base_url"], credentials["client_id"]
        with httpx.Client(base_url=base, follow_redirects=False) as browser:
            authorize = httpx.URL(
                f"{base}/user_management/authorize",
                params={
                    "client_id": client_id,
                    "redirect_uri": "http://localhost:3000/callback",
                    "response_type": "code",
                    "provider": "authkit",
                },
            )
            page = open_form(browser, str(authorize))
            response = submit_sign_in(browser, page, "alice@acme.test", "test123-password")
            code = callback_of(response).code
        workos = WorkOSClient(api_key=credentials["api_key"], client_id=client_id, base_url=base)
        session = workos.user_management.authenticate_with_code(code=code or "")
        assert session.user.id == ALICE and session.organization_id == ACME
        workos.user_management.create_user(email="extra@acme.test")
    assert f"  + user alice@acme.test ({ALICE})" in output

    with dev_server(tmp_path, "--seed", str(seed)) as output:
        pass
    assert "  no changes" in output  # a restart keeps the data, and the seed finds it there

    with dev_server(tmp_path, "--reset", "--seed", str(seed)) as output:
        fresh = json.loads(authkeep("env", "--json", cwd=tmp_path).stdout)
        workos = WorkOSClient(
            api_key=fresh["api_key"], client_id=fresh["client_id"], base_url=fresh["base_url"]
        )
        assert fresh["client_id"] != client_id
        assert workos.user_management.get_user(ALICE).email == "alice@acme.test"
        emails = {user.email for user in workos.user_management.list_users().data}
        assert emails == {"alice@acme.test", "bob@acme.test", "carol@beta.test"}
    assert output[0].startswith("reset: removed ") and "authkeep.db" in output[0]


@contextmanager
def dev_server(workdir: Path, *options: str) -> Iterator[list[str]]:
    """`authkeep dev` with options; the list holds its output lines once it has stopped."""
    output: list[str] = []
    server = DevServer(workdir, free_port())
    server.command = [*CLI, "dev", "--port", str(server.port), *options]
    server.start()
    try:
        yield output
    finally:
        server.stop()
        output += server.output.splitlines()


def test_dev_refuses_a_broken_seed_before_starting(tmp_path: Path) -> None:
    seed = tmp_path / "authkeep.toml"
    seed.write_text('[environments.staging]\nkind = "production"\n')
    result = subprocess.run(
        [*CLI, "dev", "--port", str(free_port()), "--seed", str(seed)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "has no [environments.development] to seed the dev server with" in result.stderr
    assert not (tmp_path / ".authkeep" / "authkeep.db").exists()


def test_dev_prints_the_seeded_default_redirect_uri(tmp_path: Path) -> None:
    seed = tmp_path / "authkeep.toml"
    seed.write_text(
        "[environments.development]\n"
        'kind = "development"\n'
        'redirect_uris = ["http://localhost:5173/auth/callback", "http://localhost:3000/callback"]\n'
    )
    with dev_server(tmp_path, "--seed", str(seed)) as output:
        pass
    assert "  NEXT_PUBLIC_WORKOS_REDIRECT_URI=http://localhost:5173/auth/callback" in output
