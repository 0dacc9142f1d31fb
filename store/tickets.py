"""Tickets (DESIGN rule 15), their tags, history and the inbox's views (rule 16).

A ticket is written once with its review (``starter.intake``); what changes it afterwards
(assignment, notes, a contact, the response target's steps) records a ``ticket_events`` row in
the same transaction, so the history is every change."""

from __future__ import annotations

import secrets
from datetime import datetime

from domain.desk import ON_CONTACT_ENDED, ON_CONTACT_OPENED, SLA_BREACHED
from domain.enums import TicketEventKind, TicketStatus, TicketView
from store.connection import Connection, Row
from store.records import Ticket, TicketEvent, fetch_all, fetch_one, ts

_COLUMNS = (
    "id, review_id, business_id, subject, requester, rating, status, priority, assignee_id,"
    " policy_name, target_at, remind_at, reminded_at, breached_at, created_at, updated_at"
)
_READ = f"{_COLUMNS}, started_at, replied_at, solved_at, spam_at"


async def _tickets(conn: Connection, rows: list[Row]) -> list[Ticket]:
    """The rows as tickets with their tags in the order they were added: one more query for
    all of them (an aggregate's order is not guaranteed on PostgreSQL)."""
    ids = [row["id"] for row in rows]
    tags: dict[str, list[str]] = {i: [] for i in ids}
    if ids:
        marks = ", ".join("?" for _ in ids)
        for tag in await fetch_all(
            conn,
            f"SELECT ticket_id, tag FROM ticket_tags WHERE ticket_id IN ({marks})"
            " ORDER BY ticket_id, position",
            tuple(ids),
        ):
            tags[tag["ticket_id"]].append(tag["tag"])
    return [Ticket.model_validate({**dict(row), "tags": tags[row["id"]]}) for row in rows]


async def add_ticket(conn: Connection, ticket: Ticket, *, negative: bool) -> None:
    """The ticket with its first tags and its ``created`` event; nothing if the review has one."""
    changed = await conn.execute(
        f"INSERT INTO tickets ({_COLUMNS}, negative) VALUES"
        " (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        (
            ticket.id,
            ticket.review_id,
            ticket.business_id,
            ticket.subject,
            ticket.requester,
            ticket.rating,
            ticket.status.value,
            ticket.priority.value,
            ticket.assignee_id,
            ticket.policy_name,
            ts(ticket.target_at),
            ts(ticket.remind_at),
            None,
            None,
            ts(ticket.created_at),
            ts(ticket.updated_at),
            int(negative),
        ),
    )
    if changed != 1:
        return
    for tag in ticket.tags:
        await add_tag(conn, ticket.id, tag, ticket.created_at)
    await add_event(conn, ticket.id, TicketEventKind.CREATED, at=ticket.created_at)


async def add_tag(conn: Connection, ticket_id: str, tag: str, at: datetime) -> bool:
    changed = await conn.execute(
        "INSERT INTO ticket_tags (ticket_id, tag, added_at, position) VALUES (?, ?, ?,"
        " (SELECT COALESCE(MAX(position), -1) + 1 FROM ticket_tags WHERE ticket_id = ?))"
        " ON CONFLICT DO NOTHING",
        (ticket_id, tag, ts(at), ticket_id),
    )
    return changed == 1


async def add_event(
    conn: Connection,
    ticket_id: str,
    kind: TicketEventKind,
    *,
    at: datetime,
    actor_id: str | None = None,
    detail: str | None = None,
    idempotency_key: str | None = None,
) -> str:
    """The event's id: what a webhook event about this change is keyed by. ``idempotency_key``:
    the request's that made the change, which ``event_for_key`` finds again."""
    event_id = f"te_{secrets.token_hex(10)}"
    await conn.execute(
        "INSERT INTO ticket_events (id, ticket_id, at, kind, actor_id, detail, idempotency_key)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (event_id, ticket_id, ts(at), kind.value, actor_id, detail, idempotency_key),
    )
    await conn.execute(
        "UPDATE tickets SET updated_at = ? WHERE id = ? AND updated_at < ?",
        (ts(at), ticket_id, ts(at)),
    )
    return event_id


