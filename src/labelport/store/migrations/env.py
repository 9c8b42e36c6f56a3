"""Alembic environment: the engine comes from ``Database`` through ``config.attributes``.

On SQLite, tables are altered by copying them (Alembic's batch mode), and dropping the old copy of a parent
table would cascade to its children: foreign keys are switched off while migrations run (outside the
transaction, where SQLite honours it), and ``PRAGMA foreign_key_check`` must come back empty before the
transaction commits.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from labelport.store.schema import metadata

engine = context.config.attributes.get("engine")
if engine is None:  # run from the alembic command line: the URL comes from the config
    engine = sa.create_engine(context.config.get_main_option("sqlalchemy.url") or "")

with engine.connect() as connection:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")  # type: ignore[union-attr]
    try:
        with connection.begin():
            context.configure(
                connection=connection,
                target_metadata=metadata,
                render_as_batch=sqlite,
                compare_type=True,
            )
            context.run_migrations()
            if sqlite:
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
                if broken:
                    raise RuntimeError(f"the migration left rows pointing at nothing: {broken[:5]}")
    finally:
        if sqlite:
            connection.connection.driver_connection.execute("PRAGMA foreign_keys=ON")  # type: ignore[union-attr]
