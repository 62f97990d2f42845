"""Helpers for the mail tests: the SMTP sink process, enqueuing from the test, reading rows."""

from __future__ import annotations

import email
import email.policy
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from sqlalchemy import select

from authkeep.mail.outbox import enqueue
from authkeep.store.db import create_engine, session_factory
from authkeep.store.models import Environment, OutboxEmail
from tests.support import run

SINK = Path(__file__).with_name("smtp_sink.py")
USER, PASSWORD = "mailer", "s3cret:pass"
MAGIC = {"code": "123456", "expires_in_minutes": 10}


@dataclass(frozen=True)
class TlsFiles:
    """A test CA and a server certificate it signed for 127.0.0.1."""

    mode: str  # "starttls" or "implicit"
    ca_file: Path
    cert: Path
    key: Path


def make_tls_files(directory: Path, mode: str) -> TlsFiles:
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.UTC)

    def certificate(subject: str, key: Any, issuer: Any, issuer_key: Any, ca: bool) -> Any:
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
        builder = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(issuer or name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if not ca:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False,
            )
        return builder.sign(issuer_key or key, hashes.SHA256())

    ca_key, server_key = (
        ec.generate_private_key(ec.SECP256R1()),
        ec.generate_private_key(ec.SECP256R1()),
    )
    ca = certificate("authkeep test CA", ca_key, None, None, ca=True)
    server = certificate("127.0.0.1", server_key, ca.subject, ca_key, ca=False)
    files = TlsFiles(mode, directory / "ca.pem", directory / "server.pem", directory / "key.pem")
    files.ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    files.cert.write_bytes(server.public_bytes(serialization.Encoding.PEM))
    files.key.write_bytes(
        server_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return files


class SmtpSink:
    """The sink process (smtp_sink.py): a real SMTP server on a loopback port."""

    def __init__(
        self,
        port: int,
        directory: Path,
        delay: float = 0.0,
        auth: bool = True,
        tls: TlsFiles | None = None,
    ) -> None:
        self.port, self.directory, self.delay, self.auth = port, directory, delay, auth
        self.tls = tls
        self.process: subprocess.Popen[str] | None = None

    @property
    def url(self) -> str:
        credentials = "mailer:s3cret%3Apass@" if self.auth else ""
        if self.tls is None:
            return f"smtp://{credentials}127.0.0.1:{self.port}?starttls=false"
        scheme, query = ("smtps", "") if self.tls.mode == "implicit" else ("smtp", "starttls=true&")
        return f"{scheme}://{credentials}127.0.0.1:{self.port}?{query}ca_file={self.tls.ca_file}"

    def start(self) -> SmtpSink:
        command = [
            sys.executable,
            str(SINK),
            "--port",
            str(self.port),
            "--dir",
            str(self.directory),
        ]
        command += ["--delay", str(self.delay)]
        if self.auth:
            command += ["--user", USER, "--password", PASSWORD]
        if self.tls is not None:
            command += ["--tls", self.tls.mode, "--cert", str(self.tls.cert)]
            command += ["--key", str(self.tls.key)]
        # aiosmtpd warns about AUTH without TLS (loopback here): kept beside the inbox.
        log = (self.directory.parent / f"sink-{self.port}.log").open("a")
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log, text=True)
        log.close()
        assert self.process.stdout is not None
        assert self.process.stdout.readline().strip() == "ready"
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None

    def messages(self) -> list[EmailMessage]:
        found = []
        for path in sorted(self.directory.glob("*.eml")):
            parsed = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            assert isinstance(parsed, EmailMessage)
            found.append(parsed)
        return found

    def message_ids(self) -> list[str]:
        return [str(message["Message-ID"]) for message in self.messages()]


def wait_until(check: Callable[[], Any], timeout: float = 20.0, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        time.sleep(0.05)


def enqueue_mails(
    database_url: str,
    environment_id: str,
    count: int = 1,
    template: str = "magic_auth",
    context: dict[str, Any] | None = None,
    commit: bool = True,
) -> list[str]:
    """Enqueue `count` mails in one transaction, as a flow would; returns their ids."""

    async def go() -> list[str]:
        engine = create_engine(database_url, pool_size=1)
        try:
            async with session_factory(engine)() as session:
                environment = await session.get(Environment, environment_id)
                assert environment is not None
                ids = []
                for index in range(count):
                    mail = await enqueue(
                        session,
                        environment,
                        to=f"person{index}@example.com",
                        template=template,
                        context=context or MAGIC,
                    )
                    ids.append(mail.id)
                if commit:
                    await session.commit()
                else:
                    await session.rollback()
                return ids
        finally:
            await engine.dispose()

    return run(go())


def outbox_rows(database_url: str, ids: list[str]) -> dict[str, OutboxEmail]:
    async def go() -> dict[str, OutboxEmail]:
        engine = create_engine(database_url, pool_size=1)
        try:
            async with session_factory(engine)() as session:
                rows = await session.scalars(select(OutboxEmail).where(OutboxEmail.id.in_(ids)))
                return {row.id: row for row in rows}
        finally:
            await engine.dispose()

    return run(go())


def message_id_of(mail_id: str) -> str:
    return f"<{mail_id}@example.com>"
