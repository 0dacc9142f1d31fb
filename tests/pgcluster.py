"""A throwaway PostgreSQL cluster for the tests: ``bench/pgcluster.py``'s, which the benchmark
starts too, on a port from below the kernel's ephemeral range (``tests.processes.free_port``).

One cluster per test session (initdb takes a couple of seconds); each test that needs isolation
gets a fresh database in it. Nothing here is a mock: it is the server Reviewdesk runs against.
"""

from __future__ import annotations

from pathlib import Path

from bench.pgcluster import (
    SUPERUSER,
    SYSTEM_USER,
    PgCluster,
    PostgresNotFound,
    _run_as_owner,
    find_bin_dir,
)
from bench.pgcluster import start_cluster as _start_cluster
from tests.processes import free_port


def start_cluster(bin_dir: Path | None = None) -> PgCluster:
    """initdb in a new temporary folder, then pg_ctl start on a free loopback port; commits
    skip the disk (the cluster is thrown away)."""
    return _start_cluster(bin_dir, free_port)


__all__ = [
    "SUPERUSER",
    "SYSTEM_USER",
    "PgCluster",
    "PostgresNotFound",
    "_run_as_owner",
    "find_bin_dir",
    "start_cluster",
]
