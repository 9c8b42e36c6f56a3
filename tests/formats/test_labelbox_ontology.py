"""The Labelbox ontology JSON (``OntologyBuilder.asdict()``'s normalized form) in and out."""

from __future__ import annotations

import pytest

from labelport.errors import ValidationError
from labelport.formats.labelbox.ontology import from_normalized, to_normalized
from labelport.model import ToolType


def test_ontology_normalized_round_trip_keeps_ids_and_nesting() -> None:
    normalized = {
        "tools": [
            {"tool": "raster-segmentation", "name": "segmentation_mask_dicom"},
            {
                "tool": "line",
                "name": "line_dicom",
                "featureSchemaId": "ckabcdefghijklmnopqrstuvw",
                "classifications": [
                    {
                        "type": "radio",
                        "name": "kind",
                        "options": [{"value": "a", "options": [{"type": "text", "name": "why"}]}],
                    }
                ],
            },
        ],
        "classifications": [{"type": "checklist", "instructions": "flags", "options": [{"label": "x"}]}],
    }
    ontology = from_normalized("o", normalized, "dicom")
    assert ontology.tools[0].type is ToolType.RASTER_SEGMENTATION
    line = ontology.find_tool(schema_id="ckabcdefghijklmnopqrstuvw")
    assert line is not None and line.name == "line_dicom"
    assert ontology.classifications[0].name == "flags"
    again = from_normalized("o", to_normalized(ontology), "dicom")
    assert [n.schema_id for n in again.walk()] == [n.schema_id for n in ontology.walk()]
    assert to_normalized(again) == to_normalized(ontology)


def test_ontology_rejects_unknown_tool_with_its_path() -> None:
    with pytest.raises(ValidationError, match=r"tools\[1\]\.tool: tool must be one of .*found 'laser'"):
        from_normalized("o", {"tools": [{"tool": "line", "name": "a"}, {"tool": "laser", "name": "b"}]})
