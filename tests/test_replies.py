"""The public reply (issue 20, acceptance 1, 2 and 3's API half; DESIGN rule 19): published once
through the ticket's workflow however often it is sent, never changed, shown under the review
with the business's name, and ``reply.published`` told once."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio

from activities.ticket import REMINDER
from domain import ticket_workflow_id
from domain.desk import SLA_BREACHED
from domain.enums import TicketStatus, WebhookEvent
from domain.refusals import Refusal, Refused
from settings import Settings
from starter.inputs import WebhookBody
from starter.reply_inputs import ReplyIn
from store import members
from store.records import Member, fetch_one
from tests.conftest import Harness
from tests.ticket_flows import review_in, ticket, until
from tests.web import as_, web_client
from tests.webhook_receiver import Delivery, Receiver

PUBLISHED = WebhookEvent.REPLY_PUBLISHED.value
ALREADY = Refusal.REPLY_ALREADY_PUBLISHED.value


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The webhook receiver is on loopback: this module's service and worker may send there."""
    return settings.model_copy(update={"webhook_allow_private": True})


@pytest_asyncio.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = Receiver()
    await r.start()
    yield r
    await r.stop()


async def _agent(h: Harness) -> Member:
    async with h.db.read() as conn:
        found = await members.get_member(conn, h.world.agent)
    assert found is not None
    return found


async def _rows(h: Harness, table: str, ticket_id: str) -> int:
    """How many rows of ``reply_drafts`` or ``replies`` the ticket has in the store."""
    async with h.db.read() as conn:
        row = await fetch_one(
            conn,
            f"SELECT CAST(COUNT(*) AS INTEGER) AS n FROM {table} WHERE ticket_id = ?",
            (ticket_id,),
        )
    assert row is not None
    return int(row["n"])


async def _public(api: httpx.AsyncClient, h: Harness, review_id: str) -> dict[str, Any]:
    """The review as anyone reads it through the API."""
    got = await api.get(f"/api/v1/businesses/{h.world.business}/reviews")
    assert got.status_code == 200, got.text
    [review] = [r for r in got.json()["reviews"] if r["id"] == review_id]
    found: dict[str, Any] = review
    return found


async def _received(receiver: Receiver) -> list[Delivery] | None:
    return [d for d in receiver.accepted() if d.event["type"] == PUBLISHED] or None


def _day(at: datetime) -> str:
    return f"{at.day} {at:%B %Y}"


async def test_twenty_sends_at_once_publish_exactly_one_reply(live: Harness) -> None:
    h = live
    agent = await _agent(h)
    posted = await h.service.intake.post(review_in(h, 1))
    ticket_id = posted.ticket.id

    async def send(i: int) -> str:
        key = f"k{i % 5}" if i % 2 else None
        body = ReplyIn(text=f"Thank you, sorry. ({i})", solve=True)
        try:
            detail = await h.service.replies.reply(
                h.world.business, agent, ticket_id, body, idempotency_key=key
            )
        except Refused as refused:
            return refused.reason.value
        assert detail.reply is not None
        return detail.reply.id

    outcomes = await asyncio.gather(*(send(i) for i in range(20)))
    reply_ids = {o for o in outcomes if o.startswith("rp_")}
    assert len(reply_ids) == 1, outcomes
    assert set(outcomes) - reply_ids <= {Refusal.REPLY_ALREADY_PUBLISHED.value}
    with pytest.raises(Refused) as refused:
        await h.service.replies.reply(h.world.business, agent, ticket_id, ReplyIn(text="Again"))
    assert refused.value.reason is Refusal.REPLY_ALREADY_PUBLISHED
    detail = await h.service.desk.ticket(h.world.business, ticket_id)
    assert detail.ticket.status.value == "solved"


