"""RedBrick attributes (``{name: value}``) as classifications, and back.

An attribute becomes a classification of the kind the ontology gives it: text (the value as text), radio
(the value as the chosen option) or checklist (each listed value an option). Where the ontology has no such
classification yet, the value decides: a list is a checklist, true/false a radio with options ``true`` and
``false`` (so it comes back as a boolean), anything else text (numbers as text: they come back as strings).
"""

from __future__ import annotations

import uuid as uuid_module
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from labelport.formats.redbrick.segment_map import RecordError
from labelport.model.annotation import (
    Checklist,
    ClassificationAnnotation,
    ClassificationAnswer,
    FrameRange,
    Radio,
    Text,
)
from labelport.model.ontology import Classification, ClassificationType, Option

BOOLEAN_OPTIONS = ("true", "false")


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _kind(value: Any, node: Classification | None) -> ClassificationType:
    if node is not None:
        return node.type
    if isinstance(value, list):
        return ClassificationType.CHECKLIST
    if isinstance(value, bool):
        return ClassificationType.RADIO
    return ClassificationType.TEXT


def classifications(
    attributes: Mapping[str, Any],
    allowed: Sequence[Classification] | None,
    where: str,
    *,
    frames: tuple[FrameRange, ...] = (),
    uuid: str | None = None,
) -> tuple[ClassificationAnnotation, ...]:
    """One classification per attribute (``null`` values left out), typed by ``allowed`` when it has the name;
    ``uuid`` (of the level: the study, the series, a slice) and the attribute's name make each one's uuid."""
    out: list[ClassificationAnnotation] = []
    for name, value in attributes.items():
        if value is None:
            continue
        at = f"{where}.{name}"
        node = next((c for c in allowed or () if c.name == name), None)
        kind = _kind(value, node)
        values = value if isinstance(value, list) else [value]
        if any(isinstance(v, dict | list) or v is None for v in values):
            raise RecordError(
                f"{at}: an attribute value is text, a number, true/false or a list, found {value!r}", at, value
            )
        answer: Radio | Checklist | Text
        if kind is ClassificationType.TEXT:
            answer = Text(", ".join(_text(v) for v in values))
        elif kind is ClassificationType.RADIO:
            if len(values) != 1 or not _text(values[0]):
                raise RecordError(f"{at}: {name!r} takes one answer, found {value!r}", at, value)
            answer = Radio(ClassificationAnswer(name=_text(values[0])))
        else:
            chosen = [_text(v) for v in values if _text(v)]
            answer = Checklist(tuple(ClassificationAnswer(name=c) for c in dict.fromkeys(chosen)))
        # A classification is one attribute at one level of a series: its uuid follows from those, so an export
        # read back (or a second import) names the same annotation.
        derived = str(uuid_module.uuid5(uuid_module.UUID(uuid), name)) if uuid is not None else None
        out.append(ClassificationAnnotation(answer, name=name, uuid=derived, frames=frames))
    return tuple(out)


def values(annotations: Iterable[ClassificationAnnotation], nodes: Sequence[Classification]) -> dict[str, Any]:
    """``{name: value}`` of classifications: text as text, a true/false radio as a boolean, a checklist as a
    list of its answers' names."""
    out: dict[str, Any] = {}
    for annotation in annotations:
        name = annotation.name or next((n.name for n in nodes if n.schema_id == annotation.schema_id), None)
        if name is None:
            continue
        node = next((n for n in nodes if n.name == name), None)
        answer = annotation.answer
        if isinstance(answer, Text):
            out[name] = answer.answer
        elif isinstance(answer, Radio):
            chosen = answer.answer.name or _option_name(node, answer.answer.schema_id)
            out[name] = (chosen == "true") if _boolean(node, chosen) else chosen
        else:
            out[name] = [a.name or _option_name(node, a.schema_id) for a in answer.answers]
    return out


def _option_name(node: Classification | None, schema_id: str | None) -> str:
    option = node.find_option(schema_id=schema_id) if node is not None and schema_id else None
    return option.value if option is not None else str(schema_id)


def _boolean(node: Classification | None, chosen: str) -> bool:
    if node is not None:
        return {o.value.lower() for o in node.options} == set(BOOLEAN_OPTIONS) and chosen in BOOLEAN_OPTIONS
    return chosen in BOOLEAN_OPTIONS


def node_for(annotation: ClassificationAnnotation) -> Classification:
    """The ontology node an attribute needs (for ``--create-features``): its kind and the options it used."""
    answer = annotation.answer
    name = annotation.name or "attribute"
    if isinstance(answer, Text):
        return Classification(ClassificationType.TEXT, name)
    if isinstance(answer, Radio):
        chosen = answer.answer.name or ""
        options = BOOLEAN_OPTIONS if chosen in BOOLEAN_OPTIONS else (chosen,)
        return Classification(ClassificationType.RADIO, name, tuple(Option(o) for o in options if o))
    return Classification(ClassificationType.CHECKLIST, name, tuple(Option(a.name) for a in answer.answers if a.name))


__all__ = ["BOOLEAN_OPTIONS", "classifications", "node_for", "values"]
