"""Reviewdesk running for real in a background thread (worker and web app on its own event loop),
so synchronous callers such as schemathesis and hypothesis can hit it over HTTP."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from settings import Settings
from starter.client import connect
from starter.loop import run_main
from starter.service import Reviewdesk
from starter.web.app import create_app
from starter.web.serve import serve
from store import open_store
from tests.world import World
from worker import build_worker, running

T = TypeVar("T")


class RunningService:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.base_url = f"http://{settings.web_host}:{settings.web_port}"
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None
        self._service: Reviewdesk | None = None
        self._thread = threading.Thread(target=self._run, name="reviewdesk", daemon=True)

    def __enter__(self) -> RunningService:
        self._thread.start()
        if not self._ready.wait(60) or self._error:
            raise RuntimeError("the service did not start") from self._error
        return self

    def __exit__(self, *exc: object) -> None:
        if self._loop and self._stop:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(60)

    def call(self, work: Callable[[Reviewdesk], Awaitable[T]]) -> T:
        """Runs ``work`` with the service, on the service's own loop, and waits for it."""
        assert self._loop is not None and self._service is not None
        service = self._service

        async def run() -> T:
            return await work(service)

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(60)

    def _run(self) -> None:
        try:
            run_main(self._main())
        except BaseException as err:  # reported to the thread that waits in __enter__
            self._error = err
            self._ready.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        client = await connect(self.settings)
        async with open_store(self.settings) as db:
            self._service = Reviewdesk(client, db, self.settings)
            worker = build_worker(client, db, self.settings)
            async with running(worker, self.settings.worker_shutdown_timeout):
                web = asyncio.create_task(
                    serve(create_app(self.settings, self._service), self.settings, self._stop)
                )
                while not web.done():
                    try:
                        _, writer = await asyncio.open_connection(
                            self.settings.web_host, self.settings.web_port
                        )
                        writer.close()
                        break
                    except OSError:
                        await asyncio.sleep(0.05)
                self._ready.set()
                await web


def snapshot(service: RunningService) -> dict[str, Any]:
    """Everything a refused request must leave as it was."""

    async def read(s: Reviewdesk) -> dict[str, Any]:
        tables = {
            "contacts": "SELECT * FROM contacts ORDER BY id",
            "answers": "SELECT * FROM answers ORDER BY id",
            "reports": "SELECT * FROM reports ORDER BY id",
            "decisions": "SELECT * FROM decisions ORDER BY id",
            "reviews": "SELECT id, visibility FROM reviews ORDER BY id",
            "labels": "SELECT * FROM review_labels ORDER BY review_id, label",
            "outbox": "SELECT key FROM outbox ORDER BY key",
            # Refusals are written to the request log on purpose; nothing else may change.
            "events": "SELECT key FROM events WHERE type != 'refused' ORDER BY key",
        }
        found: dict[str, Any] = {}
        async with s.db.read() as conn:
            for name, sql in tables.items():
                found[name] = [tuple(r) for r in await conn.fetch_all(sql)]
        return found

    return service.call(read)


@contextmanager
def running_world(
    address: str, folder: Path, **settings: Any
) -> Iterator[tuple[RunningService, World]]:
    """A fresh store with a test world, and the service running on it against ``address``;
    ``settings`` change the defaults."""
    from tests.processes import free_port
    from tests.world import make_world

    port = free_port()
    config = Settings(
        _env_file=None,
        data_dir=folder / "data",
        task_queue=f"running-{folder.name}",
        temporal_address=address,
        web_port=port,
        public_base_url=f"http://127.0.0.1:{port}",
        **settings,
    )

    async def seed() -> World:
        async with open_store(config) as db:
            return await make_world(db)

    world = asyncio.run(seed())
    with RunningService(config) as service:
        yield service, world
