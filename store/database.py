"""SQLite in WAL mode: one writing connection per process, a few read-only ones, explicit
transactions.

The lock keeps one coroutine's transaction from interleaving with another's statements on the
shared writer. Reads take one of the readers instead: WAL gives each its own snapshot beside
the writer, so a page or a step that only reads never queues behind writes. (One connection for
everything was the worker's bottleneck while contacts opened: two thirds of its time held,
thirty steps waiting.)

aiosqlite runs a connection's statements on a thread of its own, so that one waiting for a lock
never holds up the event loop. Only two kinds of statement can wait: a reader's in rare moments
(recovery after a crash), and the ``BEGIN IMMEDIATE`` that takes the write lock. Everything else
runs on the event loop's own thread (``InlineReader``, ``Writer``): it takes tens of
microseconds, and handing it to a thread and back cost more than the statement itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar, cast

import aiosqlite

from store.connection import Params, Row
from store.errors import Conflict, StoreError, StoreUnavailable
from store.schema import MIGRATIONS

# aiosqlite logs every statement with its parameters at DEBUG: email bodies with reply links,
# reviewers' addresses and what they shared. Never, whatever level the operator turns on.
logging.getLogger("aiosqlite").setLevel(logging.INFO)


T = TypeVar("T")
C = TypeVar("C", bound=aiosqlite.Connection)
READER_BUSY_MS = 250


class InlineReader(aiosqlite.Connection):
    """A read-only connection whose statements run on the calling (event loop's) thread.

    Under load, aiosqlite's hand-off to its thread and back was a fifth of the web app's CPU, for
    statements far shorter than the hand-off. Only for reads: a write may wait seconds for the
    lock, which must never block the loop. Overrides aiosqlite's one point of dispatch.
    """

    async def _execute(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        if not self._running or not self._connection:
            raise ValueError("Connection closed")
        return fn(*args, **kwargs)


class Writer(aiosqlite.Connection):
    """The writing connection. ``BEGIN IMMEDIATE`` runs on aiosqlite's thread, since it may wait
    seconds for another process's write lock; so do ``COMMIT`` (which may checkpoint the WAL)
    and ``ROLLBACK``. The statements between them run on the event loop's thread: with the write
    lock held, WAL never makes them wait, and a contact's step ran ten of them, each handed to
    the thread and back for a few microseconds of work.
    """

    inline = False

    async def _execute(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        if not self.inline:
            result = await super()._execute(fn, *args, **kwargs)  # type: ignore[no-untyped-call]
            return cast(T, result)
        if not self._running or not self._connection:
            raise ValueError("Connection closed")
        return fn(*args, **kwargs)


# What SQLite says when it cannot be reached or written now, as opposed to a bug in a statement
# ("no such column", a syntax error), which must stay a 500 that someone looks at.
_OUTAGES = (
    "locked",
    "busy",
    "disk i/o",
    "unable to open",
    "disk is full",
    "readonly",
    "not a database",
    "connection closed",
)


def translated(err: Exception, *, reader: bool = False) -> Exception:
    """The store's own error for one of SQLite's: a broken constraint is a Conflict, a lock or
    an I/O failure StoreUnavailable; anything else (a bug in a statement) stays as it was.
    A reader refusing to write is a bug too (the write belonged in a transaction), not a
    read-only file."""
    if isinstance(err, sqlite3.IntegrityError):
        return Conflict(str(err))
    message = str(err).lower()
    if reader and "readonly" in message:
        return err
    if isinstance(err, sqlite3.Error | ValueError) and any(s in message for s in _OUTAGES):
        return StoreUnavailable(f"sqlite: {message}")
    return err


@contextlib.contextmanager
def _translating(
    kinds: tuple[type[Exception], ...] = (sqlite3.Error, ValueError), *, reader: bool = False
) -> Iterator[None]:
    try:
        yield
    except kinds as err:
        better = translated(err, reader=reader)
        if better is err:
            raise
        raise better from err


# Around a caller's block only SQLite's own errors are the store's: a ValueError of the
# caller's is not an outage, whatever its words.
_OWN = (sqlite3.Error,)


class SqliteConnection:
    """``store.connection.Connection`` over one aiosqlite connection."""

    __slots__ = ("raw", "reader")

    def __init__(self, raw: aiosqlite.Connection, *, reader: bool = False) -> None:
        self.raw = raw
        self.reader = reader

    async def execute(self, sql: str, params: Params = ()) -> int:
        with _translating(reader=self.reader):
            cursor = await self.raw.execute(sql, params)
        return int(cursor.rowcount)

    async def fetch_one(self, sql: str, params: Params = ()) -> Row | None:
        with _translating(reader=self.reader):
            async with self.raw.execute(sql, params) as cur:
                row = await cur.fetchone()
        return cast(Row | None, row)

    async def fetch_all(self, sql: str, params: Params = ()) -> list[Row]:
        with _translating(reader=self.reader):
            async with self.raw.execute(sql, params) as cur:
                rows = await cur.fetchall()
        return cast(list[Row], list(rows))


class Database:
    """The embedded store (``store.connection.Store``) on one SQLite file."""

    dialect = "sqlite"

    def __init__(
        self,
        path: Path | str,
        *,
        busy_timeout: timedelta = timedelta(seconds=10),
        readers: int = 4,
    ) -> None:
        self.path = Path(path)
        self.busy_timeout = busy_timeout
        self.readers = readers
        self._conn: Writer | None = None
        self._writer: SqliteConnection | None = None
        self._lock = asyncio.Lock()
        self._readers: list[aiosqlite.Connection] = []
        self._free: asyncio.Queue[aiosqlite.Connection] = asyncio.Queue()
        self._views: dict[int, SqliteConnection] = {}

    async def connect(self, migrations: Sequence[str] = MIGRATIONS) -> Database:
        with _translating():
            return await self._connect(migrations)

    async def _connect(self, migrations: Sequence[str]) -> Database:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = await self._open(Writer)
        self._writer = SqliteConnection(self._conn)
        # Worker and web app may be separate processes on the same file: WAL lets readers run
        # beside the writer, and busy_timeout waits for the writer instead of failing at once.
        await self._conn.execute("PRAGMA journal_mode=WAL")
        if await self._migrate(migrations):
            # A migration may have scrubbed text (reply links): the WAL's older frames still
            # hold the pages as they were, until it is emptied.
            await self.checkpoint()
        for _ in range(self.readers):
            reader = await self._open(InlineReader)
            # A write slipped into a read would bypass the writer's lock: refuse it outright.
            await reader.execute("PRAGMA query_only=ON")
            # WAL readers wait only in rare moments (recovery after a crash); an inline reader
            # must not hold the event loop for long then: it fails, and the caller's retry or
            # error answer takes over.
            await reader.execute(f"PRAGMA busy_timeout={READER_BUSY_MS}")
            self._readers.append(reader)
            self._views[id(reader)] = SqliteConnection(reader, reader=True)
            self._free.put_nowait(reader)
        return self

    async def _open(self, kind: type[C]) -> C:
        path = str(self.path)
        # Opened on aiosqlite's thread and used on the loop's too, never both at once: a reader
        # never uses its thread after connecting, and the writer's inline statements run only
        # between a BEGIN that has returned and the COMMIT or ROLLBACK after them (Database.tx).
        conn = kind(
            lambda: sqlite3.connect(path, isolation_level=None, check_same_thread=False),
            iter_chunk_size=64,
        )
        await conn  # starts its thread and connects there
        conn.row_factory = aiosqlite.Row
        await conn.execute("PRAGMA synchronous=NORMAL")
        await conn.execute(f"PRAGMA busy_timeout={int(self.busy_timeout.total_seconds() * 1000)}")
        await conn.execute("PRAGMA foreign_keys=ON")
        # What is removed (a purge, a scrubbed link) is overwritten with zeros, not left in the
        # page's free space for anyone with the file or a backup to read.
        await conn.execute("PRAGMA secure_delete=ON")
        return conn

    async def close(self) -> None:
        for reader in self._readers:
            await reader.close()
        self._readers.clear()
        self._views.clear()
        self._free = asyncio.Queue()
        if self._conn is not None:
            await self._conn.close()
            self._conn = None
            self._writer = None

    async def __aenter__(self) -> Database:
        return await self.connect()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def conn(self) -> Writer:
        if self._conn is None:
            raise RuntimeError("Database is not connected")
        return self._conn

    @asynccontextmanager
    async def tx(self) -> AsyncIterator[SqliteConnection]:
        """A write transaction: all of it lands, or none of it does."""
        with _translating(_OWN):
            async with self._tx() as conn:
                yield conn

    @asynccontextmanager
    async def _tx(self) -> AsyncIterator[SqliteConnection]:
        async with self._lock:
            conn = self.conn
            view = self._writer
            assert view is not None
            await _begin(conn)
            try:
                conn.inline = True
                try:
                    yield view
                finally:
                    conn.inline = False
            except BaseException:
                await conn.execute("ROLLBACK")
                raise
            try:
                await conn.execute("COMMIT")
            except BaseException:
                # A COMMIT that failed (a full disk, an I/O error) leaves the transaction open,
                # holding the write lock for both processes: end it. (One that was cancelled
                # still runs on aiosqlite's thread; this ROLLBACK then finds nothing to undo.)
                with contextlib.suppress(sqlite3.Error):
                    await conn.execute("ROLLBACK")
                raise

    @asynccontextmanager
    async def read(self) -> AsyncIterator[SqliteConnection]:
        """A consistent snapshot to read from, beside whatever the writer is doing."""
        if not self._readers:
            raise StoreUnavailable("sqlite: the store is not connected")
        reader = await self._free.get()
        try:
            with _translating():
                await reader.execute("BEGIN")
            try:
                yield self._views[id(reader)]
            finally:
                with _translating():
                    await reader.execute("COMMIT")
        finally:
            self._free.put_nowait(reader)

    async def ping(self) -> None:
        """Reads one row through a reader: the file opens and is not locked past a moment."""
        try:
            async with asyncio.timeout(2), self.read() as conn:
                await conn.fetch_one("SELECT 1")
        except TimeoutError as err:
            raise StoreUnavailable("sqlite: no answer within 2 s") from err
        except StoreError:
            raise
        except Exception as err:  # a bug would show elsewhere; here it means "not ready"
            raise StoreUnavailable(f"sqlite: {type(err).__name__}") from err

    async def checkpoint(self, *, wait: timedelta | None = None) -> bool:
        """Folds the WAL into the file and empties it, so that the older versions of pages it
        holds (text since removed) go too. True when done; False when a reader of another
        process still needed them for longer than ``wait`` (the busy timeout if None).

        Holds this process's writes meanwhile, and SQLite holds every process's.
        """
        with _translating():
            return await self._checkpoint(wait)

    async def _checkpoint(self, wait: timedelta | None) -> bool:
        async with self._lock:
            conn = self.conn
            if wait is not None:
                await conn.execute(f"PRAGMA busy_timeout={int(wait.total_seconds() * 1000)}")
            try:
                async with conn.execute("PRAGMA wal_checkpoint(TRUNCATE)") as cur:
                    row = await cur.fetchone()
            finally:
                if wait is not None:
                    ms = int(self.busy_timeout.total_seconds() * 1000)
                    await conn.execute(f"PRAGMA busy_timeout={ms}")
        return row is not None and int(row[0]) == 0

    async def schema_version(self) -> int:
        async with self.conn.execute("PRAGMA user_version") as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def _migrate(self, migrations: Sequence[str]) -> bool:
        """Runs the migrations this file has not run; True when it ran any."""
        ran = False
        current = await self.schema_version()
        if current > len(migrations):
            raise RuntimeError(
                f"{self.path} has schema version {current}, newer than this code knows "
                f"({len(migrations)}); upgrade Reviewdesk before opening it"
            )
        for version, script in enumerate(migrations[current:], start=current + 1):
            async with self.tx() as conn:
                # Re-read under the write lock: another process may have migrated meanwhile.
                row = await conn.fetch_one("PRAGMA user_version")
                if row and int(row[0]) >= version:
                    continue
                for statement in _statements(script):
                    await conn.execute(statement)
                await conn.execute(f"PRAGMA user_version = {version}")
                ran = True
        return ran


async def _begin(conn: Writer) -> None:
    """``BEGIN IMMEDIATE``: it takes the write lock up front, so two processes never deadlock
    upgrading a read lock.

    A caller cancelled while it waits for the lock leaves the statement running on aiosqlite's
    thread, where it may still begin: a ROLLBACK queued behind it (the thread runs them in
    order) undoes it, or the writer would hold SQLite's write lock for good, and the next
    transaction would fail to begin.
    """
    try:
        await conn.execute("BEGIN IMMEDIATE")
    except asyncio.CancelledError:
        with contextlib.suppress(sqlite3.Error):  # "no transaction is active": it never began
            await conn.execute("ROLLBACK")
        raise


def _statements(script: str) -> list[str]:
    """executescript() would commit our transaction, so run the migration statement by statement."""
    lines = [line for line in script.splitlines() if not line.strip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]
