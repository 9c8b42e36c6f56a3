"""Encord attribute answers and labelport classifications, both ways (notes/encord.md sections 5 and 6).

Encord lists the answers of an object (``object_answers``, ``object_actions``) or of a classification
(``classification_answers``) flat: an attribute nested under a radio option is one more entry of the same
list, found by its ``featureHash``. labelport nests them: a radio answer holds the classifications of its
option. With the ontology the entries are put back in their tree (by hash, never by position); without
one they stay flat, a one-answer list read as a radio and a longer one as a checklist.

Dynamic answers (``object_actions``) carry the frame ranges they hold on; they become classifications
with ``frames``, and a classification with frames (or on a keyframe) is written back as one.
"""

from __future__ import annotations

import uuid as uuid_module
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from labelport.errors import ValidationError
from labelport.formats.encord.coordinates import snake
from labelport.formats.encord.fields import (
    ANSWERS,
    DYNAMIC,
    FEATURE_HASH,
    MANUAL_ANNOTATION,
    NAME,
    RANGE,
    SHOULD_PROPAGATE,
    TRACK_HASH,
    VALUE,
)
from labelport.formats.encord.ontology import attribute_hash, feature_hash
from labelport.model.annotation import (
    Checklist,
    ClassificationAnnotation,
    ClassificationAnswer,
    FrameRange,
    Radio,
    Text,
)
from labelport.model.ontology import Classification, ClassificationType, Option

_TRACKS = uuid_module.UUID("9d3b1c5e-2f4a-4b6c-8d7e-0a1b2c3d4e5f")


@dataclass(frozen=True, slots=True)
class _Placed:
    node: Classification
    parent: Option | None


@dataclass(slots=True)
class Scope:
    """The attributes an answer list may use: an object's, or one top-level classification's.

    ``root`` is the top-level classification whose own attribute hash (``attribute_hash``) names it.
    """

    top: tuple[Classification, ...]
    root: Classification | None = None
    nodes: dict[str, _Placed] = field(default_factory=dict)
    order: dict[str, int] = field(default_factory=dict)  # schema id -> place in the ontology

    def __post_init__(self) -> None:
        def walk(nodes: Iterable[Classification], parent: Option | None) -> None:
            for node in nodes:
                self.order.setdefault(node.schema_id, len(self.order))
                for key in (feature_hash(node), node.schema_id):
                    self.nodes.setdefault(key, _Placed(node, parent))
                for option in node.options:
                    walk(option.classifications, option)

        walk(self.top, None)
        if self.root is not None:
            self.nodes.setdefault(attribute_hash(self.root), _Placed(self.root, None))

    def find(self, entry: Mapping[str, Any]) -> _Placed | None:
        placed = self.nodes.get(str(entry.get(FEATURE_HASH)))
        if placed is None and self.root is not None and entry.get(NAME) == self.root.name:
            # A classification matched by name (another platform's ontology): its attribute hash differs.
            return _Placed(self.root, None)
        return placed


def _option(node: Classification, answer: Any, where: str) -> Option:
    if not isinstance(answer, Mapping):
        raise ValidationError(f"{where} must be an answer object, found {answer!r}", field=where, value=answer)
    wanted = answer.get(FEATURE_HASH)
    for option in node.options:
        if wanted in (feature_hash(option), option.schema_id):
            return option
    for option in node.options:  # another platform's ontology: the same option by value or label
        if answer.get(VALUE) in (option.value, option.label) or answer.get(NAME) in (option.value, option.label):
            return option
    raise ValidationError(
        f"{where}: answer featureHash {wanted!r} ({answer.get(NAME)!r}) is not an option of {node.name!r} "
        f"(options: {', '.join(o.value for o in node.options)})",
        field=FEATURE_HASH,
        value=wanted,
    )


def read_range(raw: Any, where: str) -> tuple[FrameRange, ...]:
    if not isinstance(raw, list):
        raise ValidationError(f"{where}.range must be a list of [start, end], found {raw!r}", field=RANGE, value=raw)
    out = []
    for pair in raw:
        if not isinstance(pair, list | tuple) or len(pair) != 2:
            raise ValidationError(f"{where}.range holds {pair!r}, not [start, end]", field=RANGE, value=pair)
        try:
            out.append(FrameRange(pair[0], pair[1]))
        except ValidationError as exc:
            raise ValidationError(f"{where}.range: {exc.message}", field=RANGE, value=pair) from None
    return tuple(out)


@dataclass(slots=True)
class _Answer:
    placed: _Placed
    options: list[Option]
    text: str | None
    frames: tuple[FrameRange, ...]
    manual: bool


