"""Alembic migrations of the Kizuna database, run by kizuna.store.migrate when a store opens."""
