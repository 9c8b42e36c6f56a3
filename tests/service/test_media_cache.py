"""The viewer's cache: bounded by bytes, least recently used out first, and one load per key however many
threads ask for it at once (three planes of one series)."""

from __future__ import annotations

import threading
import time

import pytest

from labelport.errors import ValidationError
from labelport.service.media_cache import ByteLRU, MediaCache


def test_least_recently_used_values_go_first_once_the_bytes_add_up() -> None:
    cache: ByteLRU[str] = ByteLRU(10)
    cache.put("a", "A", 4)
    cache.put("b", "B", 4)
    assert cache.get("a") == "A"  # a is now the most recent
    cache.put("c", "C", 4)
    assert cache.held_keys() == ["a", "c"] and cache.size == 8
    cache.put("huge", "H", 11)  # larger than the whole cache: not kept
    assert cache.get("huge") is None and cache.held_keys() == ["a", "c"]
    cache.put("a", "A2", 2)
    assert cache.get("a") == "A2" and cache.size == 6
    cache.clear()
    assert len(cache) == 0 and cache.size == 0


def test_a_key_is_loaded_once_by_concurrent_callers() -> None:
    cache: ByteLRU[int] = ByteLRU(100)
    calls: list[int] = []

    def load() -> tuple[int, int]:
        calls.append(1)
        time.sleep(0.05)
        return 42, 1

    results: list[int] = []
    threads = [threading.Thread(target=lambda: results.append(cache.get_or_load("k", load))) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [42] * 5 and len(calls) == 1


def test_a_failed_load_is_not_kept_and_the_next_caller_tries_again() -> None:
    cache: ByteLRU[int] = ByteLRU(100)

    def broken() -> tuple[int, int]:
        raise ValueError("disk gone")

    with pytest.raises(ValueError, match="disk gone"):
        cache.get_or_load("k", broken)
    assert cache.get_or_load("k", lambda: (7, 1)) == 7


def test_the_cache_size_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LABELPORT_VIEWER_CACHE_MB", "8")
    cache = MediaCache.from_env()
    assert (cache.arrays.capacity, cache.pngs.capacity) == (8 * 2**20, 2 * 2**20)
    monkeypatch.setenv("LABELPORT_VIEWER_CACHE_MB", "lots")
    with pytest.raises(ValidationError, match="LABELPORT_VIEWER_CACHE_MB must be a whole number"):
        MediaCache.from_env()
