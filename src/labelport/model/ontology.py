"""Ontology: tools and classifications, nested to any depth, with stable ids and per-platform ids.

The normalized dictionary form is the one Labelbox's ``OntologyBuilder.asdict()`` produces and
``client.create_ontology(name, normalized)`` takes; ``Ontology.from_normalized`` reads it tolerantly and
``to_normalized`` writes it back.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from labelport.errors import ValidationError
from labelport.model._checks import enum_value, non_empty, unique_names
from labelport.model.ids import new_id
from labelport.model.media import MediaType


class ToolType(StrEnum):
    """Object tools; values are Labelbox's ``Tool.Type`` spellings where Labelbox has the tool."""

    BBOX = "rectangle"
    ROTATED_BBOX = "rotated-rectangle"
    POLYGON = "polygon"
    LINE = "line"
    POINT = "point"
    ELLIPSE = "ellipse"
    RASTER_SEGMENTATION = "raster-segmentation"
    SKELETON = "skeleton"
    RELATIONSHIP = "edge"

    @classmethod
    def parse(cls, value: str | ToolType) -> ToolType:
        if isinstance(value, str) and value.lower() in _TOOL_ALIASES:
            return _TOOL_ALIASES[value.lower()]
        return enum_value(cls, value, "tool")


_TOOL_ALIASES = {
    "bbox": ToolType.BBOX,
    "bounding_box": ToolType.BBOX,
    "bounding-box": ToolType.BBOX,
    "rotated_bbox": ToolType.ROTATED_BBOX,
    "rotatable_bounding_box": ToolType.ROTATED_BBOX,
    "polyline": ToolType.LINE,
    "superpixel": ToolType.RASTER_SEGMENTATION,
    "segmentation": ToolType.RASTER_SEGMENTATION,
    "raster_segmentation": ToolType.RASTER_SEGMENTATION,
    "mask": ToolType.RASTER_SEGMENTATION,
    "bitmask": ToolType.RASTER_SEGMENTATION,
    "relationship": ToolType.RELATIONSHIP,
}


class ClassificationType(StrEnum):
    RADIO = "radio"
    CHECKLIST = "checklist"
    TEXT = "text"

    @classmethod
    def parse(cls, value: str | ClassificationType) -> ClassificationType:
        return enum_value(cls, value, "classification type")


@dataclass(frozen=True, slots=True)
class ExternalIds:
    """Ids of the same node on each platform, kept so round trips preserve them."""

    labelbox: str | None = None  # schemaId / featureSchemaId
    encord: str | None = None  # featureNodeHash
    redbrick: str | None = None  # category or class id


