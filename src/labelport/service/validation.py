"""Checking annotations against a project's ontology and media: each failure names the value found."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from labelport.errors import ValidationError
from labelport.model.annotation import (
    AnyAnnotation,
    Checklist,
    ClassificationAnnotation,
    ClassificationAnswer,
    FrameMasks,
    ObjectAnnotation,
    Radio,
    Relationship,
    Text,
    TrackedObject,
    VolumeMask,
)
from labelport.model.geometry import Ellipse, Line, Mask, Point, Polygon, Rectangle, RotatedRectangle, Skeleton
from labelport.model.media import MediaType
from labelport.model.ontology import Classification, ClassificationType, Ontology, Option, Tool, ToolType

TOOL_FOR_GEOMETRY: dict[type, ToolType] = {
    Rectangle: ToolType.BBOX,
    Polygon: ToolType.POLYGON,
    Line: ToolType.LINE,
    Point: ToolType.POINT,
    Mask: ToolType.RASTER_SEGMENTATION,
    RotatedRectangle: ToolType.ROTATED_BBOX,
    Ellipse: ToolType.ELLIPSE,
    Skeleton: ToolType.SKELETON,
}

TOOL_FOR_GEOMETRY_NAME: dict[str, ToolType] = {cls.__name__: tool for cls, tool in TOOL_FOR_GEOMETRY.items()}

TYPE_FOR_ANSWER: dict[type, ClassificationType] = {
    Radio: ClassificationType.RADIO,
    Checklist: ClassificationType.CHECKLIST,
    Text: ClassificationType.TEXT,
}


def _who(name: str | None, schema_id: str | None) -> str:
    return f"schema id {schema_id!r}" if schema_id is not None else f"name {name!r}"


@dataclass(frozen=True, slots=True)
class Feature:
    """The ontology node an annotation resolved to."""

    schema_id: str
    name: str
    tool: ToolType | None = None


class OntologyIndex:
    """Fast look-ups of an ontology's top-level tools and classifications by name and by any id."""

    def __init__(self, ontology: Ontology) -> None:
        self.ontology = ontology
        self.tools: dict[str, Tool] = {}
        self.classifications: dict[str, Classification] = {}
        for tool in ontology.tools:
            for key in self._keys(tool):
                self.tools.setdefault(key, tool)
        for c in ontology.classifications:
            for key in self._keys(c):
                self.classifications.setdefault(key, c)

    @staticmethod
    def _keys(node: Tool | Classification) -> Iterable[str]:
        ids = node.external_ids
        yield f"name:{node.name}"
        for value in (node.schema_id, ids.labelbox, ids.encord, ids.redbrick):
            if value:
                yield f"id:{value}"

    def tool(self, name: str | None, schema_id: str | None, wanted: ToolType) -> Tool:
        key = f"id:{schema_id}" if schema_id is not None else f"name:{name}"
        tool = self.tools.get(key)
        if tool is None:
            if key in {f"name:{c.name}" for c in self.classifications.values()} or key in self.classifications:
                raise ValidationError(
                    f"feature {_who(name, schema_id)} is a classification, "
                    f"but the annotation is a {wanted.value} object",
                    field="name",
                    value=schema_id or name,
                )
            raise ValidationError(
                f"feature {_who(name, schema_id)} is not in the project's ontology "
                f"(tools: {', '.join(sorted(t.name for t in self.ontology.tools)) or 'none'})",
                field="schema_id" if schema_id is not None else "name",
                value=schema_id or name,
            )
        if tool.type is not wanted:
            raise ValidationError(
                f"feature {tool.name!r} is a {tool.type.value} tool, but the annotation is a {wanted.value}",
                field="name",
                value=tool.name,
            )
        return tool

    def check(self, annotation: AnyAnnotation, media_type: MediaType) -> list[Feature]:
        """The features an annotation uses; raises on the first problem."""
        if media_type is MediaType.DICOM:
            dicom_only(annotation)
        if isinstance(annotation, ObjectAnnotation):
            tool = self.tool(annotation.name, annotation.schema_id, TOOL_FOR_GEOMETRY[type(annotation.geometry)])
            self.check_classifications(annotation.classifications, tool.classifications, f"tool {tool.name!r}")
            return [Feature(tool.schema_id, tool.name, tool.type)]
        if isinstance(annotation, TrackedObject):
            kinds = {type(k.geometry) for k in annotation.keyframes}
            if len(kinds) != 1:
                raise ValidationError(
                    f"keyframes of one object mix geometries: {sorted(k.__name__ for k in kinds)}",
                    field="segments",
                    value=sorted(k.__name__ for k in kinds),
                )
            tool = self.tool(annotation.name, annotation.schema_id, TOOL_FOR_GEOMETRY[kinds.pop()])
            self.check_classifications(annotation.classifications, tool.classifications, f"tool {tool.name!r}")
            for keyframe in annotation.keyframes:
                self.check_classifications(keyframe.classifications, tool.classifications, f"tool {tool.name!r}")
            return [Feature(tool.schema_id, tool.name, tool.type)]
        if isinstance(annotation, FrameMasks):
            features = []
            for instance in annotation.instances:
                tool = self.tool(instance.name, instance.schema_id, ToolType.RASTER_SEGMENTATION)
                features.append(Feature(tool.schema_id, tool.name, tool.type))
            return features
        if isinstance(annotation, VolumeMask):
            tool = self.tool(annotation.name, annotation.schema_id, ToolType.RASTER_SEGMENTATION)
            self.check_classifications(annotation.classifications, tool.classifications, f"tool {tool.name!r}")
            return [Feature(tool.schema_id, tool.name, tool.type)]
        if isinstance(annotation, Relationship):
            tool = self.tool(annotation.name, annotation.schema_id, ToolType.RELATIONSHIP)
            return [Feature(tool.schema_id, tool.name, tool.type)]
        node = self.check_classifications((annotation,), self.ontology.classifications, "the ontology")[0]
        return [Feature(node.schema_id, node.name)]

    def check_classifications(
        self, annotations: Iterable[ClassificationAnnotation], allowed: Iterable[Classification], where: str
    ) -> list[Classification]:
        """Each classification and its answers, to any depth, exist under ``allowed`` with the right type."""
        nodes = list(allowed)
        found = []
        for annotation in annotations:
            node = _find(nodes, annotation.name, annotation.schema_id)
            if node is None:
                raise ValidationError(
                    f"classification {_who(annotation.name, annotation.schema_id)} is not under {where} "
                    f"(classifications: {', '.join(sorted(n.name for n in nodes)) or 'none'})",
                    field="name",
                    value=annotation.schema_id or annotation.name,
                )
            expected = TYPE_FOR_ANSWER[type(annotation.answer)]
            if node.type is not expected:
                raise ValidationError(
                    f"classification {node.name!r} is {node.type.value}, but the answer is {expected.value}",
                    field="answer",
                    value=node.name,
                )
            answers: tuple[ClassificationAnswer, ...] = ()
            if isinstance(annotation.answer, Radio):
                answers = (annotation.answer.answer,)
            elif isinstance(annotation.answer, Checklist):
                answers = annotation.answer.answers
            for answer in answers:
                option = node.find_option(name=answer.name, schema_id=answer.schema_id)
                if option is None:
                    raise ValidationError(
                        f"answer {_who(answer.name, answer.schema_id)} is not an option of classification "
                        f"{node.name!r} (options: {', '.join(o.value for o in node.options)})",
                        field="answer",
                        value=answer.schema_id or answer.name,
                    )
                self.check_classifications(answer.classifications, option.classifications, _option_where(option))
            found.append(node)
        return found


