"""The webhook endpoints of a business, under /api/v1/webhooks (DESIGN, "Webhooks")."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, status

from starter.inputs import WebhookBody
from starter.web.api import IdempotencyKey
from starter.web.auth import BusinessDep, OwnerDep, ServiceDep
from starter.webhooks import EndpointWithSecret, WebhookDelivery
from store.webhooks import WebhookEndpoint

router = APIRouter(prefix="/api/v1/webhooks", tags=["webhooks"])

EndpointId = Annotated[str, Path(max_length=100)]
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "No API key, or a wrong one"},
    403: {"description": "Not a business's key"},
    404: {"description": "No such endpoint or event, or not yours"},
    429: {"description": "Too many requests with this key (rate_limited): retry after Retry-After"},
}
# Where events go is the owner's to say (DESIGN rule 17): an agent's key may read the endpoints
# and deliveries, never add, rotate, remove or resend (an agent could point one at their own
# server).
OWNER_ERRORS: dict[int | str, dict[str, Any]] = {
    **ERRORS,
    403: {"description": "Not a business's key, or an agent's (owner_only)"},
}


@router.get("", responses=ERRORS)
async def list_endpoints(business: BusinessDep, service: ServiceDep) -> list[WebhookEndpoint]:
    """Your endpoints in use, oldest first (never their secrets)."""
    return await service.webhooks.endpoints(business.id)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses={
        **OWNER_ERRORS,
        409: {"description": "Already at the most endpoints a business may keep"},
        422: {"description": "Malformed, or the URL is not https to public addresses"},
    },
)
async def register_endpoint(
    body: WebhookBody,
    owner: OwnerDep,
    service: ServiceDep,
    idempotency_key: IdempotencyKey = None,
) -> EndpointWithSecret:
    """Send your events (``event_types``; none: all) to this https URL too. Answers with the
    endpoint's signing secret, shown this once: store it now. The owner's key only."""
    return await service.webhooks.register(owner.business_id, body, idempotency_key=idempotency_key)


@router.delete("/{endpoint_id}", responses=OWNER_ERRORS)
async def remove_endpoint(
    endpoint_id: EndpointId, owner: OwnerDep, service: ServiceDep
) -> WebhookEndpoint:
    """Nothing more is sent to it; its events not yet sent fail as ``endpoint removed``. The
    owner's key only."""
    return await service.webhooks.remove(owner.business_id, endpoint_id)


@router.post(
    "/{endpoint_id}/rotate",
    responses={**OWNER_ERRORS, 409: {"description": "The endpoint has been removed"}},
)
async def rotate_secret(
    endpoint_id: EndpointId,
    owner: OwnerDep,
    service: ServiceDep,
    idempotency_key: IdempotencyKey = None,
) -> EndpointWithSecret:
    """A new signing secret, shown this once. Until ``previous_secret_until`` each event carries
    a signature with the old secret too, so your receiver can switch without missing one. The
    owner's key only."""
    return await service.webhooks.rotate(
        owner.business_id, endpoint_id, idempotency_key=idempotency_key
    )


@router.get("/deliveries", responses=ERRORS)
async def list_deliveries(
    business: BusinessDep,
    service: ServiceDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[WebhookDelivery]:
    """Your webhook events, one per endpoint, newest first, with their status: failed ones
    stay listed, with the status code or the reason of their last attempt."""
    return await service.webhooks.deliveries(business.id, limit=limit, offset=offset)


@router.post(
    "/events/{key}/resend",
    status_code=status.HTTP_202_ACCEPTED,
    responses={
        **OWNER_ERRORS,
        409: {"description": "Not failed, or its endpoint has been removed"},
    },
)
async def resend_event(
    key: Annotated[str, Path(max_length=300, description="The delivery's ``key``")],
    owner: OwnerDep,
    service: ServiceDep,
) -> WebhookDelivery:
    """Send a failed event again: the same ``webhook-id`` and body, retried as a new one is.
    The owner's key only."""
    return await service.webhooks.resend(owner.business_id, key)
