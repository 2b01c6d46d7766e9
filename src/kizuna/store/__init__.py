"""Persistence behind one interface: SQLite embedded default, PostgreSQL for real sites."""

from kizuna.store.catalog import CatalogEntry, CatalogStore, InsertCounts, database_url

__all__ = ["CatalogEntry", "CatalogStore", "InsertCounts", "database_url"]
