"""Every setting is documented in the README with its variable, and the variables parse."""

from __future__ import annotations

import pytest

from authkeep.config import (
    Settings,
    env_var_name,
    load_settings,
    production_problems,
    setting_fields,
)
from tests.support import ROOT


def test_every_setting_is_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text()
    missing = [
        env_var_name(f.name) for f in setting_fields() if f"`{env_var_name(f.name)}`" not in readme
    ]
    assert missing == [], f"document these in README.md's configuration reference: {missing}"
    for field in setting_fields():
        assert field.metadata.get("help"), f"{field.name} has no help line"


def test_environment_variables_override_defaults_and_flags_override_both() -> None:
    settings = load_settings(
        {"AUTHKEEP_PORT": "9000", "AUTHKEEP_WORKERS": "3", "AUTHKEEP_JWKS_CACHE_SECONDS": "0.5"}
    )
    assert settings.port == 9000 and settings.workers == 3 and settings.jwks_cache_seconds == 0.5
    assert load_settings({"AUTHKEEP_PORT": "9000"}, port=9100).port == 9100
    with pytest.raises(ValueError, match="AUTHKEEP_PORT must be a whole number"):
        load_settings({"AUTHKEEP_PORT": "eighty"})
    with pytest.raises(ValueError, match="AUTHKEEP_JWKS_CACHE_SECONDS must be a number"):
        load_settings({"AUTHKEEP_JWKS_CACHE_SECONDS": "soon"})


def test_production_problems_name_what_to_set() -> None:
    problems = production_problems(Settings())
    assert any("AUTHKEEP_DATABASE_URL" in p for p in problems)
    assert any("AUTHKEEP_SECRET_KEY" in p for p in problems)
    assert production_problems(Settings(database_url="postgresql://x/y", secret_key="s" * 32)) == []
    assert Settings(host="0.0.0.0", port=81).base_url == "http://127.0.0.1:81"
    assert Settings(public_url="https://auth.example.com/").base_url == "https://auth.example.com"
