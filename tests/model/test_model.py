"""The canonical model is valid by construction: bad values raise sentences naming them."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from labelport.errors import ValidationError
from labelport.model import (
    Checklist,
    Classification,
    ClassificationAnnotation,
    ClassificationAnswer,
    ClassificationType,
    DataRow,
    DataRowKey,
    ExternalIds,
    Label,
    LabelKind,
    Line,
    Mask,
    MediaType,
    ObjectAnnotation,
    Ontology,
    Option,
    Placement,
    PlaneGroup,
    Point,
    Polygon,
    Radio,
    RasterSource,
    Rectangle,
    Text,
    Tool,
    ToolType,
    normalise_uuid,
)

CANONICAL = "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"


@pytest.mark.parametrize(
    "spelling",
    [
        "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11",
        "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}",
        "a0eebc999c0b4ef8bb6d6bb9bd380a11",
        "a0ee-bc99-9c0b-4ef8-bb6d-6bb9-bd38-0a11",
        "{a0eebc99-9c0b4ef8-bb6d6bb9-bd380a11}",
    ],
)
def test_uuid_accepts_the_five_documented_spellings(spelling: str) -> None:
    assert normalise_uuid(spelling) == CANONICAL


@pytest.mark.parametrize(
    "bad",
    [
        "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1",  # 31 digits
        "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",  # unbalanced brace
        "a0eeb-c99-9c0b-4ef8-bb6d-6bb9-bd38-0a11",  # hyphen inside a group of four
        "urn:uuid:a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
        "g0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
        "",
    ],
)
def test_uuid_rejects_other_spellings_naming_the_value(bad: str) -> None:
    with pytest.raises(ValidationError, match="not a valid UUID") as info:
        normalise_uuid(bad)
    assert info.value.value == bad


@given(st.uuids())
def test_uuid_normalisation_is_idempotent(value: uuid.UUID) -> None:
    for spelling in (str(value).upper(), value.hex, "{" + str(value) + "}"):
        assert normalise_uuid(spelling) == str(value)


def test_polygon_is_closed_as_labelbox_closes_it() -> None:
    polygon = Polygon([(10, 20), (15, 20), (20, 25)])
    assert polygon.points[-1] == polygon.points[0]
    assert len(polygon.points) == 4
    already = Polygon([(10, 20), (15, 20), (20, 25), (10, 20)])
    assert len(already.points) == 4


@pytest.mark.parametrize(
    ("points", "message"),
    [
        ([(0, 0), (1, 1)], "at least 3 points, found 2"),
        ([(0, 0), (1, 1), (0, 0)], "at least 3 distinct points, found 2"),
    ],
)
def test_polygon_needs_three_points(points: list[tuple[float, float]], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Polygon(points)  # type: ignore[arg-type]


def test_line_needs_two_points_and_finite_coordinates() -> None:
    with pytest.raises(ValidationError, match="at least 2 points, found 1"):
        Line([Point(1, 2)])
    with pytest.raises(ValidationError, match="point x must be finite, found nan"):
        Point(float("nan"), 0)


def test_rectangle_normalises_corner_order() -> None:
    box = Rectangle(Point(30, 5), Point(10, 25))
    assert (box.start, box.end) == (Point(10, 5), Point(30, 25))
    assert (box.width, box.height) == (20, 20)


def test_mask_colour_and_source_checks() -> None:
    source = RasterSource(png=b"\x89PNG")
    assert Mask(source, 7).color == (7, 7, 7)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match=r"three integers 0\.\.255, found \(256, 0, 0\)"):
        Mask(source, (256, 0, 0))
    with pytest.raises(ValidationError, match="exactly one of uri, png, blob"):
        RasterSource(uri="file:///a.png", png=b"x")


def test_confidence_must_be_in_unit_interval() -> None:
    with pytest.raises(ValidationError, match=r"between 0 and 1, found 1\.5"):
        ObjectAnnotation(uuid=CANONICAL, geometry=Point(1, 1), name="p", confidence=1.5)
    annotation = ObjectAnnotation(uuid=CANONICAL.upper(), geometry=Point(1, 1), name="p", confidence=0.25)
    assert annotation.uuid == CANONICAL


def test_nested_classifications_to_any_depth() -> None:
    deepest = ClassificationAnnotation(name="level3", answer=Text("free text"))
    middle = ClassificationAnnotation(
        name="level2", answer=Checklist([ClassificationAnswer(name="b", classifications=(deepest,))])
    )
    top = ClassificationAnnotation(
        name="level1", answer=Radio(ClassificationAnswer(name="a", confidence=0.5, classifications=(middle,)))
    )
    assert isinstance(top.answer, Radio)
    inner = top.answer.answer.classifications[0]
    assert isinstance(inner.answer, Checklist)
    assert inner.answer.answers[0].classifications[0].answer == Text("free text")


def test_feature_needs_name_or_schema_id() -> None:
    with pytest.raises(ValidationError, match="needs a name or a schema id"):
        ObjectAnnotation(uuid=CANONICAL, geometry=Point(0, 0))


def test_placement_normalises_plane_group() -> None:
    assert Placement(frame=3, group="Axial").group is PlaneGroup.AXIAL  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="plane must be one of axial, sagittal, coronal; found 'oblique'"):
        Placement(group="oblique")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="frame must be a non-negative integer, found -1"):
        Placement(frame=-1)


def test_label_kind_accepts_the_platforms_spellings() -> None:
    assert Label(kind="prelabels").kind is LabelKind.PREDICTION  # type: ignore[arg-type]
    assert Label(kind="ground-truth").kind is LabelKind.GROUND_TRUTH  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="label kind must be one of prediction, ground_truth; found 'draft'"):
        Label(kind="draft")  # type: ignore[arg-type]


def test_data_row_key_needs_an_identifier_and_says_which() -> None:
    with pytest.raises(ValidationError, match="a data row needs an id, a global key, an external id or a name"):
        DataRowKey()
    with pytest.raises(ValidationError, match="data row global_key must be a non-empty string, found ''"):
        DataRowKey(global_key="")
    key = DataRowKey(global_key="study-1", names=("h", "t"))
    assert str(key) == "global key 'study-1', 'h' or 't'"
    assert DataRowKey.from_dict(key.as_dict()) == key


def test_stored_ontology_form_round_trips_every_node() -> None:
    from labelport.model.ontology import ontology_from_dict, ontology_to_dict

    ontology = Ontology(
        "o",
        tools=(
            Tool(ToolType.LINE, "line", external_ids=ExternalIds(labelbox="lb1", encord="enc1")),
            Tool(ToolType.RASTER_SEGMENTATION, "seg", color="#ff0000"),
        ),
        classifications=(
            Classification(
                ClassificationType.RADIO,
                "kind",
                options=(Option("a", classifications=(Classification(ClassificationType.TEXT, "why"),)),),
            ),
        ),
        media_type="dicom",  # type: ignore[arg-type]
    )
    again = ontology_from_dict(ontology_to_dict(ontology), id=ontology.id)
    assert again == ontology


def test_data_row_media_type_accepts_platform_spellings() -> None:
    row = DataRow(id="r1", row_data="/x.png", media_type="Dicom")  # type: ignore[arg-type]
    assert row.media_type is MediaType.DICOM
    assert MediaType.Dicom is MediaType.DICOM


def test_ontology_sibling_names_are_unique_at_every_depth() -> None:
    with pytest.raises(ValidationError, match="two nodes named 'line' under the ontology's tools"):
        Ontology("o", tools=(Tool(ToolType.LINE, "line"), Tool(ToolType.POLYGON, "line")))
    with pytest.raises(ValidationError, match="two nodes named 'a' under classification 'q'"):
        Classification(ClassificationType.RADIO, "q", options=(Option("a"), Option("a")))
    # The same name in different sibling groups is fine.
    ok = Ontology(
        "o",
        tools=(Tool(ToolType.LINE, "x", classifications=(Classification(ClassificationType.TEXT, "x"),)),),
        classifications=(Classification(ClassificationType.TEXT, "x"),),
    )
    assert len(list(ok.walk())) == 3
