"""`authkeep doctor` against a live server: each test provokes exactly one finding and checks its
message and its fix; good setups of every framework find nothing."""

from __future__ import annotations

import email.utils
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from authkeep.app import create_app
from authkeep.cli import main
from authkeep.cli.envfile import framework_variables
from authkeep.config import Settings
from tests import support
from tests.conformance import ConformanceRecorder

CALLBACK = "http://localhost:3000/callback"
COOKIE_PASSWORD = "doctor-test-cookie-password-0123456789abcdef"
CLOCK = {"skew": 0.0}  # seconds the test server's Date header is off by


def skewed_date(app: ASGIApp) -> ASGIApp:
    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        async def with_date(message: Message) -> None:
            if message["type"] == "http.response.start":
                date = email.utils.formatdate(time.time() + CLOCK["skew"], usegmt=True)
                message["headers"] = [*message.get("headers", []), (b"date", date.encode())]
            await send(message)

        await app(scope, receive, with_date)

    return wrapped


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, recorder: ConformanceRecorder
) -> Iterator[support.LiveServer]:
    url = f"sqlite:///{tmp_path_factory.mktemp('doctor') / 'authkeep.db'}"
    support.migrate_database(url)
    settings = Settings(
        database_url=url,
        secret_key=support.SECRET,
        port=support.free_port(),
        log_level="warning",
    )
    live = support.LiveServer(recorder.wrap(skewed_date(create_app(settings))), settings)
    live.server.config.date_header = False  # the wrapper sends the only Date header
    yield live.start()
    live.stop()


@pytest.fixture
def env(server: support.LiveServer) -> support.TestEnvironment:
    return support.make_environment(
        server.settings.database_url, server.base_url, redirect_uris=(CALLBACK,)
    )


def variables(
    env: support.TestEnvironment, framework: str = "next", **changes: str | None
) -> dict[str, str]:
    found = framework_variables(
        framework,
        base_url=env.base_url,
        client_id=env.client_id,
        api_key=env.api_key,
        cookie_password=COOKIE_PASSWORD,
        issuer=f"{env.base_url}/user_management/{env.client_id}",
        redirect_uri=CALLBACK,
    )
    found.update({k: v for k, v in changes.items() if v is not None})
    return {k: v for k, v in found.items() if changes.get(k, "") is not None}


def doctor(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], found: dict[str, str], *options: str
) -> tuple[int, list[tuple[str, str, str]], str]:
    """Exit code, the findings as (kind, check, text with its fix), and the whole output."""
    env_file = tmp_path / ".env.local"
    env_file.write_text("".join(f"{name}={value}\n" for name, value in found.items()))
    code = main(["doctor", "--env-file", str(env_file), *options])
    out = capsys.readouterr().out
    findings = []
    for block in out.split("\n\n")[1:]:
        head, _, rest = block.partition(": ")
        if head.startswith(("problem (", "note (")):
            kind, _, check = head.rstrip(")").partition(" (")
            findings.append((kind, check, rest))
    return code, findings, out


def only(findings: list[tuple[str, str, str]], kind: str, check: str) -> str:
    assert [(k, c) for k, c, _ in findings] == [(kind, check)], findings
    return findings[0][2]


@pytest.mark.parametrize("framework", ["next", "node", "python", "vite"])
def test_a_good_setup_has_no_findings(
    env: support.TestEnvironment, tmp_path: Path, capsys: pytest.CaptureFixture[str], framework: str
) -> None:
    code, findings, out = doctor(
        tmp_path, capsys, variables(env, framework), "--app-url", "http://localhost:3000"
    )
    assert (code, findings) == (0, []), out
    assert out.startswith(f"authkeep doctor: {tmp_path / '.env.local'} against {env.base_url}")
    assert out.rstrip().endswith("No problems found.")


