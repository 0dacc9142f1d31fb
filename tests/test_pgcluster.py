"""The throwaway PostgreSQL cluster the tests run the store on is real, reachable and isolating."""

from __future__ import annotations

from urllib.parse import urlsplit

from tests.pgcluster import PgCluster

_TABLES = "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"


def _database(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def test_a_fresh_database_is_empty_and_reachable_on_loopback(
    pg_cluster: PgCluster, pg_url: str
) -> None:
    parts = urlsplit(pg_url)
    assert (parts.scheme, parts.hostname) == ("postgresql", "127.0.0.1")
    assert parts.port == pg_cluster.port
    database = _database(pg_url)
    assert pg_cluster.psql("SELECT current_database()", database) == database
    assert pg_cluster.psql(_TABLES, database) == "0"
    assert pg_cluster.psql("SHOW listen_addresses") == "127.0.0.1"


def test_each_test_database_is_its_own(pg_cluster: PgCluster, pg_url: str) -> None:
    pg_cluster.psql("CREATE TABLE only_here (id integer)", _database(pg_url))
    other = pg_cluster.create_database()
    try:
        assert pg_cluster.psql(_TABLES, _database(other)) == "0"
        assert pg_cluster.psql(_TABLES, _database(pg_url)) == "1"
    finally:
        pg_cluster.drop_database(_database(other))
    assert (
        pg_cluster.psql(f"SELECT count(*) FROM pg_database WHERE datname = '{_database(other)}'")
        == "0"
    )
