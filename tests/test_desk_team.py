"""What only a business's owner does (DESIGN rule 17), after the desk's second reading: where
webhook events go (the API and the webhooks page), and taking an agent off the team, whose key
and page sessions then end, whose tickets are left unassigned, and who is no longer listed,
assigned or mentioned; and `reviewdesk key rotate` for an agent."""

from __future__ import annotations

import json
import re
import secrets

import httpx
import pytest

from domain.enums import ReviewSource, WebhookEvent
from starter.desk_inputs import ReviewerIn, ReviewIn
from store import tickets
from store import webhooks as stored_webhooks
from store.records import Ticket, now
from tests.conftest import Harness
from tests.terminal import run_cli
from tests.web import as_, csrf_of, sign_in, web_client


async def _post(h: Harness, rating: int = 2) -> Ticket:
    tag = secrets.token_hex(6)
    posted = await h.service.intake.post(
        ReviewIn(
            external_id=f"ext_{tag}",
            business_id=h.world.business,
            reviewer=ReviewerIn(id=f"rvr_{tag}", display_name="Sam S.", email=f"{tag}@r.example"),
            rating=rating,
            title=f"Review {tag}",
            text="What happened.",
            source=ReviewSource.ORGANIC,
        )
    )
    return posted.ticket


async def _endpoint(h: Harness) -> str:
    endpoint_id = f"we_{secrets.token_hex(6)}"
    async with h.db.tx() as conn:
        await stored_webhooks.add_endpoint(
            conn,
            id=endpoint_id,
            business_id=h.world.business,
            # Refused at delivery (a private address): what is recorded stays to be read.
            url="https://127.0.0.1:9/desk",
            event_types=[WebhookEvent.TICKET_ASSIGNED],
            sealed_secret=h.service.webhooks.sealer.seal("whsec_dGVzdHNlY3JldA=="),
            at=now(),
        )
    return endpoint_id


def _refused(got: httpx.Response, status: int, code: str) -> None:
    assert got.status_code == status, got.text
    assert got.json()["error"]["code"] == code


async def test_an_agent_key_reads_the_webhooks_but_changes_none(live: Harness) -> None:
    h, w = live, live.world
    endpoint = await _endpoint(h)
    alex = as_(w.keys[w.agent])
    body = {"url": "https://agent.example/steal"}
    async with web_client(h) as api:
        listed = await api.get("/api/v1/webhooks", headers=alex)
        assert listed.status_code == 200 and [e["id"] for e in listed.json()] == [endpoint]
        _refused(await api.post("/api/v1/webhooks", json=body, headers=alex), 403, "owner_only")
        _refused(await api.delete(f"/api/v1/webhooks/{endpoint}", headers=alex), 403, "owner_only")
        rotated = await api.post(f"/api/v1/webhooks/{endpoint}/rotate", headers=alex)
        _refused(rotated, 403, "owner_only")
        resent = await api.post("/api/v1/webhooks/events/any-key/resend", headers=alex)
        _refused(resent, 403, "owner_only")
        # Nothing changed: the owner still has the one endpoint, and may remove it.
        owner = as_(w.keys[w.business])
        assert [e["id"] for e in (await api.get("/api/v1/webhooks", headers=owner)).json()] == [
            endpoint
        ]
        assert (await api.delete(f"/api/v1/webhooks/{endpoint}", headers=owner)).status_code == 200


async def test_the_webhooks_page_shows_an_agent_no_form_and_refuses_theirs(live: Harness) -> None:
    h, w = live, live.world
    endpoint = await _endpoint(h)
    page = "/dashboard/webhooks"
    async with web_client(h) as web:
        await sign_in(web, w.keys[w.agent])
        seen = await web.get(page)
        assert seen.status_code == 200 and "https://127.0.0.1:9/desk" in seen.text
        assert "Add an endpoint" not in seen.text and f"{endpoint}/remove" not in seen.text
        assert "Only your business's owner" in seen.text
        csrf = csrf_of(seen.text)
        for path, data in (
            (page, {"csrf": csrf, "url": "https://agent.example/steal"}),
            (f"{page}/{endpoint}/remove", {"csrf": csrf}),
            (f"{page}/{endpoint}/rotate", {"csrf": csrf}),
            (f"{page}/events/any-key/resend", {"csrf": csrf}),
        ):
            refused = await web.post(path, data=data)
            assert refused.status_code == 403 and "owner" in refused.text, path
        for path in (f"{page}/{endpoint}/remove", f"{page}/{endpoint}/rotate"):
            assert (await web.get(path)).status_code == 403
        await sign_in(web, w.keys[w.business])
        owners = await web.get(page)
        assert "Add an endpoint" in owners.text and f"{endpoint}/remove" in owners.text
    assert [e.id for e in await h.service.webhooks.endpoints(w.business)] == [endpoint]


