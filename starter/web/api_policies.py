"""A business's response policies (DESIGN rule 20) under /api/v1/policies: the team reads them,
the owner adds and removes them. A change applies to tickets opened after it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, status

from starter.policies import PolicyIn, PolicyList, PolicyOut
from starter.web.api import IdempotencyKey
from starter.web.auth import BusinessDep, MemberDep, OwnerDep, ServiceDep

router = APIRouter(prefix="/api/v1", tags=["policies"])

PolicyId = Annotated[str, Path(max_length=100)]
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "No API key, or a wrong one"},
    403: {"description": "Not a business's key"},
    429: {"description": "Too many requests with this key (rate_limited): retry after Retry-After"},
}
OWNER_ONLY: dict[int | str, dict[str, Any]] = {
    403: {"description": "Not a business's key, or an agent's (owner_only)"}
}


@router.get("/policies", responses=ERRORS)
async def list_policies(
    business: BusinessDep, member: MemberDep, service: ServiceDep
) -> PolicyList:
    """Your response policies in the order they are tried (the first that matches a review's
    rating sets its ticket's target), then the defaults that apply after them."""
    return await service.policies.of(business.id)


@router.post(
    "/policies",
    status_code=status.HTTP_201_CREATED,
    responses={
        **ERRORS,
        **OWNER_ONLY,
        409: {"description": "Already at the most policies a business may keep"},
        422: {
            "description": "Malformed: a name of 1-100 characters, ratings among 1-5, "
            "target_hours from 1 to 720"
        },
    },
)
async def add_policy(
    body: PolicyIn,
    business: BusinessDep,
    owner: OwnerDep,
    service: ServiceDep,
    idempotency_key: IdempotencyKey = None,
) -> PolicyOut:
    """A policy at ``position`` (0: tried first), or after the others. Tickets already open
    keep their target."""
    return await service.policies.add(business.id, body, idempotency_key=idempotency_key)


@router.delete(
    "/policies/{policy_id}",
    responses={**ERRORS, **OWNER_ONLY, 404: {"description": "No such policy, or not yours"}},
)
async def remove_policy(
    policy_id: PolicyId, business: BusinessDep, owner: OwnerDep, service: ServiceDep
) -> PolicyOut:
    """New tickets no longer match it; tickets already open keep their target."""
    return await service.policies.remove(business.id, policy_id)
