"""A ticket's internal notes (DESIGN rule 17): what the team writes to itself, never public.

A note sent again to the same ticket with the same Idempotency-Key by the same author is the
first note: the store finds it by that key, so a retry neither adds a second note nor mentions
anyone twice. The same key on another ticket is another note."""

from __future__ import annotations

from store.connection import Connection
from store.records import TicketNote, fetch_all, fetch_one, ts

_COLUMNS = "id, ticket_id, author_id, text, created_at"


async def add_note(conn: Connection, note: TicketNote, *, idempotency_key: str | None) -> bool:
    """Whether the note was added; False when this author's key already names a note of the
    ticket."""
    changed = await conn.execute(
        f"INSERT INTO ticket_notes ({_COLUMNS}, idempotency_key) VALUES (?, ?, ?, ?, ?, ?)"
        " ON CONFLICT DO NOTHING",
        (note.id, note.ticket_id, note.author_id, note.text, ts(note.created_at), idempotency_key),
    )
    return changed == 1


async def note_for_key(
    conn: Connection, ticket_id: str, author_id: str, idempotency_key: str
) -> TicketNote | None:
    row = await fetch_one(
        conn,
        f"SELECT {_COLUMNS} FROM ticket_notes"
        " WHERE ticket_id = ? AND author_id = ? AND idempotency_key = ?",
        (ticket_id, author_id, idempotency_key),
    )
    return TicketNote.model_validate(dict(row)) if row else None


async def notes_of(conn: Connection, ticket_id: str) -> list[TicketNote]:
    """Oldest first, as a conversation reads."""
    rows = await fetch_all(
        conn,
        f"SELECT {_COLUMNS} FROM ticket_notes WHERE ticket_id = ? ORDER BY created_at, id",
        (ticket_id,),
    )
    return [TicketNote.model_validate(dict(r)) for r in rows]
