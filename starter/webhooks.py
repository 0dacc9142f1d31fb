"""A business's webhook endpoints, for the CLI and the web app: register, list, remove, rotate a
secret, read the deliveries and send a failed event again.

Every operation checks that the endpoint or event is the business's own; another business's
is refused as if it did not exist. A secret is returned once, when made, and kept sealed.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from temporalio.client import Client, WorkflowFailureError
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.service import RPCError, RPCStatusCode

from delivery.egress import Egress, NotAllowed
from delivery.sealing import Sealer, Unreadable, sealer_for, standard_form
from delivery.webhooks import ENDPOINT_REMOVED, event_id, new_secret
from domain import message_workflow_id
from domain.messages import DeliveryPolicy, MessageInput
from domain.refusals import Refusal, Refused
from settings import Settings
from starter.inputs import WebhookBody
from starter.unavailable import deadline
from store import Store, accounts, outbox
from store import webhooks as stored
from store.errors import Conflict
from store.records import OutboxMessage, now
from store.webhooks import MAX_ENDPOINTS, WebhookEndpoint


class EndpointWithSecret(BaseModel):
    """An endpoint just registered or rotated, with its new secret: shown this once."""

    endpoint: WebhookEndpoint
    secret: str


class WebhookDelivery(BaseModel):
    """One event to one endpoint, as its business may see it."""

    key: str
    """Names this delivery: re-send it with this."""
    event_id: str
    """The ``webhook-id`` header and the body's ``id``: the same on every attempt and re-send."""
    event_type: str
    subject_id: str
    endpoint_id: str | None
    """None for an event from before endpoints, sent to the business's first endpoint."""
    status: str
    attempts: int
    created_at: datetime
    sent_at: datetime | None = None
    last_error: str | None = None
    """A status code (``HTTP 500``) or a fixed phrase (``timed out``, ``connection failed``,
    ``address not allowed``, ``redirect not followed``): never the receiver's answer."""

    @classmethod
    def of(cls, message: OutboxMessage) -> WebhookDelivery:
        return cls(
            key=message.key,
            event_id=event_id(message.key),
            event_type=message.event_type,
            subject_id=message.subject_id,
            endpoint_id=message.recipient_id if message.recipient_kind == "endpoint" else None,
            status=message.status,
            attempts=message.attempts,
            created_at=message.created_at,
            sent_at=message.sent_at,
            last_error=message.last_error,
        )