@pytest.mark.parametrize("solve", [True, False], ids=["send_as_solved", "send"])
async def test_twenty_http_sends_some_retried_publish_one_reply_shown_and_told_once(
    live: Harness, receiver: Receiver, solve: bool
) -> None:
    h, w = live, live.world
    await h.service.webhooks.register(w.business, WebhookBody(url=receiver.url))
    opened = (await h.service.intake.post(review_in(h, 1))).ticket
    agent = w.keys[w.agent]
    # Sends 0-9 are two sends retried five times each (one key each); 10-14 have a key of
    # their own; 15-19 have none.
    keys = [f"retry-{i % 2}" for i in range(10)] + [f"once-{i}" for i in range(10, 15)]

    async def send(api: httpx.AsyncClient, i: int) -> httpx.Response:
        headers = as_(agent)
        if i < len(keys):
            headers["Idempotency-Key"] = keys[i]
        return await api.post(
            f"/api/v1/tickets/{opened.id}/reply",
            json={"text": f"We are sorry, Quintana. (send {i})", "solve": solve},
            headers=headers,
        )

    async with web_client(h) as api:
        answers = await asyncio.gather(*(send(api, i) for i in range(20)))
        won = [i for i, a in enumerate(answers) if a.status_code == 201]
        assert won, [a.text for a in answers]
        for i, answer in enumerate(answers):
            if i not in won:
                assert answer.status_code == 409, answer.text
                assert answer.json()["error"]["code"] == ALREADY
        replies = {a.json()["reply"]["id"] for i, a in enumerate(answers) if i in won}
        assert len(replies) == 1
        reply = answers[won[0]].json()["reply"]
        winner = int(re.findall(r"send (\d+)", reply["text"])[0])
        # The winning send and every retry of its key answer with the one reply; no other does.
        retries = [i for i in range(10) if winner < 10 and keys[i] == keys[winner]]
        assert won == (retries or [winner])
        assert reply["author"] == {"id": w.agent, "name": "Alex Agent"}

        # One reply in the store, shown to the public under the review with the business's name.
        assert await _rows(h, "replies", opened.id) == 1
        public = await _public(api, h, opened.review_id)
        assert public["reply"]["text"] == reply["text"]
        assert public["reply"]["business_name"] == f"Shop {w.business}"
        assert public["reply"]["published_at"] == reply["published_at"]
        page = (await api.get(f"/businesses/{w.business}")).text
        assert f"Reply from Shop {w.business}" in page
        assert reply["text"] in page
        assert _day(datetime.fromisoformat(reply["published_at"])) in page
        assert "Alex Agent" not in page and "Alex Agent" not in str(public)

        # Solved with "Send as solved", else left for the team.
        shown = (await api.get(f"/api/v1/tickets/{opened.id}", headers=as_(agent))).json()
        assert shown["reply"] == reply
        assert (shown["status"] == "solved") is solve
        later = await api.post(
            f"/api/v1/tickets/{opened.id}/reply", json={"text": "Later."}, headers=as_(agent)
        )
        assert later.status_code == 409 and later.json()["error"]["code"] == ALREADY

    # Told once: one webhook event recorded, and the endpoint accepts one.
    webhooks = [m for m in await h.outbox() if m.channel == "webhook" and m.event_type == PUBLISHED]
    assert len(webhooks) == 1 and webhooks[0].subject_id == opened.id
    [told] = await h.eventually(lambda: _received(receiver))
    assert told.event["data"]["reply_id"] == reply["id"]
    assert told.event["data"]["solved"] is solve
    assert reply["text"].encode() not in told.body  # the words are on the public page
    await asyncio.sleep(0.5)
    assert len(await _received(receiver) or []) == 1


async def test_a_published_reply_cannot_be_changed_through_any_route(live: Harness) -> None:
    h, w = live, live.world
    opened = (await h.service.intake.post(review_in(h, 2))).ticket
    agent, owner = w.keys[w.agent], w.keys[w.business]
    path = f"/api/v1/tickets/{opened.id}/reply"
    async with web_client(h) as api:
        first = await api.post(
            path,
            json={"text": "Thank you for telling us."},
            headers={**as_(agent), "Idempotency-Key": "first"},
        )
        assert first.status_code == 201, first.text
        reply = first.json()["reply"]

        for method in ("PUT", "PATCH", "DELETE"):
            changed = await api.request(method, path, json={"text": "Edited."}, headers=as_(agent))
            assert changed.status_code == 405, (method, changed.text)
            assert changed.json()["error"]["code"] == "method_not_allowed"
        for key, body, headers in (
            (None, {"text": "A better reply."}, as_(agent)),
            ("second", {"text": "Solved now.", "solve": True}, as_(agent)),
            (None, {"text": "The owner's reply."}, as_(owner)),
            # The agent's key is the agent's: the owner sending under it is another send.
            ("first", {"text": "The owner's retry."}, as_(owner)),
        ):
            sent = await api.post(
                path, json=body, headers={**headers, **({"Idempotency-Key": key} if key else {})}
            )
            assert sent.status_code == 409, sent.text
            assert sent.json()["error"]["code"] == ALREADY
        # The first send's retry answers as the first did.
        again = await api.post(
            path,
            json={"text": "Different words."},
            headers={**as_(agent), "Idempotency-Key": "first"},
        )
        assert again.status_code == 201 and again.json()["reply"] == reply

        assert (await _public(api, h, opened.review_id))["reply"]["text"] == reply["text"]
        shown = (await api.get(f"/api/v1/tickets/{opened.id}", headers=as_(owner))).json()
        assert shown["reply"] == reply
        assert shown["status"] != "solved"  # the refused "solve" changed nothing either
    assert await _rows(h, "replies", opened.id) == 1


