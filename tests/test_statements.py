"""Statements of reasons (DESIGN rule 10, acceptance 3): one for every hide and every removal,
emailed to the reviewer, and exported as DSA Transparency Database records that validate against
the schema the project keeps and hold no personal data."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest

from delivery.links import MARK, Links, Purpose
from domain.enums import (
    ContactStatus,
    Decision,
    Grounds,
    Restriction,
    SubReason,
    Visibility,
)
from starter.inputs import ContactRequestBody, DecisionBody, ReportBody
from starter.notice_inputs import NoticeBody
from store import history, notices, statements
from store.accounts import hash_secret
from store.errors import StoreUnavailable
from store.records import OutboxMessage, Statement
from tests.conftest import Harness
from tests.web import as_, web_client

SCHEMA = json.loads(
    (Path(__file__).parent.parent / "domain" / "dsa_statement.schema.json").read_text()
)
ASK = ContactRequestBody(message="We cannot find your booking; could you share its number?")
WHY = "It says the owner is a criminal who should be beaten up, which is a threat of violence."


async def _statements_of(h: Harness, review_id: str) -> list[Statement]:
    async with h.db.read() as conn:
        rows = await conn.fetch_all(
            "SELECT id FROM statements WHERE review_id = ? ORDER BY created_at", (review_id,)
        )
        found = [await statements.get_statement(conn, r["id"]) for r in rows]
    return [s for s in found if s is not None]


async def _to_reviewer(h: Harness, event: str) -> list[OutboxMessage]:
    return await h.messages(event, "reviewer")


async def _silent_and_reported(h: Harness, review: str) -> str:
    w = h.world
    contact = (await h.service.request_contact(w.business, w.review[review], ASK)).contact
    await h.env.sleep(timedelta(days=5, minutes=1))

    async def silent() -> bool:
        view = await h.service.contact_view(contact.id)
        return view.contact.status is ContactStatus.NO_RESPONSE

    await h.eventually(silent)
    report = await h.service.report(w.business, contact.id, ReportBody(grounds=Grounds.NO_RESPONSE))
    return report.report.id


async def _notified(h: Harness, review: str) -> str:
    """A notice about the review, once its report's workflow has opened the report."""
    receipt = await h.service.notices.submit(
        NoticeBody(
            review_id=h.world.review[review],
            sub_reason=SubReason.THREATS_OR_VIOLENCE,
            explanation=WHY,
            name="Nadia Notifier",
            email="nadia.notifier@public.example",
            good_faith=True,
        )
    )

    async def opened() -> str | None:
        async with h.db.read() as conn:
            notice = await notices.get_notice(conn, receipt.notice_id)
            if notice is None or notice.report_id is None:
                return None
            events = await history.history_of(conn, [notice.report_id])
        return notice.report_id if any(e.type == "opened" for e in events) else None

    report_id: str = await h.eventually(opened)
    return report_id


async def test_a_hide_and_a_removal_each_send_the_reviewer_exactly_one_statement(
    skipping: Harness,
) -> None:
    h, w = skipping, skipping.world
    review_id = w.review["organic"]
    report_id = await _silent_and_reported(h, "organic")
    assert (await h.review(review_id)).visibility is Visibility.HIDDEN
    [hidden_mail] = await h.eventually(lambda: _to_reviewer(h, "report.opened"))
    [hide] = await _statements_of(h, review_id)
    assert hide.restriction is Restriction.HIDDEN and hide.appeal_until is None
    assert hide.body["decision_visibility"] == ["DECISION_VISIBILITY_CONTENT_DISABLED"]
    assert hide.body["source_type"] == "SOURCE_VOLUNTARY"
    assert hide.body["category"] == "STATEMENT_CATEGORY_CONSUMER_INFORMATION"
    report = (await h.service.report_view(report_id)).report
    assert hide.body["end_date_visibility_restriction"] == f"{report.sla_deadline:%Y-%m-%d}"
    # The email is the statement: what, since when, until when, the facts, the ground, a person.
    assert hidden_mail.to_address == w.reviewer_email
    for said in (hide.id, hide.body["decision_facts"], "content guidelines", "a person"):
        assert said in hidden_mail.body_text

    decided = await h.service.decide(
        w.moderator, report_id, DecisionBody(decision=Decision.UPHOLD, note="No booking found.")
    )
    assert (await h.review(review_id)).visibility is Visibility.REMOVED
    [_, removal] = await _statements_of(h, review_id)
    assert removal.restriction is Restriction.REMOVED
    assert removal.decision_id == decided.report.decision_id
    assert removal.body["decision_visibility"] == ["DECISION_VISIBILITY_CONTENT_REMOVED"]
    assert removal.body["end_date_visibility_restriction"] is None
    decided_at = decided.report.decided_at
    assert decided_at is not None and removal.appeal_until == decided_at + h.settings.appeal_window

    [removed_mail] = await _to_reviewer(h, "report.upheld")
    assert removed_mail.subject_id == removal.id  # the appeal link's subject is the statement
    assert removed_mail.link_purpose == Purpose.APPEAL and MARK in removed_mail.body_text
    token = Links.of(h.settings).token(Purpose.APPEAL, removal.id)
    assert token not in removed_mail.body_text
    assert f"/appeal/{token}" in Links.of(h.settings).filled(removed_mail).body_text
    async with h.db.read() as conn:
        linked = await statements.statement_for_token_hash(conn, hash_secret(token))
    assert linked is not None and linked.id == removal.id
    assert f"{removal.appeal_until:%d %B %Y, %H:%M UTC}" in removed_mail.body_text

    await h.all_delivered()
    # Exactly one each, whatever was retried: two statements, two emails to the reviewer.
    assert len(await _statements_of(h, review_id)) == 2
    assert len(await _to_reviewer(h, "report.opened")) == 1
    assert len(await _to_reviewer(h, "report.upheld")) == 1


