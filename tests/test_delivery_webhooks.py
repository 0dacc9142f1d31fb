"""Webhooks per the Standard Webhooks specification, to receivers on loopback: each event once to
each endpoint that takes it, verified with the specification's own library (across a secret's
rotation too), the same webhook-id on every retry and re-send, never blocking a contact, failed
visibly after a day of retrying; only https to public addresses, checked again at delivery."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import re
import secrets
import sqlite3
from collections import Counter
from collections.abc import Callable
from contextlib import closing
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from temporalio import activity
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from activities._webhook import destination
from delivery.egress import Egress
from delivery.sealing import sealer_for
from delivery.smtp import mailer_for
from delivery.webhooks import Destination, WebhookSender, event_body, event_id
from domain import contact_workflow_id, message_workflow_id
from domain.enums import Answer, ContactStatus, Decision, Grounds, ReportStatus, WebhookEvent
from domain.refusals import Refusal, Refused
from settings import Settings
from starter.inputs import ContactRequestBody, DecisionBody, ReplyBody, ReportBody, WebhookBody
from starter.service import Reviewdesk
from starter.unavailable import Unavailable
from starter.webhooks import seal_clear_secrets
from store import Database, outbox
from store import webhooks as webhooks_store
from store.records import OutboxMessage, now, ts
from store.schema import MIGRATIONS
from tests.conftest import Harness, Running
from tests.processes import cli, env_for
from tests.web import as_, web_client
from tests.webhook_receiver import (
    Delivery,
    Receiver,
    certificate_for,
    fake_resolver,
    receiver,
    settings,
    verifies,
)
from worker import default_activities

__all__ = ["receiver", "settings"]  # the fixtures: webhooks to receivers on loopback

ASK = ContactRequestBody(message="We can't find your order. Could you help us?")
PUBLIC = "93.184.216.34"  # any address on the internet: nothing connects to it here


async def _register(h: Harness, url: str, *events: WebhookEvent) -> tuple[str, str]:
    """Endpoint id and secret."""
    made = await h.service.webhooks.register(
        h.world.business, WebhookBody(url=url, event_types=list(events))
    )
    return made.endpoint.id, made.secret


async def _webhooks(h: Harness) -> list[OutboxMessage]:
    return [m for m in await h.outbox() if m.channel == "webhook"]


async def _status_is(h: Harness, contact_id: str, status: ContactStatus) -> bool:
    return (await h.service.contact_view(contact_id)).contact.status is status


async def _declined(h: Harness, review: str = "organic") -> str:
    """A contact whose reviewer declined: one contact.declined event for the business."""
    w = h.world
    contact = (await h.service.request_contact(w.business, w.review[review], ASK)).contact
    await h.service.answer(await h.reply_token(contact.id), Answer.DECLINE)
    return contact.id


def _someone_elses_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def _subject(delivery: Delivery) -> str:
    data = delivery.event["data"]
    return str(
        data["report_id"] if delivery.event["type"].startswith("report.") else data["contact_id"]
    )


async def test_every_notification_reaches_the_receiver_once_verified_and_without_the_address(
    skipping: Harness, receiver: Receiver
) -> None:
    h, w = skipping, skipping.world
    endpoint, secret = await _register(h, receiver.url)
    assert secret.startswith("whsec_") and len(base64.b64decode(secret[6:])) == 32

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
    declined = await _declined(h, "organic2")
    rejected = await h.service.report(w.business, declined, ReportBody(grounds=Grounds.NO_RESPONSE))
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
            ("contact.declined", declined): 1,
            ("report.opened", rejected.report.id): 1,
            ("report.rejected", rejected.report.id): 1,
            ("contact.no_response", silent.id): 1,
        }
    )
    for d in got:
        assert verifies(secret, d), d.headers
        assert not verifies(_someone_elses_secret(), d)
        assert d.webhook_id == d.event["id"] and d.webhook_id.startswith("evt_")
        assert d.headers["webhook-signature"].startswith("v1,")
        assert d.headers["content-type"] == "application/json"
        assert d.event["business_id"] == w.business
        assert w.reviewer_email.encode() not in d.body
        assert w.reviewer_email not in json.dumps(d.headers)
        assert not any(name.startswith("reviewdesk-") for name in d.headers)
    assert len({d.webhook_id for d in got}) == len(got)

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
            ("contact.replied", "endpoint", "webhook", "sent"),
            ("report.opened", "business", "email", "sent"),
            ("report.opened", "endpoint", "webhook", "sent"),
            ("report.opened", "reviewer", "email", "sent"),
            ("report.upheld", "business", "email", "sent"),
            ("report.upheld", "endpoint", "webhook", "sent"),
            ("report.upheld", "reviewer", "email", "sent"),
        ]
    )
    assert {m.recipient_id for m in await _webhooks(h)} == {endpoint}


async def test_a_receiver_failing_twice_gets_the_same_webhook_id_and_accepts_it_once(
    skipping: Harness, receiver: Receiver
) -> None:
    h = skipping
    receiver.fail_first = 2
    _, secret = await _register(h, receiver.url)
    await _declined(h)
    await h.all_delivered()
    [message] = await _webhooks(h)

    assert [d.status for d in receiver.deliveries] == [500, 500, 200]
    assert {d.webhook_id for d in receiver.deliveries} == {receiver.deliveries[0].event["id"]}
    assert {d.body for d in receiver.deliveries} == {receiver.deliveries[0].body}
    assert all(verifies(secret, d) for d in receiver.deliveries)
    assert len(receiver.accepted()) == 1
    assert (message.status, message.attempts, message.last_error) == ("sent", 3, None)


async def test_a_receiver_down_for_a_day_blocks_nothing_fails_visibly_and_a_resend_arrives_once(
    skipping: Harness, receiver: Receiver
) -> None:
    h, w = skipping, skipping.world
    receiver.fail_first = 10_000
    assert h.settings.webhook_give_up_after >= timedelta(hours=24)  # the default is in force
    _, secret = await _register(h, receiver.url)
    contact = await _declined(h)

    # The contact goes on, and even ends, while its event is still being retried.
    await h.eventually(lambda: _failed_at_least(receiver, 2))
    closed = await h.service.close(w.business, contact)
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
    # The status code only: never what the receiver answered.
    assert hook.last_error and hook.last_error.endswith("last: HTTP 500")
    emails = [m for m in await h.outbox() if m.channel == "email"]
    assert {(m.event_type, m.status) for m in emails} == {
        ("contact.requested", "sent"),
        ("contact.declined", "sent"),
    }

    # The business sees it: in the contact's history, and in its own webhook log.
    [note] = [
        n for n in (await h.service.contact_view(contact)).notifications if n.channel == "webhook"
    ]
    assert (note.event_type, note.status) == ("contact.declined", "failed")
    [logged] = await h.service.webhooks.deliveries(w.business)
    assert (logged.key, logged.status, logged.event_id) == (hook.key, "failed", event_id(hook.key))

    # The receiver is back; the business sends the event again, through the API.
    receiver.fail_first = 0
    resend = f"/api/v1/webhooks/events/{hook.key}/resend"
    async with web_client(h) as api:
        theirs = await api.post(resend, headers=as_(w.keys[w.other_business]))
        assert (theirs.status_code, theirs.json()["error"]["code"]) == (
            404,
            "webhook_event_not_found",
        )
        accepted = await api.post(resend, headers=as_(w.keys[w.business]))
        assert accepted.status_code == 202 and accepted.json()["status"] == "pending"
        await h.all_delivered()
        again = await api.post(resend, headers=as_(w.keys[w.business]))
        assert (again.status_code, again.json()["error"]["code"]) == (
            409,
            "webhook_event_not_failed",
        )
    [arrived] = receiver.accepted()
    assert {d.webhook_id for d in receiver.deliveries} == {event_id(hook.key)}
    assert {d.body for d in receiver.deliveries} == {arrived.body}
    assert verifies(secret, arrived)


async def test_a_resend_while_the_run_that_gave_up_is_ending_waits_for_it_and_arrives_once(
    time_env: WorkflowEnvironment, db: Any, settings: Settings, receiver: Receiver
) -> None:
    """``give_up`` marks an event failed a moment before its delivery workflow ends (longer if
    the worker dies in between). A re-send in that moment must not be joined to the ending run,
    which would leave the event pending with no workflow to send it."""
    short = settings.model_copy(update={"webhook_give_up_after": timedelta(seconds=2)})
    gave_up: asyncio.Queue[str] = asyncio.Queue()
    release = asyncio.Event()
    activities = default_activities(time_env.client, db, short, mailer_for(short))
    [delivery] = {a.__self__ for a in activities if getattr(a, "__name__", "") == "give_up"}  # type: ignore[attr-defined]

    @activity.defn(name="give_up")
    async def give_up_then_stall(key: str) -> None:
        await delivery.give_up(key)
        await gave_up.put(key)
        await release.wait()

    stalling = [
        give_up_then_stall if getattr(a, "__name__", "") == "give_up" else a for a in activities
    ]
    receiver.fail_first = 10_000
    try:
        async with Running(time_env, db, short, activities=stalling) as h:
            w = h.world
            _, secret = await _register(h, receiver.url)
            first = await _declined(h, "organic")
            key = await asyncio.wait_for(gave_up.get(), 20)
            [hook] = [m for m in await _webhooks(h) if m.subject_id == first]
            assert (hook.key, hook.status) == (key, "failed")

            # The receiver is back; the business asks while the run is still ending.
            receiver.fail_first = 0
            resend = asyncio.create_task(h.service.webhooks.resend(w.business, key))
            await asyncio.sleep(0.5)
            release.set()
            await resend

            async def sent(key: str = key) -> bool:
                async with db.read() as conn:
                    message = await outbox.get_message(conn, key)
                return message is not None and message.status == "sent"

            await h.eventually(sent)
            [arrived] = receiver.accepted()
            assert arrived.webhook_id == event_id(key) and verifies(secret, arrived)

            # A run that does not end (its worker is down after give_up): the re-send answers
            # "try again" within its deadline and leaves the event failed.
            release.clear()
            receiver.fail_first = 10_000
            second = await _declined(h, "organic2")
            key = await asyncio.wait_for(gave_up.get(), 20)
            h.service.webhooks.settings = short.model_copy(
                update={"temporal_call_timeout": timedelta(seconds=1)}
            )
            with pytest.raises(Unavailable):
                await asyncio.wait_for(h.service.webhooks.resend(w.business, key), 5)
            [hook] = [m for m in await _webhooks(h) if m.subject_id == second]
            assert (hook.key, hook.status) == (key, "failed")
            release.set()
    finally:
        release.set()


async def _failed_at_least(receiver: Receiver, times: int) -> bool:
    return len(receiver.deliveries) >= times


async def test_during_a_rotation_both_secrets_verify_and_after_the_overlap_only_the_new_one(
    skipping: Harness, receiver: Receiver
) -> None:
    h, w = skipping, skipping.world
    endpoint, first = await _register(h, receiver.url)
    await _declined(h, "organic")
    await h.all_delivered()

    # A short overlap, so that its end comes in the test's real time.
    h.service.webhooks.settings = h.settings.model_copy(
        update={"webhook_secret_overlap": timedelta(seconds=2)}
    )
    rotated = await h.service.webhooks.rotate(w.business, endpoint)
    second = rotated.secret
    assert second != first and rotated.endpoint.previous_secret_until is not None
    await _declined(h, "organic2")
    await h.all_delivered()
    await h.eventually(lambda: _failed_at_least(receiver, 2))

    before, during = receiver.deliveries
    assert verifies(first, before) and not verifies(second, before)
    # Two signatures while they overlap: a receiver holding either secret accepts the event.
    assert len(during.headers["webhook-signature"].split(" ")) == 2
    assert verifies(first, during) and verifies(second, during)

    await h.eventually(lambda: _past(rotated.endpoint.previous_secret_until), timeout=5)
    await _declined(h, "external")
    await h.eventually(lambda: _failed_at_least(receiver, 3))
    after = receiver.deliveries[2]
    assert verifies(second, after) and not verifies(first, after)


async def _past(at: Any) -> bool:
    return bool(now() > at)


async def test_two_endpoints_get_the_events_they_take_each_its_own_delivery(
    skipping: Harness, receiver: Receiver
) -> None:
    h, w = skipping, skipping.world
    second = Receiver(fail_first=10_000)
    await second.start()
    try:
        contacts_only, contacts_secret = await _register(
            h, receiver.url, WebhookEvent.CONTACT_DECLINED, WebhookEvent.CONTACT_REPLIED
        )
        reports_only, reports_secret = await _register(
            h, second.url.replace("/hooks/", "/reports/"), WebhookEvent.REPORT_OPENED
        )
        contact = await _declined(h)
        report = await h.service.report(
            w.business, contact, ReportBody(grounds=Grounds.NO_RESPONSE)
        )
        await h.eventually(lambda: _failed_at_least(second, 1))
        await h.eventually(lambda: _failed_at_least(receiver, 1))
    finally:
        await second.stop()

    assert [d.event["type"] for d in receiver.deliveries] == ["contact.declined"]
    assert {d.event["type"] for d in second.deliveries} == {"report.opened"}
    assert verifies(contacts_secret, receiver.deliveries[0])
    assert verifies(reports_secret, second.deliveries[0])
    assert not verifies(contacts_secret, second.deliveries[0])
    # One row per endpoint: the failing one keeps retrying while the other is done.
    rows = {m.recipient_id: m for m in await _webhooks(h)}
    assert rows[contacts_only].status == "sent"
    assert rows[reports_only].status == "pending" and rows[reports_only].attempts >= 1
    assert rows[reports_only].subject_id == report.report.id
    assert rows[reports_only].last_error == "HTTP 500"


async def test_an_event_to_two_endpoints_has_one_webhook_id_and_a_removed_one_gets_nothing_more(
    skipping: Harness, receiver: Receiver
) -> None:
    h, w = skipping, skipping.world
    down = Receiver(fail_first=10_000)
    await down.start()
    try:
        _, secret = await _register(h, receiver.url)
        gone, _ = await _register(h, down.url)
        await _declined(h, "organic")
        await h.eventually(lambda: _failed_at_least(receiver, 1))
        await h.eventually(lambda: _failed_at_least(down, 1))
        assert receiver.deliveries[0].webhook_id == down.deliveries[0].webhook_id

        # Removed while its event is still retried: the event fails as removed, at once.
        removed = await h.service.webhooks.remove(w.business, gone)
        assert removed.removed_at is not None
        assert [e.id for e in await h.service.webhooks.endpoints(w.business)] != [gone]
        [pending] = [m for m in await _webhooks(h) if m.recipient_id == gone]
        assert (pending.status, pending.last_error) == ("failed", "endpoint removed")
        with pytest.raises(Refused) as refused:
            await h.service.webhooks.resend(w.business, pending.key)
        assert refused.value.reason is Refusal.WEBHOOK_REMOVED
        tries = len(down.deliveries)

        await _declined(h, "organic2")
        await h.eventually(lambda: _failed_at_least(receiver, 2))
        await h.env.sleep(timedelta(minutes=30))
    finally:
        await down.stop()
    # An attempt already under way when it was removed may still land (it read the event as
    # pending just before); none starts after: thirty minutes of retries would make several.
    assert len(down.deliveries) <= tries + 1
    assert not any(
        m.recipient_id == gone and m.subject_id != pending.subject_id for m in await _webhooks(h)
    )
    assert all(verifies(secret, d) for d in receiver.deliveries)


async def test_an_attempt_ending_after_its_endpoint_was_removed_leaves_it_failed_as_removed(
    skipping: Harness, receiver: Receiver
) -> None:
    h, w = skipping, skipping.world
    gone, _ = await _register(h, receiver.url)
    key = await _pending_event(h, gone)

    # An attempt read the event as pending, then the business removed the endpoint, then the
    # attempt's failure is noted: the reason the business sees stays the removal.
    await h.service.webhooks.remove(w.business, gone)
    async with h.db.tx() as conn:
        await outbox.note_failed_attempt(conn, key, "HTTP 500")

    [event] = [m for m in await _webhooks(h) if m.key == key]
    assert (event.status, event.last_error) == ("failed", "endpoint removed")
    assert event.attempts == 1


def _strict(h: Harness, names: dict[str, str]) -> Reviewdesk:
    """The service with the default settings (no loopback, no private ranges) and a fake DNS."""
    default = h.settings.model_copy(update={"webhook_allow_private": False})
    assert Settings(_env_file=None).webhook_allow_private is False
    service = Reviewdesk(h.client, h.db, default)
    service.webhooks.egress.resolver = fake_resolver(names)
    return service


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.test/reviewdesk",  # plain http, even to a public address
        "https://127.0.0.1/reviewdesk",
        "https://localhost/reviewdesk",
        "https://10.0.0.1/reviewdesk",
        "https://192.168.1.20:8443/reviewdesk",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/reviewdesk",
        "https://[::ffff:127.0.0.1]/reviewdesk",
        "https://[fd00::1]/reviewdesk",
        "https://0.0.0.0/reviewdesk",
        "https://inside.test/reviewdesk",  # a name for a private address
        "https://nowhere.test/reviewdesk",  # a name that does not resolve
        "https://user:pass@hooks.test/reviewdesk",
    ],
)
async def test_registering_a_url_that_is_not_https_to_a_public_address_is_refused(
    skipping: Harness, url: str
) -> None:
    h, w = skipping, skipping.world
    h.service = _strict(
        h, {"hooks.test": PUBLIC, "localhost": "127.0.0.1", "inside.test": "10.1.2.3"}
    )
    async with web_client(h) as api:
        refused = await api.post(
            "/api/v1/webhooks", json={"url": url}, headers=as_(w.keys[w.business])
        )
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"]["code"] == "webhook_url_not_allowed"
        assert (await api.get("/api/v1/webhooks", headers=as_(w.keys[w.business]))).json() == []


async def test_a_lookup_that_never_answers_is_refused_in_time_and_names_inside_look_unknown(
    skipping: Harness,
) -> None:
    """A resolver that stalls holds no registration past the lookup's bound; and a name that
    does not resolve, one that resolves inside and one whose lookup stalls get the same answer,
    so the refusals map nothing of the names inside the network."""
    h, w = skipping, skipping.world
    h.service = _strict(h, {"inside.test": "10.1.2.3"})
    egress = h.service.webhooks.egress
    assert egress.resolve_timeout <= timedelta(seconds=5)
    egress.resolve_timeout = timedelta(seconds=0.5)  # the default, shortened for the test
    known = egress.resolver

    async def stalls_for_one_name(host: str, port: int) -> list[str]:
        if host == "stalled.test":
            await asyncio.Event().wait()  # never answers
        return await known(host, port)

    egress.resolver = stalls_for_one_name
    loop = asyncio.get_running_loop()
    answers = {}
    async with web_client(h) as api, asyncio.timeout(15):
        for name in ("stalled.test", "nowhere.test", "inside.test"):
            started = loop.time()
            refused = await api.post(
                "/api/v1/webhooks",
                json={"url": f"https://{name}/reviewdesk"},
                headers=as_(w.keys[w.business]),
            )
            assert loop.time() - started < 3, name
            assert refused.status_code == 422, refused.text
            answers[name] = refused.json()["error"]
        assert (await api.get("/api/v1/webhooks", headers=as_(w.keys[w.business]))).json() == []
    assert answers["stalled.test"] == answers["nowhere.test"] == answers["inside.test"]
    assert answers["inside.test"]["code"] == "webhook_url_not_allowed"
    assert "10.1.2.3" not in answers["inside.test"]["message"]


async def test_a_name_public_at_registration_and_loopback_at_delivery_gets_nothing_delivered(
    time_env: WorkflowEnvironment, db: Any, settings: Settings, receiver: Receiver
) -> None:
    default = settings.model_copy(update={"webhook_allow_private": False})
    url = f"https://hooks.test:{receiver.port}/hooks/reviewdesk"
    sender = WebhookSender(
        default.webhook_timeout, Egress(resolver=fake_resolver({"hooks.test": "127.0.0.1"}))
    )
    async with Running(
        time_env, db, default, activities=_with_sender(time_env, db, default, sender)
    ) as h:
        h.service = _strict(h, {"hooks.test": PUBLIC})
        await _register(h, url)
        await _declined(h)

        async def failed() -> OutboxMessage | None:
            [hook] = await _webhooks(h)
            return hook if hook.status == "failed" else None

        hook = await h.eventually(failed)
    assert hook.last_error and hook.last_error.endswith("address not allowed")
    assert receiver.connections == 0 and receiver.deliveries == []


def _with_sender(
    env: WorkflowEnvironment, db: Any, settings: Settings, sender: WebhookSender
) -> list[Callable[..., Any]]:
    """The worker's activities, sending webhooks through ``sender``."""
    activities = default_activities(env.client, db, settings, mailer_for(settings))
    [delivery] = {a.__self__ for a in activities if getattr(a, "__name__", "") == "deliver"}  # type: ignore[attr-defined]
    delivery.webhooks = sender
    return activities


