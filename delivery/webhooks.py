"""Webhook events per the Standard Webhooks specification: their JSON body, the signature a
receiver checks, and the POST that sends them.

Every event carries an id derived from its event's key, in the body and in the ``webhook-id``
header, identical on every retry, on a re-send and at every endpoint it goes to: a receiver that
sees an id twice drops the second. ``webhook-signature`` is ``v1,<base64 HMAC-SHA256>`` of
``<webhook-id>.<webhook-timestamp>.<body>`` with the endpoint's secret (the base64 after
``whsec_``); while a rotated secret overlaps the new one, both signatures are sent, space
separated, so a receiver holding either accepts the event.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import ssl
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from standardwebhooks.webhooks import Webhook

from delivery.egress import Egress, NotAllowed, Unresolved
from delivery.failures import DeliveryError
from domain.enums import WebhookEvent

EVENT_TYPES = tuple(e.value for e in WebhookEvent)
# What a business sees of a failed attempt: a status code or one of these words, never the
# receiver's answer or the connection error's text (which would map the worker's network).
TIMED_OUT = "timed out"
CONNECTION_FAILED = "connection failed"
ADDRESS_NOT_ALLOWED = "address not allowed"
REDIRECT_NOT_FOLLOWED = "redirect not followed"
SECRET_UNREADABLE = "secret unreadable"
ENDPOINT_REMOVED = "endpoint removed"
NO_WEBHOOK = "no webhook registered"


def new_secret() -> str:
    """A signing secret as the specification has it: ``whsec_`` and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def event_key(outbox_key: str) -> str:
    """The event an outbox row carries: its key without the endpoint it goes to.

    ``<subject>:<event>:webhook`` for a business's first, single webhook; since endpoints,
    ``<subject>:<event>:webhook:<endpoint id>``, one row per endpoint for the same event.
    """
    return ":".join(outbox_key.split(":")[:3])


def event_id(key: str) -> str:
    """The event's key names it, so every retry, re-send and endpoint of it has the same id."""
    return f"evt_{hashlib.sha256(event_key(key).encode()).hexdigest()[:32]}"


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


def signature(secrets_: list[str], msg_id: str, timestamp: int, body: str) -> str:
    """``webhook-signature``: one ``v1,<base64>`` per secret in force, space separated."""
    at = datetime.fromtimestamp(timestamp, UTC)
    return " ".join(Webhook(s).sign(msg_id, at, body) for s in secrets_)


@dataclass(frozen=True)
class Destination:
    """Where one event goes now: the endpoint's URL and the secrets that sign it (the current
    one first, then a rotated one still in its overlap)."""

    url: str
    secrets: list[str] = field(repr=False)


class WebhookSender:
    def __init__(
        self, timeout: timedelta, egress: Egress, *, verify: ssl.SSLContext | bool = True
    ) -> None:
        self.timeout = timeout.total_seconds()
        self.egress = egress
        # Tests trust their own certificate authority; everyone else, the system's.
        self.verify = verify

    async def send(self, to: Destination, key: str, body: str) -> None:
        """Returns once the receiver answered 2xx; anything else raises, so it is retried."""
        try:
            # The address checked is the address connected to: no second lookup of the name.
            target = await self.egress.pin(to.url)
        except Unresolved:
            raise DeliveryError(CONNECTION_FAILED, CONNECTION_FAILED) from None
        except NotAllowed:
            raise DeliveryError(ADDRESS_NOT_ALLOWED, ADDRESS_NOT_ALLOWED, permanent=True) from None
        msg_id = event_id(key)
        # Signed at send time, so a receiver may refuse a replayed old request.
        timestamp = int(time.time())
        try:
            signed = signature(to.secrets, msg_id, timestamp, body)
        except Exception:
            # Not base64 after whsec_ (secrets from before endpoints are re-encoded when opened
            # or sealed, so none should be): a rotation mends it, a retry would not.
            raise DeliveryError(SECRET_UNREADABLE, SECRET_UNREADABLE, permanent=True) from None
        headers = {
            "Host": target.host_header,
            "Content-Type": "application/json",
            "User-Agent": "Reviewdesk-Webhooks/2",
            "webhook-id": msg_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": signed,
        }
        try:
            # No proxies from the environment: a proxy would resolve the name again itself.
            async with (
                httpx.AsyncClient(
                    timeout=self.timeout,
                    follow_redirects=False,
                    trust_env=False,
                    verify=self.verify,
                ) as client,
                # Streamed and never read: the receiver's answer is not ours to keep or show.
                client.stream(
                    "POST",
                    target.url,
                    content=body.encode(),
                    headers=headers,
                    extensions={"sni_hostname": target.server_name},
                ) as response,
            ):
                status = response.status_code
        except httpx.TimeoutException:
            raise DeliveryError(TIMED_OUT, TIMED_OUT) from None
        except httpx.HTTPError:
            raise DeliveryError(CONNECTION_FAILED, CONNECTION_FAILED) from None
        if 300 <= status < 400:
            raise DeliveryError(REDIRECT_NOT_FOLLOWED, REDIRECT_NOT_FOLLOWED)
        if not 200 <= status < 300:
            raise DeliveryError(f"HTTP {status}", f"HTTP {status}")
