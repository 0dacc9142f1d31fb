"""The store on PostgreSQL (``store.connection.Store``), through asyncpg's connection pool.

Writes are serialised, as SQLite serialises them: every write transaction first takes one
transaction-level advisory lock. The services were written against SQLite's one writer at a
time (read, decide, write, all in one transaction), and this keeps every one of those rules true
across any number of worker and web processes, without a retry loop around each transaction.
A write holds the lock for a few milliseconds; reads take no lock and run beside it, each in a
read-only REPEATABLE READ snapshot.

The SQL is the one both databases share, written with ``?`` (or ``:name``) placeholders:
``_prepared`` turns it into PostgreSQL's ``$1``, once per statement text.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import timedelta
from functools import lru_cache
from typing import Any, cast

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from store.connection import Params, Row
from store.errors import Conflict, StoreError, StoreUnavailable
from store.schema_postgres import MIGRATIONS

# Any constant, the same in every process: the lock every write transaction takes, and the one
# the migrations take so that processes starting together migrate once.
_WRITE_LOCK = 0x5245_5644  # "REVD"
_MIGRATION_LOCK = 0x5245_5645
_PING_SECONDS = 2.0

# Errors that say "not now": the server is away, shutting down, out of connections, or a lock
# or statement waited past its limit. Anything else from the server is a bug and stays as is.
_OUTAGES: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.InterfaceError,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.InsufficientResourcesError,
    asyncpg.exceptions.LockNotAvailableError,
    asyncpg.exceptions.DeadlockDetectedError,
    asyncpg.exceptions.SerializationError,
    asyncpg.exceptions.CannotConnectNowError,
)


def translated(err: BaseException) -> BaseException:
    if isinstance(err, asyncpg.IntegrityConstraintViolationError):
        return Conflict(type(err).__name__)
    if isinstance(err, _OUTAGES):
        # The class name only: a server's message may quote the values of a statement.
        return StoreUnavailable(f"postgresql: {type(err).__name__}")
    return err


@contextlib.contextmanager
def _translating() -> Iterator[None]:
    try:
        yield
    except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError) as err:
        better = translated(err)
        if better is err:
            raise
        raise better from err


_TOKEN = re.compile(r"'(?:[^']|'')*'|\?|(?<![:\w]):([A-Za-z_]\w*)|group_concat\(|char\(")


@lru_cache(maxsize=1024)
def _prepared(sql: str) -> tuple[str, tuple[str, ...]]:
    """PostgreSQL's form of a statement in the shared SQL, and the names of its ``:name``
    parameters in the order of their ``$n``. Quoted text is left alone."""
    names: list[str] = []
    count = 0

    def swap(match: re.Match[str]) -> str:
        nonlocal count
        token = match.group(0)
        if token.startswith("'"):
            return token
        if token == "?":
            count += 1
            return f"${count}"
        if token == "group_concat(":
            return "string_agg("
        if token == "char(":
            return "chr("
        name = match.group(1)
        if name not in names:
            names.append(name)
        return f"${names.index(name) + 1}"

    return _TOKEN.sub(swap, sql), tuple(names)


def _args(sql: str, params: Params) -> tuple[str, list[Any]]:
    text, names = _prepared(sql)
    if isinstance(params, Mapping):
        return text, [params[name] for name in names]
    return text, list(params)


def _changed(status: str) -> int:
    """Rows a statement touched, from its command tag ("UPDATE 3", "INSERT 0 1")."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0


class PostgresConnection:
    """``store.connection.Connection`` over one pooled asyncpg connection."""

    __slots__ = ("raw",)

    def __init__(self, raw: PoolConnectionProxy[asyncpg.Record]) -> None:
        self.raw = raw

    async def execute(self, sql: str, params: Params = ()) -> int:
        text, args = _args(sql, params)
        with _translating():
            status = await self.raw.execute(text, *args)
        return _changed(status)

    async def fetch_one(self, sql: str, params: Params = ()) -> Row | None:
        text, args = _args(sql, params)
        with _translating():
            row = await self.raw.fetchrow(text, *args)
        return cast(Row | None, row)

    async def fetch_all(self, sql: str, params: Params = ()) -> list[Row]:
        text, args = _args(sql, params)
        with _translating():
            rows = await self.raw.fetch(text, *args)
        return cast(list[Row], rows)


