"""Labelbox-style ontology building: ``OntologyBuilder(tools=[Tool(...)], classifications=[...]).asdict()``.

The result of ``asdict()`` is the normalized form ``client.create_ontology(name, normalized)`` takes; the
classes here only assemble it, the model checks it (names unique among siblings) when it is created.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from labelport.formats.labelbox.fields import FEATURE_SCHEMA_ID, SCHEMA_NODE_ID
from labelport.model.ontology import ClassificationType, ToolType
from labelport.model.ontology import Ontology as ModelOntology


@dataclass
class Option:
    """An answer of a radio or checklist classification, with optional nested classifications."""

    value: str
    label: str | None = None
    schema_id: str | None = None
    feature_schema_id: str | None = None
    options: list[Classification] = field(default_factory=list)

    def asdict(self) -> dict[str, Any]:
        return {
            SCHEMA_NODE_ID: self.schema_id,
            FEATURE_SCHEMA_ID: self.feature_schema_id,
            "label": self.label or self.value,
            "value": self.value,
            "options": [c.asdict() for c in self.options],
        }

    def add_option(self, option: Classification) -> None:
        self.options.append(option)


@dataclass
class Classification:
    """A radio, checklist or text question (``Classification.Type.RADIO`` ...)."""

    Type = ClassificationType

    class Scope(StrEnum):
        GLOBAL = "global"
        INDEX = "index"

    class_type: ClassificationType
    name: str | None = None
    instructions: str | None = None
    required: bool = False
    options: list[Option] = field(default_factory=list)
    schema_id: str | None = None
    feature_schema_id: str | None = None
    scope: Classification.Scope | None = None

    def asdict(self) -> dict[str, Any]:
        name = self.name or self.instructions
        out: dict[str, Any] = {
            "type": ClassificationType.parse(self.class_type).value,
            "name": name,
            "instructions": self.instructions or name,
            "required": self.required,
            "options": [o.asdict() for o in self.options],
            SCHEMA_NODE_ID: self.schema_id,
            FEATURE_SCHEMA_ID: self.feature_schema_id,
        }
        if self.scope is not None:
            out["scope"] = self.scope.value
        return out

    def add_option(self, option: Option) -> None:
        self.options.append(option)


@dataclass
class Tool:
    """An object tool (``Tool.Type.LINE``, ``Tool.Type.RASTER_SEGMENTATION`` ...)."""

    Type = ToolType

    tool: ToolType
    name: str
    required: bool = False
    color: str | None = None
    classifications: list[Classification] = field(default_factory=list)
    schema_id: str | None = None
    feature_schema_id: str | None = None

    def asdict(self) -> dict[str, Any]:
        return {
            "tool": ToolType.parse(self.tool).value,
            "name": self.name,
            "required": self.required,
            "color": self.color,
            "classifications": [c.asdict() for c in self.classifications],
            SCHEMA_NODE_ID: self.schema_id,
            FEATURE_SCHEMA_ID: self.feature_schema_id,
        }

    def add_classification(self, classification: Classification) -> None:
        self.classifications.append(classification)


@dataclass
class OntologyBuilder:
    """Collects tools and classifications; ``asdict()`` gives the normalized ontology."""

    tools: list[Tool] = field(default_factory=list)
    classifications: list[Classification] = field(default_factory=list)

    def asdict(self) -> dict[str, Any]:
        return {
            "tools": [t.asdict() for t in self.tools],
            "classifications": [c.asdict() for c in self.classifications],
        }

    def add_tool(self, tool: Tool) -> None:
        self.tools.append(tool)

    def add_classification(self, classification: Classification) -> None:
        self.classifications.append(classification)

    @classmethod
    def from_dict(cls, normalized: dict[str, Any]) -> OntologyBuilder:
        from labelport.formats.labelbox.ontology import from_normalized

        ontology = from_normalized("builder", normalized)
        return cls.from_model(ontology)

    @classmethod
    def from_model(cls, ontology: ModelOntology) -> OntologyBuilder:
        from labelport.model import ontology as m

        def classification(c: m.Classification) -> Classification:
            return Classification(
                class_type=c.type,
                name=c.name,
                instructions=c.instructions,
                required=c.required,
                schema_id=c.schema_id,
                feature_schema_id=c.schema_id,
                options=[
                    Option(
                        value=o.value,
                        label=o.label,
                        schema_id=o.schema_id,
                        feature_schema_id=o.schema_id,
                        options=[classification(s) for s in o.classifications],
                    )
                    for o in c.options
                ],
            )

        return cls(
            tools=[
                Tool(
                    tool=t.type,
                    name=t.name,
                    required=t.required,
                    color=t.color,
                    schema_id=t.schema_id,
                    feature_schema_id=t.schema_id,
                    classifications=[classification(c) for c in t.classifications],
                )
                for t in ontology.tools
            ],
            classifications=[classification(c) for c in ontology.classifications],
        )
