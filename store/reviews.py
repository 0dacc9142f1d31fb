"""Reviews, their visibility and their labels. A review is never deleted, only removed."""

from __future__ import annotations

from datetime import datetime

from domain.enums import ReviewSource, Visibility
from store.connection import Connection
from store.records import Review, fetch_all, fetch_one, ts

_WRITTEN = "id, business_id, reviewer_id, rating, title, text, source, visibility, created_at"
_COLUMNS = f"{_WRITTEN}, edited_at, withdrawn_at, external_id, anonymous"


async def add_review(
    conn: Connection,
    *,
    id: str,
    business_id: str,
    reviewer_id: str,
    rating: int,
    title: str,
    text: str,
    source: ReviewSource,
    created_at: datetime,
    visibility: Visibility = Visibility.VISIBLE,
    external_id: str | None = None,
    anonymous: bool = False,
) -> None:
    await conn.execute(
        f"INSERT INTO reviews ({_WRITTEN}, external_id, anonymous)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        (
            id,
            business_id,
            reviewer_id,
            rating,
            title,
            text,
            source.value,
            visibility.value,
            ts(created_at),
            external_id,
            int(anonymous),
        ),
    )


async def get_review(conn: Connection, review_id: str) -> Review | None:
    row = await fetch_one(conn, f"SELECT {_COLUMNS} FROM reviews WHERE id = ?", (review_id,))
    if row is None:
        return None
    labels = await fetch_all(
        conn, "SELECT label FROM review_labels WHERE review_id = ? ORDER BY since", (review_id,)
    )
    return Review.model_validate({**dict(row), "labels": [r["label"] for r in labels]})


async def reviews_of_business(
    conn: Connection,
    business_id: str,
    *,
    visibilities: tuple[Visibility, ...] = tuple(Visibility),
    limit: int = 50,
    offset: int = 0,
) -> list[Review]:
    marks = ", ".join("?" for _ in visibilities)
    rows = await fetch_all(
        conn,
        f"SELECT {_COLUMNS}, (SELECT group_concat(label, char(10)) FROM review_labels l"
        f" WHERE l.review_id = reviews.id) AS labels"
        f" FROM reviews WHERE business_id = ? AND visibility IN ({marks})"
        f" ORDER BY created_at DESC, id LIMIT ? OFFSET ?",
        (business_id, *[v.value for v in visibilities], limit, offset),
    )
    return [
        Review.model_validate({**dict(r), "labels": r["labels"].split("\n") if r["labels"] else []})
        for r in rows
    ]


async def review_for_external_id(conn: Connection, external_id: str) -> Review | None:
    row = await fetch_one(conn, "SELECT id FROM reviews WHERE external_id = ?", (external_id,))
    return await get_review(conn, row["id"]) if row else None


async def give_external_id(conn: Connection, review_id: str, external_id: str) -> None:
    """Names a review stored before the desk (the demo seed's) by a platform id, unless it has
    one: posting that id then finds it, and opens its ticket."""
    await conn.execute(
        "UPDATE reviews SET external_id = ? WHERE id = ? AND external_id IS NULL",
        (external_id, review_id),
    )


async def set_visibility(conn: Connection, review_id: str, visibility: Visibility) -> None:
    await conn.execute(
        "UPDATE reviews SET visibility = ? WHERE id = ?", (visibility.value, review_id)
    )


async def add_label(conn: Connection, review_id: str, label: str, since: datetime) -> None:
    await conn.execute(
        "INSERT INTO review_labels (review_id, label, since) VALUES (?, ?, ?)"
        " ON CONFLICT DO NOTHING",
        (review_id, label, ts(since)),
    )


async def authors_of(conn: Connection, reviewer_ids: list[str]) -> dict[str, str]:
    """Display names, the only thing of a reviewer the public sees; a blank one is left out, so
    a page's "an anonymous reviewer" stands in for it rather than an empty name. Whether a review
    may show its author's name is the review's own (``domain.desk.author_name``)."""
    ids = sorted(set(reviewer_ids))
    if not ids:
        return {}
    marks = ", ".join("?" for _ in ids)
    rows = await fetch_all(
        conn,
        f"SELECT id, display_name FROM reviewers"
        f" WHERE id IN ({marks}) AND TRIM(display_name) <> ''",
        tuple(ids),
    )
    return {row["id"]: row["display_name"] for row in rows}


async def reviews_by_id(conn: Connection, review_ids: list[str]) -> dict[str, Review]:
    """Many reviews with their labels in two queries, labels in the order ``get_review`` gives."""
    ids = sorted({i for i in review_ids if i})
    if not ids:
        return {}
    marks = ", ".join("?" for _ in ids)
    rows = await fetch_all(
        conn, f"SELECT {_COLUMNS} FROM reviews WHERE id IN ({marks})", tuple(ids)
    )
    labels = await fetch_all(
        conn,
        f"SELECT review_id, label FROM review_labels WHERE review_id IN ({marks})"
        " ORDER BY review_id, since",
        tuple(ids),
    )
    by_review: dict[str, list[str]] = {}
    for row in labels:
        by_review.setdefault(row["review_id"], []).append(row["label"])
    return {
        row["id"]: Review.model_validate({**dict(row), "labels": by_review.get(row["id"], [])})
        for row in rows
    }
