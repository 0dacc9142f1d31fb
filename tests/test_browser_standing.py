"""Issue 18, acceptance 2 as people see it, in real headless Chromium: a restricted business reads
its standing on a phone, anyone reads a consumer warning on a public page, a moderator lifts the
restriction with a note after a confirmation, and the business's banner is gone.

The steps are put in the store as the standing workflow records them (the ladder itself is
tested under the time-skipping server). Screenshots: test-artifacts/screenshots/ (``18-``).
"""

from __future__ import annotations

from datetime import timedelta

from playwright.async_api import Browser, expect

from domain.enums import Finding, StandingStepKind, StandingSubject, StepEnd
from store import standing
from store.records import StandingStep, now
from tests.conftest import Harness
from tests.test_browser import browser, pytestmark, settings, shot, sign_in, site
from tests.test_browser_moderation import phone_page

__all__ = ["browser", "pytestmark", "settings", "site"]

NOTE = "Four of the rejected flags were about reviews from one spammer we have since removed."


def _step(
    subject: str, kind: StandingStepKind, finding: Finding, figures: dict[str, int], days: int
) -> StandingStep:
    taken = now() - timedelta(days=days)
    period = {StandingStepKind.RESTRICTION: 30}.get(kind, 90)
    return StandingStep(
        id=f"step_{kind.value}_{subject}",
        subject_kind=StandingSubject.BUSINESS,
        subject_id=subject,
        kind=kind,
        finding=finding,
        figures=figures,
        taken_at=taken,
        ends_at=taken + timedelta(days=period),
    )


async def test_a_restricted_business_reads_its_standing_and_a_moderator_lifts_it(
    site: Harness, browser: Browser
) -> None:
    h, w = site, site.world
    base = h.settings.public_base_url
    warning = _step(
        w.business,
        StandingStepKind.WARNING,
        Finding.REJECTED_FLAGS,
        {"decided": 12, "rejected": 7},
        40,
    )
    restriction = _step(
        w.business,
        StandingStepKind.RESTRICTION,
        Finding.REJECTED_FLAGS,
        {"decided": 10, "rejected": 6},
        3,
    )
    consumer_warning = _step(
        w.other_business,
        StandingStepKind.CONSUMER_WARNING,
        Finding.NEGATIVE_ONLY,
        {"flags": 24, "negative": 23},
        5,
    )
    async with h.db.tx() as conn:
        for step in (warning, restriction, consumer_warning):
            await standing.add_step(conn, step)
        # The warning was lifted once already; the restriction came with a second finding.
        await standing.end_step(
            conn,
            warning.id,
            at=now() - timedelta(days=10),
            end=StepEnd.LIFTED,
            lifted_by=w.second_moderator,
            note="Lifted while we look again at the flags on the spam reviews.",
        )

    # The business, on a phone: the banner on its dashboard leads to its standing, in words.
    business = await phone_page(browser)
    await sign_in(business, base, w.keys[w.business])
    banner = business.locator("[data-banner='standing']")
    await expect(banner).to_contain_text("Restricted until")
    await expect(banner).to_contain_text("you cannot contact reviewers or flag reviews")
    await shot(business, "18-01-phone-business-dashboard-banner")
    await banner.locator("a", has_text="Why, and what to do").click()
    await expect(business.locator("h1")).to_have_text("Your standing")
    restricted = business.locator(f"[data-step='{restriction.id}']")
    await expect(restricted).to_contain_text("6 of your 10 decided flags were rejected")
    await expect(restricted).to_contain_text("You cannot contact reviewers or flag reviews until")
    lifted = business.locator(f"[data-step='{warning.id}']")
    await expect(lifted).to_contain_text("Lifted early by a moderator")
    await expect(business.locator("#what-to-do")).to_contain_text("not for their rating")
    text = await business.locator("main").inner_text()
    assert "rejected_flags" not in text and restriction.id not in text
    await shot(business, "18-02-phone-business-standing")

    # Anyone reading the other business's public page sees the consumer warning, without figures.
    public = await phone_page(browser)
    await public.goto(f"{base}/businesses/{w.other_business}")
    notice = public.locator("[data-consumer-warning]")
    await expect(notice).to_contain_text("Consumer warning")
    await expect(notice).to_contain_text("reported almost only its negative reviews")
    assert "23" not in await notice.inner_text()
    await shot(public, "18-03-phone-public-consumer-warning")
    desktop = await browser.new_page()
    await desktop.goto(f"{base}/businesses/{w.other_business}")
    await expect(desktop.locator("[data-consumer-warning]")).to_be_visible()
    await shot(desktop, "18-04-public-consumer-warning")

    # A moderator lifts the restriction from the ladder, with a note, after a confirmation.
    moderator = await browser.new_page()
    await sign_in(moderator, base, w.keys[w.moderator])
    await moderator.locator("a", has_text="The misuse ladder").click()
    await expect(moderator.locator("h1")).to_have_text("The misuse ladder")
    # One card per business, each step in force in it with its own lift form.
    row = moderator.locator(f"[data-step='{restriction.id}']")
    card = moderator.locator(".subject", has=row)
    await expect(card).to_contain_text(f"Shop {w.business}")
    await expect(row).to_contain_text("6 of its 10 decided flags were rejected")
    await expect(
        moderator.locator(".subject", has=moderator.locator(f"[data-step='{consumer_warning.id}']"))
    ).to_contain_text(f"Shop {w.other_business}")
    await shot(moderator, "18-05-moderation-ladder")
    await row.locator("summary", has_text="Lift this restriction early").click()
    await row.locator("textarea").fill(NOTE)
    await shot(moderator, "18-06-moderation-lift-note")
    await row.locator("button", has_text="Continue").click()
    await expect(moderator.locator("h1")).to_have_text("Lift this restriction early?")
    await expect(moderator.locator(".warning")).to_contain_text("This cannot be undone")
    await expect(moderator.locator("blockquote")).to_have_text(NOTE)
    await shot(moderator, "18-07-moderation-confirm-lift")
    async with h.db.read() as conn:
        assert (await standing.get_step(conn, restriction.id)).in_force  # type: ignore[union-attr]
    await moderator.locator("button", has_text="Yes, lift it").click()
    await expect(moderator.locator(".notice")).to_contain_text("The step is lifted")
    await expect(moderator.locator(f"[data-step='{restriction.id}']")).to_have_count(0)
    await shot(moderator, "18-08-moderation-lifted")

    # The business's banner is gone; its standing shows the lift and the moderator's note.
    await business.goto(f"{base}/dashboard")
    await expect(business.locator("h1")).to_have_text("Your reviews")
    await expect(business.locator("[data-banner='standing']")).to_have_count(0)
    await business.goto(f"{base}/dashboard/standing")
    lifted_now = business.locator(f"[data-step='{restriction.id}']")
    await expect(lifted_now).to_contain_text("Lifted early by a moderator")
    await expect(lifted_now).to_contain_text(NOTE)
    await shot(business, "18-09-phone-business-standing-lifted")
