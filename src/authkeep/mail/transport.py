"""Where a claimed mail goes: an SMTP server (aiosmtplib), or the dev mailbox (the console).

`AUTHKEEP_SMTP_URL` forms:

* `smtp://user:password@host:587?starttls=true`: STARTTLS required (refuses a server without it).
* `smtp://host:25?starttls=false`: plain, for a relay on a trusted network or a local catcher.
* `smtp://host:587`: STARTTLS when the server offers it.
* `smtps://user:password@host:465`: TLS from the first byte.

User and password are percent-decoded. Certificates are always verified: against the system's
trust store, or against the CA certificates (PEM) in `ca_file` for a relay whose certificate comes
from an internal CA (`smtps://host:465?ca_file=/etc/ssl/relay-ca.pem`). The password is never
logged: `SmtpConfig` leaves it out of its repr and errors name only the host and port.
"""

from __future__ import annotations

import email.utils
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Protocol
from urllib.parse import parse_qs, unquote, urlsplit

from authkeep.store.models import OutboxEmail

SEND_TIMEOUT = 30.0  # seconds for connect, and for each SMTP command


class Transport(Protocol):
    async def deliver(self, message: EmailMessage, mail: OutboxEmail) -> None:
        """Return once the mail is handed over; raise `DeliveryError` or any error otherwise."""


class DeliveryError(Exception):
    """A send that failed; `permanent` when retrying cannot help (every recipient refused)."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    use_tls: bool
    start_tls: bool | None  # None: when offered
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_file: str | None = None  # CA certificates (PEM) to verify the server with

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"


def parse_smtp_url(url: str) -> SmtpConfig:
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ValueError("AUTHKEEP_SMTP_URL must look like smtp://host:587 or smtps://host:465")
    raw_query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    unknown = set(raw_query) - {"starttls", "ca_file"}
    if unknown:
        raise ValueError(f"AUTHKEEP_SMTP_URL: unknown option {sorted(unknown)[0]!r}")
    implicit = parts.scheme == "smtps"
    starttls = raw_query["starttls"].lower() if "starttls" in raw_query else None
    if starttls not in (None, "true", "false"):
        raise ValueError("AUTHKEEP_SMTP_URL: starttls must be true or false")
    return SmtpConfig(
        host=parts.hostname,
        port=parts.port or (465 if implicit else 587),
        use_tls=implicit,
        start_tls=False if implicit else {"true": True, "false": False, None: None}[starttls],
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        ca_file=raw_query.get("ca_file"),
    )


def build_message(mail: OutboxEmail, sender: str) -> EmailMessage:
    """Text and HTML alternatives. The Message-ID is the outbox row's, so the copies a crash
    can cause (authkeep.mail.sender) carry the same ID and receivers can drop the second."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message["Date"] = email.utils.format_datetime(mail.created_at)
    domain = email.utils.parseaddr(sender)[1].rpartition("@")[2] or "authkeep.invalid"
    message["Message-ID"] = f"<{mail.id}@{domain}>"
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(mail.text)
    message.add_alternative(mail.html, subtype="html")
    return message


class SmtpTransport:
    def __init__(self, config: SmtpConfig) -> None:
        self.config = config

    async def deliver(self, message: EmailMessage, mail: OutboxEmail) -> None:
        import aiosmtplib

        config = self.config
        try:
            await aiosmtplib.send(
                message,
                hostname=config.host,
                port=config.port,
                use_tls=config.use_tls,
                start_tls=config.start_tls,
                username=config.username,
                password=config.password,
                cert_bundle=config.ca_file,
                timeout=SEND_TIMEOUT,
            )
        except aiosmtplib.SMTPRecipientsRefused as error:
            permanent = all(500 <= refusal.code < 600 for refusal in error.recipients)
            raise DeliveryError(f"{config.where} refused {mail.to}", permanent=permanent) from None
        except aiosmtplib.SMTPResponseException as error:
            raise DeliveryError(f"{config.where} answered {error.code}: {error.message}") from None
        except (aiosmtplib.SMTPException, OSError) as error:
            raise DeliveryError(f"{config.where}: {type(error).__name__}: {error}") from None


class MailboxTransport:
    """`authkeep dev` without SMTP: the mail is "delivered" by being marked sent, so it shows in
    /_authkeep/mailbox, and printed, so a link or code is one glance away in the terminal."""

    async def deliver(self, message: EmailMessage, mail: OutboxEmail) -> None:
        rule = "-" * 72
        print(
            f"\n{rule}\nauthkeep dev mailbox: {mail.to}  ({mail.template}, {mail.id})\n"
            f"Subject: {mail.subject}\n\n{mail.text.strip()}\n{rule}",
            flush=True,
        )
