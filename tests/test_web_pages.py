"""Pages as a signed-in person sees them: what the dashboard offers, what the queue marks."""

from __future__ import annotations

import re
from datetime import timedelta

from domain.enums import Answer, Grounds
from starter.inputs import ContactRequestBody, ReportBody
from starter.service import Reviewdesk
from tests.conftest import Harness
from tests.web import sign_in, web_client


async def test_dashboard_offers_find_reviewer_only_on_eligible_reviews(live: Harness) -> None:
    h, w = live, live.world
    await h.service.request_contact(
        w.business, w.review["organic"], ContactRequestBody(message="Hi")
    )
    async with web_client(h) as api:
        assert await sign_in(api, w.keys[w.business]) == "/dashboard"
        page = (await api.get("/dashboard")).text
    cards = dict(
        re.findall(r'<section class="card" data-review="([^"]+)">(.*?)</section>', page, re.S)
    )
    offered = {review for review, html in cards.items() if "Find reviewer" in html}
    assert offered == {w.review["organic2"], w.review["external"]}
    assert w.review["others"] not in page  # another business's review is not here at all


async def test_moderation_queue_marks_overdue_reports_and_needs_a_moderator(live: Harness) -> None:
    h, w = live, live.world
    quick = h.settings.model_copy(update={"moderation_sla": timedelta(seconds=1)})
    h.service = Reviewdesk(h.client, h.db, quick)
    contact = (
        await h.service.request_contact(
            w.business, w.review["organic"], ContactRequestBody(message="Hi")
        )
    ).contact
    await h.service.answer(await h.reply_token(contact.id), Answer.DECLINE)
    report = await h.service.report(w.business, contact.id, ReportBody(grounds=Grounds.NO_RESPONSE))
    await h.eventually(lambda: h.messages("report.escalated", "moderation"))
    async with web_client(h) as api:
        assert (await api.get("/moderation")).headers["location"] == "/login"
        assert await sign_in(api, w.keys[w.business]) == "/dashboard"
        assert (await api.get("/moderation")).headers["location"] == "/login"
    async with web_client(h) as api:
        assert await sign_in(api, w.keys[w.moderator]) == "/moderation"
        page = (await api.get("/moderation")).text
    card = page.split(f'data-report="{report.report.id}"')[1]
    assert 'class="overdue"' in card.split("</section>")[0]
    assert "The reviewer declined." in card