def _option_where(option: Option) -> str:
    return f"option {option.value!r}"


def _find(nodes: list[Classification], name: str | None, schema_id: str | None) -> Classification | None:
    for node in nodes:
        ids = node.external_ids
        if schema_id is not None:
            if schema_id in (node.schema_id, ids.labelbox, ids.encord, ids.redbrick):
                return node
        elif node.name == name:
            return node
    return None


def dicom_only(annotation: AnyAnnotation) -> None:
    """What a DICOM data row (a series) takes: objects drawn on a slice of a plane (axial, sagittal, coronal),
    tracks across slices of a plane, per-frame masks on a plane, label volumes, and classifications."""
    if isinstance(annotation, FrameMasks):
        if annotation.group is None:
            raise ValidationError("a DICOM mask needs a plane (axial, sagittal, coronal)", field="plane")
        return
    if isinstance(annotation, TrackedObject):
        if annotation.group is None:
            raise ValidationError(
                "a track on a DICOM series needs a plane (axial, sagittal, coronal)", field="plane", value=None
            )
        return
    if isinstance(annotation, ObjectAnnotation):
        if annotation.placement.group is None or annotation.placement.frame is None:
            kind = type(annotation.geometry).__name__
            raise ValidationError(
                f"an object on a DICOM series sits on a slice of a plane (axial, sagittal, coronal); this {kind} "
                "names no plane and slice",
                field="plane",
                value=kind,
            )
        return
    if isinstance(annotation, VolumeMask | ClassificationAnnotation | Relationship):
        return
    kind = type(annotation).__name__
    raise ValidationError(f"DICOM data rows do not take {kind}", field="annotation", value=kind)