class PostgresDatabase:
    dialect = "postgresql"

    def __init__(
        self,
        url: str,
        *,
        busy_timeout: timedelta = timedelta(seconds=10),
        pool_size: int = 10,
    ) -> None:
        self.url = url
        self.busy_timeout = busy_timeout
        self.pool_size = pool_size
        self._pool: asyncpg.Pool[asyncpg.Record] | None = None

    @property
    def pool(self) -> asyncpg.Pool[asyncpg.Record]:
        if self._pool is None:
            raise StoreUnavailable("postgresql: the store is not connected")
        return self._pool

    async def connect(
        self, migrations: Sequence[tuple[int, str]] = MIGRATIONS
    ) -> PostgresDatabase:
        wait = self.busy_timeout.total_seconds()
        ms = int(wait * 1000)
        with _translating():
            self._pool = await asyncpg.create_pool(
                self.url,
                min_size=1,
                max_size=self.pool_size,
                timeout=max(wait, 1.0),
                # A write waits this long for another's lock, as SQLite's busy timeout does.
                server_settings={"lock_timeout": str(ms), "application_name": "reviewdesk"},
                # Statements are the same few dozen texts: prepared once per connection.
                statement_cache_size=256,
            )
        try:
            with _translating():
                await self._migrate(migrations)
        except BaseException:
            await self.close()
            raise
        return self

    async def close(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.close()

    async def __aenter__(self) -> PostgresDatabase:
        return await self.connect()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[PoolConnectionProxy[asyncpg.Record]]:
        with _translating():
            async with self.pool.acquire(timeout=self.busy_timeout.total_seconds()) as conn:
                yield conn

    @asynccontextmanager
    async def tx(self) -> AsyncIterator[PostgresConnection]:
        """A write transaction: all of it lands, or none of it does; one at a time."""
        async with self._connection() as conn:
            with _translating():
                async with conn.transaction():
                    await conn.execute("SELECT pg_advisory_xact_lock($1)", _WRITE_LOCK)
                    yield PostgresConnection(conn)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[PostgresConnection]:
        """A consistent snapshot to read from, beside whatever the writers are doing."""
        async with self._connection() as conn:
            with _translating():
                async with conn.transaction(isolation="repeatable_read", readonly=True):
                    yield PostgresConnection(conn)

    async def ping(self) -> None:
        try:
            async with asyncio.timeout(_PING_SECONDS):
                async with self._connection() as conn:
                    with _translating():
                        await conn.fetchval("SELECT 1")
        except TimeoutError as err:
            raise StoreUnavailable(f"postgresql: no answer within {_PING_SECONDS:g} s") from err
        except StoreError:
            raise
        except Exception as err:  # here, anything at all means "not ready"
            raise StoreUnavailable(f"postgresql: {type(err).__name__}") from err

    async def checkpoint(self, *, wait: timedelta | None = None) -> bool:
        """Vacuums the tables a purge empties, so their old row versions are marked free and
        are overwritten as pages are reused (PostgreSQL keeps them until then)."""
        async with self._connection() as conn:
            with _translating():
                await conn.execute("VACUUM contact_requests, answers, outbox")
        return True

    async def schema_version(self) -> int:
        async with self._connection() as conn:
            with _translating():
                found = await conn.fetchval("SELECT to_regclass('schema_version') IS NOT NULL")
                if not found:
                    return 0
                version = await conn.fetchval("SELECT max(version) FROM schema_version")
        return int(version or 0)

    async def _migrate(self, migrations: Sequence[tuple[int, str]]) -> None:
        """Runs the migrations this database has not run, each in its own transaction, under a
        lock that makes processes starting together wait for the first one's."""
        newest = migrations[-1][0] if migrations else 0
        async with self._connection() as conn:
            await conn.execute("SELECT pg_advisory_lock($1)", _MIGRATION_LOCK)
            try:
                await conn.execute(
                    "CREATE TABLE IF NOT EXISTS schema_version"
                    " (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
                )
                current = int(await conn.fetchval("SELECT max(version) FROM schema_version") or 0)
                if current > newest:
                    raise RuntimeError(
                        f"the database has schema version {current}, newer than this code knows "
                        f"({newest}); upgrade Reviewdesk before opening it"
                    )
                for version, script in migrations:
                    if version <= current:
                        continue
                    async with conn.transaction():
                        await conn.execute(script)
                        await conn.execute(
                            "INSERT INTO schema_version (version) VALUES ($1)", version
                        )
            finally:
                await conn.execute("SELECT pg_advisory_unlock($1)", _MIGRATION_LOCK)
