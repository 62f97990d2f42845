"""Cursor pagination over ULID-keyed rows (CONTRACT.md §1.5).

IDs sort in creation order, so the ID itself is the cursor. `desc` (the default, newest first):
`after` moves to older rows. `asc`: `after` moves to newer rows. `normal` behaves like `desc`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

T = TypeVar("T")


@dataclass(frozen=True)
class PageRequest:
    limit: int = 10
    before: str | None = None
    after: str | None = None
    order: str = "desc"


@dataclass(frozen=True)
class Page(Generic[T]):
    data: list[T]
    before: str | None
    after: str | None


async def paginate(
    session: AsyncSession, query: Select[Any], id_column: Any, page: PageRequest
) -> Page[Any]:
    descending = page.order != "asc"
    # Walking backwards (a `before` cursor) reads the rows next to the cursor in reverse, then
    # flips them back into list order.
    backwards = page.before is not None and page.after is None
    cursor = page.before if backwards else page.after
    newer_first = descending != backwards
    if cursor is not None:
        query = query.where(id_column < cursor if newer_first else id_column > cursor)
    query = query.order_by(id_column.desc() if newer_first else id_column.asc())
    rows = list((await session.scalars(query.limit(page.limit + 1))).unique())
    has_more = len(rows) > page.limit
    rows = rows[: page.limit]
    if backwards:
        rows.reverse()
    if not rows:
        return Page([], None, None)
    first_id, last_id = rows[0].id, rows[-1].id
    if backwards:
        before = first_id if has_more else None
        after = last_id
    else:
        before = first_id if cursor is not None else None
        after = last_id if has_more else None
    return Page(rows, before, after)
