"""Every error the API answers with has one shape: ``{"error": {"code", "message"}}``."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from domain.refusals import Refused
from starter.unavailable import (
    MESSAGE,
    RETRY_AFTER_SECONDS,
    UNAVAILABLE_ERRORS,
    describe,
    is_outage,
)
from starter.web.sign_in import SignInFirst

log = logging.getLogger("reviewdesk.web")


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers


def error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, **extra}}


def install(app: FastAPI, *, page_error: Any) -> None:
    """JSON errors under /api; pages render their own error page through ``page_error``."""

    def is_api(request: Request) -> bool:
        return request.url.path.startswith("/api/")

    @app.exception_handler(Refused)
    async def refused(request: Request, exc: Refused) -> Response:
        status = exc.reason.http_status
        headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after is not None else {}
        if not is_api(request):
            page: Response = page_error(request, status, exc.message, exc.reason.value)
            page.headers.update(headers)
            return page
        return JSONResponse(
            error_body(exc.reason.value, exc.message), status_code=status, headers=headers
        )

    @app.exception_handler(SignInFirst)
    async def sign_in_first(request: Request, exc: SignInFirst) -> Response:
        return RedirectResponse(exc.url, status_code=303)

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> Response:
        if not is_api(request):
            return page_error(request, exc.status, exc.message, exc.code)  # type: ignore[no-any-return]
        return JSONResponse(
            error_body(exc.code, exc.message), status_code=exc.status, headers=exc.headers
        )

    async def unavailable(request: Request, exc: Exception) -> Response:
        # Temporal or the store did not answer in time: "try again shortly", never a hang or a
        # 500. What was asked may still happen; a retry with the same idempotency key is safe.
        if not is_outage(exc):
            raise exc  # a statement's own fault: a 500 for someone to look at, not "try again"
        log.warning("answered 503: %s", describe(exc))
        headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
        if not is_api(request):
            page: Response = page_error(request, 503, MESSAGE, "unavailable")
            page.headers.update(headers)
            return page
        return JSONResponse(error_body("unavailable", MESSAGE), status_code=503, headers=headers)

    for kind in UNAVAILABLE_ERRORS:
        app.add_exception_handler(kind, unavailable)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        problems = [
            {"field": ".".join(str(p) for p in e["loc"][1:]) or "body", "problem": e["msg"]}
            for e in exc.errors()
        ]
        message = "; ".join(f"{p['field']}: {p['problem']}" for p in problems[:5])
        if not is_api(request):
            return page_error(request, 422, message, "invalid_input")  # type: ignore[no-any-return]
        return JSONResponse(error_body("invalid_input", message, details=problems), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        message = str(exc.detail) if exc.detail else code
        if not is_api(request):
            return page_error(request, exc.status_code, message, code)  # type: ignore[no-any-return]
        return JSONResponse(error_body(code, message), status_code=exc.status_code)


def too_large(request: Request) -> Response:
    message = "The request body is too large."
    return JSONResponse(error_body("too_large", message), status_code=413)
