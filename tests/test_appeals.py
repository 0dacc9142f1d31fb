"""Appeals (DESIGN rule 11, issue 17 acceptance 4): once per decision, within the window, decided
by another moderator, a reversal applied at once and everyone told."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

from delivery.links import Links, Purpose
from domain.enums import (
    Answer,
    AppealDecision,
    AppealStatus,
    Decision,
    Grounds,
    Restriction,
    Visibility,
)
from domain.refusals import Refusal, Refused
from starter.appeal_inputs import AppealBody, AppealDecisionBody
from starter.inputs import ContactRequestBody, DecisionBody, ReplyBody, ReportBody
from starter.service import ReportView
from store import appeals, statements
from store.records import Statement
from tests.conftest import Harness
from tests.web import as_, web_client

WHY = "I really stayed there in May; here is what happened to me."


async def _decided(h: Harness, decision: Decision, review: str = "organic") -> ReportView:
    """A review reported after a contact and decided by the first moderator: updates only, so it
    runs on either server."""
    w = h.world
    body = ContactRequestBody(message="We cannot find your booking.")
    contact = (await h.service.request_contact(w.business, w.review[review], body)).contact
    await h.service.answer(
        await h.reply_token(contact.id), Answer.REPLY, ReplyBody(message="It was in May.")
    )
    report = await h.service.report(
        w.business, contact.id, ReportBody(grounds=Grounds.INSUFFICIENT_INFORMATION)
    )
    return await h.service.decide(
        w.moderator, report.report.id, DecisionBody(decision=decision, note="Checked.")
    )


async def _removal_statement(h: Harness, report_id: str) -> Statement:
    async with h.db.read() as conn:
        found = await statements.statements_of_report(conn, report_id)
    [removal] = [s for s in found if s.restriction is Restriction.REMOVED and not s.appeal_id]
    return removal


async def _refused(call: Any) -> Refusal:
    try:
        await call
    except Refused as refused:
        return refused.reason
    raise AssertionError("not refused")


def _code(response: httpx.Response) -> str:
    return str(response.json()["error"]["code"])


async def test_reviewer_appeal_against_a_removal_granted_reinstates_the_review_at_once(
    live: Harness,
) -> None:
    h, w = live, live.world
    view = await _decided(h, Decision.UPHOLD)
    assert (await h.review(w.review["organic"])).visibility is Visibility.REMOVED
    statement = await _removal_statement(h, view.report.id)
    token = Links.of(h.settings).token(Purpose.APPEAL, statement.id)

    shown = await h.service.appeals.appeal_request_reviewer(token)
    assert shown.open and shown.appeal is None
    appeal = (await h.service.appeals.by_reviewer(token, AppealBody(statement=WHY))).appeal
    assert appeal.status is AppealStatus.PENDING and appeal.statement == WHY
    [receipt] = await h.messages("appeal.opened", "reviewer")
    assert receipt.to_address == w.reviewer_email and WHY not in receipt.body_text
    # Still removed until a second moderator decides.
    assert (await h.review(w.review["organic"])).visibility is Visibility.REMOVED

    # Once per decision, and only by whom it concerns.
    again = h.service.appeals.by_reviewer(token, AppealBody(statement="Again."))
    assert await _refused(again) is Refusal.ALREADY_APPEALED
    by_business = h.service.appeals.by_business(
        w.business, view.decision.id if view.decision else "", AppealBody(statement="No.")
    )
    assert await _refused(by_business) is Refusal.NOT_APPEALABLE

    async with web_client(h) as api:
        # The moderator who removed it may not decide the appeal.
        first = await api.post(
            f"/api/v1/appeals/{appeal.id}/decision",
            json={"decision": "grant", "note": "I was wrong."},
            headers=as_(w.keys[w.moderator]),
        )
        assert first.status_code == 409 and _code(first) == "same_moderator"
        listed = await api.get("/api/v1/appeals", headers=as_(w.keys[w.second_moderator]))
        assert appeal.id in [a["id"] for a in listed.json()]

        granted = await api.post(
            f"/api/v1/appeals/{appeal.id}/decision",
            json={"decision": "grant", "note": "The stay is confirmed."},
            headers=as_(w.keys[w.second_moderator]),
        )
        assert granted.status_code == 200, granted.text
        out = granted.json()
        assert (out["status"], out["decision"], out["moderator_id"]) == (
            "granted",
            "grant",
            w.second_moderator,
        )
        assert out["review_visibility"] == "visible"
        twice = await api.post(
            f"/api/v1/appeals/{appeal.id}/decision",
            json={"decision": "deny"},
            headers=as_(w.keys[w.second_moderator]),
        )
        assert twice.status_code == 409 and _code(twice) == "appeal_decided"

    assert (await h.review(w.review["organic"])).visibility is Visibility.VISIBLE
    [to_reviewer] = await h.messages("appeal.granted", "reviewer")
    [to_business] = await h.messages("appeal.granted", "business")
    assert "shown again" in to_reviewer.body_text
    for told in (to_reviewer, to_business):
        assert "final on Reviewdesk" in told.body_text and "article 21" in told.body_text
    assert not (await h.service.appeals.appeal_request_reviewer(token)).open


async def test_business_appeal_against_a_rejection_granted_removes_the_review(
    live: Harness,
) -> None:
    h, w = live, live.world
    view = await _decided(h, Decision.REJECT, "external")
    assert view.decision is not None
    path = f"/api/v1/decisions/{view.decision.id}/appeals"
    business = {**as_(w.keys[w.business]), "Idempotency-Key": "appeal-1"}
    async with web_client(h) as api:
        # The business finds the decision to appeal on its contact.
        assert view.contact is not None
        shown = await api.get(f"/api/v1/contacts/{view.contact.id}", headers=business)
        assert shown.json()["decision_id"] == view.decision.id
        others = await api.post(
            path, json={"statement": WHY}, headers=as_(w.keys[w.other_business])
        )
        assert others.status_code == 404 and _code(others) == "decision_not_found"
        sent = await api.post(path, json={"statement": WHY}, headers=business)
        assert sent.status_code == 201, sent.text
        appeal_id = sent.json()["id"]
        # The same request again is the same appeal; another one is a second appeal.
        retried = await api.post(path, json={"statement": WHY}, headers=business)
        assert retried.status_code == 201 and retried.json()["id"] == appeal_id
        second = await api.post(path, json={"statement": "Again"}, headers=as_(w.keys[w.business]))
        assert second.status_code == 409 and _code(second) == "already_appealed"
        assert len(await h.messages("appeal.opened", "business")) == 1

        granted = await api.post(
            f"/api/v1/appeals/{appeal_id}/decision",
            json={"decision": "grant", "note": "Not a genuine stay after all."},
            headers=as_(w.keys[w.second_moderator]),
        )
        assert granted.status_code == 200, granted.text
        assert granted.json()["review_visibility"] == "removed"

    assert (await h.review(w.review["external"])).visibility is Visibility.REMOVED
    async with h.db.read() as conn:
        made = await statements.statements_of_report(conn, view.report.id)
    [on_appeal] = [s for s in made if s.appeal_id == appeal_id]
    assert on_appeal.restriction is Restriction.REMOVED and on_appeal.appeal_until is None
    # The reviewer hears it once, as the statement; the business once.
    [statement_mail] = await h.messages("appeal.granted", "reviewer")
    assert statement_mail.subject_id == on_appeal.id
    assert len(await h.messages("appeal.granted", "business")) == 1


async def test_a_denied_appeal_leaves_the_decision_standing(live: Harness) -> None:
    h, w = live, live.world
    view = await _decided(h, Decision.REJECT, "organic2")
    assert view.decision is not None
    appeal = await h.service.appeals.by_business(
        w.business, view.decision.id, AppealBody(statement=WHY)
    )
    denied = await h.service.appeals.decide(
        w.second_moderator,
        appeal.appeal.id,
        AppealDecisionBody(decision=AppealDecision.DENY, note="It stands."),
    )
    assert denied.appeal.status is AppealStatus.DENIED
    assert (await h.review(w.review["organic2"])).visibility is Visibility.VISIBLE
    [told] = await h.messages("appeal.denied", "business")
    assert "confirmed the decision to keep the review" in told.body_text


async def test_an_appeal_after_the_window_is_refused_and_leaves_nothing(
    skipping: Harness,
) -> None:
    h, w = skipping, skipping.world
    view = await _decided(h, Decision.REJECT)
    assert view.decision is not None
    await h.env.sleep(h.settings.appeal_window + timedelta(days=1))
    for _ in range(2):  # a second try is refused for the same reason
        late = h.service.appeals.by_business(
            w.business, view.decision.id, AppealBody(statement=WHY)
        )
        assert await _refused(late) is Refusal.APPEAL_WINDOW_OVER
    async with h.db.read() as conn:
        assert await appeals.appeal_of_decision(conn, view.decision.id) is None
    assert await h.messages("appeal.opened", "business") == []


async def test_an_appeal_undecided_past_its_sla_is_escalated_once_and_still_decided(
    skipping: Harness,
) -> None:
    h, w = skipping, skipping.world
    view = await _decided(h, Decision.REJECT)
    assert view.decision is not None
    appeal = (
        await h.service.appeals.by_business(w.business, view.decision.id, AppealBody(statement=WHY))
    ).appeal
    await h.env.sleep(h.settings.appeal_sla + timedelta(minutes=1))
    [escalation] = await h.eventually(lambda: h.messages("appeal.escalated", "moderation"))
    assert escalation.to_address == h.settings.moderation_email
    assert (await h.service.appeals.get(appeal.id)).overdue
    await h.env.sleep(timedelta(days=3))
    assert len(await h.messages("appeal.escalated", "moderation")) == 1
    decided = await h.service.appeals.decide(
        w.second_moderator, appeal.id, AppealDecisionBody(decision=AppealDecision.GRANT)
    )
    assert decided.appeal.status is AppealStatus.GRANTED and decided.appeal.escalated_at
    assert (await h.review(w.review["organic"])).visibility is Visibility.REMOVED


async def test_notifier_appeal_against_a_rejection_granted_removes_the_review_and_tells_them(
    live: Harness,
) -> None:
    from tests.test_notices import _joined, _notice, _sent

    h, w = live, live.world
    async with web_client(h) as api:
        notice_id = await _sent(api, _notice(h, "organic2"))
        report = await _joined(h, notice_id)
        await h.service.decide(w.moderator, report.id, DecisionBody(decision=Decision.REJECT))
        token = Links.of(h.settings).token(Purpose.NOTICE, notice_id)
        page = await api.get(f"/notice/{token}")
        assert page.status_code == 200 and "decided to keep the review" in page.text
        assert 'name="statement"' in page.text and "once, free of charge" in page.text
        # A notice's report is not the business's to appeal.
        rejected = await h.service.report_view(report.id)
        assert rejected.decision is not None
        by_business = h.service.appeals.by_business(
            w.business, rejected.decision.id, AppealBody(statement="No.")
        )
        assert await _refused(by_business) is Refusal.NOT_APPEALABLE

        appeal = (await h.service.appeals.by_notifier(token, AppealBody(statement=WHY))).appeal
        [receipt] = await h.messages("appeal.opened", "notifier")
        assert receipt.to_address == "nora.notifier@public.example"
        await h.service.appeals.decide(
            w.second_moderator, appeal.id, AppealDecisionBody(decision=AppealDecision.GRANT)
        )
        assert (await h.review(w.review["organic2"])).visibility is Visibility.REMOVED
        [told] = await h.messages("appeal.granted", "notifier")
        assert told.subject_id == notice_id and told.link_purpose == Purpose.NOTICE
        assert "article 21" in told.body_text
        assert len(await h.messages("appeal.granted", "reviewer")) == 1  # the statement
        assert await h.messages("appeal.granted", "business") == []
        after = await api.get(f"/notice/{token}")
        assert "Granted" in after.text and 'name="statement"' not in after.text
