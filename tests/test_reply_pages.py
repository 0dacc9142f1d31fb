"""The public reply from the desk's pages (issue 20, acceptance 2's page half and 6; DESIGN rules
18, 19, 21): a macro applied into the reply with the placeholders it leaves named, the preview as
the public will see it (placeholders refused in words), "Publish reply" and "Send as solved" once
however often the form is sent, the published reply on the ticket with nothing to change it, and
"Spam or irrelevant" asked first."""

from __future__ import annotations

import html
import re
from typing import Any

import httpx
import pytest

import starter.replies
from domain.enums import FlagReason, TicketStatus
from starter.reply_inputs import MacroIn, ReplyIn
from starter.temporal_calls import send_update
from starter.unavailable import Unavailable
from store import flags, replies
from store.records import Reply, Ticket
from tests import ticket_flows
from tests.conftest import Harness
from tests.web import csrf_of, idempotency_key_of, page_text, sign_in, web_client

MACRO = (
    "Dear [customer name], thank you for telling us. We looked into [specific detail] and"
    " we are sorry.\n\n[your name], [business name]"
)
FILLED = "We are sorry the lamp arrived broken; a new one is on its way."


def _reply_box(page: str) -> str | None:
    """The reply's textarea as written into the page, or None when the page offers none."""
    found = re.search(r'<textarea id="reply-text" name="text"[^>]*>\n(.*?)</textarea>', page, re.S)
    return html.unescape(found.group(1)) if found else None


async def _reply(h: Harness, ticket_id: str) -> Reply | None:
    async with h.db.read() as conn:
        return await replies.reply_of_ticket(conn, ticket_id)


async def _posted(h: Harness, rating: int = 1, *, name: str | None = "Jo Public") -> Ticket:
    return await ticket_flows.posted(h, rating, display_name=name)


async def _preview(web: httpx.AsyncClient, ticket_id: str, csrf: str, text: str) -> httpx.Response:
    return await web.post(
        f"/desk/tickets/{ticket_id}/reply/preview", data={"csrf": csrf, "text": text}
    )


async def _ticket_page(web: httpx.AsyncClient, key: str, ticket_id: str) -> str:
    """Signed in with ``key``, the ticket's page."""
    await sign_in(web, key)
    return (await web.get(f"/desk/tickets/{ticket_id}")).text


async def _previewed(web: httpx.AsyncClient, key: str, ticket_id: str) -> dict[str, str]:
    """Signed in with ``key``, the form the preview of ``FILLED`` publishes with."""
    csrf = csrf_of(await _ticket_page(web, key, ticket_id))
    preview = (await _preview(web, ticket_id, csrf, FILLED)).text
    return {"csrf": csrf, "text": FILLED, "idempotency_key": idempotency_key_of(preview)}


async def test_a_macro_applied_fills_what_is_known_and_names_the_placeholders_left(
    live: Harness,
) -> None:
    h, w = live, live.world
    agent = await ticket_flows.member(h, w.agent)
    macro = await h.service.macros.add(w.business, agent, MacroIn(title="Sorry", body=MACRO))
    theirs = await h.service.macros.add(
        w.other_business,
        await ticket_flows.member(h, w.other_agent),
        MacroIn(title="Theirs", body="[customer name], from elsewhere"),
    )
    anonymous = await _posted(h, name=None)
    named = await _posted(h)
    async with web_client(h) as web:
        await sign_in(web, w.keys[w.agent])
        page = await web.get(f"/desk/tickets/{anonymous.id}")
        assert page.status_code == 200
        assert "Public reply" in page_text(page.text) and "Use a macro" in page_text(page.text)
        assert _reply_box(page.text) == ""
        assert f'<option value="{macro.id}">Sorry</option>' in page.text
        assert "Theirs" not in page.text

        applied = await web.get(f"/desk/tickets/{anonymous.id}?macro={macro.id}")
        assert applied.status_code == 200
        box = _reply_box(applied.text)
        # Anonymous: the customer's name is left for the agent; the agent's and the business's
        # names are filled in.
        assert box is not None and box.startswith("Dear [customer name], thank you")
        assert box.endswith(f"Alex Agent, Shop {w.business}")
        assert "\n\n" in box  # the macro's lines as written
        assert "Fill in: [customer name], [specific detail]" in page_text(applied.text)

        named_box = _reply_box((await web.get(f"/desk/tickets/{named.id}?macro={macro.id}")).text)
        assert named_box is not None and named_box.startswith("Dear Jo Public, thank you")

        # Another business's macro, or a removed one, is the same as one that does not exist:
        # said in the reply section of the ticket's page (the ticket is there: 200), which
        # still offers the reply.
        gone = await h.service.macros.add(w.business, agent, MacroIn(title="Gone", body="Old"))
        await h.service.macros.remove(w.business, agent, gone.id)
        for unknown in (theirs.id, "mc_nothing", gone.id):
            refused = await web.get(f"/desk/tickets/{named.id}?macro={unknown}")
            assert refused.status_code == 200
            assert "No such macro." in page_text(refused.text)
            assert _reply_box(refused.text) == ""
            assert "from elsewhere" not in refused.text


