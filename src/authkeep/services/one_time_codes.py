"""Six-digit codes sent by e-mail (Magic Auth, e-mail verification): made, stored and checked.

A code is stored twice: as SHA-256 of the row's id and the code (looked up never, compared in
constant time), and encrypted with the row's id as associated data, because the API returns it
(`GET /user_management/magic_auth/{id}`, `GET .../email_verification/{id}`). Only a person's
newest code counts; it expires after `CODE_MINUTES`, works once, and `MAX_ATTEMPTS` wrong tries
lock it.
"""

from __future__ import annotations

import datetime as dt
import enum
import secrets
from typing import Protocol

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from authkeep.crypto.keys import SecretBox
from authkeep.crypto.secrets import constant_time_equal, hash_secret
from authkeep.errors import RateLimited
from authkeep.store.models import EmailVerification, MagicAuthCode, utcnow

CODE_MINUTES = 10
MAX_ATTEMPTS = 5
# Codes one person may be sent per window: each code allows MAX_ATTEMPTS guesses, so this
# bounds the guesses too (MAX_CODES * MAX_ATTEMPTS per window, in a million).
MAX_CODES = 10
CODES_WINDOW = dt.timedelta(minutes=15)


class CodeRow(Protocol):
    id: str
    code_hash: str
    code_encrypted: bytes
    attempts: int
    expires_at: dt.datetime
    used_at: dt.datetime | None


class Outcome(enum.Enum):
    ACCEPTED = "accepted"
    WRONG = "wrong"  # counted against the code
    LOCKED = "locked"  # too many wrong tries, before this one
    EXPIRED = "expired"
    USED = "used"


def new_code() -> str:
    return f"{secrets.randbelow(1_000_000):06d}"


def code_hash(row_id: str, code: str) -> str:
    return hash_secret(f"{row_id}:{code}")


def seal(box: SecretBox, row: CodeRow, code: str) -> None:
    row.code_hash = code_hash(row.id, code)
    row.code_encrypted = box.encrypt(code.encode(), row.id)


def reveal(box: SecretBox, row: CodeRow) -> str:
    return box.decrypt(row.code_encrypted, row.id).decode()


def expiry() -> dt.datetime:
    return utcnow() + dt.timedelta(minutes=CODE_MINUTES)


async def check(session: AsyncSession, row: CodeRow | None, code: str) -> Outcome:
    """Check `code` against `row` (the person's newest). A wrong code is counted and committed
    at once, so the count survives the error the caller raises. An accepted code is consumed
    with a conditional update, so two concurrent uses cannot both win."""
    if row is None:
        return Outcome.WRONG
    if row.attempts >= MAX_ATTEMPTS:
        return Outcome.LOCKED
    candidate = code.strip()
    if not (len(candidate) == 6 and candidate.isdigit()) or not constant_time_equal(
        code_hash(row.id, candidate), row.code_hash
    ):
        row.attempts += 1
        await session.commit()
        return Outcome.WRONG
    if row.used_at is not None:
        return Outcome.USED
    if row.expires_at <= utcnow():
        return Outcome.EXPIRED
    model = type(row)
    assert model in (MagicAuthCode, EmailVerification)
    now = utcnow()
    result = await session.execute(
        update(model)
        .where(model.id == row.id, model.used_at.is_(None))  # type: ignore[attr-defined]
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 1) != 1:
        return Outcome.USED
    row.used_at = now
    return Outcome.ACCEPTED


async def check_send_rate(session: AsyncSession, model: type, user_id: str) -> None:
    since = utcnow() - CODES_WINDOW
    sent = await session.scalar(
        select(func.count()).where(model.user_id == user_id, model.created_at > since)  # type: ignore[attr-defined]
    )
    if (sent or 0) >= MAX_CODES:
        raise RateLimited(
            int(CODES_WINDOW.total_seconds()),
            "Too many codes were sent to this e-mail address. Try again later.",
        )


async def newest(session: AsyncSession, model: type, user_id: str) -> object | None:
    return await session.scalar(
        select(model)
        .where(model.user_id == user_id)  # type: ignore[attr-defined]
        .order_by(model.created_at.desc(), model.id.desc())  # type: ignore[attr-defined]
        .limit(1)
    )
