"""Issue 18, acceptance 5, in real headless Chromium: the public transparency page draws its
charts (server-rendered SVG, no script) with bars for the figures that are not zero, on a
desktop and on a phone, and its period form and downloads work.

Screenshots land in test-artifacts/screenshots/ (``18-transparency-``).
"""

from __future__ import annotations

import json
import secrets
from datetime import datetime, timedelta

from playwright.async_api import Browser, Page, ViewportSize, expect

from domain.enums import Finding, StandingStepKind, StandingSubject, StepEnd
from store import standing
from store.records import StandingStep, now, ts
from tests import moderation_flows as flows
from tests.conftest import Harness
from tests.test_browser import browser, pytestmark, settings, shot, site

__all__ = ["browser", "pytestmark", "settings", "site"]

PHONE = ViewportSize(width=390, height=844)
DESKTOP = ViewportSize(width=1280, height=900)
CHARTS = ["received", "actions", "decisions", "appeals", "misuse"]


async def _some_moderation(h: Harness) -> None:
    """A removal appealed and reinstated, a harmful flag upheld, a notice upheld, and steps of
    the ladder: one in force, one lifted."""
    removed = await flows.flag_edited_escalated_removed(h)
    await flows.appeal_granted(h, removed)
    await flows.harmful_flag_upheld(h)
    await flows.notice_upheld(h)
    at = now()
    async with h.db.tx() as conn:
        # The moderators took hours, not the test's seconds: the medians read as they would.
        for i, row in enumerate(await conn.fetch_all("SELECT id, decided_at FROM reports")):
            opened = datetime.fromisoformat(row[1]) - timedelta(hours=3.5 + 9 * i)
            await conn.execute(
                "UPDATE reports SET opened_at = ? WHERE id = ?", (ts(opened), row[0])
            )
        for kind, subject, ago in (
            (StandingStepKind.WARNING, StandingSubject.BUSINESS, 6),
            (StandingStepKind.RESTRICTION, StandingSubject.BUSINESS, 2),
            (StandingStepKind.WARNING, StandingSubject.NOTIFIER, 1),
        ):
            step = StandingStep(
                id=f"st_{secrets.token_hex(6)}",
                subject_kind=subject,
                subject_id=h.world.business
                if subject is StandingSubject.BUSINESS
                else f"nk_{secrets.token_hex(8)}",
                kind=kind,
                finding=Finding.REJECTED_FLAGS,
                figures={"decided": 10, "rejected": 7},
                taken_at=at - timedelta(days=ago),
                ends_at=at + timedelta(days=30),
            )
            await standing.add_step(conn, step)
            if kind is StandingStepKind.RESTRICTION:
                await standing.end_step(
                    conn,
                    step.id,
                    at=at - timedelta(days=1),
                    end=StepEnd.LIFTED,
                    lifted_by=h.world.moderator,
                    note="Agreed to stop.",
                )


async def _charts_drawn(page: Page, figures: dict[str, int]) -> None:
    """Every chart is an SVG image with a title, a description and axis captions; each bar of a
    figure above zero has a width and a height on the screen, and a zero draws none."""
    for key in CHARTS:
        svg = page.locator(f"figure[data-chart='{key}'] svg")
        await expect(svg).to_have_attribute("role", "img")
        await expect(svg).to_have_attribute("aria-labelledby", f"{key}-title {key}-desc")
        assert (await svg.locator("title").first.text_content() or "").strip()
        assert (await svg.locator("desc").text_content() or "").strip()
        assert await svg.locator("text.axis-label").count() == 2
    for label, value in figures.items():
        row = page.locator("g.bar-row", has=page.locator("text", has_text=label)).first
        bars = row.locator("rect.bar")
        if value == 0:
            assert await bars.count() == 0, label
            continue
        assert await bars.count() == 1, label
        box = await bars.bounding_box()
        assert box is not None and box["width"] > 1 and box["height"] > 1, label
        await expect(row.locator("text.value")).to_have_text(str(value))


async def _fits(page: Page) -> None:
    """Nothing wider than the screen: the page reads without scrolling sideways."""
    overflow = await page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0


async def test_the_transparency_page_draws_its_charts_on_a_desktop_and_a_phone(
    site: Harness, browser: Browser
) -> None:
    h = site
    base = h.settings.public_base_url
    await _some_moderation(h)
    api = await (await browser.new_context()).new_page()
    await api.goto(f"{base}/api/v1/transparency")
    figures = json.loads(await api.locator("body").inner_text())
    assert figures["actions"]["removed"] == 3

    # From a public page's footer, on a desktop.
    desktop = await (await browser.new_context(viewport=DESKTOP)).new_page()
    await desktop.goto(f"{base}/businesses/{h.world.business}")
    await desktop.locator("footer a", has_text="Transparency report").click()
    await expect(desktop.locator("h1")).to_have_text("Transparency report")
    await _charts_drawn(
        desktop,
        {
            "Flag: Personal information": figures["received"]["flags"]["personal_information"],
            "Flag: Harmful or illegal": figures["received"]["flags"]["harmful_or_illegal"],
            "Flag: About a different business": 0,
            "Notice: Defamation": figures["received"]["notices"]["defamation"],
            "Removed": figures["actions"]["removed"],
            "Decision reversed": figures["appeals"]["reversed"],
            "Warnings to businesses": 1,
            "Businesses restricted": 1,
            "Public consumer warnings": 0,
            "Warnings to people sending notices": 1,
        },
    )
    assert await desktop.locator("script").count() == 0
    await expect(desktop.locator("#actions")).to_contain_text("3 reviews were removed")
    await shot(desktop, "18-transparency-01-desktop")

    # The period chosen with the two date fields; the downloads follow it.
    today = now().date()
    await desktop.fill("#from", (today - timedelta(days=6)).isoformat())
    await desktop.fill("#to", today.isoformat())
    await desktop.locator("button", has_text="Show these days").click()
    await expect(desktop.locator("[data-period]")).to_contain_text("(7 days)")
    await expect(desktop.locator("#misuse")).to_contain_text("3 steps were taken")
    async with desktop.expect_download() as started:
        await desktop.locator("a", has_text="Download as CSV").click()
    download = await started.value
    assert download.suggested_filename.endswith(".csv")
    lines = (await download.path()).read_text().splitlines()
    assert lines[0] == "from,to,section,name,value" and len(lines) > 30

    # On a phone: the same charts, nothing wider than the screen.
    phone = await (await browser.new_context(viewport=PHONE)).new_page()
    await phone.goto(f"{base}/transparency")
    await _charts_drawn(phone, {"Removed": 3, "Notice: Defamation": 1})
    await _fits(phone)
    await shot(phone, "18-transparency-02-phone")
    await phone.locator("#decisions summary").click()
    await expect(phone.locator("#decisions table")).to_contain_text("Upheld")
    await shot(phone, "18-transparency-03-phone-table")

    # A period that cannot be counted says why, on the page.
    await phone.goto(f"{base}/transparency?from={today + timedelta(days=3)}")
    await expect(phone.locator(".error")).to_contain_text("after today")
    await shot(phone, "18-transparency-04-phone-bad-period")
