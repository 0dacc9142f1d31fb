"""What only the PostgreSQL store has to show: many processes migrating at once, its errors as
the store's own, and an outage that answers "unavailable" instead of hanging. (The store,
service, API and journey suites run on it too: tests/conftest.py, BOTH_STORES.)"""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from pathlib import Path

import pytest

from settings import Settings
from store import Database, Store, open_store
from store.errors import Conflict, StoreUnavailable
from store.postgres import PostgresDatabase, _prepared
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


async def test_both_schemas_hold_the_same_tables_columns_and_indexes(
    pg_url: str, tmp_path: Path
) -> None:
    async with Database(tmp_path / "store.db") as lite, lite.read() as conn:
        tables = [
            r[0]
            for r in await conn.fetch_all(
                "SELECT name FROM sqlite_master WHERE type = 'table'"
                " AND name NOT LIKE 'sqlite_%' ORDER BY name"
            )
        ]
        on_sqlite = {
            t: sorted(
                (r["name"], r["notnull"] == 1 or r["pk"] == 1)
                for r in await conn.fetch_all(f"PRAGMA table_info({t})")
            )
            for t in tables
        }
        sqlite_indexes = sorted(
            r[0]
            for r in await conn.fetch_all(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
            )
        )
    async with PostgresDatabase(pg_url) as pg, pg.read() as conn:
        columns = await conn.fetch_all(
            "SELECT table_name, column_name, is_nullable FROM information_schema.columns"
            " WHERE table_schema = 'public' AND table_name <> 'schema_version'"
        )
        pg_indexes = sorted(
            r[0]
            for r in await conn.fetch_all(
                "SELECT indexname FROM pg_indexes WHERE schemaname = 'public'"
                " AND indexname NOT IN (SELECT conname FROM pg_constraint)"
            )
        )
    on_pg: dict[str, list[tuple[str, bool]]] = {}
    for r in columns:
        on_pg.setdefault(r[0], []).append((r[1], r[2] == "NO"))
    assert {t: sorted(c) for t, c in on_pg.items()} == on_sqlite
    # Named indexes (PostgreSQL names its UNIQUE constraints' own; SQLite leaves them unnamed).
    assert pg_indexes == sqlite_indexes


@pytest.mark.parametrize(
    ("shared", "expected"),
    [
        ("SELECT a FROM t WHERE b = ? AND c = ?", "SELECT a FROM t WHERE b = $1 AND c = $2"),
        ("SELECT '?' || x FROM t WHERE y = ?", "SELECT '?' || x FROM t WHERE y = $1"),
        (
            "SELECT x::text FROM t WHERE y <= :at AND z > :at",
            "SELECT x::text FROM t WHERE y <= $1 AND z > $1",
        ),
        (
            "SELECT group_concat(label, char(10)) FROM l",
            "SELECT string_agg(label, chr(10)) FROM l",
        ),
        ("SELECT CAST(x AS varchar(10)) FROM t", "SELECT CAST(x AS varchar(10)) FROM t"),
        ("SELECT 'it''s ?' FROM t WHERE a = ?", "SELECT 'it''s ?' FROM t WHERE a = $1"),
    ],
)
def test_the_shared_sql_becomes_postgresqls(shared: str, expected: str) -> None:
    assert _prepared(shared)[0] == expected
