"""The JSON API of DESIGN, under /api/v1."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, status

from domain.enums import FlagReason, Priority, ReportStatus
from domain.refusals import Refusal, Refused
from starter.inputs import ContactRequestBody, DecisionBody, ReportBody
from starter.web import reads
from starter.web.auth import BusinessDep, ModeratorDep, ServiceDep
from starter.web.schemas import (
    ConsumerWarning,
    ContactOut,
    ContactSummary,
    PublicReviews,
    ReportOut,
)
from store.records import now

router = APIRouter(prefix="/api/v1")

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=200,
        description=(
            "Retrying with the same key (after a 503 or a lost answer) returns the first "
            "request's outcome, never a second one."
        ),
    ),
]
Limit = Annotated[int, Query(ge=1, le=200)]
Offset = Annotated[int, Query(ge=0, le=1_000_000)]
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "No API key, or a wrong one"},
    404: {"description": "Not found, or not yours"},
    422: {"description": "Malformed body, or not eligible (see error.code)"},
    429: {"description": "Too many requests with this key (rate_limited): retry after Retry-After"},
    503: {"description": "Briefly unavailable: retry after Retry-After, with the same key"},
}


@router.post(
    "/reviews/{review_id}/contacts",
    status_code=status.HTTP_201_CREATED,
    responses={**ERRORS, 409: {"description": "An open contact, or already reported"}},
    tags=["business"],
)
async def request_contact(
    review_id: str,
    body: ContactRequestBody,
    business: BusinessDep,
    service: ServiceDep,
    idempotency_key: IdempotencyKey = None,
) -> ContactOut:
    """Ask to contact the author of one of your reviews; answers once the contact is open."""
    view = await service.request_contact(
        business.id, review_id, body, idempotency_key=idempotency_key
    )
    return ContactOut.of(view)


@router.get("/contacts", tags=["business"], responses=ERRORS)
async def list_contacts(
    business: BusinessDep, service: ServiceDep, limit: Limit = 50, offset: Offset = 0
) -> list[ContactSummary]:
    found = await service.contacts_of(business.id, limit=limit, offset=offset)
    return [ContactSummary.model_validate(c.model_dump()) for c in found]


@router.get("/contacts/{contact_id}", tags=["business"], responses=ERRORS)
async def get_contact(contact_id: str, business: BusinessDep, service: ServiceDep) -> ContactOut:
    return ContactOut.of(await service.contact_of(business.id, contact_id))


@router.post(
    "/contacts/{contact_id}/report",
    status_code=status.HTTP_202_ACCEPTED,
    tags=["business"],
    responses={**ERRORS, 409: {"description": "Window open, already reported, or too late"}},
)
async def report_contact(
    contact_id: str,
    body: ReportBody,
    business: BusinessDep,
    service: ServiceDep,
    idempotency_key: IdempotencyKey = None,
) -> ReportOut:
    """Report the review as not a genuine experience; it is hidden when this answers."""
    view = await service.report(business.id, contact_id, body, idempotency_key=idempotency_key)
    return ReportOut.of(view)


@router.post(
    "/contacts/{contact_id}/close",
    tags=["business"],
    responses={**ERRORS, 409: {"description": "Already closed or reported"}},
)
async def close_contact(
    contact_id: str,
    business: BusinessDep,
    service: ServiceDep,
    idempotency_key: IdempotencyKey = None,
) -> ContactOut:
    return ContactOut.of(
        await service.close(business.id, contact_id, idempotency_key=idempotency_key)
    )


@router.get("/reports", tags=["moderator"], responses=ERRORS)
async def list_reports(
    moderator: ModeratorDep,
    service: ServiceDep,
    limit: Limit = 50,
    offset: Offset = 0,
    status: ReportStatus = ReportStatus.PENDING,
    reason: FlagReason | None = None,
    priority: Priority | None = None,
) -> list[ReportOut]:
    """Reports with the given status (of one reason or priority if given): high priority
    first, then the oldest. A report from a flag shows the business's explanation; one from
    notices shows them without who sent them."""
    found = await reads.queue(
        service, status, reason=reason, priority=priority, limit=limit, offset=offset
    )
    at = now()
    return [ReportOut.of(view, at=at) for view in found]


@router.post(
    "/reports/{report_id}/decision",
    tags=["moderator"],
    responses={**ERRORS, 409: {"description": "Already decided"}},
)
async def decide_report(
    report_id: str,
    body: DecisionBody,
    moderator: ModeratorDep,
    service: ServiceDep,
    idempotency_key: IdempotencyKey = None,
) -> ReportOut:
    """Uphold (the review is removed) or reject. ``legal_ground`` names the law broken, only
    when upholding a harmful or illegal report; it goes into the statement of reasons."""
    view = await service.decide(moderator.id, report_id, body, idempotency_key=idempotency_key)
    return ReportOut.of(view)


@router.get("/businesses/{business_id}/reviews", tags=["public"])
async def public_reviews(
    business_id: str, service: ServiceDep, limit: Limit = 50, offset: Offset = 0
) -> PublicReviews:
    """What anyone sees: visible reviews with labels, placeholders for hidden ones, and the
    public "Consumer warning" while one is in force on the business (null otherwise)."""
    page = await reads.public_reviews(service, business_id, limit=limit, offset=offset)
    if page is None:
        raise Refused(Refusal.BUSINESS_NOT_FOUND)
    warning = await service.standing.consumer_warning(business_id)
    if warning is None:
        return page
    return page.model_copy(
        update={"consumer_warning": ConsumerWarning.of(warning, page.business_name)}
    )
