"""Notices from anyone (DESIGN rule 9, acceptance 2): over the API and the public form, the
confirmation of receipt, the report they open or join, and the decision with the redress."""

from __future__ import annotations

import re
from functools import partial
from typing import Any

import httpx

from delivery.links import MARK, Links, Purpose
from domain.enums import FlagReason, Priority, ReportSource, ReportStatus, Visibility
from store import history, notices, reports
from store.records import Notice, OutboxMessage, Report
from tests.conftest import Harness
from tests.web import as_, web_client

WHY = "It calls a named shop assistant a thief, which is defamation under the Criminal Code."


def _notice(h: Harness, review: str = "organic", **change: Any) -> dict[str, Any]:
    return {
        "review_id": h.world.review.get(review, review),
        "sub_reason": "defamation",
        "explanation": WHY,
        "name": "Nora Notifier",
        "email": "nora.notifier@public.example",
        "good_faith": True,
        **change,
    }


def _code(response: httpx.Response) -> str:
    return str(response.json()["error"]["code"])


async def _sent(api: httpx.AsyncClient, body: dict[str, Any], key: str | None = None) -> str:
    headers = {"Idempotency-Key": key} if key else {}
    response = await api.post("/api/v1/notices", json=body, headers=headers)
    assert response.status_code == 202, response.text
    answer: dict[str, Any] = response.json()
    return str(answer["notice_id"])


async def _joined(h: Harness, notice_id: str) -> Report:
    async def check() -> Report | None:
        async with h.db.read() as conn:
            notice = await notices.get_notice(conn, notice_id)
            if notice is None or notice.report_id is None:
                return None
            return await reports.get_report(conn, notice.report_id)

    found: Report = await h.eventually(check)
    # Before a moderator can decide: the report's workflow has opened it.
    await h.eventually(lambda: _opened(h, found.id))
    return found


async def _opened(h: Harness, report_id: str) -> bool:
    async with h.db.read() as conn:
        events = await history.history_of(conn, [report_id])
    return any(e.type == "opened" for e in events)


async def _mails(h: Harness, event: str, notice_id: str) -> list[OutboxMessage]:
    return [m for m in await h.messages(event, "notifier") if m.subject_id == notice_id]


async def _stored(h: Harness, notice_id: str) -> Notice:
    async with h.db.read() as conn:
        notice = await notices.get_notice(conn, notice_id)
    assert notice is not None
    return notice


async def test_anonymous_notice_is_confirmed_then_its_rejection_comes_with_the_redress(
    live: Harness,
) -> None:
    h, w = live, live.world
    async with web_client(h) as api:
        response = await api.post("/api/v1/notices", json=_notice(h))
        assert response.status_code == 202, response.text
        answer = response.json()
        notice_id = answer["notice_id"]
        # What happens next, and nothing of who sent it or what they wrote.
        assert answer["status"] == "received" and "moderator" in answer["next"]
        for personal in ("Nora", "nora.notifier", "defamation under"):
            assert personal not in response.text

        report = await _joined(h, notice_id)
        assert (report.reason, report.source) == (
            FlagReason.HARMFUL_OR_ILLEGAL,
            ReportSource.NOTICE,
        )
        assert report.priority is Priority.HIGH
        assert report.sla_deadline - report.opened_at == h.settings.harmful_sla
        # A harmful-or-illegal report leaves the review visible while it is handled.
        assert (await h.review(w.review["organic"])).visibility is Visibility.VISIBLE

        [receipt] = await h.eventually(lambda: _mails(h, "notice.received", notice_id))
        assert receipt.to_address == "nora.notifier@public.example"
        assert receipt.link_purpose == Purpose.NOTICE and MARK in receipt.body_text
        token = Links.of(h.settings).token(Purpose.NOTICE, notice_id)
        assert token not in receipt.body_text  # the outbox never holds the link
        assert f"/notice/{token}" in Links.of(h.settings).filled(receipt).body_text
        assert (await h.service.notices.by_token(token)).id == notice_id

        decided = await api.post(
            f"/api/v1/reports/{report.id}/decision",
            json={"decision": "reject", "note": "Criticism of service, not defamation."},
            headers=as_(w.keys[w.moderator]),
        )
        assert decided.status_code == 200, decided.text

    [decision] = await h.eventually(lambda: _mails(h, "report.rejected", notice_id))
    assert decision.to_address == "nora.notifier@public.example"
    assert decision.link_purpose == Purpose.NOTICE and MARK in decision.body_text
    decided_report = await _joined(h, notice_id)
    assert decided_report.status is ReportStatus.REJECTED and decided_report.decided_at
    until = decided_report.decided_at + h.settings.appeal_window
    assert "appeal this decision once, free of charge" in decision.body_text
    assert until.strftime("%d %B %Y, %H:%M UTC") in decision.body_text
    assert "article 21" in decision.body_text
    assert (await h.review(w.review["organic"])).visibility is Visibility.VISIBLE
    # The report was not the business's: it is not told, and nor is the reviewer, who never
    # knew of it and whose review stays as it was.
    assert await h.messages("report.rejected", "business") == []
    assert await h.messages("report.rejected", "reviewer") == []
    delivered = await h.all_delivered()
    assert [m.event_type for m in delivered if m.recipient_kind == "notifier"] == [
        "notice.received",
        "report.rejected",
    ]


