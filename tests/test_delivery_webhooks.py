"""Signed webhooks to a receiver on loopback: each event once, same id on every retry, never
blocking a contact, failed visibly after a day of retrying."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from pydantic import ValidationError
from temporalio.testing import WorkflowEnvironment

from delivery.webhooks import verify
from domain import contact_workflow_id
from domain.enums import Answer, ContactStatus, Decision, Grounds, ReportStatus
from domain.refusals import Refusal, Refused
from starter.inputs import ContactRequestBody, DecisionBody, ReplyBody, ReportBody
from store import accounts
from store.records import OutboxMessage
from tests.conftest import Harness
from tests.processes import cli, env_for

ASK = ContactRequestBody(message="We can't find your order. Could you help us?")


@dataclass
class Delivery:
    headers: dict[str, str]
    body: bytes
    status: int

    @property
    def event(self) -> dict[str, Any]:
        event: dict[str, Any] = json.loads(self.body)
        return event

    @property
    def event_id(self) -> str:
        return self.headers["reviewdesk-event-id"]


class Receiver:
    """A help desk's endpoint: an HTTP/1.1 server on loopback that records every request and
    answers 500 to the first ``fail_first`` requests of each event, 200 after that."""

    def __init__(self, fail_first: int = 0) -> None:
        self.fail_first = fail_first
        self.deliveries: list[Delivery] = []
        self.url = ""
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}/hooks/reviewdesk"

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def accepted(self) -> list[Delivery]:
        return [d for d in self.deliveries if 200 <= d.status < 300]

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readline()  # POST /hooks/reviewdesk HTTP/1.1
            headers: dict[str, str] = {}
            while (line := (await reader.readline()).decode().strip()) != "":
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            seen = sum(1 for d in self.deliveries if d.event_id == headers["reviewdesk-event-id"])
            status = 500 if seen < self.fail_first else 200
            self.deliveries.append(Delivery(headers, body, status))
            writer.write(
                f"HTTP/1.1 {status} {'OK' if status == 200 else 'Oops'}\r\n"
                "Content-Length: 0\r\nConnection: close\r\n\r\n".encode()
            )
            await writer.drain()
        finally:
            writer.close()


@pytest_asyncio.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = Receiver()
    await r.start()
    yield r
    await r.stop()


def signature_verifies(secret: str, delivery: Delivery) -> bool:
    """Checked the way the README tells receivers to, not with Reviewdesk's own helper."""
    parts = dict(p.split("=", 1) for p in delivery.headers["reviewdesk-signature"].split(","))
    signed = parts["t"].encode() + b"." + delivery.body
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    recent = abs(time.time() - int(parts["t"])) < 300
    return recent and hmac.compare_digest(expected, parts["v1"])


async def _webhooks(h: Harness) -> list[OutboxMessage]:
    return [m for m in await h.outbox() if m.channel == "webhook"]


async def _status_is(h: Harness, contact_id: str, status: ContactStatus) -> bool:
    return (await h.service.contact_view(contact_id)).contact.status is status


