"""The hosted password reset: "Forgot password?" on the sign-in page, the mailed link's "choose a
new password" page, and the pages around them.

The forgot form answers the same page whether or not an account has that e-mail, and sends a
mail only when one has; it never says which. Its link carries the authorization request the
person started from, so the done page can lead back to that sign-in.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlencode

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from authkeep.api.state import AppState, app_state
from authkeep.errors import NotFound, RateLimited
from authkeep.pages import csrf
from authkeep.pages.render import render_page
from authkeep.pages.routes import _context, _csrf_failed, _csrf_key, _form, _load, _page, _posted
from authkeep.services import authorize, password_reset
from authkeep.services.rate_limits import SlidingWindowLimiter
from authkeep.services.users import find_by_email
from authkeep.services.validation import normalize_email
from authkeep.store.models import Environment, PasswordReset

log = logging.getLogger("authkeep")

# Mails per address and forms per client address in 15 minutes: enough for a person who lost
# a mail, too few to flood someone's inbox.
MAILS_PER_ADDRESS, FORMS_PER_IP, WINDOW = 3, 30, 900


def _limiter(request: Request, name: str, limit: int) -> SlidingWindowLimiter:
    extras = app_state(request).extras
    limiter = extras.get(name)
    if not isinstance(limiter, SlidingWindowLimiter):
        limiter = extras[name] = SlidingWindowLimiter(limit, WINDOW)
    return limiter


def _client_ip(request: Request) -> str:
    return request.client.host if request.client else ""


async def forgot_page(request: Request) -> Response:
    loaded = await _load(request, request.query_params.get("request", ""))
    if isinstance(loaded, Response):
        return loaded
    session, environment, auth_request = loaded
    await session.close()
    email = request.query_params.get("email") or auth_request.login_hint
    return _page(request, "forgot_password.html", environment, _context(auth_request, email=email))


async def forgot_submit(request: Request) -> Response:
    posted = await _posted(request)
    if isinstance(posted, Response):
        return posted
    form, session, environment, auth_request = posted
    async with session:
        email = form.get("email", "").strip()
        context = _context(auth_request, email=email)
        if "@" not in email or len(email) > 320:
            error = "Enter the e-mail address of your account."
            return _page(
                request, "forgot_password.html", environment, {**context, "error": error}, 400
            )
        try:
            _limiter(request, "reset_forms_ip", FORMS_PER_IP).check(_client_ip(request))
        except RateLimited as limited:
            error = "Too many requests. Wait a few minutes, then try again."
            response = _page(
                request, "forgot_password.html", environment, {**context, "error": error}, 429
            )
            response.headers["Retry-After"] = str(limited.retry_after)
            return response
        _limiter(request, "reset_forms_ip", FORMS_PER_IP).hit(_client_ip(request))
        may_mail = _may_mail(request, f"{environment.id}:{normalize_email(email)}")
    response = _page(request, "forgot_password_sent.html", environment, context)
    if may_mail:
        # After the answer is sent: whether the address has an account (a lookup, or a lookup
        # and a mail) never changes how long the answer takes.
        response.background = BackgroundTask(
            _mail_reset_if_known, app_state(request), environment, email, auth_request.id
        )
    return response


async def _mail_reset_if_known(
    state: AppState, environment: Environment, email: str, request_id: str
) -> None:
    try:
        async with state.sessions() as session:
            user = await find_by_email(session, environment.id, email)
            if user is None:
                return
            await password_reset.create_password_reset(
                session, state.box, environment, state.settings.base_url, user, request=request_id
            )
            await session.commit()
    except Exception:
        log.exception("password reset mail for a hosted request failed")


def _may_mail(request: Request, address_key: str) -> bool:
    """Whether this address may get another mail now; a refusal looks like a sent mail."""
    limiter = _limiter(request, "reset_mails_address", MAILS_PER_ADDRESS)
    try:
        limiter.check(address_key)
    except RateLimited:
        return False
    limiter.hit(address_key)
    return True


def _sign_in_target(environment: Environment, request_id: str) -> str | None:
    if request_id:
        return "/authkit/sign-in?" + urlencode({"request": request_id})
    homepage = (environment.settings or {}).get("homepage_url")
    return str(homepage) if homepage else None


async def _reset_and_environment(
    session: Any, token: str
) -> tuple[PasswordReset, Environment] | None:
    reset = await password_reset.find_by_token(session, token)
    if reset is None:
        return None
    environment = await session.get(Environment, reset.environment_id)
    return (reset, environment) if environment is not None else None


def _unusable(
    request: Request, environment: Environment | None, message: str, request_id: str
) -> Response:
    forgot = (
        "/authkit/forgot-password?" + urlencode({"request": request_id}) if request_id else None
    )
    return render_page(
        request,
        "reset_unusable.html",
        environment,
        {"message": message, "forgot_url": forgot},
        400,
    )


INVALID = (
    "This password reset link is not valid. Check that you opened the whole link, or ask for a "
    "new one."
)


async def _live_request(session: Any, request_id: str, environment: Environment | None) -> str:
    """`request_id` when it is a sign-in still open in this environment, else ""."""
    if not request_id or environment is None:
        return ""
    try:
        opened_in, _ = await authorize.load_request(session, request_id)
    except authorize.AuthorizeError:
        return ""
    return request_id if opened_in.id == environment.id else ""


async def reset_page(request: Request) -> Response:
    token = request.query_params.get("token", "")
    request_id = request.query_params.get("request", "")
    async with app_state(request).sessions() as session:
        found = await _reset_and_environment(session, token)
        if found is None:
            return _unusable(request, None, INVALID, "")
        reset, environment = found
        live = await _live_request(session, request_id, environment)
    problem = password_reset.problem_with(reset)
    if problem:
        return _unusable(request, environment, problem["message"], live)
    return _reset_form(request, environment, reset, token, live)


def _reset_form(
    request: Request,
    environment: Environment,
    reset: PasswordReset,
    token: str,
    request_id: str,
    status: int = 200,
    **extra: Any,
) -> Response:
    context = {"token": token, "request_id": request_id, "email": reset.email, **extra}
    state = app_state(request)
    cookie_value, is_new = csrf.browser_secret(request)
    context["csrf_token"] = csrf.token_for(_csrf_key(state), cookie_value, f"reset:{reset.id}")
    response = render_page(request, "reset_password.html", environment, context, status)
    if is_new:
        csrf.set_cookie(request, response, cookie_value)
    return response


async def reset_submit(request: Request) -> Response:
    form = await _form(request)
    token, request_id = form.get("token", ""), form.get("request", "")
    async with app_state(request).sessions() as session:
        found = await _reset_and_environment(session, token)
        if found is None:
            return _unusable(request, None, INVALID, "")
        reset, environment = found
        purpose = f"reset:{reset.id}"
        if not csrf.is_valid(
            _csrf_key(app_state(request)), request, purpose, form.get("csrf_token")
        ):
            return _csrf_failed(request, environment)
        password = form.get("new_password", "")
        if password != form.get("confirm_password", ""):
            error = "The two passwords do not match."
            return _reset_form(request, environment, reset, token, request_id, 400, error=error)
        try:
            await password_reset.confirm_password_reset(session, environment, token, password)
        except password_reset.PasswordResetError as error:
            errors = error.extra.get("errors", [])
            problems = [p["message"] for p in errors]
            if any(p["code"].startswith("password_reset_token") for p in errors):
                live = await _live_request(session, request_id, environment)
                return _unusable(request, environment, problems[0], live)
            return _reset_form(
                request,
                environment,
                reset,
                token,
                request_id,
                400,
                error="Choose a stronger password:",
                problems=problems,
            )
        except NotFound:
            return _unusable(request, None, INVALID, "")
        await session.commit()
        live = await _live_request(session, request_id, environment)
    target = _sign_in_target(environment, live)
    return render_page(
        request,
        "reset_done.html",
        environment,
        {"sign_in_url": target, "signed_out": password_reset.ends_sessions(environment)},
    )


routes = [
    Route("/authkit/forgot-password", forgot_page, methods=["GET"]),
    Route("/authkit/forgot-password", forgot_submit, methods=["POST"]),
    Route(password_reset.HOSTED_PATH, reset_page, methods=["GET"]),
    Route(password_reset.HOSTED_PATH, reset_submit, methods=["POST"]),
]
