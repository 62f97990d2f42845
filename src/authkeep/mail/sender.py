"""The sender: a background task on every node that delivers the outbox.

How a mail moves: `pending` -> claimed (a lease) -> handed to SMTP -> `sent`. A sender claims up
to `BATCH` due rows in one statement (`UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP
LOCKED)` on PostgreSQL, so nodes never wait on or take each other's rows; on SQLite the
statement runs under the database's single write lock, which gives the same result), sets
`claimed_until = now + AUTHKEEP_MAIL_LEASE_SECONDS`, and commits that before it talks to SMTP.
Each mail is then sent and marked `sent` in its own transaction.

Guarantee: at least once, and exactly once unless a node dies (or loses the database, or its
send times out) after the SMTP server accepted a mail and before `sent` was committed. That mail
is sent again once the lease has passed, with the same Message-ID (`<outbox id@domain>`), so a
receiver can drop the copy; with one mail in flight per sender, each such event causes at most
one duplicate. A node killed at any other moment causes none, and loses nothing: its claimed
mails go out after the lease. A sender never starts a send unless its lease outlasts the send's
time budget, so two live nodes never send the same mail. Node clocks must agree to within a few
seconds (NTP), since leases are compared across nodes.

Failures: retried after AUTHKEEP_MAIL_RETRY_SECONDS, doubling each time up to an hour. After
`MAX_ATTEMPTS` attempts (about three and a half hours with the defaults), or at once when the
server refuses every recipient with a 5xx, the row is marked `failed` with `last_error` and kept;
`UPDATE outbox_emails SET status = 'pending', attempts = 0, next_attempt_at = now() WHERE ...`
sends it again. Codes and links in these mails expire within minutes to days, so retrying for
longer would mostly deliver dead mails.

Wake-up: `authkeep.mail.outbox.enqueue` wakes this process's sender when the enqueuing
transaction commits; mails from other nodes, and retries, are found by polling every
AUTHKEEP_MAIL_POLL_SECONDS.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import socket
from collections.abc import Sequence

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from authkeep.config import Settings
from authkeep.crypto.secrets import random_token
from authkeep.mail import outbox
from authkeep.mail.transport import (
    SEND_TIMEOUT,
    DeliveryError,
    MailboxTransport,
    SmtpTransport,
    Transport,
    build_message,
    parse_smtp_url,
)
from authkeep.store.models import OutboxEmail, utcnow

log = logging.getLogger("authkeep.mail")

BATCH = 5
MAX_ATTEMPTS = 10
MAX_RETRY_DELAY = 3600.0
DEFAULT_FROM = "authkeep <no-reply@localhost>"


def transport_for(settings: Settings) -> Transport | None:
    if settings.smtp_url:
        return SmtpTransport(parse_smtp_url(settings.smtp_url))
    if settings.dev_mailbox:
        return MailboxTransport()
    return None


def retry_delay(settings: Settings, attempts: int) -> float:
    return min(settings.mail_retry_seconds * 2 ** max(attempts - 1, 0), MAX_RETRY_DELAY)


class MailSender:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        transport: Transport,
        settings: Settings,
    ) -> None:
        self.sessions = sessions
        self.transport = transport
        self.settings = settings
        self.name = f"{socket.gethostname()[:40]}:{os.getpid()}:{random_token(4)}"
        # One send may not outlast the lease, so a short lease means a short send budget.
        self.send_budget = min(SEND_TIMEOUT, settings.mail_lease_seconds / 3)
        self.mail_from = settings.mail_from or DEFAULT_FROM
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        outbox.subscribe(self._wake)
        self._task = asyncio.create_task(self._run(), name="authkeep-mail-sender")

    async def stop(self) -> None:
        """Let the send in progress finish, give back the rest of the batch, end the task."""
        outbox.unsubscribe(self._wake)
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            # Past the budget, wait_for cancels the task; its claims expire with the lease.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._task, self.send_budget + 5)

    async def _run(self) -> None:
        while not self._stopping:
            try:
                while not self._stopping and await self.send_due():
                    pass
            except Exception:
                log.exception("mail sender: outbox unavailable, retrying")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.settings.mail_poll_seconds)
            self._wake.clear()

    async def send_due(self) -> int:
        """Claim one batch of due mails and send it; returns how many were claimed."""
        claimed = await self.claim()
        for index, mail in enumerate(claimed):
            assert mail.claimed_until is not None
            left = (mail.claimed_until - utcnow()).total_seconds()
            if self._stopping or left < self.send_budget + 1:
                await self.release(claimed[index:])
                break
            await self.send_one(mail)
        return len(claimed)

    async def claim(self) -> list[OutboxEmail]:
        now = utcnow()
        due = (
            select(OutboxEmail.id)
            .where(
                OutboxEmail.status == "pending",
                OutboxEmail.next_attempt_at <= now,
                or_(OutboxEmail.claimed_until.is_(None), OutboxEmail.claimed_until <= now),
            )
            .order_by(OutboxEmail.next_attempt_at, OutboxEmail.id)
            .limit(BATCH)
            .with_for_update(skip_locked=True)
        )
        statement = (
            update(OutboxEmail)
            .where(OutboxEmail.id.in_(due.scalar_subquery()))
            .values(
                claimed_until=now + dt.timedelta(seconds=self.settings.mail_lease_seconds),
                claimed_by=self.name,
                attempts=OutboxEmail.attempts + 1,
            )
            .returning(OutboxEmail)
            .execution_options(synchronize_session=False)
        )
        async with self.sessions() as session:
            claimed = list((await session.scalars(statement)).all())
            await session.commit()
        return sorted(claimed, key=lambda mail: (mail.next_attempt_at, mail.id))

    async def send_one(self, mail: OutboxEmail) -> None:
        message = build_message(mail, self.mail_from)
        try:
            async with asyncio.timeout(self.send_budget):
                await self.transport.deliver(message, mail)
        except Exception as error:
            await self._failed(mail, error)
            return
        await self._finish(mail.id, status="sent", sent_at=utcnow(), last_error=None)

    async def _failed(self, mail: OutboxEmail, error: Exception) -> None:
        if isinstance(error, DeliveryError):
            reason, permanent = str(error), error.permanent
        elif isinstance(error, TimeoutError):
            reason, permanent = f"no answer within {self.send_budget:g} s", False
        else:
            reason, permanent = f"{type(error).__name__}: {error}", False
        if permanent or mail.attempts >= MAX_ATTEMPTS:
            log.error("mail %s to %s failed for good: %s", mail.id, mail.to, reason)
            await self._finish(mail.id, status="failed", last_error=reason)
            return
        delay = retry_delay(self.settings, mail.attempts)
        log.warning("mail %s: %s; retrying in %g s", mail.id, reason, delay)
        await self._finish(
            mail.id, last_error=reason, next_attempt_at=utcnow() + dt.timedelta(seconds=delay)
        )

    async def _finish(self, mail_id: str, **values: object) -> None:
        async with self.sessions() as session:
            await session.execute(
                update(OutboxEmail)
                .where(OutboxEmail.id == mail_id)
                .values(claimed_until=None, claimed_by=None, **values)
                .execution_options(synchronize_session=False)
            )
            await session.commit()

    async def release(self, mails: Sequence[OutboxEmail]) -> None:
        """Give back claimed mails not attempted, so another node need not wait for the lease."""
        async with self.sessions() as session:
            await session.execute(
                update(OutboxEmail)
                .where(
                    OutboxEmail.id.in_([mail.id for mail in mails]),
                    OutboxEmail.claimed_by == self.name,
                )
                .values(claimed_until=None, claimed_by=None, attempts=OutboxEmail.attempts - 1)
                .execution_options(synchronize_session=False)
            )
            await session.commit()


def start_sender(
    settings: Settings, sessions: async_sessionmaker[AsyncSession]
) -> MailSender | None:
    """The sender this node runs, started; None (mails wait) when there is nowhere to send."""
    transport = transport_for(settings)
    if transport is None:
        log.warning(
            "AUTHKEEP_SMTP_URL is not set: e-mails wait in the outbox until a node with SMTP "
            "sends them"
        )
        return None
    sender = MailSender(sessions, transport, settings)
    sender.start()
    return sender
