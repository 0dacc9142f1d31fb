"""A throwaway PostgreSQL cluster: Debian's binaries, a temporary folder, loopback.

The benchmark's store on PostgreSQL (``bench/run.py --store postgres``) and the tests' (one
cluster per test session, a fresh database per test: ``tests/pgcluster.py``) both start one
here. Nothing here is a mock: it is the server Reviewdesk runs against.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path

SUPERUSER = "postgres"
# initdb and pg_ctl refuse to run as root; sessions and CI run as root, so the cluster runs as
# the system user Debian's package creates.
SYSTEM_USER = "postgres"
_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")

_CONFIG = """
listen_addresses = '127.0.0.1'
max_connections = 300
log_min_messages = warning
"""
# Durability buys nothing in a cluster the tests throw away; without it CREATE DATABASE and
# every commit stay fast on a shared, slow disk.
_THROWAWAY = """
fsync = off
synchronous_commit = off
full_page_writes = off
"""
# What the benchmark measures against: as durable as the SQLite store (WAL, synchronous=NORMAL),
# which survives a crash of any process whole and may lose its last commits to a power cut.
_LIKE_SQLITE = """
synchronous_commit = off
"""
# Trust only on loopback and the socket inside the cluster's own folder.
_HBA = """
local all all trust
host all all 127.0.0.1/32 trust
"""


# Stops the cluster and removes its folder once the test process is gone, however it went: a
# run killed by a timeout or SIGKILL must not leave a server behind. It waits for the end of its
# stdin, whose other end only the test process holds.
_WATCHDOG = """
import shutil, subprocess, sys
sys.stdin.buffer.read()
subprocess.run(sys.argv[2:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
shutil.rmtree(sys.argv[1], ignore_errors=True)
"""


class PostgresNotFound(RuntimeError):
    pass


def _version(bin_dir: Path) -> tuple[int, ...]:
    parts = re.findall(r"\d+", bin_dir.parent.name)
    return tuple(int(p) for p in parts)


def find_bin_dir() -> Path | None:
    """The folder holding initdb and pg_ctl: from PATH first, else Debian's newest."""
    on_path = shutil.which("initdb")
    if on_path:
        # Debian puts initdb beside the server binary, not on PATH; follow the link to it.
        bin_dir = Path(on_path).resolve().parent
        if (bin_dir / "pg_ctl").exists():
            return bin_dir
    candidates = [d for d in Path("/usr/lib/postgresql").glob("*/bin") if (d / "initdb").exists()]
    return max(candidates, key=_version) if candidates else None


class PgCluster:
    """A running cluster; ``url`` reaches its ``postgres`` database as the superuser."""

    def __init__(
        self, bin_dir: Path, root: Path, port: int, watchdog: subprocess.Popen[bytes]
    ) -> None:
        self.bin_dir = bin_dir
        self.root = root
        self.port = port
        self.data_dir = root / "data"
        self.socket_dir = root / "socket"
        self.url = self.url_for("postgres")
        self._watchdog = watchdog

    @property
    def pid(self) -> int:
        """The server's first process (the postmaster), parent of one process per connection."""
        return int((self.data_dir / "postmaster.pid").read_text().split()[0])

    def url_for(self, database: str) -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def psql(self, sql: str, database: str = "postgres") -> str:
        """Runs ``sql`` with the cluster's own psql, unaligned and tuples only."""
        done = subprocess.run(
            [
                str(self.bin_dir / "psql"),
                "-X",
                "-q",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                SUPERUSER,
                "-d",
                database,
                "-c",
                sql,
            ],
            capture_output=True,
            text=True,
            timeout=30,
            env={**os.environ, "PGCONNECT_TIMEOUT": "5"},
        )
        if done.returncode != 0:
            raise RuntimeError(f"psql failed: {done.stderr.strip()}")
        return done.stdout.strip()

    def create_database(self, name: str | None = None) -> str:
        """A fresh, empty database; returns its URL."""
        name = name or f"t_{uuid.uuid4().hex[:16]}"
        if not _NAME.match(name):
            raise ValueError(f"not a plain database name: {name!r}")
        self.psql(f'CREATE DATABASE "{name}"')
        return self.url_for(name)

    def drop_database(self, name: str) -> None:
        """Drops it even while a connection is left open, so the temporary folder stays small."""
        if not _NAME.match(name):
            raise ValueError(f"not a plain database name: {name!r}")
        self.psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        if self.data_dir.exists():
            _run_as_owner(_stop_command(self.bin_dir, self.data_dir), cwd=self.root, check=False)
        shutil.rmtree(self.root, ignore_errors=True)
        _release(self._watchdog)

    def __enter__(self) -> PgCluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _as_owner() -> list[str]:
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        raise PostgresNotFound(
            f"running as root and there is no {SYSTEM_USER!r} user to run PostgreSQL as "
            "(Debian's postgresql package creates it)"
        ) from None
    return ["runuser", "-u", SYSTEM_USER, "--"]


def _stop_command(bin_dir: Path, data_dir: Path) -> list[str]:
    return [str(bin_dir / "pg_ctl"), "stop", "-D", str(data_dir), "-m", "immediate"]


def _watch(root: Path, bin_dir: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            _WATCHDOG,
            str(root),
            *_as_owner(),
            *_stop_command(bin_dir, root / "data"),
        ],
        stdin=subprocess.PIPE,
        cwd="/",
        env={**os.environ, "LC_ALL": "C", "LANG": "C"},
        # Out of the terminal's process group: a Ctrl-C that stops pytest must not stop the
        # cleanup with it.
        start_new_session=True,
    )


def _release(watchdog: subprocess.Popen[bytes]) -> None:
    assert watchdog.stdin is not None
    watchdog.stdin.close()
    watchdog.wait(timeout=30)


def _run_as_owner(
    args: list[str], cwd: Path, check: bool = True, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    # A C locale whatever the machine's: initdb fails on a locale that is not generated, and C
    # collation orders text by bytes, as SQLite does.
    env = {**os.environ, "LC_ALL": "C", "LANG": "C"}
    done = subprocess.run(
        [*_as_owner(), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check and done.returncode != 0:
        raise RuntimeError(f"{Path(args[0]).name} failed:\n{done.stdout}\n{done.stderr}")
    return done


def loopback_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_cluster(
    bin_dir: Path | None = None,
    pick_port: Callable[[], int] = loopback_port,
    *,
    durable: bool = False,
) -> PgCluster:
    """initdb in a new temporary folder, then pg_ctl start on a free loopback port.

    ``durable``: fsync and full-page writes on, as an operator runs the server; off, every
    commit skips the disk, for tests."""
    bin_dir = bin_dir or find_bin_dir()
    if bin_dir is None:
        raise PostgresNotFound(
            "no PostgreSQL binaries (initdb, pg_ctl) on PATH or in /usr/lib/postgresql/*/bin"
        )
    owner = _as_owner()
    # Directly in the system's temporary folder: pytest's own folders are private to root, and
    # the server, running as its own user, must reach its data and socket.
    root = Path(tempfile.mkdtemp(prefix="reviewdesk-pg-"))
    watchdog = _watch(root, bin_dir)
    try:
        (root / "socket").mkdir()
        if owner:
            entry = pwd.getpwnam(SYSTEM_USER)
            for path in (root, root / "socket"):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        data = root / "data"
        _run_as_owner(
            [
                str(bin_dir / "initdb"),
                "-D",
                str(data),
                "-U",
                SUPERUSER,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
                "--no-instructions",
            ],
            cwd=root,
        )
        with (data / "postgresql.conf").open("a") as conf:
            conf.write(_CONFIG + (_LIKE_SQLITE if durable else _THROWAWAY))
            conf.write(f"unix_socket_directories = '{root / 'socket'}'\n")
        (data / "pg_hba.conf").write_text(_HBA)
        # Another process can take the picked port between the pick and the bind: pick again.
        for attempt in range(3):
            port = pick_port()
            started = _run_as_owner(
                [
                    str(bin_dir / "pg_ctl"),
                    "start",
                    "-D",
                    str(data),
                    "-w",
                    "-t",
                    "30",
                    "-l",
                    str(root / "server.log"),
                    "-o",
                    f"-p {port}",
                ],
                cwd=root,
                check=False,
            )
            if started.returncode == 0:
                return PgCluster(bin_dir, root, port, watchdog)
            if attempt == 2:
                log = root / "server.log"
                tail = log.read_text()[-2000:] if log.exists() else ""
                raise RuntimeError(f"pg_ctl start failed:\n{started.stderr}\n{tail}")
        raise AssertionError("unreachable")
    except BaseException:
        _release(watchdog)
        raise
