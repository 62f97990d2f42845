"""Reading authkeep.toml: a broken file (or emulator seed) is refused before anything is touched,
and each problem names the file, the line and the field; the example reads back as itself."""

from __future__ import annotations

import re
import tomllib
from dataclasses import fields
from pathlib import Path

import pytest

from authkeep.cli import main
from authkeep.services.config_file.model import EnvironmentConfig
from authkeep.services.config_file.parse import parse_toml
from authkeep.services.config_file.render import render
from authkeep.services.config_file.state import fresh_environment
from tests.support import ROOT


def apply_errors(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    text: str,
    name: str = "authkeep.toml",
) -> list[str]:
    (tmp_path / name).write_text(text)
    # No dev data in tmp_path: the file must fail before the database is looked for.
    code = main(["apply", "--file", str(tmp_path / name), "--data-dir", str(tmp_path / "none")])
    assert code == 2
    error = capsys.readouterr().err
    assert error.startswith("authkeep: ")
    return error.removeprefix("authkeep: ").replace(str(tmp_path) + "/", "").splitlines()


def test_bad_toml_syntax_names_its_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = apply_errors(
        tmp_path, capsys, '[environments.dev]\nkind = "development"\nredirect_uris = ["http://a\n'
    )
    assert len(lines) == 1 and lines[0].startswith("authkeep.toml:3: "), lines


def test_unknown_field_wrong_type_and_bad_url(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = """\
[environments.dev]
kind = "development"
redirect_uri = "http://localhost:3000/callback"
logout_uris = "http://localhost:3000/"
access_token_ttl = true
session_max_age = "a fortnight"
redirect_uris = [
  "http://localhost:3000/callback",
  "https://app.example.com/callback",
  "/callback",
]
signup = "anyone"

[environments.dev.branding]
color = "blue"
"""
    assert apply_errors(tmp_path, capsys, text) == [
        "authkeep.toml:3: environments.dev.redirect_uri: unknown field (expected one of: kind, "
        "client_id, homepage_url, redirect_uris, logout_uris, cors_origins, issuer, "
        "access_token_ttl, session_max_age, session_idle_timeout, signup, "
        "email_verification_required, sign_in_methods, multiple_roles, "
        "end_sessions_on_password_reset, branding, permissions, roles, seed)",
        "authkeep.toml:4: environments.dev.logout_uris: must be a list, not the string "
        "'http://localhost:3000/'",
        "authkeep.toml:5: environments.dev.access_token_ttl: must be seconds (a number) or a "
        'duration like "15m" or "30d"',
        "authkeep.toml:6: environments.dev.session_max_age: 'a fortnight' is not a duration like "
        '300, "90s", "15m", "12h" or "30d"',
        "authkeep.toml:10: environments.dev.redirect_uris[2]: '/callback' is not an absolute URL",
        "authkeep.toml:12: environments.dev.signup: 'anyone' is not one of: open, invite-only",
        "authkeep.toml:15: environments.dev.branding.color: Use a colour like #4f46e5",
    ]


def test_seed_data_in_a_production_environment_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = """\
[environments.production]
kind = "production"
redirect_uris = ["https://app.example.com/callback"]

[[environments.production.seed.users]]
email = "alice@example.com"
password = "correct horse battery staple"
"""
    lines = apply_errors(tmp_path, capsys, text)
    assert lines == [
        "authkeep.toml:5: environments.production.seed: seed data is only for development "
        "environments; a production environment's users and organizations come through the API"
    ]


def test_roles_and_seed_references_are_checked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = """\
[environments.dev]
kind = "development"

[[environments.dev.permissions]]
slug = "posts:read"

[[environments.dev.roles]]
slug = "admin"
permissions = ["posts:read", "posts:delete"]

[[environments.dev.seed.users]]
email = "not-an-address"

[[environments.dev.seed.organizations]]
name = "Acme"
id = "org/1"
memberships = [{ email = "alice@example.com", roles = ["owner"] }]
"""
    assert apply_errors(tmp_path, capsys, text) == [
        "authkeep.toml:7: environments.dev.roles: exactly one role has `default = true` (the "
        "role of a new member), not 0",
        "authkeep.toml:9: environments.dev.roles[0].permissions[1]: 'posts:delete' is not "
        "declared in environments.dev.permissions",
        "authkeep.toml:12: environments.dev.seed.users[0].email: 'not-an-address' is not a valid "
        "e-mail address",
        "authkeep.toml:16: environments.dev.seed.organizations[0].id: an ID is 1 to 64 letters, "
        "digits, '_' or '-'",
        "authkeep.toml:17: environments.dev.seed.organizations[0].memberships[0].roles[0]: "
        "'owner' is not declared in environments.dev.roles",
    ]


def test_emulator_seed_errors_name_their_yaml_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = """\
users:
  - email: alice@acme.test
    password: test123
  - email: bob
organizations:
  - name: Acme
    memberships:
      - email: carol@acme.test
"""
    assert apply_errors(tmp_path, capsys, text, "workos-emulate.config.yaml") == [
        "workos-emulate.config.yaml:4: users[1].email: 'bob' is not a valid e-mail address",
        "workos-emulate.config.yaml:8: organizations[0].memberships[0].email: must match a user "
        "defined in users",
    ]


def test_export_of_a_fresh_environment_reads_back_as_itself() -> None:
    fresh = fresh_environment("staging", "production", 300)
    again = parse_toml(render([fresh])).environments["staging"]
    assert render([again]) == render([fresh])


def test_the_example_file_reads_and_exports_as_itself() -> None:
    example = (ROOT / "examples" / "authkeep.toml").read_text()
    config = parse_toml(example)
    assert list(config.environments) == ["development", "production"]
    development = config.environments["development"]
    assert development.seed is not None and development.seed.users[0].password
    again = parse_toml(render(list(config.environments.values())))
    assert render(list(again.environments.values())) == render(list(config.environments.values()))


def test_docs_show_valid_files_and_name_every_field() -> None:
    readme = (ROOT / "README.md").read_text()
    docs = (ROOT / "docs" / "config.md").read_text()
    blocks = re.findall(r"```toml\n(.*?)```", readme, re.S)
    assert blocks and all(parse_toml(block).environments for block in blocks)
    for block in re.findall(r"```toml\n(.*?)```", docs, re.S):
        tomllib.loads(block)
    settings = [
        f.name for f in fields(EnvironmentConfig) if f.name not in ("name", "exclusive_roles")
    ]
    undocumented = [name for name in settings if name not in docs]
    assert undocumented == []
