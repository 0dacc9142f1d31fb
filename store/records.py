"""What the store holds, as typed records; the pages, the API and the CLI read these."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel

from domain.enums import (
    Answer,
    AppealDecision,
    AppealStatus,
    Appellant,
    ContactStatus,
    Decision,
    Finding,
    FlagReason,
    FlagStatus,
    Grounds,
    MemberRole,
    Priority,
    ReportSource,
    ReportStatus,
    RequestedItem,
    Restriction,
    ReviewerAction,
    ReviewSource,
    StandingStepKind,
    StandingSubject,
    StepEnd,
    SubReason,
    TicketEventKind,
    TicketStatus,
    Visibility,
)
from store.connection import Connection, Row


def ts(value: datetime) -> str:
    """Times are stored as ISO 8601 in UTC, so text order is time order."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def now() -> datetime:
    return datetime.now(UTC)


async def fetch_one(conn: Connection, sql: str, params: tuple[Any, ...] = ()) -> Row | None:
    return await conn.fetch_one(sql, params)


async def fetch_all(conn: Connection, sql: str, params: tuple[Any, ...] = ()) -> list[Row]:
    return await conn.fetch_all(sql, params)


class Business(BaseModel):
    id: str
    name: str
    email: str
    created_at: datetime


class Moderator(BaseModel):
    id: str
    name: str


class Reviewer(BaseModel):
    id: str
    display_name: str
    email: str


class Review(BaseModel):
    id: str
    business_id: str
    reviewer_id: str
    rating: int
    title: str
    text: str
    source: ReviewSource
    visibility: Visibility
    created_at: datetime
    labels: list[str] = []
    # Edited by its author through a flag's link; withdrawn by its author (then removed).
    edited_at: datetime | None = None
    withdrawn_at: datetime | None = None
    # The platform's own id (DESIGN rule 14); None for a review from before the desk.
    external_id: str | None = None
    # Posted without a display name: shown as "Anonymous reviewer".
    anonymous: bool = False


class ContactRequest(BaseModel):
    id: str
    review_id: str
    business_id: str
    message: str
    requested: list[RequestedItem]
    idempotency_key: str | None = None
    created_at: datetime
    refusal: str | None = None
    purged_at: datetime | None = None

    @classmethod
    def from_row(cls, row: Row) -> ContactRequest:
        data = dict(row)
        data["requested"] = json.loads(data["requested"])
        return cls.model_validate(data)


class Contact(BaseModel):
    id: str
    review_id: str
    business_id: str
    reviewer_id: str
    status: ContactStatus
    message: str
    requested: list[RequestedItem]
    opened_at: datetime
    deadline: datetime
    window_closed_at: datetime | None = None
    report_deadline: datetime | None = None
    answer_id: str | None = None
    token_used_at: datetime | None = None
    closed_at: datetime | None = None
    report_id: str | None = None
    # When the business's message was removed, `retention` after the case ended.
    purged_at: datetime | None = None

    @classmethod
    def from_row(cls, row: Row) -> Contact:
        data = dict(row)
        data["requested"] = json.loads(data["requested"])
        return cls.model_validate(data)


class AnswerRecord(BaseModel):
    id: str
    contact_id: str
    answer: Answer
    order_reference: str | None = None
    contact_details: str | None = None
    message: str | None = None
    submitted_at: datetime
    # When what the reviewer shared was removed, `retention` after the case ended.
    purged_at: datetime | None = None


class Report(BaseModel):
    """A review in moderation, for one reason: after a contact (``not_genuine``, with its
    grounds), from a business's flag, or from notices (each notice names its report)."""

    id: str
    review_id: str
    contact_id: str | None = None
    business_id: str
    grounds: Grounds | None = None
    status: ReportStatus
    opened_at: datetime
    sla_deadline: datetime
    escalated_at: datetime | None = None
    decided_at: datetime | None = None
    decision_id: str | None = None
    reason: FlagReason = FlagReason.NOT_GENUINE
    sub_reason: SubReason | None = None
    source: ReportSource = ReportSource.CONTACT
    priority: Priority = Priority.NORMAL
    flag_id: str | None = None


class DecisionRecord(BaseModel):
    id: str
    report_id: str
    moderator_id: str
    decision: Decision
    note: str
    submitted_at: datetime
    # With an uphold on illegal content: the law it breaks (DSA statement's legal ground).
    legal_ground: str | None = None


class Flag(BaseModel):
    id: str
    review_id: str
    business_id: str
    reason: FlagReason
    sub_reason: SubReason | None = None
    explanation: str
    status: FlagStatus
    opened_at: datetime
    reviewer_deadline: datetime | None = None
    business_deadline: datetime | None = None
    reviewer_action: ReviewerAction | None = None
    reviewer_acted_at: datetime | None = None
    report_id: str | None = None
    ended_at: datetime | None = None
    purged_at: datetime | None = None


class ReviewEdit(BaseModel):
    """What the reviewer submitted through a flag's link (title and text for an edit)."""

    id: str
    flag_id: str
    review_id: str
    action: ReviewerAction
    title: str | None = None
    text: str | None = None
    submitted_at: datetime
    purged_at: datetime | None = None


class Notice(BaseModel):
    id: str
    review_id: str
    sub_reason: SubReason
    explanation: str
    name: str
    email: str
    good_faith: bool
    received_at: datetime
    report_id: str | None = None
    purged_at: datetime | None = None
    # Links.notifier_key of the address: kept after the purge while the misuse guard may still
    # count it, then cleared (store.retention.forget_notifiers).
    notifier_key: str | None = None


