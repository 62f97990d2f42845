"""`AuthKitIdentity`: which local user (a row of `AUTH_USER_MODEL`) an authkeep user is.

A link of its own rather than `username = authkeep user ID`: the local user keeps a readable
username (the e-mail when it is free), may be any custom user model, and an existing account
(made with `createsuperuser`, say) is joined to its authkeep user by adding a row here, in the
admin or a shell. The cost is one more table and join. A local user is never matched by e-mail:
whoever controls an e-mail at authkeep would otherwise inherit an older account of that address.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

__all__ = ["AuthKitIdentity"]


class AuthKitIdentity(models.Model):
    """One authkeep user, linked to one local user."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="authkit_identity"
    )
    authkeep_user_id = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "authkeep identity"
        verbose_name_plural = "authkeep identities"

    def __str__(self) -> str:
        return f"{self.authkeep_user_id} -> {self.user_id}"
