"""The layering DESIGN.md promises, checked on the source: vendor field names stay in their format's package,
and the formats are reached through the registry."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from labelport.formats import FORMATS, get_format

SRC = Path(__file__).resolve().parents[1] / "src" / "labelport"
# Labelbox's wire spellings (NDJSON imports, export_v2 rows, ontology JSON, import statuses) that have no
# meaning of their own elsewhere; generic words both use (name, value, frames...) are not listed.
LABELBOX_FIELDS = (
    "dataRow",
    "globalKey",
    "groupKey",
    "schemaId",
    "featureSchemaId",
    "schemaNodeId",
    "instanceURI",
    "colorRGB",
    "imBytes",
    "customMetrics",
    "additionalInfo",
    "annotation_kind",
    "feature_schema_id",
    "key_frame_feature_map",
    "radio_answer",
    "checklist_answers",
    "text_answer",
    "data_row_details",
    "project_details",
    "label_details",
    "performance_details",
    "interpolated_frames",
)
# Encord's wire spellings (label rows, ontology JSON) that mean nothing elsewhere. The Encord-style SDK
# (sdk/encord) speaks Encord's API, as the Labelbox-style SDK speaks Labelbox's; it takes the wire names from
# formats/encord/fields like any other caller.
ENCORD_FIELDS = (
    "objectHash",
    "featureHash",
    "classificationHash",
    "boundingBox",
    "rotatableBoundingBox",
    "manualAnnotation",
    "object_answers",
    "classification_answers",
    "object_actions",
    "data_units",
    "label_hash",
    "dicom_instance_uid",
    "skeleton_templates",
)
# Migrations convert data stored in older, Labelbox-shaped forms: naming those forms is their job.
EXEMPT = ("formats/labelbox/", "store/migrations/")


def _modules() -> list[Path]:
    return [p for p in sorted(SRC.rglob("*.py")) if not p.relative_to(SRC).as_posix().startswith(EXEMPT)]


def test_no_labelbox_field_name_outside_its_package() -> None:
    pattern = re.compile(r"\b(" + "|".join(LABELBOX_FIELDS) + r")\b")
    found = [
        f"{path.relative_to(SRC)}:{number}: {match.group(1)}"
        for path in _modules()
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if (match := pattern.search(line))
    ]
    assert found == []


def test_the_check_looks_for_names_labelbox_uses() -> None:
    """The scan above is not vacuous: each name it looks for is used by the Labelbox package."""
    text = "\n".join(p.read_text() for p in (SRC / "formats" / "labelbox").glob("*.py"))
    missing = [name for name in LABELBOX_FIELDS if not re.search(rf"\b{name}\b", text)]
    assert missing == []


def test_no_encord_field_name_outside_its_package() -> None:
    pattern = re.compile(r"\b(" + "|".join(ENCORD_FIELDS) + r")\b")
    found = [
        f"{path.relative_to(SRC)}:{number}: {match.group(1)}"
        for path in sorted(SRC.rglob("*.py"))
        if not path.relative_to(SRC).as_posix().startswith(("formats/encord/", "sdk/encord/"))
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if (match := pattern.search(line))
    ]
    assert found == []


def test_the_encord_check_looks_for_names_encord_uses() -> None:
    text = "\n".join(p.read_text() for p in (SRC / "formats" / "encord").glob("*.py"))
    assert [name for name in ENCORD_FIELDS if not re.search(rf"\b{name}\b", text)] == []


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


@pytest.mark.parametrize("package", ["cli", "sdk", "jobs", "api", "service"])
def test_callers_reach_formats_through_the_registry(package: str) -> None:
    """No caller imports a format module by name; the Labelbox package's shapes (statuses, types, ontology
    JSON, export params) may be used, but a format is found with ``get_format``."""
    modules = {e.module.__name__ for e in FORMATS}  # type: ignore[attr-defined]
    offenders = [
        f"{path.relative_to(SRC)} imports {name}"
        for path in sorted((SRC / package).rglob("*.py"))
        for name in _imports(path)
        if name in modules
    ]
    assert offenders == []


def test_every_format_is_found_by_name_and_alias() -> None:
    for entry in FORMATS:
        assert get_format(entry.name) is entry
    assert get_format("labelbox", reading=True).name == "labelbox_ndjson"
    assert get_format("labelbox", reading=False).name == "labelbox_export_v2"


# RedBrick's wire spellings (items list, tasks.json) that mean nothing outside its format.
REDBRICK_FIELDS = (
    "segmentMap",
    "binaryMask",
    "semanticMask",
    "pngMask",
    "overlappingGroups",
    "landmarks3d",
    "instanceClassifications",
    "absolutePoint",
    "pointTopLeft",
    "xNorm",
    "yNorm",
    "wNorm",
    "hNorm",
    "imageHeaders",
    "currentStageName",
    "frameIndex",
    "fileIndex",
)


def test_no_redbrick_field_name_outside_its_package() -> None:
    pattern = re.compile(r"\b(" + "|".join(REDBRICK_FIELDS) + r")\b")
    found = [
        f"{path.relative_to(SRC)}:{number}: {match.group(1)}"
        for path in sorted(SRC.rglob("*.py"))
        if not path.relative_to(SRC).as_posix().startswith("formats/redbrick/")
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if (match := pattern.search(line))
    ]
    assert found == []


def test_the_redbrick_check_looks_for_names_redbrick_uses() -> None:
    text = "\n".join(p.read_text() for p in (SRC / "formats" / "redbrick").glob("*.py"))
    missing = [name for name in REDBRICK_FIELDS if not re.search(rf"\b{name}\b", text)]
    assert missing == []
