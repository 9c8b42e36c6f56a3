"""The Labelbox ontology JSON: the normalized form ``OntologyBuilder.asdict()`` produces and
``client.create_ontology(name, normalized)`` takes. ``from_normalized`` reads it tolerantly (names, tool and
classification types, nested options to any depth, ids) and ``to_normalized`` writes it back.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from labelport.errors import ValidationError
from labelport.formats.labelbox.fields import (
    CLASSIFICATIONS,
    COLOR,
    EXTERNAL_IDS,
    FEATURE_SCHEMA_ID,
    INSTRUCTIONS,
    OPTION_LABEL,
    OPTION_VALUE,
    OPTIONS,
    REQUIRED,
    SCHEMA_NODE_ID,
    TOOL,
    TOOLS,
)
from labelport.model.ids import new_id
from labelport.model.media import MediaType
from labelport.model.ontology import (
    Classification,
    ClassificationType,
    ExternalIds,
    Ontology,
    Option,
    Tool,
    ToolType,
)


def from_normalized(name: str, normalized: Mapping[str, Any], media_type: MediaType | str | None = None) -> Ontology:
    """The ontology of a normalized dict; raises ValidationError naming the JSON path of the first problem."""
    if not isinstance(normalized, Mapping):
        raise ValidationError(
            f"ontology must be a mapping with 'tools' and 'classifications', found {type(normalized).__name__}",
            field="normalized",
            value=normalized,
        )
    used: set[str] = set()
    tools = tuple(_tool_from(t, f"tools[{i}]", used) for i, t in enumerate(normalized.get(TOOLS) or ()))
    classifications = tuple(
        _classification_from(c, f"classifications[{i}]", used)
        for i, c in enumerate(normalized.get(CLASSIFICATIONS) or ())
    )
    return Ontology(
        name=name,
        tools=tools,
        classifications=classifications,
        media_type=MediaType.parse(media_type) if media_type is not None else None,
    )


def to_normalized(ontology: Ontology) -> dict[str, Any]:
    return {
        TOOLS: [_tool_to(t) for t in ontology.tools],
        CLASSIFICATIONS: [_classification_to(c) for c in ontology.classifications],
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
    feature = data.get(FEATURE_SCHEMA_ID)
    node = data.get(SCHEMA_NODE_ID)
    raw_extra = data.get(EXTERNAL_IDS)
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
    return {EXTERNAL_IDS: ids} if ids else {}


def _tool_from(data: Any, where: str, used: set[str]) -> Tool:
    if not isinstance(data, Mapping):
        raise ValidationError(f"{where} must be an object, found {data!r}", field=where, value=data)
    schema_id, external = _ids(data, used)
    try:
        kind = ToolType.parse(_str_field(data, TOOL, where))
    except ValidationError as exc:
        raise ValidationError(f"{where}.tool: {exc.message}", field=f"{where}.tool", value=exc.value) from None
    subs = tuple(
        _classification_from(c, f"{where}.classifications[{i}]", used)
        for i, c in enumerate(data.get(CLASSIFICATIONS) or ())
    )
    return Tool(
        type=kind,
        name=_str_field(data, "name", where),
        schema_id=schema_id,
        color=data.get(COLOR),
        required=bool(data.get(REQUIRED, False)),
        classifications=subs,
        external_ids=external,
    )


def _classification_from(data: Any, where: str, used: set[str]) -> Classification:
    if not isinstance(data, Mapping):
        raise ValidationError(f"{where} must be an object, found {data!r}", field=where, value=data)
    schema_id, external = _ids(data, used)
    name = data.get("name") or data.get(INSTRUCTIONS)
    if not isinstance(name, str) or not name.strip():
        raise ValidationError(
            f"{where}.name must be a non-empty string, found {name!r}", field=f"{where}.name", value=name
        )
    try:
        kind = ClassificationType.parse(_str_field(data, "type", where))
    except ValidationError as exc:
        raise ValidationError(f"{where}.type: {exc.message}", field=f"{where}.type", value=exc.value) from None
    options = []
    for i, raw in enumerate(data.get(OPTIONS) or ()):
        owhere = f"{where}.options[{i}]"
        if not isinstance(raw, Mapping):
            raise ValidationError(f"{owhere} must be an object, found {raw!r}", field=owhere, value=raw)
        o_schema, o_external = _ids(raw, used)
        value = raw.get(OPTION_VALUE) if raw.get(OPTION_VALUE) is not None else raw.get(OPTION_LABEL)
        if not isinstance(value, str) or not value.strip():
            raise ValidationError(
                f"{owhere}.value must be a non-empty string, found {value!r}", field=f"{owhere}.value", value=value
            )
        nested = tuple(
            _classification_from(c, f"{owhere}.options[{j}]", used) for j, c in enumerate(raw.get(OPTIONS) or ())
        )
        options.append(
            Option(
                value=value,
                label=raw.get(OPTION_LABEL),
                schema_id=o_schema,
                classifications=nested,
                external_ids=o_external,
            )
        )
    return Classification(
        type=kind,
        name=name,
        options=tuple(options),
        schema_id=schema_id,
        required=bool(data.get(REQUIRED, False)),
        instructions=data.get(INSTRUCTIONS),
        external_ids=external,
    )


def _tool_to(tool: Tool) -> dict[str, Any]:
    return {
        TOOL: tool.type.value,
        "name": tool.name,
        REQUIRED: tool.required,
        COLOR: tool.color,
        CLASSIFICATIONS: [_classification_to(c) for c in tool.classifications],
        SCHEMA_NODE_ID: tool.schema_id,
        FEATURE_SCHEMA_ID: tool.external_ids.labelbox or tool.schema_id,
        **_external_to(tool),
    }


def _classification_to(c: Classification) -> dict[str, Any]:
    return {
        "type": c.type.value,
        "name": c.name,
        INSTRUCTIONS: c.instructions or c.name,
        REQUIRED: c.required,
        OPTIONS: [
            {
                OPTION_LABEL: o.label or o.value,
                OPTION_VALUE: o.value,
                SCHEMA_NODE_ID: o.schema_id,
                FEATURE_SCHEMA_ID: o.external_ids.labelbox or o.schema_id,
                OPTIONS: [_classification_to(sub) for sub in o.classifications],
                **_external_to(o),
            }
            for o in c.options
        ],
        SCHEMA_NODE_ID: c.schema_id,
        FEATURE_SCHEMA_ID: c.external_ids.labelbox or c.schema_id,
        **_external_to(c),
    }
