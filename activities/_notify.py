"""Recording a notification in the outbox, inside the transaction of the step that causes it."""

from __future__ import annotations

from datetime import datetime

import aiosqlite

from delivery.texts import Text
from store import outbox
from store.records import OutboxMessage


def outbox_key(subject_id: str, event_type: str, recipient_kind: str) -> str:
    """One message per subject, event and recipient: the key a retry shares with the first try."""
    return f"{subject_id}:{event_type}:{recipient_kind}"


async def email(
    conn: aiosqlite.Connection,
    *,
    subject_id: str,
    event_type: str,
    recipient_kind: str,
    recipient_id: str,
    to_address: str,
    text: Text,
    at: datetime,
) -> str:
    key = outbox_key(subject_id, event_type, recipient_kind)
    await outbox.enqueue(
        conn,
        OutboxMessage(
            key=key,
            channel="email",
            subject_id=subject_id,
            event_type=event_type,
            recipient_kind=recipient_kind,
            recipient_id=recipient_id,
            to_address=to_address,
            subject=text.subject,
            body_text=text.body,
            created_at=at,
        ),
    )
    return key
