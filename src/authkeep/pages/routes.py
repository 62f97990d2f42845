"""`GET /user_management/authorize` and the hosted pages under `/authkit/` (DESIGN.md, URLs).

Forms work without JavaScript and carry a CSRF token. A signed-in browser (hosted session
cookie) skips the form on the next authorize. Errors that cannot go back to the app (unknown
client, unregistered redirect URI) stay on an authkeep page; the others go back to the app as
`error`, `error_description` and `state`.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from authkeep.api.state import AppState, app_state
from authkeep.api.wire import read_body
from authkeep.errors import AuthkeepError, BadRequest, RateLimited
from authkeep.pages import csrf
from authkeep.pages import invitation as invitations
from authkeep.pages.render import hosted_cookie_name, render_page
from authkeep.services import authorize, email_verification, users
from authkeep.services.invitation_acceptance import (
    InvitationEmailMismatch,
    InvitationInvalid,
    accept,
)
from authkeep.services.sessions import has_active_membership
from authkeep.services.signin import (
    InvalidCredentials,
    active_organizations,
    check_password,
    choose_organization,
    create_hosted_session,
    find_hosted_session,
)
from authkeep.store.models import (
    AuthorizationRequest,
    Environment,
    HostedSession,
    Invitation,
    User,
    utcnow,
)

HOSTED_COOKIE_SECONDS = 7 * 24 * 3600
TOO_MANY_CODES = "Too many codes were sent to this address. Wait a few minutes, then try again."
SIGN_UP_REFUSED = (
    "We could not create an account with that e-mail. If you already have one, sign in instead."
)


def _client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


async def _form(request: Request) -> dict[str, str]:
    raw = await read_body(request)
    return dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))


def _context(auth_request: AuthorizationRequest, **extra: Any) -> dict[str, Any]:
    """What every form page needs: its request, and where the form may send the browser."""
    return {"request_id": auth_request.id, "redirect_uri": auth_request.redirect_uri, **extra}


def _csrf_key(state: AppState) -> bytes:
    return state.settings.secret_key.encode()


def _page(
    request: Request,
    template: str,
    environment: Environment | None,
    context: dict[str, Any],
    status: int = 200,
) -> Response:
    """Render a form page with a CSRF token bound to this browser and request."""
    state = app_state(request)
    cookie_value, is_new = csrf.browser_secret(request)
    purpose = context.get("request_id", "")
    context = {**context, "csrf_token": csrf.token_for(_csrf_key(state), cookie_value, purpose)}
    response = render_page(
        request, template, environment, context, status, form_target=context.get("redirect_uri")
    )
    if is_new:
        csrf.set_cookie(request, response, cookie_value)
    return response


def _error_page(
    request: Request, environment: Environment | None, title: str, message: str, status: int
) -> Response:
    return render_page(
        request, "error.html", environment, {"title": title, "message": message}, status
    )


def _csrf_failed(request: Request, environment: Environment | None) -> Response:
    return _error_page(
        request,
        environment,
        "This form has expired",
        "For your security the form could not be accepted. Go back, reload the page and try again.",
        403,
    )


async def authorize_endpoint(request: Request) -> Response:
    q = request.query_params
    params = authorize.AuthorizeParams(
        client_id=q.get("client_id", ""),
        redirect_uri=q.get("redirect_uri", ""),
        response_type=q.get("response_type"),
        state=q.get("state"),
        code_challenge=q.get("code_challenge"),
        code_challenge_method=q.get("code_challenge_method"),
        screen_hint=q.get("screen_hint"),
        login_hint=q.get("login_hint"),
        organization_id=q.get("organization_id"),
        provider=q.get("provider"),
    )
    state = app_state(request)
    async with state.sessions() as session:
        try:
            environment, auth_request = await authorize.start(session, params)
        except authorize.AuthorizeError as error:
            return _error_page(request, None, error.title, error.message, 400)
        except authorize.RedirectError as error:
            target = authorize.with_query(
                error.redirect_uri,
                error=error.error,
                error_description=error.message,
                state=error.state,
            )
            return RedirectResponse(target, status_code=302)
        reset_token = q.get("password_reset_token")
        if reset_token:  # authkit-js opens the hosted reset page this way (CONTRACT.md §2.1)
            await session.commit()
            query = urlencode({"token": reset_token, "request": auth_request.id})
            return RedirectResponse(f"/authkit/reset-password?{query}", status_code=302)
        invitation_token = q.get("invitation_token")
        if invitation_token:
            try:
                page_url = await invitations.prepare(
                    session, environment, auth_request, invitation_token
                )
            except InvitationInvalid:
                return invitations.invalid_page(request, environment)
            await session.commit()
            return RedirectResponse(page_url, status_code=302)
        hosted = None
        if q.get("prompt") != "login" and auth_request.screen_hint != "sign-up":
            hosted = await find_hosted_session(
                session, environment.id, request.cookies.get(hosted_cookie_name(environment.id))
            )
        if hosted is not None:
            response = await _complete(request, session, environment, auth_request, hosted)
            await session.commit()
            return response
        await session.commit()
    page = "sign-up" if auth_request.screen_hint == "sign-up" else "sign-in"
    return RedirectResponse(f"/authkit/{page}?request={auth_request.id}", status_code=302)


async def _complete(
    request: Request,
    session: Any,
    environment: Environment,
    auth_request: AuthorizationRequest,
    hosted: HostedSession,
) -> Response:
    """Signed in: choose the organization, then send the browser back with a code."""
    user_id = hosted.user_id
    organization_id = auth_request.organization_id
    if organization_id is not None:
        if not await has_active_membership(session, environment.id, user_id, organization_id):
            return _error_page(
                request,
                environment,
                "Not a member",
                "Your account is not an active member of the organization this app asked for.",
                403,
            )
    else:
        choice = await choose_organization(session, environment.id, user_id)
        if choice.needs_selection:
            auth_request.user_id = user_id
            auth_request.auth_method = hosted.auth_method
            return RedirectResponse(
                f"/authkit/organization?request={auth_request.id}", status_code=302
            )
        organization_id = choice.organization_id
    target = await authorize.issue_code(
        session,
        auth_request,
        user_id=user_id,
        organization_id=organization_id,
        auth_method=hosted.auth_method,
        auth_time=hosted.auth_time,
        ip_address=_client_ip(request),
        user_agent=request.headers.get("user-agent"),
    )
    return RedirectResponse(target, status_code=302)


def _set_hosted_cookie(
    request: Request, response: Response, environment_id: str, token: str
) -> None:
    response.set_cookie(
        hosted_cookie_name(environment_id),
        token,
        max_age=HOSTED_COOKIE_SECONDS,
        path="/",
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )


async def _load(
    request: Request, request_id: str
) -> tuple[Any, Environment, AuthorizationRequest] | Response:
    session = app_state(request).sessions()
    try:
        environment, auth_request = await authorize.load_request(session, request_id)
    except authorize.AuthorizeError as error:
        await session.close()
        return _error_page(request, None, error.title, error.message, 400)
    return session, environment, auth_request


async def _posted(
    request: Request,
) -> tuple[dict[str, str], Any, Environment, AuthorizationRequest] | Response:
    """A submitted form: its fields, an open session and its request, once the CSRF token
    checks out; otherwise the page to answer with."""
    form = await _form(request)
    loaded = await _load(request, form.get("request", ""))
    if isinstance(loaded, Response):
        return loaded
    session, environment, auth_request = loaded
    key = _csrf_key(app_state(request))
    if not csrf.is_valid(key, request, auth_request.id, form.get("csrf_token")):
        await session.close()
        return _csrf_failed(request, environment)
    return form, session, environment, auth_request


async def sign_in_page(request: Request) -> Response:
    loaded = await _load(request, request.query_params.get("request", ""))
    if isinstance(loaded, Response):
        return loaded
    session, environment, auth_request = loaded
    async with session:
        token = request.query_params.get("invitation_token")
        try:
            invitation = await invitations.for_form(session, environment, token)
        except InvitationInvalid:
            return invitations.invalid_page(request, environment)
        extra = await invitations.page_context(session, invitation, token)
    return _page(
        request,
        "sign_in.html",
        environment,
        _context(auth_request, **{"email": auth_request.login_hint, **extra}),
    )


async def sign_in_submit(request: Request) -> Response:
    posted = await _posted(request)
    if isinstance(posted, Response):
        return posted
    form, session, environment, auth_request = posted
    async with session:
        email, password = form.get("email", "").strip(), form.get("password", "")
        token = form.get("invitation_token") or None
        try:
            invitation = await invitations.for_form(session, environment, token)
        except InvitationInvalid:
            return invitations.invalid_page(request, environment)
        extra = await invitations.page_context(session, invitation, token)
        context = _context(auth_request, **{**extra, "email": email})
        if not email or not password:
            return _page(
                request,
                "sign_in.html",
                environment,
                {**context, "error": "Enter your e-mail and password."},
                400,
            )
        try:
            user = await check_password(
                session,
                app_state(request).password_limits,
                environment,
                email,
                password,
                _client_ip(request),
            )
        except InvalidCredentials:
            return _page(
                request,
                "sign_in.html",
                environment,
                {**context, "error": "That e-mail and password do not match."},
                400,
            )
        except RateLimited as limited:
            response = _page(
                request,
                "sign_in.html",
                environment,
                {**context, "error": "Too many attempts. Wait a few minutes, then try again."},
                429,
            )
            response.headers["Retry-After"] = str(limited.retry_after)
            return response
        try:
            return await _signed_in(request, session, environment, auth_request, user, invitation)
        except InvitationEmailMismatch:
            message = invitations.MISMATCH_MESSAGE.format(email=extra["email"])
            return _page(request, "sign_in.html", environment, {**context, "error": message}, 400)
        except InvitationInvalid:
            return invitations.invalid_page(request, environment)


async def _signed_in(
    request: Request,
    session: Any,
    environment: Environment,
    auth_request: AuthorizationRequest,
    user: User,
    invitation: Invitation | None = None,
    auth_method: str = "password",
) -> Response:
    """A password (or code) was just proven: accept the invitation the form carried (which
    verifies the e-mail), then, if the e-mail must still be verified, send a code and show its
    page; otherwise start the hosted session and finish the authorize."""
    if invitation is not None:
        await accept(session, environment, invitation, user)
        auth_request.organization_id = invitation.organization_id or auth_request.organization_id
    if email_verification.is_required(environment) and not user.email_verified:
        try:
            await email_verification.start(session, app_state(request).box, environment, user)
        except RateLimited:
            return _error_page(request, environment, "Too many codes", TOO_MANY_CODES, 429)
        auth_request.user_id, auth_request.auth_method = user.id, auth_method
        await session.commit()
        return RedirectResponse(f"/authkit/verify-email?request={auth_request.id}", status_code=302)
    user.last_sign_in_at = utcnow()
    hosted, token = await create_hosted_session(
        session, environment.id, user.id, auth_method, utcnow()
    )
    response = await _complete(request, session, environment, auth_request, hosted)
    await session.commit()
    _set_hosted_cookie(request, response, environment.id, token)
    return response


def _is_invite_only(environment: Environment) -> bool:
    return (environment.settings or {}).get("signup") == "invite_only"


async def sign_up_page(request: Request) -> Response:
    loaded = await _load(request, request.query_params.get("request", ""))
    if isinstance(loaded, Response):
        return loaded
    session, environment, auth_request = loaded
    async with session:
        token = request.query_params.get("invitation_token")
        try:
            invitation = await invitations.for_form(session, environment, token)
        except InvitationInvalid:
            return invitations.invalid_page(request, environment)
        extra = await invitations.page_context(session, invitation, token)
    if _is_invite_only(environment) and invitation is None:
        return render_page(
            request,
            "invite_only.html",
            environment,
            _context(auth_request),
            403,
        )
    return _page(
        request,
        "sign_up.html",
        environment,
        _context(auth_request, **{"email": auth_request.login_hint, **extra}),
    )


async def sign_up_submit(request: Request) -> Response:
    posted = await _posted(request)
    if isinstance(posted, Response):
        return posted
    form, session, environment, auth_request = posted
    async with session:
        token = form.get("invitation_token") or None
        try:
            invitation = await invitations.for_form(session, environment, token)
        except InvitationInvalid:
            return invitations.invalid_page(request, environment)
        extra = await invitations.page_context(session, invitation, token)
        if _is_invite_only(environment) and invitation is None:
            return render_page(
                request,
                "invite_only.html",
                environment,
                _context(auth_request),
                403,
            )
        fields = {
            # An invitation fixes the address: the one the mail went to.
            "email": extra.get("email") or form.get("email", "").strip(),
            "password": form.get("password", ""),
            "first_name": form.get("first_name", "").strip() or None,
            "last_name": form.get("last_name", "").strip() or None,
        }
        shown = {k: v for k, v in fields.items() if k != "password"}
        context = _context(auth_request, **{**extra, **shown})
        try:
            user = await users.create_user(session, environment.id, fields)
        except BadRequest as error:
            if error.code == "password_strength_error":
                problems = [p["message"] for p in error.extra.get("errors", [])]
                message = "Choose a stronger password:"
            else:
                # Same words whether or not the address is taken elsewhere in the form flow.
                problems, message = [], SIGN_UP_REFUSED
            return _page(
                request,
                "sign_up.html",
                environment,
                {**context, "error": message, "problems": problems},
                400,
            )
        except AuthkeepError:
            return _page(
                request,
                "sign_up.html",
                environment,
                {**context, "error": "Enter a valid e-mail address."},
                400,
            )
        try:
            return await _signed_in(request, session, environment, auth_request, user, invitation)
        except InvitationInvalid:  # used by another request in the meantime
            return invitations.invalid_page(request, environment)


async def _signed_in_for(
    request: Request, session: Any, environment: Environment, auth_request: AuthorizationRequest
) -> HostedSession | None:
    hosted = await find_hosted_session(
        session, environment.id, request.cookies.get(hosted_cookie_name(environment.id))
    )
    if hosted is None or hosted.user_id != auth_request.user_id:
        return None
    return hosted


async def organization_page(request: Request) -> Response:
    loaded = await _load(request, request.query_params.get("request", ""))
    if isinstance(loaded, Response):
        return loaded
    session, environment, auth_request = loaded
    async with session:
        hosted = await _signed_in_for(request, session, environment, auth_request)
        if hosted is None:
            return RedirectResponse(f"/authkit/sign-in?request={auth_request.id}", status_code=302)
        organizations = await active_organizations(session, environment.id, hosted.user_id)
    return _page(
        request,
        "organizations.html",
        environment,
        _context(auth_request, organizations=organizations),
    )


async def organization_submit(request: Request) -> Response:
    posted = await _posted(request)
    if isinstance(posted, Response):
        return posted
    form, session, environment, auth_request = posted
    async with session:
        hosted = await _signed_in_for(request, session, environment, auth_request)
        if hosted is None:
            return RedirectResponse(f"/authkit/sign-in?request={auth_request.id}", status_code=302)
        organization_id = form.get("organization_id", "")
        if not await has_active_membership(
            session, environment.id, hosted.user_id, organization_id
        ):
            organizations = await active_organizations(session, environment.id, hosted.user_id)
            return _page(
                request,
                "organizations.html",
                environment,
                _context(
                    auth_request,
                    organizations=organizations,
                    error="Choose one of your organizations.",
                ),
                400,
            )
        auth_request.organization_id = organization_id
        response = await _complete(request, session, environment, auth_request, hosted)
        await session.commit()
    return response


routes = [
    Route("/user_management/authorize", authorize_endpoint, methods=["GET"]),
    Route("/authkit/sign-in", sign_in_page, methods=["GET"]),
    Route("/authkit/sign-in", sign_in_submit, methods=["POST"]),
    Route("/authkit/sign-up", sign_up_page, methods=["GET"]),
    Route("/authkit/sign-up", sign_up_submit, methods=["POST"]),
    Route("/authkit/organization", organization_page, methods=["GET"]),
    Route("/authkit/organization", organization_submit, methods=["POST"]),
]
