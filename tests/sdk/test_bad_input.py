"""Bad input: a clear error naming the value, and nothing partly written (checked in the database)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import labelport as lb
from labelport.errors import ConflictError, NotFoundError, ValidationError
from labelport.sdk import Client
from labelport.service.synthetic import write_image, write_series
from labelport.store.schema import (
    batch_data_rows,
    batches,
    data_rows,
    ontologies,
    ontology_nodes,
    workflow_tasks,
)
from tests.conftest import count_rows


@pytest.fixture
def media(tmp_path: Path) -> dict[str, Path]:
    series = tmp_path / "series"
    write_series(series, rows=16, columns=12, slices=4)
    return {
        "series": series,
        "image": write_image(tmp_path / "a.png", 8, 6),
        "image2": write_image(tmp_path / "b.png", 8, 6),
    }


def test_duplicate_global_key_fails_that_row_only(client: Client, media: dict[str, Path]) -> None:
    dataset = client.create_dataset("d")
    first = dataset.create_data_rows([{"row_data": str(media["image"]), "global_key": "k1"}])
    assert first.errors is None
    task = dataset.create_data_rows(
        [
            {"row_data": str(media["image2"]), "global_key": "k1"},  # exists already
            {"row_data": str(media["image2"]), "global_key": "k2"},
            {"row_data": str(media["image"]), "global_key": "k2"},  # twice in this request
        ]
    )
    assert task.status == "PARTIAL SUCCESS"
    assert task.errors is not None
    messages = {e["index"]: e["message"] for e in task.errors}
    assert "global_key 'k1' already exists" in messages[0]
    assert "global_key 'k2' is used twice in this request (first by data row 1)" in messages[2]
    assert [e["value"] for e in task.errors] == ["k1", None]
    assert [r["global_key"] for r in task.result] == ["k2"]
    assert task.failed_data_rows[0]["failedDataRows"] == [{"row_data": str(media["image2"]), "global_key": "k1"}]
    assert count_rows(client, data_rows) == 2


def test_not_a_dicom_series_where_one_is_claimed(client: Client, media: dict[str, Path], tmp_path: Path) -> None:
    mixed = tmp_path / "mixed"
    shutil.copytree(media["series"], mixed)
    shutil.copy(media["image"], mixed / "zz_not_dicom.png")
    broken = tmp_path / "broken.dcm"
    broken.write_bytes(b"\0" * 128 + b"DICM" + b"\x02\x00garbage")
    dataset = client.create_dataset("d")
    task = dataset.create_data_rows(
        [
            {"row_data": str(media["image"]), "global_key": "png-as-dicom", "media_type": "dicom"},
            {"row_data": str(mixed), "global_key": "mixed-folder", "media_type": "dicom"},
            {"row_data": str(broken), "global_key": "broken", "media_type": "dicom"},
            {"row_data": str(tmp_path / "missing"), "global_key": "missing"},
            {"row_data": str(media["series"]), "global_key": "good-series", "media_type": "dicom"},
        ]
    )
    assert task.errors is not None
    by_index = {e["index"]: e for e in task.errors}
    assert "media_type 'dicom' was given but" in by_index[0]["message"]
    assert str(media["image"]) in by_index[0]["message"] and "image" in by_index[0]["message"]
    assert "not a DICOM series" in by_index[1]["message"] and "zz_not_dicom.png" in by_index[1]["message"]
    assert "broken.dcm" in by_index[2]["message"]
    assert "does not exist" in by_index[3]["message"] and "missing" in by_index[3]["message"]
    assert 4 not in by_index
    [good] = task.data_rows()
    assert good.global_key == "good-series"
    assert (good.media_attributes["columns"], good.media_attributes["rows"], good.media_attributes["slices"]) == (
        12,
        16,
        4,
    )
    assert count_rows(client, data_rows) == 1


def test_media_type_claim_must_match_content(client: Client, media: dict[str, Path]) -> None:
    task = client.create_dataset("d").create_data_rows(
        [{"row_data": str(media["series"]), "media_type": "image", "global_key": "x"}]
    )
    assert task.errors is not None
    assert "is a folder (a DICOM series), but media_type 'image' was given" in task.errors[0]["message"]


@pytest.fixture
def project(client: Client, media: dict[str, Path]) -> lb.sdk.resources.Project:
    dataset = client.create_dataset("d")
    task = dataset.create_data_rows(
        [
            {"row_data": str(media["series"]), "global_key": "s1"},
            {"row_data": str(media["image"]), "global_key": "i1"},
        ]
    )
    assert task.errors is None
    return client.create_project("p", media_type="dicom")


@pytest.mark.parametrize("priority", [0, 6])
def test_batch_priority_outside_1_to_5(client: Client, project: lb.sdk.resources.Project, priority: int) -> None:
    with pytest.raises(ValidationError, match=f"priority must be an integer from 1 .* to 5 .*, found {priority}"):
        project.create_batch("b", global_keys=["s1"], priority=priority)
    assert count_rows(client, batches) == 0
    assert count_rows(client, batch_data_rows) == 0
    assert count_rows(client, workflow_tasks) == 0


def test_batch_name_reused(client: Client, project: lb.sdk.resources.Project, tmp_path: Path) -> None:
    project.create_batch("first-batch", global_keys=["s1"])
    other = tmp_path / "other"
    write_series(other, rows=8, columns=8, slices=2)
    assert (
        client.get_dataset(client.get_datasets()[0].uid)
        .create_data_rows([{"row_data": str(other), "global_key": "s2"}])
        .errors
        is None
    )
    with pytest.raises(ConflictError, match="batch name 'first-batch' is already used in project 'p'"):
        project.create_batch("first-batch", global_keys=["s2"])
    assert count_rows(client, batches) == 1
    assert count_rows(client, batch_data_rows) == 1


def test_batch_rows_must_exist_match_media_and_be_free(client: Client, project: lb.sdk.resources.Project) -> None:
    with pytest.raises(NotFoundError, match="global key 'nope' is not a data row"):
        project.create_batch("b", global_keys=["s1", "nope"])
    with pytest.raises(ValidationError, match="data row 'i1' is image but project 'p' is a dicom project"):
        project.create_batch("b", global_keys=["s1", "i1"])
    project.create_batch("b", global_keys=["s1"])
    with pytest.raises(ConflictError, match="is already in batch 'b'"):
        project.create_batch("c", global_keys=["s1"])
    assert count_rows(client, batches) == 1
    assert count_rows(client, batch_data_rows) == 1


def test_ontology_sibling_names_must_differ(client: Client) -> None:
    builder = lb.OntologyBuilder(
        tools=[
            lb.Tool(tool=lb.Tool.Type.LINE, name="line_dicom"),
            lb.Tool(tool=lb.Tool.Type.POLYGON, name="line_dicom"),
        ]
    )
    with pytest.raises(ValidationError, match="two nodes named 'line_dicom'"):
        client.create_ontology("o", builder.asdict(), media_type="dicom")
    nested = lb.OntologyBuilder(
        classifications=[
            lb.Classification(
                class_type=lb.Classification.Type.RADIO,
                name="q",
                options=[lb.Option(value="yes"), lb.Option(value="yes")],
            )
        ]
    )
    with pytest.raises(ValidationError, match="two nodes named 'yes' under classification 'q'"):
        client.create_ontology("o", nested.asdict())
    assert count_rows(client, ontologies) == 0
    assert count_rows(client, ontology_nodes) == 0


def test_ontology_media_type_must_be_the_projects(client: Client, project: lb.sdk.resources.Project) -> None:
    builder = lb.OntologyBuilder(tools=[lb.Tool(tool=lb.Tool.Type.BBOX, name="box")])
    image_ontology = client.create_ontology("for images", builder.asdict(), media_type=lb.MediaType.Image)
    with pytest.raises(ValidationError, match="ontology 'for images' is for image but project 'p' is a dicom project"):
        project.connect_ontology(image_ontology)
    assert client.get_project(project.uid).ontology() is None


def test_unknown_fields_and_types_are_named(client: Client, media: dict[str, Path]) -> None:
    task = client.create_dataset("d").create_data_rows(
        [
            {"row_data": str(media["image"]), "globalkey": "typo"},
            {"row_data": str(media["image"]), "media_type": "hologram"},
            {"global_key": "no-data"},
        ]
    )
    assert task.errors is not None
    assert "unknown field 'globalkey'" in task.errors[0]["message"]
    assert "media_type must be one of image, video, dicom, nifti; found 'hologram'" in task.errors[1]["message"]
    assert "row_data is missing" in task.errors[2]["message"]
    assert count_rows(client, data_rows) == 0


def test_file_roots_fail_rows_outside_them_alone(client: Client, media: dict[str, Path], tmp_path: Path) -> None:
    from labelport.sdk.http import HttpBackend
    from labelport.service.hub import Settings

    if isinstance(client.backend, HttpBackend):
        pytest.skip("server settings come from the server's environment")
    client.hub.settings = Settings(file_roots=(media["series"],))
    task = client.create_dataset("d").create_data_rows(
        [
            {"row_data": str(media["image"]), "global_key": "outside"},
            {"row_data": [str(media["image"])], "global_key": "outside-list"},
            {"row_data": str(media["series"]), "global_key": "inside"},
        ]
    )
    assert task.errors is not None
    assert [e["index"] for e in task.errors] == [0, 1]
    assert "is outside the folders labelport may read" in task.errors[0]["message"]
    assert [r["global_key"] for r in task.result] == ["inside"]
    assert count_rows(client, data_rows) == 1