def _read_entry(placed: _Placed, entry: Mapping[str, Any], where: str, dynamic: bool) -> _Answer:
    node = placed.node
    raw = entry.get(ANSWERS)
    frames = read_range(entry.get(RANGE, []), where) if dynamic else ()
    manual = entry.get(MANUAL_ANNOTATION) is not False
    if node.type is ClassificationType.TEXT:
        if not isinstance(raw, str):
            raise ValidationError(f"{where}: text attribute {node.name!r} answers {raw!r}", field=ANSWERS, value=raw)
        return _Answer(placed, [], raw, frames, manual)
    if not isinstance(raw, list):
        raise ValidationError(f"{where}: {node.type.value} attribute {node.name!r} answers {raw!r}", field=ANSWERS)
    options = [_option(node, answer, f"{where}.answers[{i}]") for i, answer in enumerate(raw)]
    if node.type is ClassificationType.RADIO and len(options) != 1:
        raise ValidationError(
            f"{where}: radio attribute {node.name!r} has {len(options)} answers, not one",
            field=ANSWERS,
            value=len(options),
        )
    return _Answer(placed, options, None, frames, manual)


def _annotation(answer: _Answer, nested: Mapping[str, list[_Answer]]) -> ClassificationAnnotation:
    node = answer.placed.node
    if answer.text is not None:
        content: Radio | Checklist | Text = Text(answer.text)
    else:
        chosen = tuple(
            ClassificationAnswer(
                name=o.value,
                schema_id=o.schema_id,
                classifications=tuple(_annotation(a, nested) for a in nested.get(o.schema_id, ())),
            )
            for o in answer.options
        )
        content = Radio(chosen[0]) if node.type is ClassificationType.RADIO else Checklist(chosen)
    return ClassificationAnnotation(content, name=node.name, schema_id=node.schema_id, frames=answer.frames)


def read_answers(
    entries: Any, scope: Scope | None, where: str, *, dynamic: bool = False
) -> tuple[ClassificationAnnotation, ...]:
    """The classifications of an answer list; ValidationError names the entry, its hash and value at fault."""
    if entries is None:
        return ()
    if not isinstance(entries, list):
        raise ValidationError(f"{where} must be a list of answers, found {entries!r}", field=where, value=entries)
    if scope is None:
        # The SDK lists nested answers first: read in reverse, so what it wrote comes back in writing order.
        flat = (_flat(entries[i], f"{where}[{i}]", dynamic) for i in reversed(range(len(entries))))
        return tuple(c for c in flat if c is not None)
    answers: list[_Answer] = []
    for i, entry in enumerate(entries):
        at = f"{where}[{i}]"
        if not isinstance(entry, Mapping):
            raise ValidationError(f"{at} must be an object, found {entry!r}", field=at, value=entry)
        placed = scope.find(entry)
        if placed is None:
            raise ValidationError(
                f"{at}: attribute featureHash {entry.get(FEATURE_HASH)!r} ({entry.get(NAME)!r}) is not an attribute "
                f"here (attributes: {', '.join(sorted({p.node.name for p in scope.nodes.values()})) or 'none'})",
                field=FEATURE_HASH,
                value=entry.get(FEATURE_HASH),
            )
        answers.append(_read_entry(placed, entry, at, dynamic))
    # A checklist with nothing checked is unanswered: the SDK drops it, and so does labelport.
    answers = [a for a in answers if a.text is not None or a.options]
    # Checklist answers the editor splits into one entry per option, and repeated entries, are merged.
    merged: dict[tuple[str, tuple[FrameRange, ...]], _Answer] = {}
    for answer in answers:
        key = (answer.placed.node.schema_id, answer.frames)
        known = merged.get(key)
        if known is None:
            merged[key] = answer
        elif answer.text is None:
            known.options.extend(o for o in answer.options if o not in known.options)
    # In the ontology's order: the same answers come back the same whatever order a list gave them in.
    ordered = sorted(merged.values(), key=lambda a: _rank(a, scope))
    nested: dict[str, list[_Answer]] = {}
    for answer in ordered:
        if answer.placed.parent is not None:
            nested.setdefault(answer.placed.parent.schema_id, []).append(answer)
    return tuple(_annotation(a, nested) for a in ordered if a.placed.parent is None)


def _rank(answer: _Answer, scope: Scope) -> tuple[int, tuple[tuple[int, int], ...], tuple[int, ...], str]:
    """A total order of answers: the ontology's, then by frames, chosen options and text."""
    options = tuple(answer.placed.node.options.index(o) for o in answer.options)
    spans = tuple((f.start, f.end) for f in answer.frames)
    return scope.order.get(answer.placed.node.schema_id, 0), spans, options, answer.text or ""


def _flat(entry: Any, where: str, dynamic: bool) -> ClassificationAnnotation | None:
    if not isinstance(entry, Mapping):
        raise ValidationError(f"{where} must be an object, found {entry!r}", field=where, value=entry)
    name, feature = entry.get(NAME), entry.get(FEATURE_HASH)
    raw = entry.get(ANSWERS)
    frames = read_range(entry.get(RANGE, []), where) if dynamic else ()
    if isinstance(raw, str):
        content: Radio | Checklist | Text = Text(raw)
    elif raw == []:
        return None  # unanswered
    elif isinstance(raw, list) and all(isinstance(a, Mapping) for a in raw):
        chosen = tuple(
            ClassificationAnswer(name=a.get(VALUE) or a.get(NAME), schema_id=a.get(FEATURE_HASH)) for a in raw
        )
        content = Radio(chosen[0]) if len(chosen) == 1 else Checklist(chosen)
    else:
        raise ValidationError(f"{where}: answers must be a string or a list, found {raw!r}", field=ANSWERS, value=raw)
    return ClassificationAnnotation(
        content, name=name if isinstance(name, str) and name else None, schema_id=feature, frames=frames
    )


