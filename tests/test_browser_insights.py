"""Issue 20, acceptance 6 (the insights half), in real headless Chromium: an agent opens
"Insights" from the desk's nav and the page draws its charts (server-rendered SVG, no script):
reviews by rating over time as stacked columns, a segment per rating with reviews that day (or
week), and bars for replies, response targets, contacts and flags; the period form turns a long
period into weekly columns; the CSV downloads; nothing is wider than a phone's screen.

Screenshots land in test-artifacts/screenshots/ (``20-insights-``).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from playwright.async_api import Browser, Page, ViewportSize, expect

from store.records import now
from tests.conftest import Harness
from tests.test_browser import browser, pytestmark, settings, shot, sign_in, site
from tests.test_insights import Made, _generate, expected

__all__ = ["browser", "pytestmark", "settings", "site"]

PHONE = ViewportSize(width=390, height=844)
DESKTOP = ViewportSize(width=1280, height=900)
BAR_CHARTS = ["responses", "breaches", "contacts", "flags"]
DAY = timedelta(days=1)


async def _drawn(page: Page, want: dict[str, Any]) -> None:
    """The stacked chart has a segment with a size on the screen for each rating of each bucket
    with reviews; each bar chart has bars for its figures above zero."""
    svg = page.locator("figure[data-chart='reviews'] svg")
    await expect(svg).to_have_attribute("role", "img")
    assert (await svg.locator("desc").text_content() or "").strip()
    segments = svg.locator("rect.segment")
    expected_segments = sum(
        1 for b in want["reviews"]["over_time"] for n in b["ratings"].values() if n
    )
    assert expected_segments > 0
    await expect(segments).to_have_count(expected_segments)
    for i in range(expected_segments):
        box = await segments.nth(i).bounding_box()
        assert box is not None and box["width"] > 1 and box["height"] > 0.5, i
    await expect(svg.locator("g.legend text")).to_have_text(
        ["1 star", "2 stars", "3 stars", "4 stars", "5 stars"]
    )
    for key in BAR_CHARTS:
        bars = page.locator(f"figure[data-chart='{key}'] svg rect.bar")
        assert await bars.count() >= 1, key
        box = await bars.first.bounding_box()
        assert box is not None and box["width"] > 1, key


async def _fits(page: Page) -> None:
    """Nothing wider than the screen: the page reads without scrolling sideways."""
    overflow = await page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0


async def test_the_insights_page_draws_its_charts_on_a_desktop_and_a_phone(
    site: Harness, browser: Browser
) -> None:
    h, w = site, site.world
    base_url = h.settings.public_base_url
    today = now().date()
    # The mix ends the day before today: the default 30 days hold most of it, by day.
    mix = await _generate(h.db, w, today - 26 * DAY)
    # The world's own reviews came in yesterday: without tickets, not replied to.
    for review_id in w.review.values():
        review = await h.review(review_id)
        mix.reviews.append(
            Made(review.business_id, review.created_at, review.rating, False, False, None)
        )
    want = expected(mix, w.business, today - 29 * DAY, today)
    assert want["reviews"]["bucket"] == "day"

    desktop = await (await browser.new_context(viewport=DESKTOP)).new_page()
    await sign_in(desktop, base_url, w.keys[w.agent])
    await desktop.goto(f"{base_url}/desk")
    await desktop.locator("nav.desk-nav a", has_text="Insights").click()
    await expect(desktop.locator("h1")).to_have_text("Insights")
    await expect(desktop.locator("nav.desk-nav a[aria-current='page']")).to_have_text("Insights")
    r = want["responses"]
    await expect(desktop.locator("#responses")).to_contain_text(
        f"{r['replied']} reviews of {r['reviews']} got a public reply"
    )
    await _drawn(desktop, want)
    await _fits(desktop)
    await shot(desktop, "20-insights-01-desktop")

    # The CSV, with the page's session.
    href = await desktop.locator("a", has_text="Download as CSV").get_attribute("href")
    assert href is not None
    csv = await desktop.request.get(f"{base_url}{href}")
    assert csv.ok and csv.headers["content-type"].startswith("text/csv")
    assert f"responses,replied,,,{r['replied']}" in await csv.text()

    # A long period through the form: weekly columns.
    first = today - 120 * DAY
    await desktop.fill("#from", first.isoformat())
    await desktop.fill("#to", today.isoformat())
    await desktop.get_by_role("button", name="Show these days").click()
    await expect(desktop.locator("figure[data-chart='reviews'] figcaption")).to_contain_text(
        "per week"
    )
    await _drawn(desktop, expected(mix, w.business, first, today))
    await shot(desktop, "20-insights-02-desktop-weeks")

    phone = await (await browser.new_context(viewport=PHONE)).new_page()
    await sign_in(phone, base_url, w.keys[w.agent])
    await phone.goto(f"{base_url}/desk/insights")
    await _drawn(phone, want)
    await _fits(phone)
    await shot(phone, "20-insights-03-phone")
