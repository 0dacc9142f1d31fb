"""The records pages and the API read: SQLite through aiosqlite, one module per kind of record."""

from settings import Settings
from store.database import Database


def open_store(settings: Settings) -> Database:
    """The store of a running service, as settings place and tune it; enter it to connect."""
    return Database(settings.store_path, busy_timeout=settings.store_busy_timeout)


__all__ = ["Database", "open_store"]