async def test_every_exported_statement_validates_and_holds_no_personal_data(
    skipping: Harness,
) -> None:
    h, w = skipping, skipping.world
    # A hide and a removal after a contact; a removal after a notice, on illegal content.
    contact_report = await _silent_and_reported(h, "organic")
    await h.service.decide(w.moderator, contact_report, DecisionBody(decision=Decision.UPHOLD))
    noticed = await _notified(h, "external")
    await h.service.decide(
        w.moderator,
        noticed,
        DecisionBody(
            decision=Decision.UPHOLD, note="A threat.", legal_ground="Criminal Code s. 241"
        ),
    )
    await h.all_delivered()

    async with web_client(h) as api:
        response = await api.get("/api/v1/statements", headers=as_(w.keys[w.moderator]))
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("application/x-ndjson")
        lines = [json.loads(line) for line in response.text.splitlines()]

        validator = jsonschema.Draft202012Validator(
            SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
        )
        for line in lines:
            validator.validate(line)
        assert len(lines) == 3 and len({line["puid"] for line in lines}) == 3
        hide, removal, illegal = lines  # in the order they were made
        assert hide["decision_visibility"] == ["DECISION_VISIBILITY_CONTENT_DISABLED"]
        assert removal["decision_ground"] == "DECISION_GROUND_INCOMPATIBLE_CONTENT"
        assert illegal["decision_ground"] == "DECISION_GROUND_ILLEGAL_CONTENT"
        assert illegal["illegal_content_legal_ground"] == "Criminal Code s. 241"
        assert illegal["source_type"] == "SOURCE_ARTICLE_16"
        assert illegal["category"] == "STATEMENT_CATEGORY_VIOLENCE"

        # No address, no name, nothing a person wrote: not the review, not the notice, not the
        # business's message, not the moderator's note.
        text = response.text
        review = await h.review(w.review["external"])
        business = await h.service.business(w.business)
        assert business is not None
        for personal in (
            w.reviewer_email,
            w.business_email,
            "nadia.notifier@public.example",
            "Nadia Notifier",
            "Robin R.",
            business.name,
            review.title,
            review.text,
            WHY,
            ASK.message,
            "A threat.",
            "@",
        ):
            assert personal not in text, personal

        # A period: from (included) to (excluded).
        everything = await api.get(
            "/api/v1/statements",
            params={"from": "2000-01-01T00:00:00Z", "to": "2999-01-01T00:00:00Z"},
            headers=as_(w.keys[w.moderator]),
        )
        assert everything.text == text
        none = await api.get(
            "/api/v1/statements",
            params={"to": "2001-01-01T00:00:00Z"},
            headers=as_(w.keys[w.moderator]),
        )
        assert (none.status_code, none.text) == (200, "")
        backwards = await api.get(
            "/api/v1/statements",
            params={"from": "2020-01-02T00:00:00Z", "to": "2020-01-01T00:00:00Z"},
            headers=as_(w.keys[w.moderator]),
        )
        assert backwards.status_code == 422


async def test_only_a_moderator_may_export_statements(skipping: Harness) -> None:
    h, w = skipping, skipping.world
    async with web_client(h) as api:
        anonymous = await api.get("/api/v1/statements")
        wrong = await api.get("/api/v1/statements", headers=as_("rd_mod_not-a-key"))
        business = await api.get("/api/v1/statements", headers=as_(w.keys[w.business]))
    assert [r.status_code for r in (anonymous, wrong, business)] == [401, 401, 403]
    assert _code(business) == "forbidden"


async def test_an_export_while_the_store_does_not_answer_is_a_503_not_a_cut_off_200(
    skipping: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    h, w = skipping, skipping.world

    async def unanswered(*_: Any) -> AsyncIterator[dict[str, Any]]:
        raise StoreUnavailable("store: timed out")
        yield {}  # an async generator, as the real export is

    monkeypatch.setattr(h.service.statements, "export", unanswered)
    async with web_client(h) as api:
        response = await api.get("/api/v1/statements", headers=as_(w.keys[w.moderator]))
    assert response.status_code == 503, response.text
    assert response.headers["Retry-After"] and _code(response)


def _code(response: httpx.Response) -> str:
    body: dict[str, Any] = response.json()
    return str(body["error"]["code"])
