"""The Encord ontology JSON (``OntologyStructure.to_dict()``, notes/encord.md section 7) and labelport's ontology.

``read_ontology`` takes the structure (or the API envelope holding it under ``editor``): objects of every
shape labelport draws, their attributes (radio, checklist, text) nested under radio options to any depth,
top-level classifications, each node's ``featureNodeHash`` (kept as its Encord id, and as its schema id
unless another node already has it), colours, ``required``, ``dynamic`` and ``level: global``. Objects and
attributes labelport has no kind for (audio, text, cuboids, circles, numeric answers) are left out and
listed in ``omitted`` with the reason. ``write_ontology`` writes the structure back (ids renumbered by
position, ``archived`` false, skeleton templates not kept).

``match_ontology`` relates two ontologies that describe the same features under different ids: nodes with
the same name and kind (options: the same value or label) are one feature, so a project whose ontology came
from Labelbox takes Encord label rows made with the Encord ontology.

An Encord classification is a node with one attribute, so it has two hashes: the classification's
``featureNodeHash`` (the feature a label row names) is the node's Encord id, and the attribute's is its
schema id (``attribute_hash``).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import orjson

from labelport.errors import Location, ParseError, ValidationError
from labelport.formats.encord.fields import (
    ARCHIVED,
    ATTRIBUTES,
    COLOR,
    DYNAMIC,
    EDITOR,
    FEATURE_NODE_HASH,
    GLOBAL_LEVEL,
    ID,
    LABEL,
    LEVEL,
    NAME,
    ONTOLOGY_CLASSIFICATIONS,
    ONTOLOGY_OBJECTS,
    OPTIONS,
    REQUIRED,
    SHAPE,
    SKELETON_TEMPLATES,
    TITLE,
    TYPE,
    VALUE,
    AttributeType,
    Shape,
)
from labelport.model.ids import new_id
from labelport.model.ontology import (
    Classification,
    ClassificationType,
    ExternalIds,
    Ontology,
    Option,
    Tool,
    ToolType,
)

TOOL_FOR_SHAPE: dict[Shape, ToolType] = {
    Shape.BOUNDING_BOX: ToolType.BBOX,
    Shape.ROTATABLE_BOUNDING_BOX: ToolType.ROTATED_BBOX,
    Shape.POLYGON: ToolType.POLYGON,
    Shape.POLYLINE: ToolType.LINE,
    Shape.POINT: ToolType.POINT,
    Shape.BITMASK: ToolType.RASTER_SEGMENTATION,
    Shape.SKELETON: ToolType.SKELETON,
    Shape.ELLIPSE: ToolType.ELLIPSE,
}
SHAPE_FOR_TOOL: dict[ToolType, Shape] = {tool: shape for shape, tool in TOOL_FOR_SHAPE.items()}
DEFAULT_COLOR = "#D33115"


@dataclass(frozen=True, slots=True)
class Omitted:
    """A node of an Encord ontology labelport cannot hold: where, what, and why."""

    path: str
    name: str
    kind: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path} ({self.name!r}, {self.kind}): {self.reason}"


@dataclass(frozen=True, slots=True)
class EncordOntology:
    """An Encord ontology read into labelport's, with the nodes left out and the ones renamed.

    Encord allows two siblings of one name (an object "Bin" drawn as a box and one drawn as a polygon);
    labelport names siblings apart, so the later one is renamed with its kind ("Bin (polygon)").
    """

    ontology: Ontology
    omitted: tuple[Omitted, ...] = ()
    renamed: tuple[Omitted, ...] = ()


def feature_hash(node: Tool | Classification | Option) -> str:
    """The ``featureNodeHash`` a node has in Encord: its Encord id, else its schema id."""
    return node.external_ids.encord or node.schema_id


def attribute_hash(classification: Classification) -> str:
    """The ``featureNodeHash`` of the one attribute of a top-level classification.

    Read from Encord, it is the node's schema id (the classification's own hash is its Encord id); for a
    classification from elsewhere, a stable hash of its schema id, distinct from the classification's.
    """
    encord = classification.external_ids.encord
    if encord is not None and encord != classification.schema_id:
        return classification.schema_id
    digest = hashlib.sha256(f"attribute:{classification.schema_id}".encode()).digest()
    return base64.b64encode(digest[:6]).decode()


# --- reading ---------------------------------------------------------------------------------------------


class _Reader:
    def __init__(self) -> None:
        self.used: set[str] = set()
        self.omitted: list[Omitted] = []
        self.renamed: list[Omitted] = []

    def name(self, mapping: Mapping[str, Any], where: str, top: Mapping[str, Any] | None) -> str:
        """The node's name; Encord lets one be empty, labelport gives it the node's hash instead."""
        name = mapping.get(NAME)
        if name == "":
            node_hash = (top or mapping).get(FEATURE_NODE_HASH)
            fallback = f"unnamed {node_hash}"
            self.renamed.append(Omitted(where, name, str(mapping.get(TYPE)), f"it has no name: named {fallback!r}"))
            return fallback
        return _text(mapping, NAME, where)

    def unique(self, name: str, taken: set[str], kind: str, where: str) -> str:
        """``name``, or ``name (kind)`` when a sibling already has it (Encord allows that, labelport not)."""
        wanted, count = name, 1
        while wanted in taken:
            count += 1
            wanted = f"{name} ({kind})" if count == 2 else f"{name} ({kind} {count - 1})"
        if wanted != name:
            self.renamed.append(Omitted(where, name, kind, f"a sibling has the same name: renamed {wanted!r}"))
        taken.add(wanted)
        return wanted

    def schema_id(self, data: Mapping[str, Any], where: str) -> tuple[str, ExternalIds]:
        raw = data.get(FEATURE_NODE_HASH)
        if raw is not None and (not isinstance(raw, str) or not raw):
            raise ValidationError(
                f"{where}.{FEATURE_NODE_HASH} must be a non-empty string, found {raw!r}",
                field=f"{where}.{FEATURE_NODE_HASH}",
                value=raw,
            )
        # A hash another node already has (Encord reuses attribute hashes across objects) stays the node's
        # Encord id, and the node gets a schema id of its own: schema ids are unique within an ontology.
        schema_id = raw if raw is not None and raw not in self.used else new_id()
        self.used.add(schema_id)
        return schema_id, ExternalIds(encord=raw)

    def tool(self, data: Any, where: str, taken: set[str]) -> Tool | None:
        mapping = _mapping(data, where)
        name = _text(mapping, NAME, where)
        shape = mapping.get(SHAPE)
        if shape not in TOOL_FOR_SHAPE:
            self.omitted.append(Omitted(where, name, str(shape), "labelport has no tool of this shape"))
            return None
        name = self.unique(name, taken, str(shape), where)
        schema_id, external = self.schema_id(mapping, where)
        color = mapping.get(COLOR)
        return Tool(
            type=TOOL_FOR_SHAPE[Shape(shape)],
            name=name,
            schema_id=schema_id,
            color=color if isinstance(color, str) and color else None,
            required=bool(mapping.get(REQUIRED, False)),
            classifications=self.attributes(mapping.get(ATTRIBUTES), f"{where}.{ATTRIBUTES}"),
            external_ids=external,
        )

    def attributes(self, raw: Any, where: str) -> tuple[Classification, ...]:
        found = []
        taken: set[str] = set()
        for i, data in enumerate(_list(raw, where)):
            attribute = self.attribute(data, f"{where}[{i}]", taken)
            if attribute is not None:
                found.append(attribute)
        return tuple(found)

    def attribute(
        self, data: Any, where: str, taken: set[str], top: Mapping[str, Any] | None = None
    ) -> Classification | None:
        mapping = _mapping(data, where)
        name = self.name(mapping, where, top)
        kind = mapping.get(TYPE)
        if kind not in AttributeType.__members__.values():
            self.omitted.append(Omitted(where, name, str(kind), "labelport answers radio, checklist and text only"))
            return None
        name = self.unique(name, taken, str(kind), where)
        schema_id, external = self.schema_id(mapping, where)
        if top is not None:
            # The classification's own hash names it in label rows; the attribute's is its schema id.
            external = ExternalIds(encord=top.get(FEATURE_NODE_HASH))
        options = []
        for i, raw in enumerate(_list(mapping.get(OPTIONS), f"{where}.{OPTIONS}")):
            owhere = f"{where}.{OPTIONS}[{i}]"
            option = _mapping(raw, owhere)
            label = option.get(LABEL)
            value = option.get(VALUE) if option.get(VALUE) not in (None, "") else label
            if not isinstance(value, str) or not value.strip():
                raise ValidationError(
                    f"{owhere} needs a value or a label, found {value!r}", field=f"{owhere}.{VALUE}", value=value
                )
            o_schema, o_external = self.schema_id(option, owhere)
            nested = self.attributes(option.get(OPTIONS), f"{owhere}.{OPTIONS}") if kind == AttributeType.RADIO else ()
            options.append(
                Option(
                    value=value,
                    label=label if isinstance(label, str) else None,
                    schema_id=o_schema,
                    classifications=nested,
                    external_ids=o_external,
                )
            )
        return Classification(
            type=ClassificationType.parse(str(kind)),
            name=name,
            options=tuple(options),
            schema_id=schema_id,
            required=bool(mapping.get(REQUIRED, False)),
            external_ids=external,
            dynamic=bool(mapping.get(DYNAMIC, False)),
            global_scope=top is not None and top.get(LEVEL) == GLOBAL_LEVEL,
        )

    def classification(self, data: Any, where: str, taken: set[str]) -> Classification | None:
        mapping = _mapping(data, where)
        attributes = _list(mapping.get(ATTRIBUTES), f"{where}.{ATTRIBUTES}")
        if len(attributes) != 1:
            raise ValidationError(
                f"{where} must hold exactly one attribute, found {len(attributes)}",
                field=f"{where}.{ATTRIBUTES}",
                value=len(attributes),
            )
        if not isinstance(mapping.get(FEATURE_NODE_HASH), str) or not mapping.get(FEATURE_NODE_HASH):
            raise ValidationError(
                f"{where}.{FEATURE_NODE_HASH} must be a non-empty string, found {mapping.get(FEATURE_NODE_HASH)!r}",
                field=f"{where}.{FEATURE_NODE_HASH}",
                value=mapping.get(FEATURE_NODE_HASH),
            )
        self.used.add(str(mapping[FEATURE_NODE_HASH]))
        return self.attribute(attributes[0], f"{where}.{ATTRIBUTES}[0]", taken, top=mapping)


def _mapping(data: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise ValidationError(f"{where} must be an object, found {data!r}", field=where, value=data)
    return data


def _list(data: Any, where: str) -> list[Any]:
    if data is None:
        return []
    if not isinstance(data, list):
        raise ValidationError(f"{where} must be a list, found {data!r}", field=where, value=data)
    return data


def _text(data: Mapping[str, Any], key: str, where: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(
            f"{where}.{key} must be a non-empty string, found {value!r}", field=f"{where}.{key}", value=value
        )
    return value


def structure_of(data: Any) -> tuple[Mapping[str, Any], str | None]:
    """The ontology structure of ``data`` (the structure itself, or the API envelope) and the title."""
    mapping = _mapping(data, "ontology")
    editor = mapping.get(EDITOR)
    if isinstance(editor, Mapping):
        title = mapping.get(TITLE)
        return editor, title if isinstance(title, str) and title.strip() else None
    if ONTOLOGY_OBJECTS not in mapping and ONTOLOGY_CLASSIFICATIONS not in mapping:
        raise ValidationError(
            "an Encord ontology has 'objects' and 'classifications' (or an 'editor' holding them); "
            f"found keys {sorted(mapping)[:8]}",
            field="ontology",
            value=sorted(mapping)[:8],
        )
    return mapping, None


def read_ontology(data: Any, name: str | None = None, fallback: str = "Encord ontology") -> EncordOntology:
    """labelport's ontology of an Encord ontology dict, named ``name``, else its title, else ``fallback``;
    raises ValidationError naming the JSON path at fault."""
    structure, title = structure_of(data)
    reader = _Reader()
    tool_names: set[str] = set()
    classification_names: set[str] = set()
    tools = [
        reader.tool(raw, f"{ONTOLOGY_OBJECTS}[{i}]", tool_names)
        for i, raw in enumerate(_list(structure.get(ONTOLOGY_OBJECTS), ONTOLOGY_OBJECTS))
    ]
    classifications = [
        reader.classification(raw, f"{ONTOLOGY_CLASSIFICATIONS}[{i}]", classification_names)
        for i, raw in enumerate(_list(structure.get(ONTOLOGY_CLASSIFICATIONS), ONTOLOGY_CLASSIFICATIONS))
    ]
    ontology = Ontology(
        name=name or title or fallback,
        tools=tuple(t for t in tools if t is not None),
        classifications=tuple(c for c in classifications if c is not None),
    )
    return EncordOntology(ontology, tuple(reader.omitted), tuple(reader.renamed))


def load_ontology(source: str | Path | bytes, name: str | None = None) -> EncordOntology:
    """Read an Encord ontology JSON file (or its bytes); a file that is not JSON raises ParseError."""
    if isinstance(source, bytes):
        data, file = source, None
    else:
        data, file = Path(source).read_bytes(), str(source)
    try:
        parsed = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise ParseError(f"the Encord ontology is not valid JSON: {exc}", Location(file)) from None
    try:
        return read_ontology(parsed, name, Path(file).stem if file else "Encord ontology")
    except ValidationError as exc:
        raise ValidationError(f"{file or 'ontology'}: {exc.message}", field=exc.field, value=exc.value) from None


# --- writing ---------------------------------------------------------------------------------------------


def _attribute_dict(c: Classification, id_: str, node_hash: str) -> dict[str, Any]:
    out: dict[str, Any] = {
        ID: id_,
        NAME: c.name,
        TYPE: c.type.value,
        FEATURE_NODE_HASH: node_hash,
        REQUIRED: c.required,
        ARCHIVED: False,
        DYNAMIC: c.dynamic,
    }
    if c.type is not ClassificationType.TEXT:
        options = []
        for i, option in enumerate(c.options, start=1):
            entry: dict[str, Any] = {
                ID: f"{id_}.{i}",
                LABEL: option.label or option.value,
                VALUE: option.value,
                FEATURE_NODE_HASH: feature_hash(option),
                ARCHIVED: False,
            }
            if c.type is ClassificationType.RADIO and option.classifications:
                entry[OPTIONS] = [
                    _attribute_dict(sub, f"{id_}.{i}.{j}", feature_hash(sub))
                    for j, sub in enumerate(option.classifications, start=1)
                ]
            options.append(entry)
        out[OPTIONS] = options
    return out


def write_ontology(ontology: Ontology) -> dict[str, Any]:
    """The Encord ontology structure of ``ontology``; relationship tools, which Encord lacks, are left out
    (``unwritable_tools`` names them)."""
    objects = []
    for i, tool in enumerate((t for t in ontology.tools if t.type in SHAPE_FOR_TOOL), start=1):
        entry: dict[str, Any] = {
            ID: str(i),
            NAME: tool.name,
            COLOR: tool.color or DEFAULT_COLOR,
            SHAPE: SHAPE_FOR_TOOL[tool.type].value,
            FEATURE_NODE_HASH: feature_hash(tool),
            REQUIRED: tool.required,
            ARCHIVED: False,
        }
        if tool.classifications:
            entry[ATTRIBUTES] = [
                _attribute_dict(c, f"{i}.{j}", feature_hash(c)) for j, c in enumerate(tool.classifications, start=1)
            ]
        objects.append(entry)
    classifications = []
    for i, c in enumerate(ontology.classifications, start=len(objects) + 1):
        entry = {
            ID: str(i),
            FEATURE_NODE_HASH: feature_hash(c),
            ATTRIBUTES: [_attribute_dict(c, f"{i}.1", attribute_hash(c))],
            REQUIRED: c.required,
            ARCHIVED: False,
        }
        if c.global_scope:
            entry[LEVEL] = GLOBAL_LEVEL
        classifications.append(entry)
    return {ONTOLOGY_OBJECTS: objects, ONTOLOGY_CLASSIFICATIONS: classifications, SKELETON_TEMPLATES: []}


def unwritable_tools(ontology: Ontology) -> list[Tool]:
    return [t for t in ontology.tools if t.type not in SHAPE_FOR_TOOL]


# --- matching two ontologies -----------------------------------------------------------------------------


def _same_option(a: Option, b: Option) -> bool:
    names = {a.value, a.label} - {None}
    return bool(names & ({b.value, b.label} - {None}))


def _linked_classification(ours: Classification, theirs: Classification) -> Classification:
    options = []
    for option in ours.options:
        match = next((o for o in theirs.options if _same_option(option, o)), None)
        if match is None:
            options.append(option)
            continue
        options.append(
            replace(
                option,
                external_ids=replace(option.external_ids, encord=feature_hash(match)),
                classifications=_linked_list(option.classifications, match.classifications),
            )
        )
    return replace(
        ours,
        options=tuple(options),
        external_ids=replace(ours.external_ids, encord=feature_hash(theirs)),
        dynamic=ours.dynamic or theirs.dynamic,
        global_scope=ours.global_scope or theirs.global_scope,
    )


def _linked_list(ours: tuple[Classification, ...], theirs: tuple[Classification, ...]) -> tuple[Classification, ...]:
    out = []
    for c in ours:
        match = next((t for t in theirs if t.name == c.name and t.type is c.type), None)
        out.append(c if match is None else _linked_classification(c, match))
    return tuple(out)


def match_ontology(ours: Ontology, theirs: Ontology) -> Ontology:
    """``ours`` with the Encord ids of ``theirs`` on every node that has the same name and kind there.

    Nodes of ``theirs`` with no counterpart stay out; label rows that use them fail as unknown features.
    """
    tools = []
    for tool in ours.tools:
        match = next((t for t in theirs.tools if t.name == tool.name and t.type is tool.type), None)
        if match is None:
            tools.append(tool)
            continue
        tools.append(
            replace(
                tool,
                external_ids=replace(tool.external_ids, encord=feature_hash(match)),
                classifications=_linked_list(tool.classifications, match.classifications),
            )
        )
    return replace(
        ours,
        tools=tuple(tools),
        classifications=_linked_list(ours.classifications, theirs.classifications),
    )


def unmatched(ours: Ontology, theirs: Ontology) -> Iterator[str]:
    """Top-level features of ``theirs`` that ``ours`` has nothing of the same name and kind for."""
    for tool in theirs.tools:
        if not any(t.name == tool.name and t.type is tool.type for t in ours.tools):
            yield f"object {tool.name!r} ({SHAPE_FOR_TOOL[tool.type].value})"
    for c in theirs.classifications:
        if not any(o.name == c.name and o.type is c.type for o in ours.classifications):
            yield f"classification {c.name!r} ({c.type.value})"


__all__ = [
    "DEFAULT_COLOR",
    "SHAPE_FOR_TOOL",
    "TOOL_FOR_SHAPE",
    "EncordOntology",
    "Omitted",
    "attribute_hash",
    "feature_hash",
    "load_ontology",
    "match_ontology",
    "read_ontology",
    "unmatched",
    "unwritable_tools",
    "write_ontology",
]
