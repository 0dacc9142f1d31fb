"""Email over a real SMTP server on loopback: who gets what, once, and what businesses never see."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any, cast

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from pydantic import SecretStr, ValidationError
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from activities import _notify
from activities.delivery import DeliveryActivities
from delivery import texts
from delivery.mail import FileMailer, message_id
from delivery.smtp import SmtpMailer, mailer_for
from domain import contact_workflow_id, message_workflow_id
from domain.enums import ContactStatus, Decision
from settings import Settings
from starter.inputs import ContactRequestBody
from store import Database, accounts, outbox, reviews
from store.records import OutboxMessage, now
from tests import flows
from tests.conftest import Running
from tests.processes import free_port
from tests.world import make_world


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    login: bytes | None = None

    @property
    def email(self) -> EmailMessage:
        return BytesParser(policy=policy.default).parsebytes(self.raw)


class Inbox:
    """What an SMTP server on loopback accepted; it refuses the addresses in ``refuse`` for good."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.refuse: set[str] = set()
        self._lock = threading.Lock()  # the server runs in a thread of its own

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address in self.refuse:
            return f"550 5.1.1 <{address}>: no such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self._lock:
            self.received.append(
                Received(
                    envelope.mail_from,
                    list(envelope.rcpt_tos),
                    envelope.original_content,
                    session.auth_data if session.authenticated else None,
                )
            )
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[Received]:
        with self._lock:
            return [r for r in self.received if address in r.rcpt_tos]


class SmtpServer:
    def __init__(self, port: int) -> None:
        self.port = port
        self.inbox = Inbox()
        self._controller: Controller | None = None

    def start(self, **options: Any) -> None:
        self._controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port, **options)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    """Not started: each test starts it when the story says the server is up."""
    server = SmtpServer(free_port())
    yield server
    server.stop()


def smtp_settings(settings: Settings, server: SmtpServer) -> Settings:
    return settings.model_copy(
        update={"smtp_host": "127.0.0.1", "smtp_port": server.port, "smtp_security": "none"}
    )


def _everything_in(received: Received) -> str:
    """Envelope, every header and every decoded part: an address split by a soft line break
    in the raw bytes is found here."""
    email = received.email
    seen = [received.mail_from, *received.rcpt_tos, received.raw.decode("utf-8", "replace")]
    seen += [f"{name}: {value}" for name, value in email.items()]
    for part in email.walk():
        if not part.is_multipart():
            seen.append(str(part.get_content()))
    return "\n".join(seen).lower()


async def test_a_full_contact_sends_exactly_the_expected_emails_and_never_the_reviewers_address(
    time_env: WorkflowEnvironment, db: Database, settings: Settings, smtp: SmtpServer
) -> None:
    smtp.start()
    async with Running(time_env, db, smtp_settings(settings, smtp)) as h:
        w = h.world
        journey = await flows.replied_then_rejected(h)
        delivered = await h.all_delivered()

    received = smtp.inbox.received
    by_address = Counter((rcpt, r.email["Subject"]) for r in received for rcpt in r.rcpt_tos)
    assert by_address == Counter(
        {
            (w.reviewer_email, f"Shop {w.business} would like to hear more about your review"): 1,
            (w.reviewer_email, "Your review is hidden while we look into a report"): 1,
            (w.reviewer_email, "The report of your review has been decided"): 1,
            (w.business_email, "Robin R. replied about their review"): 1,
            (w.business_email, "We received your report"): 1,
            (w.business_email, "Your report has been decided"): 1,
        }
    )
    # Each email is one outbox message, named by the stable Message-ID of its key.
    assert sorted(r.email["Message-ID"] for r in received) == sorted(
        message_id(m.key) for m in delivered
    )
    assert all(m.attempts == 1 for m in delivered)
    assert not list(h.settings.mail_dir.glob("*.eml"))  # SMTP replaced the file fallback

    for mail in smtp.inbox.to(w.business_email):
        assert mail.rcpt_tos == [w.business_email]
        assert w.reviewer_email.lower() not in _everything_in(mail)
    [replied] = [m for m in smtp.inbox.to(w.business_email) if "replied" in m.email["Subject"]]
    assert flows.SHARED_ORDER in _everything_in(replied).upper()

    [request] = [m for m in smtp.inbox.to(w.reviewer_email) if "hear more" in m.email["Subject"]]
    email = request.email
    assert email["From"] == h.settings.mail_from
    assert email["Auto-Submitted"] == "auto-generated"
    assert email.get_content_type() == "multipart/alternative"
    text = email.get_body(("plain",))
    html = email.get_body(("html",))
    assert text is not None and html is not None
    link = f"{h.settings.public_base_url}/reply/{journey.token}"
    assert link in text.get_content()
    assert f'<a href="{link}">' in html.get_content()
    assert flows.BUSINESS_MESSAGE in text.get_content()