def test_no_server(
    env: support.TestEnvironment, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    port = str(support.free_port())
    code, findings, _ = doctor(tmp_path, capsys, variables(env, WORKOS_API_PORT=port))
    text = only(findings, "problem", "server")
    assert code == 1 and f"No server answers at http://127.0.0.1:{port}" in text
    assert "fix: Start it with `authkeep dev`, or correct WORKOS_API_HOSTNAME" in text


def test_missing_api_key(
    env: support.TestEnvironment, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, findings, _ = doctor(tmp_path, capsys, variables(env, WORKOS_API_KEY=None))
    text = only(findings, "problem", "api key")
    assert code == 1 and "WORKOS_API_KEY is not set" in text and "fix: Set WORKOS_API_KEY" in text


def test_refused_api_key(
    env: support.TestEnvironment, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    found = variables(env, WORKOS_API_KEY="sk_test_" + "x" * 40)
    code, findings, _ = doctor(tmp_path, capsys, found)
    text = only(findings, "problem", "api key")
    assert code == 1 and "refuses WORKOS_API_KEY (sk_test_xxxx…)" in text
    assert "fix: Set WORKOS_API_KEY to a live key of this server" in text


def test_missing_client_id(
    env: support.TestEnvironment, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, findings, _ = doctor(tmp_path, capsys, variables(env, WORKOS_CLIENT_ID=None))
    text = only(findings, "problem", "client id")
    assert code == 1 and "WORKOS_CLIENT_ID is not set" in text
    assert f"fix: Set WORKOS_CLIENT_ID={env.client_id}" in text


def test_unknown_client_id(
    env: support.TestEnvironment, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    unknown = "client_01HZZZZZZZZZZZZZZZZZZZZZZZ"
    code, findings, _ = doctor(tmp_path, capsys, variables(env, WORKOS_CLIENT_ID=unknown))
    text = only(findings, "problem", "client id")
    assert code == 1 and f"{env.base_url}/sso/jwks/{unknown}" in text and "404" in text
    assert f"fix: Set WORKOS_CLIENT_ID={env.client_id}" in text


def test_client_id_of_another_environment(
    env: support.TestEnvironment,
    server: support.LiveServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    other = support.make_environment(server.settings.database_url, server.base_url)
    code, findings, _ = doctor(tmp_path, capsys, variables(env, WORKOS_CLIENT_ID=other.client_id))
    text = only(findings, "problem", "client id")
    assert code == 1 and "belong to different environments" in text
    assert f"fix: Set WORKOS_CLIENT_ID={env.client_id}, the client of the API key's" in text


def test_missing_redirect_uri(
    env: support.TestEnvironment, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    found = variables(env, NEXT_PUBLIC_WORKOS_REDIRECT_URI=None)
    code, findings, _ = doctor(tmp_path, capsys, found)
    text = only(findings, "problem", "redirect uri")
    assert code == 1 and "No redirect URI: set NEXT_PUBLIC_WORKOS_REDIRECT_URI" in text


def test_unregistered_redirect_uri(
    env: support.TestEnvironment, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    uri = "https://app.example.com/callback"
    found = variables(env, NEXT_PUBLIC_WORKOS_REDIRECT_URI=uri)
    code, findings, _ = doctor(tmp_path, capsys, found)
    text = only(findings, "problem", "redirect uri")
    assert code == 1 and f"The redirect URI {uri} is not registered" in text
    assert f"fix: Register it: authkeep redirect-uris add {uri}" in text


def test_redirect_uri_on_another_port_is_a_note(
    env: support.TestEnvironment, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    uri = "http://localhost:3001/callback"
    found = variables(env, NEXT_PUBLIC_WORKOS_REDIRECT_URI=uri)
    code, findings, out = doctor(tmp_path, capsys, found)
    text = only(findings, "note", "redirect uri")
    assert code == 0 and "No problems found." in out
    assert "accepted only because development environments allow loopback" in text
    assert f"(registered: {CALLBACK})" in text
    assert (
        f"fix: Register it exactly, as production environments require: authkeep redirect-uris add {uri}"
        in text
    )


def test_cors_origin_not_allowed(
    env: support.TestEnvironment, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app_url = "http://app.example.test:8080/dashboard"
    code, findings, _ = doctor(tmp_path, capsys, variables(env), "--app-url", app_url)
    text = only(findings, "problem", "cors")
    assert code == 1 and "does not let pages of http://app.example.test:8080 call" in text
    assert "fix: Allow the origin: authkeep cors-origins add http://app.example.test:8080" in text


def test_missing_cookie_password(
    env: support.TestEnvironment, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, findings, _ = doctor(tmp_path, capsys, variables(env, WORKOS_COOKIE_PASSWORD=None))
    text = only(findings, "problem", "cookie password")
    assert code == 1 and "WORKOS_COOKIE_PASSWORD is not set" in text
    assert "fix: Set it to 32 or more random characters" in text


def test_short_cookie_password(
    env: support.TestEnvironment, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    found = variables(env, WORKOS_COOKIE_PASSWORD="x" * 31)
    code, findings, _ = doctor(tmp_path, capsys, found)
    text = only(findings, "problem", "cookie password")
    assert code == 1 and "has 31 characters; iron sealing" in text and "at least 32" in text
    assert "fix: Set it to 32 or more random characters" in text


def test_clock_skew(
    env: support.TestEnvironment, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    CLOCK["skew"] = 120.0
    try:
        code, findings, _ = doctor(tmp_path, capsys, variables(env))
    finally:
        CLOCK["skew"] = 0.0
    text = only(findings, "problem", "clock")
    seconds = re.search(r"This machine's clock is (\d+) s behind the server's", text)
    assert code == 1 and seconds and 118 <= int(seconds[1]) <= 121, text
    assert "fix: Synchronize the clocks" in text


def test_issuer_mismatch(
    env: support.TestEnvironment, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wrong = f"http://localhost:{env.base_url.rsplit(':', 1)[1]}/user_management/{env.client_id}"
    found = variables(env, "python", WORKOS_ISSUER=wrong)
    code, findings, _ = doctor(tmp_path, capsys, found)
    text = only(findings, "problem", "issuer")
    issued = f"{env.base_url}/user_management/{env.client_id}"
    assert code == 1 and f"carry iss={issued}, but WORKOS_ISSUER expects {wrong}" in text
    assert f"fix: Set WORKOS_ISSUER={issued}" in text
