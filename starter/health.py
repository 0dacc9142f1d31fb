"""What a load balancer and Prometheus ask a process: /healthz, /readyz and /metrics.

- /healthz: 200 while the process serves at all (restart it otherwise).
- /readyz: 200 when the store and Temporal both answer within a couple of seconds, else 503
  with which one did not (send it no work meanwhile). Never a hang: each check has a deadline.
- /metrics: the process's registry (starter/metrics.py), in Prometheus' text format.

The web app serves them beside its pages; the worker on a small port of its own
(`worker_http_port`). None needs a login, so none says more than "ok" or "unavailable".
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from datetime import timedelta

import uvicorn
from prometheus_client import CollectorRegistry
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from temporalio.api.workflowservice.v1 import GetSystemInfoRequest
from temporalio.client import Client

from settings import Settings
from starter import metrics
from starter.temporal_runtime import SdkMetrics
from store import Store

log = logging.getLogger("reviewdesk.health")

PATHS = ("/healthz", "/readyz", "/metrics")
# Each check's deadline: a probe that waited longer would be cut off by its caller anyway.
READY_SECONDS = 2.0

# What /readyz checks, for the request at hand: None while the process is still starting.
Parts = Callable[[Request], tuple[Store, Client] | None]


async def _store_answers(db: Store) -> bool:
    try:
        async with asyncio.timeout(READY_SECONDS):
            await db.ping()
    except Exception:
        return False
    return True


async def _temporal_answers(client: Client) -> bool:
    try:
        async with asyncio.timeout(READY_SECONDS):
            await client.workflow_service.get_system_info(
                GetSystemInfoRequest(), timeout=timedelta(seconds=READY_SECONDS)
            )
    except Exception:
        return False
    return True


async def readiness(db: Store, client: Client) -> dict[str, str]:
    store, temporal = await asyncio.gather(_store_answers(db), _temporal_answers(client))
    return {
        "store": "ok" if store else "unavailable",
        "temporal": "ok" if temporal else "unavailable",
    }


def routes(
    registry: CollectorRegistry,
    parts: Parts,
    before_scrape: Callable[[], Awaitable[None]] | None = None,
) -> list[Route]:
    async def healthz(request: Request) -> Response:
        return PlainTextResponse("ok")

    async def readyz(request: Request) -> Response:
        found = parts(request)
        if found is None:
            checks = {"store": "unavailable", "temporal": "unavailable"}
        else:
            checks = await readiness(*found)
        ready = all(v == "ok" for v in checks.values())
        return JSONResponse(checks, status_code=200 if ready else 503)

    async def scrape(request: Request) -> Response:
        if before_scrape is not None:
            await before_scrape()
        return Response(metrics.render(registry), media_type=metrics.CONTENT_TYPE)

    return [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", scrape, methods=["GET"]),
    ]


def worker_app(db: Store, client: Client) -> Starlette:
    async def store_counts() -> None:
        await metrics.refresh_store_gauges(db)

    return Starlette(routes=routes(metrics.WORKER, lambda _: (db, client), store_counts))


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # The worker's own signal handling stops it, and this server with it.
        yield


def _listening_socket(host: str, port: int) -> socket.socket | None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, port), family=family)
    except OSError as err:
        log.warning(
            "worker HTTP port %s:%d unavailable (%s): no /metrics, /healthz or /readyz here",
            host,
            port,
            err.strerror or type(err).__name__,
        )
        return None


@asynccontextmanager
async def worker_http(
    settings: Settings, db: Store, client: Client, sdk: SdkMetrics | None = None
) -> AsyncIterator[str | None]:
    """Serves the worker's three paths on `worker_http_port` while the block runs; yields
    their base URL, or None when the port is off or taken. A taken port does not stop the
    worker: polling its task queue is its work, this is a view of it."""
    port = settings.worker_http_port
    sock = _listening_socket(settings.web_host, port) if port else None
    if sock is None:
        yield None
        return
    config = uvicorn.Config(
        worker_app(db, client),
        log_config=None,
        access_log=False,
        lifespan="off",
    )
    server = _Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        async with sdk.draining() if sdk is not None else contextlib.nullcontext():
            yield f"http://{settings.web_host}:{port}"
    finally:
        server.should_exit = True
        await task
        sock.close()
