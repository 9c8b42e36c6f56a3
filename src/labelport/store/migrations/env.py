"""Alembic environment: the engine comes from ``Database`` through ``config.attributes``."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from labelport.store.schema import metadata

engine = context.config.attributes.get("engine")
if engine is None:  # run from the alembic command line: the URL comes from the config
    engine = sa.create_engine(context.config.get_main_option("sqlalchemy.url") or "")

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    context.run_migrations()
