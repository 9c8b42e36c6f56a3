"""Who may do what: organisations, users, API keys (hashed at rest, shown once, revocable) and project roles.

A key belongs to a user of one organisation. Organisation admins act as ``admin`` in every project; other
users hold one role per project (``project_members``). The permission matrix lives here, in ``ALLOWED``,
so the HTTP API, the CLI and the docs (``docs/server.md``) read the same rules.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa

# Both were defined here first; scripts catch them from this module.
from labelport.errors import AuthenticationError as AuthenticationError
from labelport.errors import NotFoundError, ValidationError
from labelport.errors import PermissionDeniedError as PermissionDeniedError
from labelport.model._checks import enum_value
from labelport.model.ids import new_id
from labelport.model.jobs import JobInfo, JobKind
from labelport.service.hub import Hub, ensure_organization, now
from labelport.store import Database
from labelport.store import jobs as job_store
from labelport.store.schema import api_keys, batches, organizations, project_members, projects, users

KEY_PREFIX = "lp_"
SHOWN_PREFIX_LENGTH = 10  # "lp_" and 7 characters of the secret: enough to tell keys apart in a list
DEFAULT_ADMIN = "local@labelport"


class Role(StrEnum):
    """A user's role in one project, weakest last."""

    ADMIN = "admin"
    REVIEWER = "reviewer"
    LABELER = "labeler"
    VIEWER = "viewer"

    @classmethod
    def parse(cls, value: str | Role) -> Role:
        return enum_value(cls, value, "role")


class Action(StrEnum):
    """What a request does to a project; each endpoint names one."""

    READ = "read"  # project, batches, batch rows, import jobs and their statuses, workflow status and history
    EXPORT = "export"  # export_v2 / export_labels jobs, their files, mask PNGs
    IMPORT_PRELABELS = "import_prelabels"  # MAL predictions
    IMPORT_GROUND_TRUTH = "import_ground_truth"
    REVIEW = "review"  # workflow APPROVE and REJECT
    REWORK = "rework"  # workflow REWORK: a reworked row goes back to review
    PERFORMANCE = "performance"  # seconds to create / review, skipped, on a ground-truth label
    MOVE = "move"  # workflow MOVE: put rows in any status
    MANAGE = "manage"  # connect an ontology, create batches, workflow settings
    MEMBERS = "members"  # grant and remove roles


ALLOWED: dict[Action, frozenset[Role]] = {
    Action.READ: frozenset(Role),
    Action.EXPORT: frozenset(Role),
    Action.IMPORT_PRELABELS: frozenset({Role.ADMIN, Role.REVIEWER, Role.LABELER}),
    Action.IMPORT_GROUND_TRUTH: frozenset({Role.ADMIN, Role.REVIEWER}),
    Action.REVIEW: frozenset({Role.ADMIN, Role.REVIEWER}),
    Action.REWORK: frozenset({Role.ADMIN, Role.REVIEWER, Role.LABELER}),
    Action.PERFORMANCE: frozenset({Role.ADMIN, Role.REVIEWER, Role.LABELER}),
    Action.MOVE: frozenset({Role.ADMIN}),
    Action.MANAGE: frozenset({Role.ADMIN}),
    Action.MEMBERS: frozenset({Role.ADMIN}),
}


@dataclass(frozen=True, slots=True)
class Principal:
    """The user a request acts for, resolved from its API key."""

    user_id: str
    email: str
    organization_id: str
    is_admin: bool
    key_id: str | None = None


@dataclass(frozen=True, slots=True)
class CreatedKey:
    """A new API key; ``secret`` exists only here, the store keeps its SHA-256."""

    id: str
    name: str
    prefix: str
    secret: str
    email: str
    organization: str


@dataclass(frozen=True, slots=True)
class ApiKeyInfo:
    id: str
    name: str
    prefix: str
    email: str
    is_admin: bool
    created_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class Member:
    email: str
    role: Role


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def ensure_user(db: Database, organization: str, email: str, *, is_admin: bool = False) -> tuple[str, str]:
    """(organisation id, user id) of ``email`` in ``organization``, both created when missing.

    An existing user keeps its admin flag unless ``is_admin`` raises it.
    """
    if not isinstance(email, str) or "@" not in email or len(email) > 320:
        raise ValidationError(f"a user is named by an e-mail address, found {email!r}", field="email", value=email)
    org_id = ensure_organization(db, organization, DEFAULT_ADMIN)
    with db.write() as conn:
        row = conn.execute(
            sa.select(users.c.id, users.c.is_admin).where(users.c.organization_id == org_id, users.c.email == email)
        ).first()
        if row is None:
            user_id = new_id()
            conn.execute(
                users.insert().values(
                    id=user_id, organization_id=org_id, email=email, is_admin=is_admin, created_at=now()
                )
            )
            return org_id, user_id
        if is_admin and not row.is_admin:
            conn.execute(users.update().where(users.c.id == row.id).values(is_admin=True))
        return org_id, str(row.id)


