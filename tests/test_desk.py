"""The desk and the team through the API (issue 19, acceptance 2, 3, 4): the inbox's views and
counts, a ticket kept to its business, assignment, notes and their @mentions, the owner adding
agents. Tickets come in as the platform posts them (``service.intake``)."""

from __future__ import annotations

import asyncio
import json
import secrets
from typing import Any

import httpx

from domain.enums import ReviewSource, TicketStatus, WebhookEvent
from starter.desk_inputs import ReviewerIn, ReviewIn
from store import members, tickets
from store import webhooks as stored_webhooks
from store.records import OutboxMessage, Ticket, now
from tests.conftest import Harness
from tests.web import as_, web_client

MENTIONED = "ticket.mentioned"


async def _post(h: Harness, business_id: str, rating: int) -> Ticket:
    tag = secrets.token_hex(6)
    posted = await h.service.intake.post(
        ReviewIn(
            external_id=f"ext_{tag}",
            business_id=business_id,
            reviewer=ReviewerIn(id=f"rvr_{tag}", display_name="Sam S.", email=f"{tag}@r.example"),
            rating=rating,
            title=f"Review {tag}",
            text="What happened.",
            source=ReviewSource.ORGANIC,
        )
    )
    return posted.ticket


def _ids(body: dict[str, Any]) -> list[str]:
    return [t["id"] for t in body["tickets"]]


async def _view(api: httpx.AsyncClient, key: str, view: str, page: int = 1) -> dict[str, Any]:
    got = await api.get("/api/v1/tickets", params={"view": view, "page": page}, headers=as_(key))
    assert got.status_code == 200, got.text
    body: dict[str, Any] = got.json()
    return body


async def _mentions(h: Harness) -> list[OutboxMessage]:
    return await h.messages(MENTIONED, "member")


async def test_each_view_holds_exactly_its_tickets_newest_first(live: Harness) -> None:
    h, w = live, live.world
    owner, alex, olive = w.keys[w.business], w.keys[w.agent], w.keys[w.other_agent]
    ours = [await _post(h, w.business, r) for r in (1, 2, 3, 4, 5, 1, 2)]
    theirs = [await _post(h, w.other_business, r) for r in (1, 5)]
    t = [x.id for x in ours]
    async with web_client(h) as api:
        # Alex takes the first 1-star; the owner gives the 3-star to Alex and takes the 5-star;
        # a note opens the 4-star; the 2-star is answered (solved). Olive works her own business.
        assert (await api.post(f"/api/v1/tickets/{t[0]}/take", headers=as_(alex))).is_success
        assigned = await api.post(
            f"/api/v1/tickets/{t[2]}/assign", json={"assignee_id": w.agent}, headers=as_(owner)
        )
        assert assigned.is_success, assigned.text
        assert (await api.post(f"/api/v1/tickets/{t[4]}/take", headers=as_(owner))).is_success
        noted = await api.post(
            f"/api/v1/tickets/{t[3]}/notes", json={"text": "Seen."}, headers=as_(owner)
        )
        assert noted.status_code == 201, noted.text
        async with h.db.tx() as conn:
            assert await tickets.set_status(
                conn, t[1], TicketStatus.SOLVED, only_from=tuple(TicketStatus)
            )
        other = await api.post(f"/api/v1/tickets/{theirs[0].id}/take", headers=as_(olive))
        assert other.is_success

        newest_first = list(reversed(t))
        expected = {
            "all": newest_first,
            "new": [t[6], t[5]],
            "unanswered_negative": [t[6], t[5], t[0]],
            "assigned_to_me": [t[2], t[0]],
        }
        for view, ids in expected.items():
            body = await _view(api, alex, view)
            assert _ids(body) == ids, view
            assert body["has_more"] is False
            assert body["counts"] == {v: len(i) for v, i in expected.items()}
        # "Assigned to me" is the caller's own.
        mine = await _view(api, owner, "assigned_to_me")
        assert _ids(mine) == [t[4]]
        assert mine["counts"]["assigned_to_me"] == 1
        assert mine["tickets"][0]["assignee"]["id"] == members.owner_id(w.business)
        # What each ticket says in a view.
        first = (await _view(api, alex, "all"))["tickets"][-1]
        assert first["assignee"] == {"id": w.agent, "name": "Alex Agent"}
        assert first["status"] == "open"
        assert sorted(first["tags"]) == ["negative", "rating_1"]
        assert first["priority"] == "high"
        theirs_all = await _view(api, olive, "all")
        assert _ids(theirs_all) == [theirs[1].id, theirs[0].id]
        assert theirs_all["counts"] == {
            "unanswered_negative": 1,
            "new": 1,
            "assigned_to_me": 1,
            "all": 2,
        }
        unknown = await api.get("/api/v1/tickets", params={"view": "mine"}, headers=as_(alex))
        assert unknown.status_code == 422
        assert unknown.json()["error"]["code"] == "invalid_input"


