"""The pages of the misuse guard (DESIGN rule 12): the business's standing, every step in words,
and the moderators' view of the ladder (each business or notifier once, with its steps in force),
where a step in force is lifted early with a note.

The banner on every business page is added where pages are composed (``pages.render``, read by
``auth.check_session``); the public "Consumer warning" is on the business's public page.
A lift cannot be undone: the form comes back first as a confirmation, and only a confirmed one
is sent.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from domain.enums import StandingSubject
from domain.refusals import Refusal, Refused
from starter.standing import LIFT_NOTE_MAX, LadderRow, ladder_row
from starter.web.auth import ServiceDep, check_session, session_of
from starter.web.idempotency import IdempotencyKeyField
from starter.web.pages import PageNumber, _signed_in, render
from starter.web.reads import PAGE, Paging
from store import directory, standing

router = APIRouter(include_in_schema=False, dependencies=[Depends(check_session)])

Note = Annotated[str, Form(max_length=LIFT_NOTE_MAX)]
Confirmed = Annotated[str, Form(max_length=10)]
NOTICES = {"lifted": "The step is lifted: it no longer applies, and your note is on its record."}


# --- business ----------------------------------------------------------------------------------


@router.get("/dashboard/standing", response_class=HTMLResponse)
async def business_standing(request: Request, service: ServiceDep) -> Response:
    session = session_of(request)
    if session is None or session.role != "business":
        return RedirectResponse("/login", status_code=303)
    view = await service.standing.of_business(session.account_id)
    return render(request, "standing.html", view=view, rules=service.settings)


# --- moderator ---------------------------------------------------------------------------------


@router.get("/moderation/standing", response_class=HTMLResponse)
async def ladder(request: Request, service: ServiceDep, page: PageNumber = 1) -> Response:
    session = session_of(request)
    if session is None or session.role != "moderator":
        return RedirectResponse("/login", status_code=303)
    rows = await service.standing.on_ladder(page=page, per_page=PAGE)
    has_next = False
    if len(rows) == PAGE:
        # A page of one at the offset where the next page begins: is there anything after?
        has_next = bool(await service.standing.on_ladder(page=page * PAGE + 1, per_page=1))
    notice = NOTICES.get(request.query_params.get("notice", ""))
    return render(
        request,
        "standing_ladder.html",
        rows=rows,
        paging=Paging(page, has_next=has_next),
        notice=notice,
        rules=service.settings,
    )


async def _row(service: ServiceDep, step_id: str) -> LadderRow:
    """The step with who it is about; a notifier is never named, and neither is their address."""
    async with service.db.read() as conn:
        step = await standing.get_step(conn, step_id)
        if step is None:
            raise Refused(Refusal.STANDING_STEP_NOT_FOUND)
        names = {}
        if step.subject_kind is StandingSubject.BUSINESS:
            names = await directory.business_names(conn, [step.subject_id])
    return ladder_row([step], names)


@router.post("/moderation/standing/{step_id}/lift", response_class=HTMLResponse)
async def lift(
    step_id: str,
    request: Request,
    service: ServiceDep,
    csrf: Annotated[str, Form(max_length=100)],
    note: Note = "",
    confirmed: Confirmed = "",
    idempotency_key: IdempotencyKeyField = None,
) -> Response:
    """The note, then its confirmation, then the lift; an empty note changes nothing."""
    session = _signed_in(request, "moderator", csrf, post=True)
    row = await _row(service, step_id)
    step, note = row.steps[0], note.strip()
    context: dict[str, Any] = {"row": row, "step": step, "note": note, "rules": service.settings}
    if not note:
        problem = "Write a note saying why the step is lifted early: it stays on the record."
        return render(request, "standing_lift.html", 422, error=problem, **context)
    if confirmed != "yes":
        if not step.in_force:
            raise Refused(Refusal.NOTHING_TO_LIFT)
        return render(request, "standing_lift.html", confirm=True, **context)
    # The form's key makes a resend (a double click, a retry after a 503) the first lift; any
    # other lift of a step that ended already is refused (`nothing_to_lift`).
    await service.standing.lift(
        session.account_id,
        step.subject_kind,
        step.subject_id,
        note,
        step_id=step.id,
        idempotency_key=idempotency_key,
    )
    return RedirectResponse("/moderation/standing?notice=lifted", status_code=303)
