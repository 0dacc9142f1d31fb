"""Request bodies over the limit get 413 before any route reads them, however they are framed:
with a Content-Length, or chunked (``Transfer-Encoding: chunked``), which announces no length."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from starter.web.app import MAX_BODY, create_app
from starter.web.serve import serve
from tests.conftest import Harness
from tests.processes import free_port
from tests.web import as_


@asynccontextmanager
async def served(h: Harness) -> AsyncIterator[httpx.AsyncClient]:
    """The web app behind real uvicorn on loopback: its HTTP parser frames the chunks."""
    settings = h.settings.model_copy(update={"web_port": free_port()})
    stop = asyncio.Event()
    task = asyncio.create_task(serve(create_app(settings, h.service), settings, stop))
    base = f"http://{settings.web_host}:{settings.web_port}"
    try:
        async with httpx.AsyncClient(base_url=base, timeout=20) as client:
            for _ in range(200):
                try:
                    await client.get("/api/v1/openapi.json")
                    break
                except httpx.TransportError:
                    await asyncio.sleep(0.05)
            yield client
    finally:
        stop.set()
        await task


async def chunks(body: bytes, size: int = 4096) -> AsyncIterator[bytes]:
    """An async generator body: httpx sends it chunked, with no Content-Length."""
    for start in range(0, len(body), size):
        yield body[start : start + size]


async def test_a_chunked_body_over_the_limit_gets_413_and_no_route_reads_it(live: Harness) -> None:
    h, w = live, live.world
    too_big = b'{"message": "' + b"x" * (MAX_BODY + 10) + b'"}'
    form_too_big = b"action=reply&message=" + b"x" * (MAX_BODY + 10)
    async with served(h) as web:
        api = await web.post(
            f"/api/v1/reviews/{w.review['organic']}/contacts",
            content=chunks(too_big),
            headers={**as_(w.keys[w.business]), "Content-Type": "application/json"},
        )
        page = await web.post(
            "/reply/some-token",
            content=chunks(form_too_big),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        # Under the limit, the same framing reaches the route, body intact.
        fits = await web.post(
            f"/api/v1/reviews/{w.review['organic']}/contacts",
            content=chunks(b'{"message": "Which shop was it?", "requested": []}', size=7),
            headers={**as_(w.keys[w.business]), "Content-Type": "application/json"},
        )
    assert api.request.headers["transfer-encoding"] == "chunked"
    assert "content-length" not in api.request.headers
    assert (api.status_code, api.json()["error"]["code"]) == (413, "too_large")
    assert (page.status_code, page.json()["error"]["code"]) == (413, "too_large")
    assert fits.status_code == 201, fits.text
    assert fits.json()["message"] == "Which shop was it?"
    # The route never ran for the refused one: the one contact is the one that fitted.
    listed = await h.service.contacts_of(w.business)
    assert [c.id for c in listed] == [fits.json()["id"]]
