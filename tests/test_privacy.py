"""Workflow histories carry ids and enums, never a reviewer's address or words (acceptance 7)."""

from __future__ import annotations

from temporalio.client import WorkflowHistory
from temporalio.testing import WorkflowEnvironment

from delivery import spam_texts
from settings import Settings
from store import Store, replies
from tests import flows, moderation_flows, standing_flows, ticket_flows
from tests.conftest import Harness, Running
from tests.world import World


def _raw(history: WorkflowHistory) -> bytes:
    # Payloads are raw bytes inside the serialized events: search them, not a base64 rendering.
    return b"".join(event.SerializeToString() for event in history.events)


def _ticket_secrets(w: World) -> list[str]:
    """Who a ticket of ``ticket_flows`` names, and what its review says."""
    return [
        w.reviewer_email,
        w.business_email,
        w.agent_email,
        f"Shop {w.business}",
        "Alex Agent",
        ticket_flows.REVIEWER_NAME,
        "Quintana",
        ticket_flows.TEXT,
        "REVIEWWORDS",
    ]


async def test_histories_of_a_completed_contact_and_report_hold_no_email_and_no_shared_text(
    skipping: Harness,
) -> None:
    h = skipping
    journeys = [
        await flows.replied_then_rejected(h),
        await flows.silent_escalated_then_upheld(h),
    ]
    secrets = [
        h.world.reviewer_email,
        flows.SHARED_ORDER,
        flows.SHARED_DETAILS,
        flows.SHARED_MESSAGE,
        flows.BUSINESS_MESSAGE,
        flows.MODERATOR_NOTE,
    ]
    for journey in journeys:
        histories = await journey.histories(h)
        secrets.append(journey.token)
        for name, history in histories.items():
            raw = _raw(history)
            # The scan sees payloads: the ids that workflows do carry are found.
            assert journey.contact_id.encode() in raw, name
            assert journey.report_id.encode() in raw, name
            for secret in secrets:
                assert secret.encode() not in raw, (name, secret)
    # And the reviewer's words did reach the business, through the store and its email.
    [replied] = await h.messages("contact.replied", "business")
    assert flows.SHARED_ORDER in replied.body_text


async def test_histories_of_flags_notices_reports_and_appeals_hold_no_address_and_no_words(
    skipping: Harness,
) -> None:
    """Issue 17, acceptance 6: the new workflows carry ids and enums only, after whole journeys
    in which people wrote distinctive words and a notifier gave a distinctive name and email."""
    h = skipping
    removed = await moderation_flows.flag_edited_escalated_removed(h)
    journeys = [
        removed,
        await moderation_flows.appeal_granted(h, removed),
        await moderation_flows.notice_upheld(h),
    ]
    secrets = [
        h.world.reviewer_email,
        h.world.business_email,
        "Robin R.",  # the reviewer's display name
        moderation_flows.FLAG_EXPLANATION,
        moderation_flows.EDITED_TEXT,
        moderation_flows.EDITED_TITLE,
        moderation_flows.NOTICE_NAME,
        moderation_flows.NOTICE_EMAIL,
        moderation_flows.NOTICE_EXPLANATION,
        moderation_flows.APPEAL_STATEMENT,
        moderation_flows.DECISION_NOTE,
        moderation_flows.APPEAL_NOTE,
        moderation_flows.LEGAL_GROUND,
    ]
    # Each text people wrote starts with a marker: found alone, a piece of it leaked.
    secrets += [
        "FLAGWORDS",
        "EDITWORDS",
        "EDITTITLE",
        "NOTICEWORDS",
        "APPEALWORDS",
        "NOTEWORDS",
        "APPEALNOTE",
        "LEGALGROUND",
        "Quintana",
    ]
    scanned = []
    for journey in journeys:
        histories = await journey.histories(h)
        secrets += journey.tokens
        for kind, history in histories.items():
            raw = _raw(history)
            scanned.append(kind)
            # The scan sees payloads: the ids the workflows do carry are found.
            assert any(i.encode() in raw for i in journey.ids), kind
            for secret in secrets:
                assert secret.encode() not in raw, (kind, secret)
    assert scanned == ["flag", "report", "appeal", "notice", "report"]
    # And the words did reach who they were for, through the store and its emails.
    [confirmed] = await h.messages("notice.received", "notifier")
    assert confirmed.to_address == moderation_flows.NOTICE_EMAIL


