"""The public reply (issue 20, DESIGN rule 19): published once through the ticket's workflow."""

from __future__ import annotations

import asyncio

import pytest

from domain.refusals import Refusal, Refused
from starter.reply_inputs import ReplyIn
from store import members
from store.records import Member
from tests.conftest import Harness
from tests.ticket_flows import review_in


async def _agent(h: Harness) -> Member:
    async with h.db.read() as conn:
        found = await members.get_member(conn, h.world.agent)
    assert found is not None
    return found


async def test_twenty_sends_at_once_publish_exactly_one_reply(live: Harness) -> None:
    h = live
    agent = await _agent(h)
    posted = await h.service.intake.post(review_in(h, 1))
    ticket_id = posted.ticket.id

    async def send(i: int) -> str:
        key = f"k{i % 5}" if i % 2 else None
        body = ReplyIn(text=f"Thank you, sorry. ({i})", solve=True)
        try:
            detail = await h.service.replies.reply(
                h.world.business, agent, ticket_id, body, idempotency_key=key
            )
        except Refused as refused:
            return refused.reason.value
        assert detail.reply is not None
        return detail.reply.id

    outcomes = await asyncio.gather(*(send(i) for i in range(20)))
    reply_ids = {o for o in outcomes if o.startswith("rp_")}
    assert len(reply_ids) == 1, outcomes
    assert set(outcomes) - reply_ids <= {Refusal.REPLY_ALREADY_PUBLISHED.value}
    with pytest.raises(Refused) as refused:
        await h.service.replies.reply(h.world.business, agent, ticket_id, ReplyIn(text="Again"))
    assert refused.value.reason is Refusal.REPLY_ALREADY_PUBLISHED
    detail = await h.service.desk.ticket(h.world.business, ticket_id)
    assert detail.ticket.status.value == "solved"
