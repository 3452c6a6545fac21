"""Alembic environment: runs on the connection handed over by server.store.db.migrate."""

from alembic import context

from server.store.tables import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through server.store.db.migrate (sparring migrate)")
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