async def test_every_notification_reaches_the_receiver_once_signed_and_without_the_address(
    skipping: Harness, receiver: Receiver
) -> None:
    h, w = skipping, skipping.world
    secret = await h.service.set_webhook(w.business, receiver.url)

    # Replied, reported, upheld.
    replied = (await h.service.request_contact(w.business, w.review["organic"], ASK)).contact
    await h.service.answer(
        await h.reply_token(replied.id),
        Answer.REPLY,
        ReplyBody(order_reference="ORD-7781", message="Bought in March."),
    )
    upheld = await h.service.report(
        w.business, replied.id, ReportBody(grounds=Grounds.INSUFFICIENT_INFORMATION)
    )
    await h.service.decide(w.moderator, upheld.report.id, DecisionBody(decision=Decision.UPHOLD))
    # Declined, reported, rejected.
    declined = (await h.service.request_contact(w.business, w.review["organic2"], ASK)).contact
    await h.service.answer(await h.reply_token(declined.id), Answer.DECLINE)
    rejected = await h.service.report(
        w.business, declined.id, ReportBody(grounds=Grounds.NO_RESPONSE)
    )
    await h.service.decide(w.moderator, rejected.report.id, DecisionBody(decision=Decision.REJECT))
    # Silence.
    silent = (await h.service.request_contact(w.business, w.review["external"], ASK)).contact
    await h.env.sleep(timedelta(days=5, minutes=1))
    await h.eventually(lambda: _status_is(h, silent.id, ContactStatus.NO_RESPONSE))
    await h.all_delivered()

    got = receiver.deliveries
    assert all(d.status == 200 for d in got)
    assert Counter((d.event["type"], _subject(d)) for d in got) == Counter(
        {
            ("contact.replied", replied.id): 1,
            ("report.opened", upheld.report.id): 1,
            ("report.upheld", upheld.report.id): 1,
            ("contact.declined", declined.id): 1,
            ("report.opened", rejected.report.id): 1,
            ("report.rejected", rejected.report.id): 1,
            ("contact.no_response", silent.id): 1,
        }
    )
    for d in got:
        assert signature_verifies(secret, d), d.headers
        assert verify(secret, d.headers["reviewdesk-signature"], d.body)
        assert not verify("whsec_someone_else", d.headers["reviewdesk-signature"], d.body)
        assert d.event_id == d.event["id"] and d.event_id.startswith("evt_")
        assert d.headers["reviewdesk-event-type"] == d.event["type"]
        assert d.headers["content-type"] == "application/json"
        assert d.event["business_id"] == w.business
        assert w.reviewer_email.encode() not in d.body
        assert w.reviewer_email not in json.dumps(d.headers)
    assert len({d.event_id for d in got}) == len(got)

    [told] = [d.event for d in got if d.event["type"] == "contact.replied"]
    assert told["data"] == {
        "contact_id": replied.id,
        "review_id": w.review["organic"],
        "status": "replied",
        "report_possible_until": told["data"]["report_possible_until"],
        "reply": {
            "order_reference": "ORD-7781",
            "contact_details": None,
            "message": "Bought in March.",
        },
    }
    [decided] = [d.event for d in got if d.event["type"] == "report.rejected"]
    assert decided["data"]["status"] == ReportStatus.REJECTED.value
    assert decided["data"]["review_visibility"] == "visible"

    # The contact's history shows each message with its channel and status.
    notes = (await h.service.contact_view(replied.id)).notifications
    assert sorted((n.event_type, n.recipient, n.channel, n.status) for n in notes) == sorted(
        [
            ("contact.requested", "reviewer", "email", "sent"),
            ("contact.replied", "business", "email", "sent"),
            ("contact.replied", "business", "webhook", "sent"),
            ("report.opened", "business", "email", "sent"),
            ("report.opened", "business", "webhook", "sent"),
            ("report.opened", "reviewer", "email", "sent"),
            ("report.upheld", "business", "email", "sent"),
            ("report.upheld", "business", "webhook", "sent"),
            ("report.upheld", "reviewer", "email", "sent"),
        ]
    )


def _subject(delivery: Delivery) -> str:
    data = delivery.event["data"]
    return str(
        data["report_id"] if delivery.event["type"].startswith("report.") else data["contact_id"]
    )


async def test_a_receiver_failing_twice_gets_the_same_event_id_and_accepts_it_once(
    skipping: Harness, receiver: Receiver
) -> None:
    h, w = skipping, skipping.world
    receiver.fail_first = 2
    secret = await h.service.set_webhook(w.business, receiver.url)
    contact = (await h.service.request_contact(w.business, w.review["organic"], ASK)).contact
    await h.service.answer(await h.reply_token(contact.id), Answer.DECLINE)
    await h.all_delivered()
    [message] = await _webhooks(h)

    assert [d.status for d in receiver.deliveries] == [500, 500, 200]
    assert {d.event_id for d in receiver.deliveries} == {receiver.deliveries[0].event["id"]}
    assert {d.body for d in receiver.deliveries} == {receiver.deliveries[0].body}
    assert all(signature_verifies(secret, d) for d in receiver.deliveries)
    assert len(receiver.accepted()) == 1
    assert (message.status, message.attempts, message.last_error) == ("sent", 3, None)


