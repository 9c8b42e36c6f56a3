"""What the viewer says about an annotation: classification answers as text (nested too), shapes of every
vector geometry, and colours from the ontology."""

from __future__ import annotations

import pytest

from labelport.model.annotation import Checklist, ClassificationAnnotation, ClassificationAnswer, Radio, Text
from labelport.model.geometry import Ellipse, Line, Point, Polygon, Rectangle, RotatedRectangle, Skeleton, SkeletonNode
from labelport.model.media import PlaneGroup
from labelport.model.ontology import Ontology, Tool, ToolType
from labelport.service.viewer_annotations import PALETTE, Palette, ShapeType, answers_of, rgb_of, shape_of


def test_answers_are_lines_of_question_and_answer_nested_ones_with_their_path() -> None:
    nested = ClassificationAnnotation(Text("calcified"), name="note")
    quality = ClassificationAnnotation(
        Radio(ClassificationAnswer(name="artefacts", classifications=(nested,))), name="q"
    )
    findings = ClassificationAnnotation(
        Checklist((ClassificationAnswer(name="cyst"), ClassificationAnswer(schema_id="id-nodule"))), name="findings"
    )
    assert answers_of((quality, findings), {"id-nodule": "nodule"}) == [
        "q: artefacts",
        "q > artefacts > note: calcified",
        "findings: cyst, nodule",
    ]


@pytest.mark.parametrize(
    ("geometry", "kind", "points"),
    [
        (Line((Point(1, 2), Point(3, 4))), ShapeType.POLYLINE, [(1, 2), (3, 4)]),
        (Polygon((Point(0, 0), Point(4, 0), Point(4, 3))), ShapeType.POLYGON, [(0, 0), (4, 0), (4, 3)]),
        (Rectangle(Point(5, 6), Point(1, 2)), ShapeType.BOX, [(1, 2), (5, 6)]),
        (Point(7.5, 8.25), ShapeType.POINT, [(7.5, 8.25)]),
        (RotatedRectangle(Point(10, 10), 4, 2, 90), ShapeType.POLYGON, [(11, 8), (11, 12), (9, 12), (9, 8)]),
        (Ellipse(Point(3, 3), 2, 1, 30), ShapeType.ELLIPSE, [(3, 3)]),
    ],
)
def test_every_vector_geometry_has_a_shape(
    geometry: object, kind: ShapeType, points: list[tuple[float, float]]
) -> None:
    shape = shape_of(geometry, PlaneGroup.CORONAL, 4)  # type: ignore[arg-type]
    assert shape is not None and shape.type is kind and (shape.plane, shape.frame) == (PlaneGroup.CORONAL, 4)
    assert [tuple(round(v, 9) for v in p) for p in shape.points] == points


def test_a_skeleton_keeps_its_edges_by_node_index() -> None:
    nodes = (SkeletonNode("head", Point(1, 1)), SkeletonNode("tail", Point(5, 2)))
    shape = shape_of(Skeleton(nodes, (("head", "tail"),)), None, None)
    assert shape is not None and shape.edges == [(0, 1)] and shape.points == [(1, 1), (5, 2)]


def test_colours_come_from_the_ontology_then_the_annotation_then_a_stable_palette() -> None:
    ontology = Ontology(
        "o", tools=(Tool(ToolType.LINE, "a", schema_id="sa", color="0F0"), Tool(ToolType.POINT, "b", schema_id="sb"))
    )
    palette = Palette(ontology)
    assert palette.color("sa") == "#00ff00" and rgb_of(palette.color("sa")) == (0, 255, 0)
    assert palette.color("sb") == PALETTE[1]  # no colour in the ontology: the palette, by the tool's position
    assert palette.color("unknown", (1, 2, 3)) == "#010203"
    assert palette.color("unknown") == Palette(None).color("unknown")
    assert palette.tools == {"sa": "line", "sb": "point"}
