"""Projects, their ontology and batches: the rules a labeling project keeps."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from labelport.errors import ConflictError, NotFoundError, ValidationError
from labelport.model.ids import new_id
from labelport.model.media import MediaType
from labelport.service.datasets import existing_global_keys
from labelport.service.hub import Hub, now
from labelport.service.ontologies import get_ontology
from labelport.service.records import BatchInfo, ProjectInfo
from labelport.store import Database
from labelport.store.schema import batch_data_rows, batches, data_rows, project_members, projects, workflow_tasks

MAX_BATCH_ROWS = 100_000
FIRST_TASK = "Initial labeling task"


def create_project(
    hub: Hub,
    name: str,
    media_type: MediaType | str,
    description: str | None = None,
    *,
    admin_user_id: str | None = None,
) -> ProjectInfo:
    """Create a project; with ``admin_user_id``, that user becomes its admin in the same transaction (an API
    caller creating a project never leaves one without its creator)."""
    if not isinstance(name, str) or not name.strip():
        raise ValidationError(f"project name must be a non-empty string, found {name!r}", field="name", value=name)
    info = ProjectInfo(
        id=new_id(),
        name=name,
        description=description,
        media_type=MediaType.parse(media_type),
        ontology_id=None,
        created_at=now(),
    )
    with hub.transaction() as conn:
        conn.execute(
            projects.insert().values(
                id=info.id,
                organization_id=hub.organization_id,
                name=name,
                description=description,
                media_type=info.media_type.value,
                ontology_id=None,
                settings={},
                created_at=info.created_at,
            )
        )
        if admin_user_id is not None:
            conn.execute(project_members.insert().values(project_id=info.id, user_id=admin_user_id, role="admin"))
    return info


def _project(row: sa.Row[Any]) -> ProjectInfo:
    return ProjectInfo(
        id=row.id,
        name=row.name,
        description=row.description,
        media_type=MediaType(row.media_type),
        ontology_id=row.ontology_id,
        created_at=row.created_at,
    )


def get_project(hub: Hub, project_id: str) -> ProjectInfo:
    with hub.read() as conn:
        row = conn.execute(
            sa.select(projects).where(projects.c.id == project_id, projects.c.organization_id == hub.organization_id)
        ).first()
    if row is None:
        raise NotFoundError(f"no project with id {project_id!r}")
    return _project(row)


def organization_of(db: Database, project_id: str) -> str:
    """The organisation a project belongs to, whoever asks: for links the server signed, which name a project
    and stand in for a key. NotFoundError when there is no such project."""
    with db.read() as conn:
        found = conn.execute(sa.select(projects.c.organization_id).where(projects.c.id == project_id)).scalar()
    if found is None:
        raise NotFoundError(f"no project with id {project_id!r}")
    return str(found)


def list_projects(
    hub: Hub, *, member: str | None = None, offset: int = 0, limit: int | None = None
) -> list[ProjectInfo]:
    """The organisation's projects, oldest first; with ``member`` (a user id), only those the user holds a
    role in; a page with ``offset`` and ``limit``."""
    query = sa.select(projects).where(projects.c.organization_id == hub.organization_id)
    if member is not None:
        held = sa.select(project_members.c.project_id).where(project_members.c.user_id == member)
        query = query.where(projects.c.id.in_(held))
    with hub.read() as conn:
        rows = conn.execute(query.order_by(projects.c.created_at, projects.c.id).offset(offset).limit(limit)).all()
    return [_project(r) for r in rows]


def connect_ontology(hub: Hub, project_id: str, ontology_id: str) -> ProjectInfo:
    """Attach an ontology; its media type (when it has one) must be the project's."""
    project = get_project(hub, project_id)
    ontology = get_ontology(hub, ontology_id)
    if ontology.media_type is not None and ontology.media_type is not project.media_type:
        raise ValidationError(
            f"ontology {ontology.name!r} is for {ontology.media_type.value} but project {project.name!r} "
            f"is a {project.media_type.value} project",
            field="media_type",
            value=ontology.media_type.value,
        )
    with hub.transaction() as conn:
        conn.execute(projects.update().where(projects.c.id == project_id).values(ontology_id=ontology_id))
    return get_project(hub, project_id)


