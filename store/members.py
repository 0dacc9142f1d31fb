"""A business's team (DESIGN rule 17): its owner and its agents, and the keys agents sign in
with. The owner signs in with the business's own key; each business has exactly one owner row,
made with the business (``accounts.add_business``) or by migration 9 for older ones."""

from __future__ import annotations

from datetime import datetime

from domain.enums import MemberRole
from store.connection import Connection
from store.records import Member, fetch_all, fetch_one, ts

_COLUMNS = "id, business_id, name, handle, email, role, created_at"
# Who is in the team now: an agent the owner removed keeps their row (names in history and
# notes) but is no longer assigned, mentioned or listed.
_IN_TEAM = "removed_at IS NULL"


def owner_id(business_id: str) -> str:
    return f"mb_owner_{business_id}"


async def add_member(
    conn: Connection,
    *,
    id: str,
    business_id: str,
    name: str,
    handle: str,
    email: str,
    role: MemberRole,
    api_key_hash: str | None,
    created_at: datetime,
    idempotency_key: str | None = None,
) -> None:
    """Raises ``store.errors.Conflict`` when the handle (or the key) is taken in the business."""
    await conn.execute(
        "INSERT INTO members (id, business_id, name, handle, email, role, api_key_hash,"
        " created_at, idempotency_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            id,
            business_id,
            name,
            handle,
            email,
            role.value,
            api_key_hash,
            ts(created_at),
            idempotency_key,
        ),
    )


async def add_owner(
    conn: Connection, *, business_id: str, name: str, email: str, created_at: datetime
) -> None:
    await conn.execute(
        "INSERT INTO members (id, business_id, name, handle, email, role, created_at)"
        " VALUES (?, ?, ?, 'owner', ?, 'owner', ?) ON CONFLICT DO NOTHING",
        (owner_id(business_id), business_id, name, email, ts(created_at)),
    )


async def get_member(conn: Connection, member_id: str) -> Member | None:
    row = await fetch_one(conn, f"SELECT {_COLUMNS} FROM members WHERE id = ?", (member_id,))
    return Member.model_validate(dict(row)) if row else None


async def member_of(conn: Connection, business_id: str, member_id: str) -> Member | None:
    """The member, only if they are in this business's team (and not removed from it)."""
    row = await fetch_one(
        conn,
        f"SELECT {_COLUMNS} FROM members WHERE id = ? AND business_id = ? AND {_IN_TEAM}",
        (member_id, business_id),
    )
    return Member.model_validate(dict(row)) if row else None


async def removed_agent(conn: Connection, business_id: str, member_id: str) -> Member | None:
    """The business's agent, if the owner has removed them: a repeated removal finds them."""
    row = await fetch_one(
        conn,
        f"SELECT {_COLUMNS} FROM members WHERE id = ? AND business_id = ?"
        " AND removed_at IS NOT NULL",
        (member_id, business_id),
    )
    return Member.model_validate(dict(row)) if row else None


async def remove_agent(conn: Connection, member_id: str, at: datetime) -> bool:
    """Their key stops working at once (its hash is gone), and with it their page sessions,
    which compare it at every request. Whether they were in the team until now."""
    changed = await conn.execute(
        "UPDATE members SET api_key_hash = NULL, removed_at = ?"
        f" WHERE id = ? AND role = 'agent' AND {_IN_TEAM}",
        (ts(at), member_id),
    )
    return changed == 1


async def owner_of(conn: Connection, business_id: str) -> Member | None:
    return await get_member(conn, owner_id(business_id))


async def agent_for_key_hash(conn: Connection, key_hash: str) -> Member | None:
    row = await fetch_one(
        conn, f"SELECT {_COLUMNS} FROM members WHERE api_key_hash = ?", (key_hash,)
    )
    return Member.model_validate(dict(row)) if row else None


async def key_hash_of_agent(conn: Connection, member_id: str) -> str | None:
    row = await fetch_one(conn, "SELECT api_key_hash FROM members WHERE id = ?", (member_id,))
    return str(row[0]) if row and row[0] is not None else None


async def set_agent_key(conn: Connection, member_id: str, key_hash: str) -> bool:
    """Whether the agent (still in a team) has the new key."""
    changed = await conn.execute(
        f"UPDATE members SET api_key_hash = ? WHERE id = ? AND role = 'agent' AND {_IN_TEAM}",
        (key_hash, member_id),
    )
    return changed == 1


async def members_of(conn: Connection, business_id: str) -> list[Member]:
    """The owner first, then agents by name."""
    rows = await fetch_all(
        conn,
        f"SELECT {_COLUMNS} FROM members WHERE business_id = ? AND {_IN_TEAM}"
        " ORDER BY CASE role WHEN 'owner' THEN 0 ELSE 1 END, name, id",
        (business_id,),
    )
    return [Member.model_validate(dict(r)) for r in rows]


async def member_for_idempotency_key(conn: Connection, business_id: str, key: str) -> Member | None:
    row = await fetch_one(
        conn,
        f"SELECT {_COLUMNS} FROM members WHERE business_id = ? AND idempotency_key = ?",
        (business_id, key),
    )
    return Member.model_validate(dict(row)) if row else None


async def by_handles(conn: Connection, business_id: str, handles: set[str]) -> list[Member]:
    wanted = sorted(handles)
    if not wanted:
        return []
    marks = ", ".join("?" for _ in wanted)
    rows = await fetch_all(
        conn,
        f"SELECT {_COLUMNS} FROM members WHERE business_id = ? AND handle IN ({marks})"
        f" AND {_IN_TEAM} ORDER BY handle",
        (business_id, *wanted),
    )
    return [Member.model_validate(dict(r)) for r in rows]


async def member_names(conn: Connection, ids: list[str]) -> dict[str, str]:
    wanted = sorted({i for i in ids if i})
    if not wanted:
        return {}
    marks = ", ".join("?" for _ in wanted)
    rows = await fetch_all(
        conn, f"SELECT id, name FROM members WHERE id IN ({marks})", tuple(wanted)
    )
    return {row["id"]: row["name"] for row in rows}