async def test_a_second_notice_joins_the_pending_report_and_each_notifier_hears_the_uphold(
    live: Harness,
) -> None:
    h, w = live, live.world
    async with web_client(h) as api:
        first = await _sent(api, _notice(h, "organic2"))
        report = await _joined(h, first)
        second = await _sent(
            api, _notice(h, "organic2", email="sam.second@public.example", name="Sam Second")
        )
        assert (await _joined(h, second)).id == report.id
        async with h.db.read() as conn:
            pending = await reports.reports_with_status(conn, ReportStatus.PENDING, limit=200)
        assert [r.id for r in pending if r.review_id == w.review["organic2"]] == [report.id]

        decided = await api.post(
            f"/api/v1/reports/{report.id}/decision",
            json={"decision": "uphold", "note": "Names a person as a thief."},
            headers=as_(w.keys[w.moderator]),
        )
        assert decided.status_code == 200, decided.text

    assert (await h.review(w.review["organic2"])).visibility is Visibility.REMOVED
    for notice_id, address in (
        (first, "nora.notifier@public.example"),
        (second, "sam.second@public.example"),
    ):
        [told] = await h.eventually(partial(_mails, h, "report.upheld", notice_id))
        assert told.to_address == address
        assert "removed the review" in told.body_text
        assert len(await _mails(h, "notice.received", notice_id)) == 1
    await h.all_delivered()


async def test_notices_are_refused_with_their_reasons_and_leave_nothing_behind(
    live: Harness,
) -> None:
    h = live
    async with web_client(h) as api:
        cases = [
            (_notice(h, "rv_nope"), 404, "review_not_found"),
            (_notice(h, "removed"), 422, "review_not_visible"),
            (_notice(h, good_faith=False), 422, "invalid_input"),
            (_notice(h, email="not an address"), 422, "invalid_input"),
            (_notice(h, email="a@b.example\r\nBcc: x@y.example"), 422, "invalid_input"),
            (_notice(h, explanation="x" * 2001), 422, "invalid_input"),
            (_notice(h, explanation="short"), 422, "invalid_input"),
            (_notice(h, sub_reason="rudeness"), 422, "invalid_input"),
            ({**_notice(h), "extra": 1}, 422, "invalid_input"),
            ({k: v for k, v in _notice(h).items() if k != "name"}, 422, "invalid_input"),
        ]
        for body, status, code in cases:
            response = await api.post("/api/v1/notices", json=body)
            assert (response.status_code, _code(response)) == (status, code), body
            assert "nora.notifier" not in response.text
    async with h.db.read() as conn:
        rows = await conn.fetch_all("SELECT id FROM notices")
    assert rows == [] and await h.outbox() == []


async def test_a_notice_sent_again_with_its_idempotency_key_is_one_notice(live: Harness) -> None:
    h = live
    async with web_client(h) as api:
        first = await _sent(api, _notice(h), key="notice-key-1")
        again = await _sent(api, _notice(h), key="notice-key-1")
        # The same key from someone else is their own notice: keys are per sender.
        other = await _sent(
            api, _notice(h, email="other.person@public.example"), key="notice-key-1"
        )
    assert again == first and other != first
    await _joined(h, first)
    await h.eventually(lambda: _mails(h, "notice.received", other))
    assert len(await _mails(h, "notice.received", first)) == 1
    async with h.db.read() as conn:
        rows = await conn.fetch_all("SELECT id FROM notices")
    assert sorted(r["id"] for r in rows) == sorted([first, other])


async def test_the_public_form_sends_a_notice_from_the_business_page(live: Harness) -> None:
    h, w = live, live.world
    review_id = w.review["external"]
    async with web_client(h) as web:
        page = await web.get(f"/businesses/{w.business}")
        assert page.status_code == 200
        assert f'href="/reviews/{review_id}/notice"' in page.text
        assert "Report this review as illegal" in page.text

        form = await web.get(f"/reviews/{review_id}/notice")
        assert form.status_code == 200 and "Review external" in form.text
        assert "Threats or violence" in form.text  # sub-reasons in words, not codes
        csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert csrf is not None and web.cookies.get("rd_notice_csrf") == csrf.group(1)
        fields = {
            "csrf": csrf.group(1),
            "sub_reason": "hate_speech",
            "explanation": WHY,
            "name": "Nora Notifier",
            "email": "nora.form@public.example",
            "idempotency_key": "form-key-1",
        }

        forged = await web.post(
            f"/reviews/{review_id}/notice", data={**fields, "csrf": "forged", "good_faith": "yes"}
        )
        assert forged.status_code == 403
        unconfirmed = await web.post(f"/reviews/{review_id}/notice", data=fields)
        assert unconfirmed.status_code == 422 and "good faith" in unconfirmed.text.lower()
        assert "nora.form@public.example" in unconfirmed.text  # kept in the form to correct

        done = await web.post(f"/reviews/{review_id}/notice", data={**fields, "good_faith": "yes"})
        assert done.status_code == 200 and "Thank you" in done.text
        again = await web.post(f"/reviews/{review_id}/notice", data={**fields, "good_faith": "yes"})
        assert again.status_code == 200

        removed = await web.get(f"/reviews/{w.review['removed']}/notice")
        assert removed.status_code == 422

    [receipt] = await h.eventually(lambda: _by_address(h, "nora.form@public.example"))
    await h.all_delivered()
    # The form sent twice (a reload) is one notice: one confirmation.
    assert len(await _by_address(h, "nora.form@public.example")) == 1
    assert receipt.event_type == "notice.received"


async def _by_address(h: Harness, address: str) -> list[OutboxMessage]:
    return [m for m in await h.messages("notice.received", "notifier") if m.to_address == address]
