"""Hypothesis strategies for fuzzing readers: random bytes, random JSON, and near-valid inputs (real fixtures
with a few mutations: values replaced, keys dropped, types swapped, deep nesting, NUL characters, long
strings, a byte order mark, truncation).

A format adds its near-valid inputs by naming seed values (``SEEDS``) or a whole strategy (``NEAR_VALID``);
every registered reader is fuzzed with random bytes and JSON whether it does or not.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
from hypothesis import assume
from hypothesis import strategies as st

from tests.fixtures import ENCORD, LABELBOX, REDBRICK

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=6),
    max_leaves=30,
)


def _load_json_values(paths: list[Path]) -> list[Any]:
    """Every JSON object in ``paths`` (NDJSON lines, arrays' elements, or whole objects)."""
    values: list[Any] = []
    for path in paths:
        text = path.read_bytes()
        try:
            whole = orjson.loads(text)
        except orjson.JSONDecodeError:
            values += [orjson.loads(line) for line in text.splitlines() if line.strip()]
            continue
        if isinstance(whole, list):
            values += whole
        elif isinstance(whole, dict) and isinstance(whole.get("input"), list):
            values += whole["input"]  # derived fixtures: {"input": [...], "expected": ...}
        else:
            values.append(whole)
    return [v for v in values if isinstance(v, dict)]


# Seed values per registered reader: real inputs of that format, mutated by ``near_valid``.
SEEDS: dict[str, Callable[[], list[Any]]] = {
    "labelbox_ndjson": lambda: _load_json_values(
        sorted((LABELBOX / "ndjson").glob("*.json"))
        + [p for p in sorted((LABELBOX / "derived").glob("*.json")) if "ndjson" in p.name]
    ),
    "labelbox_export_v2": lambda: _load_json_values([LABELBOX / "export_v2_rows.ndjson"]),
    "coco": lambda: _load_json_values(sorted((ENCORD / "coco_exporter").glob("coco_expected*.json"))),
    "redbrick_tasks": lambda: _load_json_values(
        [REDBRICK / "upstream" / "export_tasks_example.json", REDBRICK / "json" / "tasks_json_from_sdk_formatter.json"]
    ),
}


def _one_of(seeds: list[Any]) -> st.SearchStrategy[Any]:
    """``sampled_from`` without the seeds in its repr (Hypothesis prints a failing strategy whole)."""
    return st.integers(0, len(seeds) - 1).map(seeds.__getitem__)


def _slots(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a JSON value a mutation may touch, as paths of keys and indexes."""
    out = [path]
    if isinstance(value, dict):
        for key, item in value.items():
            out += _slots(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            out += _slots(item, (*path, index))
    return out


def _get(value: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        value = value[step]
    return value


def _set(root: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    _get(root, path[:-1])[path[-1]] = new
    return root


def _nest(value: Any, depth: int) -> Any:
    for _ in range(depth):
        value = {"k": [value]}
    return value


MUTATIONS = ("replace", "drop", "swap", "nest", "nul", "long", "duplicate")


@st.composite
def mutated(draw: st.DrawFn, seeds: list[Any]) -> Any:
    """A seed with one to four mutations."""
    value = copy.deepcopy(draw(_one_of(seeds)))
    for _ in range(draw(st.integers(1, 4))):
        path = draw(st.sampled_from(_slots(value)))
        target = _get(value, path)
        kind = draw(st.sampled_from(MUTATIONS))
        if kind == "replace":
            value = _set(value, path, draw(json_values))
        elif kind == "drop" and path:
            parent = _get(value, path[:-1])
            del parent[path[-1]]
        elif kind == "swap":
            swaps = {str: 1, int: "1", float: [1.5], list: {"0": target}, dict: [target], bool: "true"}
            value = _set(value, path, swaps.get(type(target), target))
        elif kind == "nest":
            value = _set(value, path, _nest(target, draw(st.integers(1, 80))))
        elif kind == "nul" and isinstance(target, str):
            cut = draw(st.integers(0, len(target)))
            value = _set(value, path, target[:cut] + "\x00" + target[cut:])
        elif kind == "long":
            value = _set(value, path, draw(st.sampled_from(["/", "~nosuchuser/", "x", "\U0001f600"])) * 5000)
        elif kind == "duplicate" and isinstance(target, list) and target:
            value = _set(value, path, target * draw(st.integers(2, 20)))
    return value


def _dumps(value: Any, option: int = 0) -> bytes:
    try:
        return orjson.dumps(value, option=option)
    except (orjson.JSONEncodeError, TypeError):
        assume(False)  # deeper than a JSON library writes: tested on its own
        raise


@st.composite
def documents(draw: st.DrawFn, values: st.SearchStrategy[Any]) -> bytes:
    """An input file of ``values``: NDJSON or a JSON array, maybe with a byte order mark, maybe damaged."""
    items = draw(st.lists(values, min_size=1, max_size=5))
    if draw(st.booleans()):
        data = b"\n".join(_dumps(v) for v in items)
    else:
        data = _dumps(items) if draw(st.booleans()) else _dumps(items, orjson.OPT_INDENT_2)
    if draw(st.integers(0, 9)) == 0:
        data = b"\xef\xbb\xbf" + data
    damage = draw(st.integers(0, 9))
    if damage == 0 and data:
        data = data[: draw(st.integers(0, len(data) - 1))]
    elif damage == 1 and data:
        at = draw(st.integers(0, len(data) - 1))
        data = data[:at] + bytes([draw(st.integers(0, 255))]) + data[at + 1 :]
    return data


def near_valid(name: str) -> st.SearchStrategy[bytes] | None:
    """Near-valid inputs of the registered reader ``name``: its own strategy, or its seeds mutated."""
    if name in NEAR_VALID:
        return NEAR_VALID[name]
    if name in SEEDS:
        seeds = SEEDS[name]()
        return documents(_one_of(seeds) | mutated(seeds))
    return None


@st.composite
def damaged(draw: st.DrawFn, seeds: list[bytes], head: int) -> bytes:
    """A binary seed with bytes changed in its first ``head`` bytes (where headers and lengths are), bytes
    inserted or removed there, or its end cut off."""
    data = bytearray(draw(_one_of(seeds)))
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, min(head, len(data)) - 1))
        kind = draw(st.integers(0, 5))
        if kind <= 3:
            data[at] = draw(st.integers(0, 255))
        elif kind == 4:
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        else:
            del data[at : at + draw(st.integers(1, 8))]
    if draw(st.integers(0, 9)) == 0:
        data = data[: draw(st.integers(0, len(data)))]
    return bytes(data)


def _files(paths: list[Path], unzip: bool = False) -> list[bytes]:
    import gzip

    return [gzip.decompress(p.read_bytes()) if unzip else p.read_bytes() for p in paths]


_SEGS = sorted((REDBRICK / "sdk_outputs" / "dicom_seg").glob("*.dcm"))
_NIFTIS = sorted((REDBRICK / "sdk_outputs" / "process_download").rglob("*.nii.gz"))[:4]

# Whole strategies for readers whose inputs are not JSON documents (binary files, folders): name -> strategy.
NEAR_VALID: dict[str, st.SearchStrategy[bytes]] = {
    "dicom_seg": st.deferred(lambda: damaged(_files(_SEGS), 4096)),
    "nifti": st.deferred(lambda: damaged(_files(_NIFTIS, unzip=True), 352)),
}


def every_input(name: str) -> st.SearchStrategy[bytes]:
    """What a reader is fuzzed with: random bytes, random JSON documents, and its near-valid inputs."""
    strategies = [st.binary(max_size=2048), documents(json_values)]
    specific = near_valid(name)
    if specific is not None:
        strategies += [specific, specific]  # half the inputs are near-valid, where the bugs hide
    return st.one_of(strategies)
