"""The web app: one FastAPI application for the API and the pages.

It can own its Temporal client and store (``reviewdesk web``) or share the ones of a running
service (``up``, tests).
"""

from __future__ import annotations

import logging
import re
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from itsdangerous import URLSafeTimedSerializer

from settings import Settings
from starter.service import Reviewdesk
from starter.web import api, errors, pages

log = logging.getLogger("reviewdesk.web")
MAX_BODY = 64 * 1024
_TOKEN_IN_PATH = re.compile(r"/reply/[^/?#]+")
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
    return _TOKEN_IN_PATH.sub("/reply/<token>", path)


def session_secret(settings: Settings) -> str:
    if settings.session_secret is not None:
        return settings.session_secret.get_secret_value()
    path = settings.data_dir / "session.key"
    if not path.exists():
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


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

    app = FastAPI(
        title="Reviewdesk",
        summary="Find Reviewer: contact the author of a review, and report it when needed.",
        version="1.0.0",
        lifespan=lifespan,
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/v1/docs",
        redoc_url=None,
    )
    app.state.settings = settings
    if service is not None:
        app.state.service = service
    app.state.signer = URLSafeTimedSerializer(session_secret(settings), salt="rd-session")
    app.state.secure_cookies = settings.public_base_url.startswith("https://")
    errors.install(app, page_error=pages.page_error)
    app.include_router(api.router)
    app.include_router(pages.router)

    @app.middleware("http")
    async def guard(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        started = time.perf_counter()
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > MAX_BODY):
            response: Response = errors.too_large(request)
        else:
            response = await call_next(request)
        response.headers.update(SECURITY_HEADERS)
        # Our own access log: uvicorn's would print reply tokens, so it is switched off.
        log.info(
            "%s %s %s %.1fms",
            request.method,
            redact(request.url.path),
            response.status_code,
            (time.perf_counter() - started) * 1000,
        )
        return response

    return app
