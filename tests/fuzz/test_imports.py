"""Imports, fuzzed end to end: near-valid NDJSON for a real project (its rows, its ontology) through the job
path into an embedded store. Whatever the lines hold, the job finishes with one status per line and the
good lines land: no input may fail the whole import.

``make test`` runs ``LABELPORT_FUZZ_IMPORT_EXAMPLES`` imports (default 25); ``make fuzz`` 2,000.
"""

from __future__ import annotations

import base64
import io
import uuid
from collections.abc import Iterator
from typing import Any

import numpy as np
import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from labelport.model.jobs import JobState
from labelport.model.media import MediaType
from labelport.model.ontology import Classification, ClassificationType, Ontology, Option, Tool, ToolType
from labelport.service import Hub, datasets, jobs, ontologies, projects
from labelport.service.imports import import_statuses_of, start_import
from labelport.service.synthetic import write_image
from tests.fuzz.factory import budget, fuzz_settings
from tests.fuzz.strategies import documents, mutated


def _png(rgb: np.ndarray[Any, Any]) -> str:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def _composite() -> np.ndarray[Any, Any]:
    rgb = np.zeros((10, 20, 3), np.uint8)
    rgb[2:5, 3:9] = (255, 0, 0)
    return rgb


ROW = {"globalKey": "img-0"}
SEED_LINES: list[dict[str, Any]] = [
    {"uuid": str(uuid.uuid4()), "name": "box", "dataRow": ROW, "bbox": {"top": 1, "left": 1, "height": 3, "width": 3}},
    {
        "uuid": str(uuid.uuid4()),
        "name": "poly",
        "dataRow": ROW,
        "polygon": [{"x": 1, "y": 1}, {"x": 5, "y": 1}, {"x": 5, "y": 5}],
    },
    {"uuid": str(uuid.uuid4()), "name": "pt", "dataRow": {"globalKey": "img-1"}, "point": {"x": 3, "y": 4}},
    {
        "uuid": str(uuid.uuid4()),
        "name": "seg",
        "dataRow": ROW,
        "mask": {"imBytes": _png(_composite()), "colorRGB": [255, 0, 0]},
    },
    {
        "uuid": str(uuid.uuid4()),
        "name": "seg",
        "dataRow": ROW,
        "mask": {"png": _png((_composite()[..., 0] > 0).astype(np.uint8))},
    },
    {
        "uuid": str(uuid.uuid4()),
        "name": "kind",
        "dataRow": ROW,
        "answer": {"name": "cat", "classifications": [{"name": "note", "answer": "tabby"}]},
    },
    {"uuid": str(uuid.uuid4()), "name": "note", "dataRow": ROW, "answer": "free text"},
    {
        "uuid": str(uuid.uuid4()),
        "name": "box",
        "dataRow": ROW,
        "bbox": {"top": 1, "left": 1, "height": 3, "width": 3},
        "classifications": [{"name": "kind", "answer": {"name": "dog"}}],
    },
]


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Hub, str]]:
    home = tmp_path_factory.mktemp("fuzz-import")
    hub = Hub.open(home=home / "store", database_url=f"sqlite:///{home / 'fuzz.db'}")
    images = [write_image(home / "media" / f"img{i}.png", 20, 10) for i in range(2)]
    dataset = datasets.create_dataset(hub, "d")
    specs = [{"row_data": str(p), "global_key": f"img-{i}"} for i, p in enumerate(images)]
    assert not datasets.create_data_rows(hub, dataset.id, specs).failures

    def note() -> Classification:
        return Classification(ClassificationType.TEXT, "note")

    def kind() -> Classification:
        cat = Option("cat", classifications=(note(),))
        return Classification(ClassificationType.RADIO, "kind", options=(cat, Option("dog")))

    ontology = Ontology(
        "fuzz",
        tools=(
            Tool(ToolType.BBOX, "box", classifications=(kind(),)),
            Tool(ToolType.POLYGON, "poly"),
            Tool(ToolType.POINT, "pt"),
            Tool(ToolType.RASTER_SEGMENTATION, "seg"),
        ),
        classifications=(kind(), note()),
    )
    info = ontologies.create_ontology(hub, "fuzz", ontology)
    made = projects.create_project(hub, "fuzz", MediaType.IMAGE)
    projects.connect_ontology(hub, made.id, info.id)
    projects.create_batch(hub, made.id, "all", global_keys=["img-0", "img-1"])
    yield hub, made.id
    hub.db.dispose()


@fuzz_settings(budget("LABELPORT_FUZZ_IMPORT_EXAMPLES", 25))
@given(data=st.data())
def test_no_input_fails_a_whole_import(project: tuple[Hub, str], data: st.DataObject) -> None:
    hub, project_id = project
    body = data.draw(documents(st.sampled_from(SEED_LINES) | mutated(SEED_LINES)))
    job_id = start_import(hub, project_id, "fuzz", "prediction", fmt="labelbox_ndjson", source=body)
    job = jobs.run(hub, job_id)
    assert job is not None
    assert job.state is JobState.FINISHED, job.error
    statuses = import_statuses_of(hub, job_id)
    assert len(statuses) == job.total and job.succeeded + job.failed == job.total


def test_the_seed_lines_reach_every_check(project: tuple[Hub, str]) -> None:
    """The unmutated seeds all import, so the mutations start from lines that pass every check."""
    hub, project_id = project
    body = b"\n".join(orjson.dumps({**line, "uuid": str(uuid.uuid4())}) for line in SEED_LINES)
    job = jobs.run(hub, start_import(hub, project_id, "seeds", "prediction", fmt="labelbox_ndjson", source=body))
    assert job is not None and job.state is JobState.FINISHED
    failed = [s for s in import_statuses_of(hub, job.id) if s["errors"]]
    assert job.succeeded == len(SEED_LINES), failed
