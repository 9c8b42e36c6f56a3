"""Encord label rows into projects and out again: matching media by data_hash and data_title, whole-row
replacement, an Encord ontology linked to a Labelbox one, videos, the CLI. SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

import labelport as lb
from labelport.cli.main import app
from labelport.formats import get_format
from labelport.formats.base import Problem, ReadContext
from labelport.formats.encord.hashes import uuid_of_hash
from labelport.formats.encord.ontology import load_ontology
from labelport.sdk import Client
from labelport.service import exports
from labelport.service.imports import import_source, import_statuses_of, stored_annotations
from labelport.service.synthetic import write_image

from ..formats.encord_helpers import paired

ONTOLOGY = {
    "objects": [
        {"id": "1", "name": "Box", "color": "#D33115", "shape": "bounding_box", "featureNodeHash": "boxFNH01"},
        {
            "id": "2",
            "name": "Outline",
            "color": "#E27300",
            "shape": "polygon",
            "featureNodeHash": "polyFNH1",
            "attributes": [
                {
                    "id": "2.1",
                    "name": "Quality",
                    "type": "radio",
                    "featureNodeHash": "qualAttr",
                    "options": [
                        {"id": "2.1.1", "label": "Good", "value": "good", "featureNodeHash": "optGood1"},
                        {"id": "2.1.2", "label": "Bad", "value": "bad", "featureNodeHash": "optBad01"},
                    ],
                }
            ],
        },
    ],
    "classifications": [
        {
            "id": "3",
            "featureNodeHash": "clsFNH01",
            "attributes": [
                {
                    "id": "3.1",
                    "name": "Weather",
                    "type": "radio",
                    "featureNodeHash": "weathAtt",
                    "options": [{"id": "3.1.1", "label": "Sunny", "value": "sunny", "featureNodeHash": "optSunny"}],
                }
            ],
        },
    ],
}


@pytest.fixture
def client(database_url: str, tmp_path: Path) -> Any:
    with Client(home=tmp_path / "home", database_url=database_url) as c:
        yield c


def box(object_hash: str, x: float = 0.125) -> dict[str, Any]:
    return {
        "objectHash": object_hash,
        "featureHash": "boxFNH01",
        "shape": "bounding_box",
        "name": "Box",
        "boundingBox": {"x": x, "y": 0.25, "w": 0.25, "h": 0.5},
    }


def polygon(object_hash: str) -> dict[str, Any]:
    return {
        "objectHash": object_hash,
        "featureHash": "polyFNH1",
        "shape": "polygon",
        "name": "Outline",
        "polygon": {"0": {"x": 0.1, "y": 0.1}, "1": {"x": 0.5, "y": 0.1}, "2": {"x": 0.5, "y": 0.6}},
    }


def image_row(data_hash: str, data_title: str, objects: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    row = {
        "label_hash": f"lr-{data_hash}",
        "branch_name": "main",
        "created_at": "Mon, 01 Jan 2024 00:00:00 UTC",
        "last_edited_at": "Mon, 01 Jan 2024 00:00:00 UTC",
        "data_hash": data_hash,
        "dataset_hash": "ds",
        "dataset_title": "ds",
        "data_title": data_title,
        "data_type": "image",
        "label_status": "LABELLED",
        "data_units": {
            data_hash: {
                "data_hash": data_hash,
                "data_title": data_title,
                "data_type": "image/png",
                "data_sequence": 0,
                "width": 64,
                "height": 48,
                "labels": {"objects": objects, "classifications": []},
            },
        },
        "object_answers": {},
        "classification_answers": {},
        "object_actions": {},
    }
    row.update(extra)
    return row


def image_project(client: Client, tmp_path: Path, rows: list[dict[str, Any]], media: str = "image") -> Any:
    dataset = client.create_dataset("images")
    for spec in rows:
        path = write_image(tmp_path / f"{spec['global_key']}.png", 64, 48)
        assert dataset.create_data_rows([{"row_data": str(path), **spec}]).errors is None
    project = client.create_project("encord", media_type=media)
    project.create_batch("all", global_keys=[r["global_key"] for r in rows])
    (tmp_path / "ontology.json").write_text(json.dumps(ONTOLOGY))
    return project


def run_import(client: Client, project: Any, rows: list[dict[str, Any]], tmp_path: Path, **options: Any) -> Any:
    path = tmp_path / "rows.json"
    path.write_text(json.dumps(rows))
    return import_source(
        client.hub,
        project.uid,
        "rows",
        path,
        "ground_truth",
        fmt="encord",
        options=options or None,
        ontology_file=tmp_path / "ontology.json",
    )


def stored_uuids(client: Client, project: Any, global_key: str) -> set[str]:
    [row_id] = client.get_data_row_ids_for_global_keys([global_key])["results"]
    return {a.uuid for _, a in stored_annotations(client.hub, project.uid, row_id, "ground_truth")}  # type: ignore[union-attr]


def test_rows_match_by_data_hash_or_data_title_and_name_both_when_unmatched(client: Client, tmp_path: Path) -> None:
    project = image_project(
        client, tmp_path, [{"global_key": "a.png"}, {"global_key": "b.png", "external_id": "hash-b"}]
    )
    rows = [
        image_row("hash-a", "a.png", [box("obja0001")]),  # the title is a's global key
        image_row("hash-b", "unknown.png", [box("objb0001")]),  # the hash is b's external id
        image_row("hash-z", "z.png", [box("objz0001")]),  # neither
        image_row("hash-b", "a.png", [box("both0001")]),  # each names another row
    ]
    job = run_import(client, project, rows, tmp_path)
    assert (job.succeeded, job.failed) == (2, 2)
    failures = {
        f["uuid"]: f["errors"][0]["message"] for f in import_statuses_of(client.hub, job.id, failures_only=True)
    }
    assert "'hash-z' or 'z.png'" in failures[uuid_of_hash("objz0001")]
    assert "matches several data rows" in failures[uuid_of_hash("both0001")]
    assert stored_uuids(client, project, "a.png") == {uuid_of_hash("obja0001")}
    assert stored_uuids(client, project, "b.png") == {uuid_of_hash("objb0001")}

    # --match data_title: the last row now names a.png only
    again = run_import(client, project, [rows[3]], tmp_path, match="data_title")
    assert again.failed == 0
    assert stored_uuids(client, project, "a.png") == {uuid_of_hash("both0001")}


def test_a_label_row_replaces_its_data_rows_label_as_a_whole(client: Client, tmp_path: Path) -> None:
    project = image_project(client, tmp_path, [{"global_key": "a.png"}])
    first = image_row("h", "a.png", [box("keep0001"), polygon("drop0001")])
    assert run_import(client, project, [first], tmp_path).failed == 0
    assert stored_uuids(client, project, "a.png") == {uuid_of_hash("keep0001"), uuid_of_hash("drop0001")}
    second = image_row("h", "a.png", [box("keep0001", x=0.5)])
    assert run_import(client, project, [second], tmp_path).failed == 0
    assert stored_uuids(client, project, "a.png") == {uuid_of_hash("keep0001")}
    empty = image_row("h", "a.png", [])
    run_import(client, project, [empty], tmp_path)
    assert stored_uuids(client, project, "a.png") == set()


def test_an_encord_ontology_links_to_a_labelbox_one_by_name_and_kind(client: Client, tmp_path: Path) -> None:
    project = image_project(client, tmp_path, [{"global_key": "a.png"}])
    builder = lb.OntologyBuilder(
        tools=[
            lb.Tool(tool=lb.Tool.Type.BBOX, name="Box"),
            lb.Tool(
                tool=lb.Tool.Type.POLYGON,
                name="Outline",
                classifications=[
                    lb.Classification(
                        lb.Classification.Type.RADIO, "Quality", options=[lb.Option("good"), lb.Option("bad")]
                    )
                ],
            ),
        ],
        classifications=[lb.Classification(lb.Classification.Type.RADIO, "Weather", options=[lb.Option("sunny")])],
    )
    project.connect_ontology(client.create_ontology("from labelbox", builder.asdict(), media_type="image"))
    before = project.ontology().model  # type: ignore[union-attr]
    answers = {
        "poly0001": {
            "objectHash": "poly0001",
            "classifications": [
                {
                    "name": "Quality",
                    "value": "quality",
                    "featureHash": "qualAttr",
                    "answers": [{"name": "Bad", "value": "bad", "featureHash": "optBad01"}],
                }
            ],
        }
    }
    sunny = {"name": "Sunny", "value": "sunny", "featureHash": "optSunny"}
    classification = {
        "cls00001": {
            "classificationHash": "cls00001",
            "featureHash": "clsFNH01",
            "range": [[0, 0]],
            "classifications": [{"name": "Weather", "value": "weather", "featureHash": "weathAtt", "answers": [sunny]}],
        }
    }
    row = image_row(
        "h",
        "a.png",
        [box("box00001"), polygon("poly0001")],
        object_answers=answers,
        classification_answers=classification,
    )
    job = run_import(client, project, [row], tmp_path)
    assert (job.succeeded, job.failed) == (3, 0), import_statuses_of(client.hub, job.id, failures_only=True)
    # the project's own ontology (its names and schema ids) now carries the Encord hashes...
    ontology = project.ontology().model  # type: ignore[union-attr]
    assert [t.external_ids.encord for t in ontology.tools] == ["boxFNH01", "polyFNH1"]
    assert [(t.name, t.schema_id) for t in ontology.tools] == [(t.name, t.schema_id) for t in before.tools]
    # ...so an export writes what Encord knows
    folder = tmp_path / "out"
    exports.export(client.hub, project.uid, "encord", folder)
    [out] = json.loads((folder / "label_rows.json").read_text())
    objects = next(iter(out["data_units"].values()))["labels"]["objects"]
    assert {o["featureHash"] for o in objects} == {"boxFNH01", "polyFNH1"}
    assert {o["objectHash"] for o in objects} == {"box00001", "poly0001"}
    [answer] = out["object_answers"]["poly0001"]["classifications"]
    assert (answer["featureHash"], answer["answers"][0]["featureHash"]) == ("qualAttr", "optBad01")
    assert out["classification_answers"]["cls00001"]["featureHash"] == "clsFNH01"
    written = json.loads((folder / "ontology.json").read_text())
    assert [o["featureNodeHash"] for o in written["objects"]] == ["boxFNH01", "polyFNH1"]


def test_an_unknown_feature_fails_the_object_naming_its_hash(client: Client, tmp_path: Path) -> None:
    project = image_project(client, tmp_path, [{"global_key": "a.png"}])
    stray = {**box("stray001"), "featureHash": "notThere"}
    job = run_import(client, project, [image_row("h", "a.png", [box("box00001"), stray])], tmp_path)
    assert (job.succeeded, job.failed) == (1, 1)
    [failure] = import_statuses_of(client.hub, job.id, failures_only=True)
    assert "unknown featureHash 'notThere'" in failure["errors"][0]["message"]
    assert failure["errors"][0]["path"].endswith("labels.objects[1]")


def test_the_fast_path_stores_what_the_checked_path_stores(client: Client, tmp_path: Path) -> None:
    """Plain objects and objects with answers, encoded by the reader's fast path, are stored as the model
    objects of the checked path are (columns and payload JSON) with the same statuses, failures included."""
    project = image_project(client, tmp_path, [{"global_key": "a.png"}, {"global_key": "b.png"}])
    good = {"classifications": [{"featureHash": "qualAttr", "answers": [{"featureHash": "optGood1"}]}]}
    bad = {"classifications": [{"featureHash": "qualAttr", "answers": [{"featureHash": "optNope"}]}]}
    rows = [
        image_row(
            "h",
            "a.png",
            [polygon("poly0001"), box("box00001"), polygon("poly0002"), {**polygon("poly0003"), "confidence": 0.25}],
            object_answers={"poly0001": good, "poly0002": bad, "poly0003": good},
        ),
        image_row("hb", "b.png", [box("box00002", x=0.5), polygon("poly0004")], object_answers={"poly0004": good}),
    ]

    def imported(fast: bool) -> tuple[list[Any], list[Any]]:
        job = run_import(client, project, rows, tmp_path, fast=fast)
        stored = []
        for key in ("a.png", "b.png"):
            [row_id] = client.get_data_row_ids_for_global_keys([key])["results"]
            for columns, _ in stored_annotations(client.hub, project.uid, row_id, "ground_truth"):
                kept = {k: v for k, v in columns.items() if k not in ("id", "label_id", "created_at")}
                stored.append(json.dumps(kept, sort_keys=False, default=str))
        statuses = import_statuses_of(client.hub, job.id)
        return sorted(stored), sorted(statuses, key=lambda s: json.dumps(s, sort_keys=True))

    checked = imported(False)
    fast = imported(True)
    assert fast == checked
    assert len(checked[0]) == 5 and sum(1 for s in checked[1] if s["errors"]) == 1
    assert any('"classifications"' in s for s in checked[0])


def test_export_names_media_as_encord_does_and_imports_back_unchanged(client: Client, tmp_path: Path) -> None:
    project = image_project(
        client, tmp_path, [{"global_key": "a.png", "external_id": "enc-hash-a"}, {"global_key": "b.png"}]
    )
    rows = [
        image_row("enc-hash-a", "a.png", [box("box00001"), polygon("poly0001")]),
        image_row("x", "b.png", [box("box00002")]),
    ]
    assert run_import(client, project, rows, tmp_path).failed == 0
    folder = tmp_path / "out"
    exports.export(client.hub, project.uid, "encord", folder)
    out = {r["data_title"]: r for r in json.loads((folder / "label_rows.json").read_text())}
    [b_id] = client.get_data_row_ids_for_global_keys(["b.png"])["results"]
    assert out["a.png"]["data_hash"] == "enc-hash-a" and out["b.png"]["data_hash"] == b_id
    before = {k: stored_uuids(client, project, k) for k in ("a.png", "b.png")}
    job = import_source(client.hub, project.uid, "back", folder / "label_rows.json", "ground_truth", fmt="encord")
    assert job.failed == 0
    assert {k: stored_uuids(client, project, k) for k in ("a.png", "b.png")} == before


def write_video(path: Path, frames: int) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 25, (64, 48))
    for _ in range(frames):
        writer.write(np.zeros((48, 64, 3), np.uint8))
    writer.release()
    return path


def test_a_video_frame_beyond_the_video_fails_naming_it(client: Client, tmp_path: Path) -> None:
    video = write_video(tmp_path / "clip.mp4", 10)
    dataset = client.create_dataset("videos")
    assert dataset.create_data_rows([{"row_data": str(video), "global_key": "clip.mp4"}]).errors is None
    project = client.create_project("video", media_type="video")
    project.create_batch("all", global_keys=["clip.mp4"])
    (tmp_path / "ontology.json").write_text(json.dumps(ONTOLOGY))
    row = image_row("v", "clip.mp4", [])
    unit = next(iter(row["data_units"].values()))
    labels = {
        "3": {"objects": [box("trk00001")]},
        "4": {"objects": [box("trk00001")]},
        "12": {"objects": [box("late0001")]},
    }
    unit.update({"data_type": "video/mp4", "labels": labels})
    row["data_type"] = "video"
    job = run_import(client, project, [row], tmp_path)
    assert (job.succeeded, job.failed) == (1, 1)
    [failure] = import_statuses_of(client.hub, job.id, failures_only=True)
    assert "frame 12 is beyond the video, which has frames 0 to 9" in failure["errors"][0]["message"]
    assert stored_uuids(client, project, "clip.mp4") == {uuid_of_hash("trk00001")}


def test_the_cli_imports_with_the_ontology_and_exports_a_folder(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LABELPORT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("LABELPORT_DATABASE_URL", database_url)
    monkeypatch.setenv("COLUMNS", "200")
    with Client(home=tmp_path / "home", database_url=database_url) as client:
        project = image_project(client, tmp_path, [{"global_key": "a.png"}])
    rows = tmp_path / "rows.json"
    rows.write_text(json.dumps([image_row("h", "a.png", [box("box00001"), {**box("bad00001"), "featureHash": "zz"}])]))
    runner = CliRunner()
    result = runner.invoke(
        app,
        [
            "import",
            "encord",
            str(rows),
            "--project",
            project.uid,
            "--ontology",
            str(tmp_path / "ontology.json"),
            "--as",
            "ground-truth",
        ],
    )
    assert result.exit_code == 1, result.stdout + result.stderr
    assert "1 of 2 annotations imported as ground_truth, 1 failed" in result.stdout
    assert "unknown featureHash 'zz'" in result.stderr
    missing = runner.invoke(app, ["import", "encord", str(rows), "--project", project.uid, "--ontology", "nope.json"])
    assert missing.exit_code == 1 and "ontology file 'nope.json' does not exist" in missing.stderr
    out = tmp_path / "export"
    done = runner.invoke(app, ["export", "encord", "--project", project.uid, "-o", str(out)])
    assert done.exit_code == 0, done.stderr
    assert "exported 1 data rows (1 annotations)" in done.stdout
    assert (out / "label_rows.json").is_file() and (out / "ontology.json").is_file()


def test_every_fixture_row_imports_into_a_project_of_its_ontology(client: Client, tmp_path: Path) -> None:
    """The image rows of the corpus, with the ontology the manifest pairs them with: every object and
    classification the reader finds is stored (images only: the corpus' videos and series have no media)."""
    for path, ontology in paired():
        if ontology is None:
            continue
        rows = json.loads(path.read_text())
        rows = rows if isinstance(rows, list) else [rows]
        # Global keys are unique in an organisation, and the corpus reuses titles: each file gets its own.
        images = [{**r, "data_title": f"{path.stem}/{r['data_title']}"} for r in rows if r["data_type"] == "image"]
        if not images:
            continue
        dataset = client.create_dataset(path.stem)
        for r in images:
            unit = next(iter(r["data_units"].values()))
            image = write_image(tmp_path / path.stem / f"{r['data_hash']}.png", unit["width"], unit["height"])
            assert dataset.create_data_rows([{"row_data": str(image), "global_key": r["data_title"]}]).errors is None
        project = client.create_project(path.stem, media_type="image")
        project.create_batch("all", global_keys=[r["data_title"] for r in images])
        file = tmp_path / f"{path.stem}-images.json"
        file.write_text(json.dumps(images))
        read = [
            i
            for i in get_format("encord").read(file, ReadContext(ontology=load_ontology(ontology).ontology))
            if not isinstance(i, Problem)
        ]
        wanted = sum(i.annotation_count() for i in read)
        job = import_source(
            client.hub, project.uid, path.stem, file, "ground_truth", fmt="encord", ontology_file=ontology
        )
        assert (job.succeeded, job.failed) == (wanted, 0), (path.name, import_statuses_of(client.hub, job.id, True))