async def test_a_reply_with_a_placeholder_left_is_refused_naming_it_and_nothing_is_stored(
    live: Harness,
) -> None:
    h, w = live, live.world
    opened = (await h.service.intake.post(review_in(h, 1, display_name=None))).ticket
    path = f"/api/v1/tickets/{opened.id}/reply"
    agent = as_(w.keys[w.agent])
    async with web_client(h) as api:
        left = await api.post(
            path,
            json={"text": "Dear [customer name], we are sorry. [your name]", "solve": True},
            headers={**agent, "Idempotency-Key": "draft"},
        )
        assert left.status_code == 422, left.text
        error = left.json()["error"]
        assert error["code"] == Refusal.PLACEHOLDERS_LEFT.value
        assert "[customer name]" in error["message"] and "[your name]" in error["message"]
        assert await _rows(h, "reply_drafts", opened.id) == 0
        shown = (await api.get(f"/api/v1/tickets/{opened.id}", headers=agent)).json()
        assert shown["reply"] is None and shown["status"] != "solved"
        assert (await _public(api, h, opened.review_id))["reply"] is None

        # Filled in, it goes (under the same key: the refused send left nothing behind).
        clean = await api.post(
            path,
            json={"text": "Dear customer, we are sorry. Alex", "solve": True},
            headers={**agent, "Idempotency-Key": "draft"},
        )
        assert clean.status_code == 201, clean.text
        assert clean.json()["reply"]["text"] == "Dear customer, we are sorry. Alex"
        assert clean.json()["status"] == "solved"
        assert (await _public(api, h, opened.review_id))["reply"]["text"] == (
            "Dear customer, we are sorry. Alex"
        )


async def test_a_malformed_reply_is_refused_and_nothing_is_stored(live: Harness) -> None:
    h, w = live, live.world
    opened = (await h.service.intake.post(review_in(h, 3))).ticket
    path = f"/api/v1/tickets/{opened.id}/reply"
    async with web_client(h) as api:
        for body in (
            {},
            {"text": ""},
            {"text": "x" * 5_001},
            {"text": "Thanks", "solve": "perhaps"},
            {"text": "Thanks\x00"},
            {"text": "Thanks", "author": "someone else"},
            ["Thanks"],
        ):
            sent = await api.post(path, json=body, headers=as_(w.keys[w.agent]))
            assert sent.status_code == 422, (body, sent.text)
            assert sent.json()["error"]["code"] == "invalid_input"
        unsigned = await api.post(path, json={"text": "Thanks"})
        assert unsigned.status_code == 401
    assert await _rows(h, "reply_drafts", opened.id) == 0
    assert await _rows(h, "replies", opened.id) == 0


async def test_another_business_cannot_reply_to_a_ticket_not_theirs(live: Harness) -> None:
    h, w = live, live.world
    ours = (await h.service.intake.post(review_in(h, 1))).ticket
    async with web_client(h) as api:
        for key in (w.keys[w.other_agent], w.keys[w.other_business]):
            sent = await api.post(
                f"/api/v1/tickets/{ours.id}/reply",
                json={"text": "Not ours to answer.", "solve": True},
                headers={**as_(key), "Idempotency-Key": "theirs"},
            )
            assert sent.status_code == 404, sent.text
            assert sent.json()["error"]["code"] == Refusal.TICKET_NOT_FOUND.value
        unknown = await api.post(
            "/api/v1/tickets/tk_nothing/reply",
            json={"text": "Hello."},
            headers=as_(w.keys[w.agent]),
        )
        assert unknown.status_code == 404
        assert unknown.json()["error"]["code"] == Refusal.TICKET_NOT_FOUND.value
        assert (await _public(api, h, ours.review_id))["reply"] is None
    assert await _rows(h, "reply_drafts", ours.id) == 0
    assert await _rows(h, "replies", ours.id) == 0
    assert (await ticket(h, ours.id)).status is TicketStatus.NEW


async def test_a_replied_ticket_is_neither_reminded_nor_breached(skipping: Harness) -> None:
    h = skipping
    opened = (await h.service.intake.post(review_in(h, 1))).ticket
    detail = await h.service.replies.reply(
        h.world.business, await _agent(h), opened.id, ReplyIn(text="We are sorry.")
    )
    assert detail.reply is not None and detail.ticket.status is not TicketStatus.SOLVED

    await until(h, opened.target_at + timedelta(days=1))
    # Answered: nothing is left to time, and the ticket's workflow has ended.
    await h.client.get_workflow_handle(ticket_workflow_id(opened.review_id)).result()
    left = await ticket(h, opened.id)
    assert (left.reminded_at, left.breached_at) == (None, None)
    assert SLA_BREACHED not in left.tags
    assert left.status is not TicketStatus.SOLVED
    assert [m for m in await h.outbox() if m.event_type == REMINDER] == []
    assert [m for m in await h.outbox() if m.subject_id == opened.id and m.channel == "email"] == []
