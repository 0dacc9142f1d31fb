"""The records pages and the API read: SQLite through aiosqlite, one module per kind of record."""

from store.database import Database

__all__ = ["Database"]
