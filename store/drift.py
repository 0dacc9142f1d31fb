"""What the store expects Temporal to be running, and the repairs `reviewdesk reconcile` records.

A contact not ended waits in its workflow for the reviewer or the business; a pending report
waits in its workflow for a moderator; so does an open flag (a harmful one until its report is
opened), and a pending appeal. Each repair is written into the record's history.
"""

from __future__ import annotations

from datetime import datetime

from domain.enums import AppealStatus, ContactStatus, FlagStatus, ReportStatus
from store import appeals, contacts, flags, history
from store.connection import Connection
from store.records import Appeal, Contact, Flag, Report, fetch_all, ts

_NOT_ENDED = tuple(s.value for s in ContactStatus if s.is_open)
# Ids per query, well below SQLite's limit on bound parameters.
_BATCH = 500


async def contacts_not_ended(conn: Connection) -> list[Contact]:
    marks = ", ".join("?" for _ in _NOT_ENDED)
    rows = await fetch_all(
        conn,
        f"SELECT id FROM contacts WHERE status IN ({marks}) ORDER BY opened_at, id",
        _NOT_ENDED,
    )
    ids = [r["id"] for r in rows]
    found: dict[str, Contact] = {}
    for at in range(0, len(ids), _BATCH):
        found.update(await contacts.contacts_by_id(conn, ids[at : at + _BATCH]))
    return [found[i] for i in ids if i in found]


async def reports_pending(conn: Connection) -> list[Report]:
    rows = await fetch_all(
        conn,
        "SELECT * FROM reports WHERE status = ? ORDER BY opened_at, id",
        (ReportStatus.PENDING.value,),
    )
    return [Report.model_validate(dict(r)) for r in rows]


async def flags_not_ended(conn: Connection) -> list[Flag]:
    """Open flags, and harmful ones escalated whose report is not opened yet."""
    open_ = [s.value for s in FlagStatus if s.is_open]
    marks = ", ".join("?" for _ in open_)
    rows = await fetch_all(
        conn,
        f"SELECT id FROM flags WHERE status IN ({marks})"
        " OR (status = ? AND report_id IS NULL) ORDER BY opened_at, id",
        (*open_, FlagStatus.ESCALATED.value),
    )
    found = [await flags.get_flag(conn, r["id"]) for r in rows]
    return [f for f in found if f is not None]


async def appeals_pending(conn: Connection) -> list[Appeal]:
    rows = await fetch_all(
        conn,
        "SELECT id FROM appeals WHERE status = ? ORDER BY opened_at, id",
        (AppealStatus.PENDING.value,),
    )
    found = [await appeals.get_appeal(conn, r["id"]) for r in rows]
    return [a for a in found if a is not None]


async def record_repair(conn: Connection, subject_id: str, action: str, at: datetime) -> None:
    """One event per repair: a record may drift, and be repaired, more than once."""
    await history.add_event(
        conn,
        subject_id=subject_id,
        type="repaired",
        at=at,
        detail={"by": "reconcile", "action": action},
        key=f"{subject_id}:repaired:{ts(at)}",
    )


async def close_contact(conn: Connection, contact_id: str, at: datetime) -> bool:
    """Ends a contact no workflow carries any more, so its review can be contacted again after
    the cooldown; False when it ended meanwhile."""
    contact = await contacts.get_contact(conn, contact_id)
    if contact is None or not contact.status.is_open:
        return False
    await contacts.end_contact(conn, contact_id, status=ContactStatus.CLOSED, at=at)
    await history.add_event(
        conn, subject_id=contact_id, type="closed", at=at, detail={"by": "reconcile"}
    )
    await record_repair(conn, contact_id, "closed", at)
    return True


async def close_flag(conn: Connection, flag_id: str, at: datetime) -> bool:
    """Ends a flag no workflow carries any more, and none can resume, as dropped (the business
    may flag the review again: ``caps.flagged_before`` leaves it out). False when it ended
    meanwhile."""
    flag = await flags.get_flag(conn, flag_id)
    if flag is None or not flag.status.is_open:
        return False
    await flags.end_flag(conn, flag_id, status=FlagStatus.DROPPED, at=at)
    await history.add_event(
        conn, subject_id=flag_id, type="dropped", at=at, detail={"by": "reconcile"}
    )
    await record_repair(conn, flag_id, "closed", at)
    return True
