"""E-mail verification (CONTRACT.md §6.1, §3.6): a six-digit code proving a person owns their
address. Sent on demand through the API, and by sign-in itself in environments whose setting
`email_verification_required` is on: there an unverified person gets the code and a 403
`email_verification_required` instead of a session, until the code is entered."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from authkeep.crypto.keys import SecretBox
from authkeep.crypto.secrets import new_id
from authkeep.errors import BadRequest, NotFound
from authkeep.mail.outbox import enqueue
from authkeep.services import one_time_codes
from authkeep.services.users import get_user
from authkeep.store.models import EmailVerification, Environment, User

Outcome = one_time_codes.Outcome
# The confirm endpoint's 400 codes (§6.1). The spec has no "locked" code there: a locked code
# answers `..._expired` and says why, since a new code is the way on either way.
CONFIRM_ERRORS = {
    Outcome.WRONG: ("email_verification_code_incorrect", "The code is not valid."),
    Outcome.LOCKED: (
        "email_verification_code_expired",
        "Too many wrong codes: this code is locked. Send a new one.",
    ),
    Outcome.EXPIRED: ("email_verification_code_expired", "The code has expired."),
    Outcome.USED: ("email_verification_code_previously_used", "The code has already been used."),
}


def is_required(environment: Environment) -> bool:
    return bool((environment.settings or {}).get("email_verification_required", False))


async def start(
    session: AsyncSession, box: SecretBox, environment: Environment, user: User
) -> EmailVerification:
    """A new code for `user`, its mail enqueued in the caller's transaction."""
    await one_time_codes.check_send_rate(session, EmailVerification, user.id)
    code = one_time_codes.new_code()
    row = EmailVerification(
        id=new_id("email_verification"),
        environment_id=environment.id,
        user_id=user.id,
        email=user.email,
        attempts=0,
        expires_at=one_time_codes.expiry(),
    )
    one_time_codes.seal(box, row, code)
    session.add(row)
    await enqueue(
        session,
        environment,
        to=user.email,
        template="email_verification",
        context={"code": code, "expires_in_minutes": one_time_codes.CODE_MINUTES},
    )
    await session.flush()
    return row


async def send(
    session: AsyncSession, box: SecretBox, environment: Environment, user_id: str
) -> User:
    user = await get_user(session, environment.id, user_id)
    if user.email_verified:
        raise BadRequest("email_already_verified", "The user's e-mail is already verified.")
    await start(session, box, environment, user)
    return user


async def check_code(session: AsyncSession, user: User, code: str) -> Outcome:
    """Check the user's newest verification code; an accepted one verifies the e-mail."""
    row = await one_time_codes.newest(session, EmailVerification, user.id)
    outcome = await one_time_codes.check(session, row, code)  # type: ignore[arg-type]
    if outcome is Outcome.ACCEPTED:
        user.email_verified = True
    return outcome


async def confirm(session: AsyncSession, environment: Environment, user_id: str, code: str) -> User:
    user = await get_user(session, environment.id, user_id)
    if user.email_verified:
        raise BadRequest("email_previously_verified", "The user's e-mail is already verified.")
    outcome = await check_code(session, user, code)
    if outcome is not Outcome.ACCEPTED:
        raise BadRequest(*CONFIRM_ERRORS[outcome])
    return user


async def get_verification(
    session: AsyncSession, environment_id: str, verification_id: str
) -> EmailVerification:
    row = await session.get(EmailVerification, verification_id)
    if row is None or row.environment_id != environment_id:
        raise NotFound.entity("EmailVerification", verification_id)
    return row
