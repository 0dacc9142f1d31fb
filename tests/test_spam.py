"""Spam or irrelevant (issue 20, acceptance 4; DESIGN rule 21): one action flags the review
``advertising_or_spam`` straight to moderation, adds an internal note, solves the ticket, and
every reply after it is refused."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from delivery.links import Purpose
from domain import ticket_workflow_id
from domain.enums import AppealDecision, Decision, FlagReason, FlagStatus, TicketStatus
from domain.refusals import Refusal, Refused
from settings import Settings
from starter.appeal_inputs import AppealBody, AppealDecisionBody
from starter.flag_inputs import FlagBody
from starter.inputs import DecisionBody
from starter.reply_inputs import ReplyIn
from store import Store
from store.records import fetch_one
from tests.conftest import Harness, Running
from tests.ticket_flows import member, posted, ticket
from tests.web import as_, csrf_of, page_text, sign_in, web_client

SPAM = Refusal.MARKED_AS_SPAM.value
REASON = FlagReason.ADVERTISING_OR_SPAM.value
NOTE = (
    "Marked as spam or irrelevant by Alex Agent. The review was flagged for moderation as "
    "advertising or spam."
)


async def _count(h: Harness, sql: str, *params: str) -> int:
    async with h.db.read() as conn:
        row = await fetch_one(conn, f"SELECT CAST(COUNT(*) AS INTEGER) AS n {sql}", params)
    assert row is not None
    return int(row["n"])


async def _flags(h: Harness, review_id: str) -> int:
    return await _count(h, "FROM flags WHERE review_id = ?", review_id)


async def _notes(h: Harness, ticket_id: str) -> int:
    return await _count(h, "FROM ticket_notes WHERE ticket_id = ?", ticket_id)


async def _pending(api: httpx.AsyncClient, h: Harness, review_id: str) -> list[dict[str, Any]]:
    """The moderators' queue's reports of the review."""
    queue = await api.get(
        "/api/v1/reports?status=pending", headers=as_(h.world.keys[h.world.moderator])
    )
    assert queue.status_code == 200, queue.text
    return [r for r in queue.json() if r["review_id"] == review_id]


async def _ended(h: Harness, review_id: str) -> bool:
    handle = h.client.get_workflow_handle(ticket_workflow_id(review_id))
    return (await handle.describe()).status is WorkflowExecutionStatus.COMPLETED


async def test_spam_is_flagged_straight_to_moderation_noted_solved_and_never_replied_to(
    live: Harness,
) -> None:
    h, w = live, live.world
    opened = await posted(h, 1)
    agent = {**as_(w.keys[w.agent]), "Idempotency-Key": "spam-once"}
    path = f"/api/v1/tickets/{opened.id}/spam"
    async with web_client(h) as api:
        marked = await api.post(path, headers=agent)
        assert marked.status_code == 200, marked.text
        shown = marked.json()
        assert shown["status"] == TicketStatus.SOLVED.value
        [note] = shown["notes"]
        assert note["text"].startswith(NOTE) and note["author"]["name"] == "Alex Agent"
        kinds = [e["kind"] for e in shown["history"]]
        # Recorded at the same moment, in either order.
        assert sorted(kinds[-2:]) == ["marked_spam", "solved"] and len(kinds) == 3
        assert shown["reply"] is None

        # Straight to the moderators: a report pending for the reason, the reviewer not asked
        # to edit (as they are for a flag of this reason made by hand), the review still up.
        [report] = await _pending(api, h, opened.review_id)
        assert report["reason"] == REASON and report["source"] == "flag"
        assert report["flag"]["reviewer_deadline"] is None
        assert report["flag"]["explanation"].startswith("Marked as spam or irrelevant")
        assert await h.messages("flag.reviewer_asked", "reviewer") == []
        assert report["review"]["visibility"] == "visible"

        # The same request again answers as the first did; nothing is recorded twice.
        again = await api.post(path, headers=agent)
        assert again.status_code == 200, again.text
        assert again.json() == shown
        # Any other mark is a second one.
        for headers in (as_(w.keys[w.agent]), {**agent, "Idempotency-Key": "another"}):
            second = await api.post(path, headers=headers)
            assert second.status_code == 409, second.text
            assert second.json()["error"]["code"] == SPAM
        owner = await api.post(
            path, headers={**as_(w.keys[w.business]), "Idempotency-Key": "spam-once"}
        )
        assert (owner.status_code, owner.json()["error"]["code"]) == (409, SPAM)

        # No public reply after it, however sent.
        for body, key in (({"text": "Thank you."}, None), ({"text": "Sorry.", "solve": True}, "r")):
            headers = {**as_(w.keys[w.agent]), **({"Idempotency-Key": key} if key else {})}
            sent = await api.post(f"/api/v1/tickets/{opened.id}/reply", json=body, headers=headers)
            assert sent.status_code == 409, sent.text
            assert sent.json()["error"]["code"] == SPAM
        with pytest.raises(Refused) as refused:
            await h.service.replies.reply(
                w.business, await member(h, h.world.agent), opened.id, ReplyIn(text="Thank you.")
            )
        assert refused.value.reason is Refusal.MARKED_AS_SPAM

        got = await api.get(f"/api/v1/tickets/{opened.id}", headers=as_(w.keys[w.business]))
        assert got.json() == shown
        assert len(await _pending(api, h, opened.review_id)) == 1
    assert await _flags(h, opened.review_id) == 1
    assert await _notes(h, opened.id) == 1
    assert await _count(h, "FROM replies WHERE ticket_id = ?", opened.id) == 0
    # Answered: the ticket's workflow has nothing left to time.
    assert await h.eventually(lambda: _ended(h, opened.review_id))


async def test_ten_marks_at_once_mark_once_with_one_flag_and_one_note(live: Harness) -> None:
    h, w = live, live.world
    opened = await posted(h, 1)
    agent = await member(h, h.world.agent)
    keys = [f"k{i % 3}" if i % 2 else None for i in range(10)]

    async def mark(key: str | None) -> str:
        try:
            await h.service.spam.mark(w.business, agent, opened.id, idempotency_key=key)
        except Refused as refused:
            return refused.reason.value
        return f"marked:{key}"

    outcomes = await asyncio.gather(*(mark(k) for k in keys))
    won = {o for o in outcomes if o.startswith("marked:")}
    # One request marked it (its retries answer as it did); every other is a second mark.
    assert len(won) == 1, outcomes
    assert set(outcomes) - won == {SPAM}, outcomes
    assert await _flags(h, opened.review_id) == 1
    assert await _notes(h, opened.id) == 1
    assert (await ticket(h, opened.id)).status is TicketStatus.SOLVED


async def test_after_a_published_reply_the_spam_action_is_refused_and_flags_nothing(
    live: Harness,
) -> None:
    h, w = live, live.world
    opened = await posted(h, 2)
    agent = await member(h, h.world.agent)
    await h.service.replies.reply(w.business, agent, opened.id, ReplyIn(text="Thank you."))
    async with web_client(h) as api:
        for key in (None, "spam"):
            headers = {**as_(w.keys[w.agent]), **({"Idempotency-Key": key} if key else {})}
            marked = await api.post(f"/api/v1/tickets/{opened.id}/spam", headers=headers)
            assert marked.status_code == 409, marked.text
            assert marked.json()["error"]["code"] == Refusal.REPLY_ALREADY_PUBLISHED.value
        assert await _pending(api, h, opened.review_id) == []
    with pytest.raises(Refused) as refused:
        await h.service.spam.mark(w.business, agent, opened.id)
    assert refused.value.reason is Refusal.REPLY_ALREADY_PUBLISHED
    left = await ticket(h, opened.id)
    assert left.spam_at is None and left.status is not TicketStatus.SOLVED
    assert await _flags(h, opened.review_id) == 0
    assert await _notes(h, opened.id) == 0


async def test_another_business_cannot_mark_a_ticket_not_theirs(live: Harness) -> None:
    h, w = live, live.world
    ours = await posted(h, 1)
    async with web_client(h) as api:
        for key in (w.keys[w.other_agent], w.keys[w.other_business]):
            marked = await api.post(
                f"/api/v1/tickets/{ours.id}/spam", headers={**as_(key), "Idempotency-Key": "k"}
            )
            assert marked.status_code == 404, marked.text
            assert marked.json()["error"]["code"] == Refusal.TICKET_NOT_FOUND.value
        unknown = await api.post("/api/v1/tickets/tk_nothing/spam", headers=as_(w.keys[w.agent]))
        assert unknown.status_code == 404
        assert unknown.json()["error"]["code"] == Refusal.TICKET_NOT_FOUND.value
        unsigned = await api.post(f"/api/v1/tickets/{ours.id}/spam")
        assert unsigned.status_code == 401
    left = await ticket(h, ours.id)
    assert left.spam_at is None and left.status is TicketStatus.NEW
    assert await _flags(h, ours.review_id) == 0
    assert await _notes(h, ours.id) == 0


async def test_a_review_flagged_for_spam_before_keeps_that_flag(live: Harness) -> None:
    h, w = live, live.world
    opened = await posted(h, 1)
    # Flagged by hand: the reviewer is asked first, as for any flag of this reason.
    earlier = await h.service.flags.flag(
        w.business,
        opened.review_id,
        FlagBody(reason=FlagReason.ADVERTISING_OR_SPAM, explanation="An advert for a casino."),
    )
    assert earlier.flag.status is FlagStatus.AWAITING_REVIEWER

    detail = await h.service.spam.mark(w.business, await member(h, h.world.agent), opened.id)
    assert detail.ticket.status is TicketStatus.SOLVED and detail.ticket.spam_at is not None
    [note] = detail.notes
    assert note.text.startswith("Marked as spam or irrelevant by Alex Agent. The review's flag")
    marked = [e for e in detail.history if e.kind.value == "marked_spam"]
    assert [e.detail for e in marked] == [earlier.flag.id]
    assert await _flags(h, opened.review_id) == 1
    assert len(await h.messages("flag.reviewer_asked", "reviewer")) == 1  # the earlier flag's


async def test_the_misuse_guard_refuses_the_spam_action_as_any_flag_and_nothing_changes(
    dev_env: WorkflowEnvironment, db: Store, settings: Settings
) -> None:
    capped = settings.model_copy(update={"daily_flag_cap": 1})
    async with Running(dev_env, db, capped) as h:
        w = h.world
        opened = await posted(h, 1)
        spam = FlagBody(reason=FlagReason.ADVERTISING_OR_SPAM, explanation="A casino's advert.")
        await h.service.flags.flag(w.business, w.review["organic"], spam)  # the day's one flag
        async with web_client(h) as api:
            marked = await api.post(
                f"/api/v1/tickets/{opened.id}/spam",
                headers={**as_(w.keys[w.agent]), "Idempotency-Key": "capped"},
            )
            assert marked.status_code == 429, marked.text
            assert marked.json()["error"]["code"] == Refusal.DAILY_CAP.value
            assert int(marked.headers["Retry-After"]) > 0
        left = await ticket(h, opened.id)
        assert left.spam_at is None and left.status is TicketStatus.NEW
        assert await _flags(h, opened.review_id) == 0
        assert await _notes(h, opened.id) == 0
        # Still open to an answer: a reply goes through.
        replied = await h.service.replies.reply(
            w.business, await member(h, h.world.agent), opened.id, ReplyIn(text="Thank you.")
        )
        assert replied.reply is not None


async def _marked_and_decided(h: Harness, decision: Decision) -> str:
    """A review marked spam on the desk, then decided by a moderator: the decision's id."""
    w = h.world
    opened = await posted(h, 1)
    await h.service.spam.mark(w.business, await member(h, h.world.agent), opened.id)
    async with web_client(h) as api:
        [report] = await _pending(api, h, opened.review_id)
    decided = await h.service.decide(
        w.moderator, report["id"], DecisionBody(decision=decision, note="Looked at it.")
    )
    assert decided.report.decision_id is not None
    return decided.report.decision_id


