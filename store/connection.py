"""The store as services, pages, the API and activities see it, whichever database is behind.

A ``Connection`` runs statements written with ``?`` placeholders in the SQL both databases
share; a ``Store`` hands one out for a write transaction (``tx``: all of it lands, or none) or a
consistent snapshot to read (``read``). Each backend (``store.database`` for SQLite,
``store.postgres`` for PostgreSQL) translates its driver's errors into ``store.errors``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import timedelta
from typing import Any, Protocol


class Row(Protocol):
    """One result row: by position (``row[0]``) or by column name (``row["id"]``); ``dict(row)``
    gives its columns."""

    def __getitem__(self, key: int | str, /) -> Any: ...

    def keys(self) -> Any: ...

    def __iter__(self) -> Iterator[Any]: ...

    def __len__(self) -> int: ...


# Positional (``?``) or named (``:name``) parameters.
Params = Sequence[Any] | Mapping[str, Any]


class Connection(Protocol):
    async def execute(self, sql: str, params: Params = ()) -> int:
        """Runs one statement; the number of rows it inserted, changed or removed."""
        ...

    async def fetch_one(self, sql: str, params: Params = ()) -> Row | None: ...

    async def fetch_all(self, sql: str, params: Params = ()) -> list[Row]: ...


class Store(Protocol):
    # "sqlite" or "postgresql": for the few places (the benchmark's table, a test) that say it.
    dialect: str
    # How long a write waits for another's before it fails as StoreUnavailable.
    busy_timeout: timedelta

    def tx(self) -> AbstractAsyncContextManager[Connection]: ...

    def read(self) -> AbstractAsyncContextManager[Connection]: ...

    async def ping(self) -> None:
        """Returns when the store answers; raises StoreUnavailable within seconds otherwise."""
        ...

    async def checkpoint(self, *, wait: timedelta | None = None) -> bool:
        """Makes removed text leave the database's files (SQLite's WAL); True when done."""
        ...

    async def schema_version(self) -> int: ...

    async def connect(self) -> Store:
        """Connects and brings the schema up to date (migrations run in place)."""
        ...

    async def close(self) -> None: ...

    async def __aenter__(self) -> Store: ...

    async def __aexit__(self, *exc: object) -> None: ...