async def test_a_removed_agent_key_and_session_end_and_their_tickets_are_unassigned(
    live: Harness,
) -> None:
    h, w = live, live.world
    await _endpoint(h)
    alex_key, owner = w.keys[w.agent], as_(w.keys[w.business])
    ticket = await _post(h)
    async with web_client(h) as api, web_client(h) as browser:
        assert (
            await api.post(f"/api/v1/tickets/{ticket.id}/take", headers=as_(alex_key))
        ).is_success
        await sign_in(browser, alex_key)
        assert (await browser.get("/desk")).status_code == 200

        # Only the owner removes, and not themselves.
        alex_removes = await api.delete(f"/api/v1/agents/{w.agent}", headers=as_(alex_key))
        _refused(alex_removes, 403, "owner_only")
        owner_id = f"mb_owner_{w.business}"
        _refused(
            await api.delete(f"/api/v1/agents/{owner_id}", headers=owner),
            409,
            "owner_not_removable",
        )
        other = await api.delete(f"/api/v1/agents/{w.other_agent}", headers=owner)
        _refused(other, 422, "member_not_found")

        removed = await api.delete(f"/api/v1/agents/{w.agent}", headers=owner)
        assert removed.status_code == 200, removed.text
        assert removed.json()["name"] == "Alex Agent"
        # Sent again (a retry): the same answer, nothing more.
        again = await api.delete(f"/api/v1/agents/{w.agent}", headers=owner)
        assert again.status_code == 200 and again.json() == removed.json()

        # The key is refused, the page session is over.
        assert (await api.get("/api/v1/tickets", headers=as_(alex_key))).status_code == 401
        gone = await browser.get("/desk")
        assert gone.status_code == 303 and gone.headers["location"].startswith("/login")

        # Off the team, the assign list and the mentions; the ticket is nobody's.
        team = (await api.get("/api/v1/agents", headers=owner)).json()
        assert [m["name"] for m in team] == [f"Shop {w.business}"]
        detail = (await api.get(f"/api/v1/tickets/{ticket.id}", headers=owner)).json()
        assert detail["assignee"] is None
        assert [e["kind"] for e in detail["history"]][-1] == "unassigned"
        assign = await api.post(
            f"/api/v1/tickets/{ticket.id}/assign", json={"assignee_id": w.agent}, headers=owner
        )
        _refused(assign, 422, "member_not_found")
        noted = await api.post(
            f"/api/v1/tickets/{ticket.id}/notes", json={"text": "@alex look"}, headers=owner
        )
        assert noted.status_code == 201
    assert await h.messages("ticket.mentioned", "member") == []
    events = [m for m in await h.outbox() if m.event_type == "ticket.assigned"]
    assert [json.loads(m.body_text)["data"]["assignee_id"] for m in events] == [w.agent, None]
    async with h.db.read() as conn:
        assert await tickets.assigned_to(conn, w.business, w.agent) == []


async def test_the_team_page_removes_an_agent_after_asking(live: Harness) -> None:
    h, w = live, live.world
    await _post(h)
    async with web_client(h) as web:
        await sign_in(web, w.keys[w.agent])
        team = await web.get("/desk/team")
        assert f"/desk/team/{w.agent}/remove" not in team.text
        assert (await web.get(f"/desk/team/{w.agent}/remove")).status_code == 403
        refused = await web.post(f"/desk/team/{w.agent}/remove", data={"csrf": csrf_of(team.text)})
        assert refused.status_code == 403

        await sign_in(web, w.keys[w.business])
        team = await web.get("/desk/team")
        assert f'href="/desk/team/{w.agent}/remove"' in team.text
        assert f"/desk/team/mb_owner_{w.business}/remove" not in team.text
        asked = await web.get(f"/desk/team/{w.agent}/remove")
        assert asked.status_code == 200 and "Remove Alex Agent from your team?" in asked.text
        form = {"csrf": csrf_of(asked.text)}
        done = await web.post(f"/desk/team/{w.agent}/remove", data=form)
        assert done.status_code == 303 and done.headers["location"].startswith("/desk/team")
        # A double submit lands on the team page as well.
        twice = await web.post(f"/desk/team/{w.agent}/remove", data=form)
        assert twice.status_code == 303
        after = await web.get(done.headers["location"])
        assert "Alex Agent" not in after.text and "The agent is removed" in after.text
        owner_out = await web.post(
            f"/desk/team/mb_owner_{w.business}/remove", data={"csrf": csrf_of(after.text)}
        )
        assert owner_out.status_code == 409
    assert (await sign_in_fails(h, w.keys[w.agent])) is True


async def sign_in_fails(h: Harness, key: str) -> bool:
    async with web_client(h) as web:
        await web.get("/login")
        signed = await web.post(
            "/login", data={"api_key": key, "csrf": web.cookies["rd_login_csrf"]}
        )
        return signed.status_code == 401


async def test_the_cli_rotates_an_agent_key_and_ends_the_old_one(
    live: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    h, w = live, live.world
    old = w.keys[w.agent]
    async with web_client(h) as web:
        await sign_in(web, old)
        assert (await web.get("/desk")).status_code == 200
        rotated = await run_cli(h, monkeypatch, "key", "rotate", w.agent)
        assert rotated.exit_code == 0, rotated.output
        new = rotated.output.strip().splitlines()[-1]
        assert re.fullmatch(r"rd_agt_\S+", new), rotated.output
        assert (await web.get("/desk")).status_code == 303
        assert (await web.get("/api/v1/tickets", headers=as_(old))).status_code == 401
        mine = await web.get("/api/v1/tickets", params={"view": "assigned_to_me"}, headers=as_(new))
        assert mine.status_code == 200
    assert await sign_in_fails(h, old)
    # A removed agent has no key to rotate.
    async with web_client(h) as api:
        gone = await api.delete(f"/api/v1/agents/{w.agent}", headers=as_(w.keys[w.business]))
        assert gone.status_code == 200
    refused = await run_cli(h, monkeypatch, "key", "rotate", w.agent)
    assert refused.exit_code == 2
