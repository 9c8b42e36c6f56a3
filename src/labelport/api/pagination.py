"""Pagination on lists: ``limit`` and an opaque ``cursor``; the response carries ``next_cursor``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from labelport.api.deps import PageRequest
from labelport.api.schemas import Page

T = TypeVar("T")


def paginate(items: Sequence[T], page: PageRequest) -> Page[T]:
    chunk = list(items[page.offset : page.offset + page.limit])
    end = page.offset + len(chunk)
    return Page[T](items=chunk, next_cursor=str(end) if end < len(items) else None)