async def test_a_mail_server_down_at_first_gets_the_message_once_when_it_comes_back(
    time_env: WorkflowEnvironment, db: Database, settings: Settings, smtp: SmtpServer
) -> None:
    async with Running(time_env, db, smtp_settings(settings, smtp)) as h:
        w = h.world
        view = await h.service.request_contact(
            w.business, w.review["organic"], ContactRequestBody(message="Which shop was it?")
        )
        # The contact is open at once: delivery runs beside it and nothing waits for the server.
        assert view.contact.status is ContactStatus.AWAITING_REPLY

        async def failed_twice() -> bool:
            [message] = await h.messages("contact.requested", "reviewer")
            return message.status == "pending" and message.attempts >= 2

        await h.eventually(failed_twice)
        [message] = await h.messages("contact.requested", "reviewer")
        assert message.last_error and "Connect" in message.last_error
        smtp.start()
        # Skip the backoff rather than wait it out.
        await h.env.sleep(timedelta(minutes=2))
        [sent] = await h.all_delivered()

    assert sent.status == "sent" and sent.attempts >= 3 and sent.last_error is None
    [mail] = smtp.inbox.received
    assert mail.rcpt_tos == [w.reviewer_email]
    assert mail.email["Message-ID"] == message_id(sent.key)


async def test_an_address_the_server_refuses_is_failed_at_once_and_never_enters_temporal(
    time_env: WorkflowEnvironment, db: Database, settings: Settings, smtp: SmtpServer
) -> None:
    smtp.start()
    async with Running(time_env, db, smtp_settings(settings, smtp)) as h:
        w = h.world
        smtp.inbox.refuse.add(w.reviewer_email)
        view = await h.service.request_contact(
            w.business, w.review["organic"], ContactRequestBody(message="Which shop was it?")
        )

        async def failed() -> OutboxMessage | None:
            [message] = await h.messages("contact.requested", "reviewer")
            return message if message.status == "failed" else None

        message = await h.eventually(failed)
        seen = await h.service.contact_view(view.contact.id)
        contact_history = await h.client.get_workflow_handle(
            contact_workflow_id(w.review["organic"])
        ).fetch_history()
        with pytest.raises(RPCError) as no_workflow:
            await h.client.get_workflow_handle(message_workflow_id(message.key)).describe()

    # A "no such mailbox" will not change with retrying: refused at the first try, it is failed
    # there and then, and no delivery workflow is started for it. The contact carries on.
    assert message.attempts == 1
    assert no_workflow.value.status is RPCStatusCode.NOT_FOUND
    assert seen.contact.status is ContactStatus.AWAITING_REPLY
    [note] = seen.notifications
    assert (note.channel, note.status, note.last_error) == ("email", "failed", None)
    # The server's reply quotes the address; none of it enters Temporal's history.
    raw = b"".join(event.SerializeToString() for event in contact_history.events)
    assert b"SMTP recipient refused" not in raw
    assert w.reviewer_email.encode() not in raw
    assert not smtp.inbox.received


async def _recorded_email(db: Database, settings: Settings) -> str:
    """One outbox email to a reviewer, recorded as a step would record it."""
    world = await make_world(db)
    async with db.tx() as conn:
        business = await accounts.get_business(conn, world.business)
        reviewer = await accounts.get_reviewer(conn, world.reviewer)
        review = await reviews.get_review(conn, world.review["organic"])
        assert business and reviewer and review
        return await _notify.email(
            conn,
            subject_id=f"ct_{world.reviewer}",
            event_type="report.rejected",
            recipient_kind="reviewer",
            recipient_id=reviewer.id,
            to_address=reviewer.email,
            text=texts.decision_for_reviewer(business, reviewer, review, Decision.REJECT),
            at=now(),
        )


