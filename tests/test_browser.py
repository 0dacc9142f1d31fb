"""The whole journey in real headless Chromium (Debian's), as each person clicks it (issue 4, 2).

Screenshots of every page land in test-artifacts/screenshots/.
"""

from __future__ import annotations

import asyncio
import re
import shutil
from collections.abc import AsyncIterator
from datetime import timedelta
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page, async_playwright, expect

from delivery.mail import FileMailer
from domain.enums import Answer, ContactStatus, Grounds, ReviewSource, Visibility
from settings import Settings
from starter.inputs import ContactRequestBody
from starter.web.app import create_app
from starter.web.reads import PAGE
from starter.web.serve import serve
from store import contacts, reports, reviews
from store.records import ContactRequest, now
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

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium"),
]


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
    # The contact says whose review it is and where it stands, in words, not ids.
    sent = business.locator("[data-contact]")
    await expect(sent.locator(".status")).to_have_text("Waiting for the reviewer")
    await expect(sent).to_contain_text("“Review organic”")
    await expect(sent).to_contain_text("by Robin R.")
    await expect(sent).not_to_contain_text(review)
    await sent.locator("summary", has_text="History").click()
    await expect(sent.locator(".history")).to_contain_text("Request emailed to the reviewer")
    await shot(business, "02-business-contact-sent")
    # The public sees the label above the review, which stays visible.
    public = await browser.new_page()
    await public.goto(f"{base}/businesses/{w.business}")
    await expect(public.locator(f"[data-review='{review}'] .label")).to_have_text(
        "Reviewer contacted"
    )

    # The reviewer opens the emailed link on a phone, twice, and replies.
    [mail] = await h.messages("contact.requested", "reviewer")
    email = BytesParser(policy=policy.default).parsebytes(
        FileMailer(h.settings.mail_dir).path_for(mail.key).read_bytes()
    )
    text = email.get_body(("plain",))
    assert text is not None
    match = re.search(r"(http://\S+/reply/[A-Za-z0-9_\-]+)", text.get_content())
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
    # "Send reply" with every field blank is refused on the page, and the link stays usable.
    async with reviewer.expect_response(lambda r: r.request.method == "POST") as refused:
        await reviewer.click("text=Send reply")
    assert (await refused.value).status == 422
    await expect(reviewer.locator(".error")).to_contain_text("Fill in at least one field")
    await shot(reviewer, "03b-reviewer-empty-reply-refused")
    await reviewer.fill("#order_reference", "HB-2291")
    await reviewer.fill("#message", "It was a birthday cake in March.")
    await reviewer.click("text=Send reply")
    await expect(reviewer.locator("h1")).to_have_text("Thank you")
    await shot(reviewer, "04-reviewer-thank-you")
    await reviewer.goto(match.group(1))
    await expect(reviewer.locator("h1")).to_have_text("Already answered")

    # The business sees the reply and asks to report the review: a page asks to confirm first.
    await business.goto(f"{base}/dashboard")
    contact = business.locator("[data-contact]")
    await expect(contact.locator(".reply")).to_contain_text("Order reference: HB-2291")
    await expect(contact.locator(".reply")).to_contain_text("It was a birthday cake in March.")
    assert w.reviewer_email not in await business.content()
    await shot(business, "05-business-sees-reply")
    await contact.locator("a", has_text="Report review").click()
    await expect(business.locator("h1")).to_have_text("Report this review?")
    await expect(business.locator("body")).to_contain_text(
        "Not enough information in the reviewer's reply"
    )
    await expect(business.locator(".warning")).to_contain_text("hidden at once")
    await shot(business, "06a-business-confirm-report")
    # Not hidden on the first click: only once confirmed.
    await public.reload()
    await expect(public.locator(f"[data-review='{review}']")).to_contain_text("Text of organic")
    assert (await h.review(review)).visibility.value == "visible"
    await business.locator("button", has_text="Report and hide the review").click()
    await expect(business.locator(".notice")).to_contain_text("reported and hidden")
    await expect(business.locator("h1")).to_have_text("Contact about “Review organic”")
    await expect(business.locator(".history")).to_contain_text("Review reported and hidden")
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
    # The review's title, the business's name, the author's display name (never an address).
    await expect(item).to_contain_text("“Review organic”")
    await expect(item).to_contain_text(f"Shop {w.business}")
    await expect(item).to_contain_text("by Robin R.")
    await expect(item).to_contain_text("Not enough information in the reviewer's reply")
    await expect(item).to_contain_text("HB-2291")
    assert w.reviewer_email not in await moderator.content()
    await shot(moderator, "08-moderation-queue")
    await item.locator("a", has_text="Reject").click()
    await expect(moderator.locator("h1")).to_have_text("Reject this report?")
    await moderator.locator("textarea").fill("The order exists in the shop's system.")
    await shot(moderator, "08b-moderation-confirm-decision")
    await moderator.locator("button", has_text="Reject: reinstate the review").click()
    await expect(moderator.locator(".notice")).to_contain_text("Decision recorded")
    await expect(moderator.locator("body")).to_contain_text("No pending reports.")
    # The decided report stays listed, with its outcome, who decided and the note.
    await moderator.locator("nav.tabs a", has_text="Decided").click()
    decided = moderator.locator("[data-report]")
    await expect(decided).to_contain_text("Rejected: the review is visible again")
    await expect(decided).to_contain_text("by Mo")
    await expect(decided).to_contain_text("The order exists in the shop's system.")
    await shot(moderator, "09-moderation-decided")

    # The business's contact page shows the outcome and the moderator's note, on a phone too.
    await business.reload()
    await expect(business.locator(".outcome")).to_contain_text("Rejected: the review is visible")
    await expect(business.locator(".outcome")).to_contain_text("The order exists")
    await expect(business.locator(".history")).to_contain_text("A moderator rejected the report")
    await shot(business, "09b-business-contact-page")
    on_phone = await (await browser.new_context(viewport={"width": 390, "height": 844})).new_page()
    await sign_in(on_phone, base, w.keys[w.business])
    await shot(on_phone, "09c-phone-business-dashboard")
    await on_phone.locator("[data-contact] a", has_text="The contact's page").click()
    await expect(on_phone.locator(".outcome")).to_contain_text("The order exists")
    await shot(on_phone, "09d-phone-contact-page")

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


