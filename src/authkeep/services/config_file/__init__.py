"""Config as code: `authkeep.toml` (and WorkOS emulator seed files) read, planned and applied.

`parse` and `emulator` read files into `model` values; `apply` plans the changes that make an
environment match (settings, URIs, roles, seed data) and runs them; `render` writes environments
back as a file, which is what `authkeep export` prints.
"""

from __future__ import annotations

from pathlib import Path

from authkeep.services.config_file.model import Config

EMULATOR_SUFFIXES = (".yaml", ".yml", ".json")


def is_emulator_seed(path: str | Path) -> bool:
    return Path(path).suffix.lower() in EMULATOR_SUFFIXES


def load_file(path: str | Path, emulator_environment: str) -> Config:
    """An `authkeep.toml`, or an emulator seed applied to the environment named here."""
    if is_emulator_seed(path):
        from authkeep.services.config_file.emulator import load_emulator_seed

        return load_emulator_seed(path, emulator_environment, display=str(path))
    from authkeep.services.config_file.parse import load_toml

    return load_toml(path, display=str(path))
