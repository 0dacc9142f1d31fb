"""The response desk's pages (issue 19): the inbox's views with their counts and tickets, a ticket
in names and words (never ids or codes), its take, assign and note forms behind CSRF, "Find
reviewer" from a ticket, another business's ticket as a 404 page, and the team page where only
the owner adds an agent, whose key signs in once it is shown."""

from __future__ import annotations

import html
import re
import secrets
from urllib.parse import urlencode

import httpx
import pytest

import starter.desk
from domain.enums import ReviewSource, TicketStatus
from starter.desk_inputs import ReviewerIn, ReviewIn
from store import members
from store.records import Ticket
from tests import ticket_flows
from tests.conftest import Harness
from tests.web import csrf_of, idempotency_key_of, page_text, sign_in, web_client

NOTE = "@owner could you check the order for this one? I think it was the late delivery."


async def _post_review(
    h: Harness,
    rating: int,
    *,
    title: str | None = None,
    name: str | None = "Sam Shopper",
    business: str | None = None,
    source: ReviewSource = ReviewSource.ORGANIC,
) -> Ticket:
    tag = secrets.token_hex(4)
    posted = await h.service.intake.post(
        ReviewIn(
            external_id=f"ext-{tag}",
            business_id=business or h.world.business,
            reviewer=ReviewerIn(
                id=f"pr-{tag}", display_name=name, email=f"r.{tag}@private.example"
            ),
            rating=rating,
            title=title,
            text=f"A {rating}-star experience, told at length.",
            source=source,
        )
    )
    return posted.ticket


def _tabs(page: str) -> list[str]:
    return [
        " ".join(html.unescape(t).split())
        for t in re.findall(r'<a href="/desk\?view=[a-z_]+" data-view[^>]*>([^<]+)</a>', page)
    ]


def _rows(page: str) -> list[str]:
    return re.findall(r'data-ticket="([^"]+)"', page)


