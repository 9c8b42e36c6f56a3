"""The series part of reading label rows: a DICOM or NIfTI row's slices on the series grid (``SeriesRows``, a
part of ``RowReader``), or, read without the series, on Encord's slice indexes.

Slices named by instance UID are found on the grid by it (``slices.SliceMap``); those without one are
placed as the named ones show Encord orders the series, or by index when none is named. Geometry lands on
the plane whose frames run along the slice axis; bitmasks go into one label volume (``volumes``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from labelport.errors import ValidationError
from labelport.formats.base import Problem
from labelport.formats.encord.coordinates import Frame
from labelport.formats.encord.fields import (
    CLASSIFICATION_ANSWERS,
    HEIGHT,
    LABELS,
    METADATA,
    OBJECT_ACTIONS,
    WIDTH,
    Shape,
)
from labelport.formats.encord.reading import (
    Failed,
    Gathered,
    Unit,
    check_slice_size,
    instance_of,
    positive,
    segments,
    track,
)
from labelport.formats.encord.slices import SliceMap, frames_in, ranges
from labelport.formats.encord.volumes import MaskVolume
from labelport.model.annotation import (
    AnyAnnotation,
    ClassificationAnnotation,
    ObjectAnnotation,
    Placement,
    TrackedObject,
    VolumeMask,
)
from labelport.model.geometry import Mask, VolumeSource
from labelport.model.media import DataRow

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from labelport.formats.encord.reading import Features, ReadOptions


class SeriesRows:
    """Reading the units of DICOM and NIfTI rows; the rest of a row's reading is ``RowReader``'s."""

    if TYPE_CHECKING:  # provided by RowReader
        options: ReadOptions
        features: Features | None
        problems: list[Problem]

        def where(self, inner: str) -> str: ...
        def problem(
            self,
            inner: str | None,
            message: str,
            value: Any = None,
            *,
            frame: int | str | None = None,
            object_hash: str | None = None,
            uuid: str | None = None,
            key: Any = None,
        ) -> Problem: ...
        def _frame_objects(
            self, unit: Unit, frame: int, frame_path: str, labels: Any, size: Frame, gathered: dict[str, Gathered]
        ) -> None: ...
        def _classifications_of(self, obj: Gathered) -> tuple[ClassificationAnnotation, ...]: ...
        def _frame_classifications(self, frames: Mapping[int, Any]) -> dict[str, tuple[list[int], dict[str, Any]]]: ...
        def _classifications(
            self, per_frame: dict[str, tuple[list[int], dict[str, Any]]], image: bool, sequence: int | None = None
        ) -> Iterator[tuple[ClassificationAnnotation, list[int] | None] | Problem]: ...
        def _beyond(self, labels: Any, frame: int, frame_path: str, message: str) -> None: ...
        def _object(self, obj: Gathered, build: Callable[[Gathered], AnyAnnotation]) -> AnyAnnotation | None: ...
        def _annotations(
            self, gathered: dict[str, Gathered], frames: Mapping[int, Any], build: Callable[[Gathered], AnyAnnotation]
        ) -> tuple[list[AnyAnnotation], dict[str, str]]: ...

    def _series(
        self, unit: Unit, media: DataRow | None, frames: dict[int, Any]
    ) -> tuple[list[AnyAnnotation], dict[str, str]]:
        """The objects of a DICOM or NIfTI row, on the series grid when the series is known."""
        if media is None or media.media_attributes.slices is None:
            return self._unplaced(unit, frames)
        try:
            slices = SliceMap.of(media.media_attributes)
        except ValidationError as exc:
            raise Failed(self.problem(unit.path, f"the data row's geometry: {exc.message}", exc.value)) from None
        size = Frame(slices.columns, slices.rows, self.options.tolerance)
        for name, given, wanted in ((WIDTH, unit.width, slices.columns), (HEIGHT, unit.height, slices.rows)):
            if given is not None and given != wanted:
                raise Failed(
                    self.problem(
                        f"{unit.path}.{name}",
                        f"the label row's slices are {unit.width} x {unit.height} px, the series' "
                        f"{slices.columns} x {slices.rows} px",
                        given,
                    )
                )
        to_grid: dict[int, int] = {}
        gathered: dict[str, Gathered] = {}
        # Slices named by instance UID first; then those without one, placed as the named ones show Encord
        # orders the series (or by index, when none is named).
        named = {i: instance_of(labels) for i, labels in frames.items()}
        for index in sorted(frames, key=lambda i: (named[i][0] is None, i)):
            labels = frames[index]
            frame_path = f"{unit.path}.{LABELS}.{index}"
            uid, number = named[index]
            try:
                metadata = labels.get(METADATA) if isinstance(labels, Mapping) else None
                if isinstance(metadata, Mapping):
                    check_slice_size(metadata, slices)
                k = slices.slice_of(index, uid, number) if uid is not None else self._grid_slice(index, to_grid, slices)
            except ValidationError as exc:
                self._beyond(labels, index, frame_path, exc.message)
                continue
            to_grid[index] = k
            self._frame_objects(unit, k, frame_path, labels, size, gathered)
        volume = MaskVolume((slices.columns, slices.rows, slices.slices))
        masks: list[tuple[int, Gathered]] = []
        annotations: list[AnyAnnotation] = []
        paths: dict[str, str] = {}
        index_of: dict[str, int] = {}
        for obj in gathered.values():
            if obj.failure is None and obj.shape is Shape.BITMASK:
                try:
                    classifications = self._classifications_of(obj)
                    self._check_dynamic(obj, classifications, to_grid, slices)
                except Failed as failed:
                    self.problems.append(failed.problem)
                    continue
                number = index_of[obj.hash] = len(index_of) + 1
                for k, geometry, _path in obj.frames:
                    assert isinstance(geometry, Mask) and geometry.source.pixels is not None
                    volume.add(number, k, geometry.source.pixels.array())
                masks.append((number, obj))
                paths[obj.uuid] = self.where(obj.path)
                continue
            built = self._object(obj, lambda o: self._placed(o, slices, to_grid))
            if built is not None:
                annotations.append(built)
                paths[obj.uuid] = self.where(obj.path)
        if masks:
            source = VolumeSource(pixels=volume.pixels())
            for number, obj in masks:
                values = volume.values_of(number) or (volume._value(frozenset({number})),)
                classifications = self._placed_classifications(self._classifications_of(obj), to_grid, slices)
                annotations.append(
                    VolumeMask(
                        obj.uuid,
                        source,
                        values,
                        obj.name,
                        obj.schema_id,
                        group=slices.plane,
                        confidence=obj.confidence,
                        classifications=classifications,
                    )
                )
        for found in self._classifications(self._frame_classifications(frames), image=False):
            if isinstance(found, Problem):
                self.problems.append(found)
                continue
            annotation, indexes = found
            try:
                mapped = (
                    None
                    if indexes is None
                    else [slices.frame_of(self._grid_slice(i, to_grid, slices)) for i in indexes]
                )
            except ValidationError as exc:
                self.problems.append(
                    self.problem(f"{CLASSIFICATION_ANSWERS}", exc.message, exc.value, uuid=annotation.uuid)
                )
                continue
            placed = ClassificationAnnotation(
                annotation.answer,
                annotation.name,
                annotation.schema_id,
                annotation.uuid,
                annotation.confidence,
                placement=Placement(group=slices.plane),
                frames=ranges(mapped) if mapped is not None else (),
            )
            annotations.append(placed)
        return annotations, paths

    def _grid_slice(self, index: int, to_grid: Mapping[int, int], slices: SliceMap) -> int:
        """Grid slice of an Encord slice index: known from its UID, else inferred from how the labelled slices
        map (in order, or reversed), else by the index when the row names no UIDs."""
        if index in to_grid:
            return to_grid[index]
        pairs = list(to_grid.items())
        if not pairs or all(i == k for i, k in pairs):
            return slices.slice_of(index, None, None)
        if all(k == slices.slices - 1 - i for i, k in pairs):
            return (
                slices.slice_of(slices.slices - 1 - index, None, None)
                if 0 <= index < slices.slices
                else slices.slice_of(index, None, None)
            )
        raise ValidationError(
            f"slice {index} has no instance UID in the label row, and the labelled slices do not follow one order "
            "to place it by",
            field="range",
            value=index,
        )

    def _placed_classifications(
        self, classifications: tuple[ClassificationAnnotation, ...], to_grid: Mapping[int, int], slices: SliceMap
    ) -> tuple[ClassificationAnnotation, ...]:
        out = []
        for c in classifications:
            if not c.frames:
                out.append(c)
                continue
            mapped = [slices.frame_of(self._grid_slice(i, to_grid, slices)) for i in frames_in(c.frames)]
            out.append(replace(c, frames=ranges(mapped)))
        return tuple(out)

    def _check_dynamic(
        self,
        obj: Gathered,
        classifications: tuple[ClassificationAnnotation, ...],
        to_grid: Mapping[int, int],
        slices: SliceMap,
    ) -> None:
        try:
            self._placed_classifications(classifications, to_grid, slices)
        except ValidationError as exc:
            raise Failed(
                self.problem(
                    f"{OBJECT_ACTIONS}.{obj.hash}", exc.message, exc.value, object_hash=obj.hash, uuid=obj.uuid
                )
            ) from None

    def _placed(self, obj: Gathered, slices: SliceMap, to_grid: Mapping[int, int]) -> AnyAnnotation:
        classifications = self._placed_classifications(self._classifications_of(obj), to_grid, slices)
        keyframes = sorted(
            ((slices.frame_of(k), slices.to_plane(geometry)) for k, geometry, _ in obj.frames), key=lambda kv: kv[0]
        )
        if len(keyframes) == 1:
            frame, geometry = keyframes[0]
            return ObjectAnnotation(
                obj.uuid,
                geometry,
                obj.name,
                obj.schema_id,
                Placement(frame, slices.plane),
                obj.confidence,
                classifications=classifications,
            )
        return TrackedObject(
            obj.uuid,
            segments(keyframes),
            obj.name,
            obj.schema_id,
            slices.plane,
            obj.confidence,
            classifications=classifications,
        )

    def _unplaced(self, unit: Unit, frames: dict[int, Any]) -> tuple[list[AnyAnnotation], dict[str, str]]:
        """A series row read without its series: objects stay on Encord's slice indexes, with no plane."""
        if unit.width is None or unit.height is None:
            raise Failed(self.problem(unit.path, "the data unit needs its width and height", None))
        gathered: dict[str, Gathered] = {}
        for index, labels in sorted(frames.items()):
            metadata = labels.get(METADATA) if isinstance(labels, Mapping) else None
            # A slice's own size wins over the unit's (the SDK's FrameView does the same).
            own = metadata if isinstance(metadata, Mapping) else {}
            width = int(own[WIDTH]) if positive(own.get(WIDTH)) else unit.width
            height = int(own[HEIGHT]) if positive(own.get(HEIGHT)) else unit.height
            size = Frame(width, height, self.options.tolerance)
            self._frame_objects(unit, index, f"{unit.path}.{LABELS}.{index}", labels, size, gathered)

        def build(obj: Gathered) -> AnyAnnotation:
            classifications = self._classifications_of(obj)
            if len(obj.frames) == 1:
                frame, geometry, _ = obj.frames[0]
                return ObjectAnnotation(
                    obj.uuid,
                    geometry,
                    obj.name,
                    obj.schema_id,
                    Placement(frame),
                    obj.confidence,
                    classifications=classifications,
                )
            return track(obj, classifications)

        return self._annotations(gathered, frames, build)


__all__ = ["SeriesRows"]
