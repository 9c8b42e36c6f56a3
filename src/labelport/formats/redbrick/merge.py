"""Merging a series' segmentation files the way redbrick-sdk's ``process_upload`` does (notes/redbrick.md §2).

The first file is the base; each later file is merged voxel by voxel. Where a later file's voxel lands on a
voxel of another instance, the two become an overlap group: a new value (the smallest of 1..65535 used
nowhere) owned by both instances, which RedBrick exports as ``overlappingGroups``. In binary mode every
non-zero voxel of a file is the instance whose ``segmentMap`` entry names that file as its ``mask``.
``label_validate`` requires the instance values of the files to equal the segmentMap's; ``prune`` zeroes
file values the map lacks and drops map entries without voxels.

This is the same algorithm, not a port of its memory use: files are read one at a time and processed in
slabs of slices, the result held once (uint8 while every value fits). For each later file, the distinct
(base value, file value) pairs are collected first, decided in RedBrick's order (sorted pairs, so group
values come out the same), then applied in a second pass through a lookup table (uint8 data) or a sorted
search. Inputs are arrays already on one grid; reading files, checking them and putting them on the series
grid is ``volumes.py``'s job.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from labelport.errors import LabelportError

MAX_VALUE = 65535
# Voxels per slab: a few MB of temporaries whatever the volume size.
SLAB_VOXELS = 1 << 20

Array = npt.NDArray[Any]


class MergeError(LabelportError):
    """What ``process_upload`` reports as an error for the same input (its message, where it has one)."""


class LabelFile(Protocol):
    """A segmentation file to merge: its name for messages and its 3-D array on the merge grid (``load`` gives
    a fresh array on each call, which the merge may change)."""

    @property
    def name(self) -> str: ...

    def load(self) -> Array: ...


@dataclass(frozen=True, eq=False)
class ArrayFile:
    """An array in memory as a ``LabelFile``."""

    name: str
    array: Array

    def load(self) -> Array:
        return self.array.copy(order="K")


@dataclass(frozen=True, eq=False)
class Merged:
    """The merged label volume and what it holds.

    ``labels`` is uint8 (every value below 256) or uint16, or None when pruning left nothing; ``instances``
    maps every instance with voxels (or owning a group with voxels) to the overlap group values it owns,
    sorted. ``file_values`` are the values the files hold after group expansion (RedBrick compares these
    with the segmentMap), ``pruned`` the file values zeroed and ``dropped`` the map entries dropped by prune.
    """

    labels: Array | None
    instances: dict[int, tuple[int, ...]]
    file_values: frozenset[int] = frozenset()
    pruned: frozenset[int] = frozenset()
    dropped: frozenset[int] = frozenset()


def sdk_labels(array: Array) -> Array:
    """A file's values as ``process_upload`` reads them: uint8/uint16 as they are, anything else rounded to
    the nearest integer and cast to uint16 (so negative values wrap, as RedBrick's do)."""
    if array.dtype in (np.uint8, np.uint16):
        return array
    if array.dtype == np.bool_:
        return array.astype(np.uint8)
    if np.issubdtype(array.dtype, np.integer):
        return array.astype(np.uint16)
    return np.round(np.asarray(array, dtype=np.float64)).astype(np.int64).astype(np.uint16)


def slabs(shape: tuple[int, ...], voxels: int = SLAB_VOXELS) -> Iterator[slice]:
    """Slices of the last axis holding about ``voxels`` voxels each."""
    per_slice = max(1, int(np.prod(shape[:-1])))
    step = max(1, voxels // per_slice)
    for start in range(0, shape[-1], step):
        yield slice(start, min(start + step, shape[-1]))


def nonzero_values(array: Array) -> frozenset[int]:
    """The distinct non-zero values of a label array, slab by slab (no full-size temporaries)."""
    found: set[int] = set()
    small = array.dtype in (np.uint8, np.uint16)
    for part in slabs(array.shape):
        block = array[..., part]
        if small:
            counts = np.bincount(np.ravel(block, order="K"), minlength=1)
            found.update(int(v) for v in np.flatnonzero(counts[1:]) + 1)
        else:
            values = np.unique(block)
            found.update(int(v) for v in values if v != 0)
    return frozenset(found)


class _Pool:
    """RedBrick's ``instance_pool``: 1..65535 minus every value in use; only its minimum is ever taken, and
    values only leave it, so a rising pointer finds the minimum."""

    def __init__(self, used: set[int]) -> None:
        self.excluded = set(used)
        self.next = 1

    def take(self) -> int:
        while self.next <= MAX_VALUE and self.next in self.excluded:
            self.next += 1
        if self.next > MAX_VALUE:
            raise MergeError("no value is left for a new overlap group: all of 1..65535 are in use")
        return self.next

    def discard(self, values: Sequence[int] | set[int] | frozenset[int]) -> None:
        self.excluded.update(values)


@dataclass
class _State:
    group_map: dict[int, frozenset[int]]
    reverse_map: dict[tuple[int, ...], int]
    pool: _Pool
    file_excess: frozenset[int] = field(default_factory=frozenset)


def _decide(pairs: list[tuple[int, int]], state: _State) -> dict[tuple[int, int], int]:
    """The new base value of each (base value, file value) pair, in RedBrick's order; pairs that keep their
    base value are left out. The state (groups, pool) carries over to the next file."""
    decided: dict[tuple[int, int], int] = {}
    for base_v, file_v in pairs:
        mask_v = file_v
        if mask_v in state.file_excess:  # pruned
            continue
        mask_instances = state.group_map.get(mask_v, frozenset((mask_v,)))
        if base_v == 0:
            group_key = tuple(sorted(mask_instances))
        else:
            base_instances = state.group_map.get(base_v, frozenset((base_v,)))
            if base_instances == mask_instances:
                continue
            group_instances = base_instances | mask_instances
            group_key = tuple(sorted(group_instances))
            if group_key in state.reverse_map:
                mask_v = state.reverse_map[group_key]
            else:
                mask_v = state.pool.take()
                state.group_map[mask_v] = group_instances
        decided[(base_v, file_v)] = mask_v
        state.reverse_map[group_key] = mask_v
        state.pool.discard((mask_v,))
        if mask_v in state.group_map:
            state.pool.discard(state.group_map[mask_v])
    return decided


def merge(
    files: Sequence[LabelFile],
    instances: Mapping[int, Sequence[int] | None],
    *,
    binary: bool = False,
    masks: Mapping[int, int] | None = None,
    label_validate: bool = False,
    prune: bool = False,
    values: Sequence[frozenset[int]] | None = None,
) -> Merged:
    """Merge ``files`` as ``process_upload(files, instances, binary, False, masks, label_validate, prune)``.

    ``instances`` maps each segmentMap instance to the overlap groups it owns already (None: none);
    ``masks`` each instance to the index of its file in ``files`` (binary mode). ``values`` may give each
    file's non-zero values (as ``sdk_labels`` reads them) when the caller knows them; otherwise the later
    files are read once more to find them.
    Raises MergeError where ``process_upload`` returns an error.
    """
    if not files:
        raise MergeError("Files do not exist")
    masks = dict(masks or {})
    by_file: dict[int, list[int]] = {}
    for instance, index in masks.items():
        by_file.setdefault(index, []).append(int(instance))
    if binary:
        for index, owners in by_file.items():
            if len(owners) > 1:
                raise MergeError(f"Binary mask upload only supports single instance per file: '{files[index].name}'")
    file_instance = {index: owners[0] for index, owners in by_file.items()}

    group_map: dict[int, frozenset[int]] = {}
    map_instances: set[int] = set()
    reverse_map: dict[tuple[int, ...], int] = {}
    members: dict[int, set[int]] = {}
    for instance, groups in instances.items():
        map_instances.add(int(instance))
        reverse_map[(int(instance),)] = int(instance)
        for group in groups or ():
            map_instances.add(int(group))
            members.setdefault(int(group), set()).add(int(instance))
    common = set(map(int, instances)) & set(members)
    if common:
        raise MergeError(f"Found common instance and group ids: {_show(common)}")
    for group, sharing in members.items():
        group_map[group] = frozenset(sharing)
        reverse_map[tuple(sorted(sharing))] = group

    known = list(values) if values is not None else None

    def found_in(index: int) -> frozenset[int]:
        if known is not None:
            return known[index]
        return nonzero_values(sdk_labels(files[index].load()))

    base = sdk_labels(np.asarray(files[0].load()))
    if base.ndim != 3:
        raise MergeError("Invalid base mask shape")
    # The result is built in the base array itself (``load`` gives a fresh array), uint8 where it fits.
    out = base if base.dtype in (np.uint8, np.uint16) and base.flags.writeable else base.astype(np.uint16)
    del base

    file_instances: set[int] = set()
    if binary:
        if 0 in file_instance:
            instance = file_instance[0]
            out = _widen(out, instance)
            for part in slabs(out.shape):
                block = out[..., part]
                block[block != 0] = instance
            file_instances.add(instance)
    else:
        file_instances.update(known[0] if known is not None else nonzero_values(out))
    final_snapshot = set(file_instances)

    later: list[int] = []
    for index in range(1, len(files)):
        if binary and index not in file_instance:
            continue  # a file no segmentMap entry names is ignored, as RedBrick ignores it
        found = found_in(index)
        if not found:
            continue  # an empty file adds nothing
        file_instances.update((file_instance[index],) if binary else found)
        later.append(index)

    for instance in list(file_instances):
        if instance in group_map:
            file_instances.update(group_map[instance])

    pool = _Pool(map_instances | file_instances)
    file_excess: frozenset[int] = frozenset()
    map_excess: frozenset[int] = frozenset()
    if prune:
        file_excess = frozenset(file_instances - map_instances)
        if file_excess:
            excess = np.array(sorted(file_excess), dtype=np.uint16)
            for part in slabs(out.shape):
                block = out[..., part]
                block[np.isin(block, excess)] = 0
            file_instances -= file_excess
            final_snapshot -= file_excess
        map_excess = frozenset(map_instances - file_instances)
        map_instances -= map_excess

    if label_validate and file_instances != map_instances:
        raise MergeError(
            "Instance IDs in segmentation file(s) and segmentMap do not match.\n"
            f"Segmentation file(s) have instances: {_show(file_instances)} and segmentMap has instances: "
            f"{_show(map_instances)}\nSegmentation(s): {[f.name for f in files]}"
        )

    state = _State(group_map, reverse_map, pool, file_excess)
    for index in later:
        data = sdk_labels(files[index].load())
        if data.ndim != 3:
            raise MergeError("Invalid mask shape")
        if data.shape != out.shape:
            raise MergeError(
                f"segmentation {files[index].name!r} has shape {tuple(data.shape)}, the first file "
                f"{files[0].name!r} {tuple(out.shape)}"
            )
        owner = file_instance.get(index) if binary else None
        if owner is not None and owner in file_excess:
            continue
        out = _merge_file(out, data, owner, state)
        del data

    final = set(nonzero_values(out)) if later else final_snapshot
    if prune and not final:
        return Merged(None, {}, frozenset(file_instances | file_excess), file_excess, map_excess)
    if (not final or max(final) < 256) and out.dtype != np.uint8:
        out = out.astype(np.uint8, order="F")

    owned: dict[int, list[int]] = {}
    for value in sorted(final):
        if value in state.group_map:
            for owner in state.group_map[value]:
                owned.setdefault(owner, []).append(value)
        else:
            owned.setdefault(value, [])
    return Merged(
        out,
        {k: tuple(sorted(v)) for k, v in sorted(owned.items())},
        frozenset(file_instances | file_excess),
        file_excess,
        map_excess,
    )


def _show(values: set[int] | frozenset[int]) -> str:
    return "{" + ", ".join(str(v) for v in sorted(values)) + "}" if values else "set()"


def _widen(out: Array, value: int) -> Array:
    """``out`` as uint16 once it must hold ``value`` (above 255)."""
    if value > 255 and out.dtype == np.uint8:
        return out.astype(np.uint16, order="F")
    return out


def _merge_file(out: Array, data: Array, instance: int | None, state: _State) -> Array:
    """Merge one later file into ``out`` (returned, widened to uint16 if a new value needs it)."""
    binary = instance is not None
    small = out.dtype == np.uint8 and (binary or data.dtype == np.uint8)
    # Pass 1: the distinct (base, file) pairs where the file is non-zero. For uint8 data a pair is a 16-bit
    # code counted with bincount; otherwise a 32-bit code, made unique per slab.
    if small:
        seen = np.zeros(1 << 16, dtype=bool)
        for part in slabs(out.shape):
            code = _code8(out[..., part], data[..., part], binary)
            seen |= np.bincount(np.ravel(code, order="K"), minlength=1 << 16).astype(bool)
        codes = np.flatnonzero(seen)
        codes = codes[(codes & 0xFF) != 0]
        pairs = [(int(c) >> 8, int(c) & 0xFF) for c in codes]
    else:
        found: list[Array] = []
        for part in slabs(out.shape):
            code = _code16(out[..., part], data[..., part], binary)
            if code.size:
                found.append(np.unique(code))
        codes = np.unique(np.concatenate(found)) if found else np.zeros(0, dtype=np.uint32)
        pairs = [(int(c) >> 16, int(c) & 0xFFFF) for c in codes]
    # In binary mode the file's value is its instance wherever it is non-zero (the pair codes hold 1).
    decided = _decide([(b, instance if binary else f) for b, f in pairs], state)  # type: ignore[misc]
    if not decided:
        return out
    out = _widen(out, max(decided.values()))
    # Pass 2: every voxel's new value from its pair.
    if small and out.dtype == np.uint8:
        table = np.arange(1 << 16, dtype=np.uint16) >> 8  # (base, 0) and undecided pairs keep the base
        for (base_v, file_v), value in decided.items():
            table[(base_v << 8) | (1 if binary else file_v)] = value
        lookup = table.astype(np.uint8)
        for part in slabs(out.shape):
            block = out[..., part]
            block[...] = lookup[_code8(block, data[..., part], binary)]
        return out
    keys = np.array([(b << 16) | (1 if binary else f) for (b, f) in decided], dtype=np.uint32)
    order = np.argsort(keys)
    keys = keys[order]
    new_values = np.array(list(decided.values()), dtype=np.uint16)[order]
    for part in slabs(out.shape):
        block = out[..., part]
        where = data[..., part] != 0
        if not where.any():
            continue
        code = (block[where].astype(np.uint32) << 16) | (1 if binary else data[..., part][where].astype(np.uint32))
        index = np.searchsorted(keys, code)
        index[index >= keys.size] = 0
        hit = keys[index] == code
        current = block[where]
        current[hit] = new_values[index[hit]]
        block[where] = current
    return out


def _code8(base: Array, data: Array, binary: bool) -> Array:
    """16-bit pair codes of uint8 base and file slabs: base << 8 | file value (1 for a binary file)."""
    file_part = (data != 0).view(np.uint8) if binary else data
    code: Array = (base.astype(np.uint16) << 8) | file_part
    return code


def _code16(base: Array, data: Array, binary: bool) -> Array:
    """32-bit pair codes at the voxels where the file is non-zero."""
    where = data != 0
    file_part = np.ones(int(where.sum()), dtype=np.uint32) if binary else data[where].astype(np.uint32)
    code: Array = (base[where].astype(np.uint32) << 16) | file_part
    return code


__all__ = ["ArrayFile", "LabelFile", "MergeError", "Merged", "merge", "nonzero_values", "sdk_labels"]
