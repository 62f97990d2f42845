"""`authkeep apply` and `authkeep export`: environments as code, and the seeds of `authkeep dev`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from authkeep.cli.common import (
    CliError,
    Target,
    data_options,
    resolve_target,
    run_db,
    server_imports,
)
from authkeep.devdata import DEV_ENVIRONMENT

DEFAULT_FILE = "authkeep.toml"


def _load(path: str, emulator_environment: str) -> Any:
    from authkeep.services import config_file
    from authkeep.services.config_file.reader import ConfigError

    if not Path(path).exists():
        raise CliError(f"No {path} here. Write one (see docs/config.md), or name it with --file.")
    try:
        return config_file.load_file(path, emulator_environment)
    except ConfigError as error:
        raise CliError("\n".join(error.lines)) from None


def _paths(config: Any, name: str) -> Any:
    from authkeep.services import config_file
    from authkeep.services.config_file.changes import Paths
    from authkeep.services.config_file.render import key

    if config_file.is_emulator_seed(config.path):
        return Paths("", "", config.where)
    base = f"environments.{key(name)}"
    return Paths(base, f"{base}.seed", config.where)


def _check_schema(target: Target) -> None:
    from authkeep.store.db import pending_migrations

    if pending_migrations(target.settings.database_url):
        hint = "authkeep migrate" if target.data_dir is None else "authkeep dev (once)"
        raise CliError(f"The database lacks migrations: run `{hint}` first.")


def apply_environment(
    target: Target, config: Any, name: str, *, dry_run: bool = False
) -> list[str]:
    """Plan and apply one environment in one transaction; returns the lines to print."""
    from authkeep.errors import AuthkeepError
    from authkeep.services.config_file import apply
    from authkeep.services.config_file.changes import PlanError

    async def work(session: Any, box: Any) -> tuple[Any, list[str]]:
        return await apply.apply_environment(
            session,
            box,
            config.environments[name],
            _paths(config, name),
            dry_run=dry_run,
            access_token_ttl=target.settings.access_token_ttl,
        )

    try:
        plan, secrets = run_db(target.settings, work)
    except PlanError as error:
        raise CliError(f"{error}\nNothing of environment {name} was changed.") from None
    except AuthkeepError as error:
        raise CliError(
            f"environment {name}: {error.message}\nNothing of environment {name} was changed."
        ) from None
    return [*plan.lines(), *secrets]


def _chosen(args: argparse.Namespace, target: Target, config: Any) -> list[str]:
    """--env NAME, else the file's environments of the target's kind: development ones on the
    dev data directory, production ones on a database URL, so dev and prod never mix."""
    if args.env:
        if args.env not in config.environments:
            known = ", ".join(config.environments) or "none"
            raise CliError(f"{args.file} has no environment {args.env!r} (it has: {known}).")
        return [args.env]
    kind = "development" if target.data_dir is not None else "production"
    names = [name for name, env in config.environments.items() if env.kind == kind]
    others = [name for name in config.environments if name not in names]
    if others:
        where = "a production database (--database-url)" if kind == "development" else "dev data"
        print(f"not applied here: {', '.join(others)} (apply them to {where}, or use --env)")
    return names


def cmd_apply(args: argparse.Namespace) -> int:
    server_imports()
    from authkeep.services import config_file

    config = _load(args.file, args.env or DEV_ENVIRONMENT)  # a broken file fails before any I/O
    target = resolve_target(args)
    if config_file.is_emulator_seed(args.file) and not args.env and target.data_dir is None:
        raise CliError("An emulator seed applies to one environment: name it with --env NAME.")
    _check_schema(target)
    for name in _chosen(args, target, config):
        print("\n".join(apply_environment(target, config, name, dry_run=args.dry_run)))
    for line in config.skipped:
        print(f"skipped: {line}")
    if args.dry_run:
        print("Dry run: nothing was changed.")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    server_imports()
    from authkeep.services.config_file.apply import export_environments
    from authkeep.services.config_file.changes import PlanError
    from authkeep.services.config_file.render import render

    target = resolve_target(args)
    _check_schema(target)

    async def work(session: Any, box: Any) -> Any:
        return await export_environments(session, [args.env] if args.env else None)

    try:
        text = render(run_db(target.settings, work))
    except PlanError as error:
        raise CliError(str(error)) from None
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def load_dev_seed(path: str) -> Any:
    """The seed for `authkeep dev --seed`: the file's `development` environment, checked now."""
    server_imports()
    config = _load(path, DEV_ENVIRONMENT)
    if DEV_ENVIRONMENT not in config.environments:
        known = ", ".join(config.environments) or "none"
        raise CliError(
            f"{path} has no [environments.{DEV_ENVIRONMENT}] to seed the dev server with "
            f"(it has: {known})."
        )
    return config


def apply_dev_seed(target: Target, config: Any) -> list[str]:
    lines = apply_environment(target, config, DEV_ENVIRONMENT)
    return [f"seed {config.path}:", *lines, *(f"skipped: {line}" for line in config.skipped)]


def register(commands: Any) -> None:
    apply = commands.add_parser(
        "apply", help="make environments match authkeep.toml (or an emulator seed file)"
    )
    apply.add_argument("--file", default=DEFAULT_FILE, help=f"the file (default {DEFAULT_FILE})")
    apply.add_argument("--dry-run", action="store_true", help="print the plan, change nothing")
    data_options(apply)
    apply.set_defaults(handler=cmd_apply)

    export = commands.add_parser("export", help="write environments as authkeep.toml")
    export.add_argument("--output", help="write to this file instead of standard output")
    data_options(export)
    export.set_defaults(handler=cmd_export)
