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
# One round trip each: the write lock is taken in the same message as the BEGIN.
_BEGIN_WRITE = f"BEGIN; SELECT pg_advisory_xact_lock({_WRITE_LOCK})"
_BEGIN_READ = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"

# Errors that say "not now": the server is away, shutting down, out of connections, or a lock
# or statement waited past its limit. Anything else is a bug (a 500 someone looks at).
_OUTAGES: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.InsufficientResourcesError,
    asyncpg.exceptions.LockNotAvailableError,
    asyncpg.exceptions.DeadlockDetectedError,
    asyncpg.exceptions.SerializationError,
    asyncpg.exceptions.CannotConnectNowError,
)


def translated(err: BaseException) -> StoreError:
    """The store's own error for one of asyncpg's. It names the kind of error only: the
    driver's and the server's messages may quote a statement's values (an address, a message),
    and this text reaches logs and Temporal's failure records."""
    kind = type(err).__name__
    code = getattr(err, "sqlstate", None)
    said = f"postgresql: {kind}" + (f" ({code})" if code else "")
    if isinstance(err, asyncpg.IntegrityConstraintViolationError):
        return Conflict(said)
    if isinstance(err, _OUTAGES) or (
        # The pool or a connection closed under us; other interface errors are misuse (a
        # wrong number of arguments, two statements at once on one connection): bugs.
        isinstance(err, asyncpg.InterfaceError) and "clos" in str(err).lower()
    ):
        return StoreUnavailable(said)
    return StoreError(said)


@contextlib.contextmanager
def _translating() -> Iterator[None]:
    try:
        yield
    except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError) as err:
        raise translated(err) from None


_TOKEN = re.compile(r"'(?:[^']|'')*'|\?|(?<![:\w]):([A-Za-z_]\w*)|\bgroup_concat\(|\bchar\(")


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


async def _reset(conn: asyncpg.Connection[asyncpg.Record]) -> None:
    """What a connection going back to the pool needs: only a transaction left open (an error
    or a cancellation) ended, which also lets go of its write lock. asyncpg's default reset
    (unlock all, close cursors, unlisten, reset settings) is a round trip the store never
    needs: it takes no session locks but the migrations' (released there), and changes no
    settings."""
    if conn.is_in_transaction():
        await conn.execute("ROLLBACK")


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
        # One write at a time in this process, as on SQLite: writers queue here, not on pooled
        # connections, so reads and health checks always find a free one.
        self._write_turn = asyncio.Lock()

    @property
    def pool(self) -> asyncpg.Pool[asyncpg.Record]:
        if self._pool is None:
            raise StoreUnavailable("postgresql: the store is not connected")
        return self._pool

    async def connect(self, migrations: Sequence[tuple[int, str]] = MIGRATIONS) -> PostgresDatabase:
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
                # A server that vanished without closing the connection (a partition) would
                # otherwise hold a step or a request for ever.
                command_timeout=wait + 5,
                # Statements are the same few dozen texts: prepared once per connection.
                statement_cache_size=256,
                reset=_reset,
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
        # Only the store's own operations are translated: what the caller's block raises (a
        # file it could not remove, say) passes through as it is.
        pool = self.pool
        with _translating():
            conn = await pool.acquire(timeout=self.busy_timeout.total_seconds())
        try:
            yield conn
        finally:
            # Returned mid-transaction (an error, a cancellation), the pool rolls it back and
            # lets go of its advisory locks before anyone else gets the connection.
            await pool.release(conn)

    @asynccontextmanager
    async def _transaction(
        self, conn: PoolConnectionProxy[asyncpg.Record], begin: str
    ) -> AsyncIterator[PostgresConnection]:
        with _translating():
            await conn.execute(begin)
        try:
            yield PostgresConnection(conn)
        except BaseException:
            with contextlib.suppress(Exception):  # the error that got us here matters more
                await conn.execute("ROLLBACK")
            raise
        with _translating():
            await conn.execute("COMMIT")

    @asynccontextmanager
    async def tx(self) -> AsyncIterator[PostgresConnection]:
        """A write transaction: all of it lands, or none of it does; one at a time."""
        try:
            async with asyncio.timeout(self.busy_timeout.total_seconds()):
                await self._write_turn.acquire()
        except TimeoutError:
            raise StoreUnavailable("postgresql: no turn to write within the busy timeout") from None
        try:
            async with (
                self._connection() as conn,
                self._transaction(conn, _BEGIN_WRITE) as view,
            ):
                yield view
        finally:
            self._write_turn.release()

    @asynccontextmanager
    async def read(self) -> AsyncIterator[PostgresConnection]:
        """A consistent snapshot to read from, beside whatever the writers are doing."""
        async with (
            self._connection() as conn,
            self._transaction(conn, _BEGIN_READ) as view,
        ):
            yield view

    async def ping(self) -> None:
        try:
            async with asyncio.timeout(_PING_SECONDS):
                async with self._connection() as conn:
                    with _translating():
                        await conn.fetchval("SELECT 1")
        except TimeoutError as err:
            raise StoreUnavailable(f"postgresql: no answer within {_PING_SECONDS:g} s") from err
        except StoreUnavailable:
            raise
        except Exception as err:  # here, anything at all means "not ready"
            raise StoreUnavailable(f"postgresql: {type(err).__name__}") from err

    async def checkpoint(self, *, wait: timedelta | None = None) -> bool:
        """Vacuums the tables a purge empties, so their old row versions are marked free and
        are overwritten as pages are reused (PostgreSQL keeps them until then)."""
        async with self._connection() as conn:
            with _translating():
                await conn.execute(
                    "VACUUM contact_requests, answers, outbox, webhook_endpoints", timeout=3600
                )
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
            # Another process's migration may take longer than a write's lock timeout: wait.
            await conn.execute("SET lock_timeout = 0")
            await conn.execute("SELECT pg_advisory_lock($1)", _MIGRATION_LOCK)
            await conn.execute("RESET lock_timeout")
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
                        await conn.execute(script, timeout=3600)
                        await conn.execute(
                            "INSERT INTO schema_version (version) VALUES ($1)", version
                        )
            finally:
                await conn.execute("SELECT pg_advisory_unlock($1)", _MIGRATION_LOCK)
