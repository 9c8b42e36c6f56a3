"""The ontology features an item uses: what an importer adds to a project's ontology on request.

Categories become tools of the kind their objects need (segmentMap categories raster-segmentation tools,
landmarks point tools, measurements line tools, boxes and cuboids bbox tools...), attributes classifications
nested under them, task and series classifications top-level classifications whose RedBrick id says where
they are written back (``study``: the task's ``classification``; ``series``: the series' ``classifications``).
A category given by class id names no feature to create. The first kind a name is used with wins.
"""

from __future__ import annotations

from collections.abc import Iterable

from labelport.formats.redbrick import attributes
from labelport.formats.redbrick import fields as f
from labelport.model.annotation import (
    AnyAnnotation,
    ClassificationAnnotation,
    ObjectAnnotation,
    TrackedObject,
    VolumeMask,
)
from labelport.model.geometry import Ellipse, Line, Mask, Point, Polygon, Rectangle, RotatedRectangle, Skeleton
from labelport.model.ontology import Classification, ExternalIds, Ontology, Tool, ToolType

TOOL_FOR_GEOMETRY: dict[type, ToolType] = {
    Point: ToolType.POINT,
    Line: ToolType.LINE,
    Polygon: ToolType.POLYGON,
    Rectangle: ToolType.BBOX,
    RotatedRectangle: ToolType.ROTATED_BBOX,
    Ellipse: ToolType.ELLIPSE,
    Mask: ToolType.RASTER_SEGMENTATION,
    Skeleton: ToolType.SKELETON,
}


def _merge(into: dict[str, Classification], node: Classification) -> None:
    """Add ``node`` to the classifications by name, joining the options of one already there."""
    known = into.get(node.name)
    if known is None:
        into[node.name] = node
        return
    if known.type is not node.type:
        return
    names = {o.value for o in known.options}
    extra = tuple(o for o in node.options if o.value not in names)
    if extra:
        into[node.name] = Classification(
            known.type, known.name, (*known.options, *extra), known.schema_id, external_ids=known.external_ids
        )


def _nested(annotations: Iterable[ClassificationAnnotation]) -> tuple[Classification, ...]:
    nodes: dict[str, Classification] = {}
    for annotation in annotations:
        _merge(nodes, attributes.node_for(annotation))
    return tuple(nodes.values())


def features_of(
    annotations: Iterable[AnyAnnotation], study: set[str] | frozenset[str] = frozenset()
) -> Ontology | None:
    """The tools and classifications ``annotations`` use (``study``: names of task-level classifications)."""
    tools: dict[str, Tool] = {}
    top: dict[str, Classification] = {}
    for annotation in annotations:
        kind: ToolType | None = None
        nested: tuple[ClassificationAnnotation, ...] = ()
        if isinstance(annotation, VolumeMask):
            kind, nested = ToolType.RASTER_SEGMENTATION, annotation.classifications
        elif isinstance(annotation, ObjectAnnotation):
            kind, nested = TOOL_FOR_GEOMETRY.get(type(annotation.geometry)), annotation.classifications
        elif isinstance(annotation, TrackedObject):
            kind = TOOL_FOR_GEOMETRY.get(type(annotation.keyframes[0].geometry))
            nested = annotation.classifications
        elif isinstance(annotation, ClassificationAnnotation) and annotation.name is not None:
            node = attributes.node_for(annotation)
            level = f.STUDY_LEVEL if annotation.name in study else f.SERIES_LEVEL
            _merge(top, Classification(node.type, node.name, node.options, external_ids=ExternalIds(redbrick=level)))
            continue
        name = getattr(annotation, "name", None)
        if kind is None or name is None:
            continue
        known = tools.get(name)
        if known is None:
            tools[name] = Tool(kind, name, classifications=_nested(nested))
        elif known.type is kind and nested:
            merged = {c.name: c for c in known.classifications}
            for node in _nested(nested):
                _merge(merged, node)
            tools[name] = Tool(kind, name, known.schema_id, classifications=tuple(merged.values()))
    if not tools and not top:
        return None
    return Ontology("RedBrick items list", tuple(tools.values()), tuple(top.values()))


__all__ = ["TOOL_FOR_GEOMETRY", "features_of"]
