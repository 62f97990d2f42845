"""Magic Auth (CONTRACT.md §6.6): a six-digit code e-mailed to a person, redeemed by the
magic-auth grant (§3.2) or the hosted pages' "Email me a code".

An unknown e-mail gets a new user (e-mail unverified until a code is redeemed) where sign-up is
open, as WorkOS does: the MagicAuth object always names its `user_id`. Where sign-up is by
invitation only, the API answers 400 `sign_up_not_allowed` unless `invitation_token` is a usable
invitation for that address; the hosted pages say the same as
for a known address and send nothing, so they tell no one which addresses have accounts.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from authkeep.crypto.keys import SecretBox
from authkeep.crypto.secrets import new_id
from authkeep.errors import AuthkeepError, NotFound, OAuthError
from authkeep.mail.outbox import enqueue
from authkeep.services import one_time_codes
from authkeep.services.users import create_user, find_by_email
from authkeep.services.validation import check_email, normalize_email
from authkeep.store.models import Environment, MagicAuthCode, User


class SignUpNotAllowed(OAuthError):
    error = "sign_up_not_allowed"


class OneTimeCodeError(AuthkeepError):
    """The grant's code-shaped 400s (§3.5)."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        super().__init__(message)


def is_invite_only(environment: Environment) -> bool:
    return (environment.settings or {}).get("signup") == "invite_only"


async def _invited(
    session: AsyncSession, environment: Environment, email: str, token: str | None
) -> bool:
    """Whether `token` is a usable invitation of this environment for `email`."""
    from authkeep.services.invitation_acceptance import InvitationInvalid, usable

    if token is None:
        return False
    try:
        invitation = await usable(session, environment.id, token)
    except InvitationInvalid:
        return False
    return invitation.email_normalized == normalize_email(email)


async def create_magic_auth(
    session: AsyncSession,
    box: SecretBox,
    environment: Environment,
    email: str,
    *,
    ip_address: str | None = None,
    user_agent: str | None = None,
    invitation_token: str | None = None,
) -> tuple[MagicAuthCode, str]:
    """A new code for `email` (its user made where sign-up is open, or invited), its mail
    enqueued. The invitation itself is accepted by the grant that redeems the code."""
    email = check_email(email)
    user = await find_by_email(session, environment.id, email)
    if user is None:
        if is_invite_only(environment) and not await _invited(
            session, environment, email, invitation_token
        ):
            raise SignUpNotAllowed("Sign-up is by invitation only in this environment.")
        user = await create_user(session, environment.id, {"email": email})
    await one_time_codes.check_send_rate(session, MagicAuthCode, user.id)
    code = one_time_codes.new_code()
    row = MagicAuthCode(
        id=new_id("magic_auth"),
        environment_id=environment.id,
        user_id=user.id,
        email=user.email,
        attempts=0,
        ip_address=ip_address,
        user_agent=user_agent,
        expires_at=one_time_codes.expiry(),
    )
    one_time_codes.seal(box, row, code)
    session.add(row)
    await enqueue(
        session,
        environment,
        to=user.email,
        template="magic_auth",
        context={"code": code, "expires_in_minutes": one_time_codes.CODE_MINUTES},
    )
    await session.flush()
    return row, code


async def get_magic_auth(
    session: AsyncSession, environment_id: str, magic_auth_id: str
) -> MagicAuthCode:
    row = await session.get(MagicAuthCode, magic_auth_id)
    if row is None or row.environment_id != environment_id:
        raise NotFound.entity("MagicAuth", magic_auth_id)
    return row


GRANT_ERRORS = {
    one_time_codes.Outcome.WRONG: ("invalid_one_time_code", "The code is not valid."),
    one_time_codes.Outcome.LOCKED: (
        "one_time_code_too_many_attempts",
        "Too many wrong codes: this code is locked. Request a new one.",
    ),
    one_time_codes.Outcome.EXPIRED: ("one_time_code_expired", "The code has expired."),
    one_time_codes.Outcome.USED: (
        "one_time_code_previously_used",
        "The code has already been used.",
    ),
}


async def redeem(session: AsyncSession, environment: Environment, email: str, code: str) -> User:
    """The user whose newest Magic Auth code this is, now verified; otherwise the grant's 400.
    An unknown e-mail gets the same answer as a wrong code."""
    user = await find_by_email(session, environment.id, email)
    row = await one_time_codes.newest(session, MagicAuthCode, user.id) if user is not None else None
    outcome = await one_time_codes.check(session, row, code)  # type: ignore[arg-type]
    if outcome is not one_time_codes.Outcome.ACCEPTED:
        raise OneTimeCodeError(*GRANT_ERRORS[outcome])
    assert user is not None
    user.email_verified = True
    return user
