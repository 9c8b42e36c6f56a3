"""Encord's label-row API on a labelport project: ``project.list_label_rows_v2()``, ``initialise_labels()``,
instances added and ``save()``d, ``project.create_bundle()``.

A label row is one data row of the project with its label of one kind (ground truth unless asked for
pre-labels). ``initialise_labels`` reads the stored label as Encord writes it (the ``encord_label_rows``
format, through the registry); ``save`` imports the row's ``to_encord_dict()`` with that format, which
replaces the data row's label as a whole, as Encord's save does. A bundle saves its rows in chunks of
``bundle_size`` (default and most 1000, Encord's limit), one import per chunk.

Frames are Encord's: a video frame, or on a DICOM series the slice index as labelport exports it (the grid
slice, its instance UID written beside it so the import finds it whatever order Encord lists slices in).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from labelport.formats.encord.answers import track_hash
from labelport.formats.encord.coordinates import snake
from labelport.formats.encord.fields import (
    ACTIONS,
    ANSWERS,
    CLASSIFICATION_ANSWERS,
    CLASSIFICATION_HASH,
    CLASSIFICATIONS,
    COLOR,
    CONFIDENCE,
    CREATED_AT_OBJECT,
    CREATED_BY,
    DATA_HASH,
    DATA_SEQUENCE,
    DATA_TITLE,
    DATA_TYPE,
    DATA_UNITS,
    DICOM_INSTANCE_UID,
    DYNAMIC,
    FEATURE_HASH,
    HEIGHT,
    LABEL_HASH,
    LABELS,
    LAST_EDITED_AT_OBJECT,
    LAST_EDITED_BY,
    MANUAL_ANNOTATION,
    METADATA,
    MULTIFRAME_FRAME_NUMBER,
    NAME,
    OBJECT_ACTIONS,
    OBJECT_ANSWERS,
    OBJECT_HASH,
    OBJECTS,
    RANGE,
    SHAPE,
    SHOULD_PROPAGATE,
    SPACES,
    TRACK_HASH,
    VALUE,
    WIDTH,
    AttributeType,
    DataType,
)
from labelport.formats.encord.reading import parse_time
from labelport.formats.encord.rows_write import timestamp
from labelport.formats.encord.slices import ranges
from labelport.model.label import LabelKind
from labelport.model.media import DataRow
from labelport.sdk.encord.coordinates import coordinate_keys, coordinates_of
from labelport.sdk.encord.instances import Answer, ClassificationInstance, ObjectInstance, frame_list
from labelport.sdk.encord.ontology import (
    Attribute,
    Classification,
    LabelRowError,
    Object,
    OntologyError,
    OntologyStructure,
    Option,
    attributes_under,
)

if TYPE_CHECKING:
    from labelport.sdk.resources import Project

FORMAT = "encord_label_rows"
BUNDLE_LIMIT = 1000


class LabelRowV2:
    """One data row of a project and its label of one kind, as an Encord label row."""

    def __init__(self, project: Project, media: DataRow, row: Mapping[str, Any], kind: LabelKind) -> None:
        self.project = project
        self.media = media
        self.kind = kind
        self._row = dict(row)
        self._structure: OntologyStructure | None = None
        self._objects: dict[str, ObjectInstance] = {}
        self._classifications: dict[str, ClassificationInstance] = {}
        self._initialised = False

    # --- what the row is ------------------------------------------------------------------------------

    @property
    def label_hash(self) -> str:
        return str(self._row[LABEL_HASH])

    @property
    def data_hash(self) -> str:
        return str(self._row[DATA_HASH])

    @property
    def data_title(self) -> str:
        return str(self._row[DATA_TITLE])

    @property
    def data_type(self) -> DataType:
        return DataType(self._row[DATA_TYPE])

    @property
    def _unit(self) -> dict[str, Any]:
        return dict(next(iter(self._row[DATA_UNITS].values())))

    @property
    def width(self) -> int | None:
        value = self._unit.get(WIDTH)
        return int(value) if value is not None else None

    @property
    def height(self) -> int | None:
        value = self._unit.get(HEIGHT)
        return int(value) if value is not None else None

    @property
    def number_of_frames(self) -> int:
        attributes = self.media.media_attributes
        return attributes.frames or attributes.slices or 1

    @property
    def ontology_structure(self) -> OntologyStructure:
        if self._structure is None:
            ontology = self.project.ontology()
            if ontology is None:
                raise LabelRowError(f"project {self.project.name!r} has no ontology; connect one first")
            self._structure = OntologyStructure.of(ontology.model)
        return self._structure

    @property
    def is_labelling_initialised(self) -> bool:
        return self._initialised

    def _check_initialised(self) -> None:
        if not self._initialised:
            raise LabelRowError("call initialise_labels() on the label row before labelling it")

    # --- labels in and out -------------------------------------------------------------------------------

    def initialise_labels(
        self,
        include_object_feature_hashes: set[str] | None = None,
        include_classification_feature_hashes: set[str] | None = None,
        include_reviews: bool = False,
        overwrite: bool = False,
        bundle: Bundle | None = None,
        **_options: Any,
    ) -> None:
        """Read the row's stored labels (in a bundle: when the bundle runs, all rows in one read).

        The filters keep only the objects and classifications of those feature hashes; saving afterwards
        replaces the whole row, dropping what was filtered out (as in Encord).
        """
        if self._initialised and not overwrite:
            raise LabelRowError("the labels are initialised already; pass overwrite=True to read them again")
        self._filters = (include_object_feature_hashes, include_classification_feature_hashes)
        if bundle is not None:
            bundle.initialise.append(self)
            return
        [(_, row)] = self.project.client.backend.encord_rows(self.project.uid, self.kind, [self.media.id])
        self.from_labels_dict(row)

    _filters: tuple[set[str] | None, set[str] | None] = (None, None)

    def from_labels_dict(self, label_row_dict: Mapping[str, Any]) -> None:
        """Take the labels of an Encord label row dict (replacing what the row held)."""
        self._row = dict(label_row_dict)
        self._objects, self._classifications = {}, {}
        structure = self.ontology_structure
        objects_wanted, classifications_wanted = self._filters
        for unit in self._row[DATA_UNITS].values():
            labels = unit.get(LABELS) or {}
            if OBJECTS in labels:
                self._read_frame(structure, int(unit.get(DATA_SEQUENCE) or 0), labels, objects_wanted)
            else:
                for frame, content in labels.items():
                    self._read_frame(structure, int(frame), content, objects_wanted)
        for answer in (self._row.get(OBJECT_ANSWERS) or {}).values():
            instance = self._objects.get(str(answer.get(OBJECT_HASH)))
            if instance is not None:
                for entry in answer.get(CLASSIFICATIONS) or ():
                    attribute, value = _answer(instance.ontology_item.attributes, entry)
                    instance.answers.static[attribute.feature_node_hash] = (attribute, value)
        for action in (self._row.get(OBJECT_ACTIONS) or {}).values():
            instance = self._objects.get(str(action.get(OBJECT_HASH)))
            if instance is not None:
                for entry in action.get(ACTIONS) or ():
                    attribute, value = _answer(instance.ontology_item.attributes, entry)
                    frames = [f for start, end in entry.get(RANGE) or () for f in range(start, end + 1)]
                    instance.answers.dynamic.append((attribute, value, frames))
        self._read_classifications(structure, classifications_wanted)
        self._initialised = True

    def _read_frame(
        self, structure: OntologyStructure, frame: int, labels: Mapping[str, Any], wanted: set[str] | None
    ) -> None:
        for obj in labels.get(OBJECTS) or ():
            feature = str(obj.get(FEATURE_HASH))
            if wanted is not None and feature not in wanted:
                continue
            try:
                ontology_object = structure.get_child_by_hash(feature, Object)
            except OntologyError as exc:
                raise LabelRowError(f"frame {frame}, objectHash {obj.get(OBJECT_HASH)}: {exc}") from None
            object_hash = str(obj[OBJECT_HASH])
            instance = self._objects.setdefault(object_hash, ObjectInstance(ontology_object, object_hash=object_hash))
            instance.set_for_frames(
                coordinates_of(obj),
                frame,
                overwrite=True,
                created_at=parse_time(obj.get(CREATED_AT_OBJECT)),
                created_by=obj.get(CREATED_BY),
                last_edited_at=parse_time(obj.get(LAST_EDITED_AT_OBJECT)),
                last_edited_by=obj.get(LAST_EDITED_BY),
                confidence=obj.get(CONFIDENCE),
                manual_annotation=obj.get(MANUAL_ANNOTATION),
            )

    def _read_classifications(self, structure: OntologyStructure, wanted: set[str] | None) -> None:
        per_frame: dict[str, list[int]] = {}
        for unit in self._row[DATA_UNITS].values():
            labels = unit.get(LABELS) or {}
            frames = {int(unit.get(DATA_SEQUENCE) or 0): labels} if OBJECTS in labels else labels
            for frame, content in frames.items():
                for entry in content.get(CLASSIFICATIONS) or ():
                    per_frame.setdefault(str(entry.get(CLASSIFICATION_HASH)), []).append(int(frame))
        for hash_, answer in (self._row.get(CLASSIFICATION_ANSWERS) or {}).items():
            feature = str(answer.get(FEATURE_HASH))
            if wanted is not None and feature not in wanted:
                continue
            try:
                classification = structure.get_child_by_hash(feature, Classification)
            except OntologyError as exc:
                raise LabelRowError(f"classificationHash {hash_}: {exc}") from None
            instance = ClassificationInstance(classification, classification_hash=str(hash_))
            spans = answer.get(RANGE) or []
            frames = [f for start, end in spans for f in range(start, end + 1)] or per_frame.get(str(hash_), [])
            if not frames and not classification.is_global:
                continue  # placed nowhere: Encord drops it too
            instance.set_for_frames(
                frames,
                overwrite=True,
                created_at=parse_time(answer.get(CREATED_AT_OBJECT)),
                created_by=answer.get(CREATED_BY),
                confidence=answer.get(CONFIDENCE),
                manual_annotation=answer.get(MANUAL_ANNOTATION),
            )
            for entry in answer.get(CLASSIFICATIONS) or ():
                attribute, value = _answer(classification.attributes, entry)
                instance.answers.static[attribute.feature_node_hash] = (attribute, value)
            self._classifications[instance.classification_hash] = instance

    def to_encord_dict(self) -> dict[str, Any]:
        """The label row as Encord's SDK writes it (with per-frame classification entries as well)."""
        self._check_initialised()
        frames: dict[int, dict[str, list[dict[str, Any]]]] = {}
        object_answers: dict[str, Any] = {}
        object_actions: dict[str, Any] = {}
        for instance in self._objects.values():
            obj = instance.ontology_item
            for annotation in instance.get_annotations():
                info = annotation.info
                entry: dict[str, Any] = {
                    NAME: obj.name,
                    COLOR: obj.color,
                    SHAPE: obj.shape.value,
                    VALUE: snake(obj.name),
                    CREATED_AT_OBJECT: timestamp(info.created_at),
                    CREATED_BY: info.created_by,
                    CONFIDENCE: info.confidence,
                    OBJECT_HASH: instance.object_hash,
                    FEATURE_HASH: obj.feature_node_hash,
                    MANUAL_ANNOTATION: info.manual_annotation,
                }
                if info.last_edited_at is not None:
                    entry[LAST_EDITED_AT_OBJECT] = timestamp(info.last_edited_at)
                if info.last_edited_by is not None:
                    entry[LAST_EDITED_BY] = info.last_edited_by
                entry.update(coordinate_keys(annotation.coordinates))
                frames.setdefault(annotation.frame, {OBJECTS: [], CLASSIFICATIONS: []})[OBJECTS].append(entry)
            static = [_attribute_dict(a, v) for a, v in instance.answers.static.values()]
            object_answers[instance.object_hash] = {OBJECT_HASH: instance.object_hash, CLASSIFICATIONS: static[::-1]}
            actions = []
            for attribute, value, frames_on in instance.answers.dynamic:
                entry = {
                    **_attribute_dict(attribute, value),
                    DYNAMIC: True,
                    RANGE: _spans(frames_on),
                    SHOULD_PROPAGATE: False,
                }
                entry[TRACK_HASH] = track_hash(entry, entry[RANGE])
                actions.append(entry)
            if actions:
                object_actions[instance.object_hash] = {OBJECT_HASH: instance.object_hash, ACTIONS: actions}
        classification_answers: dict[str, Any] = {}
        for classification in self._classifications.values():
            info = classification.info
            meta = {
                CREATED_BY: info.created_by,
                CREATED_AT_OBJECT: timestamp(info.created_at),
                LAST_EDITED_BY: info.last_edited_by,
                LAST_EDITED_AT_OBJECT: timestamp(info.last_edited_at or info.created_at),
                CONFIDENCE: info.confidence,
                MANUAL_ANNOTATION: info.manual_annotation,
            }
            classification_answers[classification.classification_hash] = {
                CLASSIFICATION_HASH: classification.classification_hash,
                FEATURE_HASH: classification.feature_hash,
                SPACES: {},
                RANGE: _spans(classification.frames),
                **meta,
                CLASSIFICATIONS: [_attribute_dict(a, v) for a, v in classification.answers.static.values()][::-1],
            }
            title = classification.ontology_item.title
            for frame in classification.frames:
                frames.setdefault(frame, {OBJECTS: [], CLASSIFICATIONS: []})[CLASSIFICATIONS].append(
                    {
                        NAME: title,
                        VALUE: snake(title),
                        CLASSIFICATION_HASH: classification.classification_hash,
                        FEATURE_HASH: classification.feature_hash,
                        **meta,
                    }
                )
        unit = self._unit
        if self.data_type in (DataType.IMAGE, DataType.IMG_GROUP):
            unit[LABELS] = frames.get(0, {OBJECTS: [], CLASSIFICATIONS: []})
        else:
            unit[LABELS] = {str(f): {**frames[f], **self._slice_metadata(f)} for f in sorted(frames)}
        row = dict(self._row)
        row.update(
            {
                DATA_UNITS: {next(iter(self._row[DATA_UNITS])): unit},
                OBJECT_ANSWERS: object_answers,
                CLASSIFICATION_ANSWERS: classification_answers,
                OBJECT_ACTIONS: object_actions,
                SPACES: {},
            }
        )
        return row

    def _slice_metadata(self, frame: int) -> dict[str, Any]:
        """A DICOM slice's instance UID, so the import finds the slice by it."""
        uids = self.media.media_attributes.instance_uids
        if self.data_type is not DataType.DICOM or not uids or not 0 <= frame < len(uids):
            return {}
        uid, _, number = uids[frame].partition("#")
        attributes = self.media.media_attributes
        return {
            METADATA: {
                DICOM_INSTANCE_UID: uid,
                MULTIFRAME_FRAME_NUMBER: int(number) if number else None,
                WIDTH: attributes.columns,
                HEIGHT: attributes.rows,
            }
        }

    # --- instances ---------------------------------------------------------------------------------------

    def add_object_instance(self, object_instance: ObjectInstance, force: bool = True) -> None:
        self._check_initialised()
        if not object_instance.frames:
            raise LabelRowError("the object is on no frame: call set_for_frames before adding it")
        if self.data_type is DataType.IMAGE and set(object_instance.frames) != {0}:
            raise LabelRowError(f"an image has frame 0 only; the object is on {sorted(object_instance.frames)}")
        self._structure_has(object_instance.ontology_item)
        if object_instance.object_hash in self._objects and not force:
            raise LabelRowError(f"object {object_instance.object_hash} is on the row already")
        self._objects[object_instance.object_hash] = object_instance

    def add_classification_instance(self, classification_instance: ClassificationInstance, force: bool = False) -> None:
        self._check_initialised()
        self._structure_has(classification_instance.ontology_item)
        if not classification_instance.frames and not classification_instance.is_global():
            raise LabelRowError("the classification is on no frame: call set_for_frames before adding it")
        if classification_instance.get_answer() is None:
            raise LabelRowError("the classification has no answer: call set_answer before adding it")
        for other in self._classifications.values():
            overlap = set(other.frames) & set(classification_instance.frames)
            same = other.feature_hash == classification_instance.feature_hash
            if same and other is not classification_instance and (overlap or other.is_global()) and not force:
                raise LabelRowError(
                    f"classification {other.ontology_item.title!r} is on frames {sorted(overlap)} already"
                )
        self._classifications[classification_instance.classification_hash] = classification_instance

    def _structure_has(self, node: Object | Classification) -> None:
        if not any(n is node for n in self.ontology_structure.descendants()):
            raise LabelRowError(f"{node.title!r} is not from this label row's ontology_structure")

    def remove_object(self, object_instance: ObjectInstance) -> None:
        self._objects.pop(object_instance.object_hash, None)

    def remove_classification(self, classification_instance: ClassificationInstance) -> None:
        self._classifications.pop(classification_instance.classification_hash, None)

    def get_object_instances(
        self, filter_ontology_object: Object | None = None, filter_frames: Any = None
    ) -> list[ObjectInstance]:
        self._check_initialised()
        frames = set(frame_list(filter_frames)) if filter_frames is not None else None
        return [
            o
            for o in self._objects.values()
            if (filter_ontology_object is None or o.ontology_item is filter_ontology_object)
            and (frames is None or frames & set(o.frames))
        ]

    def get_classification_instances(
        self, filter_ontology_classification: Classification | None = None, filter_frames: Any = None
    ) -> list[ClassificationInstance]:
        self._check_initialised()
        frames = set(frame_list(filter_frames)) if filter_frames is not None else None
        return [
            c
            for c in self._classifications.values()
            if (filter_ontology_classification is None or c.ontology_item is filter_ontology_classification)
            and (frames is None or c.is_global() or frames & set(c.frames))
        ]

    # --- saving ---------------------------------------------------------------------------------------------

    def save(self, bundle: Bundle | None = None, validate_before_saving: bool = False) -> None:
        """Replace the data row's label with this row's labels (in a bundle: when the bundle runs)."""
        self._check_initialised()
        if bundle is not None:
            bundle.save.append(self)
            return
        _save(self.project, [self], self.kind)

    def __repr__(self) -> str:
        return f"LabelRowV2(data_title={self.data_title!r}, data_type={self.data_type.value}, kind={self.kind.value})"


