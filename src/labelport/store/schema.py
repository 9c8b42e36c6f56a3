"""The relational schema (SQLAlchemy Core). Migrations in ``migrations/versions`` must produce exactly this.

Ids are 25-character cuid-shaped strings (``labelport.model.ids.new_id``). JSON columns hold values that
are read and written whole (media attributes, ontology definitions, annotation payloads).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
ID = sa.String(25)
NOW = sa.DateTime(timezone=True)


def _id() -> sa.Column[str]:
    return sa.Column("id", ID, primary_key=True)


def _created() -> sa.Column[object]:
    return sa.Column("created_at", NOW, nullable=False)


organizations = sa.Table(
    "organizations",
    metadata,
    _id(),
    sa.Column("name", sa.String(200), nullable=False, unique=True),
    _created(),
)

users = sa.Table(
    "users",
    metadata,
    _id(),
    sa.Column("organization_id", ID, sa.ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False),
    sa.Column("email", sa.String(320), nullable=False),
    sa.Column("name", sa.String(200), nullable=True),
    sa.Column("is_admin", sa.Boolean, nullable=False, default=False),
    _created(),
    sa.UniqueConstraint("organization_id", "email"),
)

api_keys = sa.Table(
    "api_keys",
    metadata,
    _id(),
    sa.Column("user_id", ID, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("name", sa.String(200), nullable=False),
    # Only a SHA-256 of the secret is stored; the key itself is shown once, at creation.
    sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("prefix", sa.String(16), nullable=False),
    _created(),
    sa.Column("revoked_at", NOW, nullable=True),
)

datasets = sa.Table(
    "datasets",
    metadata,
    _id(),
    sa.Column("organization_id", ID, sa.ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("name", sa.String(500), nullable=False),
    sa.Column("description", sa.Text, nullable=True),
    _created(),
)

data_rows = sa.Table(
    "data_rows",
    metadata,
    _id(),
    sa.Column("organization_id", ID, sa.ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False),
    sa.Column("dataset_id", ID, sa.ForeignKey("datasets.id", ondelete="CASCADE"), nullable=False),
    sa.Column("global_key", sa.String(500), nullable=True),
    # Another platform's id of the same asset (an Encord data_hash...); not unique.
    sa.Column("external_id", sa.String(500), nullable=True),
    sa.Column("row_data", sa.Text, nullable=False),
    sa.Column("media_type", sa.String(16), nullable=False),
    sa.Column("media_attributes", JSON, nullable=False),
    sa.Column("metadata_fields", JSON, nullable=False),
    sa.Column("attachments", JSON, nullable=False),
    _created(),
    sa.Column("updated_at", NOW, nullable=False),
    sa.Column("created_by", sa.String(320), nullable=True),  # the creator's email
    sa.UniqueConstraint("organization_id", "global_key"),
    sa.Index("ix_data_rows_external_id", "organization_id", "external_id"),
    # A dataset's rows in listing order (service.datasets.list_data_rows): pages come from the index.
    sa.Index("ix_data_rows_dataset_order", "dataset_id", "created_at", "id"),
)

ontologies = sa.Table(
    "ontologies",
    metadata,
    _id(),
    sa.Column("organization_id", ID, sa.ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("name", sa.String(500), nullable=False),
    sa.Column("media_type", sa.String(16), nullable=True),
    # labelport's own JSON of the ontology (model.ontology.ontology_to_dict), whatever platform it came from
    sa.Column("definition", JSON, nullable=False),
    _created(),
)

ontology_nodes = sa.Table(
    "ontology_nodes",
    metadata,
    sa.Column("ontology_id", ID, sa.ForeignKey("ontologies.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("schema_id", sa.String(64), primary_key=True),
    # Siblings share a group: "tools", "classifications", or the parent node's schema id.
    sa.Column("sibling_group", sa.String(64), nullable=False),
    sa.Column("parent_schema_id", sa.String(64), nullable=True),
    sa.Column("kind", sa.String(16), nullable=False),  # tool | classification | option
    sa.Column("type", sa.String(32), nullable=True),
    sa.Column("name", sa.String(500), nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("labelbox_id", sa.String(64), nullable=True),
    sa.Column("encord_id", sa.String(64), nullable=True),
    sa.Column("redbrick_id", sa.String(64), nullable=True),
    sa.UniqueConstraint("ontology_id", "sibling_group", "name"),
)

projects = sa.Table(
    "projects",
    metadata,
    _id(),
    sa.Column("organization_id", ID, sa.ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("name", sa.String(500), nullable=False),
    sa.Column("description", sa.Text, nullable=True),
    sa.Column("media_type", sa.String(16), nullable=False),
    sa.Column("ontology_id", ID, sa.ForeignKey("ontologies.id", ondelete="RESTRICT"), nullable=True),
    sa.Column("settings", JSON, nullable=False),
    _created(),
)

project_members = sa.Table(
    "project_members",
    metadata,
    sa.Column("project_id", ID, sa.ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("user_id", ID, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.CheckConstraint("role in ('admin', 'labeler', 'reviewer', 'viewer')", name="role"),
)

batches = sa.Table(
    "batches",
    metadata,
    _id(),
    sa.Column("project_id", ID, sa.ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
    sa.Column("name", sa.String(500), nullable=False),
    sa.Column("priority", sa.Integer, nullable=False),
    _created(),
    sa.UniqueConstraint("project_id", "name"),
    sa.CheckConstraint("priority between 1 and 5", name="priority"),
)

batch_data_rows = sa.Table(
    "batch_data_rows",
    metadata,
    sa.Column("batch_id", ID, sa.ForeignKey("batches.id", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("project_id", ID, sa.ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True),
    # A data row is in at most one batch of a project, as on Labelbox.
    sa.Column("data_row_id", ID, sa.ForeignKey("data_rows.id", ondelete="CASCADE"), primary_key=True),
)

labels = sa.Table(
    "labels",
    metadata,
    _id(),
    sa.Column("project_id", ID, sa.ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
    sa.Column("data_row_id", ID, sa.ForeignKey("data_rows.id", ondelete="CASCADE"), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    _created(),
    sa.Column("updated_at", NOW, nullable=False),
    sa.Column("created_by", sa.String(320), nullable=True),
    sa.Column("updated_by", sa.String(320), nullable=True),
    sa.Column("seconds_to_create", sa.Float, nullable=True),
    sa.Column("seconds_to_review", sa.Float, nullable=True),
    sa.Column("skipped", sa.Boolean, nullable=False, default=False),
    sa.UniqueConstraint("project_id", "data_row_id", "kind"),
    sa.CheckConstraint("kind in ('prediction', 'ground_truth')", name="kind"),
)

annotation_rows = sa.Table(
    "annotations",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("label_id", ID, sa.ForeignKey("labels.id", ondelete="CASCADE"), nullable=False),
    sa.Column("project_id", ID, sa.ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
    sa.Column("data_row_id", ID, sa.ForeignKey("data_rows.id", ondelete="CASCADE"), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("uuid", sa.String(36), nullable=False),
    sa.Column("schema_id", sa.String(64), nullable=False),
    sa.Column("feature_name", sa.String(500), nullable=False),
    sa.Column("annotation_type", sa.String(32), nullable=False),
    sa.Column("frame", sa.Integer, nullable=True),
    sa.Column("plane_group", sa.String(16), nullable=True),
    sa.Column("keyframe", sa.Boolean, nullable=False, default=True),
    sa.Column("segment", sa.Integer, nullable=True),
    sa.Column("confidence", sa.Float, nullable=True),
    sa.Column("payload", JSON, nullable=False),
    sa.Column("mask_blob", sa.String(64), sa.ForeignKey("blobs.sha256", ondelete="RESTRICT"), nullable=True),
    _created(),
    # A label is one (project, data row, kind): a uuid is unique per data row and kind, as Labelbox has it.
    # Queries by project or data row go through ``labels`` (its unique index) to this one.
    sa.UniqueConstraint("label_id", "uuid"),
)

# Every long operation (import, export, later conversion) is one row here, run by service.jobs.run. A job
# keeps its organisation when its project is deleted (project_id becomes NULL), so it stays listed and
# attributable; its input is a blob, its result under ``output``.
jobs = sa.Table(
    "jobs",
    metadata,
    _id(),
    sa.Column("organization_id", ID, sa.ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("project_id", ID, sa.ForeignKey("projects.id", ondelete="SET NULL"), nullable=True, index=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("format", sa.String(64), nullable=False),
    sa.Column("state", sa.String(16), nullable=False, index=True),
    sa.Column("name", sa.String(500), nullable=False),
    sa.Column("options", JSON, nullable=False),
    sa.Column("input_blob", sa.String(64), sa.ForeignKey("blobs.sha256", ondelete="RESTRICT"), nullable=True),
    sa.Column("output", sa.Text, nullable=True),
    sa.Column("progress_done", sa.Integer, nullable=False, default=0),
    sa.Column("progress_total", sa.Integer, nullable=True),
    sa.Column("total", sa.Integer, nullable=False, default=0),
    sa.Column("succeeded", sa.Integer, nullable=False, default=0),
    sa.Column("failed", sa.Integer, nullable=False, default=0),
    sa.Column("errors", JSON, nullable=False),
    sa.Column("error", sa.Text, nullable=True),
    _created(),
    sa.Column("started_at", NOW, nullable=True),
    sa.Column("finished_at", NOW, nullable=True),
    sa.Column("created_by", sa.String(320), nullable=True),
    # The lease of the runner that claimed the job (``store.jobs.claim``): another may take the job over once
    # ``lease_expires_at`` has passed; ``attempts`` counts the claims.
    sa.Column("claimed_by", sa.String(200), nullable=True),
    sa.Column("lease_expires_at", NOW, nullable=True),
    sa.Column("attempts", sa.Integer, nullable=False, default=0, server_default="0"),
    # What a job made beyond its counts (an items import: its dataset, batch, data rows and tasks).
    sa.Column("result", JSON, nullable=True),
    sa.CheckConstraint("kind in ('import', 'export', 'convert')", name="kind"),
    sa.CheckConstraint("state in ('QUEUED', 'RUNNING', 'FINISHED', 'FAILED')", name="state"),
)

# An import's statuses in pages of STATUS_PAGE, each ``[uuid, data row, errors]`` (errors null: SUCCESS), in
# input order: one row per annotation would cost a large import as much as its annotations.
import_status_pages = sa.Table(
    "import_status_pages",
    metadata,
    sa.Column("job_id", ID, sa.ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("page", sa.Integer, primary_key=True),
    sa.Column("failures", sa.Integer, nullable=False),
    sa.Column("statuses", JSON, nullable=False),
)
STATUS_PAGE = 1000

workflow_tasks = sa.Table(
    "workflow_tasks",
    metadata,
    sa.Column("project_id", ID, sa.ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("data_row_id", ID, sa.ForeignKey("data_rows.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("task_name", sa.String(100), nullable=False),
    sa.Column("updated_at", NOW, nullable=False),
    sa.CheckConstraint("status in ('ToLabel', 'InReview', 'InRework', 'Done')", name="status"),
)

workflow_history = sa.Table(
    "workflow_history",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("project_id", ID, sa.ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
    sa.Column("data_row_id", ID, sa.ForeignKey("data_rows.id", ondelete="CASCADE"), nullable=False),
    sa.Column("action", sa.String(16), nullable=False),
    sa.Column("from_status", sa.String(16), nullable=True),
    sa.Column("to_status", sa.String(16), nullable=False),
    sa.Column("from_task", sa.String(100), nullable=True),
    sa.Column("to_task", sa.String(100), nullable=False),
    sa.Column("actor", sa.String(320), nullable=True),
    sa.Column("at", NOW, nullable=False),
    # Why a reviewer rejected (or any note the action came with); null when none was given.
    sa.Column("reason", sa.Text, nullable=True),
    sa.Index("ix_workflow_history_row", "project_id", "data_row_id"),
)

blobs = sa.Table(
    "blobs",
    metadata,
    sa.Column("sha256", sa.String(64), primary_key=True),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("content_type", sa.String(100), nullable=False),
    _created(),
)
