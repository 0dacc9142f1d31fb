"""Every notification, recorded once under its key before it is sent, then marked sent."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from store.connection import Connection
from store.records import OutboxMessage, fetch_all, fetch_one, ts


async def enqueue(conn: Connection, message: OutboxMessage) -> bool:
    """True when the message is new; a retried activity finds it there and adds nothing."""
    changed = await conn.execute(
        "INSERT INTO outbox (key, channel, subject_id, event_type, recipient_kind,"
        " recipient_id, to_address, subject, body_text, created_at, link_purpose, link_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        (
            message.key,
            message.channel,
            message.subject_id,
            message.event_type,
            message.recipient_kind,
            message.recipient_id,
            message.to_address,
            message.subject,
            message.body_text,
            ts(message.created_at),
            message.link_purpose,
            message.link_at,
        ),
    )
    return changed == 1


async def has_message(conn: Connection, key: str) -> bool:
    return await fetch_one(conn, "SELECT 1 FROM outbox WHERE key = ?", (key,)) is not None


async def get_message(conn: Connection, key: str) -> OutboxMessage | None:
    row = await fetch_one(conn, "SELECT * FROM outbox WHERE key = ?", (key,))
    return OutboxMessage.model_validate(dict(row)) if row else None


async def messages_about(conn: Connection, subject_ids: Sequence[str]) -> list[OutboxMessage]:
    ids = [s for s in subject_ids if s]
    if not ids:
        return []
    marks = ", ".join("?" for _ in ids)
    rows = await fetch_all(
        conn,
        f"SELECT * FROM outbox WHERE subject_id IN ({marks}) ORDER BY created_at, key",
        tuple(ids),
    )
    return [OutboxMessage.model_validate(dict(r)) for r in rows]


async def all_messages(conn: Connection) -> list[OutboxMessage]:
    rows = await fetch_all(conn, "SELECT * FROM outbox ORDER BY created_at, key")
    return [OutboxMessage.model_validate(dict(r)) for r in rows]


# A reviewer's request email recorded before links were derived (store migration of issue 15)
# holds its random link in clear, as it must until it is sent: then its text goes, link and all.
_CLEAR_LINK_OUT = (
    "body_text = CASE WHEN link_purpose IS NULL AND channel = 'email'"
    " AND event_type = 'contact.requested' THEN ? ELSE body_text END"
)
CLEAR_LINK_REMOVED = "[This email held a one-time link. Its text was removed once it was sent.]"


async def mark_sent(conn: Connection, key: str, at: datetime) -> None:
    await conn.execute(
        "UPDATE outbox SET status = 'sent', sent_at = ?, attempts = attempts + 1,"
        f" last_error = NULL, {_CLEAR_LINK_OUT} WHERE key = ? AND status = 'pending'",
        (ts(at), CLEAR_LINK_REMOVED, key),
    )


async def note_failed_attempt(conn: Connection, key: str, error: str) -> None:
    # An attempt still counts once the message was settled meanwhile (its endpoint removed, say),
    # but what settled it stays the reason shown.
    await conn.execute(
        "UPDATE outbox SET attempts = attempts + 1,"
        " last_error = CASE WHEN status = 'pending' THEN ? ELSE last_error END WHERE key = ?",
        (error[:500], key),
    )


async def mark_failed(conn: Connection, key: str, error: str) -> None:
    await conn.execute(
        f"UPDATE outbox SET status = 'failed', last_error = ?, {_CLEAR_LINK_OUT}"
        " WHERE key = ? AND status = 'pending'",
        (error[:500], CLEAR_LINK_REMOVED, key),
    )
