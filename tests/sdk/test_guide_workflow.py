"""The DICOM import guide's steps 1-4, written as a user would, on both backends."""

from __future__ import annotations

from pathlib import Path

import labelport as lb
from labelport.sdk import Client
from labelport.service.synthetic import write_image
from tests.fixtures import HFS_SERIES


def test_guide_workflow_end_to_end(client: Client, tmp_path: Path) -> None:
    series = HFS_SERIES
    image = write_image(tmp_path / "photo.png", width=40, height=30)

    # Step 1: import data rows.
    global_key = "sample-dicom-1.dcm"
    dataset = client.create_dataset(name="dicom_demo_dataset")
    task = dataset.create_data_rows(
        [
            {"row_data": str(series), "global_key": global_key, "media_type": "DICOM"},
            {"row_data": str(image), "global_key": "photo.png"},
        ]
    )
    task.wait_till_done()
    assert task.errors is None
    assert task.failed_data_rows == []

    # Step 2: ontology.
    ontology_builder = lb.OntologyBuilder(
        tools=[
            lb.Tool(tool=lb.Tool.Type.RASTER_SEGMENTATION, name="segmentation_mask_dicom"),
            lb.Tool(tool=lb.Tool.Type.LINE, name="line_dicom"),
        ]
    )
    ontology = client.create_ontology(
        "Ontology DICOM Annotations", ontology_builder.asdict(), media_type=lb.MediaType.Dicom
    )

    # Step 3: project, connected to the ontology.
    project = client.create_project(name="dicom_project_demo", media_type=lb.MediaType.Dicom)
    project.connect_ontology(ontology)

    # Step 4: batch.
    batch = project.create_batch("first-batch-dicom-demo", global_keys=[global_key], priority=5)

    # Read everything back through a new client on the same store.
    again = Client(home=client.hub.blobs.root.parent, database_url=client.hub.db.url.render_as_string(False))
    try:
        ids = again.get_data_row_ids_for_global_keys([global_key, "photo.png"])
        assert ids["status"] == "SUCCESS"
        dicom_row = again.get_data_row(ids["results"][0])
        attrs = dicom_row.media_attributes
        assert (attrs["columns"], attrs["rows"], attrs["slices"]) == (256, 256, 35)
        assert dicom_row.media_type is lb.MediaType.DICOM
        assert attrs["instance_count"] == 35
        assert attrs["modality"] == "MR"
        assert len(attrs["orientation"]) == 6 and len(attrs["spacing"]) == 3
        image_row = again.get_data_row(ids["results"][1])
        assert (image_row.media_attributes["width"], image_row.media_attributes["height"]) == (40, 30)
        assert image_row.media_type is lb.MediaType.IMAGE

        read_project = again.get_project(project.uid)
        read_ontology = read_project.ontology()
        assert read_ontology is not None and read_ontology.uid == ontology.uid
        assert [(t.name, t.type.value) for t in read_ontology.tools()] == [
            ("segmentation_mask_dicom", "raster-segmentation"),
            ("line_dicom", "line"),
        ]
        assert read_ontology.media_type is lb.MediaType.DICOM
        [read_batch] = read_project.batches()
        assert (read_batch.uid, read_batch.name, read_batch.priority, read_batch.size) == (
            batch.uid,
            "first-batch-dicom-demo",
            5,
            1,
        )
        assert read_batch.data_row_ids() == [dicom_row.uid]
        assert [d.name for d in again.get_datasets()] == ["dicom_demo_dataset"]
        assert sorted(r.global_key or "" for r in again.get_dataset(dataset.uid).data_rows()) == [
            "photo.png",
            global_key,
        ]
    finally:
        again.close()


def test_dicom_series_as_a_list_of_files(client: Client) -> None:
    series = HFS_SERIES
    files = sorted(str(p) for p in series.glob("*.dcm"))
    dataset = client.create_dataset("list")
    task = dataset.create_data_rows([{"row_data": files, "global_key": "as-list"}])
    assert task.errors is None
    [row] = task.data_rows()
    assert row.media_type is lb.MediaType.DICOM
    assert row.media_attributes["slices"] == 35
