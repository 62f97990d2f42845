"""Settings: one frozen, typed object, read once at startup and passed in.

Precedence: defaults < `AUTHKEEP_*` environment variables < command-line flags. Every field has a
type, a default and a help line; the README's configuration reference is checked against them.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_DEV_PORT = 8720
MIN_SECRET_KEY_LENGTH = 32


def _setting(default: Any, help: str, *, secret: bool = False) -> Any:
    # A secret stays out of the dataclass repr, so a logged Settings never shows it.
    return field(default=default, metadata={"help": help}, repr=not secret)


@dataclass(frozen=True)
class Settings:
    database_url: str = _setting(
        "",
        "SQLAlchemy URL of the database: postgresql://... in production, sqlite:///path in "
        "development. Plain postgresql:// and sqlite:// URLs get their async drivers.",
    )
    secret_key: str = _setting(
        "",
        "Deployment secret (at least 32 characters) that encrypts signing keys at rest. "
        "Keep it stable: changing it makes stored signing keys unreadable.",
    )
    public_url: str = _setting(
        "",
        "Base URL under which clients reach this server, e.g. https://auth.example.com: the "
        "default token issuer is {public_url}/user_management/{client_id}, and the SDK variables "
        "authkeep prints use it. Defaults to http://HOST:PORT.",
    )
    host: str = _setting("127.0.0.1", "Interface to listen on.")
    port: int = _setting(DEFAULT_DEV_PORT, "TCP port to listen on.")
    workers: int = _setting(1, "Worker processes for `authkeep serve`.")
    jwks_max_age: int = _setting(
        300, "Seconds clients may cache GET /sso/jwks/{client_id} (Cache-Control max-age)."
    )
    jwks_cache_seconds: float = _setting(
        5.0, "Seconds each worker reuses a serialized JWKS before reading the database again."
    )
    config_cache_seconds: float = _setting(
        5.0,
        "Seconds each worker reuses a client's environment settings on the token endpoint, so a "
        "settings change reaches every worker within this time.",
    )
    key_publish_delay: int = _setting(
        300,
        "Seconds a rotated signing key is published in JWKS before it starts signing, so "
        "verifiers with a cached JWKS know it first.",
    )
    access_token_ttl: int = _setting(
        300, "Default access-token lifetime in seconds for new environments."
    )
    max_body_bytes: int = _setting(1024 * 1024, "Largest accepted request body in bytes.")
    log_level: str = _setting("info", "Log level: debug, info, warning or error.")
    smtp_url: str = _setting(
        "",
        "Where e-mail goes: smtp://user:password@host:587?starttls=true (STARTTLS required), "
        "smtp://host:25?starttls=false (plain), or smtps://user:password@host:465 (TLS from the "
        "start); add ca_file=/path/ca.pem to verify a relay's certificate against an internal CA. "
        "Unset: e-mails wait in the outbox (or, under `authkeep dev`, land in the dev "
        "mailbox).",
        secret=True,
    )
    mail_from: str = _setting(
        "", "From address of every e-mail, e.g. 'Acme <no-reply@acme.com>'. Required with SMTP."
    )
    dev_mailbox: bool = _setting(
        False,
        "Deliver e-mails to the dev mailbox (console and /_authkeep/mailbox) when no SMTP URL "
        "is set. `authkeep dev` turns it on; `authkeep serve` refuses it.",
    )
    mail_poll_seconds: float = _setting(
        5.0,
        "Seconds between outbox polls. A mail enqueued on the same node is sent at once; one "
        "enqueued on another node, or due for a retry, within this time.",
    )
    mail_retry_seconds: float = _setting(
        30.0,
        "Delay before the first retry of a failed send; each later retry waits twice as long, "
        "up to an hour.",
    )
    mail_lease_seconds: float = _setting(
        120.0,
        "How long a node holds the mails it claimed. A node that dies mid-send leaves them to "
        "the others after this time. Keep it well above the 30-second SMTP timeout.",
    )

    @property
    def base_url(self) -> str:
        if self.public_url:
            return self.public_url.rstrip("/")
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host  # noqa: S104
        return f"http://{host}:{self.port}"

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})


def env_var_name(field_name: str) -> str:
    return "AUTHKEEP_" + field_name.upper()


def setting_fields() -> list[dataclasses.Field[Any]]:
    return list(dataclasses.fields(Settings))


def _coerce(raw: str, default: Any, name: str) -> Any:
    if isinstance(default, bool):
        if raw.strip().lower() in ("1", "true", "yes", "on"):
            return True
        if raw.strip().lower() in ("0", "false", "no", "off", ""):
            return False
        raise ValueError(f"{env_var_name(name)} must be true or false, not {raw!r}")
    if isinstance(default, float):
        try:
            return float(raw)
        except ValueError:
            raise ValueError(f"{env_var_name(name)} must be a number, not {raw!r}") from None
    if isinstance(default, int):
        try:
            return int(raw)
        except ValueError:
            raise ValueError(f"{env_var_name(name)} must be a whole number, not {raw!r}") from None
    return raw


def load_settings(environ: dict[str, str] | None = None, **overrides: Any) -> Settings:
    """Defaults, then `AUTHKEEP_*` variables, then explicit overrides (command-line flags)."""
    environ = dict(os.environ if environ is None else environ)
    values: dict[str, Any] = {}
    for f in setting_fields():
        raw = environ.get(env_var_name(f.name))
        if raw is not None:
            values[f.name] = _coerce(raw, f.default, f.name)
    values.update({k: v for k, v in overrides.items() if v is not None})
    return Settings(**values)


def production_problems(settings: Settings) -> list[str]:
    """What `authkeep serve` refuses to start without, each with what to set."""
    problems = []
    if not settings.database_url:
        problems.append(
            "AUTHKEEP_DATABASE_URL is not set: point it at PostgreSQL, e.g. "
            "AUTHKEEP_DATABASE_URL=postgresql://authkeep@db.internal/authkeep"
        )
    if len(settings.secret_key) < MIN_SECRET_KEY_LENGTH:
        problems.append(
            "AUTHKEEP_SECRET_KEY is missing or shorter than 32 characters: generate one with "
            "`python -c 'import secrets; print(secrets.token_urlsafe(48))'` and keep it stable"
        )
    if settings.workers < 1:
        problems.append("--workers / AUTHKEEP_WORKERS must be at least 1")
    if settings.dev_mailbox:
        problems.append(
            "AUTHKEEP_DEV_MAILBOX is on: it shows every e-mail to anyone at /_authkeep/mailbox. "
            "Unset it and set AUTHKEEP_SMTP_URL instead"
        )
    if settings.smtp_url:
        from authkeep.mail.transport import parse_smtp_url

        try:
            smtp = parse_smtp_url(settings.smtp_url)
        except ValueError as error:
            problems.append(
                f"{error}, e.g. smtp://user:password@smtp.example.com:587?starttls=true"
            )
        else:
            if smtp.ca_file and not Path(smtp.ca_file).is_file():
                problems.append(f"AUTHKEEP_SMTP_URL: ca_file {smtp.ca_file} is not a readable file")
        if not settings.mail_from:
            problems.append(
                "AUTHKEEP_MAIL_FROM is not set: the From address of e-mails, e.g. "
                "AUTHKEEP_MAIL_FROM='Acme <no-reply@acme.com>'"
            )
    return problems
