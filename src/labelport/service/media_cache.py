"""A process-wide, byte-bounded LRU for what the viewer reads again and again: decoded volumes, label volumes,
series headers and rendered PNGs.

A server process keeps one (``MEDIA_CACHE``, sized by ``LABELPORT_VIEWER_CACHE_MB``, default 1024 MiB for
decoded arrays plus a quarter of that for PNGs). Loading is guarded per key, so three planes asked for at once
read a series once; the others wait for it.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from labelport.errors import ValidationError

V = TypeVar("V")

DEFAULT_CACHE_MB = 1024


class ByteLRU(Generic[V]):
    """Values kept by key, least recently used dropped first once their sizes add up to more than ``capacity``."""

    def __init__(self, capacity: int) -> None:
        if capacity < 0:
            raise ValidationError(f"a cache capacity is >= 0 bytes, found {capacity}", field="capacity")
        self.capacity = capacity
        self._items: OrderedDict[Hashable, tuple[V, int]] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()
        self._loading: dict[Hashable, threading.Lock] = {}

    @property
    def size(self) -> int:
        """Bytes held now."""
        return self._size

    def __len__(self) -> int:
        return len(self._items)

    def held_keys(self) -> list[Hashable]:
        """The keys held now, least recently used first."""
        with self._lock:
            return list(self._items)

    def get(self, key: Hashable) -> V | None:
        with self._lock:
            found = self._items.get(key)
            if found is None:
                return None
            self._items.move_to_end(key)
            return found[0]

    def put(self, key: Hashable, value: V, size: int) -> None:
        """Keep ``value``; one larger than the whole cache is not kept (the caller still has it)."""
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._size -= old[1]
            if size > self.capacity:
                return
            self._items[key] = (value, size)
            self._size += size
            while self._size > self.capacity and self._items:
                _, (_, dropped) = self._items.popitem(last=False)
                self._size -= dropped

    def get_or_load(self, key: Hashable, load: Callable[[], tuple[V, int]]) -> V:
        """The cached value, or ``load()``'s (value, size), loaded once however many threads ask at the same time."""
        found = self.get(key)
        if found is not None:
            return found
        with self._lock:
            gate = self._loading.setdefault(key, threading.Lock())
        with gate:
            found = self.get(key)
            if found is not None:
                return found
            try:
                value, size = load()
            finally:
                with self._lock:
                    self._loading.pop(key, None)
            self.put(key, value, size)
            return value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._size = 0


class MediaCache:
    """The viewer's caches: decoded arrays (volumes, label volumes, images) and encoded PNGs."""

    def __init__(self, array_bytes: int, png_bytes: int) -> None:
        self.arrays: ByteLRU[object] = ByteLRU(array_bytes)
        self.pngs: ByteLRU[bytes] = ByteLRU(png_bytes)

    @classmethod
    def from_env(cls) -> MediaCache:
        raw = os.environ.get("LABELPORT_VIEWER_CACHE_MB", str(DEFAULT_CACHE_MB))
        if not raw.isdigit():
            raise ValidationError(
                f"LABELPORT_VIEWER_CACHE_MB must be a whole number of MiB, found {raw!r}",
                field="LABELPORT_VIEWER_CACHE_MB",
                value=raw,
            )
        megabytes = int(raw)
        return cls(megabytes * 1024 * 1024, megabytes * 1024 * 1024 // 4)

    def clear(self) -> None:
        self.arrays.clear()
        self.pngs.clear()


MEDIA_CACHE = MediaCache.from_env()

__all__ = ["DEFAULT_CACHE_MB", "MEDIA_CACHE", "ByteLRU", "MediaCache"]
