"""`authkeep env --framework ... [--write FILE]`: the variables each SDK reads, merged into the
app's file; the official Python SDK, built from nothing but that file, talks to `authkeep dev`
and accepts a session minted by `authkeep token mint`."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from workos import WorkOSClient
from workos.organization_membership._resource import RoleSingle
from workos.session import seal_session_from_auth_response

from authkeep.cli.envfile import merge_env_file, read_env_file
from tests.cli.test_dev import DevServer, authkeep
from tests.support import free_port

EXPECTED = {
    "next": [
        "WORKOS_API_HOSTNAME",
        "WORKOS_API_PORT",
        "WORKOS_API_HTTPS",
        "WORKOS_CLIENT_ID",
        "WORKOS_API_KEY",
        "WORKOS_COOKIE_PASSWORD",
        "NEXT_PUBLIC_WORKOS_REDIRECT_URI",
    ],
    "node": [
        "WORKOS_API_HOSTNAME",
        "WORKOS_API_PORT",
        "WORKOS_API_HTTPS",
        "WORKOS_CLIENT_ID",
        "WORKOS_API_KEY",
        "WORKOS_COOKIE_PASSWORD",
        "WORKOS_REDIRECT_URI",
    ],
    "python": [
        "WORKOS_BASE_URL",
        "WORKOS_CLIENT_ID",
        "WORKOS_API_KEY",
        "WORKOS_ISSUER",
        "WORKOS_COOKIE_PASSWORD",
        "WORKOS_REDIRECT_URI",
    ],
    "vite": [
        "VITE_WORKOS_CLIENT_ID",
        "VITE_WORKOS_API_HOSTNAME",
        "VITE_WORKOS_API_PORT",
        "VITE_WORKOS_API_HTTPS",
        "VITE_WORKOS_REDIRECT_URI",
    ],
}


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevServer]:
    server = DevServer(tmp_path_factory.mktemp("devenv"), free_port()).start()
    yield server
    server.stop()


def printed(dev: DevServer, *args: str) -> dict[str, str]:
    out = authkeep("env", *args, cwd=dev.workdir).stdout
    return dict(line.split("=", 1) for line in out.splitlines())


def test_each_framework_gets_the_names_its_sdk_reads(dev: DevServer) -> None:
    credentials = json.loads(authkeep("env", "--json", cwd=dev.workdir).stdout)
    client_id, base = credentials["client_id"], credentials["base_url"]
    for framework, names in EXPECTED.items():
        values = printed(dev, "--framework", framework)
        assert list(values) == names, framework
        assert "WORKOS_API_KEY" not in values or values["WORKOS_API_KEY"] == credentials["api_key"]
    assert printed(dev, "--framework", "vite") == {
        "VITE_WORKOS_CLIENT_ID": client_id,
        "VITE_WORKOS_API_HOSTNAME": "127.0.0.1",
        "VITE_WORKOS_API_PORT": str(dev.port),
        "VITE_WORKOS_API_HTTPS": "false",
        "VITE_WORKOS_REDIRECT_URI": "http://localhost:5173/callback",
    }
    python = printed(dev, "--framework", "python", "--redirect-uri", "http://localhost:5000/cb")
    assert python["WORKOS_BASE_URL"] == base
    assert python["WORKOS_ISSUER"] == f"{base}/user_management/{client_id}"
    assert python["WORKOS_REDIRECT_URI"] == "http://localhost:5000/cb"
    # Without --framework, the output is the one `authkeep dev` prints.
    assert list(printed(dev))[:3] == ["WORKOS_API_HOSTNAME", "WORKOS_API_PORT", "WORKOS_API_HTTPS"]


def test_write_merges_into_the_file_and_python_sdk_runs_from_it(
    dev: DevServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    env_file = dev.workdir / ".env.local"
    env_file.write_text(
        "# my app\nexport WORKOS_CLIENT_ID='client_stale'\nDATABASE_URL=postgres://db/app\n"
        'WORKOS_API_KEY="sk_test_stale" # from the dashboard\n'
    )
    env_file.chmod(0o640)
    done = authkeep("env", "--framework", "python", "--write", ".env.local", cwd=dev.workdir)
    assert done.stdout.startswith(".env.local: 2 updated, 4 added")
    lines = env_file.read_text().splitlines()
    assert lines[0] == "# my app" and lines[2] == "DATABASE_URL=postgres://db/app"
    assert lines[1].startswith("export WORKOS_CLIENT_ID='client_") and lines[1] != (
        "export WORKOS_CLIENT_ID='client_stale'"
    )
    assert lines[3].startswith('WORKOS_API_KEY="sk_test_') and lines[3].endswith(
        '" # from the dashboard'
    )
    assert lines[4] == "" and lines[5].startswith("# authkeep dev server")
    assert [line.split("=")[0] for line in lines[6:]] == [
        "WORKOS_BASE_URL",
        "WORKOS_ISSUER",
        "WORKOS_COOKIE_PASSWORD",
        "WORKOS_REDIRECT_URI",
    ]
    assert oct(env_file.stat().st_mode & 0o777) == "0o640"
    again = authkeep("env", "--framework", "python", "--write", ".env.local", cwd=dev.workdir)
    assert again.stdout.startswith(".env.local: 6 updated, 0 added")
    assert env_file.read_text().count("WORKOS_ISSUER=") == 1

    # The official SDK from the file's variables alone.
    for name in list(os.environ):
        if name.startswith("WORKOS_"):
            monkeypatch.delenv(name)
    variables = read_env_file(env_file)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    workos = WorkOSClient()
    user = workos.user_management.create_user(email="from-env@example.com")
    org = workos.organizations.create_organization(name="From env")
    workos.organization_membership.create_organization_membership(
        user_id=user.id, organization_id=org.id, role=RoleSingle(role_slug="admin")
    )
    assert [u.id for u in workos.user_management.list_users().data] == [user.id]

    minted = json.loads(
        authkeep(
            "token", "mint", "--user", user.email, "--org", org.id, "--json", cwd=dev.workdir
        ).stdout
    )
    # workos-python seals with Fernet: the dev cookie password is a Fernet key too.
    sealed = seal_session_from_auth_response(
        access_token=minted["access_token"],
        refresh_token=minted["refresh_token"],
        user=user.to_dict(),
        cookie_password=variables["WORKOS_COOKIE_PASSWORD"],
    )
    session = workos.user_management.load_sealed_session(
        session_data=sealed, cookie_password=variables["WORKOS_COOKIE_PASSWORD"]
    )
    result = session.authenticate()  # JWKS of WORKOS_CLIENT_ID, issuer pinned by WORKOS_ISSUER
    assert result.authenticated is True, result
    assert result.session_id == minted["session_id"]
    assert result.organization_id == org.id and result.role == "admin"


def test_write_creates_a_private_file(tmp_path: Path) -> None:
    target = tmp_path / ".env.local"
    assert merge_env_file(target, {"A": "1", "B": "2"}, "header") == ([], ["A", "B"])
    assert target.read_text() == "# header\nA=1\nB=2\n"
    assert oct(target.stat().st_mode & 0o777) == "0o600"
    crlf = tmp_path / "windows.env"
    crlf.write_bytes(b"A=old\r\nKEEP=1")
    assert merge_env_file(crlf, {"A": "new", "C": "3"}, "h") == (["A"], ["C"])
    assert crlf.read_bytes() == b"A=new\r\nKEEP=1\n\n# h\nC=3\n"
