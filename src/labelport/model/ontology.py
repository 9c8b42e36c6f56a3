"""Ontology: tools and classifications, nested to any depth, with stable ids and per-platform ids.

Each platform's ontology JSON is read and written by its format (``formats/labelbox/ontology.py`` for the
normalized form of ``OntologyBuilder.asdict()``, ``formats/encord`` for Encord's); the store keeps the
``model.codec`` form.
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

    labelbox: str | None = None  # Labelbox's feature schema id
    encord: str | None = None  # featureNodeHash
    redbrick: str | None = None  # category or class id


@dataclass(frozen=True, slots=True)
class Code:
    """A coded concept as DICOM holds it (CodeValue, CodingSchemeDesignator, CodeMeaning), e.g. SNOMED CT
    ``Code("10200004", "SCT", "Liver")``: the segmented property category and type of a mask feature."""

    value: str
    scheme: str
    meaning: str

    def __post_init__(self) -> None:
        non_empty(self.value, "code value")
        non_empty(self.scheme, "coding scheme designator")
        non_empty(self.meaning, "code meaning")

    def as_dict(self) -> dict[str, str]:
        return {"value": self.value, "scheme": self.scheme, "meaning": self.meaning}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Code:
        return cls(str(data["value"]), str(data["scheme"]), str(data["meaning"]))


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
    """A radio, checklist or free-text question; options nest further classifications.

    ``dynamic``: an object's answer may change from frame to frame (Encord dynamic attributes, answered per
    frame range). ``global_scope``: a top-level classification answers the data row as a whole, never frames
    (Encord ``level: global``).
    """

    type: ClassificationType
    name: str
    options: tuple[Option, ...] = ()
    schema_id: str = field(default_factory=new_id)
    required: bool = False
    instructions: str | None = None
    external_ids: ExternalIds = field(default_factory=ExternalIds)
    dynamic: bool = False
    global_scope: bool = False

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
    """An object tool (bbox, polygon, line, point, mask...) with optional nested classifications.

    ``category`` and ``property_type`` are the coded concepts a mask feature stands for (DICOM SEG's segmented
    property category and type), where the feature carries them.
    """

    type: ToolType
    name: str
    schema_id: str = field(default_factory=new_id)
    color: str | None = None
    required: bool = False
    classifications: tuple[Classification, ...] = ()
    external_ids: ExternalIds = field(default_factory=ExternalIds)
    category: Code | None = None
    property_type: Code | None = None

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
                field="schema_id",
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


# --- the stored form (ours, used by the store and the HTTP API; platforms' JSON lives in their formats) ---


def _ids_dict(ids: ExternalIds) -> dict[str, str]:
    return {k: v for k, v in (("labelbox", ids.labelbox), ("encord", ids.encord), ("redbrick", ids.redbrick)) if v}


def _classification_dict(c: Classification) -> dict[str, Any]:
    flags = {k: True for k, v in (("dynamic", c.dynamic), ("global_scope", c.global_scope)) if v}
    return {
        "kind": c.type.value,
        "name": c.name,
        "schema_id": c.schema_id,
        "required": c.required,
        "instructions": c.instructions,
        "external_ids": _ids_dict(c.external_ids),
        "options": [
            {
                "value": o.value,
                "label": o.label,
                "schema_id": o.schema_id,
                "external_ids": _ids_dict(o.external_ids),
                "classifications": [_classification_dict(sub) for sub in o.classifications],
            }
            for o in c.options
        ],
        **flags,
    }


def _codes_dict(tool: Tool) -> dict[str, Any]:
    codes = {k: c.as_dict() for k, c in (("category", tool.category), ("property_type", tool.property_type)) if c}
    return {"codes": codes} if codes else {}


def ontology_to_dict(ontology: Ontology) -> dict[str, Any]:
    """The ontology as plain JSON in labelport's own shape (what the store keeps)."""
    return {
        "name": ontology.name,
        "media_type": ontology.media_type.value if ontology.media_type else None,
        "tools": [
            {
                "kind": t.type.value,
                "name": t.name,
                "schema_id": t.schema_id,
                "color": t.color,
                "required": t.required,
                "external_ids": _ids_dict(t.external_ids),
                "classifications": [_classification_dict(c) for c in t.classifications],
                **_codes_dict(t),
            }
            for t in ontology.tools
        ],
        "classifications": [_classification_dict(c) for c in ontology.classifications],
    }


def _classification_of(data: Mapping[str, Any]) -> Classification:
    return Classification(
        type=ClassificationType.parse(data["kind"]),
        name=data["name"],
        schema_id=data["schema_id"],
        required=bool(data.get("required", False)),
        instructions=data.get("instructions"),
        external_ids=ExternalIds(**data.get("external_ids", {})),
        dynamic=bool(data.get("dynamic", False)),
        global_scope=bool(data.get("global_scope", False)),
        options=tuple(
            Option(
                value=o["value"],
                label=o.get("label"),
                schema_id=o["schema_id"],
                external_ids=ExternalIds(**o.get("external_ids", {})),
                classifications=tuple(_classification_of(sub) for sub in o.get("classifications", ())),
            )
            for o in data.get("options", ())
        ),
    )


def ontology_from_dict(data: Mapping[str, Any], *, id: str | None = None) -> Ontology:
    """Rebuild what ``ontology_to_dict`` wrote (through the constructors, so it is checked again)."""
    tools = tuple(
        Tool(
            type=ToolType.parse(t["kind"]),
            name=t["name"],
            schema_id=t["schema_id"],
            color=t.get("color"),
            required=bool(t.get("required", False)),
            external_ids=ExternalIds(**t.get("external_ids", {})),
            classifications=tuple(_classification_of(c) for c in t.get("classifications", ())),
            category=Code.from_dict(t["codes"]["category"]) if t.get("codes", {}).get("category") else None,
            property_type=(
                Code.from_dict(t["codes"]["property_type"]) if t.get("codes", {}).get("property_type") else None
            ),
        )
        for t in data.get("tools", ())
    )
    media_type = data.get("media_type")
    return Ontology(
        name=data["name"],
        tools=tools,
        classifications=tuple(_classification_of(c) for c in data.get("classifications", ())),
        media_type=MediaType.parse(media_type) if media_type else None,
        **({"id": id} if id is not None else {}),
    )
