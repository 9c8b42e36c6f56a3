"""Reading Encord label rows into items (notes/encord.md sections 1 to 6).

A label row names its media by ``data_hash`` and ``data_title``; the item names its data row by both
(``DataRowKey.names``: each may be a global key or an external id), or by one of them (option ``match``).
An image, video or DICOM row is one item; an image group is one item per image (each image is a data row
of its own in labelport), named by the image's own hash and title.

Objects are tracked by ``objectHash`` (its uuid: ``hashes.uuid_of_hash``): on an image an
``ObjectAnnotation``, on a video a ``TrackedObject`` whose segments break where the object is absent (a
video bitmask: ``FrameMasks``), on a DICOM series placed on the slice plane through the instance UIDs
(``slices``), bitmasks there as one ``VolumeMask`` per object on the series grid. Static answers become the
object's classifications, dynamic ones (``object_actions``) classifications with frames. Classifications
of the row are placed by ``classification_answers[h].range`` when it has one, else by the frames whose
entries name them (the older form); a global one holds on the whole row.

With the ontology (``ctx.ontology``) every ``featureHash`` must name a feature of the right kind; the
answers are nested as the ontology nests them. A bad object, classification or frame is a located
``Problem`` naming the label row, frame, objectHash and value; the rest of the row is still read.
Unknown keys are ignored; dangling hashes (answers of objects that are not there, frame entries with no
answer) are skipped, as Encord's SDK skips them.
"""

from __future__ import annotations

import gc
import itertools
import uuid as uuid_module
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from typing import Any

import orjson

from labelport.errors import LabelportError, Location, ValidationError
from labelport.formats.base import Problem, ReadContext, Source, iter_json_items
from labelport.formats.encord.answers import Scope, read_answers, read_range
from labelport.formats.encord.coordinates import Frame, geometry_of
from labelport.formats.encord.fast import encoded_object
from labelport.formats.encord.fields import (
    ACTIONS,
    CLASSIFICATION_ANSWERS,
    CLASSIFICATION_HASH,
    CLASSIFICATIONS,
    CONFIDENCE,
    CREATED_AT,
    DATA_HASH,
    DATA_LINK,
    DATA_TITLE,
    DATA_TYPE,
    DATA_UNITS,
    FEATURE_HASH,
    HEIGHT,
    LABEL_HASH,
    LABELS,
    LAST_EDITED_AT,
    METADATA,
    NAME,
    OBJECT_ACTIONS,
    OBJECT_ANSWERS,
    OBJECT_HASH,
    OBJECTS,
    RANGE,
    SERIES_UID,
    SHAPE,
    UNSUPPORTED_SHAPES,
    WIDTH,
    DataType,
    Shape,
)
from labelport.formats.encord.hashes import uuid_of_hash
from labelport.formats.encord.ontology import TOOL_FOR_SHAPE
from labelport.formats.encord.reading import (
    MEDIA,
    SHAPES,
    Failed,
    Features,
    Gathered,
    Match,
    ReadOptions,
    Unit,
    framed,
    keyed,
    on_image,
    parse_time,
    positive,
    sequence_of,
    track,
)
from labelport.formats.encord.rows_series import SeriesRows
from labelport.formats.encord.slices import frames_in
from labelport.model.annotation import (
    AnyAnnotation,
    ClassificationAnnotation,
    ObjectAnnotation,
    Radio,
)
from labelport.model.codec import to_json
from labelport.model.encoded import EncodedAnnotation
from labelport.model.item import DataRowKey, LabeledItem
from labelport.model.label import Label, LabelDetails
from labelport.model.media import DataRow, MediaAttributes
from labelport.model.ontology import Classification, Tool

_ANSWER_CACHE = 4096  # distinct answer lists kept (a bound on memory when every object answers differently)


