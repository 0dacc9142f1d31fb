"""The records pages and the API read, one module per kind of record, behind one interface
(``store.connection``): SQLite by default, PostgreSQL when the database URL names it."""

from settings import Settings
from store.connection import Connection, Store
from store.database import Database


def open_store(settings: Settings) -> Store:
    """The store of a running service, as settings place and tune it; enter it to connect."""
    url = settings.store_url
    if url.startswith(("postgresql://", "postgres://")):
        from store.postgres import PostgresDatabase

        return PostgresDatabase(url, busy_timeout=settings.store_busy_timeout)
    return Database(settings.store_path, busy_timeout=settings.store_busy_timeout)


__all__ = ["Connection", "Database", "Store", "open_store"]
