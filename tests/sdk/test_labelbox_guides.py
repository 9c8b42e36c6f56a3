"""Acceptance: the three Labelbox guides users follow ("Import DICOM annotations", "Export DICOM annotations",
"Segmentation mask" on docs.labelbox.com), their code as written with only the imports and the client line
changed, end to end on the embedded client and over HTTP, on both databases.

Where a guide points at Labelbox's cloud (a row's https URL, a mask's instanceURI) the data is local instead:
a synthetic series, masks as PNG bytes (``im_bytes``), an image drawn here. Everything else is the guides'
own code: the Python annotation types and the NDJSON payloads, MAL and ground truth, ``export_v2`` with its
params and filters, the streaming ``export()`` with its handlers, and ``export_labels``.
"""

from __future__ import annotations

import base64
import io
import uuid
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

import labelport as lb  # was: import labelbox as lb
import labelport.types as lb_types  # was: import labelbox.types as lb_types
from labelport.sdk import Client
from labelport.service.synthetic import write_image, write_series
from labelport.types import Mask, MaskData, ObjectAnnotation, Point, Polygon  # was: from labelbox.types import ...


def _png(array: np.ndarray[Any, Any]) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def import_dicom_guide(client: Client, tmp_path: Path) -> tuple[Any, str]:
    """ "Import DICOM annotations", steps 1 to 6, with the Python annotation types and with NDJSON."""
    series = tmp_path / "sample-dicom-1"
    write_series(series, rows=40, columns=32, slices=24)  # axial plane: 32 x 40, frames 1..24
    mask = np.zeros((40, 32, 3), np.uint8)
    mask[10:20, 5:15] = 255

    polyline_annotation = [
        lb_types.DICOMObjectAnnotation(
            name="line_dicom",
            group_key=lb_types.GroupKey.AXIAL,
            frame=1,
            value=lb_types.Line(
                points=[lb_types.Point(x=10, y=10), lb_types.Point(x=200, y=20), lb_types.Point(x=250, y=250)]
            ),
            segment_index=0,
            keyframe=True,
        ),
        lb_types.DICOMObjectAnnotation(
            name="line_dicom",
            group_key=lb_types.GroupKey.AXIAL,
            frame=20,
            value=lb_types.Line(
                points=[lb_types.Point(x=10, y=10), lb_types.Point(x=200, y=10), lb_types.Point(x=300, y=300)]
            ),
            segment_index=1,
            keyframe=True,
        ),
    ]
    polyline_annotation_ndjson = {
        "name": "line_dicom",
        "groupKey": "axial",  # should be 'axial', 'sagittal', or 'coronal'
        "segments": [
            {"keyframes": [{"frame": 1, "line": [{"x": 10, "y": 10}, {"x": 200, "y": 20}, {"x": 250, "y": 250}]}]},
            {"keyframes": [{"frame": 20, "line": [{"x": 10, "y": 10}, {"x": 200, "y": 10}, {"x": 300, "y": 300}]}]},
        ],
    }
    mask_annotation = [
        lb_types.DICOMMaskAnnotation(
            group_key="axial",
            frames=[lb_types.MaskFrame(index=1, im_bytes=_png(mask)), lb_types.MaskFrame(index=5, im_bytes=_png(mask))],
            instances=[lb_types.MaskInstance(color_rgb=(255, 255, 255), name="segmentation_mask_dicom")],
        )
    ]
    mask_annotation_ndjson = {
        "groupKey": "axial",
        "masks": {
            "frames": [
                {"index": 1, "imBytes": base64.b64encode(_png(mask)).decode()},
                {"index": 5, "imBytes": base64.b64encode(_png(mask)).decode()},
            ],
            "instances": [{"colorRGB": (255, 255, 255), "name": "segmentation_mask_dicom"}],
        },
    }

    # Step 1: Import data rows
    global_key = "sample-dicom-1.dcm"
    asset = {"row_data": str(series), "global_key": global_key}
    dataset = client.create_dataset(name="dicom_demo_dataset")
    task = dataset.create_data_rows([asset])
    print("Errors :", task.errors)
    print("Failed data rows:", task.failed_data_rows)
    assert task.errors is None and task.failed_data_rows == []

    # Step 2: Set up ontology
    ontology_builder = lb.OntologyBuilder(
        tools=[
            lb.Tool(tool=lb.Tool.Type.RASTER_SEGMENTATION, name="segmentation_mask_dicom"),
            lb.Tool(tool=lb.Tool.Type.LINE, name="line_dicom"),
        ]
    )
    ontology = client.create_ontology(
        "Ontology DICOM Annotations", ontology_builder.asdict(), media_type=lb.MediaType.Dicom
    )

    # Step 3: Set Up a Labeling Project
    project = client.create_project(name="dicom_project_demo", media_type=lb.MediaType.Dicom)
    ## connect ontology to your project
    project.setup_editor(ontology)

    # Step 4: Send Data Rows to Project
    batch = project.create_batch(
        "first-batch-dicom-demo",  # Each batch in a project must have a unique name
        global_keys=[global_key],  # a list of data row objects, data row ids or global keys
        priority=5,  # priority between 1(Highest) - 5(lowest)
    )
    print("Batch: ", batch)

    # Step 5: Create annotation payloads
    annotations_list = polyline_annotation + mask_annotation
    labels = [lb_types.Label(data={"global_key": global_key}, annotations=annotations_list)]
    label_ndjson = []
    for annotation in [polyline_annotation_ndjson, mask_annotation_ndjson]:
        annotation.update({"dataRow": {"globalKey": global_key}})
        label_ndjson.append(annotation)

    # Step 6, option A: upload to a labeling project as pre-labels (MAL), from Python objects and from NDJSON
    for payload in (labels, label_ndjson):
        upload_job = lb.MALPredictionImport.create_from_objects(
            client=client, project_id=project.uid, name="mal_job" + str(uuid.uuid4()), predictions=payload
        )
        upload_job.wait_until_done()
        print(f"Errors: {upload_job.errors}")
        print(f"Status of uploads: {upload_job.statuses}")
        assert upload_job.errors == []
        assert [s["status"] for s in upload_job.statuses] == ["SUCCESS", "SUCCESS"]

    # Option B: upload to a labeling project as ground truth
    upload_job = lb.LabelImport.create_from_objects(
        client=client, project_id=project.uid, name="label_import_job" + str(uuid.uuid4()), labels=labels
    )
    upload_job.wait_until_done()
    print(f"Errors: {upload_job.errors}")
    print(f"Status of uploads: {upload_job.statuses}")
    assert upload_job.errors == []
    return project, global_key


