"""The response policies page (DESIGN rule 20), ``/desk/policies``: the business's own policies in
the order they are tried, then the defaults, in words; the owner adds one (a form) and removes
one (after a confirmation page). Agents read the page without the forms.

A business keeps at most ``MAX_POLICIES`` policies, so the page shows them all at once.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from domain.refusals import Refusal, Refused
from starter.policies import MAX_POLICIES, MAX_TARGET_HOURS, PolicyIn
from starter.web.auth import ServiceDep, Session, check_session, member_id_of, session_of
from starter.web.idempotency import IdempotencyKeyField
from starter.web.pages import _signed_in, render
from starter.web.sign_in import to_sign_in
from store import members, policies

router = APIRouter(include_in_schema=False, dependencies=[Depends(check_session)])
PAGE = "/desk/policies"
Csrf = Annotated[str, Form(max_length=100)]
NOTICES = {
    "added": "The policy is added. It applies to reviews that arrive from now on.",
    "removed": "The policy is removed. Tickets already open keep their target.",
}
FIELDS = {
    "name": "Name",
    "ratings": "Stars",
    "target_hours": "Respond within",
    "position": "Place in the order",
}


def _is_owner(session: Session) -> bool:
    return member_id_of(session) == members.owner_id(session.account_id)


def _owner(request: Request, csrf: str | None = None, *, post: bool = False) -> Session:
    session = _signed_in(request, "business", csrf, post=post)
    if not _is_owner(session):
        raise Refused(Refusal.OWNER_ONLY)
    return session


@router.get(PAGE, response_class=HTMLResponse)
async def policies_page(request: Request, service: ServiceDep) -> Response:
    session = session_of(request)
    if session is None or session.role != "business":
        return to_sign_in(request)
    return await _page(request, service, session)


async def _page(
    request: Request,
    service: ServiceDep,
    session: Session,
    *,
    status_code: int = 200,
    error: str | None = None,
) -> HTMLResponse:
    listed = await service.policies.of(session.account_id)
    return render(
        request,
        "policies.html",
        status_code,
        listed=listed,
        owner=_is_owner(session),
        full=len(listed.policies) >= MAX_POLICIES,
        most=MAX_POLICIES,
        notice=NOTICES.get(request.query_params.get("notice", "")),
        error=error,
    )


def _problem(err: ValidationError) -> str:
    """The first problem, named as the form names the field."""
    first = err.errors()[0]
    field = str(first["loc"][0]) if first["loc"] else ""
    message = str(first["msg"])
    if field == "ratings":
        message = "tick at least one"
    elif field == "target_hours":
        message = f"between 1 hour and {MAX_TARGET_HOURS // 24} days"
    return f"{FIELDS.get(field, field)}: {message}" if field else message


@router.post(PAGE, response_class=HTMLResponse)
async def add_policy(
    request: Request,
    service: ServiceDep,
    csrf: Csrf,
    name: Annotated[str, Form(max_length=200)] = "",
    ratings: Annotated[list[int] | None, Form(max_length=5)] = None,
    target: Annotated[int, Form(ge=0, le=100_000)] = 0,
    unit: Annotated[Literal["hours", "days"], Form()] = "days",
    position: Annotated[str, Form(max_length=10)] = "end",
    idempotency_key: IdempotencyKeyField = None,
) -> Response:
    session = _owner(request, csrf, post=True)
    try:
        body = PolicyIn(
            name=name,
            ratings=ratings or [],
            target_hours=target * 24 if unit == "days" else target,
            position=None if position == "end" else int(position) if position.isdigit() else -1,
        )
        await service.policies.add(session.account_id, body, idempotency_key=idempotency_key)
    except ValidationError as err:
        return await _page(request, service, session, status_code=422, error=_problem(err))
    except Refused as refused:
        if refused.reason is not Refusal.POLICY_LIMIT_REACHED:
            raise
        return await _page(
            request, service, session, status_code=refused.reason.http_status, error=refused.message
        )
    return RedirectResponse(f"{PAGE}?notice=added", status_code=303)


@router.get(PAGE + "/{policy_id}/remove", response_class=HTMLResponse)
async def confirm_remove(policy_id: str, request: Request, service: ServiceDep) -> Response:
    """Removing cannot be undone: the page asks first."""
    session = _owner(request)
    policy = await service.policies.policy(session.account_id, policy_id)
    return render(request, "policy_remove.html", policy=policy)


@router.post(PAGE + "/{policy_id}/remove")
async def remove_policy(
    policy_id: str, request: Request, service: ServiceDep, csrf: Csrf
) -> Response:
    session = _owner(request, csrf, post=True)
    try:
        await service.policies.remove(session.account_id, policy_id)
    except Refused as refused:
        # The form sent twice (a double click, a reload): the first removed it, and the second
        # lands where the first did rather than on a "not found" page.
        async with service.db.read() as conn:
            removed = await policies.was_removed(conn, session.account_id, policy_id)
        if refused.reason is not Refusal.POLICY_NOT_FOUND or not removed:
            raise
    return RedirectResponse(f"{PAGE}?notice=removed", status_code=303)
