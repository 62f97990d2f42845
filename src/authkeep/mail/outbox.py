"""The outbox: how a flow sends an e-mail.

    from authkeep.mail.outbox import enqueue

    await enqueue(session, environment, to=user.email, template="magic_auth",
                  context={"code": code, "expires_in_minutes": 10})
    # ... the flow's other writes ...
    await session.commit()  # the mail exists exactly when this commits

`enqueue` renders the template and adds an `OutboxEmail` row to the caller's session. It neither
flushes nor commits: a flow that rolls back sends nothing, one that commits is sure its mail will
go out (authkeep.mail.sender). After the commit, senders of this process wake at once.

Templates and their context keys (every key required unless marked optional; the recipient's
address, `email`, and the environment's `brand` are added by `enqueue`):

* `magic_auth`: `code` (the six-digit code, str), `expires_in_minutes` (int).
* `email_verification`: `code` (six digits, str), `expires_in_minutes` (int).
* `password_reset`: `url` (the `password_reset_url`, with its token), `expires_in_minutes` (int).
* `invitation`: `url` (the `accept_invitation_url`), `expires_in_days` (int), `inviter_name`
  (optional, str: who invited), `organization_name` (optional, str; the environment's name
  otherwise).

A missing or unknown key, or an unknown template, raises `ValueError`.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession

from authkeep.crypto.secrets import new_id
from authkeep.mail.render import render_email
from authkeep.store.models import Environment, OutboxEmail, utcnow

__all__ = ["enqueue", "subscribe", "unsubscribe"]

# Senders running in this process, woken when a mail they could send commits: (loop, event).
# Kept here, not passed in, because a flow should only need its session to send a mail.
_listeners: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()
_listeners_lock = threading.Lock()
_HOOKED = "authkeep.mail.wake_on_commit"


def subscribe(wake: asyncio.Event) -> None:
    """Set `wake` (on its loop) whenever a session of this process commits a new mail."""
    with _listeners_lock:
        _listeners.add((asyncio.get_running_loop(), wake))


def unsubscribe(wake: asyncio.Event) -> None:
    with _listeners_lock:
        for item in [item for item in _listeners if item[1] is wake]:
            _listeners.discard(item)


def _wake_senders(_session: Any) -> None:
    with _listeners_lock:
        listeners = list(_listeners)
    for loop, wake in listeners:
        if not loop.is_closed():
            loop.call_soon_threadsafe(wake.set)


def _validate_address(to: str) -> str:
    address = to.strip()
    if not address or "@" not in address or any(c in address for c in "\r\n<>,;"):
        raise ValueError(f"not a single e-mail address: {to!r}")
    return address


async def enqueue(
    session: AsyncSession,
    environment: Environment,
    *,
    to: str,
    template: str,
    context: dict[str, Any],
) -> OutboxEmail:
    """Render `template` for `to` with `context` and add the mail to the caller's transaction."""
    address = _validate_address(to)
    rendered = render_email(environment, template, address, context)
    now = utcnow()
    mail = OutboxEmail(
        id=new_id("email"),
        environment_id=environment.id,
        to=address,
        subject=rendered.subject,
        html=rendered.html,
        text=rendered.text,
        template=template,
        status="pending",
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(mail)
    sync_session = session.sync_session
    if not sync_session.info.get(_HOOKED):
        sync_session.info[_HOOKED] = True
        event.listen(sync_session, "after_commit", _wake_senders)
    return mail
