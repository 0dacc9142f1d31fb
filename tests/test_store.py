"""The store's schema upgrades an existing file in place and refuses one from the future; its
writes land whole, and one waiting for another process's lock never holds up the event loop."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from store import Database, Store, reviews
from store.errors import Conflict, StoreUnavailable
from store.records import Review
from store.schema import MIGRATIONS
from tests.world import make_world


async def test_an_existing_database_file_is_upgraded_in_place_keeping_its_data(
    tmp_path: Path,
) -> None:
    path = tmp_path / "store.db"
    async with Database(path) as db:
        world = await make_world(db)
        assert await db.schema_version() == len(MIGRATIONS)

    later = [*MIGRATIONS, "ALTER TABLE reviews ADD COLUMN language TEXT NOT NULL DEFAULT 'en'"]
    db = await Database(path).connect(later)
    try:
        assert await db.schema_version() == len(later)
        async with db.read() as conn:
            review = await reviews.get_review(conn, world.review["organic"])
            row = await conn.fetch_one(
                "SELECT language FROM reviews WHERE id = ?", (world.review["organic"],)
            )
        assert review is not None and review.title == "Review organic"
        assert row is not None and row[0] == "en"
    finally:
        await db.close()

    # Opening it again with the same code runs nothing twice.
    db = await Database(path).connect(later)
    assert await db.schema_version() == len(later)
    await db.close()


async def test_a_database_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    async with Database(path):
        pass
    db = Database(path)
    with pytest.raises(RuntimeError, match="newer than this code knows"):
        await db.connect(MIGRATIONS[:0])
    await db.close()


async def test_reads_see_committed_writes_and_can_never_write(tmp_path: Path) -> None:
    async with Database(tmp_path / "store.db") as db:
        world = await make_world(db)
        async with db.read() as conn:
            review = await reviews.get_review(conn, world.review["organic"])
            # Reads run on their own connections, which refuse to write: a write must take the
            # writer's lock, or two of them could interleave.
            # A bug, not an outage: it must not be answered "try again" (503) for ever.
            with pytest.raises(sqlite3.OperationalError, match="readonly"):
                await conn.execute("DELETE FROM reviews")
        async with db.read() as conn:
            still = await reviews.get_review(conn, world.review["organic"])
    assert review is not None and still == review


def _other_process(path: Path) -> sqlite3.Connection:
    """Another process's writer on the same file."""
    return sqlite3.connect(path, isolation_level=None, timeout=2)


async def _set(db: Database, review_id: str, **columns: str) -> None:
    """One transaction, one statement per column."""
    async with db.tx() as conn:
        for column, value in columns.items():
            await conn.execute(f"UPDATE reviews SET {column} = ? WHERE id = ?", (value, review_id))


async def _review(db: Database, review_id: str) -> Review:
    async with db.read() as conn:
        review = await reviews.get_review(conn, review_id)
    assert review is not None
    return review


@asynccontextmanager
async def _write_lock_held_elsewhere(
    tmp_path: Path,
) -> AsyncIterator[tuple[Database, str, sqlite3.Connection]]:
    """A store with a world in it, whose write lock another process has just taken."""
    path = tmp_path / "store.db"
    async with Database(path) as db:
        world = await make_world(db)
        other = _other_process(path)
        other.execute("BEGIN IMMEDIATE")
        yield db, world.review["organic"], other


async def test_a_write_waiting_for_another_process_leaves_the_loop_free_and_lands_whole(
    tmp_path: Path,
) -> None:
    async with _write_lock_held_elsewhere(tmp_path) as (db, review_id, other):
        writing = asyncio.create_task(_set(db, review_id, title="Retitled", text="Rewritten"))
        # While the write waits for the lock, the loop still answers: reads, timers.
        started = time.monotonic()
        for _ in range(5):
            before = await _review(db, review_id)
            await asyncio.sleep(0.02)
        assert time.monotonic() - started < 1.0
        assert not writing.done()
        assert before.title == "Review organic"

        other.execute("COMMIT")
        await asyncio.wait_for(writing, 10)
        after = await _review(db, review_id)
        assert (after.title, after.text) == ("Retitled", "Rewritten")

        # A transaction that fails half-way leaves nothing, and the next one works.
        with pytest.raises(RuntimeError, match="half-way"):
            async with db.tx() as conn:
                await conn.execute("UPDATE reviews SET title = 'Lost' WHERE id = ?", (review_id,))
                raise RuntimeError("half-way")
        await _set(db, review_id, text="Kept")
        last = await _review(db, review_id)
        assert (last.title, last.text) == ("Retitled", "Kept")
        other.close()


