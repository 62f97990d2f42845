"""The dev mailbox's reads: the outbox, newest first, across the deployment's environments.

`authkeep dev` has no SMTP: its mails are marked sent by `MailboxTransport` and read back from
the outbox here. Only a deployment with `AUTHKEEP_DEV_MAILBOX` (what `authkeep dev` sets) serves
these (pages/mailbox.py); `authkeep serve` refuses that setting.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from authkeep.store.models import Environment, OutboxEmail

MAX_LISTED = 200
_LINK = re.compile(r"https?://[^\s<>\"')]+")
# The code ends the first line of both templates; the brand name before it may hold digits.
_CODE = re.compile(r"(?<!\d)(\d{6})$", re.MULTILINE)


@dataclass(frozen=True)
class MailboxEntry:
    mail: OutboxEmail
    environment_name: str

    @property
    def links(self) -> list[str]:
        """Every link of the text body, in order: what a test or a person clicks next."""
        return list(dict.fromkeys(_LINK.findall(self.mail.text)))

    @property
    def code(self) -> str | None:
        """The six-digit code of a `magic_auth` or `email_verification` mail."""
        if self.mail.template not in ("magic_auth", "email_verification"):
            return None
        found = _CODE.search(self.mail.text.split("\n", 1)[0])
        return found.group(1) if found else None


async def list_mails(
    session: AsyncSession,
    *,
    to: str | None = None,
    environment_id: str | None = None,
    limit: int = MAX_LISTED,
) -> list[MailboxEntry]:
    query = (
        select(OutboxEmail, Environment.name)
        .join(Environment, Environment.id == OutboxEmail.environment_id)
        .order_by(OutboxEmail.created_at.desc(), OutboxEmail.id.desc())
        .limit(min(max(limit, 1), MAX_LISTED))
    )
    if to:
        query = query.where(OutboxEmail.to == to.strip())
    if environment_id:
        query = query.where(OutboxEmail.environment_id == environment_id)
    rows = (await session.execute(query)).all()
    return [MailboxEntry(mail, name) for mail, name in rows]


async def get_mail(session: AsyncSession, mail_id: str) -> MailboxEntry | None:
    row = (
        await session.execute(
            select(OutboxEmail, Environment.name)
            .join(Environment, Environment.id == OutboxEmail.environment_id)
            .where(OutboxEmail.id == mail_id)
        )
    ).first()
    return MailboxEntry(row[0], row[1]) if row else None
