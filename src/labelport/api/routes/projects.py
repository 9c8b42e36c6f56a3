"""Projects, their ontology, batches and members. Every route checks the caller's role in the project."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from labelport.api.deps import CallerDep, PageDep
from labelport.api.errors import RESPONSES
from labelport.api.pagination import paginate
from labelport.api.schemas import (
    BatchIn,
    BatchOut,
    ConnectOntologyIn,
    MemberIn,
    MemberOut,
    Page,
    ProjectIn,
    ProjectOut,
)
from labelport.service import auth, projects
from labelport.service.auth import Action

Email = Annotated[str, Path(min_length=3, max_length=320, description="The user's e-mail address")]

router = APIRouter(prefix="/api/v1", responses=RESPONSES)


@router.post("/projects", status_code=201, tags=["projects"])
def create_project(body: ProjectIn, caller: CallerDep) -> ProjectOut:
    """Organisation admins create projects (a role in a project does not reach this); the creator becomes
    the project's admin (one transaction)."""
    auth.require_organisation_admin(caller.principal, "create projects")
    creator = caller.principal.user_id
    return ProjectOut.of(
        projects.create_project(caller.hub, body.name, body.media_type, body.description, admin_user_id=creator)
    )


@router.get("/projects", tags=["projects"])
def list_projects(caller: CallerDep, page: PageDep) -> Page[ProjectOut]:
    """The projects the caller holds a role in (all of them for organisation admins)."""
    member = None if caller.principal.is_admin else caller.principal.user_id
    return paginate(
        lambda o, n: [ProjectOut.of(p) for p in projects.list_projects(caller.hub, member=member, offset=o, limit=n)],
        page,
    )


@router.get("/projects/{project_id}", tags=["projects"])
def get_project(project_id: str, caller: CallerDep) -> ProjectOut:
    caller.require(project_id, Action.READ)
    return ProjectOut.of(projects.get_project(caller.hub, project_id))


@router.put("/projects/{project_id}/ontology", tags=["projects"])
def connect_ontology(project_id: str, body: ConnectOntologyIn, caller: CallerDep) -> ProjectOut:
    caller.require(project_id, Action.MANAGE)
    return ProjectOut.of(projects.connect_ontology(caller.hub, project_id, body.ontology_id))


@router.post("/projects/{project_id}/batches", status_code=201, tags=["batches"])
def create_batch(project_id: str, body: BatchIn, caller: CallerDep) -> BatchOut:
    caller.require(project_id, Action.MANAGE)
    info = projects.create_batch(
        caller.hub,
        project_id,
        body.name,
        global_keys=body.global_keys,
        data_row_ids=body.data_row_ids,
        priority=body.priority,
    )
    return BatchOut.of(info)


@router.get("/projects/{project_id}/batches", tags=["batches"])
def list_batches(project_id: str, caller: CallerDep, page: PageDep) -> Page[BatchOut]:
    caller.require(project_id, Action.READ)
    return paginate(
        lambda o, n: [BatchOut.of(b) for b in projects.list_batches(caller.hub, project_id, offset=o, limit=n)], page
    )


@router.get("/batches/{batch_id}/data-row-ids", tags=["batches"])
def batch_data_row_ids(batch_id: str, caller: CallerDep, page: PageDep) -> Page[str]:
    caller.require(auth.project_of_batch(caller.ctx.db, caller.principal, batch_id), Action.READ)
    return paginate(lambda o, n: projects.batch_data_row_ids(caller.hub, batch_id, offset=o, limit=n), page)


@router.get("/projects/{project_id}/members", tags=["members"])
def list_members(project_id: str, caller: CallerDep, page: PageDep) -> Page[MemberOut]:
    caller.require(project_id, Action.READ)
    return paginate(
        lambda o, n: [MemberOut.of(m) for m in auth.list_members(caller.hub, project_id, offset=o, limit=n)], page
    )


@router.put("/projects/{project_id}/members/{email}", tags=["members"])
def set_member(project_id: str, email: Email, body: MemberIn, caller: CallerDep) -> MemberOut:
    """Give a user (by e-mail, created in the organisation when new) a role in the project."""
    caller.require(project_id, Action.MEMBERS)
    return MemberOut.of(auth.set_member(caller.hub, project_id, email, body.role))


@router.delete("/projects/{project_id}/members/{email}", status_code=204, tags=["members"])
def remove_member(project_id: str, email: Email, caller: CallerDep) -> Response:
    caller.require(project_id, Action.MEMBERS)
    auth.remove_member(caller.hub, project_id, email)
    return Response(status_code=204)
