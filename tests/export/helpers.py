"""Shared helpers for export tests: comparing export blocks with the Labelbox fixtures."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import httpx

from tests.fixtures import LABELBOX

DERIVED = LABELBOX / "derived"
IDS = ("feature_id", "feature_schema_id")
# Keys Labelbox exports have carried since 2024 that its 2023 samples (the DICOM guide, the video label) lack.
NEWER_KEYS = ("value", "feature_schema_id")
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$|^c[0-9a-z]{24}$")


def load(name: str) -> Any:
    return json.loads((DERIVED / name).read_text())


def without(value: Any, keys: tuple[str, ...], *, rename: bool = True) -> Any:
    """``value`` with ``keys`` dropped at every depth and (``rename``) generated id keys renamed ``<cuid>``."""
    if isinstance(value, dict):
        return {
            ("<cuid>" if rename and _UUID.match(k) else k): without(v, keys, rename=rename)
            for k, v in value.items()
            if k not in keys
        }
    if isinstance(value, list):
        return [without(v, keys, rename=rename) for v in value]
    return value


def ids_renamed(value: Any, ids: dict[str, str]) -> Any:
    """Generated ids (as keys or values) replaced by the sample's ids, in order of first appearance."""
    if isinstance(value, dict):
        return {ids.get(k, k): ids_renamed(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [ids_renamed(v, ids) for v in value]
    if isinstance(value, str):
        for ours, theirs in ids.items():
            value = value.replace(ours, theirs)
    return value


def fetch(url: str) -> bytes:
    """What an exported URL links: a ``file://`` file (embedded) or, from a server, a signed URL fetched
    without any header (as a viewer or a training job would)."""
    parsed = urlparse(url)
    if parsed.scheme == "file":
        return Path(unquote(parsed.path)).read_bytes()
    assert parsed.scheme in ("http", "https") and "signature=" in parsed.query, url
    response = httpx.get(url, timeout=30)
    assert response.status_code == 200, response.text
    return response.content


def read_ndjson(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
