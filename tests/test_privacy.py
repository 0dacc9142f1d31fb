"""Workflow histories carry ids and enums, never a reviewer's address or words (acceptance 7)."""

from __future__ import annotations

from temporalio.client import WorkflowHistory

from tests import flows, moderation_flows
from tests.conftest import Harness


def _raw(history: WorkflowHistory) -> bytes:
    # Payloads are raw bytes inside the serialized events: search them, not a base64 rendering.
    return b"".join(event.SerializeToString() for event in history.events)


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
