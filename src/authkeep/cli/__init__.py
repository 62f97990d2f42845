"""`authkeep`: dev server, production server, migrations and environment administration.

Commands work on the dev data directory (`--data-dir`, default ./.authkeep) unless a database URL
is given (`--database-url` or AUTHKEEP_DATABASE_URL), which selects a production deployment.
Each module of this package registers its own subcommands.
"""

from __future__ import annotations

import argparse
import sys

from authkeep.cli import admin, config, dev, doctor, invite, serve, tokens
from authkeep.cli.common import CliError
from authkeep.errors import AuthkeepError

COMMAND_MODULES = (dev, admin, config, serve, tokens, doctor, invite)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="authkeep", description="Self-hosted identity server for the WorkOS AuthKit API."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.register(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # Only a process started as `authkeep ...` may replace itself (cli/serve.py); a caller of
    # main() keeps its process.
    args.command_line = argv is None
    try:
        return int(args.handler(args))
    except (CliError, AuthkeepError, ValueError) as error:
        message = error.message if isinstance(error, AuthkeepError) else str(error)
        print(f"authkeep: {message}", file=sys.stderr)
        return 2
