"""The Django app of the integration, needed only with `AuthKitBackend` (the user-model mode):

    INSTALLED_APPS = [..., "django.contrib.auth", "authkeep.integrations.django"]

It holds one model, `AuthKitIdentity`, the link from a local user to its authkeep user ID, and
its migration. The database-free mode (`request.user` an `AuthKitUser`) does not install it.
"""

from __future__ import annotations

from django.apps import AppConfig

__all__ = ["AuthKeepConfig"]


class AuthKeepConfig(AppConfig):
    name = "authkeep.integrations.django"
    label = "authkeep"
    verbose_name = "authkeep"
    default_auto_field = "django.db.models.BigAutoField"