@dataclass(frozen=True, slots=True)
class Option:
    """An answer of a radio or checklist classification; may carry nested classifications."""

    value: str
    schema_id: str = field(default_factory=new_id)
    label: str | None = None
    classifications: tuple[Classification, ...] = ()
    external_ids: ExternalIds = field(default_factory=ExternalIds)

    def __post_init__(self) -> None:
        non_empty(self.value, "option value")
        non_empty(self.schema_id, "option schema id")
        unique_names((c.name for c in self.classifications), f"option {self.value!r}")

    @property
    def name(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class Classification:
    """A radio, checklist or free-text question; options nest further classifications."""

    type: ClassificationType
    name: str
    options: tuple[Option, ...] = ()
    schema_id: str = field(default_factory=new_id)
    required: bool = False
    instructions: str | None = None
    external_ids: ExternalIds = field(default_factory=ExternalIds)

    def __post_init__(self) -> None:
        object.__setattr__(self, "type", ClassificationType.parse(self.type))
        non_empty(self.name, "classification name")
        non_empty(self.schema_id, "classification schema id")
        if self.type is ClassificationType.TEXT and self.options:
            raise ValidationError(
                f"text classification {self.name!r} cannot have options, found {len(self.options)}",
                field="options",
                value=[o.value for o in self.options],
            )
        unique_names((o.value for o in self.options), f"classification {self.name!r}")

    def find_option(self, *, name: str | None = None, schema_id: str | None = None) -> Option | None:
        for option in self.options:
            if _matches(option.schema_id, option.external_ids, option.value, name, schema_id):
                return option
        return None


@dataclass(frozen=True, slots=True)
class Tool:
    """An object tool (bbox, polygon, line, point, mask...) with optional nested classifications."""

    type: ToolType
    name: str
    schema_id: str = field(default_factory=new_id)
    color: str | None = None
    required: bool = False
    classifications: tuple[Classification, ...] = ()
    external_ids: ExternalIds = field(default_factory=ExternalIds)

    def __post_init__(self) -> None:
        object.__setattr__(self, "type", ToolType.parse(self.type))
        non_empty(self.name, "tool name")
        non_empty(self.schema_id, "tool schema id")
        unique_names((c.name for c in self.classifications), f"tool {self.name!r}")


Node = Tool | Classification | Option


def _matches(schema_id: str, external: ExternalIds, node_name: str, name: str | None, wanted_id: str | None) -> bool:
    if wanted_id is not None:
        return wanted_id in {schema_id, external.labelbox, external.encord, external.redbrick}
    return name is not None and name == node_name


@dataclass(frozen=True, slots=True)
class Ontology:
    """Tools and top-level classifications of one project's labeling interface."""

    name: str
    tools: tuple[Tool, ...] = ()
    classifications: tuple[Classification, ...] = ()
    media_type: MediaType | None = None
    id: str = field(default_factory=new_id)

    def __post_init__(self) -> None:
        non_empty(self.name, "ontology name")
        if self.media_type is not None:
            object.__setattr__(self, "media_type", MediaType.parse(self.media_type))
        unique_names((t.name for t in self.tools), "the ontology's tools")
        unique_names((c.name for c in self.classifications), "the ontology's classifications")
        ids = [node.schema_id for node in self.walk()]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValidationError(
                f"schema ids must be unique within an ontology, found {duplicates[0]!r} twice",
                field="schemaId",
                value=duplicates[0],
            )

    def walk(self) -> Iterator[Node]:
        """Every node, depth first: tools, their classifications and options, then classifications."""

        def classification_nodes(c: Classification) -> Iterator[Node]:
            yield c
            for option in c.options:
                yield option
                for sub in option.classifications:
                    yield from classification_nodes(sub)

        for tool in self.tools:
            yield tool
            for sub in tool.classifications:
                yield from classification_nodes(sub)
        for top in self.classifications:
            yield from classification_nodes(top)

    def find_tool(self, *, name: str | None = None, schema_id: str | None = None) -> Tool | None:
        for tool in self.tools:
            if _matches(tool.schema_id, tool.external_ids, tool.name, name, schema_id):
                return tool
        return None

    def find_classification(
        self, *, name: str | None = None, schema_id: str | None = None, within: Tool | Option | None = None
    ) -> Classification | None:
        candidates = within.classifications if within is not None else self.classifications
        for c in candidates:
            if _matches(c.schema_id, c.external_ids, c.name, name, schema_id):
                return c
        return None

    # --- the normalized (Labelbox OntologyBuilder.asdict) form --------------------------------------

    @classmethod
    def from_normalized(
        cls, name: str, normalized: Mapping[str, Any], media_type: MediaType | str | None = None
    ) -> Ontology:
        if not isinstance(normalized, Mapping):
            raise ValidationError(
                f"ontology must be a mapping with 'tools' and 'classifications', found {type(normalized).__name__}",
                field="normalized",
                value=normalized,
            )
        used: set[str] = set()
        tools = tuple(_tool_from(t, f"tools[{i}]", used) for i, t in enumerate(normalized.get("tools") or ()))
        classifications = tuple(
            _classification_from(c, f"classifications[{i}]", used)
            for i, c in enumerate(normalized.get("classifications") or ())
        )
        return cls(
            name=name,
            tools=tools,
            classifications=classifications,
            media_type=MediaType.parse(media_type) if media_type is not None else None,
        )

    def to_normalized(self) -> dict[str, Any]:
        return {
            "tools": [_tool_to(t) for t in self.tools],
            "classifications": [_classification_to(c) for c in self.classifications],
        }


def _str_field(data: Mapping[str, Any], key: str, where: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(
            f"{where}.{key} must be a non-empty string, found {value!r}", field=f"{where}.{key}", value=value
        )
    return value


def _ids(data: Mapping[str, Any], used: set[str]) -> tuple[str, ExternalIds]:
    """Schema id and platform ids of a node.

    The Labelbox featureSchemaId becomes ours too, so NDJSON names match, unless another node of the
    ontology has it already (Labelbox reuses a feature, e.g. one option, in several places): then the node
    keeps the schemaNodeId or a new id, and the featureSchemaId stays its Labelbox id.
    """
    feature = data.get("featureSchemaId")
    node = data.get("schemaNodeId")
    raw_extra = data.get("externalIds")
    extra: Mapping[str, Any] = raw_extra if isinstance(raw_extra, Mapping) else {}
    labelbox = extra.get("labelbox") or (feature if isinstance(feature, str) and feature else None)
    if labelbox is None and isinstance(node, str) and node:
        labelbox = node
    external = ExternalIds(labelbox=labelbox, encord=extra.get("encord"), redbrick=extra.get("redbrick"))
    candidates = [v for v in (feature, node) if isinstance(v, str) and v and v not in used]
    schema_id = candidates[0] if candidates else new_id()
    used.add(schema_id)
    return schema_id, external


def _external_to(node: Tool | Classification | Option) -> dict[str, Any]:
    # The Labelbox id travels as featureSchemaId; the other platforms' ids ride along here.
    ids = {k: getattr(node.external_ids, k) for k in ("encord", "redbrick")}
    ids = {k: v for k, v in ids.items() if v is not None}
    return {"externalIds": ids} if ids else {}


def _tool_from(data: Any, where: str, used: set[str]) -> Tool:
    if not isinstance(data, Mapping):
        raise ValidationError(f"{where} must be an object, found {data!r}", field=where, value=data)
    schema_id, external = _ids(data, used)
    try:
        kind = ToolType.parse(_str_field(data, "tool", where))
    except ValidationError as exc:
        raise ValidationError(f"{where}.tool: {exc.message}", field=f"{where}.tool", value=exc.value) from None
    subs = tuple(
        _classification_from(c, f"{where}.classifications[{i}]", used)
        for i, c in enumerate(data.get("classifications") or ())
    )
    return Tool(
        type=kind,
        name=_str_field(data, "name", where),
        schema_id=schema_id,
        color=data.get("color"),
        required=bool(data.get("required", False)),
        classifications=subs,
        external_ids=external,
    )


def _classification_from(data: Any, where: str, used: set[str]) -> Classification:
    if not isinstance(data, Mapping):
        raise ValidationError(f"{where} must be an object, found {data!r}", field=where, value=data)
    schema_id, external = _ids(data, used)
    name = data.get("name") or data.get("instructions")
    if not isinstance(name, str) or not name.strip():
        raise ValidationError(
            f"{where}.name must be a non-empty string, found {name!r}", field=f"{where}.name", value=name
        )
    try:
        kind = ClassificationType.parse(_str_field(data, "type", where))
    except ValidationError as exc:
        raise ValidationError(f"{where}.type: {exc.message}", field=f"{where}.type", value=exc.value) from None
    options = []
    for i, raw in enumerate(data.get("options") or ()):
        owhere = f"{where}.options[{i}]"
        if not isinstance(raw, Mapping):
            raise ValidationError(f"{owhere} must be an object, found {raw!r}", field=owhere, value=raw)
        o_schema, o_external = _ids(raw, used)
        value = raw.get("value") if raw.get("value") is not None else raw.get("label")
        if not isinstance(value, str) or not value.strip():
            raise ValidationError(
                f"{owhere}.value must be a non-empty string, found {value!r}", field=f"{owhere}.value", value=value
            )
        nested = tuple(
            _classification_from(c, f"{owhere}.options[{j}]", used) for j, c in enumerate(raw.get("options") or ())
        )
        options.append(
            Option(
                value=value, label=raw.get("label"), schema_id=o_schema, classifications=nested, external_ids=o_external
            )
        )
    return Classification(
        type=kind,
        name=name,
        options=tuple(options),
        schema_id=schema_id,
        required=bool(data.get("required", False)),
        instructions=data.get("instructions"),
        external_ids=external,
    )


def _tool_to(tool: Tool) -> dict[str, Any]:
    return {
        "tool": tool.type.value,
        "name": tool.name,
        "required": tool.required,
        "color": tool.color,
        "classifications": [_classification_to(c) for c in tool.classifications],
        "schemaNodeId": tool.schema_id,
        "featureSchemaId": tool.external_ids.labelbox or tool.schema_id,
        **_external_to(tool),
    }


def _classification_to(c: Classification) -> dict[str, Any]:
    return {
        "type": c.type.value,
        "name": c.name,
        "instructions": c.instructions or c.name,
        "required": c.required,
        "options": [
            {
                "label": o.label or o.value,
                "value": o.value,
                "schemaNodeId": o.schema_id,
                "featureSchemaId": o.external_ids.labelbox or o.schema_id,
                "options": [_classification_to(sub) for sub in o.classifications],
                **_external_to(o),
            }
            for o in c.options
        ],
        "schemaNodeId": c.schema_id,
        "featureSchemaId": c.external_ids.labelbox or c.schema_id,
        **_external_to(c),
    }
