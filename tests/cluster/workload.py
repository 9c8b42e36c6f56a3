"""A workload for a labelport cluster: a catalog of images, projects with an ontology, NDJSON imports with
boxes and composite masks; and database counts to check what landed. The cluster tests and the cluster
benchmark share it."""

from __future__ import annotations

import base64
import io
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import orjson
import sqlalchemy as sa
from PIL import Image

from labelport.model.media import MediaType
from labelport.service import Hub, auth, datasets, ontologies, projects
from labelport.service.synthetic import write_image
from labelport.store import Database, LocalBlobStore
from labelport.store.schema import annotation_rows, import_status_pages, jobs, labels

ROWS = 40  # data rows per project: at most 5000 annotations of one feature on one row
WIDTH, HEIGHT = 64, 48
ONTOLOGY = {"tools": [{"tool": "rectangle", "name": "box"}, {"tool": "raster-segmentation", "name": "seg"}]}


@dataclass
class Workspace:
    database_url: str
    project_ids: list[str]
    folder: Path
    keys: str  # the prefix of its data rows' global keys (unique in the organisation)

    def ndjson(self, path: Path, count: int, *, masks: int = 0, seed: int = 0) -> Path:
        return ndjson(path, count, masks=masks, seed=seed, keys=self.keys)

    def count(self, table: sa.Table, project_id: str | None = None) -> int:
        engine = sa.create_engine(self.database_url)
        try:
            query = sa.select(sa.func.count()).select_from(table)
            if project_id is not None:
                query = query.where(table.c.project_id == project_id)
            with engine.connect() as conn:
                return int(conn.execute(query).scalar_one())
        finally:
            engine.dispose()

    def annotations(self, project_id: str) -> int:
        return self.count(annotation_rows, project_id)

    def labels(self, project_id: str) -> int:
        return self.count(labels, project_id)

    def job(self, job_id: str) -> sa.Row[tuple[object, ...]]:
        engine = sa.create_engine(self.database_url)
        try:
            with engine.connect() as conn:
                return conn.execute(sa.select(jobs).where(jobs.c.id == job_id)).one()
        finally:
            engine.dispose()

    def status_pages(self, job_id: str) -> int:
        engine = sa.create_engine(self.database_url)
        try:
            query = sa.select(sa.func.count()).where(import_status_pages.c.job_id == job_id)
            with engine.connect() as conn:
                return int(conn.execute(query).scalar_one())
        finally:
            engine.dispose()


def build(database_url: str, folder: Path, projects_count: int) -> Workspace:
    """``projects_count`` image projects over one dataset of ROWS images (files under ``folder``)."""
    hub = Hub(
        db=Database(database_url),
        blobs=LocalBlobStore(folder / "unused-blobs"),  # the catalog stores no blob
        organization_id="",
        actor=auth.DEFAULT_ADMIN,
    )
    try:
        from labelport.service.hub import ensure_organization

        hub.organization_id = ensure_organization(hub.db, "default", auth.DEFAULT_ADMIN)
        image = write_image(folder / "images" / "img.png", WIDTH, HEIGHT)
        dataset = datasets.create_dataset(hub, "cluster")
        keys = f"{folder.name}-{uuid.uuid4().hex[:6]}"
        specs = [{"row_data": str(image), "global_key": f"{keys}-{i}"} for i in range(ROWS)]
        assert not datasets.create_data_rows(hub, dataset.id, specs).failures
        ontology = ontologies.create_ontology(hub, "boxes and masks", ONTOLOGY)
        ids = []
        for p in range(projects_count):
            project = projects.create_project(hub, f"project {p}", MediaType.IMAGE)
            projects.connect_ontology(hub, project.id, ontology.id)
            projects.create_batch(hub, project.id, "all", global_keys=[f"{keys}-{i}" for i in range(ROWS)])
            ids.append(project.id)
    finally:
        hub.db.dispose()
    return Workspace(database_url, ids, folder, keys)


def _png(seed: int) -> bytes:
    """A composite mask unique to ``seed``: a box, and the seed's bits drawn along the top row."""
    mask = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
    mask[seed % 20 + 2 : seed % 20 + 12, (seed // 20) % 40 : (seed // 20) % 40 + 12] = (255, 0, 0)
    for bit in range(WIDTH):
        if (seed >> bit) & 1:
            mask[0, bit] = (255, 0, 0)
    buffer = io.BytesIO()
    Image.fromarray(mask).save(buffer, format="PNG")
    return buffer.getvalue()


def ndjson(path: Path, count: int, *, masks: int = 0, seed: int = 0, keys: str = "img") -> Path:
    """An import of ``count`` annotations on the rows ``{keys}-0..``: ``masks`` composite masks (distinct
    PNGs), the rest boxes."""
    with path.open("wb") as out:
        for i in range(count):
            key = {"globalKey": f"{keys}-{i % ROWS}"}
            uid = str(uuid.UUID(int=(seed << 32) + i + 1))
            if i < masks:
                png = base64.b64encode(_png(seed * 100_003 + i)).decode()
                line = {"uuid": uid, "name": "seg", "dataRow": key, "mask": {"imBytes": png, "colorRGB": [255, 0, 0]}}
            else:
                box = {"top": i % 40, "left": i % 50, "height": 4, "width": 6}
                line = {"uuid": uid, "name": "box", "dataRow": key, "bbox": box}
            out.write(orjson.dumps(line) + b"\n")
    return path
