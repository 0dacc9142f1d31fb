"""A business's standing (DESIGN rule 12), under /api/v1: the steps of the misuse guard's
ladder as the business sees them, and a moderator's lift."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import BaseModel, ConfigDict, Field

from domain.enums import Finding, StandingStepKind, StandingSubject, StepEnd
from domain.refusals import Refusal, Refused
from starter.standing import LIFT_NOTE_MAX, StandingView
from starter.web import auth
from starter.web.api import ERRORS, IdempotencyKey
from starter.web.auth import ModeratorDep, ServiceDep, bearer
from starter.web.errors import ApiError
from store.records import Business, Moderator, Platform, StandingStep

router = APIRouter(prefix="/api/v1", tags=["standing"])

Id = Annotated[str, Path(max_length=100)]


class StandingStepOut(BaseModel):
    id: str
    kind: StandingStepKind
    finding: Finding
    figures: dict[str, int]
    """The counts behind the finding: ``decided`` and ``rejected`` flags or notices, or
    ``flags`` and ``negative`` (on 1-2 star reviews)."""
    taken_at: datetime
    ends_at: datetime
    """When it ends by itself."""
    in_force: bool
    ended_at: datetime | None = None
    end_reason: StepEnd | None = None
    lift_note: str | None = None
    """Why a moderator lifted it early: the business is told why, as it was told the finding."""
    lifted_by: str | None = None
    """The moderator who lifted it; shown to moderators only."""

    @classmethod
    def of(cls, step: StandingStep, *, moderator: bool) -> StandingStepOut:
        return cls(
            **step.model_dump(exclude={"lifted_by", "subject_kind", "subject_id"}),
            in_force=step.in_force,
            lifted_by=step.lifted_by if moderator else None,
        )


class StandingOut(BaseModel):
    business_id: str
    restricted: bool
    """No new contacts or flags while a restriction is in force (``business_restricted``)."""
    consumer_warning: bool
    """A public "Consumer warning" shows on the business's page."""
    steps: list[StandingStepOut]
    """Every step, newest first."""

    @classmethod
    def of(cls, view: StandingView, *, moderator: bool) -> StandingOut:
        return cls(
            business_id=view.subject_id,
            restricted=view.restricted,
            consumer_warning=view.has(StandingStepKind.CONSUMER_WARNING),
            steps=[StandingStepOut.of(s, moderator=moderator) for s in view.steps],
        )


class LiftBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str = Field(min_length=1, max_length=LIFT_NOTE_MAX, pattern=r"\S")
    """Why it is lifted; the business is shown it."""
    step_id: str | None = Field(default=None, max_length=100)
    """The step to lift; every step in force when left out."""


async def _business_or_moderator(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Business | Moderator:
    # Either kind of key, checked (401) and counted against its rate limit as everywhere.
    account = await auth._account(request, credentials)
    if isinstance(account, Platform):
        raise ApiError(403, "forbidden", "This needs a business or moderator API key.")
    return account


AccountDep = Annotated[Business | Moderator, Depends(_business_or_moderator)]


@router.get("/businesses/{business_id}/standing", responses=ERRORS)
async def get_standing(business_id: Id, account: AccountDep, service: ServiceDep) -> StandingOut:
    """Your standing: every step of the misuse guard's ladder taken about your business, what
    was found, and until when each step lasts. A moderator may read any business's."""
    moderator = isinstance(account, Moderator)
    # Another business's standing is answered exactly as one that does not exist.
    if not moderator and account.id != business_id:
        raise Refused(Refusal.BUSINESS_NOT_FOUND)
    view = await service.standing.of_business(business_id)
    return StandingOut.of(view, moderator=moderator)


@router.post(
    "/businesses/{business_id}/standing/lift",
    responses={**ERRORS, 409: {"description": "Nothing in force to lift (nothing_to_lift)"}},
)
async def lift_standing(
    business_id: Id,
    body: LiftBody,
    moderator: ModeratorDep,
    service: ServiceDep,
    idempotency_key: IdempotencyKey = None,
) -> StandingOut:
    """Lift a step early (or every step in force), with a note the business is shown."""
    view = await service.standing.lift(
        moderator.id,
        StandingSubject.BUSINESS,
        business_id,
        body.note,
        body.step_id,
        idempotency_key=idempotency_key,
    )
    return StandingOut.of(view, moderator=True)