async def test_a_view_pages_by_25_newest_first(live: Harness) -> None:
    h, w = live, live.world
    made = [(await _post(h, w.other_business, 4)).id for _ in range(27)]
    async with web_client(h) as api:
        first = await _view(api, w.keys[w.other_agent], "all")
        second = await _view(api, w.keys[w.other_agent], "all", page=2)
        beyond = await _view(api, w.keys[w.other_agent], "all", page=3)
    assert (len(first["tickets"]), first["has_more"]) == (25, True)
    assert (len(second["tickets"]), second["has_more"]) == (2, False)
    assert _ids(first) + _ids(second) == list(reversed(made))
    assert beyond["tickets"] == [] and beyond["has_more"] is False
    assert first["counts"]["all"] == 27


async def test_another_business_ticket_is_not_found_as_one_that_does_not_exist(
    live: Harness,
) -> None:
    h, w = live, live.world
    ticket = await _post(h, w.business, 2)
    olive, alex = as_(w.keys[w.other_agent]), as_(w.keys[w.agent])
    async with web_client(h) as api:
        theirs = await api.get(f"/api/v1/tickets/{ticket.id}", headers=olive)
        absent = await api.get("/api/v1/tickets/tk_does_not_exist", headers=olive)
        assert theirs.status_code == absent.status_code == 404
        assert theirs.json() == absent.json()
        assert theirs.json()["error"]["code"] == "ticket_not_found"
        for path, body in (
            ("assign", {"assignee_id": w.other_agent}),
            ("take", None),
            ("notes", {"text": "@olive mine now"}),
        ):
            tried = await api.post(f"/api/v1/tickets/{ticket.id}/{path}", json=body, headers=olive)
            assert tried.status_code == 404, path
            assert tried.json()["error"]["code"] == "ticket_not_found"
        # Alex cannot hand it to another business's agent, nor to someone unknown.
        for assignee in (w.other_agent, "mb_nobody"):
            refused = await api.post(
                f"/api/v1/tickets/{ticket.id}/assign", json={"assignee_id": assignee}, headers=alex
            )
            assert refused.status_code == 422
            assert refused.json()["error"]["code"] == "member_not_found"
        # Nothing changed: still new, unassigned, no note, only its creation in the history.
        seen = (await api.get(f"/api/v1/tickets/{ticket.id}", headers=alex)).json()
    assert (seen["status"], seen["assignee"], seen["notes"]) == ("new", None, [])
    assert [e["kind"] for e in seen["history"]] == ["created"]
    assert await _mentions(h) == []