class RowReader(SeriesRows):
    """Reads one label row into items and problems."""

    def __init__(
        self, ctx: ReadContext, options: ReadOptions, features: Features | None, raw: Any, location: Location
    ) -> None:
        self.ctx = ctx
        self.options = options
        self.features = features
        self.raw = raw
        self.file = location.file
        self.line = location.line
        self.path = location.path or ""
        self.label_hash = "?"
        self.problems: list[Problem] = []
        self.seen: set[str] = set()  # objectHashes of earlier images of an image group
        # objectHashes the fast path took on the current image -> the object, its path and its annotation
        self.fast_taken: dict[str, tuple[Any, str, EncodedAnnotation]] = {}

    # --- locations and problems ---------------------------------------------------------------------------

    def where(self, inner: str) -> str:
        return f"{self.path}.{inner}" if self.path else inner

    def location(self, inner: str | None = None) -> Location:
        return Location(self.file, self.line, self.where(inner) if inner else (self.path or None))

    def problem(
        self,
        inner: str | None,
        message: str,
        value: Any = None,
        *,
        frame: int | str | None = None,
        object_hash: str | None = None,
        uuid: str | None = None,
        key: DataRowKey | None = None,
    ) -> Problem:
        parts = [f"label row {self.label_hash}"]
        if frame is not None:
            parts.append(f"frame {frame}")
        if object_hash is not None:
            parts.append(f"objectHash {object_hash}")
        return Problem(self.location(inner), f"{', '.join(parts)}: {message}", value, uuid, key)

    # --- the row -----------------------------------------------------------------------------------------

    def read(self) -> Iterator[LabeledItem | Problem]:
        raw = self.raw
        if not isinstance(raw, Mapping):
            yield Problem(self.location(), f"a label row is a JSON object, found {str(raw)[:80]}", raw)
            return
        self.label_hash = str(raw.get(LABEL_HASH, "?"))
        try:
            data_type, units = self._header(raw)
        except ValidationError as exc:
            yield self.problem(exc.field, exc.message, exc.value)
            return
        details = LabelDetails(parse_time(raw.get(CREATED_AT)), parse_time(raw.get(LAST_EDITED_AT)))
        if data_type is DataType.IMG_GROUP:
            ordered = sorted(units, key=lambda u: sequence_of(u.raw))
            # A classification's frame entries may sit in any image of the group: gather them all first.
            per_frame = self._frame_classifications({sequence_of(u.raw): u.raw.get(LABELS) for u in ordered})
            for unit in ordered:
                yield from self._flat_unit(data_type, unit, details, sequence_of(unit.raw), per_frame)
            return
        [unit] = units
        unit.data_hash, unit.data_title = str(raw[DATA_HASH]), str(raw.get(DATA_TITLE) or raw[DATA_HASH])
        if data_type is DataType.IMAGE:
            per_frame = self._frame_classifications({0: unit.raw.get(LABELS)})
            yield from self._flat_unit(data_type, unit, details, 0, per_frame)
        else:
            yield from self._framed_unit(data_type, unit, details)

    def _header(self, raw: Mapping[str, Any]) -> tuple[DataType, list[Unit]]:
        for key in (LABEL_HASH, DATA_HASH, DATA_TYPE, DATA_UNITS):
            if raw.get(key) in (None, ""):
                raise ValidationError(f"a label row needs {key!r}", field=key, value=None)
        kind = raw[DATA_TYPE]
        try:
            data_type = DataType(kind)
        except ValueError:
            raise ValidationError(
                f"data_type {kind!r} is not supported: labelport reads image, img_group, video, dicom and nifti "
                "label rows (audio, text, PDF and data groups have no labelport media)",
                field=DATA_TYPE,
                value=kind,
            ) from None
        data_units = raw[DATA_UNITS]
        if not isinstance(data_units, Mapping) or not data_units:
            raise ValidationError(
                f"data_units must be a non-empty object, found {str(data_units)[:80]}", field=DATA_UNITS
            )
        units = []
        for key, unit in data_units.items():
            where = f"{DATA_UNITS}.{key}"
            if not isinstance(unit, Mapping):
                raise ValidationError(f"{where} must be an object, found {str(unit)[:80]}", field=where)
            width, height = unit.get(WIDTH), unit.get(HEIGHT)
            units.append(
                Unit(
                    str(key),
                    unit,
                    where,
                    str(unit.get(DATA_HASH) or key),
                    str(unit.get(DATA_TITLE) or unit.get(DATA_HASH) or key),
                    width if positive(width) else None,
                    height if positive(height) else None,
                )
            )
        if data_type is not DataType.IMG_GROUP and len(units) != 1:
            raise ValidationError(
                f"a {data_type.value} label row has one data unit, found {len(units)}", field=DATA_UNITS
            )
        for name in (OBJECT_ANSWERS, CLASSIFICATION_ANSWERS, OBJECT_ACTIONS):
            if raw.get(name) is not None and not isinstance(raw[name], Mapping):
                raise ValidationError(f"{name} must be an object, found {str(raw[name])[:80]}", field=name)
        return data_type, units

    def key(self, unit: Unit) -> DataRowKey:
        if self.options.match is Match.DATA_HASH:
            names: tuple[str, ...] = (unit.data_hash,)
        elif self.options.match is Match.DATA_TITLE:
            names = (unit.data_title,)
        else:
            names = tuple(dict.fromkeys((unit.data_hash, unit.data_title)))
        return DataRowKey(names=names)

    def _media(self, data_type: DataType, unit: Unit, key: DataRowKey) -> DataRow:
        """The data row as the label row describes it (when the caller has none to give)."""
        attributes = MediaAttributes(width=unit.width, height=unit.height)
        if data_type in (DataType.DICOM, DataType.NIFTI):
            attributes = MediaAttributes(width=unit.width, height=unit.height, columns=unit.width, rows=unit.height)
        link = unit.raw.get(DATA_LINK)
        return DataRow(
            id=unit.data_hash,
            row_data=link if isinstance(link, str) and link else unit.data_title,
            media_type=MEDIA[data_type],
            global_key=unit.data_title,
            external_id=unit.data_hash,
            media_attributes=attributes,
        )

    def _stored(self, unit: Unit, key: DataRowKey) -> DataRow | None:
        """The caller's data row for ``unit`` (a project's, or the series a conversion joins, found by the
        row's series UID or names); None when the caller has none to give; Failed naming both of the row's
        names when a project has none of them."""
        series = self.ctx.options.get("series")
        if self.ctx.media is None:
            if not callable(series):
                return None
            metadata = unit.raw.get(METADATA)
            uid = metadata.get(SERIES_UID) if isinstance(metadata, Mapping) else None
            found: DataRow | None = series(key, uid if isinstance(uid, str) else None)
            return found
        try:
            return self.ctx.media(key)
        except LabelportError as exc:
            raise Failed(
                self.problem(
                    None,
                    f"data_hash {unit.data_hash!r} / data_title {unit.data_title!r}: {exc}",
                    key.as_dict(),
                    key=key,
                )
            ) from None

    # --- objects -------------------------------------------------------------------------------------------

    def _frame_objects(
        self, unit: Unit, frame: int, frame_path: str, labels: Any, size: Frame, gathered: dict[str, Gathered]
    ) -> None:
        """Gather the objects of one frame into ``gathered`` (by objectHash), recording each failure."""
        objects = labels.get(OBJECTS) if isinstance(labels, Mapping) else None
        if objects is None:
            return
        if not isinstance(objects, list):
            self.problems.append(self.problem(f"{frame_path}.{OBJECTS}", "objects must be a list", str(objects)[:80]))
            return
        for i, obj in enumerate(objects):
            path = f"{frame_path}.{OBJECTS}[{i}]"
            self._frame_object(obj, frame, path, size, gathered)

    def _frame_object(self, obj: Any, frame: int, path: str, size: Frame, gathered: dict[str, Gathered]) -> None:
        if not isinstance(obj, Mapping) or not isinstance(obj.get(OBJECT_HASH), str) or not obj[OBJECT_HASH]:
            found = obj.get(OBJECT_HASH) if isinstance(obj, Mapping) else obj
            self.problems.append(self.problem(path, "a frame object needs an objectHash", found, frame=frame))
            return
        object_hash = obj[OBJECT_HASH]
        known = gathered.get(object_hash)
        if known is not None and known.failure is not None:
            return

        def fail(message: str, value: Any, inner: str = path) -> None:
            problem = self.problem(
                inner, message, value, frame=frame, object_hash=object_hash, uuid=uuid_of_hash(object_hash)
            )
            if known is not None:
                known.failure = problem
            else:
                gathered[object_hash] = Gathered(
                    object_hash, path, None, None, None, Shape.POINT, None, failure=problem
                )

        shape_raw = obj.get(SHAPE)
        if shape_raw in UNSUPPORTED_SHAPES:
            fail(
                f"shape {shape_raw!r} is not supported: labelport draws boxes, polygons, lines, points, "
                "bitmasks, skeletons and ellipses",
                shape_raw,
            )
            return
        try:
            shape = Shape(str(shape_raw))
        except ValueError:
            fail(f"unknown shape {shape_raw!r}", shape_raw)
            return
        feature = obj.get(FEATURE_HASH)
        tool = None
        if self.features is not None:
            tool = self.features.tools.get(str(feature))
            if tool is None:
                fail(
                    f"unknown featureHash {feature!r} (object {obj.get(NAME)!r}): not an object of the ontology "
                    f"(objects: {self.features.tool_names()})",
                    feature,
                )
                return
            if tool.type is not TOOL_FOR_SHAPE[shape]:
                fail(
                    f"shape {shape.value!r} does not match feature {tool.name!r} ({feature!r}), a "
                    f"{next(s for s, t in TOOL_FOR_SHAPE.items() if t is tool.type).value}",
                    shape.value,
                )
                return
        elif not isinstance(feature, str) or not feature:
            fail("a frame object needs a featureHash", feature)
            return
        confidence = obj.get(CONFIDENCE)
        if confidence is not None and (
            isinstance(confidence, bool) or not isinstance(confidence, int | float) or not 0 <= confidence <= 1
        ):
            fail(f"confidence must be a number in 0..1, found {confidence!r}", confidence)
            return
        try:
            geometry = geometry_of(shape, obj, size)
        except ValidationError as exc:
            fail(exc.message, exc.value)
            return
        if known is None:
            name = obj.get(NAME)
            known = gathered[object_hash] = Gathered(
                object_hash,
                path,
                tool.name if tool is not None else (name if isinstance(name, str) and name else None),
                tool.schema_id if tool is not None else str(feature),
                tool,
                shape,
                float(confidence) if confidence is not None else None,
            )
        elif known.shape is not shape:
            fail(f"the object is a {known.shape.value} on another frame, a {shape.value} here", shape.value)
            return
        if known.encoded is not None or any(f == frame for f, _, _ in known.frames):
            fail("the object is on this frame twice", frame)
            return
        known.frames.append((frame, geometry, path))

    def _fast(
        self, obj: Any, path: str, size: Frame, unit: Unit, gathered: dict[str, Gathered]
    ) -> EncodedAnnotation | Gathered | None:
        """A plain object of an image in its stored form (``fast``); or, for one with static answers, its entry in
        ``gathered``, where it waits (``Gathered.encoded``) to keep its place among the checked objects; or None
        for the checked path (dynamic answers, on the image twice, or what the fast path cannot vouch for)."""
        if self.features is None or type(obj) is not dict:
            return None
        object_hash, feature = obj.get(OBJECT_HASH), obj.get(FEATURE_HASH)
        if type(object_hash) is not str or not object_hash or object_hash in gathered or object_hash in self.fast_taken:
            return None
        tool = self.features.tools.get(feature) if type(feature) is str else None
        shape = SHAPES.get(obj.get(SHAPE))
        if tool is None or shape is None or tool.type is not TOOL_FOR_SHAPE[shape]:
            return None
        if (self.raw.get(OBJECT_ACTIONS) or {}).get(object_hash):
            return None
        answers = (self.raw.get(OBJECT_ANSWERS) or {}).get(object_hash)
        if answers and type(answers) is not dict:
            return None
        listed = answers.get(CLASSIFICATIONS) if answers else None
        if listed:
            answered = self._static_answers(self.features, listed, tool, object_hash)
            if answered is None:
                return None  # the checked path words the problem
            encoded = encoded_object(uuid_of_hash(object_hash), shape, obj, tool, size, *answered)
            if encoded is None:
                return None
            waiting = gathered[object_hash] = Gathered(
                object_hash, path, tool.name, tool.schema_id, tool, shape, encoded.confidence, encoded=encoded
            )
            return waiting
        uuid = uuid_of_hash(object_hash)
        if object_hash in self.seen:
            uuid = str(uuid_module.uuid5(uuid_module.UUID(uuid), unit.data_hash))
        encoded = encoded_object(uuid, shape, obj, tool, size)
        if encoded is not None:
            self.seen.add(object_hash)
            self.fast_taken[object_hash] = (obj, path, encoded)
        return encoded

    def _untake(
        self,
        object_hash: Any,
        sequence: int,
        size: Frame,
        slots: list[EncodedAnnotation | str],
        paths: dict[str, str],
        gathered: dict[str, Gathered],
    ) -> None:
        """An object the fast path took comes again on its image: the first leaves its slot and is read again on
        the checked path, so the second fails them both as there ("on this frame twice")."""
        taken = self.fast_taken.pop(object_hash, None) if type(object_hash) is str else None
        if taken is None:
            return
        obj, path, encoded = taken
        slots[:] = [s for s in slots if s is not encoded]
        paths.pop(encoded.uuid, None)
        if encoded.uuid == uuid_of_hash(object_hash):  # not derived: no earlier image of the group had it
            self.seen.discard(object_hash)
        self._frame_object(obj, sequence, path, size, gathered)

    def _static_answers(
        self, features: Features, listed: Any, tool: Tool, object_hash: str
    ) -> tuple[tuple[ClassificationAnnotation, ...], Any] | None:
        """The classifications of an object's static answer list and their stored JSON, read once per distinct
        list and tool (``Features.answers``); None when they do not read."""
        try:
            key: tuple[str, bytes] | None = (tool.schema_id, orjson.dumps(listed))
        except (orjson.JSONEncodeError, TypeError):  # values a caller's dicts may hold, JSON's may not
            key = None
        cached = features.answers.get(key) if key is not None else None
        if cached is not None:
            return cached
        where = f"{OBJECT_ANSWERS}.{object_hash}.{CLASSIFICATIONS}"
        try:
            classifications = read_answers(listed, features.scope(tool), where)
        except ValidationError:
            return None
        cached = (classifications, to_json(classifications))
        if key is not None:
            if len(features.answers) >= _ANSWER_CACHE:
                features.answers.clear()
            features.answers[key] = cached
        return cached

    def _answers(self, obj: Gathered, dynamic: bool) -> tuple[ClassificationAnnotation, ...]:
        source = self.raw.get(OBJECT_ACTIONS if dynamic else OBJECT_ANSWERS) or {}
        entry = source.get(obj.hash)
        if not isinstance(entry, Mapping):
            return ()
        key = ACTIONS if dynamic else CLASSIFICATIONS
        where = f"{OBJECT_ACTIONS if dynamic else OBJECT_ANSWERS}.{obj.hash}.{key}"
        scope = self.features.scope(obj.tool) if obj.tool is not None and self.features is not None else None
        try:
            return read_answers(entry.get(key), scope, where, dynamic=dynamic)
        except ValidationError as exc:
            raise Failed(self.problem(where, exc.message, exc.value, object_hash=obj.hash, uuid=obj.uuid)) from None

    def _classifications_of(self, obj: Gathered) -> tuple[ClassificationAnnotation, ...]:
        return (*self._answers(obj, False), *self._answers(obj, True))

    # --- classifications -------------------------------------------------------------------------------------

    def _frame_classifications(self, frames: Mapping[int, Any]) -> dict[str, tuple[list[int], dict[str, Any]]]:
        """classificationHash -> (frames whose entries name it, the first entry), the older placement."""
        found: dict[str, tuple[list[int], dict[str, Any]]] = {}
        for frame, labels in frames.items():
            entries = labels.get(CLASSIFICATIONS) if isinstance(labels, Mapping) else None
            for entry in entries if isinstance(entries, list) else ():
                if isinstance(entry, Mapping) and isinstance(entry.get(CLASSIFICATION_HASH), str):
                    found.setdefault(entry[CLASSIFICATION_HASH], ([], dict(entry)))[0].append(frame)
        return found

    def _classifications(
        self, per_frame: dict[str, tuple[list[int], dict[str, Any]]], image: bool, sequence: int | None = None
    ) -> Iterator[tuple[ClassificationAnnotation, list[int] | None] | Problem]:
        """Each classification of the row with its frames (None: the whole row), or a problem; on an image
        (``sequence``: its place in a group), those placed on it, once each."""
        answers = self.raw.get(CLASSIFICATION_ANSWERS) or {}
        hashes = [h for h in answers if isinstance(answers.get(h), Mapping)]
        hashes += [h for h in per_frame if h not in answers]
        for hash_ in hashes:
            answer = answers.get(hash_)
            if not isinstance(answer, Mapping):
                continue  # a frame entry with no answer: dropped, as the SDK drops it
            where = f"{CLASSIFICATION_ANSWERS}.{hash_}"
            frames_named, entry = per_frame.get(hash_, ([], {}))
            feature = answer.get(FEATURE_HASH) or entry.get(FEATURE_HASH)
            node = None
            if self.features is not None:
                node = self.features.classifications.get(str(feature))
                if node is None:
                    yield self.problem(
                        where,
                        f"unknown featureHash {feature!r}: not a classification of the ontology",
                        feature,
                        uuid=uuid_of_hash(hash_),
                    )
                    continue
            raw_range = answer.get(RANGE)
            try:
                spans = read_range(raw_range, where) if raw_range else ()
            except ValidationError as exc:
                yield self.problem(where, exc.message, exc.value, uuid=uuid_of_hash(hash_))
                continue
            frames: list[int] | None
            if spans:
                frames = frames_in(spans)
            elif frames_named:
                frames = sorted(set(frames_named))
            elif raw_range == [] and (node is None or node.global_scope):
                frames = None
            else:
                continue  # a frame classification placed nowhere: the SDK drops it too
            try:
                content = self._classification_content(answer, entry, node, where)
            except ValidationError as exc:
                yield self.problem(where, exc.message, exc.value, uuid=uuid_of_hash(hash_))
                continue
            if content is None:
                continue  # unanswered
            if image and frames is not None and sequence is not None and sequence not in frames:
                continue
            confidence = answer.get(CONFIDENCE, entry.get(CONFIDENCE))
            if isinstance(confidence, bool) or not isinstance(confidence, int | float) or not 0 <= confidence <= 1:
                confidence = None
            annotation = ClassificationAnnotation(
                content.answer,
                name=content.name,
                schema_id=content.schema_id,
                uuid=uuid_of_hash(hash_),
                confidence=float(confidence) if confidence is not None else None,
            )
            yield annotation, (None if image else frames)

    def _classification_content(
        self, answer: Mapping[str, Any], entry: Mapping[str, Any], node: Classification | None, where: str
    ) -> ClassificationAnnotation | None:
        listed = answer.get(CLASSIFICATIONS)
        if node is not None:
            found = read_answers(listed, Scope((node,), root=node), f"{where}.{CLASSIFICATIONS}")
            return found[0] if found else None
        flat = list(read_answers(listed, None, f"{where}.{CLASSIFICATIONS}"))
        if not flat:
            return None
        # Without the ontology the root answer is the entry named as the frame entries name the
        # classification, else the last (the SDK writes nested answers first); the others nest under it.
        root = next((c for c in flat if entry.get(NAME) is not None and c.name == entry.get(NAME)), flat[-1])
        others = tuple(c for c in flat if c is not root)
        if others and isinstance(root.answer, Radio):
            chosen = replace(root.answer.answer, classifications=others)
            root = replace(root, answer=Radio(chosen))
        feature = answer.get(FEATURE_HASH) or entry.get(FEATURE_HASH)
        return ClassificationAnnotation(
            root.answer, name=root.name, schema_id=str(feature) if feature else root.schema_id
        )

    # --- image and image group units ----------------------------------------------------------------------

    def _flat_unit(
        self,
        data_type: DataType,
        unit: Unit,
        details: LabelDetails,
        sequence: int,
        per_frame: dict[str, tuple[list[int], dict[str, Any]]],
    ) -> Iterator[LabeledItem | Problem]:
        key = self.key(unit)
        self.problems = []
        self.fast_taken = {}
        if unit.width is None or unit.height is None:
            yield self.problem(
                unit.path,
                "the data unit needs its width and height (the coordinates are fractions of them)",
                [unit.raw.get(WIDTH), unit.raw.get(HEIGHT)],
                key=key,
            )
            return
        size = Frame(unit.width, unit.height, self.options.tolerance)
        labels = unit.raw.get(LABELS) or {}
        gathered: dict[str, Gathered] = {}
        annotations: list[AnyAnnotation | EncodedAnnotation] = []
        paths: dict[str, str] = {}
        objects = labels.get(OBJECTS) if isinstance(labels, Mapping) else None
        if objects is not None and not isinstance(objects, list):
            self.problems.append(
                self.problem(f"{unit.path}.{LABELS}.{OBJECTS}", "objects must be a list", str(objects)[:80])
            )
            objects = None
        # The image's objects in input order: a plain object the fast path encoded, or the objectHash of one
        # gathered for the checked path (or waiting there with its answers), built in the loop after.
        slots: list[EncodedAnnotation | str] = []
        placed = 0
        for i, obj in enumerate(objects or ()):
            path = f"{unit.path}.{LABELS}.{OBJECTS}[{i}]"
            encoded = self._fast(obj, path, size, unit, gathered) if self.options.fast else None
            if type(encoded) is EncodedAnnotation:
                slots.append(encoded)
                paths[encoded.uuid] = self.where(path)
                continue
            if encoded is None:
                if self.fast_taken and type(obj) is dict:
                    self._untake(obj.get(OBJECT_HASH), sequence, size, slots, paths, gathered)
                self._frame_object(obj, sequence, path, size, gathered)
            if len(gathered) > placed:  # this object is the first of its objectHash: its place is here
                slots.append(next(reversed(gathered)))
                placed += 1
        for slot in slots:
            if not isinstance(slot, str):
                annotations.append(slot)
                continue
            obj = gathered[slot]
            if obj.failure is not None:
                self.problems.append(keyed(obj.failure, key))
                continue
            if obj.encoded is not None:
                annotations.append(self._in_group(obj, obj.encoded, unit))
                paths[obj.encoded.uuid] = self.where(obj.path)
                continue
            try:
                classifications = on_image(self._classifications_of(obj), sequence)
            except Failed as failed:
                self.problems.append(keyed(failed.problem, key))
                continue
            ((_, geometry, path),) = obj.frames
            uuid = obj.uuid
            if obj.hash in self.seen:
                # One object across images of a group: each image is its own data row, so each gets its own uuid.
                uuid = str(uuid_module.uuid5(uuid_module.UUID(uuid), unit.data_hash))
            self.seen.add(obj.hash)
            annotations.append(
                ObjectAnnotation(
                    uuid, geometry, obj.name, obj.schema_id, confidence=obj.confidence, classifications=classifications
                )
            )
            paths[uuid] = self.where(path)
        for found in self._classifications(per_frame, image=True, sequence=sequence):
            if isinstance(found, Problem):
                self.problems.append(keyed(found, key))
                continue
            annotation, _frames = found
            annotations.append(self._for_unit(annotation, unit))
        yield from self.problems
        yield LabeledItem(
            key,
            (Label(self.ctx.label_kind, tuple(annotations), details),),
            media=self._media(data_type, unit, key),
            file=self.file,
            line=self.line,
            path=self.path or None,
            paths=paths,
        )

    def _in_group(self, obj: Gathered, encoded: EncodedAnnotation, unit: Unit) -> EncodedAnnotation:
        """An encoded object with answers at its place: its uuid derived, as a checked object's, when an earlier
        image of the group had its hash."""
        if obj.hash in self.seen:
            encoded.uuid = str(uuid_module.uuid5(uuid_module.UUID(encoded.uuid), unit.data_hash))
            encoded.payload["uuid"] = encoded.uuid
        self.seen.add(obj.hash)
        return encoded

    def _for_unit(self, annotation: ClassificationAnnotation, unit: Unit) -> ClassificationAnnotation:
        """A classification of an image group on one of its images: the first image it is on keeps its uuid,
        the others derive one from it and the image (each image is a data row, and a uuid one annotation)."""
        if annotation.uuid is None:
            return annotation
        if annotation.uuid not in self.seen:
            self.seen.add(annotation.uuid)
            return annotation
        derived = str(uuid_module.uuid5(uuid_module.UUID(annotation.uuid), unit.data_hash))
        return replace(annotation, uuid=derived)

    # --- video, DICOM and NIfTI units -------------------------------------------------------------------------

    def _frames(self, unit: Unit) -> dict[int, Any]:
        labels = unit.raw.get(LABELS) or {}
        if not isinstance(labels, Mapping):
            raise Failed(
                self.problem(f"{unit.path}.{LABELS}", "labels must be an object keyed by frame", str(labels)[:80])
            )
        frames = {}
        for raw_frame, content in labels.items():
            try:
                frame = int(raw_frame)
            except (TypeError, ValueError):
                frame = -1
            if frame < 0 or str(raw_frame).strip() != str(frame):
                self.problems.append(
                    self.problem(f"{unit.path}.{LABELS}", f"frame key {raw_frame!r} is not a frame number", raw_frame)
                )
                continue
            frames[frame] = content
        return frames

    def _framed_unit(self, data_type: DataType, unit: Unit, details: LabelDetails) -> Iterator[LabeledItem | Problem]:
        key = self.key(unit)
        self.problems = []
        try:
            media = self._stored(unit, key)
            frames = self._frames(unit)
            if data_type is DataType.VIDEO:
                annotations, paths = self._video(unit, media, frames)
            else:
                annotations, paths = self._series(unit, media, frames)
        except Failed as failed:
            yield from (keyed(p, key) for p in self.problems)
            yield keyed(failed.problem, key)
            return
        yield from (keyed(p, key) for p in self.problems)
        yield LabeledItem(
            key,
            (Label(self.ctx.label_kind, tuple(annotations), details),),
            media=media or self._media(data_type, unit, key),
            file=self.file,
            line=self.line,
            path=self.path or None,
            paths=paths,
        )

    def _video(
        self, unit: Unit, media: DataRow | None, frames: dict[int, Any]
    ) -> tuple[list[AnyAnnotation], dict[str, str]]:
        if unit.width is None or unit.height is None:
            raise Failed(self.problem(unit.path, "the data unit needs its width and height", None))
        attributes = media.media_attributes if media is not None else None
        if (
            attributes is not None
            and attributes.width is not None
            and (attributes.width, attributes.height)
            != (
                unit.width,
                unit.height,
            )
        ):
            raise Failed(
                self.problem(
                    unit.path,
                    f"the label row's video is {unit.width} x {unit.height} px, the data row's "
                    f"{attributes.width} x {attributes.height} px",
                    [unit.width, unit.height],
                )
            )
        limit = attributes.frames if attributes is not None else None
        size = Frame(unit.width, unit.height, self.options.tolerance)
        gathered: dict[str, Gathered] = {}
        for frame, labels in sorted(frames.items()):
            frame_path = f"{unit.path}.{LABELS}.{frame}"
            if limit is not None and frame >= limit:
                self._beyond(
                    labels, frame, frame_path, f"frame {frame} is beyond the video, which has frames 0 to {limit - 1}"
                )
                continue
            self._frame_objects(unit, frame, frame_path, labels, size, gathered)
        return self._annotations(gathered, frames, lambda o: track(o, self._classifications_of(o)))

    def _annotations(
        self, gathered: dict[str, Gathered], frames: Mapping[int, Any], build: Callable[[Gathered], AnyAnnotation]
    ) -> tuple[list[AnyAnnotation], dict[str, str]]:
        """A video or series unit's annotations (its objects made by ``build``, its classifications over frame
        ranges) and the path of each object in the input."""
        annotations: list[AnyAnnotation] = []
        paths: dict[str, str] = {}
        for obj in gathered.values():
            built = self._object(obj, build)
            if built is not None:
                annotations.append(built)
                paths[obj.uuid] = self.where(obj.path)
        for found in self._classifications(self._frame_classifications(frames), image=False):
            if isinstance(found, Problem):
                self.problems.append(found)
                continue
            annotation, spans = found
            annotations.append(framed(annotation, spans))
        return annotations, paths

    def _beyond(self, labels: Any, frame: int, frame_path: str, message: str) -> None:
        """Each object of a frame the media does not have fails, naming the frame."""
        objects = labels.get(OBJECTS) if isinstance(labels, Mapping) else None
        for i, obj in enumerate(objects if isinstance(objects, list) else ()):
            object_hash = obj.get(OBJECT_HASH) if isinstance(obj, Mapping) else None
            uuid = uuid_of_hash(object_hash) if isinstance(object_hash, str) and object_hash else None
            self.problems.append(
                self.problem(
                    f"{frame_path}.{OBJECTS}[{i}]", message, frame, frame=frame, object_hash=object_hash, uuid=uuid
                )
            )

    def _object(self, obj: Gathered, build: Any) -> AnyAnnotation | None:
        if obj.failure is not None:
            self.problems.append(obj.failure)
            return None
        try:
            built: AnyAnnotation = build(obj)
        except Failed as failed:
            self.problems.append(failed.problem)
            return None
        except ValidationError as exc:
            self.problems.append(self.problem(obj.path, exc.message, exc.value, object_hash=obj.hash, uuid=obj.uuid))
            return None
        return built


def read_rows(source: Source, ctx: ReadContext) -> Iterator[LabeledItem | Problem]:
    """Items and located problems of Encord label rows (a JSON array, one row, or NDJSON of rows)."""
    options = ReadOptions.parse(ctx.options)
    features = Features(ctx.ontology) if ctx.ontology is not None else None
    values = iter_json_items(source)
    # An Encord export is one JSON array, parsed whole: millions of containers that live until read. The
    # collector is off while they are made and they are frozen after, so no collection walks them (they are
    # acyclic: their reference counts free them all the same); that halves the time to read a large export.
    enabled = gc.isenabled()
    gc.disable()
    try:
        first = next(values, None)
    finally:
        if enabled:
            gc.enable()
    gc.freeze()
    try:
        for item in itertools.chain((first,) if first is not None else (), values):
            if item.error is not None:
                yield Problem(item.location, item.error, item.value)
                continue
            yield from RowReader(ctx, options, features, item.value, item.location).read()
    finally:
        gc.unfreeze()


__all__ = ["RowReader", "read_rows"]