async def test_a_redirect_is_a_failure_and_its_location_is_never_requested(
    skipping: Harness, receiver: Receiver
) -> None:
    h = skipping
    receiver.redirect_to = "/stolen"
    await _register(h, receiver.url)
    await _declined(h)
    await h.eventually(lambda: _failed_at_least(receiver, 3))

    [hook] = await _webhooks(h)
    assert (hook.status, hook.last_error) == ("pending", "redirect not followed")
    assert {d.path for d in receiver.deliveries} == {"/hooks/reviewdesk"}
    assert all(d.status == 302 for d in receiver.deliveries)


async def test_https_goes_to_the_address_checked_with_the_name_for_tls_and_host(
    time_env: WorkflowEnvironment, db: Any, settings: Settings, tmp_path: Path
) -> None:
    """The request connects to the address that was checked, not to a second lookup; the
    certificate is still checked against the URL's name, which is also the Host header."""
    server_tls, client_tls = certificate_for("hooks.test", tmp_path)
    receiver = Receiver(tls=server_tls)
    await receiver.start()
    names = {"hooks.test": "127.0.0.1"}
    sender = WebhookSender(
        settings.webhook_timeout,
        Egress(allow_private=True, resolver=fake_resolver(names)),
        verify=client_tls,
    )
    try:
        async with Running(
            time_env, db, settings, activities=_with_sender(time_env, db, settings, sender)
        ) as h:
            h.service.webhooks.egress.resolver = fake_resolver(names)
            _, secret = await _register(h, f"https://hooks.test:{receiver.port}/hooks/reviewdesk")
            await _declined(h)
            await h.all_delivered()
    finally:
        await receiver.stop()
    [delivery] = receiver.deliveries
    assert delivery.headers["host"] == f"hooks.test:{receiver.port}"
    assert verifies(secret, delivery)