def _answer(roots: Sequence[Attribute], entry: Mapping[str, Any]) -> tuple[Attribute, Answer]:
    feature = str(entry.get(FEATURE_HASH))
    attribute = next((a for a in attributes_under(roots) if a.feature_node_hash == feature), None)
    if attribute is None:
        raise LabelRowError(f"attribute featureHash {feature!r} ({entry.get(NAME)!r}) is not in the ontology here")
    raw = entry.get(ANSWERS)
    if attribute.kind is AttributeType.TEXT:
        return attribute, str(raw)
    chosen: list[Option] = []
    for item in raw or ():
        option = next((o for o in attribute.options if o.feature_node_hash == item.get(FEATURE_HASH)), None)
        if option is None:
            raise LabelRowError(f"answer {item.get(FEATURE_HASH)!r} is not an option of {attribute.name!r}")
        chosen.append(option)
    if attribute.kind is AttributeType.RADIO:
        if len(chosen) != 1:
            raise LabelRowError(f"radio attribute {attribute.name!r} has {len(chosen)} answers")
        return attribute, chosen[0]
    return attribute, chosen


def _attribute_dict(attribute: Attribute, answer: Answer) -> dict[str, Any]:
    if isinstance(answer, str):
        answers: Any = answer
    else:
        options = [answer] if isinstance(answer, Option) else list(answer)
        answers = [{NAME: o.label, VALUE: o.value, FEATURE_HASH: o.feature_node_hash} for o in options]
    return {
        NAME: attribute.name,
        VALUE: snake(attribute.name),
        FEATURE_HASH: attribute.feature_node_hash,
        MANUAL_ANNOTATION: True,
        ANSWERS: answers,
    }


