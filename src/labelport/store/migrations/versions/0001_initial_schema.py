"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-22 00:01:47.639643
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "blobs",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_blobs")),
    )
    op.create_table(
        "organizations",
        sa.Column("id", sa.String(length=25), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organizations")),
        sa.UniqueConstraint("name", name=op.f("uq_organizations_name")),
    )
    op.create_table(
        "datasets",
        sa.Column("id", sa.String(length=25), nullable=False),
        sa.Column("organization_id", sa.String(length=25), nullable=False),
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_datasets_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_datasets")),
    )
    with op.batch_alter_table("datasets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_datasets_organization_id"), ["organization_id"], unique=False)

    op.create_table(
        "ontologies",
        sa.Column("id", sa.String(length=25), nullable=False),
        sa.Column("organization_id", sa.String(length=25), nullable=False),
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column("media_type", sa.String(length=16), nullable=True),
        sa.Column(
            "normalized",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_ontologies_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ontologies")),
    )
    with op.batch_alter_table("ontologies", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ontologies_organization_id"), ["organization_id"], unique=False)

    op.create_table(
        "users",
        sa.Column("id", sa.String(length=25), nullable=False),
        sa.Column("organization_id", sa.String(length=25), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("is_admin", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_users_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("organization_id", "email", name=op.f("uq_users_organization_id_email")),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(length=25), nullable=False),
        sa.Column("user_id", sa.String(length=25), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_api_keys_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
    )
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_keys_user_id"), ["user_id"], unique=False)

    op.create_table(
        "data_rows",
        sa.Column("id", sa.String(length=25), nullable=False),
        sa.Column("organization_id", sa.String(length=25), nullable=False),
        sa.Column("dataset_id", sa.String(length=25), nullable=False),
        sa.Column("global_key", sa.String(length=500), nullable=True),
        sa.Column("row_data", sa.Text(), nullable=False),
        sa.Column("media_type", sa.String(length=16), nullable=False),
        sa.Column(
            "media_attributes",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "metadata_fields",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "attachments",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["dataset_id"], ["datasets.id"], name=op.f("fk_data_rows_dataset_id_datasets"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_data_rows_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_rows")),
        sa.UniqueConstraint("organization_id", "global_key", name=op.f("uq_data_rows_organization_id_global_key")),
    )
    with op.batch_alter_table("data_rows", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_data_rows_dataset_id"), ["dataset_id"], unique=False)

    op.create_table(
        "ontology_nodes",
        sa.Column("ontology_id", sa.String(length=25), nullable=False),
        sa.Column("schema_id", sa.String(length=64), nullable=False),
        sa.Column("sibling_group", sa.String(length=64), nullable=False),
        sa.Column("parent_schema_id", sa.String(length=64), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=True),
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("labelbox_id", sa.String(length=64), nullable=True),
        sa.Column("encord_id", sa.String(length=64), nullable=True),
        sa.Column("redbrick_id", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["ontology_id"],
            ["ontologies.id"],
            name=op.f("fk_ontology_nodes_ontology_id_ontologies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("ontology_id", "schema_id", name=op.f("pk_ontology_nodes")),
        sa.UniqueConstraint(
            "ontology_id",
            "sibling_group",
            "name",
            name=op.f("uq_ontology_nodes_ontology_id_sibling_group_name"),
        ),
    )
    op.create_table(
        "projects",
        sa.Column("id", sa.String(length=25), nullable=False),
        sa.Column("organization_id", sa.String(length=25), nullable=False),
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("media_type", sa.String(length=16), nullable=False),
        sa.Column("ontology_id", sa.String(length=25), nullable=True),
        sa.Column(
            "settings",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["ontology_id"],
            ["ontologies.id"],
            name=op.f("fk_projects_ontology_id_ontologies"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_projects_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_projects")),
    )
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_projects_organization_id"), ["organization_id"], unique=False)

    op.create_table(
        "batches",
        sa.Column("id", sa.String(length=25), nullable=False),
        sa.Column("project_id", sa.String(length=25), nullable=False),
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("priority between 1 and 5", name=op.f("ck_batches_priority")),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_batches_project_id_projects"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_batches")),
        sa.UniqueConstraint("project_id", "name", name=op.f("uq_batches_project_id_name")),
    )
    op.create_table(
        "import_jobs",
        sa.Column("id", sa.String(length=25), nullable=False),
        sa.Column("project_id", sa.String(length=25), nullable=False),
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("format", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("input_blob", sa.String(length=64), nullable=True),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("succeeded", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.String(length=320), nullable=True),
        sa.CheckConstraint("state in ('QUEUED', 'RUNNING', 'FINISHED', 'FAILED')", name=op.f("ck_import_jobs_state")),
        sa.ForeignKeyConstraint(
            ["input_blob"],
            ["blobs.sha256"],
            name=op.f("fk_import_jobs_input_blob_blobs"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_import_jobs_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_jobs")),
    )
    with op.batch_alter_table("import_jobs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_import_jobs_project_id"), ["project_id"], unique=False)

    op.create_table(
        "labels",
        sa.Column("id", sa.String(length=25), nullable=False),
        sa.Column("project_id", sa.String(length=25), nullable=False),
        sa.Column("data_row_id", sa.String(length=25), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=320), nullable=True),
        sa.Column("updated_by", sa.String(length=320), nullable=True),
        sa.Column("seconds_to_create", sa.Float(), nullable=True),
        sa.Column("seconds_to_review", sa.Float(), nullable=True),
        sa.Column("skipped", sa.Boolean(), nullable=False),
        sa.CheckConstraint("kind in ('prediction', 'ground_truth')", name=op.f("ck_labels_kind")),
        sa.ForeignKeyConstraint(
            ["data_row_id"],
            ["data_rows.id"],
            name=op.f("fk_labels_data_row_id_data_rows"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_labels_project_id_projects"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_labels")),
        sa.UniqueConstraint("project_id", "data_row_id", "kind", name=op.f("uq_labels_project_id_data_row_id_kind")),
    )
    op.create_table(
        "project_members",
        sa.Column("project_id", sa.String(length=25), nullable=False),
        sa.Column("user_id", sa.String(length=25), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.CheckConstraint("role in ('admin', 'labeler', 'reviewer', 'viewer')", name=op.f("ck_project_members_role")),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_project_members_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_project_members_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("project_id", "user_id", name=op.f("pk_project_members")),
    )
    op.create_table(
        "workflow_history",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("project_id", sa.String(length=25), nullable=False),
        sa.Column("data_row_id", sa.String(length=25), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=True),
        sa.Column("to_status", sa.String(length=16), nullable=False),
        sa.Column("from_task", sa.String(length=100), nullable=True),
        sa.Column("to_task", sa.String(length=100), nullable=False),
        sa.Column("actor", sa.String(length=320), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["data_row_id"],
            ["data_rows.id"],
            name=op.f("fk_workflow_history_data_row_id_data_rows"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_workflow_history_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workflow_history")),
    )
    with op.batch_alter_table("workflow_history", schema=None) as batch_op:
        batch_op.create_index("ix_workflow_history_row", ["project_id", "data_row_id"], unique=False)

    op.create_table(
        "workflow_tasks",
        sa.Column("project_id", sa.String(length=25), nullable=False),
        sa.Column("data_row_id", sa.String(length=25), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("task_name", sa.String(length=100), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status in ('ToLabel', 'InReview', 'InRework', 'Done')", name=op.f("ck_workflow_tasks_status")
        ),
        sa.ForeignKeyConstraint(
            ["data_row_id"],
            ["data_rows.id"],
            name=op.f("fk_workflow_tasks_data_row_id_data_rows"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_workflow_tasks_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("project_id", "data_row_id", name=op.f("pk_workflow_tasks")),
    )
    op.create_table(
        "annotations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("label_id", sa.String(length=25), nullable=False),
        sa.Column("project_id", sa.String(length=25), nullable=False),
        sa.Column("data_row_id", sa.String(length=25), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("schema_id", sa.String(length=64), nullable=False),
        sa.Column("feature_name", sa.String(length=500), nullable=False),
        sa.Column("annotation_type", sa.String(length=32), nullable=False),
        sa.Column("frame", sa.Integer(), nullable=True),
        sa.Column("plane_group", sa.String(length=16), nullable=True),
        sa.Column("keyframe", sa.Boolean(), nullable=False),
        sa.Column("segment", sa.Integer(), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.Column(
            "payload",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("mask_blob", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["data_row_id"],
            ["data_rows.id"],
            name=op.f("fk_annotations_data_row_id_data_rows"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["label_id"], ["labels.id"], name=op.f("fk_annotations_label_id_labels"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["mask_blob"], ["blobs.sha256"], name=op.f("fk_annotations_mask_blob_blobs"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_annotations_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_annotations")),
        sa.UniqueConstraint(
            "project_id",
            "data_row_id",
            "kind",
            "uuid",
            name=op.f("uq_annotations_project_id_data_row_id_kind_uuid"),
        ),
    )
    with op.batch_alter_table("annotations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_annotations_label_id"), ["label_id"], unique=False)

    op.create_table(
        "batch_data_rows",
        sa.Column("batch_id", sa.String(length=25), nullable=False),
        sa.Column("project_id", sa.String(length=25), nullable=False),
        sa.Column("data_row_id", sa.String(length=25), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["batches.id"], name=op.f("fk_batch_data_rows_batch_id_batches"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["data_row_id"],
            ["data_rows.id"],
            name=op.f("fk_batch_data_rows_data_row_id_data_rows"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_batch_data_rows_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("project_id", "data_row_id", name=op.f("pk_batch_data_rows")),
    )
    with op.batch_alter_table("batch_data_rows", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_batch_data_rows_batch_id"), ["batch_id"], unique=False)

    op.create_table(
        "import_statuses",
        sa.Column("job_id", sa.String(length=25), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.String(length=64), nullable=True),
        sa.Column(
            "data_row",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column(
            "errors",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.CheckConstraint("status in ('SUCCESS', 'FAILURE')", name=op.f("ck_import_statuses_status")),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["import_jobs.id"],
            name=op.f("fk_import_statuses_job_id_import_jobs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("job_id", "position", name=op.f("pk_import_statuses")),
    )


def downgrade() -> None:

    op.drop_table("import_statuses")
    with op.batch_alter_table("batch_data_rows", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_batch_data_rows_batch_id"))

    op.drop_table("batch_data_rows")
    with op.batch_alter_table("annotations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_annotations_label_id"))

    op.drop_table("annotations")
    op.drop_table("workflow_tasks")
    with op.batch_alter_table("workflow_history", schema=None) as batch_op:
        batch_op.drop_index("ix_workflow_history_row")

    op.drop_table("workflow_history")
    op.drop_table("project_members")
    op.drop_table("labels")
    with op.batch_alter_table("import_jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_import_jobs_project_id"))

    op.drop_table("import_jobs")
    op.drop_table("batches")
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_projects_organization_id"))

    op.drop_table("projects")
    op.drop_table("ontology_nodes")
    with op.batch_alter_table("data_rows", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_data_rows_dataset_id"))

    op.drop_table("data_rows")
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_keys_user_id"))

    op.drop_table("api_keys")
    op.drop_table("users")
    with op.batch_alter_table("ontologies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ontologies_organization_id"))

    op.drop_table("ontologies")
    with op.batch_alter_table("datasets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_datasets_organization_id"))

    op.drop_table("datasets")
    op.drop_table("organizations")
    op.drop_table("blobs")
