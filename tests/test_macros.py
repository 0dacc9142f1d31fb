"""A business's macros (issue 20, DESIGN rule 18): kept per business, applied to a ticket with
what is known filled in, and the rest left for the agent, whom the reply then holds to it
(acceptance 3)."""

from __future__ import annotations

import asyncio
import html
import secrets
from collections.abc import Awaitable

import pytest

from domain.refusals import Refusal, Refused
from starter.macros import MAX_MACROS
from starter.reply_inputs import MacroIn, ReplyIn
from starter.seed import seed_demo
from store import macros as stored
from store import members
from store.records import Macro, now
from tests.conftest import Harness
from tests.ticket_flows import REVIEWER_NAME, member, review_in
from tests.web import as_, csrf_of, sign_in, web_client

SORRY = (
    "Hi [customer name], we are sorry about [specific detail]. "
    "Kind regards, [your name] at [business name]"
)


async def _titles(h: Harness, business_id: str) -> list[str]:
    return [m.title for m in await h.service.macros.macros_of(business_id)]


async def _refusal(call: Awaitable[object]) -> Refusal:
    with pytest.raises(Refused) as refused:
        await call
    return refused.value.reason


async def test_the_team_adds_macros_only_the_owner_or_author_removes_and_others_never_see(
    live: Harness,
) -> None:
    h, w = live, live.world
    agent, owner = await member(h, w.agent), await member(h, members.owner_id(w.business))
    other = await member(h, w.other_agent)
    macros = h.service.macros
    mine = await macros.add(w.business, agent, MacroIn(title="sorry", body=SORRY))
    theirs = await macros.add(w.business, owner, MacroIn(title="Thanks", body="Thank you!"))
    await macros.add(w.business, owner, MacroIn(title="After", body="More"))
    assert mine.created_by == agent.id
    # By title, as a person looks for one, whatever the case.
    assert await _titles(h, w.business) == ["After", "sorry", "Thanks"]

    # Another business neither sees, applies nor removes them: as if they did not exist.
    assert await macros.macros_of(w.other_business) == []
    assert await _refusal(macros.remove(w.other_business, other, mine.id)) is (
        Refusal.MACRO_NOT_FOUND
    )
    posted = await h.service.intake.post(review_in(h, 2))
    render = macros.render(w.other_business, other, mine.id, posted.ticket.id)
    assert await _refusal(render) is Refusal.MACRO_NOT_FOUND

    # An agent removes their own macro, not the owner's; the owner removes any.
    assert await _refusal(macros.remove(w.business, agent, theirs.id)) is Refusal.OWNER_ONLY
    assert (await macros.remove(w.business, agent, mine.id)).id == mine.id
    assert (await macros.remove(w.business, owner, theirs.id)).id == theirs.id
    assert await _titles(h, w.business) == ["After"]
    # Removed: never offered again, applied again nor removed twice.
    ticket_id = posted.ticket.id
    assert await _refusal(macros.render(w.business, agent, mine.id, ticket_id)) is (
        Refusal.MACRO_NOT_FOUND
    )
    assert await _refusal(macros.remove(w.business, owner, mine.id)) is Refusal.MACRO_NOT_FOUND


async def test_applied_to_a_signed_review_it_fills_names_and_leaves_the_detail(
    live: Harness,
) -> None:
    h, w = live, live.world
    agent = await member(h, w.agent)
    macro = await h.service.macros.add(w.business, agent, MacroIn(title="Sorry", body=SORRY))
    posted = await h.service.intake.post(review_in(h, 1))

    done = await h.service.macros.render(w.business, agent, macro.id, posted.ticket.id)

    assert done.text == (
        f"Hi {REVIEWER_NAME}, we are sorry about [specific detail]. "
        f"Kind regards, Alex Agent at Shop {w.business}"
    )
    assert done.placeholders == ["specific detail"]
    # Someone else's ticket, even with one's own macro: as if it did not exist.
    others = await h.service.intake.post(
        review_in(h, 1).model_copy(update={"business_id": w.other_business})
    )
    render = h.service.macros.render(w.business, agent, macro.id, others.ticket.id)
    assert await _refusal(render) is Refusal.TICKET_NOT_FOUND


