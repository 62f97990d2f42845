"""Rendering hosted pages: one Jinja environment, per-environment branding, security headers."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse

from authkeep.branding import branding
from authkeep.store.models import Environment


@functools.cache
def templates() -> Any:
    """The Jinja environment, made on the first page: API-only workers never load Jinja."""
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    return Environment(
        loader=FileSystemLoader(Path(__file__).with_name("templates")),
        autoescape=select_autoescape(["html"]),
    )


SECURITY_HEADERS = {
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
}


def content_security_policy(form_target: str | None) -> str:
    """No scripts at all, inline styles only, never framed. `form-action` also governs the
    redirect that follows a submitted form (CSP 3), so the app's redirect URI must be allowed."""
    targets = "'self'"
    if form_target:
        parts = urlsplit(form_target)
        if parts.scheme in ("http", "https") and parts.netloc:
            targets += f" {parts.scheme}://{parts.netloc}"
        elif parts.scheme:
            targets += f" {parts.scheme}:"  # a native app's private-use scheme
    return (
        "default-src 'none'; style-src 'unsafe-inline'; img-src https: data:; "
        f"form-action {targets}; frame-ancestors 'none'; base-uri 'none'"
    )


def hosted_cookie_name(environment_id: str) -> str:
    return f"authkeep-session-{environment_id}"


def render_page(
    request: Request,
    template: str,
    environment: Environment | None,
    context: dict[str, Any] | None = None,
    status: int = 200,
    form_target: str | None = None,
) -> HTMLResponse:
    html = (
        templates()
        .get_template(template)
        .render(brand=branding(environment), request=request, **(context or {}))
    )
    headers = {**SECURITY_HEADERS, "Content-Security-Policy": content_security_policy(form_target)}
    return HTMLResponse(html, status_code=status, headers=headers)
