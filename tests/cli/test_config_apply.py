"""`authkeep apply` and `authkeep export` on a production database (SQLite file and PostgreSQL):
plans, idempotence, removal, dry runs, and export that reads back as the file applied."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import fields, replace
from pathlib import Path

import pytest

from authkeep.cli import main
from authkeep.crypto.secrets import new_id
from authkeep.services.config_file.parse import parse_toml
from authkeep.services.config_file.render import render
from authkeep.services.config_file.state import fresh_environment
from tests.support import SECRET

CONFIG = """\
[environments.{prod}]
kind = "production"
homepage_url = "https://app.example.com"
redirect_uris = [
  "https://app.example.com/callback",
  "https://app.example.com/login/callback",
  "https://admin.example.com/callback",
]
logout_uris = ["https://app.example.com/"]
cors_origins = ["https://app.example.com", "https://admin.example.com"]
issuer = "https://auth.example.com/"
access_token_ttl = "5m"
session_max_age = "7d"
session_idle_timeout = "1d"
signup = "invite-only"
sign_in_methods = ["password", "magic_auth"]
multiple_roles = false

[environments.{prod}.branding]
name = "Example"
logo_url = "https://app.example.com/logo.svg"
color = "#4f46e5"

[[environments.{prod}.permissions]]
slug = "posts:read"
name = "Read posts"

[[environments.{prod}.permissions]]
slug = "posts:write"
name = "Write posts"
description = "Create and edit posts"

[[environments.{prod}.roles]]
slug = "admin"
name = "Admin"
permissions = ["posts:read", "posts:write"]

[[environments.{prod}.roles]]
slug = "editor"
name = "Editor"
description = "Writes posts"
permissions = ["posts:write"]

[[environments.{prod}.roles]]
slug = "member"
name = "Member"
permissions = ["posts:read"]
default = true

[environments.{dev}]
kind = "development"
redirect_uris = ["http://localhost:5173/callback"]
sign_in_methods = ["password"]

[[environments.{dev}.seed.users]]
email = "alice@example.com"
id = "{alice}"
password = "correct horse battery staple"
first_name = "Alice"

[[environments.{dev}.seed.users]]
email = "bob@example.com"
id = "{bob}"
password = "correct horse battery staple"
email_verified = false