async def test_applied_to_an_anonymous_review_it_leaves_the_customer_name_and_the_reply_waits(
    live: Harness,
) -> None:
    """Acceptance 3: the reviewer signed another review with their name, which an anonymous
    review's reply must still not use; a reply sent with the placeholder left is refused and
    names it, and nothing is published."""
    h, w = live, live.world
    agent = await member(h, w.agent)
    macro = await h.service.macros.add(w.business, agent, MacroIn(title="Sorry", body=SORRY))
    signed = review_in(h, 4)
    await h.service.intake.post(signed)
    # The same reviewer (their id), this time without a name.
    same = signed.reviewer.model_copy(update={"display_name": None})
    unsigned = review_in(h, 1, display_name=None).model_copy(update={"reviewer": same})
    anonymous = await h.service.intake.post(unsigned)
    assert (await h.review(anonymous.review.id)).anonymous

    done = await h.service.macros.render(w.business, agent, macro.id, anonymous.ticket.id)

    assert done.text.startswith("Hi [customer name], ")
    assert REVIEWER_NAME not in done.text and "Alex Agent" in done.text
    assert done.placeholders == ["customer name", "specific detail"]
    reply = h.service.replies.reply(w.business, agent, anonymous.ticket.id, ReplyIn(text=done.text))
    with pytest.raises(Refused) as refused:
        await reply
    assert refused.value.reason is Refusal.PLACEHOLDERS_LEFT
    assert "[customer name]" in str(refused.value.message)
    detail = await h.service.desk.ticket(w.business, anonymous.ticket.id)
    assert detail.reply is None


async def test_a_business_keeps_at_most_a_hundred_and_a_retried_add_is_the_first(
    live: Harness,
) -> None:
    h, w = live, live.world
    agent = await member(h, w.agent)
    body = MacroIn(title="Once", body="Thank you, [customer name].")

    # The same key, sent at once and again: one macro, the first.
    made = await asyncio.gather(
        *(h.service.macros.add(w.business, agent, body, idempotency_key="k1") for _ in range(5))
    )
    assert {m.id for m in made} == {made[0].id}
    again = await h.service.macros.add(w.business, agent, body, idempotency_key="k1")
    assert again.id == made[0].id and await _titles(h, w.business) == ["Once"]

    async with h.db.tx() as conn:
        for i in range(MAX_MACROS - 1):
            macro = Macro(
                id=f"mc_t{i}_{secrets.token_hex(4)}",
                business_id=w.business,
                title=f"Macro {i:03}",
                body="Text",
                created_by=agent.id,
                created_at=now(),
            )
            await stored.add_macro(conn, macro)
    full = h.service.macros.add(w.business, agent, MacroIn(title="One more", body="x"))
    assert await _refusal(full) is Refusal.MACRO_LIMIT_REACHED
    assert len(await _titles(h, w.business)) == MAX_MACROS
    # The first key still answers with its macro; the other business is not counted.
    assert (await h.service.macros.add(w.business, agent, body, idempotency_key="k1")).id == (
        made[0].id
    )
    other = await member(h, w.other_agent)
    await h.service.macros.add(w.other_business, other, body)

    async with web_client(h) as api:
        got = await api.post(
            "/api/v1/macros", json={"title": "x", "body": "y"}, headers=as_(w.keys[w.agent])
        )
        assert got.status_code == 409, got.text
        assert got.json()["error"]["code"] == "macro_limit_reached"
        # Removing one makes room again.
        await h.service.macros.remove(w.business, agent, made[0].id)
        got = await api.post(
            "/api/v1/macros", json={"title": "x", "body": "y"}, headers=as_(w.keys[w.agent])
        )
        assert got.status_code == 201, got.text


async def test_an_idempotency_key_is_each_members_own(live: Harness) -> None:
    """Two members of one team who happen to send the same key each get their own macro, never
    the colleague's (issue 20, second reading)."""
    h, w = live, live.world
    agent, owner = await member(h, w.agent), await member(h, members.owner_id(w.business))
    mine = await h.service.macros.add(
        w.business, agent, MacroIn(title="Mine", body="Thanks!"), idempotency_key="same"
    )
    theirs = await h.service.macros.add(
        w.business, owner, MacroIn(title="Theirs", body="Sorry."), idempotency_key="same"
    )
    assert theirs.id != mine.id
    assert (theirs.title, theirs.created_by) == ("Theirs", owner.id)
    assert await _titles(h, w.business) == ["Mine", "Theirs"]

    async with web_client(h) as api:
        for key, title, made in (
            (w.keys[w.agent], "Again", mine),
            (w.keys[w.business], "More", theirs),
        ):
            # Each member's retry is their own first macro.
            got = await api.post(
                "/api/v1/macros",
                json={"title": title, "body": "x"},
                headers={**as_(key), "Idempotency-Key": "same"},
            )
            assert got.status_code == 201, got.text
            assert got.json()["id"] == made.id and got.json()["title"] == made.title
        # A key new to this member, even one a colleague used first, adds their macro.
        again = await api.post(
            "/api/v1/macros",
            json={"title": "Alex's own", "body": "x"},
            headers={**as_(w.keys[w.agent]), "Idempotency-Key": "owner-only"},
        )
        assert again.status_code == 201
        await h.service.macros.add(
            w.business, owner, MacroIn(title="Owner's", body="y"), idempotency_key="owner-only"
        )
    assert await _titles(h, w.business) == ["Alex's own", "Mine", "Owner's", "Theirs"]


