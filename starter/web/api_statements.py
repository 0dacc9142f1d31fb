"""GET /api/v1/statements: statements of reasons as JSON lines, in the shape of the DSA
Transparency Database's statement API (DESIGN rule 10), for moderators."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from starter.web.api import ERRORS
from starter.web.auth import ModeratorDep, ServiceDep
from starter.web.errors import ApiError

router = APIRouter(prefix="/api/v1")
MEDIA_TYPE = "application/x-ndjson"


def _line(body: dict[str, Any]) -> bytes:
    return (json.dumps(body, sort_keys=True, ensure_ascii=False) + "\n").encode()


def _utc(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


@router.get(
    "/statements",
    tags=["moderator"],
    responses={
        **ERRORS,
        200: {
            "description": "One DSA statement record per line, oldest first "
            "(domain/dsa_statement.schema.json)",
            "content": {MEDIA_TYPE: {}},
        },
        403: {"description": "Not a moderator key"},
    },
    response_class=StreamingResponse,
)
async def export_statements(
    moderator: ModeratorDep,
    service: ServiceDep,
    start: Annotated[datetime | None, Query(alias="from")] = None,
    end: Annotated[datetime | None, Query(alias="to")] = None,
) -> StreamingResponse:
    """Statements made from ``from`` (included) to ``to`` (excluded), ISO 8601 times (UTC when no
    offset is given), each a JSON object on its own line. No personal data is in them."""
    start, end = _utc(start), _utc(end)
    if start is not None and end is not None and end < start:
        raise ApiError(422, "invalid_input", "'to' must not be before 'from'.")

    records = service.statements.export(start, end)
    # Read before the 200 goes out: a store that does not answer gets its 503 with Retry-After,
    # not a cut-off body.
    first = await anext(records, None)

    async def lines() -> AsyncIterator[bytes]:
        if first is None:
            return
        yield _line(first)
        async for body in records:
            yield _line(body)

    return StreamingResponse(lines(), media_type=MEDIA_TYPE)
