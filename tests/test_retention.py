"""What people wrote is purged `retention` after its case ended; events and decisions stay."""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx
import pytest

from domain.enums import Answer, ContactStatus
from domain.refusals import Refused
from starter.inputs import ContactRequestBody
from starter.retention import purge_due
from starter.web.schemas import ContactOut
from store import contacts, history, outbox, reports
from store.records import Event, OutboxMessage
from tests import flows
from tests.conftest import Harness
from tests.web import as_, web_client

CLOSED_MESSAGE = "Closed case: which table were you at?"
OPEN_MESSAGE = "Open case: do you still have the receipt?"
REFUSED_MESSAGE = "Refused request: hello there"
REMOVED = "removed after the retention period"


async def _case(h: Harness, contact_id: str) -> tuple[list[Event], list[OutboxMessage]]:
    async with h.db.read() as conn:
        contact = await contacts.get_contact(conn, contact_id)
        assert contact is not None
        subjects = [contact_id, contact.report_id or ""]
        return await history.history_of(conn, subjects), await outbox.messages_about(conn, subjects)


def _purged(messages: list[OutboxMessage]) -> bool:
    return all(
        m.purged_at is not None
        and m.body_text == ""
        and (m.to_address == "" if m.channel == "email" else True)
        for m in messages
    )


async def test_a_case_ended_retention_ago_is_purged_one_ended_since_is_not_an_open_one_never(
    skipping: Harness,
) -> None:
    h, w = skipping, skipping.world
    retention = h.settings.retention
    # Closed: the reviewer declines, the business closes without reporting.
    closed = (
        await h.service.request_contact(
            w.business, w.review["organic2"], ContactRequestBody(message=CLOSED_MESSAGE)
        )
    ).contact
    await h.service.answer(await h.reply_token(closed.id), Answer.DECLINE)
    await h.service.close(w.business, closed.id)
    with pytest.raises(Refused):
        await h.service.request_contact(
            w.business, w.review["platform"], ContactRequestBody(message=REFUSED_MESSAGE)
        )
    # Ten days later: replied, reported and decided (a note kept with the decision).
    await h.env.sleep(timedelta(days=10))
    decided = await flows.replied_then_rejected(h)
    # And one still waiting for its reviewer.
    waiting = (
        await h.service.request_contact(
            w.business, w.review["external"], ContactRequestBody(message=OPEN_MESSAGE)
        )
    ).contact

    async with h.db.read() as conn:
        closed_at = (await contacts.get_contact(conn, closed.id)).closed_at  # type: ignore[union-attr]
        report = await reports.get_report(conn, decided.report_id)
    assert closed_at is not None and report is not None and report.decided_at is not None
    decided_at: datetime = report.decided_at
    assert decided_at - closed_at > timedelta(days=9)
    before = {c: await _case(h, c) for c in (closed.id, decided.contact_id, waiting.id)}

    # A day short of `retention` after the decision: only the case closed ten days earlier.
    purged = await purge_due(h.db, h.settings, at=decided_at + retention - timedelta(days=1))
    assert (purged.requests, purged.answers) == (2, 1)  # the closed one's and the refused one's
    async with h.db.read() as conn:
        gone = await contacts.get_contact(conn, closed.id)
        kept = await contacts.get_contact(conn, decided.contact_id)
        refused = [
            r
            for r in await conn.execute_fetchall("SELECT message, purged_at FROM contact_requests")
            if r[1] is not None
        ]
    assert gone is not None and gone.message == "" and gone.purged_at is not None
    assert kept is not None and kept.message == flows.BUSINESS_MESSAGE and kept.purged_at is None
    assert sorted(r[0] for r in refused) == ["", ""]
    events, messages = await _case(h, closed.id)
    assert events == before[closed.id][0] and _purged(messages)
    assert [m.key for m in messages] == [m.key for m in before[closed.id][1]]
    _, decided_messages = await _case(h, decided.contact_id)
    assert decided_messages == before[decided.contact_id][1]

    # A day past `retention` after the decision: that case too, its decision and note kept.
    purged = await purge_due(h.db, h.settings, at=decided_at + retention + timedelta(days=1))
    assert (purged.requests, purged.answers) == (1, 1) and purged.messages > 0
    view = await h.service.report_view(decided.report_id)
    assert view.decision is not None and view.decision.note == flows.MODERATOR_NOTE
    assert view.report == report
    events, messages = await _case(h, decided.contact_id)
    assert events == before[decided.contact_id][0] and _purged(messages)
    shown = ContactOut.of(await h.service.contact_view(decided.contact_id))
    assert shown.message is None and shown.purged_at is not None and shown.reply is not None
    assert (shown.reply.order_reference, shown.reply.contact_details, shown.reply.message) == (
        None,
        None,
        None,
    )

    # However late, a case still open keeps everything; and a purge run again finds nothing.
    purged = await purge_due(h.db, h.settings, at=decided_at + 20 * retention)
    assert purged.total == 0
    async with h.db.read() as conn:
        still = await contacts.get_contact(conn, waiting.id)
    assert still is not None and still.status is ContactStatus.AWAITING_REPLY
    assert still.message == OPEN_MESSAGE and still.purged_at is None
    assert await _case(h, waiting.id) == before[waiting.id]

    # What the business reads says the text was removed, and shows none of it.
    async with web_client(h) as api:
        got = await api.get(
            f"/api/v1/contacts/{decided.contact_id}", headers=as_(w.keys[w.business])
        )
        assert got.status_code == 200 and got.json()["message"] is None
        page = await _signed_in_page(api, w.keys[w.business], decided.contact_id)
    assert page.status_code == 200 and REMOVED in page.text
    for text in (flows.BUSINESS_MESSAGE, flows.SHARED_ORDER, flows.SHARED_MESSAGE):
        assert text not in page.text


async def _signed_in_page(api: httpx.AsyncClient, key: str, contact_id: str) -> httpx.Response:
    await api.get("/login")
    signed = await api.post("/login", data={"api_key": key, "csrf": api.cookies["rd_login_csrf"]})
    assert signed.status_code == 303
    return await api.get(f"/dashboard/contacts/{contact_id}")
