"""Pagination on lists: ``limit`` and an opaque ``cursor``; the response carries ``next_cursor``.

Pages are cut in SQL: ``paginate`` asks the service for one row more than the page holds (``offset``,
``limit + 1``), so it knows whether a next page exists without counting or loading the list.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from labelport.api.deps import PageRequest
from labelport.api.schemas import Page

T = TypeVar("T")


def paginate(fetch: Callable[[int, int], Sequence[T]] | Sequence[T], page: PageRequest) -> Page[T]:
    """The page ``fetch(offset, limit)`` returns (up to ``limit`` items from ``offset``, cut in SQL). A list
    given instead is sliced (for lists that are small by nature; large ones must be cut in SQL)."""
    if not callable(fetch):
        whole = fetch
        fetch = lambda offset, limit: whole[offset : offset + limit]  # noqa: E731
    items = list(fetch(page.offset, page.limit + 1))
    more = len(items) > page.limit
    return Page[T](items=items[: page.limit], next_cursor=str(page.offset + page.limit) if more else None)
