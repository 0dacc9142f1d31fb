"""Whole lives of ticket workflows (issue 19), shared by the SLA tests, the privacy scan and the
recorder of stored histories.

Two tickets posted together, then the server's clock moved on: a 1-star one, assigned to the
agent with a note, reminded at 36 hours, then solved, so its breach step finds it solved and the
workflow ends; and an anonymous 4-star one no one took, reminded (the owner) at 5.25 days and
breached at 7 days, its workflow then waiting for what the ticket is asked next.

They are posted together because the intake fixes a ticket's times by the store's clock, which
is the wall clock: a ticket posted after the server skipped days ahead would be due at once.
What people wrote here is distinctive, so a scan of the histories finds it if it leaked.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from temporalio.client import WorkflowHistory

from domain import ticket_workflow_id
from domain.enums import ReviewSource, TicketStatus
from starter.desk_inputs import ReviewerIn, ReviewIn
from store import tickets
from store.records import Ticket, now, ts
from tests.conftest import Harness

REVIEWER_NAME = "Quintana Reviewer"
TITLE = "REVIEWTITLE cold soup"
TEXT = "REVIEWWORDS the soup was cold and the waiter rude"
NOTE = "NOTEWORDS I called them, @owner: they want a refund"
LOCAL_ACTIVITY = "core_local_activity"


def review_in(
    h: Harness,
    rating: int,
    *,
    display_name: str | None = REVIEWER_NAME,
    title: str | None = TITLE,
) -> ReviewIn:
    tag = secrets.token_hex(5)
    return ReviewIn(
        external_id=f"ext_{tag}",
        business_id=h.world.business,
        reviewer=ReviewerIn(
            id=f"{h.world.reviewer}_{tag}", display_name=display_name, email=h.world.reviewer_email
        ),
        rating=rating,
        title=title,
        text=TEXT,
        source=ReviewSource.ORGANIC,
    )


async def ticket(h: Harness, ticket_id: str) -> Ticket:
    async with h.db.read() as conn:
        found = await tickets.get_ticket(conn, ticket_id)
    assert found is not None
    return found


async def until(h: Harness, moment: datetime) -> None:
    """Moves the server's clock to ``moment``."""
    ahead = moment - await h.env.get_current_time()
    assert ahead > timedelta(0), f"the server is past {moment}"
    await h.env.sleep(ahead)


async def assign(h: Harness, ticket_id: str, member_id: str) -> None:
    """As the desk does, without its service: the workflow reads the assignee from the store."""
    async with h.db.tx() as conn:
        await conn.execute(
            "UPDATE tickets SET assignee_id = ?, status = ? WHERE id = ?",
            (member_id, TicketStatus.OPEN.value, ticket_id),
        )


async def solve(h: Harness, ticket_id: str) -> None:
    async with h.db.tx() as conn:
        await conn.execute(
            "UPDATE tickets SET status = ? WHERE id = ?", (TicketStatus.SOLVED.value, ticket_id)
        )


async def note(h: Harness, ticket_id: str, author_id: str, text: str) -> None:
    async with h.db.tx() as conn:
        await conn.execute(
            "INSERT INTO ticket_notes (id, ticket_id, author_id, text, created_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (f"tn_{secrets.token_hex(8)}", ticket_id, author_id, text, ts(now())),
        )


@dataclass
class TicketLives:
    solved: Ticket
    """1 star, assigned, reminded, solved before its target: its workflow ended."""
    breached: Ticket
    """4 stars, anonymous, no one assigned: reminded and breached, its workflow waiting."""

    @property
    def ids(self) -> list[str]:
        return [self.solved.id, self.breached.id]

    async def histories(self, h: Harness) -> dict[str, WorkflowHistory]:
        solved = h.client.get_workflow_handle(ticket_workflow_id(self.solved.review_id))
        await solved.result()
        still = h.client.get_workflow_handle(ticket_workflow_id(self.breached.review_id))

        async def after_its_three_steps() -> WorkflowHistory | None:
            # It runs on: its history is whole once the task that ran its breach step completed.
            history = await still.fetch_history()
            steps = [
                e
                for e in history.events
                if e.HasField("marker_recorded_event_attributes")
                and e.marker_recorded_event_attributes.marker_name == LOCAL_ACTIVITY
            ]
            return history if len(steps) == 3 else None

        return {
            "reminded_solved": await solved.fetch_history(),
            "breached": await h.eventually(after_its_three_steps),
        }


async def _marked(h: Harness, ticket_id: str, field: str) -> Ticket | None:
    found = await ticket(h, ticket_id)
    return found if getattr(found, field) is not None else None


async def reminded_solved_and_breached(h: Harness) -> TicketLives:
    negative = (await h.service.intake.post(review_in(h, 1))).ticket
    positive = (await h.service.intake.post(review_in(h, 4, display_name=None))).ticket
    await assign(h, negative.id, h.world.agent)
    await note(h, negative.id, h.world.agent, NOTE)

    await until(h, negative.remind_at + timedelta(minutes=1))
    await h.eventually(lambda: _marked(h, negative.id, "reminded_at"))
    await solve(h, negative.id)
    await until(h, negative.target_at + timedelta(minutes=1))
    # Its breach step found it solved: the workflow ended.
    await h.client.get_workflow_handle(ticket_workflow_id(negative.review_id)).result()

    await until(h, positive.remind_at + timedelta(minutes=1))
    await h.eventually(lambda: _marked(h, positive.id, "reminded_at"))
    await until(h, positive.target_at + timedelta(minutes=1))
    await h.eventually(lambda: _marked(h, positive.id, "breached_at"))
    return TicketLives(await ticket(h, negative.id), await ticket(h, positive.id))
