"""What the pages and the read routes show, composed from the store in a few queries per page."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypeVar

from domain.desk import author_name
from domain.enums import ContactStatus, FlagReason, Priority, ReportStatus, ReviewSource, Visibility
from domain.refusals import Refusal, Refused
from starter.service import ContactView, Notification, ReportView, Reviewdesk
from starter.web.schemas import HIDDEN_PLACEHOLDER, PublicReply, PublicReview, PublicReviews
from store import accounts, contacts, directory, history, outbox, replies, reports, reviews
from store.connection import Connection
from store.records import AnswerRecord, Contact, DecisionRecord, Report, Review, now
from store.reports import DecisionAppeal

PAGE = 50
T = TypeVar("T")


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
        # A hidden review shows nothing of itself, so nothing of its reply either.
        answered = await replies.replies_of_reviews(
            conn, [r.id for r in shown if r.visibility is Visibility.VISIBLE]
        )
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
                author=author_of(r, authors),
                created_at=r.created_at,
                labels=r.labels,
                reply=PublicReply(
                    text=answered[r.id].text,
                    business_name=business.name,
                    published_at=answered[r.id].published_at,
                )
                if r.id in answered
                else None,
            )
            for r in shown
        ],
    )


def author_of(review: Review, authors: dict[str, str]) -> str:
    """Who wrote a review, as a business and the public see it (``authors`` from
    ``reviews.authors_of``): the desk's one rule, ``domain.desk.author_name``."""
    return author_name(review.anonymous, authors.get(review.reviewer_id))


def find_reviewer_offered(
    review: Review, open_contact: Contact | None, report: Report | None
) -> bool:
    """Whether "Find reviewer" is offered, on the dashboard as on a desk ticket: DESIGN rule 1,
    as the store sees it now (a review with a report, whichever contact it came from, is done
    with). The service has the last word: cooldown, caps, restrictions."""
    return (
        review.source is not ReviewSource.PLATFORM_INVITATION
        and review.visibility is Visibility.VISIBLE
        and open_contact is None
        and report is None
    )


@dataclass
class ReviewRow:
    review: Review
    open_contact: Contact | None
    report: Report | None

    @property
    def eligible(self) -> bool:
        return find_reviewer_offered(self.review, self.open_contact, self.report)


def can_report(contact: Contact) -> bool:
    return (
        contact.status in (ContactStatus.REPLIED, ContactStatus.DECLINED, ContactStatus.NO_RESPONSE)
        and contact.report_deadline is not None
        and now() < contact.report_deadline
    )


def can_close(contact: Contact) -> bool:
    return contact.status.is_open


@dataclass(frozen=True)
class Paging:
    """Which page of a list is shown, and whether there is one after it: lists never just stop."""

    number: int = 1
    has_next: bool = False

    @property
    def offset(self) -> int:
        return (self.number - 1) * PAGE


def _paged(found: list[T], number: int) -> tuple[list[T], Paging]:
    """``found`` was read with one row more than a page, to know whether a next page exists."""
    return found[:PAGE], Paging(number, has_next=len(found) > PAGE)


@dataclass
class Dashboard:
    reviews: list[ReviewRow] = field(default_factory=list)
    contacts: list[ContactView] = field(default_factory=list)
    reviews_page: Paging = field(default_factory=Paging)
    contacts_page: Paging = field(default_factory=Paging)
    titles: dict[str, str] = field(default_factory=dict)
    """Review titles by review id, for the contacts."""
    authors: dict[str, str] = field(default_factory=dict)
    """Reviewers' display names by reviewer id (public, never their address)."""
    contact_authors: dict[str, str] = field(default_factory=dict)
    """Who wrote each contacted review, by review id, as ``author_of`` names them: a reviewer's
    profile may hold a name from a signed review that an anonymous one must not show."""
    decisions: dict[str, DecisionRecord] = field(default_factory=dict)
    """Moderators' decisions by report id."""