async def test_the_api_lists_adds_applies_and_removes_and_refuses_what_it_should(
    live: Harness,
) -> None:
    h, w = live, live.world
    alex, owner = as_(w.keys[w.agent]), as_(w.keys[w.business])
    olive = as_(w.keys[w.other_agent])
    posted = await h.service.intake.post(review_in(h, 2))
    async with web_client(h) as api:
        bad = [
            {"title": "", "body": "x"},
            {"title": "two\nlines", "body": "x"},
            {"title": "x" * 101, "body": "x"},
            {"title": "x", "body": ""},
            {"title": "x", "body": "y" * 5001},
            {"title": "x", "body": "bell\x07"},
            {"title": "x"},
            {"title": "x", "body": "y", "extra": 1},
        ]
        for body in bad:
            got = await api.post("/api/v1/macros", json=body, headers=alex)
            assert got.status_code == 422, (body, got.text)
        assert (await api.get("/api/v1/macros", headers=alex)).json() == [], "nothing stored"

        key = {"Idempotency-Key": "add-1"}
        added = await api.post(
            "/api/v1/macros", json={"title": "Sorry", "body": SORRY}, headers={**alex, **key}
        )
        assert added.status_code == 201, added.text
        macro = added.json()
        assert macro["added_by"]["name"] == "Alex Agent"
        assert macro["placeholders"] == [
            "customer name",
            "specific detail",
            "your name",
            "business name",
        ]
        retried = await api.post(
            "/api/v1/macros", json={"title": "Sorry", "body": SORRY}, headers={**alex, **key}
        )
        assert retried.json()["id"] == macro["id"]
        listed = await api.get("/api/v1/macros", headers=owner)
        assert [m["id"] for m in listed.json()] == [macro["id"]]

        path = f"/api/v1/macros/{macro['id']}"
        rendered = await api.post(
            f"{path}/render", params={"ticket": posted.ticket.id}, headers=alex
        )
        assert rendered.status_code == 200, rendered.text
        assert rendered.json() == {
            "macro_id": macro["id"],
            "text": f"Hi {REVIEWER_NAME}, we are sorry about [specific detail]. "
            f"Kind regards, Alex Agent at Shop {w.business}",
            "placeholders": ["specific detail"],
        }
        # [your name] is whoever applies it.
        owner_name = (await member(h, members.owner_id(w.business))).name
        by_owner = await api.post(
            f"{path}/render", params={"ticket": posted.ticket.id}, headers=owner
        )
        assert f"Kind regards, {owner_name} at" in by_owner.json()["text"]
        no_ticket = await api.post(f"{path}/render", headers=alex)
        assert no_ticket.status_code == 422

        # Another business: the macro and the ticket are as absent as unknown ones.
        assert (await api.get("/api/v1/macros", headers=olive)).json() == []
        for got in (
            await api.post(f"{path}/render", params={"ticket": posted.ticket.id}, headers=olive),
            await api.delete(path, headers=olive),
            await api.post(
                "/api/v1/macros/mc_nope/render", params={"ticket": posted.ticket.id}, headers=alex
            ),
        ):
            assert got.status_code == 404, got.text
            assert got.json()["error"]["code"] == "macro_not_found"
        other_ticket = await h.service.intake.post(
            review_in(h, 2).model_copy(update={"business_id": w.other_business})
        )
        got = await api.post(
            f"{path}/render", params={"ticket": other_ticket.ticket.id}, headers=alex
        )
        assert got.status_code == 404 and got.json()["error"]["code"] == "ticket_not_found"

        # The owner's macro is not an agent's to remove; the owner removes the agent's.
        theirs = await api.post("/api/v1/macros", json={"title": "Hi", "body": "Hi"}, headers=owner)
        got = await api.delete(f"/api/v1/macros/{theirs.json()['id']}", headers=alex)
        assert got.status_code == 403 and got.json()["error"]["code"] == "owner_only"
        removed = await api.delete(path, headers=owner)
        assert removed.status_code == 200 and removed.json()["id"] == macro["id"]
        again = await api.delete(path, headers=owner)
        assert again.status_code == 404 and again.json()["error"]["code"] == "macro_not_found"
        listed = await api.get("/api/v1/macros", headers=alex)
        assert [m["title"] for m in listed.json()] == ["Hi"]
        assert (await api.get("/api/v1/macros")).status_code == 401


