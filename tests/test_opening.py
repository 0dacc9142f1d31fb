"""The opening of a contact, run again: it keeps the deadline it was opened with (issue 15.9), and
the `opened` update's validator."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from temporalio.client import WorkflowHandle
from temporalio.exceptions import ApplicationError

from domain import contact_workflow_id
from domain.enums import ContactStatus
from domain.messages import ContactWorkflowInput
from domain.refusals import Refusal
from starter import reconcile
from starter.inputs import ContactRequestBody
from store import contacts
from tests.conftest import Harness
from tests.web import web_client
from workflows.contact import DEADLINE_FROM_STORE, ReviewerContactWorkflow


async def _marked(handle: WorkflowHandle[Any, Any]) -> bool:
    """Whether the history holds the patch marker of a deadline taken from the store."""
    history = await handle.fetch_history()
    return any(DEADLINE_FROM_STORE.encode() in e.SerializeToString() for e in history.events)


async def test_a_re_driven_contact_keeps_the_deadline_it_was_opened_with(
    skipping: Harness,
) -> None:
    h, w = skipping, skipping.world
    review_id = w.review["organic"]
    contact = (
        await h.service.request_contact(w.business, review_id, ContactRequestBody(message="Hi"))
    ).contact
    handle = h.client.get_workflow_handle(contact_workflow_id(review_id))
    # A first opening keeps its own deadline and records no patch marker for it.
    assert not await _marked(handle)
    await handle.terminate()
    await h.env.sleep(timedelta(days=1))

    [lost] = await reconcile.find(h.db, h.client, h.settings)
    await reconcile.repair(h.db, h.client, h.settings, lost)
    # Opened again a day later, the workflow waits for the deadline the store and email state.
    handle = h.client.get_workflow_handle(contact_workflow_id(review_id))
    state = await handle.query(ReviewerContactWorkflow.state)
    assert await _marked(handle)
    assert state.status is ContactStatus.AWAITING_REPLY
    assert state.deadline == contact.deadline
    async with h.db.read() as conn:
        assert await contacts.deadline_of(conn, contact.id) == contact.deadline
    async with web_client(h) as web:
        page = await web.get(f"/reply/{await h.reply_token(contact.id)}")
    assert page.status_code == 200
    assert contact.deadline.strftime("%d %b %Y, %H:%M UTC") in page.text

    # Silence ends the window at that deadline, not a day after it.
    await h.env.sleep(timedelta(days=4) - timedelta(minutes=2))
    assert (await h.service.contact_view(contact.id)).contact.status is ContactStatus.AWAITING_REPLY
    await h.env.sleep(timedelta(minutes=3))

    async def closed() -> bool:
        view = await h.service.contact_view(contact.id)
        return view.contact.status is ContactStatus.NO_RESPONSE

    await h.eventually(closed)
    ended = (await h.service.contact_view(contact.id)).contact
    assert ended.window_closed_at is not None
    assert abs(ended.window_closed_at - contact.deadline) < timedelta(minutes=2)


def test_the_opened_update_is_refused_once_the_opening_was_refused() -> None:
    """An `opened` that comes when the workflow has refused gets the reason from the validator,
    which writes nothing to history; while the opening runs, or once open, it is accepted."""
    workflow = ReviewerContactWorkflow(
        ContactWorkflowInput(
            contact_id="ct_1",
            review_id="rv_1",
            business_id="biz_1",
            reply_window=timedelta(days=5),
            report_window=timedelta(days=14),
            moderation_sla=timedelta(days=2),
        )
    )
    workflow._validate_opened()
    workflow._status = ContactStatus.AWAITING_REPLY
    workflow._validate_opened()

    workflow._status, workflow._refusal = None, Refusal.NOT_ELIGIBLE_SOURCE
    with pytest.raises(ApplicationError) as refused:
        workflow._validate_opened()
    assert refused.value.type == Refusal.NOT_ELIGIBLE_SOURCE.value