async def test_an_agent_assigns_notes_and_takes_and_each_change_is_in_the_history(
    live: Harness,
) -> None:
    h, w = live, live.world
    ticket = await _post(h, w.business, 1)
    owner_id = members.owner_id(w.business)
    alex = as_(w.keys[w.agent])
    path = f"/api/v1/tickets/{ticket.id}"
    async with web_client(h) as api:
        team = await api.get("/api/v1/agents", headers=alex)
        assert [m["id"] for m in team.json()] == [owner_id, w.agent]
        assigned = await api.post(f"{path}/assign", json={"assignee_id": owner_id}, headers=alex)
        assert assigned.status_code == 200, assigned.text
        assert assigned.json()["assignee"]["id"] == owner_id
        assert assigned.json()["status"] == "open"
        # The same assignment again is no change: no second event.
        again = await api.post(f"{path}/assign", json={"assignee_id": owner_id}, headers=alex)
        assert again.status_code == 200
        noted = await api.post(f"{path}/notes", json={"text": "Calling them."}, headers=alex)
        assert noted.status_code == 201
        assert noted.json()["author"] == {"id": w.agent, "name": "Alex Agent"}
        taken = await api.post(f"{path}/take", headers=alex)
        assert taken.json()["assignee"] == {"id": w.agent, "name": "Alex Agent"}
        dropped = await api.post(f"{path}/assign", json={"assignee_id": None}, headers=alex)
        detail = dropped.json()
    assert detail["assignee"] is None
    assert detail["status"] == "open"
    assert [n["text"] for n in detail["notes"]] == ["Calling them."]
    owner_name = next(m["name"] for m in team.json() if m["id"] == owner_id)
    assert [(e["kind"], e["actor"], e["assignee"]) for e in detail["history"]] == [
        ("created", "Reviewdesk", None),
        ("assigned", "Alex Agent", owner_name),
        ("noted", "Alex Agent", None),
        ("assigned", "Alex Agent", "Alex Agent"),
        ("unassigned", "Alex Agent", None),
    ]
    assert detail["review"]["rating"] == 1
    assert detail["contact"] is None


async def test_each_assignment_is_one_webhook_event_of_ids(live: Harness) -> None:
    h, w = live, live.world
    async with h.db.tx() as conn:
        # Its private address is refused at delivery: the events stay in the outbox to read.
        await stored_webhooks.add_endpoint(
            conn,
            id=f"we_{secrets.token_hex(6)}",
            business_id=w.business,
            url="https://127.0.0.1:9/desk",
            event_types=[WebhookEvent.TICKET_ASSIGNED],
            sealed_secret=h.service.webhooks.sealer.seal("whsec_dGVzdHNlY3JldA=="),
            at=now(),
        )
    ticket = await _post(h, w.business, 4)
    alex = as_(w.keys[w.agent])
    async with web_client(h) as api:
        for _ in range(2):  # the second take is a retry: no change, no second event
            assert (await api.post(f"/api/v1/tickets/{ticket.id}/take", headers=alex)).is_success
        await api.post(
            f"/api/v1/tickets/{ticket.id}/assign", json={"assignee_id": None}, headers=alex
        )
    events = [m for m in await h.outbox() if m.event_type == "ticket.assigned"]
    assert [json.loads(m.body_text)["data"] for m in events] == [
        {
            "ticket_id": ticket.id,
            "review_id": ticket.review_id,
            "assignee_id": a,
            "assigned_by": w.agent,
        }
        for a in (w.agent, None)
    ]
    assert all(m.channel == "webhook" for m in events)


async def test_only_the_owner_adds_agents_and_a_new_agent_key_works(live: Harness) -> None:
    h, w = live, live.world
    owner = as_(w.keys[w.business])
    maria = {"name": "Maria Lopez", "email": "Maria@Team.Example"}
    async with web_client(h) as api:
        refused = await api.post("/api/v1/agents", json=maria, headers=as_(w.keys[w.agent]))
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "owner_only"
        retry = {**owner, "Idempotency-Key": "add-maria"}
        added = await api.post("/api/v1/agents", json=maria, headers=retry)
        assert added.status_code == 201, added.text
        body = added.json()
        assert (body["handle"], body["role"], body["email"]) == (
            "maria.lopez",
            "agent",
            "Maria@team.example",
        )
        assert body["api_key"].startswith("rd_agt_")
        # The key was shown once: a retry answers with the same agent and no key.
        again = await api.post("/api/v1/agents", json=maria, headers=retry)
        assert again.status_code == 201
        assert again.json() == {**body, "api_key": None}
        # Her key signs her in as the business, as herself.
        hers = as_(body["api_key"])
        assert (await api.get("/api/v1/tickets", headers=hers)).status_code == 200
        ticket = await _post(h, w.business, 3)
        taken = await api.post(f"/api/v1/tickets/{ticket.id}/take", headers=hers)
        assert taken.json()["assignee"] == {"id": body["id"], "name": "Maria Lopez"}
        assert (await api.post("/api/v1/agents", json=maria, headers=hers)).status_code == 403
        # Handles are unique in the team: her name again, or the owner's handle, is taken.
        for clash in (maria, {**maria, "handle": "@Owner"}):
            taken_handle = await api.post("/api/v1/agents", json=clash, headers=owner)
            assert taken_handle.status_code == 409
            assert taken_handle.json()["error"]["code"] == "handle_taken"
        for bad in ({**maria, "email": "not-an-address"}, {**maria, "name": ""}):
            invalid = await api.post("/api/v1/agents", json=bad, headers=owner)
            assert invalid.status_code == 422
        team = await api.get("/api/v1/agents", headers=owner)
    assert [m["name"] for m in team.json()][1:] == ["Alex Agent", "Maria Lopez"]