# --- writing ------------------------------------------------------------------------------------------------


def _find(nodes: Sequence[Classification], annotation: ClassificationAnnotation) -> Classification | None:
    for node in nodes:
        ids = {node.schema_id, node.external_ids.encord, node.external_ids.labelbox, node.external_ids.redbrick}
        if annotation.schema_id is not None and annotation.schema_id in ids:
            return node
    return next((n for n in nodes if annotation.name is not None and n.name == annotation.name), None)


def _answer_dict(node: Classification | None, answer: ClassificationAnswer) -> tuple[dict[str, Any], Option | None]:
    option = node.find_option(name=answer.name, schema_id=answer.schema_id) if node is not None else None
    if option is None and node is not None and answer.schema_id is not None:
        option = node.find_option(name=answer.name)
    if option is not None:
        return {NAME: option.label or option.value, VALUE: option.value, FEATURE_HASH: feature_hash(option)}, option
    name = answer.name or answer.schema_id or ""
    return {NAME: name, VALUE: snake(name), FEATURE_HASH: answer.schema_id or name}, None


def attribute_dicts(
    annotations: Iterable[ClassificationAnnotation],
    nodes: Sequence[Classification] | None,
    *,
    manual: bool = True,
    root: Classification | None = None,
    reverse: bool = True,
) -> list[dict[str, Any]]:
    """Encord's flat answer list for ``annotations`` (nested answers first, as the SDK writes them; with
    ``reverse`` false, in reading order).

    ``nodes``: the attributes they answer (an object's), for the hashes and names; ``root``: the top-level
    classification whose attribute these answer. Frames of a classification are not written here
    (``dynamic_dicts`` does).
    """
    out: list[dict[str, Any]] = []

    def visit(annotation: ClassificationAnnotation, scope: Sequence[Classification] | None, is_root: bool) -> None:
        node = root if is_root and root is not None else (_find(scope, annotation) if scope is not None else None)
        name = node.name if node is not None else (annotation.name or annotation.schema_id or "")
        if is_root and root is not None:
            hash_ = attribute_hash(root)
        else:
            hash_ = feature_hash(node) if node is not None else (annotation.schema_id or name)
        entry: dict[str, Any] = {NAME: name, VALUE: snake(name), FEATURE_HASH: hash_, MANUAL_ANNOTATION: manual}
        content = annotation.answer
        if isinstance(content, Text):
            entry[ANSWERS] = content.answer
            out.append(entry)
            return
        chosen = (content.answer,) if isinstance(content, Radio) else content.answers
        pairs = [_answer_dict(node, a) for a in chosen]
        entry[ANSWERS] = [d for d, _ in pairs]
        out.append(entry)
        for answer, (_, option) in zip(chosen, pairs, strict=True):
            for sub in answer.classifications:
                visit(sub, option.classifications if option is not None else None, False)

    for annotation in annotations:
        visit(annotation, nodes, True)
    return list(reversed(out)) if reverse else out


def dynamic_dicts(
    annotation: ClassificationAnnotation,
    nodes: Sequence[Classification] | None,
    frames: Sequence[FrameRange],
    *,
    manual: bool = True,
) -> list[dict[str, Any]]:
    """``object_actions`` entries of a dynamic answer held on ``frames``, in reading order."""
    spans = [[span.start, span.end] for span in frames]
    entries = attribute_dicts((annotation,), nodes, manual=manual, reverse=False)
    for entry in entries:
        entry.update({DYNAMIC: True, RANGE: spans, SHOULD_PROPAGATE: False, TRACK_HASH: track_hash(entry, spans)})
    return entries


def track_hash(entry: Mapping[str, Any], spans: Any) -> str:
    """The ``trackHash`` of a dynamic answer (SDK <= 0.1.190 requires one): a uuid derived from the answer,
    so writing the same labels twice gives the same bytes."""
    return str(uuid_module.uuid5(_TRACKS, repr((entry.get(FEATURE_HASH), entry.get(ANSWERS), spans))))


def is_dynamic(annotation: ClassificationAnnotation, nodes: Sequence[Classification] | None) -> bool:
    """Whether an object's classification is an Encord dynamic answer: its attribute is dynamic in the
    ontology, or (without one) it holds on frames."""
    node = _find(nodes, annotation) if nodes is not None else None
    return node.dynamic if node is not None else bool(annotation.frames)


__all__ = ["Scope", "attribute_dicts", "dynamic_dicts", "is_dynamic", "read_answers", "read_range", "track_hash"]
