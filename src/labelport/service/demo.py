"""``labelport demo``: a small, complete workspace to look at, made once per store."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from labelport.model.media import MediaType
from labelport.model.ontology import Classification as OntologyClassification
from labelport.model.ontology import ClassificationType, ExternalIds, Ontology, Option, Tool, ToolType
from labelport.service import datasets, ontologies, projects, synthetic
from labelport.service.hub import Hub
from labelport.service.records import BatchInfo, DatasetInfo, OntologyInfo, ProjectInfo

DEMO_PROJECT = "demo: DICOM segmentation"


@dataclass(frozen=True, slots=True)
class DemoWorkspace:
    created: bool
    dataset: DatasetInfo | None
    ontology: OntologyInfo | None
    project: ProjectInfo
    batches: list[BatchInfo]
    data_rows: list[tuple[str, str | None, str, dict[str, object]]]


def run_demo(hub: Hub, media_root: Path) -> DemoWorkspace:
    """Create the demo dataset, ontology, project and batch unless the store has them already."""
    existing = [p for p in projects.list_projects(hub) if p.name == DEMO_PROJECT]
    if existing:
        project = existing[0]
        return DemoWorkspace(False, None, None, project, projects.list_batches(hub, project.id), [])
    series = synthetic.write_series(media_root / "phantom-series")
    image = synthetic.write_image(media_root / "thumbnail.png")
    dataset = datasets.create_dataset(hub, "demo dataset", "synthetic phantom series and a thumbnail")
    # labelport writes the demo's media itself, often in its own home (which users' files may never be in).
    maker = replace(
        hub, settings=replace(hub.settings, protected=(), file_roots=(*hub.settings.file_roots, media_root))
    )
    result = datasets.create_data_rows(
        maker,
        dataset.id,
        [
            {"row_data": str(series[0].parent), "global_key": "demo/phantom-series", "media_type": "dicom"},
            {"row_data": str(image), "global_key": "demo/thumbnail.png", "media_type": "image"},
        ],
    )
    if result.failures:
        raise RuntimeError(f"demo data rows failed: {[f.message for f in result.failures]}")
    ontology = ontologies.create_ontology(
        hub,
        "demo DICOM ontology",
        Ontology(
            name="demo DICOM ontology",
            tools=(
                Tool(ToolType.RASTER_SEGMENTATION, "segmentation_mask_dicom", color="#ff0000"),
                Tool(ToolType.LINE, "line_dicom", color="#00ff00"),
            ),
            classifications=(
                OntologyClassification(
                    ClassificationType.RADIO,
                    "image quality",
                    options=(Option("good"), Option("artefacts")),
                    external_ids=ExternalIds(),
                ),
            ),
        ),
        MediaType.DICOM,
    )
    project = projects.create_project(hub, DEMO_PROJECT, MediaType.DICOM, "created by `labelport demo`")
    project = projects.connect_ontology(hub, project.id, ontology.id)
    batch = projects.create_batch(
        hub, project.id, "first-batch-dicom-demo", global_keys=["demo/phantom-series"], priority=5
    )
    rows = [(r.id, r.global_key, r.media_type.value, r.media_attributes.as_dict()) for r in result.created]
    return DemoWorkspace(True, dataset, ontology, project, [batch], rows)
