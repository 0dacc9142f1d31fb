"""Serving the web app with uvicorn in our own event loop, stopped by our signal handling."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

import uvicorn
from fastapi import FastAPI

from settings import Settings


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # `up` handles Ctrl-C for the dev server, worker and web app together.
        yield


async def serve(app: FastAPI, settings: Settings, stop: asyncio.Event) -> None:
    config = uvicorn.Config(
        app,
        host=settings.web_host,
        port=settings.web_port,
        log_config=None,
        access_log=False,  # it would print reply tokens; the app logs redacted lines instead
        lifespan="on",
    )
    server = _Server(config)
    task = asyncio.create_task(server.serve())
    stopped = asyncio.create_task(stop.wait())
    await asyncio.wait({task, stopped}, return_when=asyncio.FIRST_COMPLETED)
    server.should_exit = True
    stopped.cancel()
    await task
    if not server.started:
        raise RuntimeError(
            f"the web app could not listen on {settings.web_host}:{settings.web_port}"
        )
