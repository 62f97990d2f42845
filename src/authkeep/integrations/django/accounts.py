"""The user-model mode: Django's own login follows the authkeep session.

With `AuthKitBackend` in `AUTHENTICATION_BACKENDS` (or `AUTHKEEP["user_model"] = True`) the
middleware keeps `django.contrib.auth`'s login in step with the session cookie, which stays the
source of truth:

* a session the Django session does not hold yet (a sign-in, another authkeep user, or another
  organization, role or permissions) is passed to `authenticate(auth_session=...)` and the user
  is logged in with `django.contrib.auth.login`, so `request.user` is the model instance;
* a session that ended (signed out, refresh refused, cookie gone or forged) logs the person out
  with `django.contrib.auth.logout`. A login made otherwise (a password in the admin through
  `ModelBackend`) is left alone. While the keys or the refresh are unreachable, the request is
  anonymous but the login is kept;
* a local user the backend refuses (inactive) is anonymous, and the guards answer 403.

Bearer requests (`Authorization` header) are not logged in: their `request.user` stays an
`AuthKitUser`, with no database use.
"""

from __future__ import annotations

from typing import Any

from django.contrib import auth as django_auth
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest

from authkeep.integrations.session import AuthSession, SessionResult

__all__ = ["LINK_KEY", "sync_login"]

LINK_KEY = "_authkeep_link"
TRANSIENT = frozenset(("jwks_unavailable", "refresh_unavailable"))


def sync_login(request: HttpRequest, result: SessionResult) -> bool:
    """Log the request in or out of Django to match `result`; False if the user was refused."""
    store = getattr(request, "session", None)
    if store is None:
        raise ImproperlyConfigured(
            "AuthKitBackend needs 'django.contrib.sessions.middleware.SessionMiddleware' "
            "before 'authkeep.integrations.django.AuthKitMiddleware' in MIDDLEWARE"
        )
    session = result.session
    linked = store.get(LINK_KEY)
    if session is None:
        if result.reason in TRANSIENT:
            request.user = AnonymousUser()
        elif linked is not None:
            django_auth.logout(request)
            request.user = AnonymousUser()
        else:
            request.user = django_auth.get_user(request)
        return True
    link = _link(session)
    if linked == link:
        user = django_auth.get_user(request)
        if user.is_authenticated:
            request.user = user
            return True
    user = django_auth.authenticate(request, auth_session=session)
    if user is None:
        if linked is not None:
            django_auth.logout(request)
        request.user = AnonymousUser()
        return False
    django_auth.login(request, user)  # sets request.user only when it was set before
    store[LINK_KEY] = link
    request.user = user
    return True


def _link(session: AuthSession) -> dict[str, Any]:
    """What the Django login was made from; when it changes, the backend is asked again."""
    return {
        "user": session.user_id,
        "session": session.session_id,
        "organization": session.organization_id,
        "role": session.role,
        "roles": list(session.roles),
        "permissions": list(session.permissions),
    }