async def test_the_webhook_routes_keep_each_business_to_its_own_endpoints(
    skipping: Harness, receiver: Receiver
) -> None:
    h, w = skipping, skipping.world
    mine, theirs = as_(w.keys[w.business]), as_(w.keys[w.other_business])
    async with web_client(h) as api:
        assert (await api.get("/api/v1/webhooks")).status_code == 401
        bad = await api.post(
            "/api/v1/webhooks",
            json={"url": receiver.url, "event_types": ["contact.hacked"]},
            headers=mine,
        )
        assert (bad.status_code, bad.json()["error"]["code"]) == (422, "invalid_input")
        first = await api.post(
            "/api/v1/webhooks",
            json={"url": receiver.url, "event_types": ["report.opened"]},
            headers={**mine, "Idempotency-Key": "add-1"},
        )
        assert first.status_code == 201, first.text
        made = first.json()
        endpoint, secret = made["endpoint"]["id"], made["secret"]
        # A retry after a lost answer gets the same endpoint and secret, not a second one.
        retried = await api.post(
            "/api/v1/webhooks",
            json={"url": receiver.url, "event_types": ["report.opened"]},
            headers={**mine, "Idempotency-Key": "add-1"},
        )
        assert retried.json() == made
        listed = (await api.get("/api/v1/webhooks", headers=mine)).json()
        assert [(e["id"], e["url"], e["event_types"]) for e in listed] == [
            (endpoint, receiver.url, ["report.opened"])
        ]
        assert secret not in json.dumps(listed)
        # The secret is kept sealed: no file of the data folder holds it.
        assert not [
            p
            for p in h.settings.data_dir.rglob("*")
            if p.is_file() and secret.encode() in p.read_bytes()
        ]

        # Another business: as if the endpoint and its events did not exist.
        assert (await api.get("/api/v1/webhooks", headers=theirs)).json() == []
        for method, path in (
            ("DELETE", f"/api/v1/webhooks/{endpoint}"),
            ("POST", f"/api/v1/webhooks/{endpoint}/rotate"),
        ):
            other = await api.request(method, path, headers=theirs)
            assert (other.status_code, other.json()["error"]["code"]) == (404, "webhook_not_found")
        key = await _failed_event(h, endpoint)
        other = await api.post(f"/api/v1/webhooks/events/{key}/resend", headers=theirs)
        assert (other.status_code, other.json()["error"]["code"]) == (
            404,
            "webhook_event_not_found",
        )
        assert (await api.get("/api/v1/webhooks/deliveries", headers=theirs)).json() == []
        assert [
            d["key"] for d in (await api.get("/api/v1/webhooks/deliveries", headers=mine)).json()
        ] == [key]

        rotated = await api.post(f"/api/v1/webhooks/{endpoint}/rotate", headers=mine)
        assert rotated.status_code == 200
        assert rotated.json()["secret"] not in (secret, None)
        assert rotated.json()["endpoint"]["previous_secret_until"] is not None

        removed = await api.delete(f"/api/v1/webhooks/{endpoint}", headers=mine)
        assert removed.status_code == 200 and removed.json()["removed_at"]
        assert (await api.delete(f"/api/v1/webhooks/{endpoint}", headers=mine)).status_code == 200
        assert (await api.get("/api/v1/webhooks", headers=mine)).json() == []
        late = await api.post(f"/api/v1/webhooks/{endpoint}/rotate", headers=mine)
        assert (late.status_code, late.json()["error"]["code"]) == (409, "webhook_removed")
    assert receiver.deliveries == []