async def test_a_write_cancelled_while_it_waits_for_the_lock_leaves_the_lock_free(
    tmp_path: Path,
) -> None:
    async with _write_lock_held_elsewhere(tmp_path) as (db, review_id, other):
        waiting = asyncio.create_task(_set(db, review_id, title="Never"))
        await asyncio.sleep(0.2)
        waiting.cancel()  # say, the activity timed out while the other process held the lock
        other.execute("COMMIT")
        with pytest.raises(asyncio.CancelledError):
            await waiting

        # Neither process is locked out: the other writes, then this one.
        other.execute("BEGIN IMMEDIATE")
        other.execute("COMMIT")
        await _set(db, review_id, text="Later")
        review = await _review(db, review_id)
        assert (review.title, review.text) == ("Review organic", "Later")
        other.close()


async def test_a_commit_that_fails_ends_its_transaction(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    async with Database(path) as db:
        async with db.tx() as conn:
            await conn.execute("CREATE TABLE parent (id INTEGER PRIMARY KEY)")
            await conn.execute(
                "CREATE TABLE child (parent_id INTEGER"
                " REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)"
            )
        # A deferred foreign key fails at COMMIT, and SQLite keeps the transaction open then.
        with pytest.raises(Conflict, match="FOREIGN KEY"):
            async with db.tx() as conn:
                await conn.execute("INSERT INTO child (parent_id) VALUES (7)")

        other = _other_process(path)
        other.execute("BEGIN IMMEDIATE")  # the write lock is free for the other process
        other.execute("COMMIT")
        other.close()
        async with db.tx() as conn:
            await conn.execute("INSERT INTO parent (id) VALUES (7)")
            await conn.execute("INSERT INTO child (parent_id) VALUES (7)")
        async with db.read() as conn:
            row = await conn.fetch_one("SELECT count(*) FROM child")
        assert row is not None and row[0] == 1


# --- on both stores (the `db` fixture is SQLite, then PostgreSQL) ------------------------------


async def test_a_write_inside_a_read_is_refused_as_a_bug_and_changes_nothing(db: Store) -> None:
    world = await make_world(db)
    with pytest.raises(Exception) as refused:
        async with db.read() as conn:
            await conn.execute("DELETE FROM reviews")
    # Not "try again": a 503 would have the caller retry a statement that can never work.
    assert not isinstance(refused.value, StoreUnavailable | Conflict)
    async with db.read() as conn:
        assert await reviews.get_review(conn, world.review["organic"]) is not None


async def test_the_callers_own_error_inside_a_transaction_passes_through_and_rolls_back(
    db: Store,
) -> None:
    world = await make_world(db)
    with pytest.raises(PermissionError, match="not allowed"):
        async with db.tx() as conn:
            await conn.execute(
                "UPDATE reviews SET title = 'Changed' WHERE id = ?", (world.review["organic"],)
            )
            raise PermissionError("not allowed")  # as a file the step removes might
    async with db.read() as conn:
        review = await reviews.get_review(conn, world.review["organic"])
    assert review is not None and review.title == "Review organic"


async def test_a_cancelled_write_leaves_the_store_free_for_the_next(db: Store) -> None:
    world = await make_world(db)
    entered = asyncio.Event()

    async def stuck() -> None:
        async with db.tx() as conn:
            await conn.execute(
                "UPDATE reviews SET title = 'Half' WHERE id = ?", (world.review["organic"],)
            )
            entered.set()
            await asyncio.sleep(60)

    task = asyncio.create_task(stuck())
    await entered.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    # The next write gets its turn at once (the lock went with the cancelled one), and the
    # cancelled one's change is gone.
    async with asyncio.timeout(5), db.tx() as conn:
        await conn.execute(
            "UPDATE reviews SET title = 'Whole' WHERE id = ?", (world.review["organic2"],)
        )
    async with db.read() as conn:
        first = await reviews.get_review(conn, world.review["organic"])
        second = await reviews.get_review(conn, world.review["organic2"])
    assert first is not None and first.title == "Review organic"
    assert second is not None and second.title == "Whole"
