"""Webhook events: their JSON body, the signature a receiver checks, and the POST that sends them.

Every event carries an id derived from its outbox key, in the body and in the
``Reviewdesk-Event-Id`` header, identical on every retry: a receiver that sees an id twice
drops the second. ``Reviewdesk-Signature: t=<unix time>,v1=<hex>`` is
HMAC-SHA256(secret, "<t>.<body>"), so a receiver can check both who sent the body and when.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import datetime, timedelta
from typing import Any

import httpx

from delivery.failures import DeliveryError

EVENT_TYPES = (
    "contact.replied",
    "contact.declined",
    "contact.no_response",
    "report.opened",
    "report.upheld",
    "report.rejected",
)
SIGNATURE_HEADER = "Reviewdesk-Signature"
EVENT_ID_HEADER = "Reviewdesk-Event-Id"
EVENT_TYPE_HEADER = "Reviewdesk-Event-Type"


def event_id(key: str) -> str:
    """The outbox key names the event, so every retry of it carries the same id."""
    return f"evt_{hashlib.sha256(key.encode()).hexdigest()[:32]}"


def event_body(
    key: str, event_type: str, created_at: datetime, business_id: str, data: dict[str, Any]
) -> str:
    """The exact text that is sent and signed, fixed when the event is recorded."""
    return json.dumps(
        {
            "id": event_id(key),
            "type": event_type,
            "created_at": created_at.isoformat(),
            "business_id": business_id,
            "data": data,
        },
        separators=(",", ":"),
        ensure_ascii=False,
    )


def signature(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(
    secret: str,
    header: str,
    body: bytes,
    *,
    now: float | None = None,
    tolerance: timedelta = timedelta(minutes=5),
) -> bool:
    """What a receiver does with ``Reviewdesk-Signature``: the body is ours and recent."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance.total_seconds():
        return False
    expected = signature(secret, timestamp, body)
    return hmac.compare_digest(expected, f"t={timestamp},v1={parts.get('v1', '')}")


class WebhookSender:
    def __init__(self, timeout: timedelta) -> None:
        self.timeout = timeout.total_seconds()

    async def send(self, url: str, secret: str, key: str, event_type: str, body: str) -> None:
        """Returns once the receiver answered 2xx; anything else raises, so it is retried."""
        data = body.encode()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "Reviewdesk-Webhooks/1",
            EVENT_ID_HEADER: event_id(key),
            EVENT_TYPE_HEADER: event_type,
            # Signed at send time, so a receiver may refuse a replayed old request.
            SIGNATURE_HEADER: signature(secret, int(time.time()), data),
        }
        try:
            # A redirect is not followed: the endpoint is what the business registered.
            async with httpx.AsyncClient(timeout=self.timeout, follow_redirects=False) as client:
                response = await client.post(url, content=data, headers=headers)
        except httpx.HTTPError as err:
            raise DeliveryError(type(err).__name__, f"{type(err).__name__}: {err}") from None
        if not 200 <= response.status_code < 300:
            raise DeliveryError(
                f"HTTP {response.status_code}",
                f"HTTP {response.status_code}: {response.text[:200]}",
            )