def create_api_key(
    db: Database,
    *,
    organization: str = "default",
    email: str = DEFAULT_ADMIN,
    name: str = "api key",
    is_admin: bool = False,
) -> CreatedKey:
    """Create a key for ``email`` (the user is created when missing); the secret is returned once."""
    if not isinstance(name, str) or not name.strip():
        raise ValidationError(f"an API key needs a non-empty name, found {name!r}", field="name", value=name)
    _, user_id = ensure_user(db, organization, email, is_admin=is_admin)
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    key = CreatedKey(
        id=new_id(),
        name=name,
        prefix=secret[:SHOWN_PREFIX_LENGTH],
        secret=secret,
        email=email,
        organization=organization,
    )
    with db.write() as conn:
        conn.execute(
            api_keys.insert().values(
                id=key.id, user_id=user_id, name=name, key_hash=_digest(secret), prefix=key.prefix, created_at=now()
            )
        )
    return key


def list_api_keys(db: Database, organization: str = "default", *, include_revoked: bool = True) -> list[ApiKeyInfo]:
    query = (
        sa.select(api_keys, users.c.email, users.c.is_admin)
        .join(users, users.c.id == api_keys.c.user_id)
        .join(organizations, organizations.c.id == users.c.organization_id)
        .where(organizations.c.name == organization)
        .order_by(api_keys.c.created_at, api_keys.c.id)
    )
    if not include_revoked:
        query = query.where(api_keys.c.revoked_at.is_(None))
    with db.read() as conn:
        rows = conn.execute(query).all()
    return [
        ApiKeyInfo(
            id=r.id,
            name=r.name,
            prefix=r.prefix,
            email=r.email,
            is_admin=bool(r.is_admin),
            created_at=r.created_at,
            revoked_at=r.revoked_at,
        )
        for r in rows
    ]


def revoke_api_key(db: Database, key: str, organization: str = "default") -> ApiKeyInfo:
    """Revoke the key whose id or shown prefix is ``key``; revoking twice is harmless."""
    matches = [k for k in list_api_keys(db, organization) if key in (k.id, k.prefix)]
    if not matches:
        raise NotFoundError(f"no API key with id or prefix {key!r} in organisation {organization!r}")
    if len(matches) > 1:
        raise ValidationError(
            f"prefix {key!r} matches {len(matches)} keys; revoke by id ({', '.join(m.id for m in matches)})",
            field="key",
            value=key,
        )
    [found] = matches
    if found.revoked_at is None:
        with db.write() as conn:
            conn.execute(api_keys.update().where(api_keys.c.id == found.id).values(revoked_at=now()))
    return next(k for k in list_api_keys(db, organization) if k.id == found.id)


def authenticate(db: Database, secret: str | None) -> Principal:
    """The user behind an API key; unknown and revoked keys fail alike, without saying which."""
    if not secret:
        raise AuthenticationError("an API key is required: send the header 'Authorization: Bearer <key>'")
    with db.read() as conn:
        row = conn.execute(_principal_query().where(api_keys.c.key_hash == _digest(secret))).first()
    if row is None or row.revoked_at is not None:
        raise AuthenticationError(
            "the API key is not valid (unknown or revoked); create one with `labelport keys create`"
        )
    return _principal(row)


def _principal_query() -> sa.Select[Any]:
    return (
        sa.select(api_keys.c.id, api_keys.c.revoked_at, users.c.id.label("user_id"), users.c.email)
        .add_columns(users.c.organization_id, users.c.is_admin)
        .join(users, users.c.id == api_keys.c.user_id)
    )


def _principal(row: Any) -> Principal:
    return Principal(
        user_id=row.user_id,
        email=row.email,
        organization_id=row.organization_id,
        is_admin=bool(row.is_admin),
        key_id=row.id,
    )


