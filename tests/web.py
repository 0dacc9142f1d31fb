"""Helpers for web tests: the app on a harness, and an HTTP client that speaks to it in-process."""

from __future__ import annotations

import html
import re
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


async def sign_in(api: httpx.AsyncClient, key: str) -> str:
    """Signs in on the pages with an API key, as a person does; where the sign-in sends them."""
    api.cookies.clear()
    await api.get("/login")
    signed = await api.post("/login", data={"api_key": key, "csrf": api.cookies["rd_login_csrf"]})
    assert signed.status_code == 303
    return str(signed.headers["location"])


def csrf_of(page: str) -> str:
    """The CSRF token a page's form carries."""
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, page
    return found.group(1)


def page_text(page: str) -> str:
    """What a person reads: the page without its markup (ids may sit in attributes, not here)."""
    body = page.split("<body>", 1)[-1]
    body = re.sub(r"<style>.*?</style>", " ", body, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def idempotency_key_of(page: str) -> str:
    """The Idempotency-Key a page's form carries."""
    found = re.search(r'name="idempotency_key" value="([^"]+)"', page)
    assert found, page
    return found.group(1)
