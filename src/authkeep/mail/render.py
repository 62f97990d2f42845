"""E-mail templates: each renders a subject, an HTML body and a plain-text body, branded with the
environment's name, colour and logo as the hosted pages are (authkeep.branding).

The templates and the context keys each takes are listed in `TEMPLATES`; `authkeep.mail.outbox`
documents them for the flows. A missing or unknown key raises `ValueError` at enqueue time,
inside the caller's transaction, rather than sending a mail with a hole in it.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from authkeep.branding import branding
from authkeep.store.models import Environment


@dataclass(frozen=True)
class MailTemplate:
    subject: str  # a Jinja expression source, rendered with the same context
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()


TEMPLATES: dict[str, MailTemplate] = {
    "magic_auth": MailTemplate(
        "Your sign-in code for {{ brand.name }}", ("code", "expires_in_minutes")
    ),
    "email_verification": MailTemplate(
        "Verify your e-mail for {{ brand.name }}", ("code", "expires_in_minutes")
    ),
    "password_reset": MailTemplate(
        "Reset your {{ brand.name }} password", ("url", "expires_in_minutes")
    ),
    "invitation": MailTemplate(
        "{{ inviter_name ~ ' invited you' if inviter_name else 'You are invited' }} to join "
        "{{ organization_name or brand.name }}",
        ("url", "expires_in_days"),
        ("inviter_name", "organization_name"),
    ),
}


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    html: str
    text: str


@functools.cache
def _jinja() -> Any:
    from jinja2 import Environment as Jinja
    from jinja2 import FileSystemLoader, StrictUndefined, select_autoescape

    return Jinja(
        loader=FileSystemLoader(Path(__file__).with_name("templates")),
        autoescape=select_autoescape(["html"], default_for_string=False),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )


_LINE_BREAKS = re.compile(r"[\r\n\t]+")


def check_context(template: str, context: dict[str, Any]) -> dict[str, Any]:
    """The context with optional keys defaulted to None; ValueError on a wrong key set."""
    spec = TEMPLATES.get(template)
    if spec is None:
        raise ValueError(f"unknown e-mail template {template!r}; known: {sorted(TEMPLATES)}")
    missing = [key for key in spec.required if context.get(key) is None]
    unknown = sorted(set(context) - set(spec.required) - set(spec.optional))
    if missing or unknown:
        raise ValueError(f"e-mail template {template!r}: missing {missing}, unknown {unknown}")
    return {**dict.fromkeys(spec.optional), **context}


def render_email(
    environment: Environment, template: str, to: str, context: dict[str, Any]
) -> RenderedEmail:
    values = {**check_context(template, context), "brand": branding(environment), "email": to}
    jinja = _jinja()
    # A header cannot carry a line break (an organization name could try to add headers).
    subject = _LINE_BREAKS.sub(" ", jinja.from_string(TEMPLATES[template].subject).render(values))
    values["subject"] = subject.strip()
    return RenderedEmail(
        subject=values["subject"],
        html=jinja.get_template(f"{template}.html").render(values),
        text=jinja.get_template(f"{template}.txt").render(values),
    )