def project_role(db: Database, principal: Principal, project_id: str) -> Role | None:
    """The principal's role in a project of its organisation (admins: admin); None when it has none.

    Raises NotFoundError when the project is not in the principal's organisation.
    """
    with db.read() as conn:
        org = conn.execute(sa.select(projects.c.organization_id).where(projects.c.id == project_id)).scalar()
        if org is None or org != principal.organization_id:
            raise NotFoundError(f"no project with id {project_id!r}")
        if principal.is_admin:
            return Role.ADMIN
        role = conn.execute(
            sa.select(project_members.c.role).where(
                project_members.c.project_id == project_id, project_members.c.user_id == principal.user_id
            )
        ).scalar()
    return Role(role) if role is not None else None


def require(db: Database, principal: Principal, project_id: str, action: Action) -> Role:
    """The principal's role in the project, if it allows ``action``; else PermissionDeniedError."""
    role = project_role(db, principal, project_id)
    if role is None:
        raise PermissionDeniedError(f"{principal.email} has no role in project {project_id!r}")
    if role not in ALLOWED[action]:
        allowed = ", ".join(sorted(r.value for r in ALLOWED[action]))
        raise PermissionDeniedError(
            f"{principal.email} is {role.value} in project {project_id!r}; {action.value} needs one of: {allowed}"
        )
    return role


def require_organisation_admin(principal: Principal, what: str) -> None:
    """Creating projects and datasets is the organisation's business: its admins only. A role in a project
    (even admin) does not reach it, so no key can raise itself by making a project of its own."""
    if not principal.is_admin:
        raise PermissionDeniedError(f"{principal.email} may not {what}: it needs an organisation admin")


def require_catalog_write(db: Database, principal: Principal) -> None:
    """Creating datasets, data rows and ontologies: organisation admins and admins of some project."""
    if principal.is_admin:
        return
    with db.read() as conn:
        admin_somewhere = conn.execute(
            sa.select(project_members.c.project_id).where(
                project_members.c.user_id == principal.user_id, project_members.c.role == Role.ADMIN.value
            )
        ).first()
    if admin_somewhere is None:
        raise PermissionDeniedError(
            f"{principal.email} may not change the catalog: it needs an organisation admin or a project admin"
        )


def visible_project_ids(db: Database, principal: Principal) -> set[str] | None:
    """Projects the principal holds a role in; None means all of the organisation (admins)."""
    if principal.is_admin:
        return None
    with db.read() as conn:
        return set(
            conn.execute(
                sa.select(project_members.c.project_id).where(project_members.c.user_id == principal.user_id)
            ).scalars()
        )


def _project_of(db: Database, principal: Principal, table: sa.Table, object_id: str, what: str) -> str:
    """The project an object of ``table`` belongs to, if the project is in the caller's organisation."""
    with db.read() as conn:
        row = conn.execute(
            sa.select(table.c.project_id)
            .join(projects, projects.c.id == table.c.project_id)
            .where(table.c.id == object_id, projects.c.organization_id == principal.organization_id)
        ).scalar()
    if row is None:
        raise NotFoundError(f"no {what} with id {object_id!r}")
    return str(row)


def project_of_batch(db: Database, principal: Principal, batch_id: str) -> str:
    """The project of a batch the principal holds a role in; NotFoundError otherwise (a key without a role
    there learns nothing, not even which project the batch belongs to)."""
    project_id = _project_of(db, principal, batches, batch_id, "batch")
    if project_role(db, principal, project_id) is None:
        raise NotFoundError(f"no batch with id {batch_id!r}")
    return project_id


def require_job(db: Database, principal: Principal, job_id: str, kind: JobKind, action: Action) -> JobInfo:
    """A job of ``kind`` in the principal's organisation, if its project allows ``action``; NotFoundError
    when there is none, or when the principal holds no role in its project (which it then does not learn).
    A job whose project was deleted is shown to organisation admins only."""
    with db.read() as conn:
        job = job_store.find(conn, job_id, organization_id=principal.organization_id, kind=kind)
    if job is None:
        raise NotFoundError(f"no {kind.value} job with id {job_id!r}")
    if job.project_id is None:
        if not principal.is_admin:
            raise PermissionDeniedError(
                f"{principal.email} may not see {kind.value} job {job_id!r}: its project was deleted, "
                "so only organisation admins can"
            )
        return job
    if project_role(db, principal, job.project_id) is None:
        raise NotFoundError(f"no {kind.value} job with id {job_id!r}")
    require(db, principal, job.project_id, action)
    return job


