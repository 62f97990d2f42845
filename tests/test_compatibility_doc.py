"""docs/compatibility.md is generated from WorkOS's OpenAPI spec and must be fresh."""

from __future__ import annotations

import pytest

from scripts import compatibility, openapi_spec


def test_compatibility_page_is_fresh() -> None:
    if not openapi_spec.spec_available():
        pytest.skip(
            f"WorkOS OpenAPI spec not found at {openapi_spec.SPEC_PATH} (../shared/ absent)"
        )
    current = compatibility.OUTPUT.read_text()
    assert current == compatibility.render(), "run `python -m scripts.compatibility` and commit"
    assert "**30 of" in current or "operations implemented" in current