def test_import_and_export_dicom_guides(client: Client, tmp_path: Path) -> None:
    project, global_key = import_dicom_guide(client, tmp_path)
    row_id = client.get_data_row_ids_for_global_keys([global_key])["results"][0]
    project.approve([row_id])  # reviewed: Done, as the export guide's filter asks

    # "Export DICOM annotations": export_v2
    export_params = {
        "attachments": True,
        "metadata_fields": True,
        "data_row_details": True,
        "project_details": True,
        "label_details": True,
        "performance_details": True,
    }
    filters = {"last_activity_at": ["2000-01-01 00:00:00", "2050-01-01 00:00:00"], "workflow_status": "Done"}
    export_task = project.export_v2(params=export_params, filters=filters)
    export_task.wait_till_done()
    if export_task.errors:
        print(export_task.errors)
    export_json = export_task.result
    print("results: ", export_json)
    assert export_task.errors is None
    [row] = export_json
    groups = row["projects"][project.uid]["labels"][0]["annotations"]["groups"]
    assert sorted(groups["Axial"]["frames"], key=int) == ["1", "5", "20"]
    kinds = {o["annotation_kind"] for f in groups["Axial"]["frames"].values() for o in f["objects"].values()}
    assert kinds == {"DICOMPolyline", "DICOMSegmentationMask"}
    assert row["projects"][project.uid]["project_details"]["workflow_status"] == "DONE"
    assert row["data_row"]["details"]["created_by"] == "local@labelport"

    labels = project.export_labels(download=True)
    assert isinstance(labels, list) and [label["DataRow ID"] for label in labels] == [row_id]
    # Optionally, provide a date range as an optional parameter
    labels = project.export_labels(download=True, start="2022-09-28", end="2022-10-04")
    assert labels == []

    # The same export, streamed (Labelbox's current export guide)
    export_task = project.export(params=export_params, filters=filters)
    export_task.wait_till_done()
    streamed: list[dict[str, Any]] = []

    def json_stream_handler(output: lb.BufferedJsonConverterOutput) -> None:
        streamed.append(output.json)

    if export_task.has_errors():
        export_task.get_buffered_stream(stream_type=lb.StreamType.ERRORS).start(
            stream_handler=lambda error: print(error)
        )
    if export_task.has_result():
        export_task.get_buffered_stream(stream_type=lb.StreamType.RESULT).start(stream_handler=json_stream_handler)
    print("file size: ", export_task.get_total_file_size(stream_type=lb.StreamType.RESULT))
    print("line count: ", export_task.get_total_lines(stream_type=lb.StreamType.RESULT))
    assert not export_task.has_errors()
    assert export_task.get_total_lines(stream_type=lb.StreamType.RESULT) == 1
    # The same row (its mask links point into this export's own folder or signed URLs).
    [again] = streamed
    assert again["data_row"] == row["data_row"]
    assert (
        again["projects"][project.uid]["labels"][0]["annotations"]["segments"]
        == (row["projects"][project.uid]["labels"][0]["annotations"]["segments"])
    )
    # The older streaming call, with a converter
    texts: list[str] = []
    export_task.get_stream(converter=lb.JsonConverter(), stream_type=lb.StreamType.RESULT).start(
        stream_handler=lambda output: texts.append(output.json_str)
    )
    assert len(texts) == 1 and global_key in texts[0]


