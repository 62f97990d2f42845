"""A plan: the changes that make one environment match its file, each with its step."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from authkeep.crypto.keys import SecretBox
from authkeep.store.models import Environment


class PlanError(Exception):
    """The file asks for something apply will not do; nothing of the environment was changed."""


@dataclass
class Context:
    session: AsyncSession
    box: SecretBox
    environment: Environment | None = None  # set by the step that creates it
    secrets: list[str] = field(default_factory=list)  # shown once, after the plan


Step = Callable[[Context], Awaitable[None]]


@dataclass(frozen=True)
class Change:
    sign: str  # "+" create, "-" remove, "~" change; "" for a step that is never shown
    subject: str
    detail: str = ""
    step: Step | None = None

    def __str__(self) -> str:
        return f"{self.sign} {self.subject} {self.detail}".rstrip()


@dataclass(frozen=True)
class Paths:
    """Where an environment's values sit in its file, for messages."""

    environment: str  # "environments.dev", or "" in an emulator seed
    seed: str  # "environments.dev.seed", or ""
    where: Callable[[str], str]

    def at(self, base: str, rest: str) -> str:
        path = f"{base}.{rest}" if base and not rest.startswith("[") else base + rest
        return self.where(path)


@dataclass
class Plan:
    environment: str
    kind: str
    is_new: bool
    changes: list[Change] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, sign: str, subject: str, detail: str = "", step: Step | None = None) -> None:
        self.changes.append(Change(sign, subject, detail, step))

    @property
    def shown(self) -> list[Change]:
        return [change for change in self.changes if change.sign]

    def lines(self) -> list[str]:
        head = f"environment {self.environment} ({self.kind})"
        body = [f"  {change}" for change in self.shown] or ["  no changes"]
        notes = [f"  note: {note}" for note in self.notes]
        return [head, *body, *notes]

    async def run(self, context: Context) -> None:
        for change in self.changes:
            if change.step is not None:
                await change.step(context)
                await context.session.flush()


def show(value: object) -> str:
    if value is None or value == "":
        return "(none)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple | list):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return str(value)
