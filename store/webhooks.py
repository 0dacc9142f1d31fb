"""A business's webhook endpoints: where its events go, which ones, and the secrets that sign them.

Secrets are kept sealed (``delivery.sealing``): signing needs them back, so they cannot be hashed
like keys, and the store alone must not be enough to forge an event. A removed endpoint stays,
with ``removed_at``, so its past deliveries still name it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime

from pydantic import BaseModel

from domain.enums import WebhookEvent
from store.connection import Connection, Row
from store.records import OutboxMessage, fetch_all, fetch_one, ts

# Beyond this a business's events would multiply without a use: one help desk, a few tools.
MAX_ENDPOINTS = 10
_COLUMNS = "id, business_id, url, event_types, created_at, removed_at, previous_secret_until"


class WebhookEndpoint(BaseModel):
    """An endpoint as its business sees it: never its secret."""

    id: str
    business_id: str
    url: str
    event_types: list[WebhookEvent]
    """Empty: every event."""
    created_at: datetime
    removed_at: datetime | None = None
    previous_secret_until: datetime | None = None
    """While a rotated secret still signs beside the new one."""

    def wants(self, event_type: str) -> bool:
        return not self.event_types or event_type in self.event_types


class SealedSecrets(BaseModel):
    secret: str
    previous_secret: str | None = None
    previous_secret_until: datetime | None = None
    rotation_key: str | None = None
    """The Idempotency-Key of the rotation that made ``secret``."""


def _endpoint(row: Row) -> WebhookEndpoint:
    return WebhookEndpoint.model_validate({**dict(row), "event_types": json.loads(row[3])})


async def add_endpoint(
    conn: Connection,
    *,
    id: str,
    business_id: str,
    url: str,
    event_types: list[WebhookEvent],
    sealed_secret: str,
    at: datetime,
    idempotency_key: str | None = None,
) -> None:
    """Raises ``sqlite3.IntegrityError`` when the business used ``idempotency_key`` already."""
    await conn.execute(
        "INSERT INTO webhook_endpoints"
        " (id, business_id, url, event_types, secret, created_at, idempotency_key)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            id,
            business_id,
            url,
            json.dumps([e.value for e in event_types]),
            sealed_secret,
            ts(at),
            idempotency_key,
        ),
    )


async def endpoint_for_key(
    conn: Connection, business_id: str, idempotency_key: str
) -> WebhookEndpoint | None:
    """The endpoint a registration with this Idempotency-Key made, removed or not."""
    row = await fetch_one(
        conn,
        f"SELECT {_COLUMNS} FROM webhook_endpoints WHERE business_id = ? AND idempotency_key = ?",
        (business_id, idempotency_key),
    )
    return _endpoint(row) if row else None


async def get_endpoint(conn: Connection, endpoint_id: str) -> WebhookEndpoint | None:
    """The endpoint, removed or not."""
    row = await fetch_one(
        conn, f"SELECT {_COLUMNS} FROM webhook_endpoints WHERE id = ?", (endpoint_id,)
    )
    return _endpoint(row) if row else None


async def endpoints_of(conn: Connection, business_id: str) -> list[WebhookEndpoint]:
    """The business's endpoints in use, oldest first."""
    rows = await fetch_all(
        conn,
        f"SELECT {_COLUMNS} FROM webhook_endpoints WHERE business_id = ? AND removed_at IS NULL"
        " ORDER BY created_at, id",
        (business_id,),
    )
    return [_endpoint(r) for r in rows]


async def endpoints_for(
    conn: Connection, business_id: str, event_type: str
) -> list[WebhookEndpoint]:
    """The endpoints in use that take this event."""
    return [e for e in await endpoints_of(conn, business_id) if e.wants(event_type)]


async def sealed_secrets(conn: Connection, endpoint_id: str) -> SealedSecrets | None:
    row = await fetch_one(
        conn,
        "SELECT secret, previous_secret, previous_secret_until, rotation_key"
        " FROM webhook_endpoints WHERE id = ?",
        (endpoint_id,),
    )
    return SealedSecrets.model_validate(dict(row)) if row else None


async def rotate_secret(
    conn: Connection,
    endpoint_id: str,
    sealed_secret: str,
    overlap_until: datetime,
    rotation_key: str | None = None,
) -> bool:
    """The current secret keeps signing beside the new one until ``overlap_until``; one rotated
    before it is dropped. False when the endpoint is removed or unknown."""
    changed = await conn.execute(
        "UPDATE webhook_endpoints SET previous_secret = secret, previous_secret_until = ?,"
        " secret = ?, rotation_key = ? WHERE id = ? AND removed_at IS NULL",
        (ts(overlap_until), sealed_secret, rotation_key, endpoint_id),
    )
    return changed == 1


async def remove_endpoint(conn: Connection, endpoint_id: str, at: datetime) -> bool:
    """False when it was removed already. Its secrets go: nothing will be signed with them."""
    changed = await conn.execute(
        "UPDATE webhook_endpoints SET removed_at = ?, secret = '', previous_secret = NULL,"
        " previous_secret_until = NULL WHERE id = ? AND removed_at IS NULL",
        (ts(at), endpoint_id),
    )
    return changed == 1


async def seal_clear_secrets(conn: Connection, seal: Callable[[str], str]) -> int:
    """Seals the secrets migration 4 moved in clear from ``businesses``; how many it sealed."""
    rows = await fetch_all(
        conn, "SELECT id, secret FROM webhook_endpoints WHERE secret LIKE 'whsec\\_%' ESCAPE '\\'"
    )
    for row in rows:
        await conn.execute(
            "UPDATE webhook_endpoints SET secret = ? WHERE id = ?", (seal(row[1]), row[0])
        )
    return len(rows)


# --- the outbox rows of webhook events ----------------------------------------------------------


async def deliveries_of(
    conn: Connection, business_id: str, *, limit: int = 50, offset: int = 0
) -> list[OutboxMessage]:
    """The business's webhook events, newest first: to each of its endpoints, removed ones
    included, and from before endpoints, to the business itself."""
    rows = await fetch_all(
        conn,
        "SELECT * FROM outbox WHERE channel = 'webhook' AND (recipient_id = ? OR recipient_id IN"
        " (SELECT id FROM webhook_endpoints WHERE business_id = ?))"
        " ORDER BY created_at DESC, key LIMIT ? OFFSET ?",
        (business_id, business_id, limit, offset),
    )
    return [OutboxMessage.model_validate(dict(r)) for r in rows]


async def reopen_failed(conn: Connection, key: str) -> bool:
    """A failed event is pending again, for a re-send; False when it was not failed."""
    changed = await conn.execute(
        "UPDATE outbox SET status = 'pending', last_error = NULL"
        " WHERE key = ? AND channel = 'webhook' AND status = 'failed'",
        (key,),
    )
    return changed == 1


async def fail_pending(conn: Connection, endpoint_id: str, reason: str) -> None:
    """An endpoint's events not yet sent fail, visibly, instead of being retried for a day."""
    await conn.execute(
        "UPDATE outbox SET status = 'failed', last_error = ?"
        " WHERE channel = 'webhook' AND recipient_id = ? AND status = 'pending'",
        (reason, endpoint_id),
    )
