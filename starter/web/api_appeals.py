"""Appeals (DESIGN rule 11) under /api/v1: the business appeals a rejection of its report or
flag; moderators list appeals and decide them. Reviewers and notifiers appeal through the links
in their emails (appeal_pages)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, status
from pydantic import BaseModel

from domain.enums import AppealDecision, AppealStatus, Appellant, Decision, Visibility
from starter.appeal_inputs import AppealBody, AppealDecisionBody
from starter.appeals import AppealView
from starter.web.api import ERRORS, IdempotencyKey, Limit, Offset
from starter.web.auth import BusinessDep, ModeratorDep, ServiceDep
from starter.web.schemas import HistoryEntry

router = APIRouter(prefix="/api/v1")

Id = Annotated[str, Path(max_length=100)]
_APPEAL_ERRORS: dict[int | str, dict[str, Any]] = {
    **ERRORS,
    409: {
        "description": (
            "Already appealed, too late (appeal_window_over), or not a decision you may appeal"
        )
    },
}
_DECIDE_ERRORS: dict[int | str, dict[str, Any]] = {
    **ERRORS,
    409: {"description": "You made the decision appealed (same_moderator), or already decided"},
}


class AppealOut(BaseModel):
    id: str
    decision_id: str
    report_id: str
    review_id: str
    appellant: Appellant
    statement: str | None
    """Why the appellant disagrees; null once removed after the retention period."""
    status: AppealStatus
    opened_at: datetime
    sla_deadline: datetime
    overdue: bool
    """Pending past its deadline, or escalated."""
    escalated_at: datetime | None = None
    decided_at: datetime | None = None
    decision: AppealDecision | None = None
    note: str | None = None
    """The second moderator's note, once decided."""
    appealed_decision: Decision
    review_visibility: Visibility
    history: list[HistoryEntry] = []

    @classmethod
    def of(cls, view: AppealView) -> AppealOut:
        a = view.appeal
        decided = a.status is not AppealStatus.PENDING
        return cls(
            id=a.id,
            decision_id=a.decision_id,
            report_id=a.report_id,
            review_id=a.review_id,
            appellant=a.appellant,
            statement=None if a.purged_at else a.statement,
            status=a.status,
            opened_at=a.opened_at,
            sla_deadline=a.sla_deadline,
            overdue=view.overdue,
            escalated_at=a.escalated_at,
            decided_at=a.decided_at,
            # A claimed but unapplied decision is not shown as one.
            decision=a.decision if decided else None,
            note=a.note if decided else None,
            appealed_decision=view.decision.decision,
            review_visibility=view.review.visibility,
            history=[HistoryEntry.of(e) for e in view.history],
        )


class ModeratorAppealOut(AppealOut):
    appellant_id: str
    """The reviewer's or business's id, or the notice's (a notifier has no account)."""
    first_moderator_id: str
    moderator_id: str | None = None

    @classmethod
    def of(cls, view: AppealView) -> ModeratorAppealOut:
        a = view.appeal
        return cls(
            **AppealOut.of(view).model_dump(),
            appellant_id=a.appellant_id,
            first_moderator_id=view.decision.moderator_id,
            moderator_id=a.moderator_id if a.status is not AppealStatus.PENDING else None,
        )


@router.post(
    "/decisions/{decision_id}/appeals",
    status_code=status.HTTP_201_CREATED,
    responses=_APPEAL_ERRORS,
    tags=["business"],
)
async def appeal_decision(
    decision_id: Id,
    body: AppealBody,
    business: BusinessDep,
    service: ServiceDep,
    idempotency_key: IdempotencyKey = None,
) -> AppealOut:
    """Appeal a moderator's rejection of your report or flag, once, free, within six months.
    A different moderator decides; the decision on the appeal is final on the platform."""
    view = await service.appeals.by_business(
        business.id, decision_id, body, idempotency_key=idempotency_key
    )
    return AppealOut.of(view)


@router.get("/appeals", tags=["moderator"], responses=ERRORS)
async def list_appeals(
    moderator: ModeratorDep,
    service: ServiceDep,
    status: AppealStatus = AppealStatus.PENDING,
    limit: Limit = 50,
    offset: Offset = 0,
) -> list[ModeratorAppealOut]:
    """Pending appeals, the oldest first; decided ones, the latest decision first."""
    found = await service.appeals.with_status(status, limit=limit, offset=offset)
    return [ModeratorAppealOut.of(v) for v in found]


@router.get("/appeals/{appeal_id}", tags=["moderator"], responses=ERRORS)
async def get_appeal(
    appeal_id: Id, moderator: ModeratorDep, service: ServiceDep
) -> ModeratorAppealOut:
    return ModeratorAppealOut.of(await service.appeals.get(appeal_id))


@router.post("/appeals/{appeal_id}/decision", tags=["moderator"], responses=_DECIDE_ERRORS)
async def decide_appeal(
    appeal_id: Id,
    body: AppealDecisionBody,
    moderator: ModeratorDep,
    service: ServiceDep,
    idempotency_key: IdempotencyKey = None,
) -> ModeratorAppealOut:
    """``grant`` reverses the decision at once (the review reinstated, or removed); ``deny``
    lets it stand. Not by the moderator who made the decision appealed."""
    view = await service.appeals.decide(
        moderator.id, appeal_id, body, idempotency_key=idempotency_key
    )
    return ModeratorAppealOut.of(view)