class WebhookEndpoints:
    def __init__(
        self,
        client: Client,
        db: Store,
        settings: Settings,
        *,
        egress: Egress | None = None,
        sealer: Sealer | None = None,
    ) -> None:
        self.client = client
        self.db = db
        self.settings = settings
        self.egress = egress or Egress(allow_private=settings.webhook_allow_private)
        self._sealer = sealer

    @property
    def sealer(self) -> Sealer:
        # Made when first needed: reading the endpoints needs no key.
        if self._sealer is None:
            self._sealer = sealer_for(self.settings)
        return self._sealer

    async def register(
        self, business_id: str, body: WebhookBody, *, idempotency_key: str | None = None
    ) -> EndpointWithSecret:
        """The business's events of ``body.event_types`` (none: all) go to ``body.url`` too.

        Registering again with the same ``idempotency_key`` answers with the first endpoint
        and its secret: a retry after a lost answer makes no second endpoint.
        """
        if idempotency_key and (first := await self._registered(business_id, idempotency_key)):
            return first
        await self._allowed(body.url)
        secret = new_secret()
        endpoint_id = f"we_{secrets.token_hex(10)}"
        try:
            async with self.db.tx() as conn:
                if await accounts.get_business(conn, business_id) is None:
                    raise Refused(Refusal.BUSINESS_NOT_FOUND)
                if len(await stored.endpoints_of(conn, business_id)) >= MAX_ENDPOINTS:
                    raise Refused(Refusal.WEBHOOK_LIMIT_REACHED)
                await stored.add_endpoint(
                    conn,
                    id=endpoint_id,
                    business_id=business_id,
                    url=body.url,
                    event_types=body.event_types,
                    sealed_secret=self.sealer.seal(secret),
                    at=now(),
                    idempotency_key=idempotency_key,
                )
                endpoint = await stored.get_endpoint(conn, endpoint_id)
        except Conflict:
            # The same key twice at once: the first one stands.
            first = await self._registered(business_id, idempotency_key or "")
            if first is None:
                raise
            return first
        assert endpoint is not None
        return EndpointWithSecret(endpoint=endpoint, secret=secret)

    async def endpoints(self, business_id: str) -> list[WebhookEndpoint]:
        async with self.db.read() as conn:
            return await stored.endpoints_of(conn, business_id)

    async def remove(self, business_id: str, endpoint_id: str) -> WebhookEndpoint:
        """Nothing more goes to it; its events not yet sent fail as removed. Removing it again
        answers the same."""
        async with self.db.tx() as conn:
            endpoint = await self._own(conn, business_id, endpoint_id)
            if await stored.remove_endpoint(conn, endpoint.id, now()):
                await stored.fail_pending(conn, endpoint.id, ENDPOINT_REMOVED)
            removed = await stored.get_endpoint(conn, endpoint.id)
        assert removed is not None
        return removed

    async def rotate(
        self, business_id: str, endpoint_id: str, *, idempotency_key: str | None = None
    ) -> EndpointWithSecret:
        """A new secret signs from now on; the old one signs beside it for the overlap.

        The same ``idempotency_key`` as the last rotation answers with that rotation's secret:
        rotating twice by mistake would drop the secret the receiver still holds.
        """
        secret = new_secret()
        overlap_until = now() + self.settings.webhook_secret_overlap
        async with self.db.tx() as conn:
            endpoint = await self._own(conn, business_id, endpoint_id)
            sealed = await stored.sealed_secrets(conn, endpoint.id)
            if (
                idempotency_key
                and endpoint.removed_at is None
                and sealed is not None
                and sealed.rotation_key == idempotency_key
                and (made := self._open(sealed.secret)) is not None
            ):
                return EndpointWithSecret(endpoint=endpoint, secret=made)
            if not await stored.rotate_secret(
                conn, endpoint.id, self.sealer.seal(secret), overlap_until, idempotency_key
            ):
                raise Refused(Refusal.WEBHOOK_REMOVED)
            rotated = await stored.get_endpoint(conn, endpoint.id)
        assert rotated is not None
        return EndpointWithSecret(endpoint=rotated, secret=secret)

    async def deliveries(
        self, business_id: str, *, limit: int = 50, offset: int = 0
    ) -> list[WebhookDelivery]:
        """The business's webhook events, newest first, with their status: failed ones stay."""
        async with self.db.read() as conn:
            found = await stored.deliveries_of(conn, business_id, limit=limit, offset=offset)
        return [WebhookDelivery.of(m) for m in found]

    async def delivery(self, business_id: str, key: str) -> WebhookDelivery:
        """One of the business's deliveries, by its key."""
        async with self.db.read() as conn:
            message = await outbox.get_message(conn, key)
            await self._endpoint_of(conn, business_id, message)
        assert message is not None
        return WebhookDelivery.of(message)

    async def resend(self, business_id: str, key: str) -> WebhookDelivery:
        """Sends a failed event again, with the same ``webhook-id`` and body, retried as a new
        event is. Asking again while it is being sent changes nothing.

        Raises ``Unavailable`` when the delivery workflow that gave up on it has not ended
        within the deadline (its worker is down): the event stays failed, to be asked again.
        """
        async with self.db.read() as conn:
            message = await self._resendable(conn, business_id, key)
        if message.status == "failed":
            # ``give_up`` marks the event failed a moment before its workflow ends. Reopened in
            # that moment, the event would be joined to the ending run below and left pending
            # with no one to send it: so that run must be over first.
            await self._delivery_ended(key)
        async with self.db.tx() as conn:
            message = await self._resendable(conn, business_id, key)
            reopened = await stored.reopen_failed(conn, key)
        # A pending event that was never tried is in its first attempt: a second sender now
        # could make a second copy. One tried before belongs to its delivery workflow, which is
        # started again below if a re-send stopped before it could start it.
        if not reopened and (message.status == "sent" or message.attempts == 0):
            raise Refused(Refusal.WEBHOOK_EVENT_NOT_FAILED)
        await self._deliver(key)
        async with self.db.read() as conn:
            again = await outbox.get_message(conn, key)
        assert again is not None
        return WebhookDelivery.of(again)

    # --- plumbing ------------------------------------------------------------------------------

    async def _resendable(self, conn: Any, business_id: str, key: str) -> OutboxMessage:
        """The business's own event, if it may be sent again; else refused."""
        message = await outbox.get_message(conn, key)
        endpoint = await self._endpoint_of(conn, business_id, message)
        assert message is not None
        if endpoint is not None and endpoint.removed_at is not None:
            raise Refused(Refusal.WEBHOOK_REMOVED)
        if not message.body_text:
            # Purged after its case ended (``retention``): nothing is left to send.
            raise Refused(Refusal.WEBHOOK_EVENT_NOT_FOUND, "This event's content was purged.")
        return message

    async def _delivery_ended(self, key: str) -> None:
        """Waits, within the deadline, for the event's delivery workflow to end, if one runs."""
        limit = self.settings.temporal_call_timeout
        handle = self.client.get_workflow_handle(message_workflow_id(key))
        async with deadline(limit):
            try:
                await handle.result(rpc_timeout=limit)
            except WorkflowFailureError:
                pass  # terminated, timed out: ended all the same
            except RPCError as err:
                # Never started (given up at its first attempt), or its history expired.
                if err.status is not RPCStatusCode.NOT_FOUND:
                    raise

    async def _registered(
        self, business_id: str, idempotency_key: str
    ) -> EndpointWithSecret | None:
        """What the registration with this key answered, if there was one."""
        async with self.db.read() as conn:
            endpoint = await stored.endpoint_for_key(conn, business_id, idempotency_key)
            sealed = await stored.sealed_secrets(conn, endpoint.id) if endpoint else None
        if endpoint is None or sealed is None:
            return None
        if endpoint.removed_at is not None:
            raise Refused(Refusal.WEBHOOK_REMOVED)
        secret = self._open(sealed.secret)
        if secret is None:
            # Sealed with a key the service no longer has: nothing can be signed with it, so
            # a new one takes its place at once.
            return await self.rotate(business_id, endpoint.id)
        return EndpointWithSecret(endpoint=endpoint, secret=secret)

    def _open(self, sealed: str) -> str | None:
        try:
            return self.sealer.open(sealed)
        except Unreadable:
            return None

    async def _allowed(self, url: str) -> None:
        try:
            await self.egress.check(url)
        except NotAllowed as refused:
            raise Refused(Refusal.WEBHOOK_URL_NOT_ALLOWED, str(refused)) from None

    async def _own(self, conn: Any, business_id: str, endpoint_id: str) -> WebhookEndpoint:
        endpoint = await stored.get_endpoint(conn, endpoint_id)
        if endpoint is None or endpoint.business_id != business_id:
            raise Refused(Refusal.WEBHOOK_NOT_FOUND)
        return endpoint

    async def _endpoint_of(
        self, conn: Any, business_id: str, message: OutboxMessage | None
    ) -> WebhookEndpoint | None:
        """The endpoint of a business's own webhook event (None for one from before endpoints);
        anything else is refused as not found."""
        if message is None or message.channel != "webhook":
            raise Refused(Refusal.WEBHOOK_EVENT_NOT_FOUND)
        if message.recipient_kind == "business" and message.recipient_id == business_id:
            return None
        endpoint = await stored.get_endpoint(conn, message.recipient_id)
        if (
            message.recipient_kind != "endpoint"
            or endpoint is None
            or endpoint.business_id != business_id
        ):
            raise Refused(Refusal.WEBHOOK_EVENT_NOT_FOUND)
        return endpoint

    async def _deliver(self, key: str) -> None:
        from workflows.delivery import MessageDeliveryWorkflow

        s = self.settings
        policy = DeliveryPolicy(
            attempt_timeout=s.delivery_attempt_timeout,
            give_up_after=s.delivery_give_up_after,
            webhook_give_up_after=s.webhook_give_up_after,
        )
        # The id of the event's first delivery workflow, run again now that it has ended (a
        # failed event is reopened only then); one running is a re-send's, or retries an event
        # that was not failed: it is joined, not doubled.
        async with deadline(s.temporal_call_timeout):
            await self.client.start_workflow(
                MessageDeliveryWorkflow.run,
                MessageInput(key=key, delivery=policy.for_channel("webhook")),
                id=message_workflow_id(key),
                task_queue=s.task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                rpc_timeout=s.temporal_call_timeout,
            )


async def seal_clear_secrets(db: Store, settings: Settings) -> None:
    """Seals the secrets the endpoints migration moved in clear from ``businesses``: a worker
    does it when it starts, so they stay in clear no longer than the upgrade. Each is sealed in
    the standard's form of the same key, so a receiver keeps the key it had."""
    sealer = sealer_for(settings)
    async with db.tx() as conn:
        await stored.seal_clear_secrets(conn, lambda clear: sealer.seal(standard_form(clear)))
