"""What the API returns: what each caller may see, and nothing more (no reviewer address)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from domain.enums import (
    ContactStatus,
    Decision,
    Finding,
    FlagReason,
    Grounds,
    Priority,
    ReportSource,
    ReportStatus,
    RequestedItem,
    ReviewerAction,
    SubReason,
    Visibility,
)
from starter.service import ContactView, Notification, ReportView
from starter.web import words
from store.records import Event, Review, StandingStep, now

HIDDEN_PLACEHOLDER = "This review is hidden while a report about it is handled."


class HistoryEntry(BaseModel):
    at: datetime
    subject_id: str
    type: str
    detail: dict[str, Any] = {}

    @classmethod
    def of(cls, event: Event) -> HistoryEntry:
        return cls(at=event.at, subject_id=event.subject_id, type=event.type, detail=event.detail)


class ReplyOut(BaseModel):
    answer: str
    order_reference: str | None = None
    contact_details: str | None = None
    message: str | None = None
    submitted_at: datetime
    purged_at: datetime | None = None
    """Set once what the reviewer shared was removed, `retention` after the case ended."""


class ContactOut(BaseModel):
    id: str
    review_id: str
    status: ContactStatus
    message: str | None
    """The business's message; null once removed after the retention period (``purged_at``)."""
    requested: list[RequestedItem]
    opened_at: datetime
    deadline: datetime
    window_closed_at: datetime | None = None
    report_deadline: datetime | None = None
    reply: ReplyOut | None = None
    report_id: str | None = None
    decision_id: str | None = None
    """The moderator's decision on the report, once made: what an appeal names."""
    history: list[HistoryEntry] = []
    notifications: list[Notification] = []
    purged_at: datetime | None = None
    """Set once what people wrote in this case was removed, `retention` after it ended."""

    @classmethod
    def of(cls, view: ContactView) -> ContactOut:
        c = view.contact
        reply = None
        if view.answer is not None:
            reply = ReplyOut(
                answer=view.answer.answer.value,
                order_reference=view.answer.order_reference,
                contact_details=view.answer.contact_details,
                message=view.answer.message,
                submitted_at=view.answer.submitted_at,
                purged_at=view.answer.purged_at,
            )
        return cls(
            id=c.id,
            review_id=c.review_id,
            status=c.status,
            message=None if c.purged_at else c.message,
            requested=c.requested,
            opened_at=c.opened_at,
            deadline=c.deadline,
            window_closed_at=c.window_closed_at,
            report_deadline=c.report_deadline,
            reply=reply,
            report_id=c.report_id,
            decision_id=view.report.decision_id if view.report else None,
            history=[HistoryEntry.of(e) for e in view.history],
            notifications=view.notifications,
            purged_at=c.purged_at,
        )


class ContactSummary(BaseModel):
    id: str
    review_id: str
    status: ContactStatus
    opened_at: datetime
    deadline: datetime
    report_deadline: datetime | None = None
    report_id: str | None = None


class ReviewOut(BaseModel):
    id: str
    business_id: str
    rating: int
    title: str
    text: str
    created_at: datetime
    visibility: Visibility
    labels: list[str]

    @classmethod
    def of(cls, review: Review) -> ReviewOut:
        return cls.model_validate(review.model_dump())


class DecisionOut(BaseModel):
    decision: Decision
    note: str
    legal_ground: str | None = None
    moderator_id: str
    decided_at: datetime


class FlagOut(BaseModel):
    """The flag a report came from, as the moderator reads it."""

    id: str
    explanation: str | None
    """What the business wrote; null once removed after the retention period."""
    opened_at: datetime
    reviewer_deadline: datetime | None = None
    reviewer_action: ReviewerAction | None = None
    reviewer_acted_at: datetime | None = None


class NoticeOut(BaseModel):
    """A notice the report gathered: never who sent it."""

    sub_reason: SubReason
    explanation: str | None
    received_at: datetime


class ReportOut(BaseModel):
    id: str
    review_id: str
    contact_id: str | None
    """The contact it followed, for ``not_genuine``; null for a flag or notices."""
    business_id: str
    reason: FlagReason
    sub_reason: SubReason | None = None
    source: ReportSource
    priority: Priority
    grounds: Grounds | None
    status: ReportStatus
    opened_at: datetime
    sla_deadline: datetime
    overdue: bool
    """Pending past its deadline (``sla_deadline``), or escalated."""
    escalated_at: datetime | None = None
    decided_at: datetime | None = None
    review: ReviewOut
    flag: FlagOut | None = None
    notices: list[NoticeOut] = []
    decision: DecisionOut | None = None
    history: list[HistoryEntry] = []

    @classmethod
    def of(cls, view: ReportView, *, at: datetime | None = None) -> ReportOut:
        r = view.report
        decision = None
        if view.decision is not None:
            decision = DecisionOut(
                decision=view.decision.decision,
                note=view.decision.note,
                legal_ground=view.decision.legal_ground,
                moderator_id=view.decision.moderator_id,
                decided_at=r.decided_at or view.decision.submitted_at,
            )
        flag = None
        if view.flag is not None:
            f = view.flag
            flag = FlagOut(
                id=f.id,
                explanation=None if f.purged_at else f.explanation,
                opened_at=f.opened_at,
                reviewer_deadline=f.reviewer_deadline,
                reviewer_action=f.reviewer_action,
                reviewer_acted_at=f.reviewer_acted_at,
            )
        overdue = r.status is ReportStatus.PENDING and (
            r.escalated_at is not None or (at or now()) >= r.sla_deadline
        )
        return cls(
            id=r.id,
            review_id=r.review_id,
            contact_id=r.contact_id,
            business_id=r.business_id,
            reason=r.reason,
            sub_reason=r.sub_reason,
            source=r.source,
            priority=r.priority,
            grounds=r.grounds,
            status=r.status,
            opened_at=r.opened_at,
            sla_deadline=r.sla_deadline,
            overdue=overdue,
            escalated_at=r.escalated_at,
            decided_at=r.decided_at,
            review=ReviewOut.of(view.review),
            flag=flag,
            notices=[NoticeOut.model_validate(n.model_dump()) for n in view.notices],
            decision=decision,
            history=[HistoryEntry.of(e) for e in view.history],
        )


class PublicReply(BaseModel):
    """A review's public reply as anyone sees it (DESIGN rule 19): from the business, never
    naming the team member who wrote it."""

    text: str
    business_name: str
    published_at: datetime


class PublicReview(BaseModel):
    """A review as the public sees it: a hidden one is only a placeholder."""

    id: str
    hidden: bool = False
    placeholder: str | None = None
    rating: int | None = None
    title: str | None = None
    text: str | None = None
    author: str | None = None
    created_at: datetime | None = None
    labels: list[str] = []
    reply: PublicReply | None = None
    """The business's one public reply, once published; none on a hidden review."""


class ConsumerWarning(BaseModel):
    """The public "Consumer warning" on a business (DESIGN rule 12), for a platform that builds
    the business's page from the API to show as the public page does: no figure about anyone."""

    finding: Finding
    explanation: str
    """The warning in words for readers, as the public page says it."""
    ends_at: datetime

    @classmethod
    def of(cls, step: StandingStep, business_name: str) -> ConsumerWarning:
        return cls(
            finding=step.finding,
            explanation=words.consumer_warning_words(business_name, step.finding),
            ends_at=step.ends_at,
        )


class PublicReviews(BaseModel):
    business_id: str
    business_name: str
    consumer_warning: ConsumerWarning | None = None
    """Present while a consumer warning is in force on the business."""
    reviews: list[PublicReview]