def set_member(hub: Hub, project_id: str, email: str, role: Role | str) -> Member:
    """Give ``email`` (a user of the hub's organisation, created when missing) ``role`` in a project."""
    role = Role.parse(role)
    with hub.read() as conn:
        org_name = conn.execute(
            sa.select(organizations.c.name).where(organizations.c.id == hub.organization_id)
        ).scalar_one()
        found = conn.execute(
            sa.select(projects.c.id).where(
                projects.c.id == project_id, projects.c.organization_id == hub.organization_id
            )
        ).first()
    if found is None:
        raise NotFoundError(f"no project with id {project_id!r}")
    _, user_id = ensure_user(hub.db, org_name, email)
    with hub.transaction() as conn:
        conn.execute(
            project_members.delete().where(
                project_members.c.project_id == project_id, project_members.c.user_id == user_id
            )
        )
        conn.execute(project_members.insert().values(project_id=project_id, user_id=user_id, role=role.value))
    return Member(email=email, role=role)


def list_members(hub: Hub, project_id: str, *, offset: int = 0, limit: int | None = None) -> list[Member]:
    """A project's members by e-mail (a page with ``offset`` and ``limit``)."""
    with hub.read() as conn:
        rows = conn.execute(
            sa.select(users.c.email, project_members.c.role)
            .join(users, users.c.id == project_members.c.user_id)
            .where(project_members.c.project_id == project_id)
            .order_by(users.c.email)
            .offset(offset)
            .limit(limit)
        ).all()
    return [Member(email=r.email, role=Role(r.role)) for r in rows]


def remove_member(hub: Hub, project_id: str, email: str) -> None:
    with hub.transaction() as conn:
        user_id = conn.execute(
            sa.select(users.c.id).where(users.c.organization_id == hub.organization_id, users.c.email == email)
        ).scalar()
        if user_id is None:
            raise NotFoundError(f"no user {email!r} in this organisation")
        conn.execute(
            project_members.delete().where(
                project_members.c.project_id == project_id, project_members.c.user_id == user_id
            )
        )


# ------------------------------------------------------------------ signed URLs

MAX_SIGNED_SECONDS = 7 * 24 * 3600


def sign(secret: bytes, path: str, expires: int, key_id: str) -> str:
    """HMAC-SHA256 of ``path``, its expiry time and the API key that asked for it: lets a viewer or a
    training job fetch without a key, for as long as that key is valid and its user may see the path."""
    return hmac.new(secret, f"{path}\n{expires}\n{key_id}".encode(), hashlib.sha256).hexdigest()


def signed_query(secret: bytes, path: str, ttl_seconds: int, key_id: str, *, not_after: int | None = None) -> str:
    """``expires=...&by=...&signature=...`` for ``path``, valid ``ttl_seconds`` from now (and not after the
    Unix time ``not_after``), on behalf of the API key ``key_id``."""
    if not 1 <= ttl_seconds <= MAX_SIGNED_SECONDS:
        raise ValidationError(
            f"a signed URL lives from 1 second to 7 days, found {ttl_seconds} seconds", field="ttl", value=ttl_seconds
        )
    expires = int(time.time()) + ttl_seconds
    if not_after is not None:
        expires = min(expires, not_after)
    return f"expires={expires}&by={key_id}&signature={sign(secret, path, expires, key_id)}"


def check_signature(
    db: Database, secret: bytes, path: str, expires: str | None, key_id: str | None, signature: str | None
) -> tuple[Principal, int]:
    """The user a signed URL acts for and when it expires; AuthenticationError unless ``signature`` signs
    ``path``, ``expires`` and ``key_id``, ``expires`` is in the future and the key is not revoked. The
    caller then checks the user's role as for a key, so removing a member or revoking the key that signed
    ends every URL it signed."""
    if not expires or not signature or not key_id:
        raise AuthenticationError("a signed URL needs expires, by and signature")
    try:
        expiry = int(expires)
    except ValueError:
        raise AuthenticationError(f"expires must be a Unix time, found {expires!r}") from None
    if expiry < time.time():
        raise AuthenticationError("the signed URL has expired; ask for a new one")
    if not hmac.compare_digest(sign(secret, path, expiry, key_id), signature):
        raise AuthenticationError("the URL signature does not match")
    with db.read() as conn:
        row = conn.execute(_principal_query().where(api_keys.c.id == key_id)).first()
    if row is None or row.revoked_at is not None:
        raise AuthenticationError("the API key that signed this URL was revoked; ask for a new one")
    return _principal(row), expiry
