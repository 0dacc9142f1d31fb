"""A flag, notice or appeal whose workflow never started, or was lost, is not stuck for good
(issue 17 review): the requester's retry starts it, the next action restarts it, and
`reviewdesk reconcile --apply` re-drives it; a moderator's claim left by a 503 is not either."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, cast

import pytest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from delivery.links import Links, Purpose
from domain import appeal_workflow_id, flag_workflow_id
from domain.enums import (
    Answer,
    AppealDecision,
    AppealStatus,
    Decision,
    FlagReason,
    FlagStatus,
    Grounds,
    ReviewerAction,
    SubReason,
    Visibility,
)
from domain.refusals import Refusal, Refused
from starter import reconcile
from starter.appeal_inputs import AppealBody, AppealDecisionBody
from starter.appeals import Appeals
from starter.flag_inputs import FlagBody, ReviewEditBody
from starter.flags import Flags
from starter.inputs import ContactRequestBody, DecisionBody, ReplyBody, ReportBody
from starter.notice_inputs import NoticeBody
from starter.notices import Notices
from starter.unavailable import NotSent, Unavailable
from store import accounts, notices
from store.accounts import hash_secret
from store.records import DecisionRecord, now, ts
from tests.conftest import Harness
from tests.terminal import run_cli

PERSONAL = FlagBody(
    reason=FlagReason.PERSONAL_INFORMATION,
    explanation="The review names our employee and her home street.",
)
HARMFUL = FlagBody(
    reason=FlagReason.HARMFUL_OR_ILLEGAL,
    sub_reason=SubReason.THREATS_OR_VIOLENCE,
    explanation="It threatens our staff.",
)
WHY = "I really stayed there in May; here is what happened to me."


class Failing:
    """A Temporal client whose every call fails with one RPC status, as a server would:
    ``UNAVAILABLE`` says nothing of the outcome (a 503 whose call may have landed),
    ``PERMISSION_DENIED`` that the call was turned away (nothing of it happened)."""

    def __init__(self, status: RPCStatusCode) -> None:
        self.status = status

    async def start_workflow(self, *args: Any, **kwargs: Any) -> Any:
        raise RPCError("the server's own words", self.status, b"")

    def get_workflow_handle(self, *args: Any, **kwargs: Any) -> Failing:
        return self

    async def execute_update(self, *args: Any, **kwargs: Any) -> Any:
        raise RPCError("the server's own words", self.status, b"")


def _failing(status: RPCStatusCode) -> Client:
    return cast(Client, Failing(status))


async def _terminate(h: Harness, workflow_id: str) -> None:
    await h.client.get_workflow_handle(workflow_id).terminate(reason="lost, as in the issue")


async def _refused(call: Any) -> Refusal:
    try:
        await call
    except Refused as refused:
        return refused.reason
    raise AssertionError("not refused")


# --- flags -----------------------------------------------------------------------------------


async def test_a_flag_whose_start_was_turned_away_leaves_nothing_behind(live: Harness) -> None:
    h, w = live, live.world
    turned_away = Flags(_failing(RPCStatusCode.PERMISSION_DENIED), h.db, h.settings)
    with pytest.raises(NotSent):
        await turned_away.flag(w.business, w.review["organic"], PERSONAL)
    with pytest.raises(NotSent):
        await turned_away.flag(w.business, w.review["organic"], HARMFUL)
    assert await h.service.flags.flags_of(w.business) == []

    # The reasons are free: flagged again, each goes its way.
    personal = await h.service.flags.flag(w.business, w.review["organic"], PERSONAL)
    harmful = await h.service.flags.flag(w.business, w.review["organic"], HARMFUL)
    assert personal.flag.status is FlagStatus.AWAITING_REVIEWER
    assert harmful.flag.status is FlagStatus.ESCALATED and harmful.report is not None


async def test_a_flag_whose_start_got_no_answer_is_started_by_flagging_it_again(
    live: Harness,
) -> None:
    h, w = live, live.world
    silent = Flags(_failing(RPCStatusCode.UNAVAILABLE), h.db, h.settings)
    with pytest.raises(Unavailable):
        await silent.flag(w.business, w.review["organic"], PERSONAL)
    with pytest.raises(Unavailable):
        await silent.flag(w.business, w.review["organic"], HARMFUL)
    [first_harmful, first_personal] = await h.service.flags.flags_of(w.business)

    # Without an Idempotency-Key, the business simply tries again: the same flags, now started.
    personal = await h.service.flags.flag(w.business, w.review["organic"], PERSONAL)
    harmful = await h.service.flags.flag(w.business, w.review["organic"], HARMFUL)
    assert personal.flag.id == first_personal.id
    assert personal.flag.status is FlagStatus.AWAITING_REVIEWER
    assert personal.flag.reviewer_deadline is not None
    assert harmful.flag.id == first_harmful.id and harmful.report is not None
    assert len(await h.messages("flag.reviewer_asked", "reviewer")) == 1
    # Started now, a third one is a second flag for the reason.
    again = h.service.flags.flag(w.business, w.review["organic"], PERSONAL)
    assert await _refused(again) is Refusal.ALREADY_FLAGGED


async def test_a_flag_lost_while_awaiting_the_business_is_restarted_by_its_escalation(
    live: Harness,
) -> None:
    h, w = live, live.world
    quick = h.settings.model_copy(update={"reviewer_step_window": timedelta(seconds=1)})
    flag = (await Flags(h.client, h.db, quick).flag(w.business, w.review["organic"], PERSONAL)).flag

    async def awaiting_business() -> bool:
        view = await h.service.flags.flag_of(w.business, flag.id)
        return view.flag.status is FlagStatus.AWAITING_BUSINESS

    await h.eventually(awaiting_business)
    await _terminate(h, flag_workflow_id(flag.id))

    escalated = await h.service.flags.escalate(w.business, flag.id)
    assert escalated.flag.status is FlagStatus.ESCALATED and escalated.report is not None
    # The restarted run repeated nothing the business had been told.
    assert len(await h.messages("flag.awaiting_business", "business")) == 1
    assert len(await h.messages("flag.escalated", "business")) == 1


async def test_a_flag_lost_after_the_reviewers_edit_is_not_restarted_but_answers_503(
    live: Harness,
) -> None:
    h, w = live, live.world
    flag = (await h.service.flags.flag(w.business, w.review["organic"], PERSONAL)).flag
    token = Links.of(h.settings).token(Purpose.FLAG, flag.id)
    await h.service.flags.act(token, ReviewerAction.EDIT, ReviewEditBody(text="Edited text."))
    await _terminate(h, flag_workflow_id(flag.id))

    # A new run would ask the reviewer again: it is left to reconcile, which ends it.
    with pytest.raises(Unavailable):
        await h.service.flags.drop(w.business, flag.id)
    [found] = await reconcile.find(h.db, h.client, h.settings)
    assert str(found).startswith(f"flag {flag.id} is awaiting_business in the store")
    done = await reconcile.repair(h.db, h.client, h.settings, found)
    assert done == "closed as dropped; the business may flag the review again"
    # Lost by the platform, it is not the review's one flag for the reason (DESIGN rule 12).
    again = await h.service.flags.flag(w.business, w.review["organic"], PERSONAL)
    assert again.flag.id != flag.id and again.flag.status is FlagStatus.AWAITING_REVIEWER


# --- appeals ---------------------------------------------------------------------------------


async def _rejected(h: Harness, review: str = "external") -> DecisionRecord:
    """A review reported after a contact and its report rejected by the first moderator."""
    w = h.world
    body = ContactRequestBody(message="We cannot find your booking.")
    contact = (await h.service.request_contact(w.business, w.review[review], body)).contact
    await h.service.answer(
        await h.reply_token(contact.id), Answer.REPLY, ReplyBody(message="It was in May.")
    )
    report = await h.service.report(
        w.business, contact.id, ReportBody(grounds=Grounds.INSUFFICIENT_INFORMATION)
    )
    view = await h.service.decide(
        w.moderator, report.report.id, DecisionBody(decision=Decision.REJECT, note="Checked.")
    )
    assert view.decision is not None
    return view.decision


async def test_an_appeal_whose_start_got_no_answer_is_started_by_the_appellants_retry(
    live: Harness,
) -> None:
    h, w = live, live.world
    decision = await _rejected(h)
    silent = Appeals(_failing(RPCStatusCode.UNAVAILABLE), h.db, h.settings)
    with pytest.raises(Unavailable):
        await silent.by_business(w.business, decision.id, AppealBody(statement=WHY))

    retried = await h.service.appeals.by_business(
        w.business, decision.id, AppealBody(statement=WHY)
    )
    assert retried.appeal.status is AppealStatus.PENDING
    assert len(await h.messages("appeal.opened", "business")) == 1
    # Opened now: another appeal of the decision is a second one.
    again = h.service.appeals.by_business(w.business, decision.id, AppealBody(statement="Again"))
    assert await _refused(again) is Refusal.ALREADY_APPEALED
    granted = await h.service.appeals.decide(
        w.second_moderator, retried.appeal.id, AppealDecisionBody(decision=AppealDecision.GRANT)
    )
    assert granted.appeal.status is AppealStatus.GRANTED


async def test_a_lost_appeal_is_restarted_when_a_moderator_decides_it(live: Harness) -> None:
    h, w = live, live.world
    decision = await _rejected(h)
    appeal = (
        await h.service.appeals.by_business(w.business, decision.id, AppealBody(statement=WHY))
    ).appeal
    await _terminate(h, appeal_workflow_id(decision.id))

    granted = await h.service.appeals.decide(
        w.second_moderator, appeal.id, AppealDecisionBody(decision=AppealDecision.GRANT, note="")
    )
    assert granted.appeal.status is AppealStatus.GRANTED
    assert (await h.review(w.review["external"])).visibility is Visibility.REMOVED
    assert len(await h.messages("appeal.opened", "business")) == 1
    assert len(await h.messages("appeal.granted", "business")) == 1


async def test_a_claim_left_by_a_503_is_its_moderators_retry_and_is_taken_over_once_stale(
    live: Harness,
) -> None:
    h, w = live, live.world
    third = f"mod_third_{w.business}"
    async with h.db.tx() as conn:
        await accounts.add_moderator(
            conn, id=third, name="Kim", api_key_hash=hash_secret(third), created_at=now()
        )
    first = await _rejected(h, "external")
    second = await _rejected(h, "organic2")
    body = AppealBody(statement=WHY)
    one = (await h.service.appeals.by_business(w.business, first.id, body)).appeal
    two = (await h.service.appeals.by_business(w.business, second.id, body)).appeal
    silent = Appeals(_failing(RPCStatusCode.UNAVAILABLE), h.db, h.settings)
    grant = AppealDecisionBody(decision=AppealDecision.GRANT, note="Not genuine after all.")
    deny = AppealDecisionBody(decision=AppealDecision.DENY, note="It stands.")
    for appeal in (one, two):
        with pytest.raises(Unavailable):  # no Idempotency-Key: the claim stays, as it must
            await silent.decide(w.second_moderator, appeal.id, grant)

    # Its moderator tries again, without a key: their first decision goes through.
    retried = await h.service.appeals.decide(w.second_moderator, one.id, deny)
    assert retried.appeal.status is AppealStatus.GRANTED
    assert retried.appeal.note == "Not genuine after all."

    # Someone else, while the claim is fresh: taken. Once stale, it is theirs to decide.
    taken = h.service.appeals.decide(third, two.id, deny)
    assert await _refused(taken) is Refusal.APPEAL_DECIDED
    stale = ts(now() - h.settings.temporal_call_timeout - timedelta(seconds=1))
    async with h.db.tx() as conn:
        await conn.execute(
            "UPDATE events SET at = ? WHERE subject_id = ?", (stale, f"{two.id}/claims")
        )
    took_over = await h.service.appeals.decide(third, two.id, deny)
    assert took_over.appeal.status is AppealStatus.DENIED
    assert (took_over.appeal.moderator_id, took_over.appeal.note) == (third, "It stands.")


# --- reconcile ------------------------------------------------------------------------------


async def test_reconcile_lists_and_re_drives_a_lost_flag_notice_and_appeal(
    live: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    h, w = live, live.world
    flag = (await h.service.flags.flag(w.business, w.review["organic"], PERSONAL)).flag
    decision = await _rejected(h)
    appeal = (
        await h.service.appeals.by_business(w.business, decision.id, AppealBody(statement=WHY))
    ).appeal
    notice_body = NoticeBody(
        review_id=w.review["organic2"],
        sub_reason=SubReason.HATE_SPEECH,
        explanation="It insults people for their origin.",
        name="Nora Notifier",
        email="nora@example.org",
        good_faith=True,
    )
    with pytest.raises(Unavailable):
        await Notices(_failing(RPCStatusCode.UNAVAILABLE), h.db, h.settings).submit(notice_body)
    async with h.db.read() as conn:
        [notice] = await notices.unreceived(conn)
    await _terminate(h, flag_workflow_id(flag.id))
    await _terminate(h, appeal_workflow_id(decision.id))

    listed = await run_cli(h, monkeypatch, "reconcile")
    assert listed.exit_code == 0, listed.output
    assert f"flag {flag.id} is awaiting_reviewer in the store" in listed.output
    assert f"appeal {appeal.id} is pending in the store" in listed.output
    assert f"notice {notice.id} is awaiting_receipt in the store" in listed.output
    assert f"flag-{flag.id} has ended (terminated)" in listed.output
    assert f"notice-{notice.id} does not exist" in listed.output

    applied = await run_cli(h, monkeypatch, "reconcile", "--apply")
    assert applied.exit_code == 0, applied.output
    assert applied.output.count("-> re-driven") == 3, applied.output

    # The flag goes on: the reviewer's link (the one emailed) edits the review.
    token = Links.of(h.settings).token(Purpose.FLAG, flag.id)
    await h.service.flags.act(token, ReviewerAction.EDIT, ReviewEditBody(text="Edited text."))
    edited = await h.service.flags.flag_of(w.business, flag.id)
    assert edited.flag.status is FlagStatus.AWAITING_BUSINESS
    assert len(await h.messages("flag.reviewer_asked", "reviewer")) == 1
    # The appeal is decided by a second moderator.
    denied = await h.service.appeals.decide(
        w.second_moderator, appeal.id, AppealDecisionBody(decision=AppealDecision.DENY)
    )
    assert denied.appeal.status is AppealStatus.DENIED
    # The notice is received and goes to a moderator.
    await h.eventually(lambda: h.messages("notice.received", "notifier"))
    async with h.db.read() as conn:
        received = await notices.get_notice(conn, notice.id)
    assert received is not None and received.report_id is not None

    async def agree() -> bool:  # the notice's report workflow starts in a step of its own
        return await reconcile.find(h.db, h.client, h.settings) == []

    await h.eventually(agree)
