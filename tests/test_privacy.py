"""Workflow histories carry ids and enums, never a reviewer's address or words (acceptance 7)."""

from __future__ import annotations

from temporalio.client import WorkflowHistory

from tests import flows
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
