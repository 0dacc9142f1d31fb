"""Slow transports: a mail server or endpoint that accepts and then stalls holds a step for a few
seconds at most; an attempt cut short is still counted; and one failing route (one business's
webhook endpoint) does not send everyone else's messages the long way round."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from typing import cast

import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from activities.delivery import TIMED_OUT, DeliveryActivities
from delivery.failures import DeliveryError
from delivery.mail import FileMailer, message_id
from settings import Settings
from store import Database, Store, outbox
from store.records import OutboxMessage, now
from tests.conftest import Running
from tests.processes import free_port
from tests.test_delivery_smtp import SmtpServer
from tests.web import as_
from tests.web import web_client as http

# Issue 15, acceptance 4: the 201 of a contact request, with a mail server that stalls.
PATIENCE = 5.0


class StallingSmtp:
    """Greets, accepts the sender and the recipients, then never answers DATA."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.stalled = 0  # DATA commands left without an answer
        self._server: asyncio.Server | None = None
        self._open: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._open.add(writer)
        writer.write(b"220 stalling.test ESMTP\r\n")
        while line := await reader.readline():
            command = line[:4].upper()
            if command == b"DATA":
                self.stalled += 1
                continue  # and never a 354, nor anything else
            if command == b"QUIT":
                writer.write(b"221 bye\r\n")
                break
            writer.write(
                b"250 stalling.test\r\n" if command in (b"EHLO", b"HELO") else b"250 OK\r\n"
            )
            await writer.drain()
        writer.close()

    async def stop(self) -> None:
        """Closes the port and every connection it still holds, as a restart of the server."""
        if self._server is None:
            return
        server, self._server = self._server, None
        server.close()
        for writer in self._open:
            writer.transport.abort()
        await server.wait_closed()


@pytest.mark.devserver
async def test_a_mail_server_that_never_answers_data_delays_the_201_by_5s_at_most(
    dev_env: WorkflowEnvironment, db: Database, settings: Settings
) -> None:
    port = free_port()
    settings = settings.model_copy(
        update={
            "smtp_host": "127.0.0.1",
            "smtp_port": port,
            "smtp_security": "none",
            # Long enough that only the first attempt's own bound can end it in time.
            "smtp_timeout": timedelta(seconds=20),
            "temporal_call_timeout": timedelta(seconds=15),
        }
    )
    stalling = StallingSmtp(port)
    await stalling.start()
    real = SmtpServer(port)
    async with Running(dev_env, db, settings) as h, http(h) as web:
        try:
            w = h.world
            started = time.monotonic()
            opened = await web.post(
                f"/api/v1/reviews/{w.review['organic']}/contacts",
                json={"message": "Which shop was it?", "requested": []},
                headers=as_(w.keys[w.business]),
            )
            took = time.monotonic() - started
            assert opened.status_code == 201, opened.text
            assert took < PATIENCE, took
            assert stalling.stalled >= 1  # the server did take the connection, and stalled

            [request] = await h.messages("contact.requested", "reviewer")
            # The cut-short first try is counted, so no retry of the step makes it again inline.
            assert request.attempts >= 1 and request.last_error == TIMED_OUT

            # The server recovers: a real one on the same port, from now on.
            await stalling.stop()
            real.start()
            [sent] = await h.eventually(lambda: _sent(h.db, request.key), timeout=60)
            await asyncio.sleep(1)  # a second copy, if one were coming, would be on its way
        finally:
            await stalling.stop()
            real.stop()
    assert [r.email["Message-ID"] for r in real.inbox.received] == [message_id(sent.key)]
    assert sent.attempts >= 2


async def _sent(db: Store, key: str) -> list[OutboxMessage]:
    async with db.read() as conn:
        message = await outbox.get_message(conn, key)
    return [message] if message is not None and message.status == "sent" else []


# --- first attempts, unit by unit ----------------------------------------------------------------