async def test_a_mention_emails_the_member_once_whatever_the_retries(live: Harness) -> None:
    h, w = live, live.world
    ticket = await _post(h, w.business, 2)
    owner_id = members.owner_id(w.business)
    path = f"/api/v1/tickets/{ticket.id}/notes"
    text = {"text": "@owner can you call? (not @nobody, not me @alex; write to a@alex.example)"}
    async with web_client(h) as api:
        keyed = {**as_(w.keys[w.agent]), "Idempotency-Key": "note-1"}
        sent = [(await api.post(path, json=text, headers=keyed)).json() for _ in range(3)]
        assert len({n["id"] for n in sent}) == 1
        # Two at once with another key: one note, one email.
        keyed2 = {**as_(w.keys[w.agent]), "Idempotency-Key": "note-2"}
        both = await asyncio.gather(
            *(api.post(path, json={"text": "@OWNER again."}, headers=keyed2) for _ in range(2))
        )
        assert [r.status_code for r in both] == [201, 201]
        assert both[0].json()["id"] == both[1].json()["id"]
        # The owner writes an address with Alex's handle in it: not a mention.
        by_owner = await api.post(
            path, json={"text": "Mail a@alex.example."}, headers=as_(w.keys[w.business])
        )
        assert by_owner.status_code == 201
        detail = (await api.get(f"/api/v1/tickets/{ticket.id}", headers=keyed)).json()
    assert len(detail["notes"]) == 3
    assert [e["kind"] for e in detail["history"]].count("noted") == 3
    mails = await _mentions(h)
    assert sorted(m.subject_id for m in mails) == sorted({sent[0]["id"], both[0].json()["id"]})
    assert {(m.recipient_id, m.to_address) for m in mails} == {(owner_id, w.business_email)}
    for mail in mails:
        assert f"http://reviewdesk.test/desk/tickets/{ticket.id}" in mail.body_text
        assert "Alex Agent" in mail.subject
        assert "@r.example" not in mail.body_text and "call?" not in mail.body_text

    async def delivered() -> bool:
        return all(m.status == "sent" for m in await _mentions(h))

    await h.eventually(delivered)


async def test_a_note_must_have_words(live: Harness) -> None:
    h, w = live, live.world
    ticket = await _post(h, w.business, 5)
    async with web_client(h) as api:
        for text in ("", "   ", "x" * 5001):
            refused = await api.post(
                f"/api/v1/tickets/{ticket.id}/notes",
                json={"text": text},
                headers=as_(w.keys[w.agent]),
            )
            assert refused.status_code == 422, text
        detail = (
            await api.get(f"/api/v1/tickets/{ticket.id}", headers=as_(w.keys[w.agent]))
        ).json()
    assert (detail["notes"], detail["status"]) == ([], "new")


