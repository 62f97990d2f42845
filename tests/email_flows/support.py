"""Helpers for the e-mail flow tests: a live server that delivers to a real SMTP server process,
and reading links out of what that server received."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import update

from authkeep.store.db import create_engine, session_factory
from authkeep.store.models import Invitation, utcnow
from tests import support
from tests.conformance import ConformanceRecorder
from tests.mail.support import SmtpSink, wait_until

FAST = {"mail_poll_seconds": 0.2, "mail_retry_seconds": 0.3, "mail_lease_seconds": 10.0}
LINK = re.compile(r"https?://[^\s\"<>]+invitation_token=[A-Za-z0-9_\-]+")


@contextmanager
def mailing_server(database_url: str, sink: SmtpSink) -> Iterator[support.LiveServer]:
    """A live server (responses schema-checked) whose sender delivers to `sink`."""
    server = support.start_live_server(
        database_url,
        wrap=ConformanceRecorder.shared().wrap,
        smtp_url=sink.url,
        mail_from="Acme <no-reply@example.com>",
        **FAST,
    )
    try:
        yield server
    finally:
        server.stop()


def mails_to(sink: SmtpSink, address: str) -> list[str]:
    """The plain-text bodies of the mails `sink` received for `address`, oldest first."""
    bodies = []
    for message in sink.messages():
        if message["To"] == address:
            text = message.get_body(("plain",))
            assert text is not None
            bodies.append(str(text.get_content()))
    return bodies


def wait_for_links(sink: SmtpSink, address: str, count: int = 1) -> list[str]:
    """The invitation links of the first `count` mails to `address`, once they arrived."""

    def links() -> list[str]:
        found = [m for body in mails_to(sink, address) for m in LINK.findall(body)]
        return found if len(found) >= count else []

    return list(wait_until(links, what=f"{count} invitation mail(s) to {address}"))


def expire_invitation(database_url: str, invitation_id: str) -> None:
    async def go() -> None:
        engine = create_engine(database_url, pool_size=1)
        try:
            async with session_factory(engine)() as session:
                await session.execute(
                    update(Invitation)
                    .where(Invitation.id == invitation_id)
                    .values(expires_at=utcnow())
                )
                await session.commit()
        finally:
            await engine.dispose()

    support.run(go())
