"""Typed reading of a parsed TOML or YAML table, collecting every problem with its path."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from authkeep.errors import AuthkeepError
from authkeep.services.config_file.locate import Path, format_path

T = TypeVar("T")

_TYPE_NAMES = {str: "a string", bool: "true or false", int: "a whole number", dict: "a table"}


@dataclass(frozen=True)
class Problem:
    path: str
    message: str


class ConfigError(Exception):
    """A file that cannot be applied; each line names the file, line and field."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        super().__init__("\n".join(lines))


class Table:
    """One table of the file. Every `get` records the key as known; `finish` reports the rest."""

    def __init__(self, data: dict[str, Any], path: Path, problems: list[Problem]) -> None:
        self.data, self.path, self.problems = data, path, problems
        self.known: list[str] = []

    def problem(self, path: Path, message: str) -> None:
        self.problems.append(Problem(format_path(path), message))

    def has(self, key: str) -> bool:
        return key in self.data

    def raw(self, key: str) -> Any:
        self.known.append(key)
        return self.data.get(key)

    def get(self, key: str, kind: type[T], *, required: bool = False) -> T | None:
        self.known.append(key)
        value = self.data.get(key)
        if value is None:
            if required:
                self.problem((*self.path, key), "required")
            return None
        # bool is an int in Python; a file's `true` is not a number of seconds.
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            self.problem((*self.path, key), f"must be {_TYPE_NAMES[kind]}, not {_describe(value)}")
            return None
        return value

    def checked(
        self, key: str, check: Callable[[str], str], *, required: bool = False
    ) -> str | None:
        """A string passed through `check`, whose ValueError or AuthkeepError is the problem."""
        value = self.get(key, str, required=required)
        return None if value is None else self.check((*self.path, key), value, check)

    def check(self, path: Path, value: Any, check: Callable[[Any], Any]) -> Any:
        try:
            return check(value)
        except (ValueError, AuthkeepError) as error:
            message = error.message if isinstance(error, AuthkeepError) else str(error)
            self.problem(path, message.rstrip("."))
            return None

    def strings(
        self, key: str, check: Callable[[str], str] | None = None
    ) -> tuple[str, ...] | None:
        items = self.array(key)
        if items is None:
            return None
        result = []
        for index, item in enumerate(items):
            path = (*self.path, key, index)
            if not isinstance(item, str):
                self.problem(path, f"must be a string, not {_describe(item)}")
            elif check is None:
                result.append(item)
            elif (checked := self.check(path, item, check)) is not None:
                result.append(checked)
        return tuple(result)

    def array(self, key: str) -> list[Any] | None:
        value = self.raw(key)
        if value is not None and not isinstance(value, list):
            self.problem((*self.path, key), f"must be a list, not {_describe(value)}")
            return None
        return value

    def table(self, key: str) -> Table | None:
        value = self.get(key, dict)
        return None if value is None else Table(value, (*self.path, key), self.problems)

    def tables(self, key: str) -> list[Table]:
        items = self.array(key) or []
        result = []
        for index, item in enumerate(items):
            if isinstance(item, dict):
                result.append(Table(item, (*self.path, key, index), self.problems))
            else:
                self.problem((*self.path, key, index), f"must be a table, not {_describe(item)}")
        return result

    def string_map(self, key: str) -> dict[str, str]:
        table = self.table(key)
        if table is None:
            return {}
        result = {}
        for name in table.data:
            value = table.get(name, str)
            if value is not None:
                result[name] = value
        return result

    def finish(self) -> None:
        for key in self.data:
            if key not in self.known:
                expected = ", ".join(dict.fromkeys(self.known))
                self.problem((*self.path, key), f"unknown field (expected one of: {expected})")


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a table"
    return type(value).__name__
