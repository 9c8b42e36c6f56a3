"""The review workflow of a project's data rows: actions, status, history, settings and label performance.

APPROVE and REJECT need the reviewer role (or admin); REWORK a labeler, reviewer or admin; MOVE (any status
to any other) and the workflow settings an admin. Everyone in the project reads statuses and histories.
"""

from __future__ import annotations

from fastapi import APIRouter, Response

from labelport.api.deps import CallerDep, PageDep
from labelport.api.errors import RESPONSES
from labelport.api.pagination import paginate
from labelport.api.schemas import (
    HistoryEntryOut,
    Page,
    PerformanceIn,
    WorkflowActionIn,
    WorkflowSettingsIn,
    WorkflowSettingsOut,
    WorkflowStateOut,
)
from labelport.service import workflow
from labelport.service.auth import Action
from labelport.service.workflow import WorkflowAction

router = APIRouter(prefix="/api/v1", responses=RESPONSES)

NEEDS: dict[WorkflowAction, Action] = {
    WorkflowAction.APPROVE: Action.REVIEW,
    WorkflowAction.REJECT: Action.REVIEW,
    WorkflowAction.REWORK: Action.REWORK,
    WorkflowAction.MOVE: Action.MOVE,
}


@router.post("/projects/{project_id}/workflow/actions", tags=["workflow"])
def workflow_action(project_id: str, body: WorkflowActionIn, caller: CallerDep) -> list[WorkflowStateOut]:
    """Apply one action to data rows, all or none; each change joins the row's history."""
    action = WorkflowAction.parse(body.action)
    caller.require(project_id, NEEDS[action])
    states = workflow.apply(
        caller.hub,
        project_id,
        body.data_row_ids,
        action,
        to=body.to,
        seconds_to_review=body.seconds_to_review,
        reason=body.reason,
    )
    return [WorkflowStateOut.of(s) for s in states]


@router.get("/projects/{project_id}/data-rows/{data_row_id}/workflow", tags=["workflow"])
def workflow_status(project_id: str, data_row_id: str, caller: CallerDep) -> WorkflowStateOut:
    caller.require(project_id, Action.READ)
    return WorkflowStateOut.of(workflow.status_of(caller.hub, project_id, data_row_id))


@router.get("/projects/{project_id}/data-rows/{data_row_id}/workflow/history", tags=["workflow"])
def workflow_history(project_id: str, data_row_id: str, caller: CallerDep, page: PageDep) -> Page[HistoryEntryOut]:
    """The row's workflow changes, newest first."""
    caller.require(project_id, Action.READ)
    return paginate(
        lambda o, n: [
            HistoryEntryOut.of(h) for h in workflow.history(caller.hub, project_id, data_row_id, offset=o, limit=n)
        ],
        page,
    )


@router.put("/projects/{project_id}/workflow", tags=["workflow"])
def configure_workflow(project_id: str, body: WorkflowSettingsIn, caller: CallerDep) -> WorkflowSettingsOut:
    """Where ground-truth imports send the rows they label: InReview (default) or Done."""
    caller.require(project_id, Action.MANAGE)
    workflow.configure(caller.hub, project_id, ground_truth_import_status=body.ground_truth_import_status)
    status = workflow.WorkflowStatus.parse(body.ground_truth_import_status)
    return WorkflowSettingsOut(ground_truth_import_status=status.value)


@router.put("/projects/{project_id}/data-rows/{data_row_id}/performance", status_code=204, tags=["workflow"])
def set_label_performance(project_id: str, data_row_id: str, body: PerformanceIn, caller: CallerDep) -> Response:
    """Seconds to create and to review, and ``skipped``, on the row's ground-truth label (null: unchanged)."""
    caller.require(project_id, Action.PERFORMANCE)
    workflow.set_performance(
        caller.hub,
        project_id,
        data_row_id,
        seconds_to_create=body.seconds_to_create,
        seconds_to_review=body.seconds_to_review,
        skipped=body.skipped,
    )
    return Response(status_code=204)
