"""Whole lives of ticket workflows (issue 19), shared by the SLA tests, the privacy scan and the
recorder of stored histories.

Two tickets posted together, then the server's clock moved on: a 1-star one, assigned to the
agent with a note, reminded at 36 hours, then solved, so its breach step finds it solved and the
workflow ends; and an anonymous 4-star one no one took, reminded (the owner) at 5.25 days and
breached at 7 days, its workflow then waiting for what the ticket is asked next.

Issue 20 adds tickets that are answered (``answered_lives``): one replied to before its
reminder, not solved; one reminded and breached, then sent as solved; and one marked spam
(``marked_spam``). Each workflow ends with its answer.

They are posted together because the intake fixes a ticket's times by the store's clock, which
is the wall clock: a ticket posted after the server skipped days ahead would be due at once.
What people wrote here is distinctive, so a scan of the histories finds it if it leaked.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from temporalio.client import WorkflowHistory

from domain import flag_workflow_id, ticket_workflow_id
from domain.enums import FlagReason, ReviewSource, TicketStatus
from starter.desk_inputs import ReviewerIn, ReviewIn
from starter.reply_inputs import ReplyIn
from store import flags, members, tickets
from store.records import Member, Ticket, now, ts
from tests.conftest import Harness
from tests.world import World

REVIEWER_NAME = "Quintana Reviewer"
TITLE = "REVIEWTITLE cold soup"
TEXT = "REVIEWWORDS the soup was cold and the waiter rude"
NOTE = "NOTEWORDS I called them, @owner: they want a refund"
# The public replies of issue 20: published, they are on the public page, never in a history.
REPLY = "REPLYWORDS we are sorry about the soup, Quintana"
SOLVING_REPLY = "REPLYSOLVED a refund is on its way"
LOCAL_ACTIVITY = "core_local_activity"


def review_in(
    h: Harness,
    rating: int,
    *,
    display_name: str | None = REVIEWER_NAME,
    title: str | None = TITLE,
) -> ReviewIn:
    return review_of(h.world, rating, display_name=display_name, title=title)


def review_of(
    world: World,
    rating: int,
    *,
    display_name: str | None = REVIEWER_NAME,
    title: str | None = TITLE,
) -> ReviewIn:
    """A review posted by the platform to ``world``'s business (the survival suites have a world
    and no harness)."""
    tag = secrets.token_hex(5)
    return ReviewIn(
        external_id=f"ext_{tag}",
        business_id=world.business,
        reviewer=ReviewerIn(
            id=f"{world.reviewer}_{tag}", display_name=display_name, email=world.reviewer_email
        ),
        rating=rating,
        title=title,
        text=TEXT,
        source=ReviewSource.ORGANIC,
    )


async def posted(h: Harness, rating: int, *, display_name: str | None = REVIEWER_NAME) -> Ticket:
    """A review posted through the intake, as the platform posts it: its ticket."""
    return (await h.service.intake.post(review_in(h, rating, display_name=display_name))).ticket


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
    negative = await posted(h, 1)
    positive = await posted(h, 4, display_name=None)
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


async def member(h: Harness, member_id: str) -> Member:
    async with h.db.read() as conn:
        found = await members.get_member(conn, member_id)
    assert found is not None
    return found


async def _ended(h: Harness, ticket: Ticket) -> WorkflowHistory:
    handle = h.client.get_workflow_handle(ticket_workflow_id(ticket.review_id))
    await handle.result()
    return await handle.fetch_history()


@dataclass
class AnsweredLives:
    replied: Ticket
    """1 star, replied to before its reminder, not solved: its workflow ended with the reply."""
    solved_late: Ticket
    """1 star, no one assigned: reminded and breached, then sent as solved."""
    draft_ids: list[str]
    """The drafts published: the updates carry them, the histories hold them."""

    @property
    def ids(self) -> list[str]:
        return [self.replied.id, self.solved_late.id]

    async def histories(self, h: Harness) -> dict[str, WorkflowHistory]:
        return {
            "replied": await _ended(h, self.replied),
            "breached_sent_solved": await _ended(h, self.solved_late),
        }


async def answered_lives(h: Harness) -> AnsweredLives:
    """Two tickets posted together (see the module's note on the clock), each answered by the
    agent with a public reply: one at once, one after its target has passed."""
    early = await posted(h, 1)
    late = await posted(h, 1, display_name=None)
    agent = await member(h, h.world.agent)

    replied = await h.service.replies.reply(
        h.world.business, agent, early.id, ReplyIn(text=REPLY), idempotency_key="first-send"
    )
    assert replied.reply is not None and replied.ticket.status is not TicketStatus.SOLVED
    await _ended(h, early)

    await until(h, late.remind_at + timedelta(minutes=1))
    await h.eventually(lambda: _marked(h, late.id, "reminded_at"))
    await until(h, late.target_at + timedelta(minutes=1))
    await h.eventually(lambda: _marked(h, late.id, "breached_at"))
    solved = await h.service.replies.reply(
        h.world.business, agent, late.id, ReplyIn(text=SOLVING_REPLY, solve=True)
    )
    assert solved.reply is not None and solved.ticket.status is TicketStatus.SOLVED
    await _ended(h, late)
    return AnsweredLives(
        await ticket(h, early.id),
        await ticket(h, late.id),
        [replied.reply.draft_id, solved.reply.draft_id],
    )


@dataclass
class SpamLife:
    marked: Ticket
    """1 star, marked spam or irrelevant by the agent: its workflow ended with the mark."""
    flag_id: str
    """The review's ``advertising_or_spam`` flag, sent straight to moderation: escalated, ended."""

    @property
    def ids(self) -> list[str]:
        return [self.marked.id, self.flag_id]

    async def histories(self, h: Harness) -> dict[str, WorkflowHistory]:
        flag = h.client.get_workflow_handle(flag_workflow_id(self.flag_id))
        await flag.result()
        return {"ticket": await _ended(h, self.marked), "flag": await flag.fetch_history()}


async def marked_spam(h: Harness) -> SpamLife:
    """A ticket marked spam by the agent as soon as it is in (its note is the service's)."""
    marking = await posted(h, 1)
    agent = await member(h, h.world.agent)
    detail = await h.service.spam.mark(
        h.world.business, agent, marking.id, idempotency_key="spam-once"
    )
    assert detail.ticket.spam_at is not None
    async with h.db.read() as conn:
        flag = await flags.flag_of_review(
            conn, h.world.business, marking.review_id, FlagReason.ADVERTISING_OR_SPAM
        )
    assert flag is not None
    await _ended(h, marking)
    return SpamLife(await ticket(h, marking.id), flag.id)
