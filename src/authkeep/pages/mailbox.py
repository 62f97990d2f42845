"""The dev mailbox: what `authkeep dev` would have e-mailed, readable in the browser and as JSON.

* `GET /_authkeep/mailbox`: the list, newest first (`?to=` filters by recipient).
* `GET /_authkeep/mailbox/{id}`: one mail: its text with clickable links, and its HTML in a
  sandboxed frame (no scripts, no same-origin access) served by
* `GET /_authkeep/mailbox/{id}/html`.
* `GET /_authkeep/mailbox.json`: the list for tests and tools (`?to=`, `?environment_id=`,
  `?limit=`), each mail with its `links` and `code` picked out.

No API key: the mailbox belongs to the developer's machine. Only a deployment with
AUTHKEEP_DEV_MAILBOX (set by `authkeep dev`, refused by `authkeep serve`) answers; any other
answers 404 as for an unknown path.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from authkeep.api.state import app_state
from authkeep.api.wire import json_response, timestamp
from authkeep.errors import RouteNotFound
from authkeep.mail import mailbox
from authkeep.pages.render import SECURITY_HEADERS, branding, templates

# The page frames the mail's own HTML from the same origin; nothing runs anywhere.
PAGE_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src https: data:; frame-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
MAIL_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src https: data:; "
    "frame-ancestors 'self'; base-uri 'none'; form-action 'none'; sandbox allow-popups "
    "allow-popups-to-escape-sandbox"
)


def _require_mailbox(request: Request) -> None:
    if not app_state(request).settings.dev_mailbox:
        raise RouteNotFound(f"No endpoint at {request.url.path}.")


def entry_json(entry: mailbox.MailboxEntry) -> dict[str, Any]:
    mail = entry.mail
    return {
        "object": "email",
        "id": mail.id,
        "environment_id": mail.environment_id,
        "environment_name": entry.environment_name,
        "to": mail.to,
        "subject": mail.subject,
        "template": mail.template,
        "status": mail.status,
        "text": mail.text,
        "html": mail.html,
        "links": entry.links,
        "code": entry.code,
        "created_at": timestamp(mail.created_at),
        "sent_at": timestamp(mail.sent_at),
    }


def _page(template: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
    html = templates().get_template(template).render(brand=branding(None), **context)
    headers = {**SECURITY_HEADERS, "Content-Security-Policy": PAGE_POLICY}
    return HTMLResponse(html, status_code=status, headers=headers)


async def mailbox_page(request: Request) -> Response:
    _require_mailbox(request)
    to = request.query_params.get("to") or None
    async with app_state(request).read_sessions() as session:
        entries = await mailbox.list_mails(session, to=to)
    return _page("mailbox.html", {"entries": entries, "to": to})


async def mailbox_json(request: Request) -> Response:
    _require_mailbox(request)
    params = request.query_params
    limit = params.get("limit", "")
    async with app_state(request).read_sessions() as session:
        entries = await mailbox.list_mails(
            session,
            to=params.get("to") or None,
            environment_id=params.get("environment_id") or None,
            limit=int(limit) if limit.isdigit() else mailbox.MAX_LISTED,
        )
    return json_response({"object": "list", "data": [entry_json(e) for e in entries]})


async def _entry(request: Request) -> mailbox.MailboxEntry:
    _require_mailbox(request)
    async with app_state(request).read_sessions() as session:
        entry = await mailbox.get_mail(session, request.path_params["mail_id"])
    if entry is None:
        raise RouteNotFound(f"No e-mail {request.path_params['mail_id']} in the mailbox.")
    return entry


async def mail_page(request: Request) -> Response:
    return _page("mailbox_mail.html", {"entry": await _entry(request)})


async def mail_html(request: Request) -> Response:
    entry = await _entry(request)
    headers = {
        **SECURITY_HEADERS,
        "X-Frame-Options": "SAMEORIGIN",
        "Content-Security-Policy": MAIL_POLICY,
    }
    return HTMLResponse(entry.mail.html, headers=headers)


routes = [
    Route("/_authkeep/mailbox", mailbox_page, methods=["GET"]),
    Route("/_authkeep/mailbox.json", mailbox_json, methods=["GET"]),
    Route("/_authkeep/mailbox/{mail_id}", mail_page, methods=["GET"]),
    Route("/_authkeep/mailbox/{mail_id}/html", mail_html, methods=["GET"]),
]