async def test_the_preview_shows_the_reply_as_the_public_will_and_names_placeholders_left(
    live: Harness,
) -> None:
    h, w = live, live.world
    ticket = await _posted(h)
    async with web_client(h) as web:
        csrf = csrf_of(await _ticket_page(web, w.keys[w.agent], ticket.id))

        forged = await _preview(web, ticket.id, "forged", "Hello")
        assert forged.status_code == 403
        empty = await _preview(web, ticket.id, csrf, "")
        assert empty.status_code == 422 and "Write the reply" in page_text(empty.text)
        too_long = await _preview(web, ticket.id, csrf, "x" * 5001)
        assert too_long.status_code == 422 and "up to 5,000 characters" in page_text(too_long.text)
        assert _reply_box(too_long.text) == "x" * 5001  # what was written is kept

        unfilled = "Dear Jo, about [specific detail]: we are sorry."
        held = await _preview(web, ticket.id, csrf, unfilled)
        assert held.status_code == 200
        said = page_text(held.text)
        assert "Fill in before publishing: [specific detail]." in said
        assert "Publish reply" not in said and "Send as solved" not in said
        assert f"Reply from Shop {w.business}" in said and unfilled in said
        # Sent to publishing anyway (an old form): refused, naming it, and nothing published.
        forced = await web.post(
            f"/desk/tickets/{ticket.id}/reply",
            data={"csrf": csrf, "text": unfilled, "idempotency_key": idempotency_key_of(held.text)},
        )
        assert forced.status_code == 422
        assert "[specific detail]" in page_text(forced.text)
        assert await _reply(h, ticket.id) is None
        # "Back to edit" keeps the text.
        back = await web.post(
            f"/desk/tickets/{ticket.id}/reply/write", data={"csrf": csrf, "text": unfilled}
        )
        assert back.status_code == 200 and _reply_box(back.text) == unfilled
        assert "Fill in: [specific detail]" in page_text(back.text)

        ready = await _preview(web, ticket.id, csrf, FILLED)
        said = page_text(ready.text)
        assert ready.status_code == 200
        assert f"Reply from Shop {w.business}" in said and FILLED in said
        assert "cannot be edited or withdrawn" in said
        assert "Publish reply" in said and "Send as solved" in said and "Back to edit" in said
        assert "Jo Public" in said  # the review as the public page shows it, above the reply
        for code in (ticket.id, w.agent):
            assert code not in said
    assert await _reply(h, ticket.id) is None  # a preview publishes nothing


async def test_publishing_twice_from_one_preview_publishes_once_and_the_ticket_shows_it_for_good(
    live: Harness,
) -> None:
    h, w = live, live.world
    ticket = await _posted(h)
    async with web_client(h) as web:
        form = {**await _previewed(web, w.keys[w.agent], ticket.id), "solve": "false"}
        csrf = form["csrf"]
        for _ in range(2):  # a double click: the same form twice
            sent = await web.post(f"/desk/tickets/{ticket.id}/reply", data=form)
            assert sent.status_code == 303
            assert sent.headers["location"] == f"/desk/tickets/{ticket.id}?notice=published#reply"
        published = await _reply(h, ticket.id)
        assert published is not None and published.text == FILLED

        page = await web.get(f"/desk/tickets/{ticket.id}?notice=published")
        said = page_text(page.text)
        assert "Your reply is published under the review." in said
        assert f"Reply from Shop {w.business}" in said and FILLED in said
        assert "Written by Alex Agent (you)" in said and "cannot be edited or withdrawn" in said
        assert "Alex Agent published the public reply" in said
        # Nothing offers to change it: no reply box, no preview, no macro, no spam button.
        assert _reply_box(page.text) is None
        for route in ("/reply/preview", "/reply/write", "/spam", "?macro="):
            assert f"/desk/tickets/{ticket.id}{route}" not in page.text
        assert (await ticket_flows.ticket(h, ticket.id)).status is not TicketStatus.SOLVED

        # A new send, a preview, "Back to edit", a macro: each answers in words, changing nothing.
        again = await web.post(
            f"/desk/tickets/{ticket.id}/reply",
            data={"csrf": csrf, "text": "A better reply", "idempotency_key": "another"},
        )
        assert again.status_code == 409
        assert "already has its public reply" in page_text(again.text)
        assert _reply_box(again.text) is None
        for route in ("/reply/preview", "/reply/write"):
            later = await web.post(
                f"/desk/tickets/{ticket.id}{route}", data={"csrf": csrf, "text": "Changed"}
            )
            assert later.status_code == 409, route
            assert "can never be edited or replaced" in page_text(later.text)
        spam = await web.get(f"/desk/tickets/{ticket.id}/spam")
        assert spam.status_code == 409 and "already has its public reply" in page_text(spam.text)
        for method in ("PUT", "PATCH", "DELETE"):
            assert (await web.request(method, f"/desk/tickets/{ticket.id}/reply")).status_code in (
                404,
                405,
            )

        # The public page shows it under the review, from the business, not naming the agent.
        web.cookies.clear()
        public = page_text((await web.get(f"/businesses/{w.business}")).text)
        assert f"Reply from Shop {w.business}" in public and FILLED in public
        assert "Alex Agent" not in public
    assert await _reply(h, ticket.id) == published