class Transports(DeliveryActivities):
    """Delivery with the transports replaced: one webhook endpoint down, one that stalls."""

    sent: list[str]
    tried: list[str]
    sending: asyncio.Event

    async def _send(self, message: OutboxMessage, webhook: object) -> None:
        self.tried.append(message.key)
        self.sending.set()
        if message.recipient_id == "ep_down":
            raise DeliveryError("HTTP 503", "HTTP 503")
        if message.recipient_id.startswith("ep_stalling"):
            await asyncio.Event().wait()
        self.sent.append(message.key)


def transports(db: Database, settings: Settings) -> Transports:
    activities = Transports(db, settings, FileMailer(settings.mail_dir), cast(Client, None))
    activities.sent, activities.tried, activities.sending = [], [], asyncio.Event()
    return activities


async def _recorded(db: Database, key: str, channel: str, recipient_id: str) -> str:
    async with db.tx() as conn:
        await outbox.enqueue(
            conn,
            OutboxMessage(
                key=key,
                channel=channel,
                subject_id=key.split(":")[0],
                event_type="contact.replied",
                recipient_kind="business",
                recipient_id=recipient_id,
                to_address="owner@business.example" if channel == "email" else "",
                subject="s",
                body_text="{}",
                created_at=now(),
            ),
        )
    return key


async def test_one_failing_webhook_endpoint_pauses_first_attempts_to_it_alone(
    db: Database, settings: Settings
) -> None:
    activities = transports(db, settings)
    down_1 = await _recorded(db, "ct_1:contact.replied:webhook", "webhook", "ep_down")
    email = await _recorded(db, "ct_2:contact.replied:business", "email", "biz_a")
    down_2 = await _recorded(db, "ct_3:contact.replied:webhook", "webhook", "ep_down")
    up = await _recorded(db, "ct_4:contact.replied:webhook", "webhook", "ep_up")

    # The endpoint that is down fails its first try: that message goes to its workflow...
    assert await activities._first_attempt(down_1) == "webhook"
    # ...and so does the next one to it, untried, for a while...
    assert await activities._first_attempt(down_2) == "webhook"
    # ...while email and another business's endpoint are still sent at once, inline.
    assert await activities._first_attempt(email) is None
    assert await activities._first_attempt(up) is None
    assert activities.tried == [down_1, email, up]
    assert activities.sent == [email, up]


async def test_a_stalled_first_attempt_is_cut_short_and_counted_even_when_cancelled(
    db: Database, settings: Settings
) -> None:
    settings = settings.model_copy(
        update={"delivery_first_attempt_timeout": timedelta(milliseconds=300)}
    )
    activities = transports(db, settings)
    timed_out = await _recorded(db, "ct_5:contact.replied:webhook", "webhook", "ep_stalling")
    cancelled = await _recorded(db, "ct_6:contact.replied:webhook", "webhook", "ep_stalling2")

    started = time.monotonic()
    assert await activities._first_attempt(timed_out) == "webhook"
    assert time.monotonic() - started < 2

    # The step itself is cancelled mid-send (its own timeout, a worker stopping).
    activities.sending.clear()
    step = asyncio.create_task(activities._first_attempt(cancelled))
    await activities.sending.wait()
    step.cancel()
    with pytest.raises(asyncio.CancelledError):
        await step
    await asyncio.sleep(0.2)  # the shielded write finishes on its own

    async with db.read() as conn:
        for key in (timed_out, cancelled):
            message = await outbox.get_message(conn, key)
            assert message is not None
            assert (message.status, message.attempts, message.last_error) == (
                "pending",
                1,
                TIMED_OUT,
            )
    # The step's retry finds it tried: its workflow sends it, not a second inline try.
    activities.tried.clear()
    assert await activities._first_attempt(cancelled) == "webhook"
    assert activities.tried == []


def test_the_first_attempt_must_be_shorter_than_an_attempt() -> None:
    with pytest.raises(ValueError, match="delivery_first_attempt_timeout"):
        Settings(
            _env_file=None,
            delivery_attempt_timeout=timedelta(seconds=5),
            delivery_first_attempt_timeout=timedelta(seconds=5),
            smtp_timeout=timedelta(seconds=2),
            webhook_timeout=timedelta(seconds=2),
        )
