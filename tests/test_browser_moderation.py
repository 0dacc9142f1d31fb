"""Issue 17, acceptance 5, in real headless Chromium: a flag for personal information that the
reviewer's edit settles; a notice, a removal, the reviewer's appeal and the review reinstated.

Screenshots land beside the Find Reviewer journey's, in test-artifacts/screenshots/ (``17-``).
"""

from __future__ import annotations

import re
from email import policy
from email.parser import BytesParser

from playwright.async_api import Browser, Page, ViewportSize, expect

from delivery.mail import FileMailer
from tests.conftest import Harness
from tests.test_browser import browser, pytestmark, settings, shot, sign_in, site

# The Find Reviewer journey's fixtures and marks: the same server, browser and screenshots.
__all__ = ["browser", "pytestmark", "settings", "site"]

PHONE = ViewportSize(width=390, height=844)
EXPLANATION = "The review gives the mobile number of our shop manager."
EDITED = "Lovely bread, friendly staff. I called the shop to order a cake."
NOTICE = "The review accuses a named baker of theft, which is defamatory and untrue."
LAW = "Defamation Act 2013, section 1"
APPEAL = "I named no one: the baker in my review is not identifiable, and it happened."


async def emailed_link(h: Harness, event_type: str, recipient: str, path: str) -> str:
    """The one-time link in the email, read from the mail file as the person would."""
    [mail] = [m for m in await h.messages(event_type, recipient) if m.link_purpose]
    email = BytesParser(policy=policy.default).parsebytes(
        FileMailer(h.settings.mail_dir).path_for(mail.key).read_bytes()
    )
    text = email.get_body(("plain",))
    assert text is not None
    match = re.search(rf"(http://\S+/{path}/[A-Za-z0-9_\-]+)", text.get_content())
    assert match and match.group(1).startswith(h.settings.public_base_url), text.get_content()
    return match.group(1)


async def phone_page(browser: Browser) -> Page:
    return await (await browser.new_context(viewport=PHONE)).new_page()


async def test_flag_for_personal_information_settled_by_the_reviewers_edit(
    site: Harness, browser: Browser
) -> None:
    h, w = site, site.world
    base = h.settings.public_base_url
    review = w.review["organic"]

    # The business flags the review from its dashboard; a page says what happens next.
    business = await browser.new_page()
    await sign_in(business, base, w.keys[w.business])
    await business.locator(f"[data-review='{review}'] a", has_text="Flag review").click()
    await expect(business.locator("h1")).to_have_text("Flag this review")
    await business.select_option("#reason", label="Personal information")
    await business.fill("#explanation", EXPLANATION)
    await shot(business, "17a-01-business-flag-form")
    await business.locator("button", has_text="Continue").click()
    await expect(business.locator(".warning")).to_contain_text("3 days")
    await shot(business, "17a-02-business-confirm-flag")
    await business.locator("button", has_text="Flag the review").click()
    await expect(business.locator(".notice")).to_contain_text("Your flag is recorded.")
    await expect(business.locator(".status")).to_have_text(
        "Waiting for the reviewer to edit or withdraw"
    )
    await expect(business.locator("body")).not_to_contain_text("personal_information")
    await shot(business, "17a-03-business-flag-waiting")

    # The reviewer opens the link from their email on a phone and edits the review.
    link = await emailed_link(h, "flag.reviewer_asked", "reviewer", "flag")
    reviewer = await phone_page(browser)
    await reviewer.goto(link)
    await expect(reviewer.locator("blockquote")).to_have_text(EXPLANATION)
    await expect(reviewer.locator("h1")).to_contain_text(f"Shop {w.business}")
    await shot(reviewer, "17a-04-phone-reviewer-flag-link")
    await reviewer.fill("#text", EDITED)
    await reviewer.locator("button", has_text="Save my edit").click()
    await expect(reviewer.locator("h1")).to_have_text("Thank you")
    await shot(reviewer, "17a-05-phone-reviewer-edited")
    assert w.business_email not in await reviewer.content()

    # The business sees the edit and drops the flag, after a confirmation.
    await business.reload()
    await expect(business.locator(".history")).to_contain_text("The reviewer edited the review")
    await expect(business.locator(f"[data-review='{review}']")).to_contain_text(EDITED)
    await shot(business, "17a-06-business-flag-edited")
    await business.locator("a", has_text="Drop the flag").click()
    await shot(business, "17a-07-business-confirm-drop")
    await business.locator("button", has_text="Yes, drop the flag").click()
    await expect(business.locator(".notice")).to_contain_text("Your flag is dropped.")
    dropped = "Dropped: no moderator will look at it"
    await expect(business.locator(".status")).to_contain_text(dropped)
    await shot(business, "17a-08-business-flag-dropped")

    # The public sees the edited review, never hidden.
    public = await browser.new_page()
    await public.goto(f"{base}/businesses/{w.business}")
    await expect(public.locator(f"[data-review='{review}']")).to_contain_text(EDITED)
    await shot(public, "17a-09-public-page-edited")