[[environments.{dev}.seed.organizations]]
name = "Example"
id = "{org}"
domains = ["example.com", {{ domain = "example.org", state = "pending" }}]
memberships = [
  {{ email = "alice@example.com", roles = ["admin"] }},
  {{ email = "bob@example.com", roles = ["member"], status = "inactive" }},
]
"""


Cli = Callable[..., str]


def assert_no_changes(output: str) -> None:
    lines = output.splitlines()
    assert lines[1] == "  no changes", output
    assert all(line.startswith("  note: ") for line in lines[2:]), output


@pytest.fixture
def cli(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Cli:
    """Run the CLI in-process on the test database; its output, or its error when failing."""
    monkeypatch.setenv("AUTHKEEP_SECRET_KEY", SECRET)

    def run(*args: str, expect: int = 0) -> str:
        code = main([*args, "--database-url", database_url])
        captured = capsys.readouterr()
        assert code == expect, captured.err
        return captured.out if expect == 0 else captured.err

    return run


@pytest.fixture
def names() -> dict[str, str]:
    tag = uuid.uuid4().hex[:8]
    return {
        "prod": f"prod-{tag}",
        "dev": f"dev-{tag}",
        "alice": new_id("user"),
        "bob": new_id("user"),
        "org": new_id("org"),
    }


def test_apply_export_apply_is_stable(cli: Cli, names: dict[str, str], tmp_path: Path) -> None:
    prod, dev = names["prod"], names["dev"]
    config = tmp_path / "authkeep.toml"
    config.write_text(CONFIG.format(**names))

    first = cli("apply", "--file", str(config))
    assert f"not applied here: {dev}" in first
    assert f"+ environment {prod} (production)" in first
    assert "+ redirect_uri https://admin.example.com/callback" in first
    assert "+ access_token_ttl 5m" not in first  # the default: nothing to change
    assert "+ signup invite-only" in first and "+ role editor [posts:write]" in first
    assert "magic_auth recorded; the hosted pages offer only password today" in first
    assert "api_key    sk_live_" in first and "client_id  client_" in first
    seeded = cli("apply", "--file", str(config), "--env", dev)
    assert f"+ user alice@example.com ({names['alice']})" in seeded
    assert "+ membership alice@example.com in Example [admin]" in seeded
    assert "api_key    sk_test_" in seeded

    for env in (prod, dev):
        assert_no_changes(cli("apply", "--file", str(config), "--env", env))

    parsed = parse_toml(config.read_text())
    for env in (prod, dev):
        exported = cli("export", "--env", env)
        client_id = parse_toml(exported).environments[env].client_id
        assert client_id and client_id.startswith("client_")
        # Export is the input in normal form: what the file leaves out at a new environment's
        # defaults, its client ID added, passwords never written.
        written = parsed.environments[env]
        fresh = fresh_environment(env, written.kind, 300)
        normal = replace(
            fresh,
            client_id=client_id,
            **{
                f.name: getattr(written, f.name)
                for f in fields(written)
                if getattr(written, f.name) is not None
            },
        )
        assert exported == render([normal])

    # Other tests share this database (some with states only a direct write makes, like
    # 3-second tokens), so each environment is exported to a file of its own.
    for env in (prod, dev):
        exported_file = tmp_path / f"{env}.toml"
        cli("export", "--env", env, "--output", str(exported_file))
        assert_no_changes(cli("apply", "--file", str(exported_file), "--env", env))


def test_removing_from_the_file_removes_and_dry_run_changes_nothing(
    cli: Cli,
    names: dict[str, str],
    tmp_path: Path,
) -> None:
    prod = names["prod"]
    config = tmp_path / "authkeep.toml"
    text = CONFIG.format(**names)
    config.write_text(text)
    cli("apply", "--file", str(config), "--env", prod)

    config.write_text(
        text.replace('  "https://app.example.com/login/callback",\n', "")
        .replace(', "https://admin.example.com"]', "]")
        .replace('access_token_ttl = "5m"', 'access_token_ttl = "15m"', 1)
    )
    planned = cli("apply", "--file", str(config), "--env", prod, "--dry-run")
    assert planned.splitlines() == [
        f"environment {prod} (production)",
        "  ~ access_token_ttl 5m -> 15m",
        "  - redirect_uri https://app.example.com/login/callback",
        "  - cors_origin https://admin.example.com",
        "  note: sign_in_methods: magic_auth recorded; the hosted pages offer only password today",
        "Dry run: nothing was changed.",
    ]
    assert cli("apply", "--file", str(config), "--env", prod, "--dry-run") == planned

    applied = cli("apply", "--file", str(config), "--env", prod)
    assert "- redirect_uri https://app.example.com/login/callback" in applied
    exported = cli("export", "--env", prod)
    assert "login/callback" not in exported and 'https://admin.example.com"' not in exported
    assert 'access_token_ttl = "15m"' in exported
    assert "https://admin.example.com/callback" in exported
    assert_no_changes(cli("apply", "--file", str(config), "--env", prod))


def test_apply_refuses_what_it_must_not_change(
    cli: Cli,
    names: dict[str, str],
    tmp_path: Path,
) -> None:
    prod, dev = names["prod"], names["dev"]
    config = tmp_path / "authkeep.toml"
    text = CONFIG.format(**names)
    config.write_text(text)
    cli("apply", "--file", str(config), "--env", prod)
    cli("apply", "--file", str(config), "--env", dev)

    config.write_text(
        text.replace(
            '[environments.{prod}]\nkind = "production"'.format(**names),
            f'[environments.{prod}]\nkind = "development"',
        )
    )
    error = cli("apply", "--file", str(config), "--env", prod, expect=2)
    assert f"authkeep.toml:2: environments.{prod}.kind: {prod} is a production environment" in error
    assert f"Nothing of environment {prod} was changed." in error

    # The admin role is held by Alice's membership: dropping it from the file is refused.
    without_admin = text.replace(
        f"[[environments.{dev}.seed.users]]",
        f'[[environments.{dev}.roles]]\nslug = "member"\n'
        f"default = true\n\n[[environments.{dev}.seed.users]]",
        1,
    ).replace('roles = ["admin"]', 'roles = ["member"]')
    config.write_text(without_admin)
    error = cli("apply", "--file", str(config), "--env", dev, expect=2)
    assert f"environments.{dev}.roles: the role 'admin' is held by 1 membership(s)" in error

    pinned = text.replace(
        f"[environments.{dev}]\n", f'[environments.{dev}]\nclient_id = "{new_id("client")}"\n'
    )
    config.write_text(pinned)
    error = cli("apply", "--file", str(config), "--env", dev, expect=2)
    assert "a client ID never changes" in error


def test_email_verification_required_from_the_cli_and_the_file(
    cli: Cli, names: dict[str, str], tmp_path: Path
) -> None:
    cli("environments", "create", names["prod"])
    shown = cli("environments", "configure", names["prod"], "--email-verification-required")
    assert '"email_verification_required": true' in shown
    exported = tmp_path / "exported.toml"
    cli("export", "--env", names["prod"], "--output", str(exported))
    assert "email_verification_required = true" in exported.read_text()
    shown = cli("environments", "configure", names["prod"], "--no-email-verification-required")
    assert '"email_verification_required": false' in shown
    plan = cli("apply", "--file", str(exported), "--env", names["prod"])
    assert "email_verification_required" in plan and "false -> true" in plan