async def test_the_ladders_histories_hold_no_address_no_name_and_no_note(
    time_env: WorkflowEnvironment, db: Store, settings: Settings
) -> None:
    """Issue 18, acceptance 6: a business's standing workflow, through a warning taken and
    lifted with a moderator's note, one taken and expired, and a run continued as new, carries
    ids, enums and times only."""
    low = settings.model_copy(update=standing_flows.LOW_THRESHOLDS)
    async with Running(time_env, db, low) as h:
        w = h.world
        lifted = await standing_flows.warning_lifted(h)
        histories = [("lifted", await lifted.histories(h), lifted.ids)]
        expired = await standing_flows.warning_expired(h)
        histories.append(("expired", await expired.histories(h), expired.ids))
        runs, step_ids = await standing_flows.continued_as_new(h)
        histories += [(name, {"standing": run}, step_ids) for name, run in runs.items()]
        secrets = [
            w.business_email,
            f"Shop {w.business}",  # the business's name
            "Shop biz_other",
            standing_flows.LIFT_NOTE,
            "LIFTNOTE",
            "FLAGWORDS",
            "NOTEWORDS",
        ]
        for name, found, ids in histories:
            raw = _raw(found["standing"])
            # The scan sees payloads: the step's id is found.
            assert any(i.encode() in raw for i in ids), name
            for secret in secrets:
                assert secret.encode() not in raw, (name, secret)
        # The note did reach the business, in the email about the lift.
        lift_mails = [
            m
            for m in await h.messages("standing.step_ended", "business")
            if standing_flows.LIFT_NOTE in m.body_text
        ]
        assert len(lift_mails) == 1 and lift_mails[0].to_address == w.business_email


async def test_the_ticket_workflows_histories_hold_no_address_no_name_no_review_and_no_note(
    skipping: Harness,
) -> None:
    """Issue 19, acceptance 8: a ticket reminded, noted and solved, and one reminded and
    breached, carry ids and times only: not the reviewer's address or name, not the review's
    title or text, not a note, not the team's names or addresses."""
    h, w = skipping, skipping.world
    lives = await ticket_flows.reminded_solved_and_breached(h)
    secrets = [
        *_ticket_secrets(w),
        ticket_flows.TITLE,
        "REVIEWTITLE",
        ticket_flows.NOTE,
        "NOTEWORDS",
        "Anonymous reviewer",
    ]
    histories = await lives.histories(h)
    assert sorted(histories) == ["breached", "reminded_solved"]
    for name, history in histories.items():
        raw = _raw(history)
        # The scan sees payloads: the ticket's id is found.
        assert any(i.encode() in raw for i in lives.ids), name
        for secret in secrets:
            assert secret.encode() not in raw, (name, secret)
    # And the words did reach who they were for: the reminder names the reviewer.
    reminders = [m for m in await h.outbox() if m.event_type == "ticket.reminder"]
    assert {m.to_address for m in reminders} == {w.agent_email, w.business_email}
    assert any(ticket_flows.REVIEWER_NAME in m.subject for m in reminders)


async def test_the_answered_tickets_histories_hold_no_reply_no_name_and_no_address(
    skipping: Harness,
) -> None:
    """Issue 20, acceptance 7: a ticket replied to, and one breached then sent as solved, carry
    their drafts' ids and never the reply's words, the reviewer's name or address."""
    h, w = skipping, skipping.world
    lives = await ticket_flows.answered_lives(h)
    secrets = [
        *_ticket_secrets(w),
        ticket_flows.REPLY,
        "REPLYWORDS",
        ticket_flows.SOLVING_REPLY,
        "REPLYSOLVED",
    ]
    histories = await lives.histories(h)
    assert sorted(histories) == ["breached_sent_solved", "replied"]
    for (name, history), draft_id in zip(histories.items(), lives.draft_ids, strict=True):
        raw = _raw(history)
        # The scan sees payloads: the draft the update published is found.
        assert draft_id.encode() in raw, name
        for secret in secrets:
            assert secret.encode() not in raw, (name, secret)
    # And the words did reach the public: the replies as published.
    async with h.db.read() as conn:
        published = [await replies.reply_of_ticket(conn, t) for t in lives.ids]
    assert [r.text for r in published if r] == [ticket_flows.REPLY, ticket_flows.SOLVING_REPLY]


async def test_a_spam_marked_tickets_histories_hold_no_note_no_name_and_no_address(
    skipping: Harness,
) -> None:
    """Issue 20: the ticket marked spam, and its flag sent straight to moderation, carry ids and
    times: not the note the mark left, not who marked it, not the reviewer."""
    h, w = skipping, skipping.world
    life = await ticket_flows.marked_spam(h)
    secrets = [
        w.reviewer_email,
        w.agent_email,
        "Alex Agent",
        ticket_flows.REVIEWER_NAME,
        "Quintana",
        "REVIEWWORDS",
        "Marked as spam or irrelevant",
        spam_texts.FLAG_EXPLANATION,
    ]
    histories = await life.histories(h)
    assert sorted(histories) == ["flag", "ticket"]
    for name, history in histories.items():
        raw = _raw(history)
        # The scan sees payloads: the flag's id is in both (the mark's update names it).
        assert life.flag_id.encode() in raw, name
        for secret in secrets:
            assert secret.encode() not in raw, (name, secret)
    # And the note is on the ticket, for the team.
    detail = await h.service.desk.ticket(w.business, life.marked.id)
    assert any("Marked as spam or irrelevant by Alex Agent" in n.text for n in detail.notes)
