"""What the pages and the read routes show, composed from the store in a few queries per page."""

from __future__ import annotations

from dataclasses import dataclass, field

from domain.enums import ContactStatus, ReportStatus, ReviewSource, Visibility
from starter.service import ContactView, ReportView, Reviewdesk
from starter.web.schemas import HIDDEN_PLACEHOLDER, PublicReview, PublicReviews
from store import accounts, contacts, reports, reviews
from store.records import Contact, Report, Review, now

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
    views = [await service.contact_view(c.id) for c in recent]
    return Dashboard(
        reviews=[ReviewRow(r, open_contacts.get(r.id), reported.get(r.id)) for r in own],
        contacts=views,
    )


async def queue(service: Reviewdesk, *, limit: int = PAGE) -> list[ReportView]:
    pending = await service.reports(ReportStatus.PENDING, limit=limit)
    return [await service.report_view(r.id) for r in pending]
