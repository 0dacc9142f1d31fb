"""The macros page (DESIGN rule 18), ``/desk/macros``: the business's reply templates by title,
each with who added it; a form to add one; and removal, after a confirmation page, for the owner
or whoever added the macro. Every form carries the session's CSRF token, and the add form a
fresh Idempotency-Key, so a form sent twice adds one macro.

The ticket page applies a macro (``service.macros.render``); this page only keeps them.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from domain.refusals import Refusal, Refused
from starter.desk_inputs import in_words
from starter.macros import MAX_MACROS, NOT_YOURS
from starter.reply_inputs import MACRO_TITLE_MAX, MACRO_WORDS, MacroIn
from starter.web.auth import ServiceDep, check_session
from starter.web.desk_pages import FORM_MAX, Csrf, _member
from starter.web.idempotency import IdempotencyKeyField
from starter.web.pages import PageNumber, render
from starter.web.reads import Paging
from store import macros as stored
from store.records import Macro, Member

router = APIRouter(include_in_schema=False, dependencies=[Depends(check_session)])
PAGE = "/desk/macros"
# Macros are long texts: a short page of them reads on a phone.
PER_PAGE = 20
NOTICES = {
    "added": "The macro is added. Pick it on a ticket to start a reply.",
    "removed": "The macro is removed: it is no longer offered.",
}


def may_remove(member: Member, macro: Macro) -> bool:
    return member.is_owner or macro.created_by == member.id


async def _page(
    request: Request,
    service: ServiceDep,
    me: Member,
    *,
    number: int = 1,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    found = await service.macros.macros_of(me.business_id)
    shown = found[(number - 1) * PER_PAGE : number * PER_PAGE]
    context.setdefault("form", {"title": "", "body": ""})
    return render(
        request,
        "desk_macros.html",
        status_code,
        me=me,
        macros=shown,
        count=len(found),
        names=await service.macros.authors(shown),
        may_remove=lambda m: may_remove(me, m),
        full=len(found) >= MAX_MACROS,
        most=MAX_MACROS,
        title_max=MACRO_TITLE_MAX,
        paging=Paging(number, has_next=len(found) > number * PER_PAGE),
        notice=NOTICES.get(request.query_params.get("notice", "")),
        **context,
    )


@router.get(PAGE, response_class=HTMLResponse)
async def macros_page(request: Request, service: ServiceDep, page: PageNumber = 1) -> Response:
    me = await _member(request, service)
    return await _page(request, service, me, number=page)


@router.post(PAGE, response_class=HTMLResponse)
async def add_macro(
    request: Request,
    service: ServiceDep,
    csrf: Csrf,
    title: Annotated[str, Form(max_length=FORM_MAX)] = "",
    body: Annotated[str, Form(max_length=FORM_MAX)] = "",
    idempotency_key: IdempotencyKeyField = None,
) -> Response:
    me = await _member(request, service, csrf)
    form = {"title": title, "body": body}
    try:
        macro = MacroIn(title=title, body=body)
        await service.macros.add(me.business_id, me, macro, idempotency_key=idempotency_key)
    except ValidationError as err:
        problem = in_words(err, MACRO_WORDS)
        return await _page(request, service, me, status_code=422, error=problem, form=form)
    except Refused as refused:
        if refused.reason is not Refusal.MACRO_LIMIT_REACHED:
            raise
        status = refused.reason.http_status
        return await _page(
            request, service, me, status_code=status, error=refused.message, form=form
        )
    return RedirectResponse(f"{PAGE}?notice=added", status_code=303)


@router.get(PAGE + "/{macro_id}/remove", response_class=HTMLResponse)
async def confirm_remove(macro_id: str, request: Request, service: ServiceDep) -> Response:
    """Removing cannot be undone: the page asks first."""
    me = await _member(request, service)
    macro = await service.macros.macro(me.business_id, macro_id)
    if not may_remove(me, macro):
        raise Refused(Refusal.OWNER_ONLY, NOT_YOURS)
    names = await service.macros.authors([macro])
    return render(request, "desk_macro_remove.html", macro=macro, names=names)


@router.post(PAGE + "/{macro_id}/remove")
async def remove_macro(
    macro_id: str, request: Request, service: ServiceDep, csrf: Csrf
) -> Response:
    me = await _member(request, service, csrf)
    try:
        await service.macros.remove(me.business_id, me, macro_id)
    except Refused as refused:
        # The form sent twice (a double click, a reload): the first removed it, and the second
        # lands where the first did rather than on a "not found" page.
        async with service.db.read() as conn:
            removed = await stored.was_removed(conn, me.business_id, macro_id)
        if refused.reason is not Refusal.MACRO_NOT_FOUND or not removed:
            raise
    return RedirectResponse(f"{PAGE}?notice=removed", status_code=303)
