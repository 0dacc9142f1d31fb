"""Issue 20, acceptance 6, as people click it in real headless Chromium: the platform posts a
negative review; an agent opens its ticket, applies a macro (the reviewer's name filled in, one
placeholder left and named), previews it (refused while the placeholder is there), fills it in,
previews again and sends it as solved; the public page then shows the reply under the review.

Screenshots of the ticket with the macro applied, the preview and the public page, each on a
phone (390x844) and a desktop (1280x900): test-artifacts/screenshots/ (``20-``).
"""

from __future__ import annotations

import httpx
from playwright.async_api import Browser, Page, expect

from starter.reply_inputs import MacroIn
from store import members, replies, tickets
from tests.conftest import Harness
from tests.test_browser import browser, pytestmark, settings, shot, sign_in, site
from tests.test_browser_desk import desktop_page
from tests.test_browser_moderation import phone_page

__all__ = ["browser", "pytestmark", "settings", "site"]

MACRO = (
    "Dear [customer name],\n\nThank you for telling us, and we are sorry about"
    " [specific detail]. We have written to you privately to put it right.\n\n"
    "[your name], [business name]"
)
DETAIL = "the broken lamp"


async def _apply_macro(page: Page, base: str, ticket_id: str, title: str) -> None:
    await page.goto(f"{base}/desk/tickets/{ticket_id}")
    await page.locator("#macro").select_option(label=title)
    await page.locator("[data-macros] button", has_text="Apply").click()
    await expect(page.locator("[data-placeholders]")).to_have_text("Fill in: [specific detail]")


async def _fill_placeholder(page: Page) -> str:
    box = page.locator("#reply-text")
    text = (await box.input_value()).replace("[specific detail]", DETAIL)
    await box.fill(text)
    return text


async def test_a_macro_filled_in_previewed_and_sent_as_solved_shows_on_the_public_page(
    site: Harness, browser: Browser
) -> None:
    h, w = site, site.world
    base = h.settings.public_base_url
    async with h.db.read() as conn:
        agent_member = await members.get_member(conn, w.agent)
    assert agent_member is not None
    await h.service.macros.add(
        w.business, agent_member, MacroIn(title="Sorry, and we are on it", body=MACRO)
    )

    # The platform posts a new 1-star review (rule 14).
    async with httpx.AsyncClient(base_url=base) as platform:
        posted = await platform.post(
            "/api/v1/reviews",
            headers={"Authorization": f"Bearer {w.keys[w.platform]}"},
            json={
                "external_id": "tp-20-0001",
                "business_id": w.business,
                "reviewer": {"id": "tp-user-9", "display_name": "Dana K.", "email": "d@x.example"},
                "rating": 1,
                "title": "The lamp arrived broken",
                "text": "The box was crushed and the lamp inside was in pieces.",
                "source": "organic",
            },
        )
    assert posted.status_code == 201, posted.text
    ticket_id = posted.json()["ticket"]["id"]
    review_id = posted.json()["review"]["id"]

    # The agent opens the ticket and applies the macro: the name is filled, one placeholder left.
    agent = await desktop_page(browser)
    await sign_in(agent, base, w.keys[w.agent])
    await agent.goto(f"{base}/desk")
    await agent.locator(f"[data-ticket='{ticket_id}'] a.subject").click()
    await expect(agent.locator("h1")).to_have_text("The lamp arrived broken")
    await expect(agent.locator("[data-reply] h2")).to_have_text("Public reply")
    await _apply_macro(agent, base, ticket_id, "Sorry, and we are on it")
    box = agent.locator("#reply-text")
    await expect(box).to_have_value(
        MACRO.replace("[customer name]", "Dana K.")
        .replace("[your name]", "Alex Agent")
        .replace("[business name]", f"Shop {w.business}")
    )
    await shot(agent, "20-01-desk-ticket-macro")
    phone = await phone_page(browser)
    await sign_in(phone, base, w.keys[w.agent])
    await _apply_macro(phone, base, ticket_id, "Sorry, and we are on it")
    await shot(phone, "20-02-phone-desk-ticket-macro")

    # Previewed with the placeholder still there: named, and not offered for publishing.
    await agent.locator("button", has_text="Preview").click()
    await expect(agent.locator("h1")).to_have_text("Preview your reply")
    await expect(agent.locator("[data-placeholders]")).to_contain_text(
        "Fill in before publishing: [specific detail]."
    )
    await expect(agent.locator("button", has_text="Send as solved")).to_have_count(0)
    await agent.locator("button", has_text="Back to edit").click()
    await expect(agent.locator("[data-placeholders]")).to_have_text("Fill in: [specific detail]")

    # Filled in, previewed: the reply under the review as the public will see it.
    text = await _fill_placeholder(agent)
    await agent.locator("button", has_text="Preview").click()
    preview = agent.locator("[data-preview]")
    await expect(preview).to_contain_text("The lamp arrived broken")
    await expect(preview.locator("[data-public-reply]")).to_contain_text(
        f"Reply from Shop {w.business}"
    )
    await expect(preview.locator(".public-reply-text")).to_have_text(text)
    await expect(agent.locator("[data-publish]")).to_contain_text("cannot be edited or withdrawn")
    await shot(agent, "20-03-desk-reply-preview")
    await _fill_placeholder(phone)
    await phone.locator("button", has_text="Preview").click()
    await expect(phone.locator("[data-preview] .public-reply-text")).to_have_text(text)
    await shot(phone, "20-04-phone-desk-reply-preview")

    # "Send as solved": published once, the ticket solved, nothing left to change it with.
    await agent.locator("button", has_text="Send as solved").click()
    await expect(agent.locator(".notice")).to_contain_text(
        "Your reply is published under the review, and the ticket is solved."
    )
    await expect(agent.locator("[data-status]")).to_have_text("Solved")
    reply = agent.locator("[data-reply]")
    await expect(reply.locator(".public-reply-text")).to_have_text(text)
    await expect(reply).to_contain_text("Written by Alex Agent (you)")
    await expect(agent.locator("#reply-text")).to_have_count(0)
    await expect(agent.locator("[data-history]")).to_contain_text(
        "Alex Agent published the public reply"
    )
    await shot(agent, "20-05-desk-ticket-replied")

    # The public page: the reply under the review, from the business, on a desktop and a phone.
    for reader, name in (
        (await desktop_page(browser), "20-06-public-page-reply"),
        (await phone_page(browser), "20-07-phone-public-page-reply"),
    ):
        await reader.goto(f"{base}/businesses/{w.business}")
        shown = reader.locator(f"[data-review='{review_id}'] [data-public-reply]")
        await expect(shown).to_contain_text(f"Reply from Shop {w.business}")
        await expect(shown.locator(".public-reply-text")).to_have_text(text)
        # Signed by the agent in the text they chose; the page itself never says who wrote it.
        await expect(reader.locator("main")).not_to_contain_text("Written by")
        await shot(reader, name)

    async with h.db.read() as conn:
        published = await replies.reply_of_ticket(conn, ticket_id)
        ticket = await tickets.get_ticket(conn, ticket_id)
    assert published is not None and published.text == text
    assert ticket is not None and ticket.status.value == "solved"