async def test_the_inbox_shows_each_view_with_its_count_and_its_tickets_newest_first(
    live: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    h, w = live, live.world
    one = await _post_review(h, 1, name=None)
    five = await _post_review(h, 5, title="Lovely shop")
    two = await _post_review(h, 2, title="Parcel arrived broken")
    elsewhere = await _post_review(h, 1, business=w.other_business)
    agent = await ticket_flows.member(h, w.agent)
    await h.service.desk.take(w.business, agent, one.id)

    async with web_client(h) as web:
        assert await sign_in(web, w.keys[w.agent]) == "/dashboard"
        page = (await web.get("/desk")).text
        assert _tabs(page) == [
            "Unanswered negative (2)",
            "New (2)",
            "Assigned to me (1)",
            "All (3)",
        ]
        # The default view: negative tickets not yet answered, newest first.
        assert _rows(page) == [two.id, one.id]
        text = page_text(page)
        assert "Parcel arrived broken" in text and "Anonymous reviewer" in text
        assert "Assigned to Alex Agent" in text and "Not assigned" in text
        assert "2 stars" in text and "Negative" in text and "left" in text
        for code in ("rating_", "unanswered_negative", agent.id, one.id):
            assert code not in text

        assert _rows((await web.get("/desk?view=new")).text) == [two.id, five.id]
        assert _rows((await web.get("/desk?view=assigned_to_me")).text) == [one.id]
        everything = await web.get("/desk?view=all")
        assert _rows(everything.text) == [two.id, five.id, one.id]
        assert elsewhere.id not in everything.text
        # The owner's "Assigned to me" is their own: empty.
        await sign_in(web, w.keys[w.business])
        owners = (await web.get("/desk?view=assigned_to_me")).text
        assert "Assigned to me (0)" in _tabs(owners) and _rows(owners) == []
        assert "No tickets in this view." in page_text(owners)

        bad = await web.get("/desk?view=everything")
        assert bad.status_code == 422

        # Pages of a view: newest first across them, and a way to the next and back.
        monkeypatch.setattr(starter.desk, "PAGE_SIZE", 2)
        first = (await web.get("/desk?view=all")).text
        assert _rows(first) == [two.id, five.id]
        assert 'href="/desk?view=all&amp;page=2"' in first
        second = (await web.get("/desk?view=all&page=2")).text
        assert _rows(second) == [one.id]
        assert 'href="/desk?view=all&amp;page=1"' in second and "page=3" not in second


async def test_the_ticket_page_speaks_in_names_and_its_forms_take_assign_and_note(
    live: Harness,
) -> None:
    h, w = live, live.world
    ticket = await _post_review(h, 1, title="Never again", name="Jo Public")
    owner = members.owner_id(w.business)
    async with web_client(h) as web:
        await sign_in(web, w.keys[w.agent])
        page = await web.get(f"/desk/tickets/{ticket.id}")
        assert page.status_code == 200
        text = page_text(page.text)
        assert "Never again" in text and "Jo Public" in text and "1 star" in text
        assert "Written unprompted" in text and "Negative reviews (1-2 stars)" in text
        assert "No one yet" in text and "@alex (Alex Agent)" in text
        assert "The review came in; its ticket was opened" in text

        # Without the page's CSRF token nothing happens.
        forged = await web.post(f"/desk/tickets/{ticket.id}/take", data={"csrf": "forged"})
        assert forged.status_code == 403
        assert (await ticket_flows.ticket(h, ticket.id)).assignee_id is None

        taken = await web.post(
            f"/desk/tickets/{ticket.id}/take",
            data={"csrf": csrf_of(page.text), "idempotency_key": idempotency_key_of(page.text)},
        )
        assert taken.status_code == 303
        after = await web.get(str(taken.headers["location"]))
        assert "The ticket is yours." in page_text(after.text)
        assert "Alex Agent (you)" in page_text(after.text)
        assert (await ticket_flows.ticket(h, ticket.id)).status is TicketStatus.OPEN

        assigned = await web.post(
            f"/desk/tickets/{ticket.id}/assign",
            data={"csrf": csrf_of(after.text), "assignee": owner},
        )
        assert assigned.status_code == 303
        assert (await ticket_flows.ticket(h, ticket.id)).assignee_id == owner
        # Someone not in this team is refused, and nothing changes.
        stranger = await web.post(
            f"/desk/tickets/{ticket.id}/assign",
            data={"csrf": csrf_of(after.text), "assignee": w.other_agent},
        )
        assert stranger.status_code == 422
        assert (await ticket_flows.ticket(h, ticket.id)).assignee_id == owner

        empty = await web.post(
            f"/desk/tickets/{ticket.id}/notes", data={"csrf": csrf_of(after.text), "text": "  "}
        )
        assert empty.status_code == 422 and "the note first" in page_text(empty.text)
        form = {
            "csrf": csrf_of(after.text),
            "text": NOTE,
            "idempotency_key": idempotency_key_of(after.text),
        }
        for _ in range(2):  # a double click: the same form twice
            noted = await web.post(f"/desk/tickets/{ticket.id}/notes", data=form)
            assert noted.status_code == 303
        final = page_text((await web.get(f"/desk/tickets/{ticket.id}")).text)
        assert final.count("the late delivery") == 1
        assert "Alex Agent took it" in final
        assert f"Alex Agent assigned it to Shop {w.business}" in final
        assert "Alex Agent wrote an internal note" in final
        for code in (w.agent, owner, "noted", "assigned_to", "te_", "tn_"):
            assert code not in final
    # The owner mentioned is emailed once.
    mails = await h.messages("ticket.mentioned", "member")
    assert [m.recipient_id for m in mails] == [owner]


async def test_another_business_ticket_is_the_same_404_page_as_one_that_does_not_exist(
    live: Harness,
) -> None:
    h, w = live, live.world
    ticket = await _post_review(h, 2)
    async with web_client(h) as web:
        await sign_in(web, w.keys[w.other_agent])
        theirs = await web.get(f"/desk/tickets/{ticket.id}")
        missing = await web.get("/desk/tickets/tk_nothing")
        assert theirs.status_code == missing.status_code == 404
        assert page_text(theirs.text) == page_text(missing.text)
        assert "Parcel" not in theirs.text and ticket.subject not in page_text(theirs.text)
        inbox = (await web.get("/desk?view=all")).text
        take = await web.post(f"/desk/tickets/{ticket.id}/take", data={"csrf": csrf_of(inbox)})
        assert take.status_code == 404
        contact = await web.get(f"/desk/tickets/{ticket.id}/find-reviewer")
        assert contact.status_code == 404
    assert (await ticket_flows.ticket(h, ticket.id)).assignee_id is None


async def test_find_reviewer_from_a_ticket_opens_a_contact_the_ticket_shows(
    live: Harness,
) -> None:
    h, w = live, live.world
    ticket = await _post_review(h, 1, title="Not what I ordered")
    invited = await _post_review(h, 2, source=ReviewSource.PLATFORM_INVITATION)
    async with web_client(h) as web:
        await sign_in(web, w.keys[w.agent])
        page = (await web.get(f"/desk/tickets/{ticket.id}")).text
        assert f'href="/desk/tickets/{ticket.id}/find-reviewer"' in page
        form = (await web.get(f"/desk/tickets/{ticket.id}/find-reviewer")).text
        assert "Not what I ordered" in page_text(form) and "5 days" in page_text(form)
        blank = await web.post(
            f"/desk/tickets/{ticket.id}/find-reviewer",
            data={"csrf": csrf_of(form), "message": ""},
        )
        assert blank.status_code == 422
        sent = await web.post(
            f"/desk/tickets/{ticket.id}/find-reviewer",
            data={
                "csrf": csrf_of(form),
                "message": "Could you tell us your order number?",
                "requested": "order_reference",
                "idempotency_key": idempotency_key_of(form),
            },
        )
        assert sent.status_code == 303
        shown = page_text((await web.get(str(sent.headers["location"]))).text)
        assert "The reviewer has been emailed" in shown
        assert "Waiting for the reviewer" in shown and "The contact's page" in shown
        # The same form sent again is the first request; a new one is refused, on the form.
        again = await web.post(
            f"/desk/tickets/{ticket.id}/find-reviewer",
            data={
                "csrf": csrf_of(form),
                "message": "Again?",
                "idempotency_key": idempotency_key_of(form),
            },
        )
        assert again.status_code == 303
        second = await web.post(
            f"/desk/tickets/{ticket.id}/find-reviewer",
            data={"csrf": csrf_of(form), "message": "And again?"},
        )
        assert second.status_code == 409, second.text
        assert "The author of this review is already being contacted." in page_text(second.text)
        # A contact runs: no second one is offered.
        assert "Find reviewer" not in re.sub(r"\(Find reviewer\)", "", shown.split("Private")[1])

        other = page_text((await web.get(f"/desk/tickets/{invited.id}")).text)
        assert "not offered for reviews written after the platform's invitation" in other
    assert len(await h.messages("contact.requested", "reviewer")) == 1


async def test_only_the_owner_adds_an_agent_whose_key_is_shown_once_and_signs_in(
    live: Harness,
) -> None:
    h, w = live, live.world
    async with web_client(h) as web:
        await sign_in(web, w.keys[w.agent])
        team = await web.get("/desk/team")
        text = page_text(team.text)
        assert "Alex Agent (you)" in text and "@alex" in text and "Agent" in text
        assert f"Shop {w.business}" in text and "Owner" in text and w.agent_email in text
        assert "Olive Other" not in text
        assert "Add an agent" not in text and "Only the owner adds agents." in text
        refused = await web.post(
            "/desk/team",
            data={"csrf": csrf_of(team.text), "name": "Sneaky", "email": "s@business.example"},
        )
        assert refused.status_code == 403

        await sign_in(web, w.keys[w.business])
        form = (await web.get("/desk/team")).text
        assert "Add an agent" in page_text(form)
        taken = await web.post(
            "/desk/team",
            data={
                "csrf": csrf_of(form),
                "name": "Alex Again",
                "email": "a2@x.example",
                "handle": "alex",
            },
        )
        assert taken.status_code == 409 and "already goes by" in page_text(taken.text)
        bad = await web.post(
            "/desk/team", data={"csrf": csrf_of(form), "name": "Maria", "email": "not-an-address"}
        )
        assert bad.status_code == 422 and "email address" in page_text(bad.text)
        data = {
            "csrf": csrf_of(form),
            "name": "Maria Lopez",
            "email": "maria@business.example",
            "idempotency_key": idempotency_key_of(form),
        }
        added = await web.post("/desk/team", data=data)
        assert added.status_code == 200
        found = re.search(r'id="agent-key">([^<]+)<', added.text)
        assert found, added.text
        key = found.group(1)
        assert "@maria.lopez" in page_text(added.text)
        # The same form sent again: the same agent, and the key is not shown again.
        again = await web.post("/desk/team", data=data)
        assert again.status_code == 200 and key not in again.text
        assert "cannot be shown again" in page_text(again.text)
        listed = page_text((await web.get("/desk/team")).text)
        assert listed.count("Maria Lopez") == 1

        # The new agent signs in with the key and works the desk as one of the team.
        assert await sign_in(web, key) == "/dashboard"
        desk = await web.get("/desk")
        assert desk.status_code == 200 and "Maria Lopez" in page_text(desk.text)


async def test_the_desk_asks_to_sign_in_and_is_linked_from_the_dashboard(live: Harness) -> None:
    h, w = live, live.world
    async with web_client(h) as web:
        signed_out = await web.get("/desk")
        assert signed_out.status_code == 303
        assert signed_out.headers["location"] == "/login?next=%2Fdesk"
        team = await web.get("/desk/team")
        assert team.status_code == 303 and team.headers["location"] == "/login?next=%2Fdesk%2Fteam"
        await sign_in(web, w.keys[w.business])
        board = (await web.get("/dashboard")).text
        assert 'href="/desk"' in board
        # A moderator's session is not a business's: no desk.
        await sign_in(web, w.keys[w.moderator])
        assert (await web.get("/desk/team")).status_code == 303


async def test_the_desk_forms_say_their_problems_in_words(live: Harness) -> None:
    h, w = live, live.world
    ticket = await _post_review(h, 2, title="Late again")
    async with web_client(h) as web:
        await sign_in(web, w.keys[w.business])
        form = (await web.get("/desk/team")).text
        tabbed = await web.post(
            "/desk/team",
            data={"csrf": csrf_of(form), "name": "Bob\tSmith", "email": "bob@business.example"},
        )
        assert tabbed.status_code == 422, tabbed.text
        assert "Write the agent's name, on one line" in page_text(tabbed.text)

        page = (await web.get(f"/desk/tickets/{ticket.id}")).text
        bell = await web.post(
            f"/desk/tickets/{ticket.id}/notes", data={"csrf": csrf_of(page), "text": "ring \x07"}
        )
        assert bell.status_code == 422, bell.text
        assert "cannot hold control characters" in page_text(bell.text)

        asked = (await web.get(f"/desk/tickets/{ticket.id}/find-reviewer")).text
        blank = await web.post(
            f"/desk/tickets/{ticket.id}/find-reviewer",
            data={"csrf": csrf_of(asked), "message": "  "},
        )
        assert blank.status_code == 422
        said = page_text(blank.text)
        assert "Write a message to the reviewer." in said and "String should" not in said
    assert (await ticket_flows.ticket(h, ticket.id)).status is TicketStatus.NEW
    assert [m.name for m in await h.service.team.members(w.business)][1:] == ["Alex Agent"]


async def _sign_in_from(web: httpx.AsyncClient, login: str, key: str) -> httpx.Response:
    """Signs in on the login page at ``login`` (with its ``next``), as its form sends it."""
    web.cookies.clear()
    page = await web.get(login)
    assert page.status_code == 200
    found = re.search(r'name="next" value="([^"]*)"', page.text)
    data = {"api_key": key, "csrf": web.cookies["rd_login_csrf"]}
    if found:
        data["next"] = html.unescape(found.group(1))
    return await web.post("/login", data=data)


async def test_an_emailed_ticket_link_signed_out_signs_in_and_comes_back(live: Harness) -> None:
    h, w = live, live.world
    ticket = await _post_review(h, 1)
    path = f"/desk/tickets/{ticket.id}"
    async with web_client(h) as web:
        asked = await web.get(path)
        assert asked.status_code == 303
        login = asked.headers["location"]
        assert login == f"/login?next=%2Fdesk%2Ftickets%2F{ticket.id}"
        signed = await _sign_in_from(web, login, w.keys[w.agent])
        assert signed.status_code == 303 and signed.headers["location"] == path
        assert (await web.get(path)).status_code == 200
        # Another site is never where the login sends anyone: the usual page instead.
        for elsewhere in ("//evil.example", "https://evil.example", "/\\evil.example"):
            login = "/login?" + urlencode({"next": elsewhere})
            signed = await _sign_in_from(web, login, w.keys[w.agent])
            assert signed.headers["location"] == "/dashboard", elsewhere
            # Sent past the form (which drops it), the same.
            await web.get("/login")
            sent = await web.post(
                "/login",
                data={
                    "api_key": w.keys[w.agent],
                    "csrf": web.cookies["rd_login_csrf"],
                    "next": elsewhere,
                },
            )
            assert sent.headers["location"] == "/dashboard", elsewhere


async def test_a_policy_removal_sent_twice_lands_on_the_policies_page(live: Harness) -> None:
    h, w = live, live.world
    async with web_client(h) as api:
        added = await api.post(
            "/api/v1/policies",
            json={"name": "VIP", "ratings": [3], "target_hours": 4},
            headers={"Authorization": f"Bearer {w.keys[w.business]}"},
        )
        assert added.status_code == 201, added.text
        policy = added.json()["id"]
    async with web_client(h) as web:
        await sign_in(web, w.keys[w.business])
        asked = await web.get(f"/desk/policies/{policy}/remove")
        assert asked.status_code == 200
        form = {"csrf": csrf_of(asked.text)}
        for _ in range(2):
            sent = await web.post(f"/desk/policies/{policy}/remove", data=form)
            assert sent.status_code == 303
            assert sent.headers["location"] == "/desk/policies?notice=removed"
        # An id that never was is still not found.
        unknown = await web.post("/desk/policies/rp_nothing/remove", data=form)
        assert unknown.status_code == 404