async def event_for_key(
    conn: Connection, ticket_id: str, actor_id: str, idempotency_key: str
) -> str | None:
    """The id of the change this member made to this ticket with this Idempotency-Key."""
    row = await fetch_one(
        conn,
        "SELECT id FROM ticket_events WHERE ticket_id = ? AND actor_id = ? AND idempotency_key = ?",
        (ticket_id, actor_id, idempotency_key),
    )
    return str(row[0]) if row else None


async def events_for_key(conn: Connection, actor_id: str, idempotency_key: str) -> list[str]:
    """The ids of the changes, on any ticket, this member made with this key."""
    rows = await fetch_all(
        conn,
        "SELECT id FROM ticket_events WHERE actor_id = ? AND idempotency_key = ? ORDER BY id",
        (actor_id, idempotency_key),
    )
    return [str(r[0]) for r in rows]


async def assigned_to(conn: Connection, business_id: str, member_id: str) -> list[str]:
    """The ids of the business's tickets assigned to this member."""
    rows = await fetch_all(
        conn,
        "SELECT id FROM tickets WHERE business_id = ? AND assignee_id = ? ORDER BY id",
        (business_id, member_id),
    )
    return [str(r[0]) for r in rows]


async def set_assignee(conn: Connection, ticket_id: str, assignee_id: str | None) -> bool:
    """Whether the assignee changed: the same one again (a retry) changes nothing."""
    if assignee_id is None:
        changed = await conn.execute(
            "UPDATE tickets SET assignee_id = NULL WHERE id = ? AND assignee_id IS NOT NULL",
            (ticket_id,),
        )
    else:
        changed = await conn.execute(
            "UPDATE tickets SET assignee_id = ? WHERE id = ?"
            " AND (assignee_id IS NULL OR assignee_id <> ?)",
            (assignee_id, ticket_id, assignee_id),
        )
    return changed == 1


async def get_ticket(conn: Connection, ticket_id: str) -> Ticket | None:
    rows = await fetch_all(conn, f"SELECT {_READ} FROM tickets WHERE id = ?", (ticket_id,))
    return next(iter(await _tickets(conn, rows)), None)


async def ticket_of(conn: Connection, business_id: str, ticket_id: str) -> Ticket | None:
    """The ticket, only if it is this business's: another's answers as one that does not exist."""
    ticket = await get_ticket(conn, ticket_id)
    return ticket if ticket is not None and ticket.business_id == business_id else None


async def ticket_for_review(conn: Connection, review_id: str) -> Ticket | None:
    rows = await fetch_all(conn, f"SELECT {_READ} FROM tickets WHERE review_id = ?", (review_id,))
    return next(iter(await _tickets(conn, rows)), None)


async def set_status(
    conn: Connection,
    ticket_id: str,
    status: TicketStatus,
    *,
    only_from: tuple[TicketStatus, ...],
) -> bool:
    """Moves the ticket to ``status`` if it is in one of ``only_from``; whether it moved."""
    marks = ", ".join("?" for _ in only_from)
    changed = await conn.execute(
        f"UPDATE tickets SET status = ? WHERE id = ? AND status IN ({marks})",
        (status.value, ticket_id, *[s.value for s in only_from]),
    )
    return changed == 1


async def follow_contact(
    conn: Connection, review_id: str, contact_id: str, *, ended: bool, at: datetime
) -> None:
    """The review's ticket follows its Find Reviewer contact (rule 21): ``pending`` when it
    opens, ``open`` again when it ends (``domain.desk``), with a ``contact_opened`` or
    ``contact_ended`` event naming the contact, in the transaction of the contact's own step.

    Once per contact and event: a retried step, or a second way of ending (closed or reported
    after the reviewer's window closed), finds the event and changes nothing. Reviews from
    before the desk have no ticket, and nothing happens."""
    row = await fetch_one(conn, "SELECT id FROM tickets WHERE review_id = ?", (review_id,))
    if row is None:
        return
    ticket_id = str(row[0])
    kind = TicketEventKind.CONTACT_ENDED if ended else TicketEventKind.CONTACT_OPENED
    seen = await fetch_one(
        conn,
        "SELECT 1 FROM ticket_events WHERE ticket_id = ? AND kind = ? AND detail = ?",
        (ticket_id, kind.value, contact_id),
    )
    if seen is not None:
        return
    move = ON_CONTACT_ENDED if ended else ON_CONTACT_OPENED
    await set_status(conn, ticket_id, move.to, only_from=move.only_from)
    await add_event(conn, ticket_id, kind, at=at, detail=contact_id)