async def test_a_rejected_spam_mark_is_not_told_to_the_reviewer_who_never_knew_of_it(
    live: Harness,
) -> None:
    h, w = live, live.world
    decision_id = await _marked_and_decided(h, Decision.REJECT)
    # The business is told; the reviewer was never asked, and their review never changed, so
    # an email saying it "is visible again" would be false.
    assert len(await h.eventually(lambda: h.messages("report.rejected", "business"))) == 1
    assert await h.messages("report.rejected", "reviewer") == []

    # Nor after the business's appeal is denied: the decision stands, nothing changed for them.
    appeal = await h.service.appeals.by_business(
        w.business, decision_id, AppealBody(statement="It is an advert for a casino.")
    )
    await h.service.appeals.decide(
        w.second_moderator,
        appeal.appeal.id,
        AppealDecisionBody(decision=AppealDecision.DENY, note="It stands."),
    )
    assert len(await h.eventually(lambda: h.messages("appeal.denied", "business"))) == 1
    assert await h.messages("appeal.denied", "reviewer") == []


async def test_an_upheld_spam_mark_sends_the_reviewer_the_statement_of_reasons(
    live: Harness,
) -> None:
    h = live
    await _marked_and_decided(h, Decision.UPHOLD)
    # Removed: the reviewer gets the statement of reasons with its appeal link, once.
    [told] = await h.eventually(lambda: h.messages("report.upheld", "reviewer"))
    assert told.link_purpose == Purpose.APPEAL.value
    assert "removed" in told.body_text


