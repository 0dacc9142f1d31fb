"""/healthz and /readyz of the web app and the worker (issue 16, acceptance 4): /readyz answers
503 while the store or Temporal is down, in a couple of seconds and never a hang, and 200 once
they are back; /healthz answers 200 throughout.

A dev server of the module's own, stopped and started again on its file; the store on SQLite
(stuck: every connection held by someone else) and on a PostgreSQL cluster of the test's own,
stopped and started again.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from settings import Settings
from starter.client import connect
from starter.devserver import DevServer
from starter.health import READY_SECONDS, worker_http
from starter.service import Reviewdesk
from starter.web.app import create_app
from starter.web.serve import serve
from store import Store, open_store
from tests.pgcluster import PgCluster, _run_as_owner, find_bin_dir, start_cluster
from tests.processes import free_port

pytestmark = [pytest.mark.devserver, pytest.mark.timeout(150)]

# A probe's answer when something is down: its checks' deadline, and a margin for a busy machine.
ANSWERS_WITHIN = READY_SECONDS + 2.0


@pytest_asyncio.fixture(scope="module")
async def temporal(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[DevServer]:
    settings = Settings(
        _env_file=None,
        data_dir=tmp_path_factory.mktemp("health") / "temporal",
        temporal_address=f"127.0.0.1:{free_port()}",
        temporal_ui_port=0,
    )
    server = DevServer(settings)
    await server.start()
    yield server
    await server.stop()


@dataclass
class Probed:
    """The web app and the worker's HTTP port, both on one store and one Temporal client."""

    db: Store
    web: str
    worker: str
    http: httpx.AsyncClient

    async def probe(self, path: str) -> dict[str, tuple[int, Any]]:
        """What each process answers on ``path``, checking that neither takes long."""

        async def one(base: str) -> tuple[int, Any]:
            started = time.monotonic()
            got = await self.http.get(f"{base}{path}")
            assert time.monotonic() - started < ANSWERS_WITHIN, f"{base}{path} took too long"
            return got.status_code, got.json() if path == "/readyz" else got.text

        web, worker = await asyncio.gather(one(self.web), one(self.worker))
        return {"web": web, "worker": worker}

    async def ready_on_both(self, expected: int, timeout: float = 60) -> dict[str, Any]:
        give_up = time.monotonic() + timeout
        while True:
            found = await self.probe("/readyz")
            if all(status == expected for status, _ in found.values()):
                return {where: body for where, (_, body) in found.items()}
            assert time.monotonic() < give_up, found
            await asyncio.sleep(0.5)

    async def alive_on_both(self) -> None:
        assert await self.probe("/healthz") == {"web": (200, "ok"), "worker": (200, "ok")}


@asynccontextmanager
async def probed(temporal: DevServer, tmp_path: Path, **store: Any) -> AsyncIterator[Probed]:
    web_port, worker_port = free_port(), free_port()
    settings = Settings(
        _env_file=None,
        data_dir=tmp_path / "data",
        temporal_address=temporal.settings.temporal_address,
        web_port=web_port,
        worker_http_port=worker_port,
        **store,
    )
    client = await connect(settings)
    async with AsyncExitStack() as stack:
        db = await stack.enter_async_context(open_store(settings))
        service = Reviewdesk(client, db, settings)
        stop = asyncio.Event()
        web = asyncio.create_task(serve(create_app(settings, service), settings, stop))
        worker = await stack.enter_async_context(worker_http(settings, db, client))
        assert worker is not None
        http = await stack.enter_async_context(httpx.AsyncClient(timeout=30))
        running = Probed(db, f"http://127.0.0.1:{web_port}", worker, http)
        try:
            await _until_listening(running.web, web)
            yield running
        finally:
            stop.set()
            await web


async def _until_listening(base: str, task: asyncio.Task[None]) -> None:
    async with httpx.AsyncClient() as http:
        for _ in range(200):
            assert not task.done(), task
            with contextlib.suppress(httpx.TransportError):
                await http.get(f"{base}/healthz")
                return
            await asyncio.sleep(0.05)
    raise AssertionError("the web app did not listen")


