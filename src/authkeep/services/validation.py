"""Checks shared by several resources: e-mail addresses, metadata, external IDs."""

from __future__ import annotations

import re

from authkeep.errors import BadRequest, ValidationFailed

_EMAIL = re.compile(
    r"^[^@\s\"(),:;<>\[\]\\]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$"
)
MAX_METADATA_KEYS = 50
MAX_METADATA_KEY_LENGTH = 40
MAX_METADATA_VALUE_LENGTH = 600
MAX_EXTERNAL_ID_LENGTH = 128


def check_email(email: str, field: str = "email") -> str:
    email = email.strip()
    local, _, _domain = email.rpartition("@")
    if len(email) > 320 or len(local) > 64 or not _EMAIL.match(email):
        raise ValidationFailed.field(
            field, "invalid_email", f"{email!r} is not a valid e-mail address."
        )
    return email


def normalize_email(email: str) -> str:
    return email.strip().lower()


def merge_metadata(
    current: dict[str, str], changes: dict[str, str | None] | None
) -> dict[str, str]:
    """`None` clears the map; a key set to `None` removes that key; other keys are set."""
    if changes is None:
        return {}
    merged = dict(current)
    for key, value in changes.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return check_metadata(merged)


def check_metadata(metadata: dict[str, str]) -> dict[str, str]:
    if len(metadata) > MAX_METADATA_KEYS:
        raise BadRequest("invalid_metadata", f"Metadata can hold at most {MAX_METADATA_KEYS} keys.")
    for key, value in metadata.items():
        if len(key) > MAX_METADATA_KEY_LENGTH or not key:
            raise BadRequest(
                "invalid_metadata",
                f"Metadata key {key[:50]!r} must be 1 to {MAX_METADATA_KEY_LENGTH} characters.",
            )
        if len(value) > MAX_METADATA_VALUE_LENGTH:
            raise BadRequest(
                "invalid_metadata",
                f"Metadata value of {key!r} is longer than {MAX_METADATA_VALUE_LENGTH} characters.",
            )
    return metadata


def check_external_id(external_id: str | None) -> str | None:
    if external_id is None:
        return None
    if not external_id or len(external_id) > MAX_EXTERNAL_ID_LENGTH or not external_id.isascii():
        raise ValidationFailed.field(
            "external_id",
            "invalid_external_id",
            f"external_id must be 1 to {MAX_EXTERNAL_ID_LENGTH} ASCII characters.",
        )
    return external_id