async def test_the_macros_page_lists_adds_in_words_and_removes_after_asking(
    live: Harness,
) -> None:
    h, w = live, live.world
    async with web_client(h) as web:
        await sign_in(web, w.keys[w.agent])
        page = await web.get("/desk/macros")
        assert page.status_code == 200 and "No macros yet" in page.text
        inbox = await web.get("/desk")
        assert 'href="/desk/macros"' in inbox.text, "the desk links to its macros"
        csrf = csrf_of(page.text)

        empty = await web.post("/desk/macros", data={"csrf": csrf, "title": "", "body": SORRY})
        assert empty.status_code == 422
        assert "Give the macro a title on one line" in empty.text
        assert html.escape(SORRY) in empty.text, "what was written is kept"
        assert await _titles(h, w.business) == []
        forged = await web.post("/desk/macros", data={"csrf": "forged", "title": "T", "body": "B"})
        assert forged.status_code in (400, 403)
        assert await _titles(h, w.business) == []

        form = {"csrf": csrf, "title": "Sorry", "body": SORRY, "idempotency_key": "form-1"}
        added = await web.post("/desk/macros", data=form)
        assert added.status_code == 303
        twice = await web.post("/desk/macros", data=form)
        assert twice.status_code == 303 and await _titles(h, w.business) == ["Sorry"]
        page = await web.get(added.headers["location"])
        assert "The macro is added" in page.text
        assert "<h2>Sorry</h2>" in page.text and "Added by Alex Agent on " in page.text
        [macro] = await h.service.macros.macros_of(w.business)

        confirm = await web.get(f"/desk/macros/{macro.id}/remove")
        assert confirm.status_code == 200 and "cannot be undone" in confirm.text
        assert await _titles(h, w.business) == ["Sorry"], "asking removes nothing"
        removed = await web.post(
            f"/desk/macros/{macro.id}/remove", data={"csrf": csrf_of(confirm.text)}
        )
        assert removed.status_code == 303
        resent = await web.post(
            f"/desk/macros/{macro.id}/remove", data={"csrf": csrf_of(confirm.text)}
        )
        assert resent.status_code == 303, "a form sent twice lands where the first did"
        assert await _titles(h, w.business) == []

        # Another business's agent: no such macro to remove.
        owner = await member(h, members.owner_id(w.business))
        kept = await h.service.macros.add(w.business, owner, MacroIn(title="Kept", body="x"))
        forbidden = await web.get(f"/desk/macros/{kept.id}/remove")
        assert forbidden.status_code == 403, "the owner's macro is not the agent's to remove"
        await sign_in(web, w.keys[w.other_agent])
        assert (await web.get(f"/desk/macros/{kept.id}/remove")).status_code == 404
        assert "Kept" not in (await web.get("/desk/macros")).text


async def test_the_demo_seeds_three_macros_a_business_once(live: Harness) -> None:
    h = live
    await seed_demo(h.db, h.settings.demo_file)
    for business in ("biz_harbour_bakery", "biz_quickfix"):
        seeded = await h.service.macros.macros_of(business)
        assert len(seeded) == 3
        wanted = ("[customer name]", "[specific detail]", "[your name]")
        assert any(all(p in m.body for p in wanted) for m in seeded), "an apology to adapt"
    owner = await member(h, members.owner_id("biz_quickfix"))
    removed = (await h.service.macros.macros_of("biz_quickfix"))[0]
    await h.service.macros.remove("biz_quickfix", owner, removed.id)
    await seed_demo(h.db, h.settings.demo_file)
    assert len(await h.service.macros.macros_of("biz_harbour_bakery")) == 3
    assert removed.id not in {m.id for m in await h.service.macros.macros_of("biz_quickfix")}
