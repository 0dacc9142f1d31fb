"""The public reply (issue 20, acceptance 1, 2 and 3's API half; DESIGN rule 19): published once
through the ticket's workflow however often it is sent, never changed, shown under the review
with the business's name, and ``reply.published`` told once."""

from __future__ import annotations

import asyncio
import re
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from activities.ticket import REMINDER
from domain import ticket_workflow_id
from domain.desk import SLA_BREACHED
from domain.enums import TicketStatus, WebhookEvent
from domain.refusals import Refusal, Refused
from starter.inputs import WebhookBody
from starter.reply_inputs import ReplyIn
from starter.web import words
from store import replies as stored
from store.records import fetch_one, now, ts
from tests.conftest import Harness
from tests.ticket_flows import member, posted, ticket, until
from tests.web import as_, sign_in, web_client
from tests.webhook_receiver import Delivery, Receiver, receiver, settings

__all__ = ["receiver", "settings"]  # the fixtures: webhooks to a receiver on loopback

PUBLISHED = WebhookEvent.REPLY_PUBLISHED.value
ALREADY = Refusal.REPLY_ALREADY_PUBLISHED.value


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


async def test_twenty_sends_at_once_publish_exactly_one_reply(live: Harness) -> None:
    h = live
    agent = await member(h, h.world.agent)
    ticket_id = (await posted(h, 1)).id

    async def send(i: int) -> str:
        key = f"k{i % 5}" if i % 2 else None
        # A retry sends what its first try did: the same key with other words is refused.
        body = ReplyIn(text=f"Thank you, sorry. ({key or i})", solve=True)
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
    opened = await posted(h, 1)
    agent = w.keys[w.agent]
    # Sends 0-9 are two sends retried five times each (one key each); 10-14 have a key of
    # their own; 15-19 have none.
    keys = [f"retry-{i % 2}" for i in range(10)] + [f"once-{i}" for i in range(10, 15)]

    async def send(api: httpx.AsyncClient, i: int) -> httpx.Response:
        headers = as_(agent)
        if i < len(keys):
            headers["Idempotency-Key"] = keys[i]
        sent = i % 2 if i < 10 else i  # a retry sends the same words as its first try
        return await api.post(
            f"/api/v1/tickets/{opened.id}/reply",
            json={"text": f"We are sorry, Quintana. (send {sent})", "solve": solve},
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
        assert words.day_words(datetime.fromisoformat(reply["published_at"])) in page
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
    opened = await posted(h, 2)
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
            json={"text": "Thank you for telling us."},
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
    opened = await posted(h, 1, display_name=None)
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
    opened = await posted(h, 3)
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
    ours = await posted(h, 1)
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


async def test_a_key_sent_again_with_other_words_is_refused_and_its_first_reply_stands(
    live: Harness,
) -> None:
    """A client that edits its reply after a 503 and resends under the same key is told so,
    not answered with the words it first sent (issue 20, second reading)."""
    h, w = live, live.world
    opened = await posted(h, 2)
    path = f"/api/v1/tickets/{opened.id}/reply"
    agent = {**as_(w.keys[w.agent]), "Idempotency-Key": "k"}
    # The first try's draft was stored, then the answer was lost (a 503): nothing published.
    async with h.db.tx() as conn:
        await stored.add_draft(
            conn,
            ticket_id=opened.id,
            author_id=w.agent,
            text="First words.",
            solve=False,
            at=now(),
            idempotency_key="k",
        )
    async with web_client(h) as api:
        for body in (
            {"text": "Edited words."},
            {"text": "First words.", "solve": True},
            {"text": "Edited words.", "solve": True},
        ):
            sent = await api.post(path, json=body, headers=agent)
            assert sent.status_code == 422, (body, sent.text)
            error = sent.json()["error"]
            assert error["code"] == Refusal.IDEMPOTENCY_KEY_REUSED.value
            assert error["message"] == (
                "This Idempotency-Key was used for a different reply; send a new key for a new"
                " text."
            )
            assert (await _public(api, h, opened.review_id))["reply"] is None
        # The same body again: the first try, published now, and answered alike after.
        for _ in range(2):
            sent = await api.post(path, json={"text": "First words."}, headers=agent)
            assert sent.status_code == 201, sent.text
            assert sent.json()["reply"]["text"] == "First words."
        edited = await api.post(path, json={"text": "Edited words."}, headers=agent)
        assert edited.status_code == 422
        assert edited.json()["error"]["code"] == Refusal.IDEMPOTENCY_KEY_REUSED.value
        # A new key for the new text: the review already has its reply.
        fresh = await api.post(
            path, json={"text": "Edited words."}, headers={**agent, "Idempotency-Key": "k2"}
        )
        assert fresh.status_code == 409 and fresh.json()["error"]["code"] == ALREADY
        assert (await _public(api, h, opened.review_id))["reply"]["text"] == "First words."
    assert await _rows(h, "replies", opened.id) == 1


async def test_bracketed_words_that_are_not_placeholders_are_published_as_written(
    live: Harness,
) -> None:
    h, w = live, live.world
    opened = await posted(h, 2)
    text = "You wrote that it 'arrived broken [sic]'; our returns policy [1] covers it."
    async with web_client(h) as api:
        sent = await api.post(
            f"/api/v1/tickets/{opened.id}/reply",
            json={"text": text},
            headers={**as_(w.keys[w.agent]), "Idempotency-Key": "sic"},
        )
        assert sent.status_code == 201, sent.text
        assert (await _public(api, h, opened.review_id))["reply"]["text"] == text


async def test_a_replied_ticket_is_neither_reminded_nor_breached(skipping: Harness) -> None:
    h = skipping
    opened = await posted(h, 1)
    detail = await h.service.replies.reply(
        h.world.business, await member(h, h.world.agent), opened.id, ReplyIn(text="We are sorry.")
    )
    # Replied: open (someone acted on it), not solved, never shown overdue.
    assert detail.reply is not None and detail.ticket.status is TicketStatus.OPEN

    await until(h, opened.target_at + timedelta(days=1))
    # Answered: nothing is left to time, and the ticket's workflow has ended.
    await h.client.get_workflow_handle(ticket_workflow_id(opened.review_id)).result()
    left = await ticket(h, opened.id)
    assert (left.reminded_at, left.breached_at) == (None, None)
    assert SLA_BREACHED not in left.tags
    assert left.status is TicketStatus.OPEN
    past = opened.target_at + timedelta(days=1)
    assert not words.overdue(left, past) and words.due_words(left, past) == "Replied"
    assert [m for m in await h.outbox() if m.event_type == REMINDER] == []
    assert [m for m in await h.outbox() if m.subject_id == opened.id and m.channel == "email"] == []


# --- after a plain reply: open, never overdue, and "Mark solved" -------------------------------

REPLY_FIRST = "reply_first"


async def _past_target(h: Harness, ticket_id: str) -> None:
    """The ticket's response target an hour ago, as the pages' clock sees it."""
    async with h.db.tx() as conn:
        await conn.execute(
            "UPDATE tickets SET target_at = ? WHERE id = ?",
            (ts(now() - timedelta(hours=1)), ticket_id),
        )


def _card(inbox: str, ticket_id: str) -> str:
    """One ticket's card in the inbox page."""
    return inbox.split(f'data-ticket="{ticket_id}"', 1)[1].split("</section>", 1)[0]


def _due(page: str) -> tuple[str, str]:
    """The response target's words on a page, and whether they are marked overdue."""
    found = re.search(r'<span class="([^"]*)" data-due>([^<]*)</span>', page)
    assert found, page
    return found.group(1), found.group(2)


async def _view(api: httpx.AsyncClient, key: str, view: str) -> list[str]:
    got = await api.get(f"/api/v1/tickets?view={view}", headers=as_(key))
    assert got.status_code == 200, got.text
    return [t["id"] for t in got.json()["tickets"]]


async def test_a_plain_reply_opens_the_ticket_and_it_is_never_shown_overdue(
    live: Harness,
) -> None:
    h, w = live, live.world
    agent = w.keys[w.agent]
    replied = await posted(h, 1)
    waiting = await posted(h, 1)
    async with web_client(h) as api:
        sent = await api.post(
            f"/api/v1/tickets/{replied.id}/reply",
            json={"text": "We are sorry."},
            headers={**as_(agent), "Idempotency-Key": "plain"},
        )
        assert sent.status_code == 201, sent.text
        assert sent.json()["status"] == "open"
        # Acted on: out of "new"; not solved, so still among the unanswered negatives.
        assert await _view(api, agent, "new") == [waiting.id]
        assert set(await _view(api, agent, "unanswered_negative")) == {replied.id, waiting.id}

        for t in (replied, waiting):
            await _past_target(h, t.id)
        await sign_in(api, agent)
        inbox = (await api.get("/desk?view=unanswered_negative")).text
        assert _due(_card(inbox, replied.id)) == ("", "Replied")
        marked, said = _due(_card(inbox, waiting.id))
        assert marked == "overdue" and said.startswith("Overdue by")
        assert _due((await api.get(f"/desk/tickets/{replied.id}")).text) == ("", "Replied")
        assert _due((await api.get(f"/desk/tickets/{waiting.id}")).text)[0] == "overdue"
    assert (await ticket(h, replied.id)).status is TicketStatus.OPEN


async def test_mark_solved_after_a_reply_solves_once_and_leaves_unanswered_negative(
    live: Harness,
) -> None:
    h, w = live, live.world
    agent = w.keys[w.agent]
    opened = await posted(h, 2)
    path = f"/api/v1/tickets/{opened.id}/solve"
    async with web_client(h) as api:
        sent = await api.post(
            f"/api/v1/tickets/{opened.id}/reply", json={"text": "Sorry."}, headers=as_(agent)
        )
        assert sent.status_code == 201, sent.text
        reply = sent.json()["reply"]
        assert opened.id in await _view(api, agent, "unanswered_negative")

        # Another business's ticket is as absent, and stays as it was.
        for other in (w.keys[w.other_agent], w.keys[w.other_business]):
            theirs = await api.post(path, headers={**as_(other), "Idempotency-Key": "theirs"})
            assert theirs.status_code == 404, theirs.text
            assert theirs.json()["error"]["code"] == Refusal.TICKET_NOT_FOUND.value
        unknown = await api.post("/api/v1/tickets/tk_nothing/solve", headers=as_(agent))
        assert unknown.status_code == 404
        assert (await ticket(h, opened.id)).status is TicketStatus.OPEN

        # Solved once, however often it is sent, with or without a key.
        for key in ("solve", "solve", None, "another"):
            solved = await api.post(
                path, headers={**as_(agent), **({"Idempotency-Key": key} if key else {})}
            )
            assert solved.status_code == 200, solved.text
            assert solved.json()["status"] == "solved"
            assert solved.json()["reply"] == reply
        shown = (await api.get(f"/api/v1/tickets/{opened.id}", headers=as_(agent))).json()
        assert [(e["kind"], e["actor"]) for e in shown["history"] if e["kind"] == "solved"] == [
            ("solved", "Alex Agent")
        ]
        assert opened.id not in await _view(api, agent, "unanswered_negative")
    left = await ticket(h, opened.id)
    assert left.status is TicketStatus.SOLVED and left.solved_at is not None
    assert await _rows(h, "replies", opened.id) == 1


async def test_mark_solved_before_any_reply_is_refused_reply_first_unless_marked_spam(
    live: Harness,
) -> None:
    h, w = live, live.world
    agent = w.keys[w.agent]
    unanswered = await posted(h, 1)
    spam = await posted(h, 1)
    async with web_client(h) as api:
        refused = await api.post(
            f"/api/v1/tickets/{unanswered.id}/solve",
            headers={**as_(agent), "Idempotency-Key": "early"},
        )
        assert refused.status_code == 409, refused.text
        error = refused.json()["error"]
        assert error["code"] == REPLY_FIRST
        assert error["message"].startswith("Publish a public reply first")
        shown = (await api.get(f"/api/v1/tickets/{unanswered.id}", headers=as_(agent))).json()
        assert shown["status"] == "new"
        assert "solved" not in [e["kind"] for e in shown["history"]]

        # Marked spam (which solves it): answered, and solving it again changes nothing.
        await h.service.spam.mark(w.business, await member(h, h.world.agent), spam.id)
        again = await api.post(f"/api/v1/tickets/{spam.id}/solve", headers=as_(agent))
        assert again.status_code == 200, again.text
        assert again.json()["status"] == "solved" and again.json()["reply"] is None
        kinds = [e["kind"] for e in again.json()["history"]]
        assert kinds.count("solved") == 1
    assert (await ticket(h, unanswered.id)).status is TicketStatus.NEW
