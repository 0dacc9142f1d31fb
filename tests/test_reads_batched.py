"""The dashboard and the moderation queue read a page in a few queries, and show exactly what
reading each contact or report on its own shows."""

from __future__ import annotations

from datetime import timedelta

from domain.enums import ContactStatus, Grounds, ReportStatus
from starter.inputs import ContactRequestBody, ReportBody
from starter.web import reads
from tests.conftest import Harness
from tests.flows import replied_then_rejected


async def test_dashboard_and_queue_pages_match_one_by_one_reads(skipping: Harness) -> None:
    h, w = skipping, skipping.world
    await replied_then_rejected(h)  # replied, reported, rejected
    ask = ContactRequestBody(message="Which order was this?")
    silent = (await h.service.request_contact(w.business, w.review["external"], ask)).contact
    unreported = (await h.service.request_contact(w.business, w.review["organic2"], ask)).contact
    await h.env.sleep(timedelta(days=5, minutes=1))

    async def windows_closed() -> bool:
        # Both windows, not only the reported one's: a contact whose outcome lands between the
        # page's read and the one-by-one read would differ for no fault of the page (seen once).
        views = [await h.service.contact_view(c.id) for c in (silent, unreported)]
        return all(v.contact.status is ContactStatus.NO_RESPONSE for v in views)

    await h.eventually(windows_closed)
    await h.service.report(w.business, silent.id, ReportBody(grounds=Grounds.NO_RESPONSE))
    await h.all_delivered()

    board = await reads.dashboard(h.service, w.business)
    assert {v.contact.id for v in board.contacts} >= {silent.id, unreported.id}
    assert len(board.contacts) == 3
    for view in board.contacts:
        assert view == await h.service.contact_view(view.contact.id)

    pending = await reads.queue(h.service)
    rejected = await reads.queue(h.service, ReportStatus.REJECTED)
    assert [v.contact.id for v in pending if v.contact] == [silent.id] and len(rejected) == 1
    for listed in pending + rejected:
        assert listed == await h.service.report_view(listed.report.id)
    answers = await reads.answers_of(h.service, pending + rejected)
    for listed in pending + rejected:
        contact_id = listed.report.contact_id or ""
        assert answers[listed.report.id] == (await h.service.contact_view(contact_id)).answer
    assert answers[rejected[0].report.id] is not None
