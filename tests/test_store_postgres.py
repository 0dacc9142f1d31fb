"""What only the PostgreSQL store has to show: many processes migrating at once, its errors as
the store's own, and an outage that answers "unavailable" instead of hanging. (The store,
service, API and journey suites run on it too: tests/conftest.py, BOTH_STORES.)"""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import pytest

from settings import Settings
from store import Store, open_store
from store.errors import Conflict, StoreUnavailable
from store.postgres import PostgresDatabase
from store.schema import MIGRATIONS
from store.schema_postgres import MIGRATIONS as PG_MIGRATIONS
from tests.pgcluster import PgCluster, start_cluster
from tests.processes import free_port
from tests.world import make_world


async def test_processes_starting_together_migrate_once(pg_url: str) -> None:
    stores = [PostgresDatabase(pg_url) for _ in range(4)]
    await asyncio.gather(*(s.connect() for s in stores))
    try:
        assert [await s.schema_version() for s in stores] == [len(MIGRATIONS)] * 4
        async with stores[0].read() as conn:
            rows = await conn.fetch_all("SELECT version FROM schema_version ORDER BY version")
        assert [r[0] for r in rows] == [v for v, _ in PG_MIGRATIONS]
        # Each sees the others' writes: one store, four processes.
        world = await make_world(stores[1])
        async with stores[3].read() as conn:
            found = await conn.fetch_one(
                "SELECT name FROM businesses WHERE id = ?", (world.business,)
            )
        assert found is not None
    finally:
        for s in stores:
            await s.close()


async def test_a_database_from_a_newer_version_is_refused(pg_url: str) -> None:
    async with PostgresDatabase(pg_url):
        pass
    with pytest.raises(RuntimeError, match="newer than this code knows"):
        await PostgresDatabase(pg_url).connect(PG_MIGRATIONS[:0])


async def test_a_broken_rule_is_a_conflict_and_rolls_the_whole_transaction_back(
    pg_url: str,
) -> None:
    async with PostgresDatabase(pg_url) as db:
        world = await make_world(db)
        with pytest.raises(Conflict):
            async with db.tx() as conn:
                await conn.execute(
                    "UPDATE businesses SET name = 'Renamed' WHERE id = ?", (world.business,)
                )
                await conn.execute(
                    "INSERT INTO businesses (id, name, email, created_at) VALUES (?, ?, ?, ?)",
                    (world.business, "Twice", "x@example.test", "2026-01-01T00:00:00+00:00"),
                )
        async with db.read() as conn:
            row = await conn.fetch_one(
                "SELECT name FROM businesses WHERE id = ?", (world.business,)
            )
        assert row is not None and row["name"] != "Renamed"


async def test_an_unreachable_server_is_unavailable_within_seconds() -> None:
    started = time.monotonic()
    nobody = PostgresDatabase(
        f"postgresql://postgres@127.0.0.1:{free_port()}/none", busy_timeout=_seconds(2)
    )
    with pytest.raises(StoreUnavailable):
        await nobody.connect()
    assert time.monotonic() - started < 10


async def test_a_server_that_goes_away_makes_reads_and_writes_unavailable_not_hang() -> None:
    cluster: PgCluster = await asyncio.to_thread(start_cluster)
    try:
        db: Store = await PostgresDatabase(
            cluster.url_for("postgres"), busy_timeout=_seconds(2)
        ).connect()
        await make_world(db)
        await db.ping()
        await asyncio.to_thread(cluster.stop)
        started = time.monotonic()
        with pytest.raises(StoreUnavailable):
            await db.ping()
        with pytest.raises(StoreUnavailable):
            async with db.read() as conn:
                await conn.fetch_one("SELECT count(*) FROM businesses")
        with pytest.raises(StoreUnavailable):
            async with db.tx() as conn:
                await conn.execute("DELETE FROM review_labels")
        assert time.monotonic() - started < 15
        await db.close()
    finally:
        await asyncio.to_thread(cluster.stop)


async def test_the_url_chooses_the_store(pg_url: str) -> None:
    on_pg = Settings(_env_file=None, database_url=pg_url)
    assert isinstance(open_store(on_pg), PostgresDatabase)
    with pytest.raises(ValueError, match="sqlite:/// or postgresql://"):
        Settings(_env_file=None, database_url="mysql://nope")


def _seconds(n: float) -> timedelta:
    return timedelta(seconds=n)