async def events_of(conn: Connection, ticket_id: str) -> list[TicketEvent]:
    rows = await fetch_all(
        conn,
        "SELECT id, ticket_id, at, kind, actor_id, detail FROM ticket_events"
        " WHERE ticket_id = ? ORDER BY at, id",
        (ticket_id,),
    )
    return [TicketEvent.model_validate(dict(r)) for r in rows]


# The "not solved" condition as a literal, the very text of the partial indexes' WHERE in
# migration 9: a planner uses a partial index only for a query that states its condition, and a
# bound parameter does not (SQLite, and PostgreSQL's generic plans).
_OPEN = "status <> 'solved'"
assert TicketStatus.SOLVED.value == "solved"


def _view_filter(view: TicketView, member_id: str) -> tuple[str, tuple[object, ...]]:
    """Each view's condition (DESIGN rule 16), beside ``business_id = ?``: one place for all."""
    if view is TicketView.UNANSWERED_NEGATIVE:
        return f"negative = 1 AND {_OPEN}", ()
    if view is TicketView.NEW:
        return "status = ?", (TicketStatus.NEW.value,)
    if view is TicketView.ASSIGNED_TO_ME:
        return f"assignee_id = ? AND {_OPEN}", (member_id,)
    return "1 = 1", ()


async def tickets_in_view(
    conn: Connection,
    business_id: str,
    view: TicketView,
    *,
    member_id: str,
    limit: int = 25,
    offset: int = 0,
) -> list[Ticket]:
    """Newest first (rule 16)."""
    where, params = _view_filter(view, member_id)
    rows = await fetch_all(
        conn,
        f"SELECT {_READ} FROM tickets WHERE business_id = ? AND {where}"
        " ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?",
        (business_id, *params, limit, offset),
    )
    return await _tickets(conn, rows)


async def view_counts(
    conn: Connection, business_id: str, *, member_id: str
) -> dict[TicketView, int]:
    """How many tickets each view holds: one count per view, each on its view's index (a
    single pass with a CASE per view would read every ticket the business ever had)."""
    counts: dict[TicketView, int] = {}
    for view in TicketView:
        where, params = _view_filter(view, member_id)
        row = await fetch_one(
            conn,
            f"SELECT CAST(COUNT(*) AS INTEGER) FROM tickets WHERE business_id = ? AND {where}",
            (business_id, *params),
        )
        counts[view] = int(row[0]) if row else 0
    return counts


async def mark_started(conn: Connection, ticket_id: str, at: datetime) -> None:
    await conn.execute(
        "UPDATE tickets SET started_at = ? WHERE id = ? AND started_at IS NULL",
        (ts(at), ticket_id),
    )


async def not_started(conn: Connection, *, before: datetime, limit: int = 1000) -> list[Ticket]:
    """Tickets whose workflow has not run its first step, opened before ``before``."""
    rows = await fetch_all(
        conn,
        f"SELECT {_READ} FROM tickets WHERE started_at IS NULL AND created_at < ?"
        " ORDER BY created_at LIMIT ?",
        (ts(before), limit),
    )
    return await _tickets(conn, rows)


async def mark_reminded(conn: Connection, ticket_id: str, at: datetime) -> bool:
    """Once: whether this call is the one that marked it."""
    changed = await conn.execute(
        "UPDATE tickets SET reminded_at = ? WHERE id = ? AND reminded_at IS NULL",
        (ts(at), ticket_id),
    )
    return changed == 1


async def mark_breached(conn: Connection, ticket_id: str, at: datetime) -> bool:
    """Once, with the ``sla_breached`` tag: whether this call is the one that marked it."""
    changed = await conn.execute(
        "UPDATE tickets SET breached_at = ? WHERE id = ? AND breached_at IS NULL",
        (ts(at), ticket_id),
    )
    if changed == 1:
        await add_tag(conn, ticket_id, SLA_BREACHED, at)
    return changed == 1
