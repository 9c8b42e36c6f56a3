"""Review workflow per data row in a project: To label -> In review -> In rework -> Done.

Actions, as the platform names them:

- ``MOVE``: a data row enters a task (first entry into "Initial labeling task", labeling submitted to review,
  or an admin moving it anywhere);
- ``APPROVE``: In review -> Done; ``REJECT``: In review -> In rework; ``REWORK``: In rework -> In review.

Every change is one ``workflow_history`` row (action, from/to status and task name, actor, time). Task ids are
stable per project and task (uuid5), so exports show the same id for the same task every time. Approvals and
rejections are the reviews of the row's ground-truth label; review seconds add up on that label.

A ground-truth import sends the rows it labelled to review (configurable per project: straight to Done);
pre-labels leave a row where it is.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from labelport.errors import ConflictError, NotFoundError, ValidationError
from labelport.model.label import LabelKind
from labelport.model.workflow import (
    TASK_NAMES,
    HistoryEntry,
    WorkflowAction,
    WorkflowState,
    WorkflowStatus,
    as_utc,
    task_id,
)
from labelport.service.hub import Hub, now
from labelport.service.projects import get_project, project_row_ids
from labelport.store.schema import labels, projects, workflow_history, workflow_tasks

# action -> (statuses it starts from, status it leads to); MOVE takes its target from the caller.
_RULES: dict[WorkflowAction, tuple[frozenset[WorkflowStatus], WorkflowStatus | None]] = {
    WorkflowAction.APPROVE: (frozenset({WorkflowStatus.IN_REVIEW}), WorkflowStatus.DONE),
    WorkflowAction.REJECT: (frozenset({WorkflowStatus.IN_REVIEW}), WorkflowStatus.IN_REWORK),
    WorkflowAction.REWORK: (frozenset({WorkflowStatus.IN_REWORK}), WorkflowStatus.IN_REVIEW),
    WorkflowAction.MOVE: (frozenset(WorkflowStatus), None),
}

GROUND_TRUTH_TARGET = "ground_truth_import_status"
MAX_ROWS = 100_000
MAX_REASON = 2000


def check_reason(reason: str | None) -> str | None:
    """The reason (or note) of an action, stripped; None for none. At most ``MAX_REASON`` characters."""
    if reason is None:
        return None
    if not isinstance(reason, str):
        raise ValidationError(f"a reason is text, found {reason!r}", field="reason", value=reason)
    text = reason.strip()
    if len(text) > MAX_REASON:
        raise ValidationError(
            f"a reason is at most {MAX_REASON} characters, found {len(text)}", field="reason", value=len(text)
        )
    return text or None


def _entry(row: Any) -> HistoryEntry:
    return HistoryEntry(
        action=WorkflowAction(row.action),
        at=as_utc(row.at),
        actor=row.actor,
        from_status=WorkflowStatus(row.from_status) if row.from_status else None,
        to_status=WorkflowStatus(row.to_status),
        from_task=row.from_task,
        to_task=row.to_task,
        reason=row.reason,
    )


def _states(
    conn: sa.Connection, project_id: str, data_row_ids: Sequence[str], *, lock: bool = False
) -> dict[str, WorkflowState]:
    """The rows' workflow states; with ``lock``, the rows stay locked until the transaction ends (PostgreSQL
    ``FOR UPDATE``, taken in id order so two transactions never wait on each other in a circle; SQLite's
    write transactions hold the whole database already)."""
    out: dict[str, WorkflowState] = {}
    ids = sorted(data_row_ids) if lock else list(data_row_ids)
    for start in range(0, len(ids), 900):
        query = (
            sa.select(workflow_tasks)
            .where(
                workflow_tasks.c.project_id == project_id, workflow_tasks.c.data_row_id.in_(ids[start : start + 900])
            )
            .order_by(workflow_tasks.c.data_row_id)
        )
        for r in conn.execute(query.with_for_update() if lock else query):
            out[r.data_row_id] = WorkflowState(
                r.data_row_id, WorkflowStatus(r.status), r.task_name, as_utc(r.updated_at)
            )
    return out


def _ensure_first_entry(conn: sa.Connection, project_id: str, states: Iterable[WorkflowState]) -> None:
    """Rows queued without a history entry get their first MOVE (into labeling) at the time they were queued."""
    states = list(states)
    ids = [s.data_row_id for s in states]
    with_history: set[str] = set()
    for start in range(0, len(ids), 900):
        with_history.update(
            conn.execute(
                sa.select(workflow_history.c.data_row_id)
                .where(
                    workflow_history.c.project_id == project_id,
                    workflow_history.c.data_row_id.in_(ids[start : start + 900]),
                )
                .distinct()
            ).scalars()
        )
    missing = [s for s in states if s.data_row_id not in with_history and s.status is WorkflowStatus.TO_LABEL]
    if missing:
        conn.execute(
            workflow_history.insert(),
            [
                _history_row(
                    project_id, s.data_row_id, WorkflowAction.MOVE, None, WorkflowStatus.TO_LABEL, None, s.updated_at
                )
                for s in missing
            ],
        )


def _history_row(
    project_id: str,
    data_row_id: str,
    action: WorkflowAction,
    source: WorkflowStatus | None,
    target: WorkflowStatus,
    actor: str | None,
    at: datetime,
    reason: str | None = None,
) -> dict[str, Any]:
    return {
        "project_id": project_id,
        "data_row_id": data_row_id,
        "action": action.value,
        "from_status": source.value if source else None,
        "to_status": target.value,
        "from_task": source.task_name if source else None,
        "to_task": target.task_name,
        "actor": actor,
        "at": at,
        "reason": reason,
    }


def on_rows_queued(
    conn: sa.Connection,
    project_id: str,
    data_row_ids: Sequence[str],
    *,
    actor: str | None = None,
    at: datetime | None = None,
) -> None:
    """Record the first MOVE (into "Initial labeling task") of rows a batch just sent to the project."""
    stamp = at or now()
    rows = [
        _history_row(project_id, i, WorkflowAction.MOVE, None, WorkflowStatus.TO_LABEL, actor, stamp)
        for i in data_row_ids
    ]
    for start in range(0, len(rows), 5000):
        conn.execute(workflow_history.insert(), rows[start : start + 5000])


def transition(
    conn: sa.Connection,
    project_id: str,
    data_row_ids: Sequence[str],
    action: WorkflowAction | str,
    *,
    to: WorkflowStatus | str | None = None,
    actor: str | None = None,
    at: datetime | None = None,
    reason: str | None = None,
) -> list[WorkflowState]:
    """Apply one action to rows inside ``conn``'s transaction; every row is checked before any is changed.
    ``reason`` (why a reviewer rejected, or any note) is kept in each row's history entry.

    The rows are locked while they are checked and changed, so of two actions on a row at once the second
    sees the first's result: it fails with ConflictError naming the row's status, or applies to it.
    """
    action = WorkflowAction.parse(action)
    reason = check_reason(reason)
    allowed, target = _RULES[action]
    if action is WorkflowAction.MOVE:
        target = WorkflowStatus.parse(to) if to is not None else WorkflowStatus.IN_REVIEW
    elif to is not None and WorkflowStatus.parse(to) is not target:
        raise ValidationError(
            f"{action.value} leads to {target.value if target else None}, not {to!r}; use MOVE to go elsewhere",
            field="to",
            value=to,
        )
    assert target is not None  # set above for every action
    ids = list(dict.fromkeys(data_row_ids))
    if len(ids) > MAX_ROWS:
        raise ValidationError(
            f"at most {MAX_ROWS} data rows per workflow action, found {len(ids)}", field="data_row_ids"
        )
    states = _states(conn, project_id, ids, lock=True)
    missing = [i for i in ids if i not in states]
    if missing:
        raise NotFoundError(
            f"data row {missing[0]!r} is not in this project ({len(missing)} of {len(ids)} unknown); "
            "add it with create_batch"
        )
    for i in ids:
        state = states[i]
        if state.status not in allowed or (action is WorkflowAction.MOVE and state.status is target):
            raise ConflictError(
                f"cannot {action.value} data row {i!r}: it is {state.status.value} ({state.task_name!r})"
                + (
                    f"; {action.value} needs {' or '.join(sorted(s.value for s in allowed))}"
                    if action is not WorkflowAction.MOVE
                    else " already"
                ),
                field="action",
                value=state.status.value,
            )
    stamp = at or now()
    _ensure_first_entry(conn, project_id, states.values())
    changed = 0
    for start in range(0, len(ids), 900):
        chunk = ids[start : start + 900]
        # Only from the statuses just checked: should a row have moved meanwhile, nothing is half-applied.
        changed += conn.execute(
            workflow_tasks.update()
            .where(
                workflow_tasks.c.project_id == project_id,
                workflow_tasks.c.data_row_id.in_(chunk),
                workflow_tasks.c.status.in_(sorted({states[i].status.value for i in chunk})),
            )
            .values(status=target.value, task_name=target.task_name, updated_at=stamp)
        ).rowcount
    if changed != len(ids):
        raise ConflictError(
            f"{len(ids) - changed} of {len(ids)} data rows changed status while {action.value} was applied; "
            "nothing was changed, try again"
        )
    rows = [_history_row(project_id, i, action, states[i].status, target, actor, stamp, reason) for i in ids]
    for start in range(0, len(rows), 5000):
        conn.execute(workflow_history.insert(), rows[start : start + 5000])
    return [WorkflowState(i, target, target.task_name, stamp) for i in ids]


def apply(
    hub: Hub,
    project_id: str,
    data_row_ids: Sequence[str],
    action: WorkflowAction | str,
    *,
    to: WorkflowStatus | str | None = None,
    seconds_to_review: float | None = None,
    at: datetime | None = None,
    reason: str | None = None,
) -> list[WorkflowState]:
    """Apply ``action`` (MOVE needs ``to``, default In review) to data rows (ids or global keys), all or none, as
    ``hub.actor``.

    ``seconds_to_review`` (APPROVE, REJECT) is added to the review time of each row's ground-truth label;
    ``reason`` (why a reviewer rejected) joins each row's history entry.
    """
    reason = check_reason(reason)
    get_project(hub, project_id)
    if seconds_to_review is not None and (
        isinstance(seconds_to_review, bool) or not isinstance(seconds_to_review, int | float) or seconds_to_review < 0
    ):
        raise ValidationError(
            f"seconds_to_review must be a number >= 0, found {seconds_to_review!r}",
            field="seconds_to_review",
            value=seconds_to_review,
        )
    with hub.transaction() as conn:
        ids = project_row_ids(conn, project_id, data_row_ids)
        states = transition(conn, project_id, ids, action, to=to, actor=hub.actor, at=at, reason=reason)
        if seconds_to_review:
            ids = [s.data_row_id for s in states]
            for start in range(0, len(ids), 900):
                conn.execute(
                    labels.update()
                    .where(
                        labels.c.project_id == project_id,
                        labels.c.kind == LabelKind.GROUND_TRUTH.value,
                        labels.c.data_row_id.in_(ids[start : start + 900]),
                    )
                    .values(
                        seconds_to_review=sa.func.coalesce(labels.c.seconds_to_review, 0.0) + float(seconds_to_review)
                    )
                )
    return states


def approve(
    hub: Hub, project_id: str, data_row_ids: Sequence[str], *, seconds_to_review: float | None = None
) -> list[WorkflowState]:
    return apply(hub, project_id, data_row_ids, WorkflowAction.APPROVE, seconds_to_review=seconds_to_review)


def reject(
    hub: Hub, project_id: str, data_row_ids: Sequence[str], *, seconds_to_review: float | None = None
) -> list[WorkflowState]:
    return apply(hub, project_id, data_row_ids, WorkflowAction.REJECT, seconds_to_review=seconds_to_review)


def rework(hub: Hub, project_id: str, data_row_ids: Sequence[str]) -> list[WorkflowState]:
    return apply(hub, project_id, data_row_ids, WorkflowAction.REWORK)


def move(hub: Hub, project_id: str, data_row_ids: Sequence[str], to: WorkflowStatus | str) -> list[WorkflowState]:
    return apply(hub, project_id, data_row_ids, WorkflowAction.MOVE, to=to)


def ground_truth_target(conn: sa.Connection, project_id: str) -> WorkflowStatus:
    settings = conn.execute(sa.select(projects.c.settings).where(projects.c.id == project_id)).scalar() or {}
    return WorkflowStatus.parse(settings.get("workflow", {}).get(GROUND_TRUTH_TARGET, WorkflowStatus.IN_REVIEW.value))


def configure(hub: Hub, project_id: str, *, ground_truth_import_status: WorkflowStatus | str) -> None:
    """Where a ground-truth import sends the rows it labels: InReview (default) or Done."""
    target = WorkflowStatus.parse(ground_truth_import_status)
    if target not in (WorkflowStatus.IN_REVIEW, WorkflowStatus.DONE):
        raise ValidationError(
            f"a ground-truth import sends rows to InReview or Done, found {target.value!r}",
            field=GROUND_TRUTH_TARGET,
            value=target.value,
        )
    get_project(hub, project_id)
    with hub.transaction() as conn:
        settings = dict(conn.execute(sa.select(projects.c.settings).where(projects.c.id == project_id)).scalar() or {})
        settings["workflow"] = {**settings.get("workflow", {}), GROUND_TRUTH_TARGET: target.value}
        conn.execute(projects.update().where(projects.c.id == project_id).values(settings=settings))


def on_labels_imported(
    conn: sa.Connection,
    project_id: str,
    data_row_ids: Iterable[str],
    kind: LabelKind | str,
    *,
    actor: str | None = None,
) -> None:
    """The hook ``run_import`` calls in its transaction: ground truth sends labelled rows on; pre-labels do not.

    To label -> In review (MOVE), or -> Done (MOVE) when the project says so; In rework -> In review (REWORK).
    Rows already in review or done stay where they are.
    """
    if LabelKind.parse(kind) is not LabelKind.GROUND_TRUTH:
        return
    ids = list(dict.fromkeys(data_row_ids))
    if not ids:
        return
    target = ground_truth_target(conn, project_id)
    states = _states(conn, project_id, ids)
    stamp = now()
    to_label = [i for i in ids if i in states and states[i].status is WorkflowStatus.TO_LABEL]
    in_rework = [i for i in ids if i in states and states[i].status is WorkflowStatus.IN_REWORK]
    if to_label:
        transition(conn, project_id, to_label, WorkflowAction.MOVE, to=target, actor=actor, at=stamp)
    if in_rework:
        if target is WorkflowStatus.DONE:
            transition(conn, project_id, in_rework, WorkflowAction.MOVE, to=target, actor=actor, at=stamp)
        else:
            transition(conn, project_id, in_rework, WorkflowAction.REWORK, actor=actor, at=stamp)


def status_of(hub: Hub, project_id: str, data_row_id: str) -> WorkflowState:
    """The workflow state of a data row (its id or global key) in a project."""
    with hub.read() as conn:
        data_row_id = project_row_ids(conn, project_id, [data_row_id])[0]
        states = _states(conn, project_id, [data_row_id])
    if data_row_id not in states:
        raise NotFoundError(f"data row {data_row_id!r} is not in project {project_id!r}")
    return states[data_row_id]


def histories(conn: sa.Connection, project_id: str, data_row_ids: Sequence[str]) -> dict[str, list[HistoryEntry]]:
    """The history of each row, newest first."""
    out: dict[str, list[HistoryEntry]] = {i: [] for i in data_row_ids}
    ids = list(data_row_ids)
    for start in range(0, len(ids), 900):
        rows = conn.execute(
            sa.select(workflow_history)
            .where(
                workflow_history.c.project_id == project_id,
                workflow_history.c.data_row_id.in_(ids[start : start + 900]),
            )
            .order_by(workflow_history.c.at.desc(), workflow_history.c.id.desc())
        )
        for r in rows:
            out[r.data_row_id].append(_entry(r))
    return out


def history(
    hub: Hub, project_id: str, data_row_id: str, *, offset: int = 0, limit: int | None = None
) -> list[HistoryEntry]:
    """A row's (its id or global key) workflow changes, newest first (a page with ``offset`` and ``limit``);
    NotFoundError when the row is not in the project."""
    get_project(hub, project_id)
    with hub.read() as conn:
        row_id = project_row_ids(conn, project_id, [data_row_id])[0]
        if row_id not in _states(conn, project_id, [row_id]):
            raise NotFoundError(f"data row {data_row_id!r} is not in project {project_id!r}")
        rows = conn.execute(
            sa.select(workflow_history)
            .where(workflow_history.c.project_id == project_id, workflow_history.c.data_row_id == row_id)
            .order_by(workflow_history.c.at.desc(), workflow_history.c.id.desc())
            .offset(offset)
            .limit(limit)
        )
        return [_entry(r) for r in rows]


def set_performance(
    hub: Hub,
    project_id: str,
    data_row_id: str,
    *,
    seconds_to_create: float | None = None,
    seconds_to_review: float | None = None,
    skipped: bool | None = None,
) -> None:
    """Record performance details on the ground-truth label of a data row."""
    values: dict[str, Any] = {}
    for name, value in (("seconds_to_create", seconds_to_create), ("seconds_to_review", seconds_to_review)):
        if value is not None:
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ValidationError(f"{name} must be a number >= 0, found {value!r}", field=name, value=value)
            values[name] = float(value)
    if skipped is not None:
        if not isinstance(skipped, bool):
            raise ValidationError(f"skipped must be true or false, found {skipped!r}", field="skipped", value=skipped)
        values["skipped"] = skipped
    if not values:
        return
    with hub.transaction() as conn:
        row_id = project_row_ids(conn, project_id, [data_row_id])[0]
        done = conn.execute(
            labels.update()
            .where(
                labels.c.project_id == project_id,
                labels.c.data_row_id == row_id,
                labels.c.kind == LabelKind.GROUND_TRUTH.value,
            )
            .values(**values)
        )
        if done.rowcount == 0:
            raise NotFoundError(f"data row {data_row_id!r} has no ground-truth label in project {project_id!r}")


__all__ = [
    "TASK_NAMES",
    "HistoryEntry",
    "WorkflowAction",
    "WorkflowState",
    "WorkflowStatus",
    "apply",
    "approve",
    "as_utc",
    "check_reason",
    "configure",
    "histories",
    "history",
    "move",
    "on_labels_imported",
    "on_rows_queued",
    "reject",
    "rework",
    "set_performance",
    "status_of",
    "task_id",
    "transition",
]
