"""Alembic environment: runs on the connection kizuna.store.migrate hands over (online only)."""

from alembic import context

from kizuna.store.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("Kizuna migrations run through kizuna.store.migrate, which passes a connection")

context.configure(
    connection=connection,
    target_metadata=metadata,
    # SQLite cannot ALTER most things; batch mode rebuilds the table, so future revisions stay portable.
    render_as_batch=True,
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
