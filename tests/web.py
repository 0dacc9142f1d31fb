"""Helpers for web tests: the app on a harness, and an HTTP client that speaks to it in-process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from starter.web.app import create_app
from tests.conftest import Harness


@asynccontextmanager
async def web_client(h: Harness) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(h.settings, h.service)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://reviewdesk.test") as client:
        yield client


def as_(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}