async def _failed_event(h: Harness, endpoint: str, subject: str = "ct_none") -> str:
    """A failed event to ``endpoint``, as a day of failed attempts leaves one."""
    key = await _pending_event(h, endpoint, subject)
    async with h.db.tx() as conn:
        await outbox.note_failed_attempt(conn, key, "HTTP 500")
        await outbox.mark_failed(conn, key, "gave up after 1 attempts; last: HTTP 500")
    return key


async def _pending_event(h: Harness, endpoint: str, subject: str = "ct_none") -> str:
    """An event to ``endpoint`` not yet sent, recorded without starting its delivery."""
    key = f"{subject}:contact.declined:webhook:{endpoint}"
    async with h.db.tx() as conn:
        await outbox.enqueue(
            conn,
            OutboxMessage(
                key=key,
                channel="webhook",
                subject_id=subject,
                event_type="contact.declined",
                recipient_kind="endpoint",
                recipient_id=endpoint,
                to_address="",
                subject="contact.declined",
                body_text=event_body(
                    key, "contact.declined", now(), h.world.business, {"contact_id": subject}
                ),
                created_at=now(),
            ),
        )
    return key


async def test_the_dashboard_adds_resends_rotates_and_removes_with_confirmation(
    live: Harness, receiver: Receiver
) -> None:
    h, w = live, live.world
    async with web_client(h) as api:
        await api.get("/login")
        await api.post(
            "/login", data={"api_key": w.keys[w.business], "csrf": api.cookies["rd_login_csrf"]}
        )
        board = (await api.get("/dashboard")).text
        assert "No webhook yet" in board and 'href="/dashboard/webhooks"' in board
        page = (await api.get("/dashboard/webhooks")).text
        csrf = _field(page, "csrf")
        assert _field(page, "idempotency_key")
        forged = await api.post("/dashboard/webhooks", data={"csrf": "x", "url": receiver.url})
        assert forged.status_code == 403
        refused = await api.post(
            "/dashboard/webhooks", data={"csrf": csrf, "url": "ftp://x.test/h"}
        )
        assert refused.status_code == 422 and "https" in refused.text

        shown = await api.post(
            "/dashboard/webhooks",
            data={
                "csrf": csrf,
                "url": receiver.url,
                "event_types": ["contact.declined"],
                "idempotency_key": "k1",
            },
        )
        assert shown.status_code == 200
        secret = _secret(shown.text)
        page = (await api.get("/dashboard/webhooks")).text
        [endpoint] = await h.service.webhooks.endpoints(w.business)
        assert receiver.url in page and secret not in page

        # A failed delivery offers "Send again", which asks first, then sends it once.
        key = await _failed_event(h, endpoint.id)
        page = (await api.get("/dashboard/webhooks")).text
        assert f'href="/dashboard/webhooks/events/{key}/resend"' in page
        confirm = await api.get(f"/dashboard/webhooks/events/{key}/resend")
        assert confirm.status_code == 200 and "Send this event again?" in confirm.text
        assert [
            d.key for d in await h.service.webhooks.deliveries(w.business) if d.status == "failed"
        ] == [key]
        sent = await api.post(
            f"/dashboard/webhooks/events/{key}/resend",
            data={"csrf": csrf, "idempotency_key": _field(confirm.text, "idempotency_key")},
        )
        assert sent.status_code == 303
        await h.eventually(lambda: _failed_at_least(receiver, 1))
        await h.all_delivered()
        [delivery] = receiver.deliveries
        assert delivery.webhook_id == event_id(key) and verifies(secret, delivery)

        confirm = await api.get(f"/dashboard/webhooks/{endpoint.id}/rotate")
        assert confirm.status_code == 200 and "Rotate" in confirm.text
        rotated = await api.post(f"/dashboard/webhooks/{endpoint.id}/rotate", data={"csrf": csrf})
        assert _secret(rotated.text) != secret

        confirm = await api.get(f"/dashboard/webhooks/{endpoint.id}/remove")
        assert confirm.status_code == 200 and "cannot be undone" in confirm.text
        assert await h.service.webhooks.endpoints(w.business)  # asking removed nothing
        removed = await api.post(f"/dashboard/webhooks/{endpoint.id}/remove", data={"csrf": csrf})
        assert removed.status_code == 303
        assert await h.service.webhooks.endpoints(w.business) == []

    # Another business's dashboard knows none of it.
    async with web_client(h) as api:
        await api.get("/login")
        await api.post(
            "/login",
            data={"api_key": w.keys[w.other_business], "csrf": api.cookies["rd_login_csrf"]},
        )
        csrf = _field((await api.get("/dashboard/webhooks")).text, "csrf")
        assert (await api.get(f"/dashboard/webhooks/{endpoint.id}/remove")).status_code == 404
        assert (await api.get(f"/dashboard/webhooks/events/{key}/resend")).status_code == 404
        crossed = await api.post(f"/dashboard/webhooks/events/{key}/resend", data={"csrf": csrf})
        assert crossed.status_code == 404


