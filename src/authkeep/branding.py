"""An environment's look (name, colour, logo), shared by the hosted pages and the e-mails.

Read from the environment's `settings["branding"]`; anything unusable falls back to the default,
so a bad value never breaks a page or a mail. Only https logos are shown: an e-mail or a page
must not load from plain http.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from authkeep.store.models import Environment

_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
DEFAULT_COLOR = "#4f46e5"
DEFAULT_NAME = "authkeep"


def branding(environment: Environment | None) -> dict[str, str | None]:
    """`{"name", "color", "logo_url"}` for templates; `logo_url` is None unless https."""
    settings = (environment.settings or {}) if environment else {}
    brand = settings.get("branding") or {}
    color = brand.get("color") if _COLOR.match(str(brand.get("color", ""))) else DEFAULT_COLOR
    logo = brand.get("logo_url")
    return {
        "name": brand.get("name") or (environment.name if environment else DEFAULT_NAME),
        "color": color,
        "logo_url": logo if isinstance(logo, str) and logo.startswith("https://") else None,
    }
