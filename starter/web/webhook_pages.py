"""The business's webhooks page: its endpoints, adding one, removing one and rotating a secret
(each after a confirmation page), the recent deliveries, and sending a failed one again.

Only the owner changes where events go (DESIGN rule 17): an agent sees the endpoints and the
deliveries, no form, and is refused ``owner_only`` should they send one anyway."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from domain.enums import WebhookEvent
from domain.refusals import Refusal, Refused
from starter.inputs import WebhookBody
from starter.web import words
from starter.web.auth import ServiceDep, Session, check_session, member_id_of, session_of
from starter.web.idempotency import IdempotencyKeyField
from starter.web.pages import _first_problem, _signed_in, render
from starter.web.sign_in import to_sign_in
from store import members

router = APIRouter(include_in_schema=False, dependencies=[Depends(check_session)])
PAGE = "/dashboard/webhooks"
PER_PAGE = 50
Csrf = Annotated[str, Form(max_length=100)]
NOTICES = {
    "removed": "The endpoint is removed: nothing more is sent to it.",
    "resent": "The event is being sent again.",
}
EVENT_LABELS = {e: f"{e.value}: {words.TOPICS.get(e.value, e.value)}" for e in WebhookEvent}
STATUS_WORDS = words.DELIVERY


def _is_owner(session: Session) -> bool:
    return member_id_of(session) == members.owner_id(session.account_id)


def _owner(request: Request, csrf: str | None = None) -> Session:
    """The business's owner signed in; with ``csrf``, a form they sent from their page."""
    session = _signed_in(request, "business", csrf, post=csrf is not None)
    if not _is_owner(session):
        raise Refused(Refusal.OWNER_ONLY)
    return session


@router.get(PAGE, response_class=HTMLResponse)
async def webhooks_page(
    request: Request,
    service: ServiceDep,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    session = session_of(request)
    if session is None or session.role != "business":
        return to_sign_in(request)
    return await _page(request, service, session.account_id, page=page)


async def _page(
    request: Request,
    service: ServiceDep,
    business_id: str,
    *,
    page: int = 1,
    status_code: int = 200,
    error: str | None = None,
) -> HTMLResponse:
    endpoints = await service.webhooks.endpoints(business_id)
    deliveries = await service.webhooks.deliveries(
        business_id, limit=PER_PAGE + 1, offset=(page - 1) * PER_PAGE
    )
    return render(
        request,
        "webhooks.html",
        status_code,
        endpoints=endpoints,
        urls={e.id: e.url for e in endpoints},
        deliveries=deliveries[:PER_PAGE],
        page=page,
        more=len(deliveries) > PER_PAGE,
        events=EVENT_LABELS,
        status_words=STATUS_WORDS,
        owner=_is_owner(_signed_in(request, "business")),
        notice=NOTICES.get(request.query_params.get("notice", "")),
        error=error,
    )


@router.post(PAGE, response_class=HTMLResponse)
async def add_endpoint(
    request: Request,
    service: ServiceDep,
    csrf: Csrf,
    url: Annotated[str, Form(max_length=2000)],
    event_types: Annotated[list[WebhookEvent] | None, Form()] = None,
    idempotency_key: IdempotencyKeyField = None,
) -> HTMLResponse:
    session = _owner(request, csrf)
    try:
        body = WebhookBody(url=url, event_types=event_types or [])
        made = await service.webhooks.register(
            session.account_id, body, idempotency_key=idempotency_key
        )
    except ValidationError as err:
        return await _page(
            request, service, session.account_id, status_code=422, error=_first_problem(err)
        )
    except Refused as refused:
        if refused.reason not in (
            Refusal.WEBHOOK_URL_NOT_ALLOWED,
            Refusal.WEBHOOK_LIMIT_REACHED,
        ):
            raise
        status = refused.reason.http_status
        return await _page(
            request, service, session.account_id, status_code=status, error=refused.message
        )
    # The secret is shown on this one page and never again.
    return render(request, "webhook_secret.html", made=made, added=True)


@router.get(PAGE + "/{endpoint_id}/{action}", response_class=HTMLResponse)
async def confirm_endpoint_action(
    endpoint_id: str, action: str, request: Request, service: ServiceDep
) -> Response:
    """Removing an endpoint cannot be undone, and a rotation starts the old secret's end."""
    session = _owner(request)
    if action not in ("remove", "rotate"):
        raise Refused(Refusal.WEBHOOK_NOT_FOUND)
    mine = {e.id: e for e in await service.webhooks.endpoints(session.account_id)}
    if endpoint_id not in mine:
        raise Refused(Refusal.WEBHOOK_NOT_FOUND)
    return render(
        request,
        "webhook_confirm.html",
        action=action,
        endpoint=mine[endpoint_id],
        overlap=service.settings.webhook_secret_overlap,
    )


@router.post(PAGE + "/{endpoint_id}/remove")
async def remove_endpoint(
    endpoint_id: str, request: Request, service: ServiceDep, csrf: Csrf
) -> Response:
    session = _owner(request, csrf)
    await service.webhooks.remove(session.account_id, endpoint_id)
    return RedirectResponse(f"{PAGE}?notice=removed", status_code=303)


@router.post(PAGE + "/{endpoint_id}/rotate", response_class=HTMLResponse)
async def rotate_secret(
    endpoint_id: str,
    request: Request,
    service: ServiceDep,
    csrf: Csrf,
    idempotency_key: IdempotencyKeyField = None,
) -> HTMLResponse:
    session = _owner(request, csrf)
    made = await service.webhooks.rotate(
        session.account_id, endpoint_id, idempotency_key=idempotency_key
    )
    return render(request, "webhook_secret.html", made=made, added=False)


@router.get(PAGE + "/events/{key}/resend", response_class=HTMLResponse)
async def confirm_resend(key: str, request: Request, service: ServiceDep) -> Response:
    session = _owner(request)
    delivery = await service.webhooks.delivery(session.account_id, key)
    return render(request, "webhook_confirm.html", action="resend", delivery=delivery)


@router.post(PAGE + "/events/{key}/resend")
async def resend_event(key: str, request: Request, service: ServiceDep, csrf: Csrf) -> Response:
    session = _owner(request, csrf)
    await service.webhooks.resend(session.account_id, key)
    return RedirectResponse(f"{PAGE}?notice=resent", status_code=303)
