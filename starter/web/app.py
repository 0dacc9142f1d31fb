"""The web app: one FastAPI application for the API and the pages.

It can own its Temporal client and store (``reviewdesk web``) or share the ones of a running
service (``up``, tests).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from itsdangerous import URLSafeTimedSerializer
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from temporalio.client import Client

from settings import Settings, kept_secret
from starter import health, metrics, tracing
from starter.service import Reviewdesk
from starter.web import (
    api,
    api_appeals,
    api_desk,
    api_flags,
    api_insights,
    api_macros,
    api_notices,
    api_policies,
    api_replies,
    api_reviews,
    api_spam,
    api_standing,
    api_statements,
    api_transparency,
    api_webhooks,
    appeal_pages,
    desk_pages,
    docs,
    errors,
    flag_pages,
    insight_pages,
    macro_pages,
    notice_pages,
    pages,
    policy_pages,
    ratelimit,
    reply_pages,
    standing_pages,
    transparency_pages,
    webhook_pages,
)
from store import Store

log = logging.getLogger("reviewdesk.web")
MAX_BODY = 64 * 1024
# Every one-time link page: reply, flag, appeal and notice links carry a token in the path.
_TOKEN_IN_PATH = re.compile(r"/(reply|flag|appeal|notice)/[^/?#]+")
SECURITY_HEADERS = {
    # Reply links carry a secret: never let it leak through a Referer header.
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": (
        "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "frame-ancestors 'none'; form-action 'self'"
    ),
    "Cache-Control": "no-store",
}


def redact(path: str) -> str:
    """What a log line may say about a path: never a reply token."""
    return _TOKEN_IN_PATH.sub(r"/\1/<token>", path)


def session_secret(settings: Settings) -> str:
    return kept_secret(settings.session_secret, settings.data_dir / "session.key")


class Guard:
    """Around every request: the body limit, the security headers and our own access log.

    Plain ASGI: Starlette's ``BaseHTTPMiddleware`` runs each request in a task group of its own,
    which was a sixth of the web app's CPU under load.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request = Request(scope)
        status = 500

        async def send_guarded(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message).update(SECURITY_HEADERS)
            await send(message)

        length = request.headers.get("content-length")
        if length is None and "transfer-encoding" in request.headers:
            # A chunked body announces no length: read it here, counting, before any route does.
            body = await _body_within_limit(receive)
            if body is None:
                await errors.too_large(request)(scope, receive, send_guarded)
            else:
                await self.app(scope, _replay(body, receive), send_guarded)
        elif length is not None and (not length.isdigit() or int(length) > MAX_BODY):
            await errors.too_large(request)(scope, receive, send_guarded)
        else:
            await self.app(scope, receive, send_guarded)
        elapsed = time.perf_counter() - started
        # The router leaves the route it matched in the scope: its template, never the ids.
        route = getattr(scope.get("route"), "path", None)
        metrics.request_answered(request.method, route, status, elapsed)
        if route in health.PATHS:
            return  # probes and scrapes, every few seconds: the metrics count them
        # Our own access log: uvicorn's would print reply tokens, so it is switched off.
        log.info(
            "%s %s %s %.1fms",
            request.method,
            redact(request.url.path),
            status,
            elapsed * 1000,
        )


async def _body_within_limit(receive: Receive) -> list[Message] | None:
    """The request's body as it arrived, or None the moment it passes ``MAX_BODY``."""
    arrived: list[Message] = []
    size = 0
    while True:
        message = await receive()
        arrived.append(message)
        if message["type"] != "http.request":
            return arrived  # the client went away; the route will hear it
        size += len(message.get("body", b""))
        if size > MAX_BODY:
            return None
        if not message.get("more_body", False):
            return arrived


def _replay(arrived: list[Message], receive: Receive) -> Receive:
    """Hands the route the body read already, then whatever comes next (a disconnect)."""
    pending = list(arrived)

    async def replayed() -> Message:
        return pending.pop(0) if pending else await receive()

    return replayed


def _service_parts(request: Request) -> tuple[Store, Client] | None:
    """What /readyz checks: the service's store and Temporal client, once the app has them."""
    service: Reviewdesk | None = getattr(request.app.state, "service", None)
    return None if service is None else (service.db, service.client)


def create_app(settings: Settings, service: Reviewdesk | None = None) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if service is not None:
            yield
            return
        from starter.client import connect
        from store import open_store

        client = await connect(settings)
        async with open_store(settings) as db:
            app.state.service = Reviewdesk(client, db, settings)
            yield
        # uvicorn ends `reviewdesk web` by raising the stop signal again once the app has shut
        # down, so the process never returns to flush the last spans itself.
        tracing.flush()

    app = FastAPI(
        title="Reviewdesk",
        summary="Find Reviewer: contact the author of a review, and report it when needed.",
        version="1.0.0",
        lifespan=lifespan,
        openapi_url="/api/v1/openapi.json",
        docs_url=None,  # FastAPI's page loads its scripts from a CDN: ours are served here
        redoc_url=None,
    )
    docs.install(app, "/api/v1/docs")
    app.state.settings = settings
    if service is not None:
        app.state.service = service
    app.state.signer = URLSafeTimedSerializer(session_secret(settings), salt="rd-session")
    app.state.secure_cookies = settings.public_base_url.startswith("https://")
    ratelimit.install(app, settings)
    errors.install(app, page_error=pages.page_error)
    app.include_router(api.router)
    app.include_router(api_webhooks.router)
    app.include_router(pages.router)
    app.include_router(webhook_pages.router)
    for process in (
        api_flags,
        api_notices,
        api_appeals,
        api_statements,
        api_standing,
        api_transparency,
        api_reviews,
        api_desk,
        api_policies,
        api_replies,
        api_spam,
        api_macros,
        api_insights,
    ):
        app.include_router(process.router)
    for process_pages in (
        flag_pages,
        notice_pages,
        appeal_pages,
        standing_pages,
        transparency_pages,
        desk_pages,
        policy_pages,
        reply_pages,
        macro_pages,
        insight_pages,
    ):
        app.include_router(process_pages.router)
    for route in health.routes(metrics.WEB, _service_parts):
        app.router.routes.append(route)

    app.add_middleware(Guard)
    tracing.instrument(app)
    return app
