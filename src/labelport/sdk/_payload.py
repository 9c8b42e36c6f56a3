"""SDK inputs as JSON: the upload of a server import and the kept input of an embedded one are the same
bytes, so both backends read annotations alike (locations "line 1, [index]" for a list)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any

import orjson


def json_ready(value: Any) -> Any:
    """SDK inputs as JSON: dataclass values (MetadataField, Attachment) as dicts, paths as strings."""
    if is_dataclass(value) and not isinstance(value, type):
        return {k: json_ready(v) for k, v in asdict(value).items()}
    if isinstance(value, Mapping):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


def annotations_json(items: Iterable[Any]) -> bytes:
    """Annotations as one JSON array. A value JSON cannot hold (bytes, a set, an object) is written as its
    repr, so the annotation holding it fails alone, naming the value, and the others import."""
    return orjson.dumps([json_ready(i) for i in items], default=repr, option=orjson.OPT_SERIALIZE_NUMPY)
