"""Recording a notification in the outbox, inside the transaction of the step that causes it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from delivery.texts import Text
from delivery.webhooks import EVENT_TYPES, event_body
from domain.messages import DeliveryPolicy
from store import outbox, webhooks
from store.connection import Connection
from store.records import Business, OutboxMessage

# Tries the messages once now and starts a delivery workflow for each one not sent:
# DeliveryActivities.hand_over.
HandOver = Callable[[list[str], DeliveryPolicy], Awaitable[None]]


async def hand_over(keys: list[str], policy: DeliveryPolicy | None, to: HandOver | None) -> None:
    """Hands a step's messages to delivery once they are committed (v3 steps).

    ``policy`` is None for a step of a workflow from before v3, which dispatches them itself.
    A retried step hands them over again: what was sent is not sent twice.
    """
    if policy is None or not keys:
        return
    if to is None:
        raise RuntimeError("this worker's steps have no delivery to hand messages to")
    await to(keys, policy)


def outbox_key(subject_id: str, event_type: str, recipient_kind: str) -> str:
    """One message per subject, event and recipient: the key a retry shares with the first try."""
    return f"{subject_id}:{event_type}:{recipient_kind}"


async def email(
    conn: Connection,
    *,
    subject_id: str,
    event_type: str,
    recipient_kind: str,
    recipient_id: str,
    to_address: str,
    text: Text,
    at: datetime,
    link_purpose: str | None = None,
) -> str:
    """Records an email; one with a one-time link names its purpose, and the text where it goes."""
    if (link_purpose is None) != (text.link_at is None):
        raise ValueError("a one-time link needs both its purpose and its place in the text")
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
            link_purpose=link_purpose,
            link_at=text.link_at,
        ),
    )
    return key


async def webhook(
    conn: Connection,
    *,
    business: Business,
    subject_id: str,
    event_type: str,
    data: dict[str, Any],
    at: datetime,
) -> list[str]:
    """Records the event beside the business's email, once for each endpoint that takes it.

    Each endpoint has its own row, so its own attempts and its own failure: one endpoint down
    does not hold back another. ``data`` is what the business may know: ids, statuses, and what
    a reviewer chose to share, never the reviewer's address. The body is fixed here, so every
    retry sends the same bytes, and it is the same for every endpoint.
    """
    assert event_type in EVENT_TYPES, event_type
    keys = []
    for endpoint in await webhooks.endpoints_for(conn, business.id, event_type):
        key = f"{outbox_key(subject_id, event_type, 'webhook')}:{endpoint.id}"
        await outbox.enqueue(
            conn,
            OutboxMessage(
                key=key,
                channel="webhook",
                subject_id=subject_id,
                event_type=event_type,
                recipient_kind="endpoint",
                recipient_id=endpoint.id,
                to_address=endpoint.url,
                subject=event_type,
                body_text=event_body(key, event_type, at, business.id, data),
                created_at=at,
            ),
        )
        keys.append(key)
    return keys


async def tell_business(
    conn: Connection,
    *,
    business: Business,
    subject_id: str,
    event_type: str,
    text: Text,
    data: dict[str, Any],
    at: datetime,
) -> list[str]:
    """The business's email and its webhook endpoints' event about one step: their outbox keys."""
    key = await email(
        conn,
        subject_id=subject_id,
        event_type=event_type,
        recipient_kind="business",
        recipient_id=business.id,
        to_address=business.email,
        text=text,
        at=at,
    )
    return [
        key,
        *await webhook(
            conn,
            business=business,
            subject_id=subject_id,
            event_type=event_type,
            data=data,
            at=at,
        ),
    ]
