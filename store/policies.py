"""A business's response policies (DESIGN rule 20), in the order they are tried."""

from __future__ import annotations

from datetime import datetime, timedelta

from domain.desk import Policy
from store.connection import Connection
from store.records import ResponsePolicy, fetch_all, fetch_one, ts

_COLUMNS = "id, business_id, position, name, ratings, target_minutes, created_at"


def _policy(row: dict[str, object]) -> ResponsePolicy:
    ratings = [int(r) for r in str(row.pop("ratings")).split(",") if r]
    return ResponsePolicy.model_validate({**row, "ratings": ratings})


async def policies_of(conn: Connection, business_id: str) -> list[ResponsePolicy]:
    rows = await fetch_all(
        conn,
        f"SELECT {_COLUMNS} FROM response_policies WHERE business_id = ? AND removed_at IS NULL"
        " ORDER BY position, created_at, id",
        (business_id,),
    )
    return [_policy(dict(r)) for r in rows]


def as_rules(policies: list[ResponsePolicy]) -> list[Policy]:
    return [
        Policy(p.name, frozenset(p.ratings), timedelta(minutes=p.target_minutes)) for p in policies
    ]


async def add_policy(
    conn: Connection,
    *,
    id: str,
    business_id: str,
    name: str,
    ratings: list[int],
    target_minutes: int,
    created_at: datetime,
    position: int | None = None,
    idempotency_key: str | None = None,
) -> None:
    """At ``position`` (0 first), or after the others. Raises ``store.errors.Conflict`` when
    the business already added a policy with this ``idempotency_key``."""
    if position is None:
        row = await fetch_one(
            conn,
            "SELECT COALESCE(MAX(position), -1) + 1 FROM response_policies"
            " WHERE business_id = ? AND removed_at IS NULL",
            (business_id,),
        )
        position = int(row[0]) if row else 0
    else:
        await conn.execute(
            "UPDATE response_policies SET position = position + 1"
            " WHERE business_id = ? AND removed_at IS NULL AND position >= ?",
            (business_id, position),
        )
    await conn.execute(
        "INSERT INTO response_policies (id, business_id, position, name, ratings,"
        " target_minutes, created_at, idempotency_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            id,
            business_id,
            position,
            name,
            ",".join(str(r) for r in sorted(set(ratings))),
            target_minutes,
            ts(created_at),
            idempotency_key,
        ),
    )


async def policy_for_idempotency_key(
    conn: Connection, business_id: str, key: str
) -> ResponsePolicy | None:
    """The policy first added with this key, even if removed since: a retry finds it."""
    row = await fetch_one(
        conn,
        f"SELECT {_COLUMNS} FROM response_policies WHERE business_id = ? AND idempotency_key = ?",
        (business_id, key),
    )
    return _policy(dict(row)) if row else None


async def remove_policy(conn: Connection, business_id: str, policy_id: str, at: datetime) -> bool:
    changed = await conn.execute(
        "UPDATE response_policies SET removed_at = ?"
        " WHERE id = ? AND business_id = ? AND removed_at IS NULL",
        (ts(at), policy_id, business_id),
    )
    return changed == 1


async def was_removed(conn: Connection, business_id: str, policy_id: str) -> bool:
    """Whether this is the business's policy, removed: what a second removal finds."""
    row = await fetch_one(
        conn,
        "SELECT 1 FROM response_policies WHERE id = ? AND business_id = ?"
        " AND removed_at IS NOT NULL",
        (policy_id, business_id),
    )
    return row is not None
