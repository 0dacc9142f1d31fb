"""Flags for every reason, end to end under the time-skipping server (issue 17, acceptance 1)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

from delivery.links import Links, Purpose
from domain import flag_workflow_id
from domain.enums import (
    Decision,
    FlagReason,
    FlagStatus,
    Priority,
    ReportSource,
    ReportStatus,
    ReviewerAction,
    SubReason,
    Visibility,
)
from domain.refusals import Refusal, Refused
from starter.flag_inputs import FlagBody, ReviewEditBody
from starter.flags import FlagView
from starter.inputs import DecisionBody
from tests.conftest import Harness
from tests.web import as_, web_client

EXPLANATION = "The review names our employee and her home street."
PERSONAL = FlagBody(reason=FlagReason.PERSONAL_INFORMATION, explanation=EXPLANATION)
HARMFUL = FlagBody(
    reason=FlagReason.HARMFUL_OR_ILLEGAL,
    sub_reason=SubReason.THREATS_OR_VIOLENCE,
    explanation="It threatens our staff.",
)


def _token(h: Harness, flag_id: str) -> str:
    return Links.of(h.settings).token(Purpose.FLAG, flag_id)


async def _flag_now(h: Harness, flag_id: str) -> FlagView:
    return await h.service.flags.flag_of(h.world.business, flag_id)


async def _status_is(h: Harness, flag_id: str, status: FlagStatus) -> bool:
    return (await _flag_now(h, flag_id)).flag.status is status


async def _refused(call: Any) -> Refusal:
    try:
        await call
    except Refused as refused:
        return refused.reason
    raise AssertionError("not refused")


async def _flagged(h: Harness, review: str = "organic", body: FlagBody = PERSONAL) -> FlagView:
    view = await h.service.flags.flag(h.world.business, h.world.review[review], body)
    return view


async def test_reviewer_edits_then_the_business_drops_the_flag(skipping: Harness) -> None:
    h, w = skipping, skipping.world
    view = await _flagged(h)
    flag = view.flag
    assert flag.status is FlagStatus.AWAITING_REVIEWER
    assert flag.reviewer_deadline is not None
    assert flag.reviewer_deadline - flag.opened_at - timedelta(days=3) < timedelta(minutes=1)
    [asked] = await h.messages("flag.reviewer_asked", "reviewer")
    assert asked.to_address == w.reviewer_email
    assert asked.link_purpose == Purpose.FLAG and asked.subject_id == flag.id
    assert EXPLANATION not in asked.body_text  # the link's page shows it, behind the token
    assert len(await h.messages("flag.opened", "business")) == 1
    assert (await h.review(w.review["organic"])).visibility is Visibility.VISIBLE

    # Only the reviewer's link edits: the business cannot act while the reviewer has time.
    assert await _refused(h.service.flags.drop(w.business, flag.id)) is Refusal.REVIEWER_STEP_OPEN

    token = _token(h, flag.id)
    shown = await h.service.flags.flag_request(token)
    assert shown.open and shown.flag.explanation == EXPLANATION
    await h.service.flags.act(token, ReviewerAction.EDIT, ReviewEditBody(text="A fine visit."))
    edited = await h.review(w.review["organic"])
    assert (edited.title, edited.text) == ("Review organic", "A fine visit.")
    assert edited.visibility is Visibility.VISIBLE
    assert (await _flag_now(h, flag.id)).flag.status is FlagStatus.AWAITING_BUSINESS
    assert len(await h.messages("flag.reviewer_edited", "business")) == 1
    # The link is used up.
    again = h.service.flags.act(token, ReviewerAction.WITHDRAW)
    assert await _refused(again) is Refusal.WINDOW_CLOSED

    dropped = await h.service.flags.drop(w.business, flag.id)
    assert dropped.flag.status is FlagStatus.DROPPED and dropped.report is None
    assert len(await h.messages("flag.dropped", "business")) == 1
    assert (await h.review(w.review["organic"])).visibility is Visibility.VISIBLE
    assert await _refused(h.service.flags.escalate(w.business, flag.id)) is Refusal.FLAG_CLOSED
    history = [e.type for e in dropped.history]
    assert history == ["reviewer_asked", "edited", "dropped"]


async def test_reviewer_edits_then_the_business_escalates_and_the_review_stays_visible(
    skipping: Harness,
) -> None:
    h, w = skipping, skipping.world
    flag = (await _flagged(h, "external")).flag
    await h.service.flags.act(
        _token(h, flag.id), ReviewerAction.EDIT, ReviewEditBody(title="Edited title")
    )
    escalated = await h.service.flags.escalate(w.business, flag.id)
    assert escalated.flag.status is FlagStatus.ESCALATED
    report = escalated.report
    assert report is not None and report.status is ReportStatus.PENDING
    assert (report.source, report.reason, report.flag_id) == (
        ReportSource.FLAG,
        FlagReason.PERSONAL_INFORMATION,
        flag.id,
    )
    assert report.priority is Priority.NORMAL
    assert report.sla_deadline - report.opened_at == h.settings.moderation_sla
    assert (await h.review(w.review["external"])).visibility is Visibility.VISIBLE
    assert len(await h.messages("flag.escalated", "business")) == 1
    # In the moderators' queue; its workflow waits for them and the review is never hidden.
    assert report.id in [r.id for r in await h.service.reports()]
    await h.eventually(
        lambda: _has_event(h, report.id, "opened"),
    )
    assert (await h.review(w.review["external"])).visibility is Visibility.VISIBLE
    assert await h.messages("report.opened", "reviewer") == []

    # The flag's history carries ids and enums: no explanation, edit, address or token.
    handle = h.client.get_workflow_handle(flag_workflow_id(flag.id))
    await handle.result()
    raw = b"".join(e.SerializeToString() for e in (await handle.fetch_history()).events)
    assert flag.id.encode() in raw and report.id.encode() in raw
    for secret in (EXPLANATION, "Edited title", w.reviewer_email, _token(h, flag.id)):
        assert secret.encode() not in raw, secret


async def _has_event(h: Harness, report_id: str, event: str) -> bool:
    view = await h.service.report_view(report_id)
    return event in [e.type for e in view.history]


async def test_reviewer_withdraws_and_the_review_is_removed_the_business_told_once(
    skipping: Harness,
) -> None:
    h, w = skipping, skipping.world
    flag = (
        await _flagged(h, body=FlagBody(reason=FlagReason.WRONG_BUSINESS, explanation="x"))
    ).flag
    await h.service.flags.act(_token(h, flag.id), ReviewerAction.WITHDRAW)
    review = await h.review(w.review["organic"])
    assert review.visibility is Visibility.REMOVED
    assert review.text == "Text of organic"  # kept, never deleted
    view = await _flag_now(h, flag.id)
    assert view.flag.status is FlagStatus.WITHDRAWN
    assert view.flag.reviewer_action is ReviewerAction.WITHDRAW
    assert await _refused(h.service.flags.escalate(w.business, flag.id)) is Refusal.FLAG_CLOSED
    await h.all_delivered()
    assert len(await h.messages("flag.reviewer_withdrew", "business")) == 1
    # A removed review cannot be flagged again.
    again = _flagged(h, body=PERSONAL)
    assert await _refused(again) is Refusal.REVIEW_NOT_VISIBLE


async def test_silent_reviewer_for_3_days_then_the_business_escalates(skipping: Harness) -> None:
    h, w = skipping, skipping.world
    flag = (
        await _flagged(h, body=FlagBody(reason=FlagReason.ADVERTISING_OR_SPAM, explanation="Ad"))
    ).flag
    assert (
        await _refused(h.service.flags.escalate(w.business, flag.id)) is Refusal.REVIEWER_STEP_OPEN
    )
    await h.env.sleep(timedelta(days=3, minutes=1))
    await h.eventually(lambda: _status_is(h, flag.id, FlagStatus.AWAITING_BUSINESS))
    assert len(await h.messages("flag.awaiting_business", "business")) == 1
    token = _token(h, flag.id)
    assert not (await h.service.flags.flag_request(token)).open
    late = h.service.flags.act(token, ReviewerAction.EDIT, ReviewEditBody(text="Too late"))
    assert await _refused(late) is Refusal.WINDOW_CLOSED
    assert (await h.review(w.review["organic"])).text == "Text of organic"

    escalated = await h.service.flags.escalate(w.business, flag.id)
    assert escalated.flag.status is FlagStatus.ESCALATED
    assert escalated.report is not None and escalated.report.status is ReportStatus.PENDING
    history = [e.type for e in escalated.history]
    assert history[:3] == ["reviewer_asked", "reviewer_silent", "escalated"]


async def test_business_that_neither_escalates_nor_drops_sees_its_flag_lapse(
    skipping: Harness,
) -> None:
    h, w = skipping, skipping.world
    flag = (await _flagged(h)).flag
    await h.env.sleep(timedelta(days=3, minutes=1))
    await h.eventually(lambda: _status_is(h, flag.id, FlagStatus.AWAITING_BUSINESS))
    await h.env.sleep(h.settings.flag_business_window + timedelta(minutes=1))
    await h.eventually(lambda: _status_is(h, flag.id, FlagStatus.DROPPED))
    [lapsed] = await h.messages("flag.dropped", "business")
    assert "lapsed" in lapsed.body_text
    assert await _refused(h.service.flags.escalate(w.business, flag.id)) is Refusal.FLAG_CLOSED


async def test_harmful_goes_straight_to_the_queue_high_priority_and_escalates_on_its_own_sla(
    skipping: Harness,
) -> None:
    h, w = skipping, skipping.world
    view = await _flagged(h, body=HARMFUL)
    assert view.flag.status is FlagStatus.ESCALATED
    report = view.report
    assert report is not None and report.priority is Priority.HIGH
    assert report.sub_reason is SubReason.THREATS_OR_VIOLENCE
    assert report.sla_deadline - report.opened_at == h.settings.harmful_sla
    assert await h.messages("flag.reviewer_asked", "reviewer") == []  # no reviewer-first step
    assert (await h.review(w.review["organic"])).visibility is Visibility.VISIBLE
    assert await _refused(h.service.flags.drop(w.business, view.flag.id)) is Refusal.FLAG_CLOSED
    assert await _refused(_flagged(h, body=HARMFUL)) is Refusal.ALREADY_FLAGGED

    await h.eventually(lambda: _has_event(h, report.id, "opened"))
    await h.env.sleep(h.settings.harmful_sla - timedelta(hours=1))
    assert await h.messages("report.escalated", "moderation") == []
    await h.env.sleep(timedelta(hours=2))
    await h.eventually(lambda: h.messages("report.escalated", "moderation"))
    assert len(await h.messages("report.escalated", "moderation")) == 1
    # Long before the usual SLA would have passed.
    assert h.settings.harmful_sla + timedelta(hours=1) < h.settings.moderation_sla


async def test_a_reason_a_moderator_cleared_answers_already_cleared(skipping: Harness) -> None:
    h, w = skipping, skipping.world
    report = (await _flagged(h, body=HARMFUL)).report
    assert report is not None
    await h.service.decide(
        w.moderator, report.id, DecisionBody(decision=Decision.REJECT, note="Not a threat.")
    )
    async with web_client(h) as api:
        url = f"/api/v1/reviews/{w.review['organic']}/flags"
        again = await api.post(url, json=HARMFUL.model_dump(), headers=as_(w.keys[w.business]))
        assert (again.status_code, _code(again)) == (409, "already_cleared")
        # Cleared for that reason only: another reason may still be flagged.
        other = await api.post(
            url, json=PERSONAL.model_dump(mode="json"), headers=as_(w.keys[w.business])
        )
        assert other.status_code == 201, other.text


def _code(response: httpx.Response) -> str:
    body: dict[str, Any] = response.json()
    return str(body["error"]["code"])


async def test_api_flags_answer_with_their_refusals_and_check_ownership(live: Harness) -> None:
    h, w = live, live.world
    biz, other = as_(w.keys[w.business]), as_(w.keys[w.other_business])
    personal = PERSONAL.model_dump(mode="json")

    def url(review: str) -> str:
        return f"/api/v1/reviews/{w.review.get(review, review)}/flags"

    async with web_client(h) as api:
        theirs = await api.post(url("others"), json=personal, headers=biz)
        missing = await api.post(url("rv_nope"), json=personal, headers=biz)
        assert (missing.status_code, _code(missing)) == (404, "review_not_found")
        assert (theirs.status_code, theirs.json()) == (404, missing.json())
        genuine = {"reason": "not_genuine", "explanation": "Never our customer"}
        first = await api.post(url("organic"), json=genuine, headers=biz)
        assert (first.status_code, _code(first)) == (422, "contact_first")
        for body in (
            {"reason": "harmful_or_illegal", "explanation": "x"},
            {**personal, "sub_reason": "hate_speech"},
        ):
            wrong = await api.post(url("organic"), json=body, headers=biz)
            assert (wrong.status_code, _code(wrong)) == (422, "sub_reason_mismatch")
        for body in ({}, {**personal, "explanation": ""}, {**personal, "reason": "rude"}):
            bad = await api.post(url("organic"), json=body, headers=biz)
            assert (bad.status_code, _code(bad)) == (422, "invalid_input")
        removed = await api.post(url("removed"), json=personal, headers=biz)
        assert (removed.status_code, _code(removed)) == (422, "review_not_visible")
        assert await api.get("/api/v1/flags", headers=biz) is not None
        assert (await api.get("/api/v1/flags", headers=biz)).json() == []

        key = {**biz, "Idempotency-Key": "flag-once"}
        created = await api.post(url("organic"), json=personal, headers=key)
        assert created.status_code == 201, created.text
        flag = created.json()
        assert flag["status"] == "awaiting_reviewer" and flag["reason"] == "personal_information"
        retried = await api.post(url("organic"), json=personal, headers=key)
        assert (retried.status_code, retried.json()["id"]) == (201, flag["id"])
        twice = await api.post(url("organic"), json=personal, headers=biz)
        assert (twice.status_code, _code(twice)) == (409, "already_flagged")

        listed = (await api.get("/api/v1/flags", headers=biz)).json()
        assert [f["id"] for f in listed] == [flag["id"]]
        assert (await api.get("/api/v1/flags", headers=other)).json() == []
        got = await api.get(f"/api/v1/flags/{flag['id']}", headers=biz)
        assert got.json()["history"][0]["type"] == "reviewer_asked"
        peek = await api.get(f"/api/v1/flags/{flag['id']}", headers=other)
        nothing = await api.get("/api/v1/flags/fl_nope", headers=biz)
        assert (peek.status_code, peek.json()) == (404, nothing.json())
        assert _code(nothing) == "flag_not_found"
        for action in ("escalate", "drop"):
            early = await api.post(f"/api/v1/flags/{flag['id']}/{action}", headers=biz)
            assert (early.status_code, _code(early)) == (409, "reviewer_step_open")
            stranger = await api.post(f"/api/v1/flags/{flag['id']}/{action}", headers=other)
            assert (stranger.status_code, _code(stranger)) == (404, "flag_not_found")

        await h.service.flags.act(
            _token(h, flag["id"]), ReviewerAction.EDIT, ReviewEditBody(text="Fixed")
        )
        once = {**biz, "Idempotency-Key": "escalate-once"}
        escalated = await api.post(f"/api/v1/flags/{flag['id']}/escalate", headers=once)
        assert escalated.status_code == 200, escalated.text
        assert escalated.json()["status"] == "escalated"
        assert escalated.json()["report"]["status"] == "pending"
        again = await api.post(f"/api/v1/flags/{flag['id']}/escalate", headers=once)
        assert (again.status_code, again.json()["status"]) == (200, "escalated")
        drop = await api.post(f"/api/v1/flags/{flag['id']}/drop", headers=biz)
        assert (drop.status_code, _code(drop)) == (409, "flag_closed")
        # The webhook data and the API never carry the reviewer's address.
        assert w.reviewer_email not in escalated.text
