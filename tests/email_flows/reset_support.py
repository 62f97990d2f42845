"""Helpers for the password reset tests: a live server that mails through a real SMTP server
process (tests/mail/smtp_sink.py), and reading what that server received."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any

import pytest
from sqlalchemy import update

from authkeep.store.db import create_engine, session_factory
from authkeep.store.models import Base
from tests import support
from tests.conformance import ConformanceRecorder
from tests.mail.support import SmtpSink, wait_until
from tests.support import run

FAST_MAIL = {"mail_poll_seconds": 0.2, "mail_retry_seconds": 0.3, "mail_lease_seconds": 10.0}
LINK = re.compile(r"https?://[^\s\"'<>]+")


def mails_to(sink: SmtpSink, address: str) -> list[EmailMessage]:
    return [m for m in sink.messages() if str(m["To"]) == address]


def wait_for_mail(sink: SmtpSink, address: str, count: int = 1) -> EmailMessage:
    """The `count`-th mail to `address` (waiting for it)."""
    found = wait_until(
        lambda: len(mails_to(sink, address)) >= count and mails_to(sink, address),
        what=f"mail {count} to {address}",
    )
    return found[count - 1]  # type: ignore[no-any-return]


def text_of(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def link_in(message: EmailMessage, contains: str) -> str:
    links = [link for link in LINK.findall(text_of(message)) if contains in link]
    assert links, f"no link with {contains!r} in:\n{text_of(message)}"
    return links[0]


def set_column(database_url: str, model: type[Base], row_id: str, **values: Any) -> None:
    async def go() -> None:
        engine = create_engine(database_url, pool_size=1)
        try:
            async with session_factory(engine)() as session:
                await session.execute(
                    update(model).where(model.id == row_id).values(**values)  # type: ignore[attr-defined]
                )
                await session.commit()
        finally:
            await engine.dispose()

    run(go())


def past() -> dt.datetime:
    return dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)


@pytest.fixture(scope="module")
def sink(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SmtpSink]:
    started = SmtpSink(support.free_port(), tmp_path_factory.mktemp("inbox")).start()
    yield started
    started.stop()


@pytest.fixture(scope="module")
def mail_server(
    database_url: str, sink: SmtpSink, recorder: ConformanceRecorder
) -> Iterator[support.LiveServer]:
    """The app, mailing through the SMTP sink process."""
    server = support.start_live_server(
        database_url,
        wrap=recorder.wrap,
        smtp_url=sink.url,
        mail_from="Acme <no-reply@example.com>",
        **FAST_MAIL,
    )
    yield server
    server.stop()