async def test_notice_removal_appeal_and_the_review_reinstated(
    site: Harness, browser: Browser
) -> None:
    h, w = site, site.world
    base = h.settings.public_base_url
    review = w.review["organic2"]

    # Someone reads the public page on a phone and sends a notice about a review.
    notifier = await phone_page(browser)
    await notifier.goto(f"{base}/businesses/{w.business}")
    await notifier.locator(f"[data-review='{review}'] a", has_text="Report this review").click()
    await expect(notifier.locator("h1")).to_have_text("Report this review as illegal")
    await notifier.select_option("#sub_reason", label="Defamation")
    await notifier.fill("#explanation", NOTICE)
    await notifier.fill("#name", "Nadia Notifier")
    await notifier.fill("#email", "nadia@private.example")
    await notifier.check("input[name='good_faith']")
    await shot(notifier, "17b-01-phone-notice-form")
    await notifier.locator("button", has_text="Send the notice").click()
    await expect(notifier.locator("h1")).to_contain_text("we received your notice")
    await shot(notifier, "17b-02-phone-notice-received")
    await h.eventually(lambda: h.messages("notice.received", "notifier"))

    # A moderator finds it first in the queue, filtered to harmful or illegal content.
    moderator = await browser.new_page()
    await sign_in(moderator, base, w.keys[w.moderator])

    async def reported() -> bool:
        await moderator.goto(f"{base}/moderation")
        return await moderator.locator("[data-report]").count() == 1

    await h.eventually(reported)
    await moderator.select_option("#reason", label="Harmful or illegal")
    await moderator.select_option("#priority", label="High priority")
    await moderator.locator("button", has_text="Show").click()
    item = moderator.locator("[data-report]")
    await expect(item).to_contain_text("High priority")
    await expect(item).to_contain_text("Harmful or illegal (defamation)")
    await expect(item).to_contain_text("1 notice from the public")
    await expect(item).to_contain_text(NOTICE)
    page_text = await moderator.content()
    assert "Nadia" not in page_text and "nadia@private.example" not in page_text
    assert review not in await item.inner_text()
    await shot(moderator, "17b-03-moderation-queue-notice")
    await item.locator("a", has_text="Uphold").click()
    await expect(moderator.locator("h1")).to_have_text("Uphold this report?")
    await moderator.fill("#legal_ground", LAW)
    await moderator.fill("#note", "Names a baker and calls him a thief.")
    await shot(moderator, "17b-04-moderation-confirm-uphold")
    await moderator.locator("button", has_text="Uphold: remove the review").click()
    await expect(moderator.locator(".notice")).to_contain_text("Decision recorded")
    await moderator.locator("nav.tabs a", has_text="Decided").click()
    await expect(moderator.locator("[data-report]")).to_contain_text(f"Law broken: “{LAW}”")
    await shot(moderator, "17b-05-moderation-decided")
    on_phone = await phone_page(browser)
    await sign_in(on_phone, base, w.keys[w.moderator])
    await on_phone.goto(f"{base}/moderation?show=decided")
    await shot(on_phone, "17b-05b-phone-moderation-decided")

    # The review is gone from the public page; the reviewer's statement carries the appeal link.
    public = await browser.new_page()
    await public.goto(f"{base}/businesses/{w.business}")
    await expect(public.locator(f"[data-review='{review}']")).to_have_count(0)
    await h.eventually(lambda: h.messages("report.upheld", "reviewer"))
    link = await emailed_link(h, "report.upheld", "reviewer", "appeal")

    # The reviewer appeals through the link, on a phone, and confirms before it is sent.
    reviewer = await phone_page(browser)
    await reviewer.goto(link)
    await expect(reviewer.locator("body")).to_contain_text("a moderator removed the review")
    await shot(reviewer, "17b-06-phone-reviewer-appeal-form")
    await reviewer.fill("#statement", APPEAL)
    await reviewer.locator("button", has_text="Continue").click()
    await expect(reviewer.locator("h1")).to_have_text("Send this appeal?")
    await shot(reviewer, "17b-07-phone-reviewer-confirm-appeal")
    await reviewer.locator("button", has_text="Send the appeal").click()
    await expect(reviewer.locator("h1")).to_have_text("Your appeal is sent")
    await shot(reviewer, "17b-08-phone-reviewer-appeal-sent")

    # The moderator who removed the review may not decide its appeal; the second one grants it.
    await moderator.goto(f"{base}/moderation")
    await moderator.locator("a", has_text="Appeals of decisions").click()
    await expect(moderator.locator("[data-appeal]")).to_contain_text(APPEAL)
    await expect(moderator.locator("body")).to_contain_text("You made this decision")
    await expect(moderator.locator("a", has_text="Grant")).to_have_count(0)
    await shot(moderator, "17b-09-appeals-first-moderator")
    second = await browser.new_page()
    await sign_in(second, base, w.keys[w.second_moderator])
    await second.goto(f"{base}/moderation/appeals")
    appeal = second.locator("[data-appeal]")
    await expect(appeal).to_contain_text(APPEAL)
    await expect(appeal).to_contain_text("by Robin R.")
    assert w.reviewer_email not in await second.content()
    await shot(second, "17b-10-appeals-second-moderator")
    await appeal.locator("a", has_text="Grant").click()
    await expect(second.locator("h1")).to_have_text("Grant this appeal?")
    await second.fill("#note", "Robin names no one; the baker is not identifiable.")
    await shot(second, "17b-11-confirm-grant")
    await second.locator("button", has_text="Grant: reverse the decision").click()
    await expect(second.locator(".notice")).to_be_visible()
    await second.goto(f"{base}/moderation/appeals?show=decided")
    await expect(second.locator("[data-appeal]")).to_contain_text(
        "Granted: the decision is reversed"
    )
    await shot(second, "17b-12-appeals-decided")

    # The review is back on the public page at once, and the queue says why.
    await public.reload()
    await expect(public.locator(f"[data-review='{review}']")).to_contain_text("Text of organic2")
    await shot(public, "17b-13-public-page-reinstated")
    await moderator.goto(f"{base}/moderation?show=decided")
    await expect(moderator.locator("[data-report]")).to_contain_text("Appealed by the reviewer")
    await shot(moderator, "17b-14-moderation-decided-appealed")
