"""What a first run found on the pages (issue 15, point 10): an empty reply refused everywhere,
a contact's own page for its business only, and irreversible steps that are asked for twice."""

from __future__ import annotations

import re

import pytest
from pydantic import ValidationError

from domain.enums import Answer, ContactStatus, Grounds, Visibility
from starter.inputs import EMPTY_REPLY, ContactRequestBody, ReplyBody, ReportBody
from starter.web.words import say
from tests.conftest import Harness
from tests.flows import MODERATOR_NOTE, replied_then_rejected
from tests.web import sign_in, web_client


def test_a_reply_must_share_something_and_blank_fields_do_not_count() -> None:
    for blank in ({}, {"order_reference": "", "contact_details": "  ", "message": "\n\t"}):
        with pytest.raises(ValidationError, match="Fill in at least one field"):
            ReplyBody.model_validate(blank)
    assert ReplyBody(contact_details=" 0123 ").contact_details == "0123"


async def test_an_empty_reply_is_refused_on_the_page_and_by_the_service_and_the_link_stays(
    live: Harness,
) -> None:
    h, w = live, live.world
    contact = (
        await h.service.request_contact(
            w.business, w.review["organic"], ContactRequestBody(message="Which order?")
        )
    ).contact
    token = await h.reply_token(contact.id)
    # The service (and so the CLI, which calls it) refuses a reply with nothing in it.
    with pytest.raises(ValidationError, match="Fill in at least one field"):
        await h.service.answer(token, Answer.REPLY)
    async with web_client(h) as api:
        blank = {"action": "reply", "order_reference": "", "contact_details": " ", "message": ""}
        refused = await api.post(f"/reply/{token}", data=blank)
        assert refused.status_code == 422
        assert EMPTY_REPLY in refused.text.replace("&#39;", "'")
        # What was typed (too long for its field here) stays in the form for the next try.
        kept = await api.post(
            f"/reply/{token}", data={**blank, "order_reference": "HB-1", "message": "x" * 2001}
        )
        assert kept.status_code == 422 and 'value="HB-1"' in kept.text
        # Nothing was used up: the link still asks, and a real reply goes through.
        assert (await api.get(f"/reply/{token}")).status_code == 200
        view = await h.service.contact_view(contact.id)
        assert view.answer is None and view.contact.status is ContactStatus.AWAITING_REPLY
        sent = await api.post(f"/reply/{token}", data={**blank, "message": "Bought in May"})
        assert sent.status_code == 200
    replied = await h.service.contact_view(contact.id)
    assert replied.answer is not None and replied.answer.message == "Bought in May"


async def test_a_contacts_own_page_is_for_its_business_only(live: Harness) -> None:
    h, w = live, live.world
    journey = await replied_then_rejected(h)
    async with web_client(h) as api:
        assert (await api.get(f"/dashboard/contacts/{journey.contact_id}")).status_code == 401
        await sign_in(api, w.keys[w.business])
        page = await api.get(f"/dashboard/contacts/{journey.contact_id}")
        assert page.status_code == 200
        text = page.text.replace("&#39;", "'")
        assert "Contact about “Review organic”" in text and "by Robin R." in text
        assert "Rejected: the review is visible again" in text
        assert MODERATOR_NOTE in text
        assert "A moderator rejected the report" in text and "The reviewer replied" in text
        # Codes and ids are for the API; the page speaks in words.
        assert "request_sent" not in text and "report.rejected" not in text
        assert w.reviewer_email not in text
        # Linked from the dashboard's list.
        board = (await api.get("/dashboard")).text
        assert f'href="/dashboard/contacts/{journey.contact_id}"' in board
    async with web_client(h) as api:
        await sign_in(api, w.keys[w.other_business])
        for path in ("", "/report", "/close"):
            other = await api.get(f"/dashboard/contacts/{journey.contact_id}{path}")
            assert other.status_code == 404 and "Review organic" not in other.text


async def test_report_close_and_decisions_are_asked_for_on_a_page_that_changes_nothing(
    live: Harness,
) -> None:
    h, w = live, live.world
    contact = (
        await h.service.request_contact(
            w.business, w.review["organic"], ContactRequestBody(message="Which order?")
        )
    ).contact
    async with web_client(h) as api:
        await sign_in(api, w.keys[w.business])
        # While the reviewer may still answer, a report is not offered: the page says why.
        early = await api.get(f"/dashboard/contacts/{contact.id}/report")
        assert early.status_code == 409 and "still has time to reply" in early.text
        asked = await api.get(f"/dashboard/contacts/{contact.id}/close")
        assert asked.status_code == 200 and "Close this contact without reporting?" in asked.text
        assert re.search(r'name="idempotency_key" value="[^"]+"', asked.text)
        assert (await h.service.contact_view(contact.id)).contact.status.is_open

        await h.service.answer(await h.reply_token(contact.id), Answer.DECLINE)
        confirm = await api.get(f"/dashboard/contacts/{contact.id}/report")
        assert confirm.status_code == 200 and "The review will be hidden at once" in confirm.text
        assert 'name="grounds" value="no_response"' in confirm.text
        assert (await h.review(w.review["organic"])).visibility is Visibility.VISIBLE

    report = await h.service.report(w.business, contact.id, ReportBody(grounds=Grounds.NO_RESPONSE))
    async with web_client(h) as api:
        await sign_in(api, w.keys[w.moderator])
        queue = (await api.get("/moderation")).text
        decide = f"/moderation/reports/{report.report.id}/decide?decision=uphold"
        assert f'href="{decide}"' in queue
        page = await api.get(decide)
        assert page.status_code == 200 and "The review will be removed" in page.text
        assert (await h.service.report_view(report.report.id)).decision is None
        assert (await api.get("/moderation?show=decided")).text.count("data-report=") == 0


def test_every_state_has_its_own_words_even_where_two_codes_share_a_name() -> None:
    # ContactStatus.NO_RESPONSE and Grounds.NO_RESPONSE are both "no_response": a contact with
    # no answer must not read like the report grounds.
    assert say(ContactStatus.NO_RESPONSE) == "No answer from the reviewer"
    assert say(Grounds.NO_RESPONSE).startswith("No response: the reviewer declined")
    for member in [*ContactStatus, *Grounds]:
        assert say(member) and "_" not in say(member)
