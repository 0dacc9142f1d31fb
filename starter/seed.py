"""Demo data: two businesses, two moderators, reviewers, and reviews of every source.

Seeding again changes nothing but keeps the demo keys already written, so a restarted `up` keeps
the keys people signed in with. A fresh demo starts from an empty data folder (README).
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from domain.enums import ReviewSource
from store import Store, accounts, reviews
from store.accounts import hash_secret, new_api_key
from store.records import now

BUSINESSES = [
    ("biz_harbour_bakery", "Harbour Bakery", "owner@harbour-bakery.example"),
    ("biz_quickfix", "QuickFix Repairs", "support@quickfix.example"),
]
# Two: an appeal is decided by a moderator other than the one who decided (DESIGN rule 11).
MODERATORS = [("mod_demo", "Demo Moderator"), ("mod_second", "Sam Second")]
REVIEWERS = [
    ("rvr_alice", "Alice M.", "alice.reviewer@example.org"),
    ("rvr_bob", "Bob T.", "bob.reviewer@example.org"),
    ("rvr_chen", "Chen L.", "chen.reviewer@example.org"),
    ("rvr_dana", "Dana K.", "dana.reviewer@example.org"),
]
# (id, business, reviewer, rating, title, text, source, days ago)
REVIEWS = [
    (
        "rv_bakery_organic_1",
        "biz_harbour_bakery",
        "rvr_alice",
        1,
        "Stale bread, rude staff",
        "The sourdough was stale and nobody apologised.",
        ReviewSource.ORGANIC,
        3,
    ),
    (
        "rv_bakery_organic_2",
        "biz_harbour_bakery",
        "rvr_bob",
        2,
        "Cake arrived late",
        "Ordered a birthday cake, it came two hours late.",
        ReviewSource.ORGANIC,
        5,
    ),
    (
        "rv_bakery_external_1",
        "biz_harbour_bakery",
        "rvr_chen",
        1,
        "Never again",
        "Overpriced and the croissants were burnt.",
        ReviewSource.EXTERNAL_INVITATION,
        7,
    ),
    (
        "rv_bakery_platform_1",
        "biz_harbour_bakery",
        "rvr_dana",
        5,
        "Best cinnamon buns",
        "Lovely staff and the buns are worth the queue.",
        ReviewSource.PLATFORM_INVITATION,
        9,
    ),
    (
        "rv_quickfix_organic_1",
        "biz_quickfix",
        "rvr_alice",
        1,
        "Phone still broken",
        "Paid for a screen repair and the screen still flickers.",
        ReviewSource.ORGANIC,
        2,
    ),
]


async def seed_demo(db: Store, demo_file: Path) -> dict[str, Any]:
    known = json.loads(demo_file.read_text()) if demo_file.exists() else {}
    keys: dict[str, str] = known.get("api_keys", {})
    at = now()
    async with db.tx() as conn:
        for business_id, name, email in BUSINESSES:
            keys.setdefault(business_id, new_api_key("biz"))
            await accounts.add_business(
                conn, id=business_id, name=name, email=email, api_key_hash=None, created_at=at
            )
            await accounts.set_business_key(conn, business_id, hash_secret(keys[business_id]))
        for moderator_id, name in MODERATORS:
            keys.setdefault(moderator_id, new_api_key("mod"))
            await accounts.add_moderator(
                conn, id=moderator_id, name=name, api_key_hash=None, created_at=at
            )
            await accounts.set_moderator_key(conn, moderator_id, hash_secret(keys[moderator_id]))
        for reviewer_id, display_name, email in REVIEWERS:
            await accounts.add_reviewer(
                conn, id=reviewer_id, display_name=display_name, email=email, created_at=at
            )
        for review_id, business_id, reviewer_id, rating, title, text, source, days in REVIEWS:
            await reviews.add_review(
                conn,
                id=review_id,
                business_id=business_id,
                reviewer_id=reviewer_id,
                rating=rating,
                title=title,
                text=text,
                source=source,
                created_at=at - timedelta(days=days),
            )
    demo = {
        "note": (
            "Demo sign-in keys, in clear: the store keeps only their hashes, so this file is "
            "their one clear copy, kept for the demo. Delete it in production."
        ),
        "api_keys": keys,
        "businesses": [{"id": b, "name": n} for b, n, _ in BUSINESSES],
        "moderators": [{"id": m, "name": n} for m, n in MODERATORS],
        "reviews": [
            {"id": r[0], "business_id": r[1], "source": r[6].value, "title": r[4]} for r in REVIEWS
        ],
    }
    demo_file.parent.mkdir(parents=True, exist_ok=True)
    demo_file.write_text(json.dumps(demo, indent=2) + "\n")
    demo_file.chmod(0o600)
    return demo