def test_segmentation_mask_guide(client: Client, tmp_path: Path) -> None:
    """ "Segmentation mask": masks from polygons, a combined mask shared by two annotations, imported and exported."""
    image = write_image(tmp_path / "face.png", width=160, height=220)
    np_data = np.asarray(Image.open(image))
    global_key = "face.png"
    dataset = client.create_dataset(name="mask_demo")
    assert dataset.create_data_rows([{"row_data": str(image), "global_key": global_key}]).errors is None
    ontology_builder = lb.OntologyBuilder(
        tools=[
            lb.Tool(tool=lb.Tool.Type.RASTER_SEGMENTATION, name="eyes"),
            lb.Tool(tool=lb.Tool.Type.RASTER_SEGMENTATION, name="nose"),
            lb.Tool(tool=lb.Tool.Type.RASTER_SEGMENTATION, name="mask"),
        ]
    )
    ontology = client.create_ontology("masks", ontology_builder.asdict(), media_type=lb.MediaType.Image)
    project = client.create_project(name="mask_project", media_type=lb.MediaType.Image)
    project.connect_ontology(ontology)
    project.create_batch("masks", global_keys=[global_key], priority=5)

    # Convert Polygon to MaskData
    im = Image.open(image)
    polygon_annotation = ObjectAnnotation(
        name="mask", value=Polygon(points=[Point(x=x, y=y) for x, y in [[10, 10], [60, 12], [40, 50]]])
    )
    color = (255, 255, 255)
    np_mask = polygon_annotation.value.draw(height=im.size[1], width=im.size[0], color=color)
    mask_annotation = Mask(mask=MaskData(arr=np_mask), color=color)

    # Build a combined mask from polygons
    eye_color, nose_color = (255, 255, 255), (255, 0, 0)
    h, w = np_data.shape[:2]
    eyes = [
        Polygon(points=[Point(x=x, y=y) for x, y in [[82, 180], [83, 184], [88, 184], [86, 180]]]),
        Polygon(points=[Point(x=x, y=y) for x, y in [[97, 182], [99, 184], [102, 183], [101, 180], [98, 180]]]),
    ]
    eye_masks = np.max([eye.draw(height=h, width=w) for eye in eyes], axis=0)
    nose = Polygon(
        points=[
            Point(x=x, y=y) for x, y in [[95, 192], [93, 197], [96, 198], [100, 197], [100, 194], [100, 192], [96, 192]]
        ]
    )
    nose_mask = nose.draw(height=h, width=w, color=nose_color)
    # Picks the brighter color if there is overlap.
    # If you don't want overlap then just simply create separate masks
    np_seg_mask = np.max([nose_mask, eye_masks], axis=0)

    ##Create two mask annotations from this one image
    mask_data = MaskData(arr=np_seg_mask)
    eye_mask = Mask(mask=mask_data, color=eye_color)
    nose_mask = Mask(mask=mask_data, color=nose_color)

    # Calling mask.draw() will return a mask with pixels equal to the specified color
    eye_raster = eye_mask.draw()
    nose_raster = nose_mask.draw()
    assert eye_raster.shape == (h, w, 3) and nose_raster.shape == (h, w, 3)

    annotations = [
        ObjectAnnotation(name="mask", value=mask_annotation),
        ObjectAnnotation(name="eyes", value=eye_mask),
        ObjectAnnotation(name="nose", value=nose_mask),
    ]
    label = lb_types.Label(data={"global_key": global_key}, annotations=annotations)
    upload_job = lb.LabelImport.create_from_objects(client=client, project_id=project.uid, name="masks", labels=[label])
    upload_job.wait_until_done()
    assert upload_job.errors == [] and len(upload_job.statuses) == 3

    row_id = client.get_data_row_ids_for_global_keys([global_key])["results"][0]
    project.approve([row_id])
    [row] = project.export(filters={"workflow_status": "Done"}).result
    objects = {o["name"]: o for o in row["projects"][project.uid]["labels"][0]["annotations"]["objects"]}
    assert {o["annotation_kind"] for o in objects.values()} == {"ImageSegmentationMask"}
    # Each exported mask is the pixels the guide's raster holds, whatever the link (a file, or the server's route).
    for name, raster in (("eyes", eye_raster), ("nose", nose_raster), ("mask", mask_annotation.draw())):
        mask = objects[name]["composite_mask"]
        exported = np.asarray(Image.open(io.BytesIO(_fetch(client, mask["url"])))).reshape(h, w, -1)
        selected = np.all(exported[:, :, :3] == mask["color_rgb"], axis=2)
        assert np.array_equal(selected, raster.any(axis=2)), name


def _fetch(client: Client, url: str) -> bytes:
    if url.startswith("file://"):
        return Path(url.removeprefix("file://")).read_bytes()
    import httpx

    response = httpx.get(url, timeout=30)  # signed: no key needed
    response.raise_for_status()
    return response.content