async def test_the_pages_say_what_became_of_an_earlier_flag_not_that_it_went_to_moderation(
    live: Harness,
) -> None:
    h, w = live, live.world
    opened = await posted(h, 1)
    # Flagged by hand before: the reviewer is asked, and the spam action keeps that flag.
    await h.service.flags.flag(
        w.business,
        opened.review_id,
        FlagBody(reason=FlagReason.ADVERTISING_OR_SPAM, explanation="An advert for a casino."),
    )
    open_flag = "the reviewer may still edit or withdraw it"
    async with web_client(h) as web:
        await sign_in(web, w.keys[w.agent])
        confirm = await web.get(f"/desk/tickets/{opened.id}/spam")
        said = page_text(confirm.text)
        assert confirm.status_code == 200
        assert "goes straight to the moderators" not in said and open_flag in said
        form = {"csrf": csrf_of(confirm.text), "idempotency_key": "the-form"}
        marked = await web.post(f"/desk/tickets/{opened.id}/spam", data=form)
        assert marked.status_code == 303
        after = page_text((await web.get(str(marked.headers["location"]))).text)
        assert "Marked as spam or irrelevant: no public reply" in after
        assert "Marked as spam or irrelevant on" in after
        assert "moderators" not in after
        assert after.count(open_flag) == 3  # the notice, the reply section, the internal note
    async with web_client(h) as api:
        assert await _pending(api, h, opened.review_id) == []