async def test_send_as_solved_publishes_the_reply_and_solves_the_ticket_in_one_step(
    live: Harness,
) -> None:
    h, w = live, live.world
    ticket = await _posted(h, 2)
    async with web_client(h) as web:
        form = await _previewed(web, w.keys[w.business], ticket.id)
        sent = await web.post(f"/desk/tickets/{ticket.id}/reply", data={**form, "solve": "true"})
        assert sent.status_code == 303
        page = page_text((await web.get(str(sent.headers["location"]))).text)
        assert "published under the review, and the ticket is solved" in page
        assert f"Written by Shop {w.business} (you)" in page
        assert f"Shop {w.business} marked it solved" in page
    assert (await ticket_flows.ticket(h, ticket.id)).status is TicketStatus.SOLVED


async def test_send_as_solved_after_publish_reply_got_no_answer_publishes_once(
    live: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The preview's two buttons are two sends: "Publish reply" stored its draft and got a 503,
    then "Send as solved" from the same preview publishes (solved), not "key used for another
    reply"; one reply either way (issue 20, second reading)."""
    h, w = live, live.world
    ticket = await _posted(h, 2)
    lost: list[str] = []

    async def no_answer_once(*args: Any, **kwargs: Any) -> Any:
        if not lost:
            lost.append(str(kwargs["id"]))
            raise Unavailable("temporal: no answer in time")
        return await send_update(*args, **kwargs)

    monkeypatch.setattr(starter.replies, "send_update", no_answer_once)
    async with web_client(h) as web:
        form = await _previewed(web, w.keys[w.agent], ticket.id)
        first = await web.post(f"/desk/tickets/{ticket.id}/reply", data={**form, "solve": "false"})
        assert first.status_code == 503 and lost
        assert await _reply(h, ticket.id) is None
        solved = await web.post(f"/desk/tickets/{ticket.id}/reply", data={**form, "solve": "true"})
        assert solved.status_code == 303, page_text(solved.text)
        assert solved.headers["location"].endswith("?notice=published_solved#reply")
        # Then "Publish reply" again (the browser's resend): the review has its reply.
        again = await web.post(f"/desk/tickets/{ticket.id}/reply", data={**form, "solve": "false"})
        assert again.status_code == 409 and "already has its public reply" in page_text(again.text)
        # The form changed by hand (its text is the preview's): refused in words, not codes.
        changed = await web.post(
            f"/desk/tickets/{ticket.id}/reply", data={**form, "text": "Other", "solve": "true"}
        )
        assert changed.status_code == 422
        assert "already sent with another text. Preview your reply again" in page_text(changed.text)
        assert "Idempotency" not in changed.text
    published = await _reply(h, ticket.id)
    assert published is not None and published.text == FILLED
    assert (await ticket_flows.ticket(h, ticket.id)).status is TicketStatus.SOLVED


async def test_spam_or_irrelevant_asks_first_then_flags_notes_and_solves_with_no_reply_after(
    live: Harness,
) -> None:
    h, w = live, live.world
    ticket = await _posted(h, 1)
    async with web_client(h) as web:
        page = await _ticket_page(web, w.keys[w.agent], ticket.id)
        assert f'href="/desk/tickets/{ticket.id}/spam"' in page
        confirm = await web.get(f"/desk/tickets/{ticket.id}/spam")
        said = page_text(confirm.text)
        assert confirm.status_code == 200
        assert "no public reply" in said and "goes straight to the moderators" in said
        assert "internal note" in said and "The ticket is solved." in said
        assert "cannot be undone" in said
        forged = await web.post(f"/desk/tickets/{ticket.id}/spam", data={"csrf": "forged"})
        assert forged.status_code == 403
        assert (await ticket_flows.ticket(h, ticket.id)).spam_at is None

        form = {"csrf": csrf_of(confirm.text), "idempotency_key": idempotency_key_of(confirm.text)}
        for _ in range(2):  # sent twice: marked once
            marked = await web.post(f"/desk/tickets/{ticket.id}/spam", data=form)
            assert marked.status_code == 303
        after = await web.get(str(marked.headers["location"]))
        said = page_text(after.text)
        assert "Marked as spam or irrelevant: no public reply" in said
        assert "Marked as spam or irrelevant on" in said
        assert "Solved" in said and _reply_box(after.text) is None
        assert len(re.findall(r"data-note\b", after.text)) == 1

        refused = await web.post(
            f"/desk/tickets/{ticket.id}/reply",
            data={"csrf": form["csrf"], "text": FILLED, "idempotency_key": "later"},
        )
        assert refused.status_code == 409
        assert "marked as spam or irrelevant: it gets no public reply" in page_text(refused.text)
    assert await _reply(h, ticket.id) is None
    async with h.db.read() as conn:
        found = await flags.flags_of_business(conn, w.business)
    assert [(f.review_id, f.reason) for f in found] == [
        (ticket.review_id, FlagReason.ADVERTISING_OR_SPAM)
    ]


async def test_another_business_ticket_answers_the_reply_routes_as_absent(live: Harness) -> None:
    h, w = live, live.world
    ticket = await _posted(h)
    async with web_client(h) as web:
        await sign_in(web, w.keys[w.other_agent])
        csrf = csrf_of((await web.get("/desk")).text)
        assert (await _preview(web, ticket.id, csrf, FILLED)).status_code == 404
        sent = await web.post(
            f"/desk/tickets/{ticket.id}/reply",
            data={"csrf": csrf, "text": FILLED, "idempotency_key": "k"},
        )
        assert sent.status_code == 404
        assert (await web.get(f"/desk/tickets/{ticket.id}/spam")).status_code == 404
        spam = await web.post(f"/desk/tickets/{ticket.id}/spam", data={"csrf": csrf})
        assert spam.status_code == 404
    assert await _reply(h, ticket.id) is None
    assert (await ticket_flows.ticket(h, ticket.id)).spam_at is None


async def test_mark_solved_on_the_ticket_page_once_replied_solves_it_once(live: Harness) -> None:
    h, w = live, live.world
    replied = await _posted(h)
    unreplied = await _posted(h)
    async with web_client(h) as web:
        fresh = await _ticket_page(web, w.keys[w.agent], unreplied.id)
        assert "Mark solved" not in page_text(fresh)
        assert f"/desk/tickets/{unreplied.id}/solve" not in fresh
        early = await web.post(
            f"/desk/tickets/{unreplied.id}/solve",
            data={"csrf": csrf_of(fresh), "idempotency_key": "early"},
        )
        assert early.status_code == 409
        assert "Publish a public reply first" in page_text(early.text)
        assert (await ticket_flows.ticket(h, unreplied.id)).status is TicketStatus.NEW

        await h.service.replies.reply(
            w.business, await ticket_flows.member(h, w.agent), replied.id, ReplyIn(text=FILLED)
        )
        page = (await web.get(f"/desk/tickets/{replied.id}")).text
        assert "Mark solved" in page_text(page)
        forged = await web.post(f"/desk/tickets/{replied.id}/solve", data={"csrf": "forged"})
        assert forged.status_code == 403
        assert (await ticket_flows.ticket(h, replied.id)).status is TicketStatus.OPEN

        form = {"csrf": csrf_of(page), "idempotency_key": "solve-once"}
        for _ in range(2):  # a double click: solved once
            sent = await web.post(f"/desk/tickets/{replied.id}/solve", data=form)
            assert sent.status_code == 303
            assert sent.headers["location"] == f"/desk/tickets/{replied.id}?notice=solved#reply"
        after = page_text((await web.get(str(sent.headers["location"]))).text)
        assert "The ticket is solved." in after
        assert after.count("Alex Agent marked it solved") == 1
        assert "Mark solved" not in after and FILLED in after

        await sign_in(web, w.keys[w.other_agent])
        csrf = csrf_of((await web.get("/desk")).text)
        theirs = await web.post(f"/desk/tickets/{unreplied.id}/solve", data={"csrf": csrf})
        assert theirs.status_code == 404
    assert (await ticket_flows.ticket(h, replied.id)).status is TicketStatus.SOLVED