async def test_the_api_documentation_page_shows_its_operations_from_this_server_only(
    site: Harness, browser: Browser
) -> None:
    base = site.settings.public_base_url
    page = await browser.new_page()
    elsewhere: list[str] = []
    blocked: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(base) else elsewhere.append(r.url))
    page.on("console", lambda m: blocked.append(m.text) if m.type == "error" else None)
    await page.goto(f"{base}/api/v1/docs")
    operation = page.locator(".opblock-post [data-path='/api/v1/reviews/{review_id}/contacts']")
    await expect(operation).to_be_visible()
    await expect(page.locator(".opblock")).to_have_count(len(_documented_operations(site)))
    await shot(page, "11-api-docs")
    # Everything from the app itself, under its strict policy: nothing from a CDN, nothing refused.
    assert elsewhere == [] and blocked == []


def _documented_operations(h: Harness) -> list[tuple[str, str]]:
    schema = create_app(h.settings, h.service).openapi()
    return [(method, path) for path, ops in schema["paths"].items() for method in ops]


async def test_the_reviewer_confirms_a_decline_before_it_counts(
    site: Harness, browser: Browser
) -> None:
    h, w = site, site.world
    contact = (
        await h.service.request_contact(
            w.business, w.review["organic2"], ContactRequestBody(message="Which shop was it?")
        )
    ).contact
    link = f"{h.settings.public_base_url}/reply/{await h.reply_token(contact.id)}"
    phone = await (await browser.new_context(viewport={"width": 390, "height": 844})).new_page()
    await phone.goto(link)
    await phone.click("text=Decline…")
    await expect(phone.locator("h1")).to_have_text("Decline to share anything?")
    await shot(phone, "12-reviewer-confirm-decline")
    # Going back changes nothing: the request can still be answered.
    await phone.click("text=Back to the request")
    await expect(phone.locator("button", has_text="Send reply")).to_be_visible()
    assert (await h.service.contact_view(contact.id)).answer is None
    await phone.click("text=Decline…")
    await phone.click("text=Yes, decline")
    await expect(phone.locator(".card")).to_contain_text("You declined to share more.")
    view = await h.service.contact_view(contact.id)
    assert view.answer is not None and view.answer.answer is Answer.DECLINE


