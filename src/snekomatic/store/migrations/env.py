"""Alembic's environment, driven only from :mod:`snekomatic.store._migrate`.

There is no alembic.ini: ``upgrade()`` passes an open connection in ``config.attributes``.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from snekomatic.store._tables import metadata

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError(
        "run migrations through snekomatic.store.upgrade(engine) or `snekomatic migrate`"
    )

context.configure(
    connection=connection,
    target_metadata=metadata,
    # SQLite cannot ALTER most things: batch mode rebuilds the table instead.
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
