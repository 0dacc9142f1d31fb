"""Businesses, moderators and reviewers, and the API keys businesses and moderators sign in with."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from typing import Literal

from store import members
from store.connection import Connection
from store.records import Business, Moderator, Platform, Reviewer, fetch_one, ts


def new_api_key(kind: str) -> str:
    """A key shown once to its owner; the store keeps only its hash."""
    return f"rd_{kind}_{secrets.token_urlsafe(32)}"


def hash_secret(secret: str) -> str:
    # Keys and tokens are 256 random bits, so a plain SHA-256 cannot be brute-forced; a slow
    # password hash would only add latency to every request.
    return hashlib.sha256(secret.encode()).hexdigest()


async def add_business(
    conn: Connection,
    *,
    id: str,
    name: str,
    email: str,
    api_key_hash: str | None,
    created_at: datetime,
) -> None:
    await conn.execute(
        "INSERT INTO businesses (id, name, email, api_key_hash, created_at)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        (id, name, email, api_key_hash, ts(created_at)),
    )
    # Every business has its owner in its team (DESIGN rule 17), signing in with its key.
    await members.add_owner(conn, business_id=id, name=name, email=email, created_at=created_at)


async def set_business_key(conn: Connection, business_id: str, key_hash: str) -> None:
    await conn.execute(
        "UPDATE businesses SET api_key_hash = ? WHERE id = ?", (key_hash, business_id)
    )


async def get_business(conn: Connection, business_id: str) -> Business | None:
    row = await fetch_one(
        conn,
        "SELECT id, name, email, created_at FROM businesses WHERE id = ?",
        (business_id,),
    )
    return Business.model_validate(dict(row)) if row else None


async def business_for_key(conn: Connection, api_key: str) -> Business | None:
    row = await fetch_one(
        conn,
        "SELECT id, name, email, created_at FROM businesses WHERE api_key_hash = ?",
        (hash_secret(api_key),),
    )
    return Business.model_validate(dict(row)) if row else None


async def add_moderator(
    conn: Connection,
    *,
    id: str,
    name: str,
    api_key_hash: str | None,
    created_at: datetime,
) -> None:
    await conn.execute(
        "INSERT INTO moderators (id, name, api_key_hash, created_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT DO NOTHING",
        (id, name, api_key_hash, ts(created_at)),
    )


async def set_moderator_key(conn: Connection, moderator_id: str, key_hash: str) -> None:
    await conn.execute(
        "UPDATE moderators SET api_key_hash = ? WHERE id = ?", (key_hash, moderator_id)
    )


async def get_moderator(conn: Connection, moderator_id: str) -> Moderator | None:
    row = await fetch_one(conn, "SELECT id, name FROM moderators WHERE id = ?", (moderator_id,))
    return Moderator.model_validate(dict(row)) if row else None


async def moderator_for_key(conn: Connection, api_key: str) -> Moderator | None:
    row = await fetch_one(
        conn, "SELECT id, name FROM moderators WHERE api_key_hash = ?", (hash_secret(api_key),)
    )
    return Moderator.model_validate(dict(row)) if row else None


async def key_hash_of(
    conn: Connection, role: Literal["business", "moderator"], account_id: str
) -> str | None:
    """The hash of the account's current API key; None without an account or a key."""
    table = "businesses" if role == "business" else "moderators"
    row = await fetch_one(conn, f"SELECT api_key_hash FROM {table} WHERE id = ?", (account_id,))
    return str(row[0]) if row and row[0] is not None else None


async def add_reviewer(
    conn: Connection, *, id: str, display_name: str, email: str, created_at: datetime
) -> None:
    await conn.execute(
        "INSERT INTO reviewers (id, display_name, email, created_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT DO NOTHING",
        (id, display_name, email, ts(created_at)),
    )


async def name_blank_reviewer(conn: Connection, reviewer_id: str, display_name: str) -> None:
    """Gives a profile made blank (by an anonymous first review) the name a later signed review
    carries; a name the profile has already is kept."""
    await conn.execute(
        "UPDATE reviewers SET display_name = ? WHERE id = ? AND TRIM(display_name) = ''",
        (display_name, reviewer_id),
    )


async def get_reviewer(conn: Connection, reviewer_id: str) -> Reviewer | None:
    row = await fetch_one(
        conn, "SELECT id, display_name, email FROM reviewers WHERE id = ?", (reviewer_id,)
    )
    return Reviewer.model_validate(dict(row)) if row else None


async def add_platform(
    conn: Connection, *, id: str, name: str, api_key_hash: str | None, created_at: datetime
) -> None:
    await conn.execute(
        "INSERT INTO platforms (id, name, api_key_hash, created_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT DO NOTHING",
        (id, name, api_key_hash, ts(created_at)),
    )


async def set_platform_key(conn: Connection, platform_id: str, key_hash: str) -> None:
    await conn.execute(
        "UPDATE platforms SET api_key_hash = ? WHERE id = ?", (key_hash, platform_id)
    )


async def platform_for_key(conn: Connection, api_key: str) -> Platform | None:
    row = await fetch_one(
        conn, "SELECT id, name FROM platforms WHERE api_key_hash = ?", (hash_secret(api_key),)
    )
    return Platform.model_validate(dict(row)) if row else None