async def test_a_message_marked_sent_is_never_sent_again(
    db: Database, settings: Settings, smtp: SmtpServer
) -> None:
    smtp.start()
    s = smtp_settings(settings, smtp)
    key = await _recorded_email(db, s)
    activities = DeliveryActivities(db, s, SmtpMailer(s), cast(Client, None))

    assert await activities.deliver(key) is True
    assert await activities.deliver(key) is True  # a retry after the mark
    assert len(smtp.inbox.received) == 1


async def test_a_crash_between_acceptance_and_the_mark_repeats_it_once_with_the_same_message_id(
    db: Database, settings: Settings, smtp: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The one gap README's "Delivery guarantees" owns up to, shown rather than promised."""
    smtp.start()
    s = smtp_settings(settings, smtp)
    key = await _recorded_email(db, s)
    activities = DeliveryActivities(db, s, SmtpMailer(s), cast(Client, None))
    mark_sent = outbox.mark_sent

    async def crash_before_marking(*args: Any) -> None:
        monkeypatch.setattr(outbox, "mark_sent", mark_sent)
        raise RuntimeError("worker lost after the server accepted")

    monkeypatch.setattr(outbox, "mark_sent", crash_before_marking)
    with pytest.raises(RuntimeError):
        await activities.deliver(key)
    assert await activities.deliver(key) is True  # Temporal's retry
    assert await activities.deliver(key) is True  # and any later one sends nothing

    ids = [r.email["Message-ID"] for r in smtp.inbox.received]
    assert ids == [message_id(key), message_id(key)]


def test_smtp_is_used_when_a_host_is_set_and_files_otherwise(settings: Settings) -> None:
    assert isinstance(mailer_for(settings), FileMailer)
    assert isinstance(
        mailer_for(settings.model_copy(update={"smtp_host": "mail.test"})), SmtpMailer
    )


async def test_the_smtp_login_from_settings_is_used(
    db: Database, settings: Settings, smtp: SmtpServer
) -> None:
    def shop_login(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (b"shop", b"pw")
        return AuthResult(success=ok, auth_data=data.login if ok else None)

    # Loopback only, so the test server may take a login without TLS.
    smtp.start(authenticator=shop_login, auth_require_tls=False)
    s = smtp_settings(settings, smtp).model_copy(
        update={"smtp_username": "shop", "smtp_password": SecretStr("pw")}
    )
    key = await _recorded_email(db, s)
    await DeliveryActivities(db, s, SmtpMailer(s), cast(Client, None)).deliver(key)
    [mail] = smtp.inbox.received
    assert mail.login == b"shop"


def test_smtp_settings_come_from_the_environment_and_the_password_is_never_printed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in {
        "SMTP_HOST": "smtp.mail.example",
        "SMTP_PORT": "465",
        "SMTP_SECURITY": "tls",
        "SMTP_USERNAME": "reviewdesk",
        "SMTP_PASSWORD": "very-secret-password",
    }.items():
        monkeypatch.setenv(f"REVIEWDESK_{name}", value)
    s = Settings(_env_file=None)
    assert (s.smtp_host, s.smtp_port, s.smtp_security) == ("smtp.mail.example", 465, "tls")
    assert "very-secret-password" not in repr(s) + str(s.model_dump())
    assert isinstance(mailer_for(s), SmtpMailer)

    monkeypatch.setenv("REVIEWDESK_SMTP_SECURITY", "ssl")
    with pytest.raises(ValidationError, match="smtp_security"):
        Settings(_env_file=None)
    monkeypatch.setenv("REVIEWDESK_SMTP_SECURITY", "starttls")
    # A transport outliving its attempt would be retried while it may still succeed.
    monkeypatch.setenv("REVIEWDESK_SMTP_TIMEOUT", "PT45S")
    with pytest.raises(ValidationError, match="smtp_timeout"):
        Settings(_env_file=None)
