"""Rendering hosted pages: one Jinja environment, per-environment branding, security headers."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from jinja2 import Environment as Jinja
from jinja2 import FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from authkeep.store.models import Environment

TEMPLATES = Jinja(
    loader=FileSystemLoader(Path(__file__).with_name("templates")),
    autoescape=select_autoescape(["html"]),
)
_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
DEFAULT_COLOR = "#4f46e5"
SECURITY_HEADERS = {
    # No scripts at all; styles are inline in the page; never framed (clickjacking).
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src https: data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
}


def hosted_cookie_name(environment_id: str) -> str:
    return f"authkeep-session-{environment_id}"


def branding(environment: Environment | None) -> dict[str, str | None]:
    settings = (environment.settings or {}) if environment else {}
    brand = settings.get("branding") or {}
    color = brand.get("color") if _COLOR.match(str(brand.get("color", ""))) else DEFAULT_COLOR
    logo = brand.get("logo_url")
    return {
        "name": brand.get("name")
        or ("authkeep" if environment is None else environment.name.title()),
        "color": color,
        "logo_url": logo if isinstance(logo, str) and logo.startswith("https://") else None,
    }


def render_page(
    request: Request,
    template: str,
    environment: Environment | None,
    context: dict[str, Any] | None = None,
    status: int = 200,
) -> HTMLResponse:
    html = TEMPLATES.get_template(template).render(
        brand=branding(environment), request=request, **(context or {})
    )
    return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)