def _spans(frames: Iterable[int]) -> list[list[int]]:
    return [[s.start, s.end] for s in ranges(frames)]


def _save(project: Project, rows: Sequence[LabelRowV2], kind: LabelKind) -> None:
    """Import ``rows`` as one import of ``kind``; raises naming the failures (the good ones are stored)."""
    backend = project.client.backend
    job = backend.import_annotations(
        project.uid, f"label rows ({len(rows)})", [r.to_encord_dict() for r in rows], kind, FORMAT
    )
    if job.state != "FINISHED":
        raise LabelRowError(f"saving the label rows failed: {job.error}")
    failures = backend.import_statuses(job.id, True)
    if failures:
        shown = "; ".join(f["errors"][0]["message"] for f in failures[:5] if f["errors"])
        raise LabelRowError(f"{len(failures)} label(s) of {len(rows)} row(s) were not saved: {shown}")


class Bundle:
    """Label-row operations run together on exit (``with project.create_bundle() as bundle:``): reads in one
    go, saves in chunks of ``bundle_size`` rows (at most 1000, Encord's limit), one import per chunk."""

    def __init__(self, project: Project, bundle_size: int | None = None) -> None:
        if bundle_size is not None and bundle_size < 1:
            raise LabelRowError(f"bundle_size must be a positive number, found {bundle_size!r}")
        self.project = project
        self.size = min(bundle_size or BUNDLE_LIMIT, BUNDLE_LIMIT)
        self.initialise: list[LabelRowV2] = []
        self.save: list[LabelRowV2] = []

    def __enter__(self) -> Bundle:
        return self

    def __exit__(self, kind: type[BaseException] | None, *_rest: object) -> None:
        if kind is None:
            self.execute()

    def execute(self) -> None:
        pending, self.initialise = self.initialise, []
        for kind in {r.kind for r in pending}:
            rows = [r for r in pending if r.kind is kind]
            for start in range(0, len(rows), self.size):
                chunk = rows[start : start + self.size]
                found = self.project.client.backend.encord_rows(self.project.uid, kind, [r.media.id for r in chunk])
                by_id = {media.id: row for media, row in found}
                for r in chunk:
                    r.from_labels_dict(by_id[r.media.id])
        saving, self.save = self.save, []
        for kind in {r.kind for r in saving}:
            rows = [r for r in saving if r.kind is kind]
            for start in range(0, len(rows), self.size):
                _save(self.project, rows[start : start + self.size], kind)