async def test_a_receiver_down_for_a_day_blocks_nothing_and_its_event_is_failed_visibly(
    skipping: Harness, receiver: Receiver
) -> None:
    h, w = skipping, skipping.world
    receiver.fail_first = 10_000
    assert h.settings.webhook_give_up_after >= timedelta(hours=24)  # the default is in force
    await h.service.set_webhook(w.business, receiver.url)
    contact = (await h.service.request_contact(w.business, w.review["organic"], ASK)).contact
    await h.service.answer(await h.reply_token(contact.id), Answer.DECLINE)

    # The contact goes on, and even ends, while its event is still being retried.
    await h.eventually(lambda: _failed_at_least(receiver, 2))
    closed = await h.service.close(w.business, contact.id)
    assert closed.contact.status is ContactStatus.CLOSED
    await h.client.get_workflow_handle(contact_workflow_id(w.review["organic"])).result()

    # Still retried after 23 hours...
    await h.env.sleep(timedelta(hours=23))
    [hook] = await _webhooks(h)
    assert (hook.event_type, hook.status) == ("contact.declined", "pending")
    tries = len(receiver.deliveries)
    # ...given up after the webhook give-up time (25 hours by default), and shown as failed.
    await h.env.sleep(timedelta(hours=3))

    async def failed() -> OutboxMessage | None:
        [hook] = await _webhooks(h)
        return hook if hook.status == "failed" else None

    hook = await h.eventually(failed)
    assert len(receiver.deliveries) > tries
    assert hook.last_error and "HTTP 500" in hook.last_error
    emails = [m for m in await h.outbox() if m.channel == "email"]
    assert {(m.event_type, m.status) for m in emails} == {
        ("contact.requested", "sent"),
        ("contact.declined", "sent"),
    }

    # The business sees it: in the contact's history, and in its own webhook log.
    [note] = [
        n
        for n in (await h.service.contact_view(contact.id)).notifications
        if n.channel == "webhook"
    ]
    assert (note.event_type, note.status) == ("contact.declined", "failed")
    assert note.last_error and "HTTP 500" in note.last_error
    [logged] = await h.service.webhook_deliveries(w.business)
    assert (logged.key, logged.status) == (hook.key, "failed")


async def _failed_at_least(receiver: Receiver, times: int) -> bool:
    return len(receiver.deliveries) >= times


async def test_a_new_secret_replaces_the_old_and_only_http_urls_of_known_businesses_are_taken(
    skipping: Harness, receiver: Receiver
) -> None:
    h, w = skipping, skipping.world
    first = await h.service.set_webhook(w.business, receiver.url)
    second = await h.service.set_webhook(w.business, receiver.url)
    assert first != second and second.startswith("whsec_")
    async with h.db.read() as conn:
        assert await accounts.webhook_of(conn, w.business) == (receiver.url, second)

    for bad in ("ftp://files.example/hook", "javascript:alert(1)", "hooks.example/x", "http://"):
        with pytest.raises(ValidationError):
            await h.service.set_webhook(w.business, bad)
    with pytest.raises(Refused) as refused:
        await h.service.set_webhook("biz_nobody", receiver.url)
    assert refused.value.reason is Refusal.BUSINESS_NOT_FOUND

    # Events are signed with the secret in force when they are sent.
    contact = (await h.service.request_contact(w.business, w.review["organic"], ASK)).contact
    await h.service.answer(await h.reply_token(contact.id), Answer.DECLINE)
    await h.all_delivered()
    [delivery] = receiver.deliveries
    assert signature_verifies(second, delivery) and not signature_verifies(first, delivery)


def test_the_cli_registers_a_webhook_and_prints_its_secret(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    env = env_for(
        tmp_path / "data", temporal_address=dev_env.client.service_client.config.target_host
    )
    cli(env, "seed", "--demo")
    shown = json.loads(
        cli(env, "webhook", "biz_harbour_bakery", "https://desk.example/hooks", "--json").stdout
    )
    assert shown["url"] == "https://desk.example/hooks"
    assert shown["secret"].startswith("whsec_")
    refused = cli(env, "webhook", "biz_harbour_bakery", "ftp://desk.example/hooks", check=False)
    assert refused.returncode == 2 and "http" in refused.stderr