async def dashboard(
    service: Reviewdesk, business_id: str, *, reviews_page: int = 1, contacts_page: int = 1
) -> Dashboard:
    async with service.db.read() as conn:
        own, reviews_at = _paged(
            await reviews.reviews_of_business(
                conn, business_id, limit=PAGE + 1, offset=Paging(reviews_page).offset
            ),
            reviews_page,
        )
        ids = [r.id for r in own]
        open_contacts = await contacts.open_contacts_for_reviews(conn, ids)
        reported = await reports.reports_for_reviews(conn, ids)
        recent, contacts_at = _paged(
            await contacts.contacts_of_business(
                conn, business_id, limit=PAGE + 1, offset=Paging(contacts_page).offset
            ),
            contacts_page,
        )
        views = await contact_views(conn, recent)
        contacted = await reviews.reviews_by_id(conn, [c.review_id for c in recent])
        authors = await reviews.authors_of(
            conn, [r.reviewer_id for r in own] + [c.reviewer_id for c in recent]
        )
        decisions = await reports.decisions_by_id(
            conn, [v.report.decision_id or "" for v in views if v.report]
        )
    return Dashboard(
        reviews=[ReviewRow(r, open_contacts.get(r.id), reported.get(r.id)) for r in own],
        contacts=views,
        reviews_page=reviews_at,
        contacts_page=contacts_at,
        titles={r.id: r.title for r in contacted.values()},
        authors=authors,
        contact_authors={r.id: author_of(r, authors) for r in contacted.values()},
        decisions={d.report_id: d for d in decisions.values()},
    )


@dataclass
class ContactPage:
    """One contact as its business sees it on a page of its own."""

    view: ContactView
    review: Review
    author: str
    decision: DecisionRecord | None = None
    """The moderator's decision on its report: the outcome and the note, not who decided."""


async def contact_page(service: Reviewdesk, business_id: str, contact_id: str) -> ContactPage:
    """Another business's contact is refused exactly like an unknown one."""
    view = await service.contact_of(business_id, contact_id)
    report = view.report
    async with service.db.read() as conn:
        review = await reviews.get_review(conn, view.contact.review_id)
        authors = await reviews.authors_of(conn, [view.contact.reviewer_id])
        decision = (
            await reports.get_decision(conn, report.decision_id)
            if report and report.decision_id
            else None
        )
    assert review is not None
    return ContactPage(
        view=view,
        review=review,
        author=author_of(review, authors),
        decision=decision,
    )


async def queue(
    service: Reviewdesk,
    status: ReportStatus = ReportStatus.PENDING,
    *,
    reason: FlagReason | None = None,
    priority: Priority | None = None,
    limit: int = PAGE,
    offset: int = 0,
) -> list[ReportView]:
    """Reports with the given status, high priority first, then the oldest: the queue's API."""
    async with service.db.read() as conn:
        found = await reports.reports_with_status(
            conn, status, reason=reason, priority=priority, limit=limit, offset=offset
        )
        return await report_views(conn, found)


async def answers_of(
    service: Reviewdesk, views: list[ReportView]
) -> dict[str, AnswerRecord | None]:
    """What each reported contact's reviewer answered, by report id, in one query."""
    async with service.db.read() as conn:
        return await _answers_of(conn, views)


async def _answers_of(conn: Connection, views: list[ReportView]) -> dict[str, AnswerRecord | None]:
    answer_ids = {v.report.id: v.contact.answer_id if v.contact else None for v in views}
    found = await contacts.answers_by_id(conn, [a or "" for a in answer_ids.values()])
    return {report_id: found.get(a) if a else None for report_id, a in answer_ids.items()}


@dataclass
class ModerationPage:
    """The queue's pending or decided reports, with the names a moderator reads in place of ids."""

    reports: list[ReportView] = field(default_factory=list)
    answers: dict[str, AnswerRecord | None] = field(default_factory=dict)
    businesses: dict[str, str] = field(default_factory=dict)
    authors: dict[str, str] = field(default_factory=dict)
    """Reviewers' display names by reviewer id: never their address."""
    moderators: dict[str, str] = field(default_factory=dict)
    appeals: dict[str, DecisionAppeal] = field(default_factory=dict)
    """The appeal against each decision, by report id."""
    paging: Paging = field(default_factory=Paging)
    decided: bool = False
    reason: FlagReason | None = None
    priority: Priority | None = None
    """The filters the page was asked for (None: all)."""