def _priority(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 5:
        raise ValidationError(
            f"batch priority must be an integer from 1 (highest) to 5 (lowest), found {value!r}",
            field="priority",
            value=value,
        )
    return value


def _resolve_rows(
    hub: Hub, conn: sa.Connection, global_keys: Sequence[str] | None, data_row_ids: Sequence[str] | None
) -> list[str]:
    if (global_keys is None) == (data_row_ids is None):
        raise ValidationError("a batch takes exactly one of global_keys and data_rows", field="data_rows", value=None)
    if global_keys is not None:
        keys = list(global_keys)
        found = existing_global_keys(hub, keys)
        missing = [k for k in keys if k not in found]
        if missing:
            raise NotFoundError(
                f"global key {missing[0]!r} is not a data row ({len(missing)} of {len(keys)} keys unknown)"
            )
        ids = [found[k] for k in keys]
    else:
        ids = list(data_row_ids or ())
        known: set[str] = set()
        for start in range(0, len(ids), 1000):
            chunk = ids[start : start + 1000]
            known.update(
                conn.execute(
                    sa.select(data_rows.c.id).where(
                        data_rows.c.id.in_(chunk), data_rows.c.organization_id == hub.organization_id
                    )
                ).scalars()
            )
        missing = [i for i in ids if i not in known]
        if missing:
            raise NotFoundError(f"data row {missing[0]!r} does not exist ({len(missing)} of {len(ids)} ids unknown)")
    if not ids:
        raise ValidationError("a batch needs at least one data row, found none", field="data_rows", value=[])
    if len(ids) > MAX_BATCH_ROWS:
        raise ValidationError(
            f"a batch holds at most {MAX_BATCH_ROWS} data rows, found {len(ids)}", field="data_rows", value=len(ids)
        )
    return list(dict.fromkeys(ids))


def create_batch(
    hub: Hub,
    project_id: str,
    name: str,
    *,
    global_keys: Sequence[str] | None = None,
    data_row_ids: Sequence[str] | None = None,
    priority: int = 5,
) -> BatchInfo:
    """Send data rows to a project. Checked before anything is written: priority 1..5, the name unused in
    the project, every row known, of the project's media type and in no other batch of the project."""
    project = get_project(hub, project_id)
    priority = _priority(priority)
    if not isinstance(name, str) or not name.strip():
        raise ValidationError(f"batch name must be a non-empty string, found {name!r}", field="name", value=name)
    created = now()
    batch_id = new_id()
    with hub.transaction() as conn:
        taken = conn.execute(
            sa.select(batches.c.id).where(batches.c.project_id == project_id, batches.c.name == name)
        ).first()
        if taken is not None:
            raise ConflictError(f"batch name {name!r} is already used in project {project.name!r}")
        ids = _resolve_rows(hub, conn, global_keys, data_row_ids)
        for start in range(0, len(ids), 1000):
            chunk = ids[start : start + 1000]
            wrong = conn.execute(
                sa.select(data_rows.c.id, data_rows.c.global_key, data_rows.c.media_type).where(
                    data_rows.c.id.in_(chunk), data_rows.c.media_type != project.media_type.value
                )
            ).first()
            if wrong is not None:
                raise ValidationError(
                    f"data row {wrong.global_key or wrong.id!r} is {wrong.media_type} but project "
                    f"{project.name!r} is a {project.media_type.value} project",
                    field="media_type",
                    value=wrong.media_type,
                )
            busy = conn.execute(
                sa.select(batch_data_rows.c.data_row_id, batches.c.name)
                .join(batches, batches.c.id == batch_data_rows.c.batch_id)
                .where(batch_data_rows.c.project_id == project_id, batch_data_rows.c.data_row_id.in_(chunk))
            ).first()
            if busy is not None:
                raise ConflictError(
                    f"data row {busy.data_row_id!r} is already in batch {busy.name!r} of project {project.name!r}"
                )
        conn.execute(
            batches.insert().values(
                id=batch_id, project_id=project_id, name=name, priority=priority, created_at=created
            )
        )
        conn.execute(
            batch_data_rows.insert(),
            [{"batch_id": batch_id, "project_id": project_id, "data_row_id": i} for i in ids],
        )
        conn.execute(
            workflow_tasks.insert(),
            [
                {
                    "project_id": project_id,
                    "data_row_id": i,
                    "status": "ToLabel",
                    "task_name": FIRST_TASK,
                    "updated_at": created,
                }
                for i in ids
            ],
        )
        from labelport.service import workflow  # workflow builds on projects: import it late

        workflow.on_rows_queued(conn, project_id, ids, actor=hub.actor, at=created)
    return BatchInfo(
        id=batch_id, project_id=project_id, name=name, priority=priority, size=len(ids), created_at=created
    )


def list_batches(hub: Hub, project_id: str, *, offset: int = 0, limit: int | None = None) -> list[BatchInfo]:
    get_project(hub, project_id)
    size = sa.func.count(batch_data_rows.c.data_row_id).label("size")
    with hub.read() as conn:
        rows = conn.execute(
            sa.select(batches, size)
            .join(batch_data_rows, batch_data_rows.c.batch_id == batches.c.id, isouter=True)
            .where(batches.c.project_id == project_id)
            .group_by(*batches.c)
            .order_by(batches.c.created_at, batches.c.id)
            .offset(offset)
            .limit(limit)
        ).all()
    return [
        BatchInfo(
            id=r.id, project_id=r.project_id, name=r.name, priority=r.priority, size=r.size, created_at=r.created_at
        )
        for r in rows
    ]


def batch_data_row_ids(hub: Hub, batch_id: str, *, offset: int = 0, limit: int | None = None) -> list[str]:
    with hub.read() as conn:
        return list(
            conn.execute(
                sa.select(batch_data_rows.c.data_row_id)
                .join(projects, projects.c.id == batch_data_rows.c.project_id)
                .where(batch_data_rows.c.batch_id == batch_id, projects.c.organization_id == hub.organization_id)
                .order_by(batch_data_rows.c.data_row_id)
                .offset(offset)
                .limit(limit)
            ).scalars()
        )