def _field(page: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]+)"', page)
    assert found, page
    return found.group(1)


def _secret(page: str) -> str:
    found = re.search(r'<code id="webhook-secret">([^<]+)</code>', page)
    assert found, page
    return found.group(1)


def test_the_cli_adds_lists_rotates_resends_and_removes_endpoints(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    address = dev_env.client.service_client.config.target_host
    env = env_for(tmp_path / "data", temporal_address=address, task_queue="cli-webhooks")
    cli(env, "seed", "--demo")
    business = "biz_harbour_bakery"
    refused = cli(
        env, "webhook", "add", "https://10.0.0.1/hooks", "--business", business, check=False
    )
    assert refused.returncode == 2 and "webhook_url_not_allowed" in refused.stderr
    refused = cli(
        env, "webhook", "add", "ftp://desk.test/hooks", "--business", business, check=False
    )
    assert refused.returncode == 2 and "https" in refused.stderr

    local = {**env, "REVIEWDESK_WEBHOOK_ALLOW_PRIVATE": "true"}
    made = json.loads(
        cli(
            local,
            "webhook",
            "add",
            "http://127.0.0.1:9/hooks",
            "--business",
            business,
            "--event",
            "report.opened",
        ).stdout
    )
    endpoint = made["endpoint"]["id"]
    assert made["secret"].startswith("whsec_") and made["endpoint"]["event_types"] == [
        "report.opened"
    ]
    listed = json.loads(cli(env, "webhook", "list", "--business", business).stdout)
    assert [e["id"] for e in listed] == [endpoint] and made["secret"] not in json.dumps(listed)
    rotated = json.loads(cli(env, "webhook", "rotate", endpoint, "--business", business).stdout)
    assert rotated["secret"] != made["secret"]

    key = f"ct_cli:report.opened:webhook:{endpoint}"
    _fail_in_store(env, key, endpoint, business)
    resent = json.loads(cli(env, "webhook", "resend", key, "--business", business).stdout)
    assert (resent["key"], resent["status"]) == (key, "pending")
    # Its delivery workflow runs again (no worker polls this queue: it waits for one).
    description = asyncio.run(_describe(address, message_workflow_id(key)))
    assert description == "RUNNING"
    refused = cli(env, "webhook", "resend", key, "--business", "biz_other", check=False)
    assert refused.returncode == 2 and "webhook_event_not_found" in refused.stderr

    removed = json.loads(cli(env, "webhook", "remove", endpoint, "--business", business).stdout)
    assert removed["removed_at"]
    assert json.loads(cli(env, "webhook", "list", "--business", business).stdout) == []


def _fail_in_store(env: dict[str, str], key: str, endpoint: str, business: str) -> None:
    at = ts(now())
    body = event_body(key, "report.opened", now(), business, {})
    # A connection's own `with` commits but does not close it; Python 3.13 warns of one left open.
    path = Path(env["REVIEWDESK_DATA_DIR"]) / "reviewdesk.db"
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.execute(
            "INSERT INTO outbox (key, channel, subject_id, event_type, recipient_kind,"
            " recipient_id, to_address, subject, body_text, created_at, status, attempts,"
            " last_error)"
            " VALUES (?, 'webhook', 'ct_cli', 'report.opened', 'endpoint', ?, '', 'report.opened',"
            " ?, ?, 'failed', 3, 'gave up after 3 attempts; last: HTTP 500')",
            (key, endpoint, body, at),
        )


async def _describe(address: str, workflow_id: str) -> str:
    client = await Client.connect(address)
    handle = client.get_workflow_handle(workflow_id)
    status = (await handle.describe()).status
    await handle.terminate()
    return status.name if status else ""


def test_a_webhook_body_takes_only_known_events_and_http_urls() -> None:
    for bad in ("ftp://files.example/hook", "javascript:alert(1)", "hooks.example/x", "http://"):
        with pytest.raises(ValidationError):
            WebhookBody(url=bad)
    with pytest.raises(ValidationError):
        WebhookBody.model_validate({"url": "https://x.test/h", "event_types": ["contact.hacked"]})
    body = WebhookBody.model_validate(
        {"url": "https://x.test/h", "event_types": ["report.opened", "report.opened"]}
    )
    assert body.event_types == [WebhookEvent.REPORT_OPENED]


async def test_registering_for_an_unknown_business_is_refused(
    skipping: Harness, receiver: Receiver
) -> None:
    with pytest.raises(Refused) as refused:
        await skipping.service.webhooks.register("biz_nobody", WebhookBody(url=receiver.url))
    assert refused.value.reason is Refusal.BUSINESS_NOT_FOUND


async def test_a_business_webhook_from_before_endpoints_moves_to_one_and_keeps_its_key(
    settings: Settings, receiver: Receiver
) -> None:
    """The endpoints migration on a store that has a business's single webhook, in clear, with a
    secret as it was made then: its events are signed with the key the receiver already has."""
    path = settings.data_dir / "old.db"
    path.parent.mkdir(parents=True)
    before = next(i for i, m in enumerate(MIGRATIONS) if "CREATE TABLE webhook_endpoints" in m)
    # As store/accounts.py made it, and signed with ``hmac.new(legacy.encode(), ...)``.
    legacy = f"whsec_{secrets.token_urlsafe(32)}"
    same_key = "whsec_" + base64.b64encode(legacy.encode()).decode()
    old = await Database(path).connect(MIGRATIONS[:before])
    async with old.tx() as conn:
        # As the business was written then: today's `add_business` also makes its team's owner,
        # in a table this old store does not have yet.
        await conn.execute(
            "INSERT INTO businesses (id, name, email, webhook_url, webhook_secret, created_at)"
            " VALUES ('biz_old', 'Old', 'o@x.test', ?, ?, ?)",
            (receiver.url, legacy, ts(now())),
        )
        # An event recorded for the business itself, before endpoints.
        await _legacy_event(conn)
    await old.close()

    db = await Database(path).connect()
    try:
        async with db.read() as conn:
            message = await outbox.get_message(conn, "ct_old:contact.declined:webhook")
            assert message is not None
            # Moved in clear, not sealed yet (no worker started since): the same key already.
            unsealed = await destination(conn, message, sealer_for(settings))
        await seal_clear_secrets(db, settings)
        async with db.read() as conn:
            [endpoint] = await webhooks_store.endpoints_of(conn, "biz_old")
            found = await destination(conn, message, sealer_for(settings))
            columns = await conn.fetch_one("SELECT webhook_url, webhook_secret FROM businesses")
    finally:
        await db.close()
    assert (endpoint.url, endpoint.event_types) == (receiver.url, [])
    assert found == unsealed == Destination(url=receiver.url, secrets=[same_key])
    assert columns is not None and tuple(columns) == (None, None)
    assert not [
        p
        for p in path.parent.iterdir()
        if p.is_file()
        and (legacy.encode() in p.read_bytes() or same_key.encode() in p.read_bytes())
    ]

    assert isinstance(found, Destination)
    sender = WebhookSender(settings.webhook_timeout, Egress(allow_private=True))
    await sender.send(found, message.key, message.body_text)
    [delivery] = receiver.deliveries
    assert delivery.status == 200
    assert verifies(same_key, delivery)
    # The standard's key is the old HMAC key: the old secret's bytes, ``whsec_`` included.
    signed = (
        f"{delivery.webhook_id}.{delivery.headers['webhook-timestamp']}.".encode() + delivery.body
    )
    mac = base64.b64encode(hmac.new(legacy.encode(), signed, hashlib.sha256).digest()).decode()
    assert delivery.headers["webhook-signature"] == f"v1,{mac}"


async def _legacy_event(conn: Any) -> None:
    """As the store held it then: with the columns of that time only."""
    key = "ct_old:contact.declined:webhook"
    await conn.execute(
        "INSERT INTO outbox (key, channel, subject_id, event_type, recipient_kind, recipient_id,"
        " to_address, subject, body_text, created_at) VALUES (?, 'webhook', 'ct_old',"
        " 'contact.declined', 'business', 'biz_old', '', 'contact.declined', ?, ?)",
        (key, event_body(key, "contact.declined", now(), "biz_old", {}), ts(now())),
    )
