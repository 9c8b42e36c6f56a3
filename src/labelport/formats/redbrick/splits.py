"""The export-side split of a series' label volume, as redbrick-sdk's ``process_download`` writes it.

- standard: the label volume as it is (``<series>.nii.gz``), instance values and overlap group values;
- binary (``--binary-mask``, or automatically when an instance owns an overlap group): one 0/1 volume per
  instance holding its value and its groups (``<series>/instance-<id>.nii.gz``), none for an empty one;
- semantic (``--semantic``): value ``classId + 1`` per voxel, the instance with the lowest class id winning
  an overlap; with binary, one 0/1 volume per class (``<series>/category-<classId+1>.nii.gz``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from labelport.formats.redbrick.merge import slabs

Array = npt.NDArray[Any]


@dataclass(frozen=True, slots=True)
class SegmentLabel:
    """One instance of a series' label volume: its value, the overlap groups it owns, its class id."""

    instance: int
    class_id: int
    groups: tuple[int, ...] = ()

    @property
    def values(self) -> tuple[int, ...]:
        return (self.instance, *self.groups)


@dataclass(frozen=True, eq=False)
class Split:
    """What a series' labels become: ``single`` (one volume) or ``files`` (0/1 volumes by instance id, or by
    ``classId + 1`` when ``semantic``), with the flags RedBrick writes."""

    binary: bool
    semantic: bool
    single: Array | None = None
    files: dict[int, Array] = field(default_factory=dict)


def auto_binary(labels: Sequence[SegmentLabel], binary: bool | None) -> bool:
    """RedBrick's choice when binary is not given: binary as soon as an instance owns an overlap group."""
    return binary if binary is not None else any(label.groups for label in labels)


def split(volume: Array | None, labels: Sequence[SegmentLabel], *, semantic: bool, binary: bool | None) -> Split:
    """The files ``process_download(labels, file, semantic_mask=semantic, binary_mask=binary)`` writes."""
    if volume is None:
        return Split(False, False)
    is_binary = auto_binary(labels, binary)
    if not (is_binary or semantic):
        return Split(False, False, single=volume)
    if is_binary:
        instances = dict(binary_masks(volume, labels))
        if not semantic:
            return Split(True, False, files=instances)
        if not labels:
            return Split(True, False, files=instances)
        return Split(True, True, files=dict(_category_masks(instances, labels)))
    if not labels:
        return Split(False, False, single=volume)
    return Split(False, True, single=semantic_volume(volume, labels))


def binary_masks(volume: Array, labels: Sequence[SegmentLabel]) -> Iterator[tuple[int, Array]]:
    """(instance, 0/1 uint8 volume of its value and groups) for each instance with voxels, in label order."""
    for label in labels:
        mask = np.zeros(volume.shape, dtype=np.uint8, order="F")
        wanted = np.array(label.values, dtype=volume.dtype)
        any_voxel = False
        for part in slabs(volume.shape):
            hit = np.isin(volume[..., part], wanted)
            if hit.any():
                mask[..., part] = hit
                any_voxel = True
        if any_voxel:
            yield label.instance, mask


def semantic_volume(volume: Array, labels: Sequence[SegmentLabel]) -> Array:
    """``classId + 1`` at each voxel of an instance (or its groups); a value shared by instances of several
    classes goes to the lowest class id, as RedBrick's stable sort by class id and first-come rule do."""
    table: dict[int, int] = {}
    for label in sorted(labels, key=lambda lab: lab.class_id):
        for value in label.values:
            table.setdefault(value, label.class_id + 1)
    top = max(table.values(), default=0)
    out = np.zeros(volume.shape, dtype=np.uint8 if top < 256 else np.uint16, order="F")
    if not table:
        return out
    size = max(int(volume.max(initial=0)), max(table)) + 1
    lookup = np.zeros(size, dtype=out.dtype)
    for value, class_value in table.items():
        lookup[value] = class_value
    for part in slabs(volume.shape):
        out[..., part] = lookup[volume[..., part]]
    return out


def _category_masks(instances: dict[int, Array], labels: Sequence[SegmentLabel]) -> Iterator[tuple[int, Array]]:
    """(classId + 1, 0/1 union of the class's instance volumes), by class id."""
    by_class: dict[int, list[int]] = {}
    for label in sorted(labels, key=lambda lab: lab.class_id):
        by_class.setdefault(label.class_id, []).append(label.instance)
    for class_id, members in by_class.items():
        present = [instances[m] for m in members if m in instances]
        if not present:
            continue
        union = np.zeros(present[0].shape, dtype=np.uint8, order="F")
        for mask in present:
            union |= mask
        yield class_id + 1, union


__all__ = ["SegmentLabel", "Split", "auto_binary", "binary_masks", "semantic_volume", "split"]
