"""Line numbers for values of a TOML document.

`tomllib` reports positions for syntax errors only, so once a file has parsed, this scanner walks
its text again and records the line on which each key, table and array element starts. It knows
only the structure of TOML (headers, keys, strings, arrays, inline tables): the document is valid
by the time it runs, so values need no decoding.
"""

from __future__ import annotations

import json
import re
from bisect import bisect_right

Path = tuple[str | int, ...]

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def format_path(path: Path) -> str:
    """("environments", "dev", "redirect_uris", 2) -> "environments.dev.redirect_uris[2]"."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            key = part if _BARE_KEY.fullmatch(part) else json.dumps(part)
            text += f".{key}" if text else key
    return text


def value_lines(source: str) -> dict[str, int]:
    scanner = _Scanner(source)
    scanner.document()
    return {format_path(path): line for path, line in scanner.lines.items()}


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", text)]
        self.lines: dict[Path, int] = {}
        self.arrays: dict[Path, int] = {}  # array-of-tables path -> its current element

    def line(self) -> int:
        return bisect_right(self.line_starts, self.pos)

    def peek(self, count: int = 1) -> str:
        return self.text[self.pos : self.pos + count]

    def note(self, path: Path) -> None:
        self.lines.setdefault(path, self.line())

    def skip(self, newlines: bool) -> None:
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char in " \t\r" or (newlines and char == "\n"):
                self.pos += 1
            elif char == "#":
                end = self.text.find("\n", self.pos)
                self.pos = len(self.text) if end < 0 else end
            else:
                return

    def document(self) -> None:
        table: Path = ()
        while True:
            self.skip(newlines=True)
            if self.pos >= len(self.text):
                return
            if self.peek(2) == "[[":
                self.pos += 2
                keys = self.key()
                self.pos = self.text.index("]]", self.pos) + 2
                parent = (*self.resolve(keys[:-1]), keys[-1])
                index = self.arrays.get(parent, -1) + 1
                self.arrays[parent] = index
                self.note(parent)
                table = (*parent, index)
                self.note(table)
            elif self.peek() == "[":
                self.pos += 1
                keys = self.key()
                self.pos = self.text.index("]", self.pos) + 1
                table = self.resolve(keys)
                self.note(table)
            else:
                self.pair(table)

    def resolve(self, keys: Path) -> Path:
        """A header's keys with the current element of each array of tables they pass through."""
        path: Path = ()
        for key in keys:
            path = (*path, key)
            self.note(path)  # a table a header creates on the way is written here
            if path in self.arrays:
                path = (*path, self.arrays[path])
        return path

    def key(self) -> Path:
        parts: list[str | int] = []
        while True:
            self.skip(newlines=False)
            char = self.peek()
            if char in "\"'":
                start = self.pos
                self.string()
                parts.append(
                    json.loads(self.text[start : self.pos])
                    if char == '"'
                    else self.text[start + 1 : self.pos - 1]
                )
            else:
                match = _BARE_KEY.match(self.text, self.pos)
                if not match:
                    return tuple(parts)
                parts.append(match.group())
                self.pos = match.end()
            self.skip(newlines=False)
            if self.peek() != ".":
                return tuple(parts)
            self.pos += 1

    def pair(self, table: Path) -> None:
        line = self.line()
        keys = self.key()
        for end in range(1, len(keys) + 1):
            self.lines.setdefault((*table, *keys[:end]), line)
        path = (*table, *keys)
        self.skip(newlines=False)
        self.pos += 1  # "="
        self.skip(newlines=False)
        self.value(path)

    def value(self, path: Path) -> None:
        self.note(path)
        char = self.peek()
        if char == "[":
            self.pos += 1
            index = 0
            while True:
                self.skip(newlines=True)
                if self.peek() == "]":
                    self.pos += 1
                    return
                self.value((*path, index))
                index += 1
                self.skip(newlines=True)
                if self.peek() == ",":
                    self.pos += 1
        elif char == "{":
            self.pos += 1
            while True:
                self.skip(newlines=False)
                if self.peek() == "}":
                    self.pos += 1
                    return
                self.pair(path)
                self.skip(newlines=False)
                if self.peek() == ",":
                    self.pos += 1
        elif char in "\"'":
            self.string()
        else:
            match = re.compile(r"[^,\]}\n#]*").match(self.text, self.pos)
            assert match is not None
            self.pos = match.end()

    def string(self) -> None:
        quote = self.peek()
        delimiter = quote * 3 if self.peek(3) == quote * 3 else quote
        self.pos += len(delimiter)
        while self.pos < len(self.text):
            if quote == '"' and self.text[self.pos] == "\\":
                self.pos += 2
            elif self.text.startswith(delimiter, self.pos):
                self.pos += len(delimiter)
                # A multi-line string may end with up to two extra quotes before the delimiter.
                while len(delimiter) == 3 and self.peek() == quote:
                    self.pos += 1
                return
            else:
                self.pos += 1
