"""Alembic environment: runs on the connection handed over by paperboy.store.db.migrate()."""

from alembic import context

from paperboy.store.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through paperboy.store.db.migrate(engine)")
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