class Statement(BaseModel):
    """A statement of reasons; ``body`` is its DSA Transparency Database record (no personal
    data), ``id`` its puid."""

    id: str
    review_id: str
    report_id: str
    decision_id: str | None = None
    appeal_id: str | None = None
    restriction: Restriction
    created_at: datetime
    appeal_until: datetime | None = None
    body: dict[str, Any]

    @classmethod
    def from_row(cls, row: Row) -> Statement:
        data = dict(row)
        data["body"] = json.loads(data["body"])
        data.pop("token_hash", None)
        return cls.model_validate(data)


class Appeal(BaseModel):
    id: str
    decision_id: str
    report_id: str
    review_id: str
    appellant: Appellant
    # The reviewer's, business's or notice's id (a notifier has no account).
    appellant_id: str
    statement: str
    status: AppealStatus
    opened_at: datetime
    sla_deadline: datetime
    escalated_at: datetime | None = None
    decided_at: datetime | None = None
    moderator_id: str | None = None
    decision: AppealDecision | None = None
    note: str | None = None
    purged_at: datetime | None = None


class Event(BaseModel):
    seq: int
    subject_id: str
    at: datetime
    type: str
    detail: dict[str, Any] = {}

    @classmethod
    def from_row(cls, row: Row) -> Event:
        data = dict(row)
        data["detail"] = json.loads(data["detail"])
        return cls.model_validate(data)


class OutboxMessage(BaseModel):
    key: str
    channel: str
    subject_id: str
    event_type: str
    recipient_kind: str
    recipient_id: str
    to_address: str
    subject: str
    body_text: str
    created_at: datetime
    status: str = "pending"
    attempts: int = 0
    last_error: str | None = None
    sent_at: datetime | None = None
    # The one-time link the email carries (delivery/links.py): its purpose, for the subject,
    # put in at `link_at` of the body when the email is built for sending.
    link_purpose: str | None = None
    link_at: int | None = None
    # When the body (and an email's address) was removed, `retention` after the case ended.
    purged_at: datetime | None = None


class StandingStep(BaseModel):
    """One step of the misuse guard's ladder (DESIGN rule 12); in force until ``ended_at``."""

    id: str
    subject_kind: StandingSubject
    subject_id: str
    kind: StandingStepKind
    finding: Finding
    # The counts behind the finding, as shown to the business ({"decided": 10, "rejected": 6}).
    figures: dict[str, int]
    taken_at: datetime
    ends_at: datetime
    ended_at: datetime | None = None
    end_reason: StepEnd | None = None
    lifted_by: str | None = None
    lift_note: str | None = None

    @property
    def in_force(self) -> bool:
        return self.ended_at is None


class Platform(BaseModel):
    """The review platform, which posts every new review (DESIGN rule 14)."""

    id: str
    name: str


class Member(BaseModel):
    """One of a business's team (DESIGN rule 17): its owner or an agent."""

    id: str
    business_id: str
    name: str
    handle: str
    email: str
    role: MemberRole
    created_at: datetime

    @property
    def is_owner(self) -> bool:
        return self.role is MemberRole.OWNER


class Ticket(BaseModel):
    """A review's ticket (DESIGN rule 15); ``tags`` in the order they were added."""

    id: str
    review_id: str
    business_id: str
    subject: str
    requester: str
    rating: int
    status: TicketStatus
    priority: Priority
    tags: list[str] = []
    assignee_id: str | None = None
    policy_name: str
    target_at: datetime
    remind_at: datetime
    reminded_at: datetime | None = None
    breached_at: datetime | None = None
    created_at: datetime
    updated_at: datetime
    # When its workflow ran its first step; None until then (see starter/reconcile.py).
    started_at: datetime | None = None
    # Its public reply's time, when it was solved, and when it was marked spam or irrelevant.
    replied_at: datetime | None = None
    solved_at: datetime | None = None
    spam_at: datetime | None = None

    @property
    def answered(self) -> bool:
        """Replied to, marked spam, or solved: nothing left to remind anyone of or to breach."""
        return (
            self.status is TicketStatus.SOLVED
            or self.replied_at is not None
            or self.spam_at is not None
        )


class ReplyDraft(BaseModel):
    """A reply as sent, before its publishing (``store/replies.py``)."""

    id: str
    ticket_id: str
    author_id: str
    text: str
    solve: bool
    created_at: datetime


class Reply(BaseModel):
    """A review's one public reply (DESIGN rule 19), as published: never changed."""

    id: str
    review_id: str
    ticket_id: str
    business_id: str
    draft_id: str
    author_id: str
    text: str
    published_at: datetime


class Macro(BaseModel):
    """A business's reply template (DESIGN rule 18)."""

    id: str
    business_id: str
    title: str
    body: str
    created_by: str | None = None
    created_at: datetime


class TicketEvent(BaseModel):
    id: str
    ticket_id: str
    at: datetime
    kind: TicketEventKind
    actor_id: str | None = None
    detail: str | None = None


class TicketNote(BaseModel):
    id: str
    ticket_id: str
    author_id: str
    text: str
    created_at: datetime


class ResponsePolicy(BaseModel):
    """A business's own response policy (DESIGN rule 20), by its place in the order."""

    id: str
    business_id: str
    position: int
    name: str
    ratings: list[int]
    target_minutes: int
    created_at: datetime
