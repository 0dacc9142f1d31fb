"""Issue 19, acceptance 7, as people click it in real headless Chromium: the platform posts a new
negative review, which appears under "Unanswered negative" with its count; an agent, signed in
with their own key, takes it, writes a note mentioning the owner (who is emailed once), and opens
"Find reviewer" from it; the ticket then shows the contact, pending while it runs.

Screenshots of the inbox and the ticket on a phone (390x844) and a desktop (1280x900):
test-artifacts/screenshots/ (``19-``).
"""

from __future__ import annotations

import httpx
from playwright.async_api import Browser, Page, expect

from store import members, tickets
from tests.conftest import Harness
from tests.test_browser import browser, pytestmark, settings, shot, sign_in, site
from tests.test_browser_moderation import phone_page

__all__ = ["browser", "pytestmark", "settings", "site"]

DESKTOP = {"width": 1280, "height": 900}
NOTE = "@owner this one is about the broken parcel; I am asking the reviewer for the order."


async def desktop_page(browser: Browser) -> Page:
    return await (await browser.new_context(viewport=DESKTOP)).new_page()  # type: ignore[arg-type]


async def test_a_new_negative_review_is_taken_noted_and_turned_into_a_private_dialogue(
    site: Harness, browser: Browser
) -> None:
    h, w = site, site.world
    base = h.settings.public_base_url

    # The platform posts a new 1-star review, as it does for every review (rule 14).
    async with httpx.AsyncClient(base_url=base) as platform:
        posted = await platform.post(
            "/api/v1/reviews",
            headers={"Authorization": f"Bearer {w.keys[w.platform]}"},
            json={
                "external_id": "tp-19-0001",
                "business_id": w.business,
                "reviewer": {
                    "id": "tp-user-7",
                    "display_name": "Dana K.",
                    "email": "dana@mail.example",
                },
                "rating": 1,
                "title": "The parcel arrived broken",
                "text": "The box was crushed and the lamp inside was in pieces."
                " Nobody answered my emails.",
                "source": "organic",
            },
        )
    assert posted.status_code == 201, posted.text
    ticket_id = posted.json()["ticket"]["id"]

    # The agent signs in with their own key; the desk shows the new review first.
    agent = await desktop_page(browser)
    await sign_in(agent, base, w.keys[w.agent])
    await expect(agent.locator("header")).to_contain_text("Alex Agent")
    await agent.locator("header a[href='/desk']").click()
    await expect(agent.locator("h1")).to_have_text("Inbox")
    tab = agent.locator("[data-view='unanswered_negative']")
    await expect(tab).to_have_text("Unanswered negative (1)")
    await expect(tab).to_have_attribute("aria-current", "page")
    row = agent.locator(f"[data-ticket='{ticket_id}']")
    await expect(row).to_contain_text("The parcel arrived broken")
    await expect(row).to_contain_text("Dana K.")
    await expect(row).to_contain_text("Not assigned")
    await expect(row.locator(".status")).to_have_text("New")
    await expect(row.locator(".tags")).to_contain_text("1 star")
    await expect(row.locator(".tags")).to_contain_text("Negative")
    await shot(agent, "19-01-desk-inbox")
    phone = await phone_page(browser)
    await sign_in(phone, base, w.keys[w.agent])
    await phone.goto(f"{base}/desk")
    await expect(phone.locator("[data-view='unanswered_negative']")).to_have_text(
        "Unanswered negative (1)"
    )
    await shot(phone, "19-02-phone-desk-inbox")

    # The agent takes it.
    await row.locator("a.subject").click()
    await expect(agent.locator("h1")).to_have_text("The parcel arrived broken")
    await expect(agent.locator("[data-target]")).to_contain_text("Negative reviews (1-2 stars)")
    await agent.locator("button", has_text="Take it").click()
    await expect(agent.locator(".notice")).to_contain_text("The ticket is yours.")
    await expect(agent.locator("[data-assignee]")).to_contain_text("Alex Agent (you)")
    await expect(agent.locator("[data-status]")).to_have_text("Open")

    # A note mentioning the owner: the owner is emailed, once.
    await agent.locator("#note").fill(NOTE)
    await agent.locator("button", has_text="Save note").click()
    await expect(agent.locator(".notice")).to_contain_text("Your note is saved")
    note = agent.locator("[data-note]")
    await expect(note).to_have_count(1)
    await expect(note).to_contain_text("Alex Agent")
    await expect(note).to_contain_text("the broken parcel")
    owner = members.owner_id(w.business)

    async def mailed() -> bool:
        sent = await h.messages("ticket.mentioned", "member")
        return bool(sent) and all(m.status == "sent" for m in sent)

    await h.eventually(mailed)
    sent = await h.messages("ticket.mentioned", "member")
    assert [(m.recipient_id, m.to_address) for m in sent] == [(owner, w.business_email)]

    # "Find reviewer" from the ticket: the contact form for this review.
    await agent.locator("a", has_text="Find reviewer").click()
    await expect(agent.locator("h1")).to_have_text("Find reviewer")
    await expect(agent.locator("[data-review]")).to_contain_text("The parcel arrived broken")
    await agent.locator("#message").fill(
        "Sorry about the lamp. Could you send us your order number?"
    )
    await agent.locator("input[value='order_reference']").check()
    await shot(agent, "19-03-desk-find-reviewer")
    await agent.locator("button", has_text="Send to reviewer").click()
    await expect(agent.locator(".notice")).to_contain_text("The reviewer has been emailed")
    dialogue = agent.locator("[data-dialogue]")
    await expect(dialogue).to_contain_text("Waiting for the reviewer")
    await expect(agent.locator("[data-status]")).to_have_text("Pending")
    history = agent.locator("[data-history]")
    await expect(history).to_contain_text("Alex Agent took it")
    await expect(history).to_contain_text("Alex Agent wrote an internal note")
    await expect(history).to_contain_text("private dialogue with the reviewer began")
    text = await agent.locator("main").inner_text()
    for code in (ticket_id, w.agent, owner, "rating_1", "contact_opened", "awaiting_reply"):
        assert code not in text
    await shot(agent, "19-04-desk-ticket")
    await phone.goto(f"{base}/desk/tickets/{ticket_id}")
    await expect(phone.locator("[data-status]")).to_have_text("Pending")
    await shot(phone, "19-05-phone-desk-ticket")

    # The inbox counts follow: still unanswered, now the agent's.
    await phone.goto(f"{base}/desk?view=assigned_to_me")
    await expect(phone.locator("[data-view='assigned_to_me']")).to_have_text("Assigned to me (1)")
    await expect(phone.locator("[data-view='new']")).to_have_text("New (0)")
    await shot(phone, "19-06-phone-desk-assigned-to-me")
    # The team, as an agent sees it: names and handles for mentions, no form to add anyone.
    await phone.locator("nav.desk-nav a", has_text="Team").click()
    await expect(phone.locator("[data-member='alex']")).to_contain_text("Alex Agent (you)")
    await expect(phone.locator("#add-agent")).to_have_count(0)
    await shot(phone, "19-07-phone-desk-team")
    # The owner's team page has the form to add an agent.
    owner_page = await desktop_page(browser)
    await sign_in(owner_page, base, w.keys[w.business])
    await owner_page.goto(f"{base}/desk/team")
    await expect(owner_page.locator("#add-agent")).to_contain_text("Add an agent")
    await shot(owner_page, "19-08-desk-team-owner")
    async with h.db.read() as conn:
        ticket = await tickets.get_ticket(conn, ticket_id)
    assert ticket is not None and ticket.assignee_id == w.agent
