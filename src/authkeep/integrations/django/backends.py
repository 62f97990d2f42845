"""`AuthKitBackend`: a verified authkeep session to a row of the project's user model.

    AUTHENTICATION_BACKENDS = [
        "authkeep.integrations.django.backends.AuthKitBackend",
        "django.contrib.auth.backends.ModelBackend",  # if some still sign in with a password
    ]

`authenticate(request, auth_session=session)` finds the local user linked to the session's
authkeep user (`AuthKitIdentity`), creates it on the first sign-in (e-mail and names copied, no
usable password, the e-mail as username when free, else the authkeep user ID) and copies a
changed e-mail or name onto it. `AUTHKEEP["update_user"]` (a callable or its dotted path) is
then called as `update_user(user, session, created)`, e.g. to set `is_staff` or groups from
`session.role` and `session.permissions`; it saves what it changes. Inactive users are refused.
It inherits `ModelBackend`'s permission checks (`user.has_perm("app.codename")`) and `get_user`.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import FieldDoesNotExist
from django.db import IntegrityError, transaction
from django.http import HttpRequest

from authkeep.integrations.django.conf import integration_settings
from authkeep.integrations.django.models import AuthKitIdentity
from authkeep.integrations.session import AuthSession

__all__ = ["AuthKitBackend"]

PROFILE_FIELDS = ("email", "first_name", "last_name")


class AuthKitBackend(ModelBackend):
    """Authenticates an `AuthSession` (never a password); see the module's documentation."""

    def authenticate(  # type: ignore[override]
        self, request: HttpRequest | None, auth_session: AuthSession | None = None
    ) -> Any:
        if not isinstance(auth_session, AuthSession):
            return None
        user, created = self.local_user(auth_session)
        hook = integration_settings().update_user
        if hook is not None:
            hook(user, auth_session, created)
        return user if self.user_can_authenticate(user) else None

    def local_user(self, session: AuthSession) -> tuple[Any, bool]:
        """The user linked to the session's authkeep user, up to date; and whether it is new."""
        identity = (
            AuthKitIdentity.objects.select_related("user")
            .filter(authkeep_user_id=session.user_id)
            .first()
        )
        if identity is not None:
            self.update_profile(identity.user, session)
            return identity.user, False
        try:
            with transaction.atomic():
                return self.create_user(session), True
        except IntegrityError:  # a concurrent first request linked it first
            identity = AuthKitIdentity.objects.select_related("user").get(
                authkeep_user_id=session.user_id
            )
            return identity.user, False

    def create_user(self, session: AuthSession) -> Any:
        model = get_user_model()
        values = profile(model, session)
        username_field = model.USERNAME_FIELD
        username = values.get("email") or session.user_id
        taken = model._default_manager.filter(**{username_field: username}).exists()
        values[username_field] = session.user_id if taken else username
        user = model(**values)
        user.set_unusable_password()
        user.save()
        AuthKitIdentity.objects.create(user=user, authkeep_user_id=session.user_id)
        return user

    def update_profile(self, user: Any, session: AuthSession) -> None:
        """Copy a changed e-mail or name from authkeep onto the local user."""
        values = profile(type(user), session)
        changed = [name for name, value in values.items() if getattr(user, name) != value]
        for name in changed:
            setattr(user, name, values[name])
        if changed:
            user.save(update_fields=changed)


def profile(model: Any, session: AuthSession) -> dict[str, str]:
    """The session user's e-mail and names, for the fields `model` has (cut to their length)."""
    values: dict[str, str] = {}
    for name in PROFILE_FIELDS:
        try:
            field = model._meta.get_field(name)
        except FieldDoesNotExist:
            continue
        value = session.user.get(name)
        text = value if isinstance(value, str) else ""
        values[name] = text[: field.max_length] if field.max_length else text
    return values
