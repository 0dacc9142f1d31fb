"""A business's flags on its reviews (DESIGN rule 8), under /api/v1."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, status
from pydantic import BaseModel

from domain.enums import (
    FlagReason,
    FlagStatus,
    Priority,
    ReportStatus,
    ReviewerAction,
    SubReason,
    Visibility,
)
from starter.flag_inputs import FlagBody
from starter.flags import FlagView
from starter.service import Notification
from starter.web.api import ERRORS, IdempotencyKey, Limit, Offset
from starter.web.auth import BusinessDep, ServiceDep
from starter.web.schemas import HistoryEntry

router = APIRouter(prefix="/api/v1", tags=["business"])

Id = Annotated[str, Path(max_length=100)]
_ACT_ERRORS: dict[int | str, dict[str, Any]] = {
    **ERRORS,
    409: {"description": "The reviewer still has time (reviewer_step_open), or the flag is closed"},
}


class FlagReportOut(BaseModel):
    """The report an escalated flag opened: where moderation stands."""

    id: str
    status: ReportStatus
    priority: Priority
    opened_at: datetime
    sla_deadline: datetime
    decided_at: datetime | None = None
    decision_id: str | None = None
    """What ``POST /api/v1/decisions/{id}/appeals`` takes, once decided."""


class BusinessFlagOut(BaseModel):
    id: str
    review_id: str
    reason: FlagReason
    sub_reason: SubReason | None = None
    explanation: str | None
    """What you wrote; null once removed after the retention period."""
    status: FlagStatus
    opened_at: datetime
    reviewer_deadline: datetime | None = None
    """Until when the reviewer may edit or withdraw the review."""
    business_deadline: datetime | None = None
    """Until when you may escalate or drop the flag; it lapses as dropped after."""
    reviewer_action: ReviewerAction | None = None
    reviewer_acted_at: datetime | None = None
    ended_at: datetime | None = None
    review_visibility: Visibility | None = None
    report: FlagReportOut | None = None
    history: list[HistoryEntry] = []
    notifications: list[Notification] = []

    @classmethod
    def of(cls, view: FlagView) -> BusinessFlagOut:
        f, r = view.flag, view.report
        return cls(
            **f.model_dump(exclude={"explanation", "report_id", "purged_at"}),
            explanation=None if f.purged_at else f.explanation,
            review_visibility=view.review.visibility,
            report=FlagReportOut.model_validate(r.model_dump()) if r else None,
            history=[HistoryEntry.of(e) for e in view.history],
            notifications=view.notifications,
        )


class FlagSummary(BaseModel):
    id: str
    review_id: str
    reason: FlagReason
    sub_reason: SubReason | None = None
    status: FlagStatus
    opened_at: datetime
    reviewer_deadline: datetime | None = None
    business_deadline: datetime | None = None
    report_id: str | None = None


@router.post(
    "/reviews/{review_id}/flags",
    status_code=status.HTTP_201_CREATED,
    responses={**ERRORS, 409: {"description": "Already flagged, or already cleared"}},
)
async def flag_review(
    review_id: Id,
    body: FlagBody,
    business: BusinessDep,
    service: ServiceDep,
    idempotency_key: IdempotencyKey = None,
) -> BusinessFlagOut:
    """Flag one of your reviews for one reason. Harmful or illegal content goes to the
    moderators at once; for personal information, advertising or spam, and a different business,
    the reviewer is first asked to edit or withdraw it. ``not_genuine`` goes through a contact."""
    view = await service.flags.flag(business.id, review_id, body, idempotency_key=idempotency_key)
    return BusinessFlagOut.of(view)


@router.get("/flags", responses=ERRORS)
async def list_flags(
    business: BusinessDep, service: ServiceDep, limit: Limit = 50, offset: Offset = 0
) -> list[FlagSummary]:
    """Your flags, newest first."""
    found = await service.flags.flags_of(business.id, limit=limit, offset=offset)
    return [FlagSummary.model_validate(f.model_dump()) for f in found]


@router.get("/flags/{flag_id}", responses=ERRORS)
async def get_flag(flag_id: Id, business: BusinessDep, service: ServiceDep) -> BusinessFlagOut:
    return BusinessFlagOut.of(await service.flags.flag_of(business.id, flag_id))


@router.post("/flags/{flag_id}/escalate", responses=_ACT_ERRORS)
async def escalate_flag(
    flag_id: Id, business: BusinessDep, service: ServiceDep, idempotency_key: IdempotencyKey = None
) -> BusinessFlagOut:
    """Ask a moderator to decide, once the reviewer edited the review or their time passed."""
    view = await service.flags.escalate(business.id, flag_id, idempotency_key=idempotency_key)
    return BusinessFlagOut.of(view)


@router.post("/flags/{flag_id}/drop", responses=_ACT_ERRORS)
async def drop_flag(
    flag_id: Id, business: BusinessDep, service: ServiceDep, idempotency_key: IdempotencyKey = None
) -> BusinessFlagOut:
    view = await service.flags.drop(business.id, flag_id, idempotency_key=idempotency_key)
    return BusinessFlagOut.of(view)
