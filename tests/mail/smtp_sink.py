"""A real SMTP server for the tests, run as its own process: aiosmtpd, writing every message it
accepts to a directory, one file each.

    python tests/mail/smtp_sink.py --port 2525 --dir /tmp/inbox [--delay 0.3] [--user u --password p]
        [--tls starttls|implicit --cert server.pem --key server-key.pem]

The file is written once the DATA is complete; `--delay` then holds back the 250 reply, which
opens the window in which a sender can die after the server has the mail but before it knows:
the window the outbox's duplicate bound is about.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import ssl
import time
import uuid
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class Sink:
    def __init__(self, directory: Path, delay: float) -> None:
        self.directory = directory
        self.delay = delay

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        name = f"{time.time_ns()}-{uuid.uuid4().hex[:8]}.eml"
        temporary = self.directory / f".{name}.tmp"
        temporary.write_bytes(envelope.original_content or envelope.content)
        os.replace(temporary, self.directory / name)
        if self.delay:
            await asyncio.sleep(self.delay)
        return "250 Message accepted for delivery"


def authenticator(user: str | None, password: str | None) -> Any:
    def check(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = (
            isinstance(data, LoginPassword)
            and data.login.decode() == user
            and data.password.decode() == password
        )
        return AuthResult(success=ok)

    return check


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", type=Path, required=True)
    parser.add_argument("--delay", type=float, default=0.0)
    parser.add_argument("--user")
    parser.add_argument("--password")
    parser.add_argument("--tls", choices=["starttls", "implicit"])
    parser.add_argument("--cert")
    parser.add_argument("--key")
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    sink = Sink(args.dir, args.delay)
    options: dict[str, Any] = {}
    if args.user:
        options = {
            "authenticator": authenticator(args.user, args.password),
            "auth_required": True,
            "auth_require_tls": False,  # loopback only
            "auth_exclude_mechanism": ["LOGIN"],
        }
    server_ssl = None
    if args.tls:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.cert, args.key)
        if args.tls == "starttls":  # plain connection, upgraded; nothing else accepted before
            options.update(tls_context=context, require_starttls=True)
        else:
            server_ssl = context
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(sink, hostname="sink.test", **options),
        "127.0.0.1",
        args.port,
        ssl=server_ssl,
    )
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
