"""`authkeep migrate` and `authkeep serve`: the production server."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from authkeep.cli import workers
from authkeep.cli.common import CliError, server_imports
from authkeep.config import Settings, load_settings, production_problems

# production -----------------------------------------------------------------------------------


def _production_settings(args: argparse.Namespace) -> Settings:
    settings = load_settings(
        database_url=args.database_url,
        host=getattr(args, "host", None),
        port=getattr(args, "port", None),
        workers=getattr(args, "workers", None),
    )
    problems = production_problems(settings)
    if problems:
        raise CliError("authkeep cannot start:\n  - " + "\n  - ".join(problems))
    return settings


def cmd_migrate(args: argparse.Namespace) -> int:
    server_imports()
    from authkeep.store.db import migrate_sync

    settings = load_settings(database_url=args.database_url)
    if not settings.database_url:
        raise CliError("Set AUTHKEEP_DATABASE_URL (or --database-url) to the database to migrate.")
    migrate_sync(settings.database_url)
    print("Database schema is up to date.")
    return 0


def _restart_without_docstrings() -> None:
    """Run the rest of `authkeep serve` under PYTHONOPTIMIZE=2 (Python's -OO).

    A worker keeps the docstrings of every module it imports for its whole life and never
    reads them; -OO leaves them (and `assert` statements) out, about 3.5 MB less per worker.
    The process replaces itself with the same command line (same PID, so process managers
    keep track of it) and the workers it starts inherit the setting. An operator's own
    PYTHONOPTIMIZE, whatever its value, is left as it is: PYTHONOPTIMIZE=0 keeps docstrings
    and asserts.
    """
    if os.name != "posix" or not sys.executable or sys.flags.optimize:
        return
    if "PYTHONOPTIMIZE" in os.environ:  # the operator's choice, or this process after the exec
        return
    os.environ["PYTHONOPTIMIZE"] = "2"
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        os.execv(sys.executable, sys.orig_argv)  # noqa: S606 - this very command again
    except OSError:
        del os.environ["PYTHONOPTIMIZE"]  # serve as it is


def cmd_serve(args: argparse.Namespace) -> int:
    if getattr(args, "command_line", False):
        _restart_without_docstrings()
    server_imports()
    from authkeep.services.passwords import share_one_allocator_arena

    share_one_allocator_arena()  # before any thread: this process may serve requests itself
    import uvicorn

    from authkeep.config import env_var_name, setting_fields
    from authkeep.store.db import pending_migrations

    settings = _production_settings(args)
    pending = pending_migrations(settings.database_url)
    if pending:
        raise CliError(
            f"The database lacks {len(pending)} migration(s): run `authkeep migrate` first."
        )
    # Workers are separate processes that read their settings from the environment.
    for field in setting_fields():
        os.environ[env_var_name(field.name)] = str(getattr(settings, field.name))
    if not settings.public_url:
        print(
            "warning: AUTHKEEP_PUBLIC_URL is not set; tokens will name "
            f"{settings.base_url} as their issuer. Set it to the URL clients use.",
            file=sys.stderr,
        )
    print(f"authkeep serving on {settings.host}:{settings.port} with {settings.workers} worker(s)")
    options: dict[str, Any] = {
        "app": "authkeep.app:app_from_environment",
        "factory": True,
        "host": settings.host,
        "port": settings.port,
        "log_level": settings.log_level,
        "access_log": False,
        "proxy_headers": True,
        "ws": "none",
    }
    if settings.workers > 1 and workers.supported():
        # A listening socket per worker: see cli/workers.py.
        supervisor = workers.Supervisor(options, settings.workers, settings.host, settings.port)
        try:
            return supervisor.run()
        except OSError as error:
            raise CliError(f"Cannot listen on {settings.host}:{settings.port}: {error}") from None
    uvicorn.run(**options, workers=settings.workers)
    return 0


def register(commands: Any) -> None:
    migrate = commands.add_parser("migrate", help="apply database migrations")
    migrate.add_argument("--database-url")
    migrate.set_defaults(handler=cmd_migrate)

    serve = commands.add_parser("serve", help="run the production server")
    serve.add_argument("--database-url")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--workers", type=int)
    serve.set_defaults(handler=cmd_serve)
