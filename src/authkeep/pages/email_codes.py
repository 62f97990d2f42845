"""Hosted pages for codes sent by e-mail: "Email me a code" (Magic Auth) and the e-mail
verification step that sign-in and sign-up take in environments that require it.

Like the other forms they work without JavaScript and carry a CSRF token. The Magic Auth page
answers every address the same way (a code page), whether or not a code went out, so it tells
no one which addresses have accounts.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from authkeep.api.state import app_state
from authkeep.errors import AuthkeepError, RateLimited
from authkeep.pages.routes import _client_ip, _context, _load, _page, _posted
from authkeep.pages.routes import _signed_in as signed_in
from authkeep.services import email_verification, magic_auth
from authkeep.services.magic_auth import OneTimeCodeError
from authkeep.services.one_time_codes import Outcome
from authkeep.store.models import AuthorizationRequest, User

TOO_MANY = "Too many codes were sent to this address. Wait a few minutes, then try again."
CODE_ERRORS = {
    Outcome.WRONG: "That code is not right. Check the e-mail and try again.",
    Outcome.LOCKED: "Too many wrong tries: that code no longer works. Ask for a new one.",
    Outcome.EXPIRED: "That code has expired. Ask for a new one.",
    Outcome.USED: "That code was already used. Ask for a new one.",
}
_GRANT_OUTCOMES = {
    "invalid_one_time_code": Outcome.WRONG,
    "one_time_code_too_many_attempts": Outcome.LOCKED,
    "one_time_code_expired": Outcome.EXPIRED,
    "one_time_code_previously_used": Outcome.USED,
}


def _magic_code_page(
    request: Request, environment: Any, auth_request: AuthorizationRequest, email: str, **extra: Any
) -> Response:
    status = extra.pop("status", 200)
    context = _context(
        auth_request,
        heading="Check your e-mail",
        lead=None,
        action="/authkit/magic-auth/code",
        email=email,
        carry_email=True,
        back_href=f"/authkit/magic-auth?request={auth_request.id}",
        back_text="Use another e-mail or send a new code",
        **extra,
    )
    return _page(request, "one_time_code.html", environment, context, status)


async def magic_auth_page(request: Request) -> Response:
    loaded = await _load(request, request.query_params.get("request", ""))
    if isinstance(loaded, Response):
        return loaded
    session, environment, auth_request = loaded
    await session.close()
    context = _context(auth_request, email=auth_request.login_hint)
    return _page(request, "magic_auth.html", environment, context)


async def magic_auth_submit(request: Request) -> Response:
    posted = await _posted(request)
    if isinstance(posted, Response):
        return posted
    form, session, environment, auth_request = posted
    email = form.get("email", "").strip()
    async with session:
        try:
            await magic_auth.create_magic_auth(
                session,
                app_state(request).box,
                environment,
                email,
                ip_address=_client_ip(request),
                user_agent=request.headers.get("user-agent"),
            )
            await session.commit()
        except magic_auth.SignUpNotAllowed:
            pass  # same page as for a known address: nothing tells them apart
        except RateLimited:
            context = _context(auth_request, email=email, error=TOO_MANY)
            return _page(request, "magic_auth.html", environment, context, 429)
        except AuthkeepError:
            context = _context(auth_request, email=email, error="Enter a valid e-mail address.")
            return _page(request, "magic_auth.html", environment, context, 400)
    return _magic_code_page(request, environment, auth_request, email)


async def magic_code_submit(request: Request) -> Response:
    posted = await _posted(request)
    if isinstance(posted, Response):
        return posted
    form, session, environment, auth_request = posted
    email, code = form.get("email", "").strip(), form.get("code", "")
    async with session:
        try:
            user = await magic_auth.redeem(session, environment, email, code)
        except OneTimeCodeError as error:
            message = CODE_ERRORS[_GRANT_OUTCOMES.get(error.code, Outcome.WRONG)]
            return _magic_code_page(
                request, environment, auth_request, email, error=message, status=400
            )
        return await signed_in(
            request, session, environment, auth_request, user, auth_method="magic_code"
        )


async def _pending_user(session: Any, auth_request: AuthorizationRequest) -> User | None:
    if not auth_request.user_id:
        return None
    return await session.get(User, auth_request.user_id)


def _verify_page(
    request: Request, environment: Any, auth_request: AuthorizationRequest, user: User, **extra: Any
) -> Response:
    status = extra.pop("status", 200)
    context = _context(
        auth_request,
        heading="Verify your e-mail",
        lead="One more step before you continue",
        action="/authkit/verify-email",
        email=user.email,
        carry_email=False,
        back_href=f"/authkit/sign-in?request={auth_request.id}",
        back_text="Sign in with another account",
        **extra,
    )
    return _page(request, "one_time_code.html", environment, context, status)


async def verify_page(request: Request) -> Response:
    loaded = await _load(request, request.query_params.get("request", ""))
    if isinstance(loaded, Response):
        return loaded
    session, environment, auth_request = loaded
    async with session:
        user = await _pending_user(session, auth_request)
    if user is None:
        return RedirectResponse(f"/authkit/sign-in?request={auth_request.id}", status_code=302)
    return _verify_page(request, environment, auth_request, user)


async def verify_submit(request: Request) -> Response:
    posted = await _posted(request)
    if isinstance(posted, Response):
        return posted
    form, session, environment, auth_request = posted
    async with session:
        user = await _pending_user(session, auth_request)
        if user is None:
            return RedirectResponse(f"/authkit/sign-in?request={auth_request.id}", status_code=302)
        outcome = await email_verification.check_code(session, user, form.get("code", ""))
        if outcome is not Outcome.ACCEPTED:
            return _verify_page(
                request, environment, auth_request, user, error=CODE_ERRORS[outcome], status=400
            )
        method = auth_request.auth_method or "password"
        return await signed_in(
            request, session, environment, auth_request, user, auth_method=method
        )


routes = [
    Route("/authkit/magic-auth", magic_auth_page, methods=["GET"]),
    Route("/authkit/magic-auth", magic_auth_submit, methods=["POST"]),
    Route("/authkit/magic-auth/code", magic_code_submit, methods=["POST"]),
    Route("/authkit/verify-email", verify_page, methods=["GET"]),
    Route("/authkit/verify-email", verify_submit, methods=["POST"]),
]
