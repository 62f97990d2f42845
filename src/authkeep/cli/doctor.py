"""`authkeep doctor`: check an app's WorkOS variables against the server they point at, and say
how to fix each problem. Only public endpoints and the app's own API key are used, so it checks
what the app will meet: a production server as well as `authkeep dev`.

Findings are problems (exit code 1) or notes (things that work here but not everywhere).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from authkeep.cli.common import CliError
from authkeep.cli.doctor_checks import (
    AppSetup,
    check_api_key,
    check_client,
    check_cookie_password,
    check_cors,
    check_issuer,
    check_redirect_uri,
    check_server,
)
from authkeep.cli.envfile import read_env_file


def diagnose(variables: dict[str, str], app_url: str | None) -> AppSetup:
    import httpx

    app = AppSetup.read(variables)
    with httpx.Client(timeout=5, follow_redirects=False) as http:
        if not check_server(app, http):
            return app
        environment = check_api_key(app, http)
        if check_client(app, http, environment):
            check_redirect_uri(app, http)
        check_cors(app, http, app_url)
        check_cookie_password(app)
        check_issuer(app, environment)
    return app


def _variables(env_file: str | None) -> tuple[str, dict[str, str]]:
    if env_file is not None:
        if not Path(env_file).is_file():
            raise CliError(f"No such file: {env_file}")
        return env_file, read_env_file(env_file)
    for candidate in (".env.local", ".env"):
        if Path(candidate).is_file():
            return candidate, read_env_file(candidate)
    return "the environment", {k: v for k, v in os.environ.items() if "WORKOS_" in k}


def cmd_doctor(args: argparse.Namespace) -> int:
    source, variables = _variables(args.env_file)
    app = diagnose(variables, args.app_url)
    print(f"authkeep doctor: {source} against {app.base_url}")
    problems = [f for f in app.findings if not f.is_note]
    for finding in app.findings:
        label = "note" if finding.is_note else "problem"
        print(f"\n{label} ({finding.check}): {finding.problem}\n  fix: {finding.fix}")
    if problems:
        print(f"\n{len(problems)} problem(s) found.")
        return 1
    print("\nNo problems found.")
    return 0


def register(commands: Any) -> None:
    doctor = commands.add_parser(
        "doctor", help="check an app's WorkOS variables against the server they point at"
    )
    doctor.add_argument(
        "--env-file", help="the app's variables (default .env.local, then .env, then the shell's)"
    )
    doctor.add_argument("--app-url", help="where the app runs, e.g. http://localhost:5173 (CORS)")
    doctor.set_defaults(handler=cmd_doctor)