async def test_long_lists_go_on_to_a_next_page(site: Harness, browser: Browser) -> None:
    h, w = site, site.world
    base = h.settings.public_base_url
    await _many_reported_contacts(h, PAGE + 1)

    business = await browser.new_page()
    await sign_in(business, base, w.keys[w.business])
    await expect(business.locator("[data-contact]")).to_have_count(PAGE)
    newest = business.locator("[data-contact]").first
    await expect(newest).to_contain_text("“Many 0”")
    pages = business.locator("nav[aria-label='Pages of contacts'] a")
    await pages.filter(has_text="Next page").click()
    await expect(business.locator("[data-contact]")).to_have_count(1)
    await expect(business.locator("[data-contact]")).to_contain_text(f"“Many {PAGE}”")
    await expect(pages.filter(has_text="Next page")).to_have_count(0)
    await shot(business, "13-dashboard-second-page")
    await pages.filter(has_text="Previous page").click()
    await expect(business.locator("[data-contact]")).to_have_count(PAGE)

    moderator = await (await browser.new_context()).new_page()
    await sign_in(moderator, base, w.keys[w.moderator])
    await expect(moderator.locator("[data-report]")).to_have_count(PAGE)
    await moderator.locator("nav[aria-label='Pages of reports'] a", has_text="Next page").click()
    await expect(moderator.locator("[data-report]")).to_have_count(1)
    await expect(moderator.locator("[data-report]")).to_contain_text(f"“Many {PAGE}”")
    await shot(moderator, "14-moderation-second-page")


async def _many_reported_contacts(h: Harness, count: int) -> None:
    """Contacts and pending reports written straight to the store: far quicker than journeys."""
    w = h.world
    at = now() - timedelta(days=10)
    async with h.db.tx() as conn:
        for i in range(count):
            review_id, contact_id = f"rv_many_{i}_{w.business}", f"ct_many_{i}_{w.business}"
            # Newest first on both pages: review 0 is the newest, its report the oldest.
            opened = at - timedelta(minutes=i)
            await reviews.add_review(
                conn,
                id=review_id,
                business_id=w.business,
                reviewer_id=w.reviewer,
                rating=1,
                title=f"Many {i}",
                text="One of many.",
                source=ReviewSource.ORGANIC,
                created_at=opened,
                visibility=Visibility.HIDDEN,
            )
            request = ContactRequest(
                id=contact_id,
                review_id=review_id,
                business_id=w.business,
                message="Hello",
                requested=[],
                created_at=opened,
            )
            await contacts.add_request(
                conn,
                id=contact_id,
                review_id=review_id,
                business_id=w.business,
                message="Hello",
                requested=[],
                created_at=opened,
            )
            await contacts.open_contact(
                conn,
                request=request,
                reviewer_id=w.reviewer,
                opened_at=opened,
                deadline=opened + timedelta(days=5),
            )
            await reports.add_report(
                conn,
                id=f"rp_many_{i}_{w.business}",
                review_id=review_id,
                contact_id=contact_id,
                business_id=w.business,
                grounds=Grounds.NO_RESPONSE,
                opened_at=at + timedelta(minutes=i),
                sla_deadline=at + timedelta(days=2),
            )
            await contacts.end_contact(
                conn,
                contact_id,
                status=ContactStatus.REPORTED,
                at=opened,
                report_id=f"rp_many_{i}_{w.business}",
            )