async def test_an_agent_is_named_on_one_line_and_a_bad_one_is_422(live: Harness) -> None:
    h, w = live, live.world
    owner = as_(w.keys[w.business])
    async with web_client(h) as api:
        for bad in (
            {"name": "Bob\tSmith", "email": "bob@team.example"},
            {"name": "Bob\nSmith", "email": "bob@team.example"},
            {"name": "Bob", "email": "bob@team.example", "handle": "bob smith"},
        ):
            refused = await api.post("/api/v1/agents", json=bad, headers=owner)
            assert refused.status_code == 422, (bad, refused.text)
        team = await api.get("/api/v1/agents", headers=owner)
    assert [m["name"] for m in team.json()][1:] == ["Alex Agent"]


async def test_a_note_is_plain_text_and_a_line_break_in_a_subject_stops_no_email(
    live: Harness,
) -> None:
    h, w = live, live.world
    ticket = await _post(h, w.business, 2)
    # A subject and requester stored before titles and names had to be one line.
    async with h.db.tx() as conn:
        await conn.execute(
            "UPDATE tickets SET subject = ?, requester = ? WHERE id = ?",
            ("Cold\nfood\tagain", "Sam\r\nS.", ticket.id),
        )
    path = f"/api/v1/tickets/{ticket.id}/notes"
    async with web_client(h) as api:
        bell = await api.post(path, json={"text": "ring \x07"}, headers=as_(w.keys[w.agent]))
        assert bell.status_code == 422, bell.text
        noted = await api.post(path, json={"text": "@owner look"}, headers=as_(w.keys[w.agent]))
        assert noted.status_code == 201, noted.text
    [mail] = await _mentions(h)
    assert mail.subject == "Alex Agent mentioned you on a ticket: Cold food again"

    async def sent() -> bool:
        return all(m.status == "sent" for m in await _mentions(h))

    await h.eventually(sent)


async def test_an_assignment_retried_after_someone_reassigned_changes_nothing(
    live: Harness,
) -> None:
    h, w = live, live.world
    ticket = await _post(h, w.business, 2)
    alex = {**as_(w.keys[w.agent]), "Idempotency-Key": "give-to-alex"}
    owner = as_(w.keys[w.business])
    path = f"/api/v1/tickets/{ticket.id}/assign"
    async with web_client(h) as api:
        first = await api.post(path, json={"assignee_id": w.agent}, headers=alex)
        assert first.status_code == 200 and first.json()["assignee"]["id"] == w.agent
        mine = await api.post(f"/api/v1/tickets/{ticket.id}/take", headers=owner)
        assert mine.json()["assignee"]["id"] == f"mb_owner_{w.business}"
        # Alex's request, retried late: the owner keeps the ticket, and no event is added.
        retry = await api.post(path, json={"assignee_id": w.agent}, headers=alex)
        assert retry.status_code == 200
        assert retry.json()["assignee"]["id"] == f"mb_owner_{w.business}"
        kinds = [e["kind"] for e in retry.json()["history"]]
        assert kinds.count("assigned") == 2
    events = [m for m in await h.outbox() if m.event_type == "ticket.assigned"]
    assert events == []  # no endpoint: webhook events are recorded only for one


async def test_a_note_key_names_one_note_of_one_ticket(live: Harness) -> None:
    h, w = live, live.world
    one, two = await _post(h, w.business, 1), await _post(h, w.business, 5)
    alex = {**as_(w.keys[w.agent]), "Idempotency-Key": "same-key"}
    one_text, two_text = {"text": "On one."}, {"text": "On two."}
    async with web_client(h) as api:
        a = await api.post(f"/api/v1/tickets/{one.id}/notes", json=one_text, headers=alex)
        b = await api.post(f"/api/v1/tickets/{two.id}/notes", json=two_text, headers=alex)
        assert (a.status_code, b.status_code) == (201, 201)
        assert a.json()["id"] != b.json()["id"] and b.json()["text"] == "On two."
        # The same key on the same ticket is still the first note.
        again = await api.post(f"/api/v1/tickets/{one.id}/notes", json=one_text, headers=alex)
        assert again.json() == a.json()
        got = [await api.get(f"/api/v1/tickets/{t.id}", headers=alex) for t in (one, two)]
        notes = [[n["text"] for n in g.json()["notes"]] for g in got]
    assert notes == [["On one."], ["On two."]]