def list_label_rows_v2(
    project: Project,
    data_hashes: Sequence[str] | None = None,
    label_hashes: Sequence[str] | None = None,
    *,
    data_title_eq: str | None = None,
    data_title_like: str | None = None,
    kind: LabelKind | str = LabelKind.GROUND_TRUTH,
    **_filters: Any,
) -> list[LabelRowV2]:
    """The project's data rows as label rows (``kind``: ground truth, or pre-labels), filtered as Encord's
    SDK filters them: by data hash, label hash, title (``data_title_like`` with ``%`` wildcards)."""
    import fnmatch

    wanted = LabelKind.parse(kind)
    rows = [
        LabelRowV2(project, media, row, wanted)
        for media, row in project.client.backend.encord_rows(project.uid, wanted, None)
    ]
    if data_hashes is not None:
        rows = [r for r in rows if r.data_hash in set(data_hashes)]
    if label_hashes is not None:
        rows = [r for r in rows if r.label_hash in set(label_hashes)]
    if data_title_eq is not None:
        rows = [r for r in rows if r.data_title == data_title_eq]
    if data_title_like is not None:
        pattern = data_title_like.replace("%", "*").replace("_", "?")
        rows = [r for r in rows if fnmatch.fnmatchcase(r.data_title, pattern)]
    return rows


__all__ = ["BUNDLE_LIMIT", "Bundle", "LabelRowV2", "list_label_rows_v2"]
