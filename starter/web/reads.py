"""What the pages and the read routes show, composed from the store in a few queries per page."""

from __future__ import annotations

from dataclasses import dataclass, field

import aiosqlite

from domain.enums import ContactStatus, ReportStatus, ReviewSource, Visibility
from starter.service import ContactView, Notification, ReportView, Reviewdesk
from starter.web.schemas import HIDDEN_PLACEHOLDER, PublicReview, PublicReviews
from store import accounts, contacts, history, outbox, reports, reviews
from store.records import AnswerRecord, Contact, Report, Review, now

PAGE = 50


async def public_reviews(
    service: Reviewdesk, business_id: str, *, limit: int = PAGE, offset: int = 0
) -> PublicReviews | None:
    async with service.db.read() as conn:
        business = await accounts.get_business(conn, business_id)
        if business is None:
            return None
        shown = await reviews.reviews_of_business(
            conn,
            business_id,
            visibilities=(Visibility.VISIBLE, Visibility.HIDDEN),
            limit=limit,
            offset=offset,
        )
        authors = await reviews.authors_of(conn, [r.reviewer_id for r in shown])
    return PublicReviews(
        business_id=business.id,
        business_name=business.name,
        reviews=[
            PublicReview(id=r.id, hidden=True, placeholder=HIDDEN_PLACEHOLDER)
            if r.visibility is Visibility.HIDDEN
            else PublicReview(
                id=r.id,
                rating=r.rating,
                title=r.title,
                text=r.text,
                author=authors.get(r.reviewer_id),
                created_at=r.created_at,
                labels=r.labels,
            )
            for r in shown
        ],
    )


@dataclass
class ReviewRow:
    review: Review
    open_contact: Contact | None
    report: Report | None

    @property
    def eligible(self) -> bool:
        """Whether "Find reviewer" is offered: DESIGN rule 1, as the store sees it now."""
        return (
            self.review.source is not ReviewSource.PLATFORM_INVITATION
            and self.review.visibility is Visibility.VISIBLE
            and self.open_contact is None
            and self.report is None
        )


def can_report(contact: Contact) -> bool:
    return (
        contact.status in (ContactStatus.REPLIED, ContactStatus.DECLINED, ContactStatus.NO_RESPONSE)
        and contact.report_deadline is not None
        and now() < contact.report_deadline
    )


def can_close(contact: Contact) -> bool:
    return contact.status.is_open


@dataclass
class Dashboard:
    reviews: list[ReviewRow] = field(default_factory=list)
    contacts: list[ContactView] = field(default_factory=list)


async def dashboard(service: Reviewdesk, business_id: str) -> Dashboard:
    async with service.db.read() as conn:
        own = await reviews.reviews_of_business(conn, business_id, limit=PAGE)
        ids = [r.id for r in own]
        open_contacts = await contacts.open_contacts_for_reviews(conn, ids)
        reported = await reports.reports_for_reviews(conn, ids)
        recent = await contacts.contacts_of_business(conn, business_id, limit=PAGE)
        views = await contact_views(conn, recent)
    return Dashboard(
        reviews=[ReviewRow(r, open_contacts.get(r.id), reported.get(r.id)) for r in own],
        contacts=views,
    )


async def queue(
    service: Reviewdesk,
    status: ReportStatus = ReportStatus.PENDING,
    *,
    limit: int = PAGE,
    offset: int = 0,
) -> list[ReportView]:
    """Reports with the given status, oldest first: the moderation queue and its API."""
    async with service.db.read() as conn:
        found = await reports.reports_with_status(conn, status, limit=limit, offset=offset)
        return await report_views(conn, found)


async def answers_of(
    service: Reviewdesk, views: list[ReportView]
) -> dict[str, AnswerRecord | None]:
    """What each reported contact's reviewer answered, by report id, in one query."""
    async with service.db.read() as conn:
        found = await contacts.answers_by_id(conn, [v.contact.answer_id or "" for v in views])
    return {
        v.report.id: found.get(v.contact.answer_id) if v.contact.answer_id else None for v in views
    }


# A page of contacts or reports is read in a fixed number of queries, whatever its length: one
# per kind of record, not one per row (Reviewdesk.contact_view and report_view read one).


async def contact_views(conn: aiosqlite.Connection, found: list[Contact]) -> list[ContactView]:
    """What ``Reviewdesk.contact_view`` shows for each contact, read in five queries."""
    answers = await contacts.answers_by_id(conn, [c.answer_id or "" for c in found])
    reported = await reports.reports_by_id(conn, [c.report_id or "" for c in found])
    subjects = [s for c in found for s in (c.id, c.report_id) if s]
    events = await history.history_of(conn, subjects)
    messages = await outbox.messages_about(conn, subjects)
    views = []
    for c in found:
        mine = {c.id, c.report_id}
        views.append(
            ContactView(
                contact=c,
                answer=answers.get(c.answer_id) if c.answer_id else None,
                report=reported.get(c.report_id) if c.report_id else None,
                history=[e for e in events if e.subject_id in mine],
                notifications=[Notification.of(m) for m in messages if m.subject_id in mine],
            )
        )
    return views


async def report_views(conn: aiosqlite.Connection, found: list[Report]) -> list[ReportView]:
    """What ``Reviewdesk.report_view`` shows for each report, read in six queries."""
    reviewed = await reviews.reviews_by_id(conn, [r.review_id for r in found])
    contacted = await contacts.contacts_by_id(conn, [r.contact_id for r in found])
    decided = await reports.decisions_by_id(conn, [r.decision_id or "" for r in found])
    subjects = [s for r in found for s in (r.contact_id, r.id)]
    events = await history.history_of(conn, subjects)
    messages = await outbox.messages_about(conn, subjects)
    views = []
    for r in found:
        mine = {r.contact_id, r.id}
        views.append(
            ReportView(
                report=r,
                review=reviewed[r.review_id],
                contact=contacted[r.contact_id],
                decision=decided.get(r.decision_id) if r.decision_id else None,
                history=[e for e in events if e.subject_id in mine],
                notifications=[Notification.of(m) for m in messages if m.subject_id in mine],
            )
        )
    return views
