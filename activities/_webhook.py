"""Where a webhook event goes at the time of an attempt, read from the store for each attempt."""

from __future__ import annotations

import contextlib
from datetime import datetime

from delivery.sealing import Sealer, Unreadable
from delivery.webhooks import ENDPOINT_REMOVED, NO_WEBHOOK, SECRET_UNREADABLE, Destination
from store import webhooks
from store.connection import Connection
from store.records import OutboxMessage, now


async def destination(
    conn: Connection, message: OutboxMessage, sealer: Sealer
) -> Destination | str:
    """The endpoint's URL and the secrets in force now, or why the event cannot go (for good).

    An event recorded before endpoints existed (``recipient_kind`` business) goes to the
    business's first endpoint in use.
    """
    if message.recipient_kind == "business":
        found = await webhooks.endpoints_of(conn, message.recipient_id)
        if not found:
            return NO_WEBHOOK
        endpoint = found[0]
    else:
        got = await webhooks.get_endpoint(conn, message.recipient_id)
        if got is None:
            return NO_WEBHOOK
        endpoint = got
    if endpoint.removed_at is not None:
        return ENDPOINT_REMOVED
    sealed = await webhooks.sealed_secrets(conn, endpoint.id)
    assert sealed is not None
    try:
        secrets = [sealer.open(sealed.secret)]
    except Unreadable:
        return SECRET_UNREADABLE
    if sealed.previous_secret and _after(sealed.previous_secret_until, now()):
        # The new secret alone still signs: a receiver that has switched accepts it.
        with contextlib.suppress(Unreadable):
            secrets.append(sealer.open(sealed.previous_secret))
    return Destination(url=endpoint.url, secrets=secrets)


def _after(until: datetime | None, at: datetime) -> bool:
    return until is not None and until > at
