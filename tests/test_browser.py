"""The whole journey in real headless Chromium (Debian's), as each person clicks it (issue 4, 2).

Screenshots of every page land in test-artifacts/screenshots/.
"""

from __future__ import annotations

import asyncio
import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page, async_playwright, expect

from settings import Settings
from starter.web.app import create_app
from starter.web.serve import serve
from tests.conftest import Harness
from tests.processes import ROOT, free_port

SHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Headless as root in a closed network: no sandbox, and nothing that phones home.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    port = free_port()
    return Settings(
        _env_file=None,
        data_dir=tmp_path / "data",
        task_queue=f"browser-{tmp_path.name}",
        web_host="127.0.0.1",
        web_port=port,
        public_base_url=f"http://127.0.0.1:{port}",
    )


@pytest_asyncio.fixture
async def site(live: Harness) -> AsyncIterator[Harness]:
    stop = asyncio.Event()
    server = asyncio.create_task(
        serve(create_app(live.settings, live.service), live.settings, stop)
    )
    for _ in range(100):
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", live.settings.web_port)
            writer.close()
            break
        except OSError:
            await asyncio.sleep(0.05)
    yield live
    stop.set()
    await server


@pytest_asyncio.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as p:
        chromium = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        await chromium.close()


async def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


async def sign_in(page: Page, base: str, key: str) -> None:
    await page.goto(f"{base}/login")
    await page.fill("#api_key", key)
    await page.click("text=Sign in >> nth=-1")


async def test_business_reviewer_and_moderator_go_through_find_reviewer_in_a_browser(
    site: Harness, browser: Browser
) -> None:
    h, w = site, site.world
    base = h.settings.public_base_url
    review = w.review["organic"]

    # A business signs in and finds the reviewer of a review.
    business = await browser.new_page()
    await sign_in(business, base, w.keys[w.business])
    await expect(business).to_have_url(f"{base}/dashboard")
    await shot(business, "01-business-dashboard")
    card = business.locator(f"[data-review='{review}']")
    await card.locator("summary", has_text="Find reviewer").click()
    await card.locator("textarea").fill("We can't find your order. Could you help us?")
    await card.locator("input[value='order_reference']").check()
    await card.locator("button", has_text="Send to reviewer").click()
    await expect(business.locator(".notice")).to_contain_text("The reviewer has been emailed")
    await expect(business.locator("[data-contact] .status")).to_have_text("awaiting reply")
    await shot(business, "02-business-contact-sent")
    # The public sees the label above the review, which stays visible.
    public = await browser.new_page()
    await public.goto(f"{base}/businesses/{w.business}")
    await expect(public.locator(f"[data-review='{review}'] .label")).to_have_text(
        "Reviewer contacted"
    )

    # The reviewer opens the emailed link on a phone, twice, and replies.
    [mail] = await h.messages("contact.requested", "reviewer")
    match = re.search(r"(http://\S+/reply/[A-Za-z0-9_\-]+)", mail.body_text)
    assert match and match.group(1).startswith(base)
    phone = await browser.new_context(viewport={"width": 390, "height": 844})
    reviewer = await phone.new_page()
    await reviewer.goto(match.group(1))
    await reviewer.reload()
    await expect(reviewer.locator("blockquote")).to_have_text(
        "We can't find your order. Could you help us?"
    )
    await expect(reviewer.locator("body")).to_contain_text("Order reference")
    await shot(reviewer, "03-reviewer-reply-page")
    await reviewer.fill("#order_reference", "HB-2291")
    await reviewer.fill("#message", "It was a birthday cake in March.")
    await reviewer.click("text=Send reply")
    await expect(reviewer.locator("h1")).to_have_text("Thank you")
    await shot(reviewer, "04-reviewer-thank-you")
    await reviewer.goto(match.group(1))
    await expect(reviewer.locator("h1")).to_have_text("Already answered")

    # The business sees the reply and reports the review.
    await business.goto(f"{base}/dashboard")
    contact = business.locator("[data-contact]")
    await expect(contact.locator(".reply")).to_contain_text("Order reference: HB-2291")
    await expect(contact.locator(".reply")).to_contain_text("It was a birthday cake in March.")
    assert w.reviewer_email not in await business.content()
    await shot(business, "05-business-sees-reply")
    await contact.locator("button", has_text="Report review").click()
    await expect(business.locator(".notice")).to_contain_text("reported and hidden")
    await shot(business, "06-business-reported")

    # The public page shows the placeholder instead of the review.
    await public.reload()
    hidden = public.locator(f"[data-review='{review}']")
    await expect(hidden.locator(".placeholder")).to_have_text(
        "This review is hidden while a report about it is handled."
    )
    await expect(hidden).not_to_contain_text("Text of organic")
    await shot(public, "07-public-page-hidden")

    # A moderator rejects the report.
    moderator = await (await browser.new_context()).new_page()
    await sign_in(moderator, base, w.keys[w.moderator])
    await expect(moderator).to_have_url(f"{base}/moderation")
    item = moderator.locator("[data-report]")
    await expect(item).to_contain_text("insufficient information")
    await expect(item).to_contain_text("HB-2291")
    await shot(moderator, "08-moderation-queue")
    await item.locator("textarea").fill("The order exists in the shop's system.")
    await item.locator("button", has_text="Reject").click()
    await expect(moderator.locator(".notice")).to_contain_text("Decision recorded")
    await expect(moderator.locator("body")).to_contain_text("No pending reports.")
    await shot(moderator, "09-moderation-decided")

    # The review is back, with its label, for everyone.
    await public.reload()
    back = public.locator(f"[data-review='{review}']")
    await expect(back).to_contain_text("Text of organic")
    await expect(back.locator(".label")).to_have_text("Reviewer contacted")
    await expect(back.locator(".placeholder")).to_have_count(0)
    await shot(public, "10-public-page-reinstated")


async def test_signed_in_forms_need_the_session_csrf_token(site: Harness, browser: Browser) -> None:
    h, w = site, site.world
    base = h.settings.public_base_url
    page = await browser.new_page()
    await sign_in(page, base, w.keys[w.business])
    # A form posted without the token (as a forged cross-site form would be) is refused.
    response = await page.request.post(
        f"{base}/dashboard/reviews/{w.review['organic']}/contact",
        form={"message": "Hello", "csrf": "forged"},
    )
    assert response.status == 403
    assert (await h.review(w.review["organic"])).labels == []
    cookie = next(c for c in await page.context.cookies() if c["name"] == "rd_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