async def test_readyz_is_503_while_temporal_is_down_and_200_once_back_healthz_200_throughout(
    temporal: DevServer, tmp_path: Path
) -> None:
    async with probed(temporal, tmp_path) as p:
        await p.alive_on_both()
        assert await p.ready_on_both(200, timeout=5) == {
            "web": {"store": "ok", "temporal": "ok"},
            "worker": {"store": "ok", "temporal": "ok"},
        }
        await temporal.stop()
        try:
            down = await p.ready_on_both(503, timeout=5)
            assert down["web"] == down["worker"] == {"store": "ok", "temporal": "unavailable"}
            await p.alive_on_both()
        finally:
            await temporal.start()
        await p.ready_on_both(200)
        await p.alive_on_both()


async def test_readyz_is_503_while_the_sqlite_store_does_not_answer_and_200_once_it_does(
    temporal: DevServer, tmp_path: Path
) -> None:
    async with probed(temporal, tmp_path) as p:
        await p.ready_on_both(200, timeout=5)
        # Every connection the process reads with, taken by requests that do not end: a store
        # that does not answer looks so from inside. The probes must not wait with them.
        release = asyncio.Event()
        held = [asyncio.create_task(_hold_a_reader(p.db, release)) for _ in range(4)]
        await asyncio.sleep(0.2)
        try:
            down = await p.ready_on_both(503, timeout=5)
            assert down["web"] == down["worker"] == {"store": "unavailable", "temporal": "ok"}
            await p.alive_on_both()
        finally:
            release.set()
            await asyncio.gather(*held)
        await p.ready_on_both(200, timeout=10)


async def _hold_a_reader(db: Store, release: asyncio.Event) -> None:
    async with db.read():
        await release.wait()


@pytest.fixture
def own_pg_cluster() -> Iterator[PgCluster]:
    """A cluster of this test's own: it is stopped in the middle, as the session's must not be."""
    if find_bin_dir() is None:
        pytest.skip("PostgreSQL is not installed (Debian's postgresql; .ci/run installs it)")
    cluster = start_cluster()
    yield cluster
    cluster.stop()


def _pg_ctl(cluster: PgCluster, *args: str) -> None:
    _run_as_owner(
        [str(cluster.bin_dir / "pg_ctl"), *args, "-D", str(cluster.data_dir)], cwd=cluster.root
    )


async def test_readyz_is_503_while_postgresql_is_stopped_and_200_once_it_is_back(
    temporal: DevServer, tmp_path: Path, own_pg_cluster: PgCluster
) -> None:
    cluster = own_pg_cluster
    url = cluster.create_database("health")
    async with probed(temporal, tmp_path, database_url=url) as p:
        await p.ready_on_both(200, timeout=5)
        await asyncio.to_thread(_pg_ctl, cluster, "stop", "-m", "fast", "-w")
        down = await p.ready_on_both(503, timeout=10)
        assert down["web"] == down["worker"] == {"store": "unavailable", "temporal": "ok"}
        await p.alive_on_both()
        start = ("start", "-w", "-t", "30", "-l", str(cluster.root / "server.log"))
        await asyncio.to_thread(_pg_ctl, cluster, *start, "-o", f"-p {cluster.port}")
        await p.ready_on_both(200, timeout=30)


async def test_a_worker_whose_http_port_is_taken_runs_on_without_it(
    temporal: DevServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Two workers left on the default port on one machine: the second warns, and polls on."""
    settings = Settings(
        _env_file=None,
        data_dir=tmp_path / "data",
        temporal_address=temporal.settings.temporal_address,
        worker_http_port=free_port(),
    )
    client = await connect(settings)
    async with open_store(settings) as db, worker_http(settings, db, client) as first:
        assert first is not None
        async with worker_http(settings, db, client) as second:
            assert second is None
        assert f"worker HTTP port 127.0.0.1:{settings.worker_http_port} unavailable" in caplog.text
        async with httpx.AsyncClient() as http:
            assert (await http.get(f"{first}/healthz")).status_code == 200