async def moderation(
    service: Reviewdesk,
    *,
    decided: bool = False,
    reason: FlagReason | None = None,
    priority: Priority | None = None,
    page: int = 1,
) -> ModerationPage:
    """Pending reports, high priority first then the oldest, or decided ones with the latest
    decision first; of one reason or priority if asked."""
    offset = Paging(page).offset
    async with service.db.read() as conn:
        if decided:
            found = await reports.decided_reports(
                conn, reason=reason, priority=priority, limit=PAGE + 1, offset=offset
            )
        else:
            found = await reports.reports_with_status(
                conn,
                ReportStatus.PENDING,
                reason=reason,
                priority=priority,
                limit=PAGE + 1,
                offset=offset,
            )
        shown, paging = _paged(found, page)
        result = await _moderation_of(conn, shown)
    result.paging, result.decided = paging, decided
    result.reason, result.priority = reason, priority
    return result


async def report_page(service: Reviewdesk, report_id: str) -> ModerationPage:
    """One report, as the queue shows it: for the page that confirms a decision."""
    async with service.db.read() as conn:
        report = await reports.get_report(conn, report_id)
        if report is None:
            raise Refused(Refusal.REPORT_NOT_FOUND)
        return await _moderation_of(conn, [report])


async def _moderation_of(conn: Connection, found: list[Report]) -> ModerationPage:
    views = await report_views(conn, found)
    decisions = [v.decision for v in views if v.decision]
    appeals = await reports.appeals_of_decisions(conn, [d.id for d in decisions])
    deciders = [d.moderator_id for d in decisions]
    deciders += [a.moderator_id for a in appeals.values() if a.moderator_id]
    return ModerationPage(
        reports=views,
        answers=await _answers_of(conn, views),
        businesses=await directory.business_names(conn, [r.business_id for r in found]),
        authors=await reviews.authors_of(conn, [v.review.reviewer_id for v in views]),
        moderators=await directory.moderator_names(conn, deciders),
        appeals={d.report_id: appeals[d.id] for d in decisions if d.id in appeals},
    )


# A page of contacts or reports is read in a fixed number of queries, whatever its length: one
# per kind of record, not one per row (Reviewdesk.contact_view and report_view read one).


async def contact_views(conn: Connection, found: list[Contact]) -> list[ContactView]:
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


async def report_views(conn: Connection, found: list[Report]) -> list[ReportView]:
    """What ``Reviewdesk.report_view`` shows for each report, read in eight queries."""
    reviewed = await reviews.reviews_by_id(conn, [r.review_id for r in found])
    contacted = await contacts.contacts_by_id(conn, [r.contact_id or "" for r in found])
    decided = await reports.decisions_by_id(conn, [r.decision_id or "" for r in found])
    flags = await reports.flags_by_id(conn, [r.flag_id or "" for r in found])
    notices = await reports.notices_of_reports(conn, [r.id for r in found])
    subjects = [s for r in found for s in (r.contact_id, r.id) if s]
    events = await history.history_of(conn, subjects)
    messages = await outbox.messages_about(conn, subjects)
    views = []
    for r in found:
        mine = {r.contact_id or r.id, r.id}
        views.append(
            ReportView(
                report=r,
                review=reviewed[r.review_id],
                contact=contacted[r.contact_id] if r.contact_id else None,
                decision=decided.get(r.decision_id) if r.decision_id else None,
                history=[e for e in events if e.subject_id in mine],
                notifications=[Notification.of(m) for m in messages if m.subject_id in mine],
                flag=flags.get(r.flag_id) if r.flag_id else None,
                notices=notices.get(r.id, []),
            )
        )
    return views
