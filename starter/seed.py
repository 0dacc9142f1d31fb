"""Demo data: two businesses, each with its owner and an agent, two moderators, the platform,
reviewers, and reviews of every rating and source, each with its ticket.

The reviews go in as the platform posts them (``starter.intake``): each has a fixed
``external_id``, so seeding again finds them and adds nothing. Temporal may not be up yet when
the seed runs, so it stores the reviews and their tickets, and ``start_tickets`` starts the
tickets' workflows once it is (idempotent, like every start of a ticket).

Seeding again changes nothing but keeps the demo keys already written, so a restarted `up` keeps
the keys people signed in with. A fresh demo starts from an empty data folder (README).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from domain.enums import MemberRole, ReviewSource
from starter.desk_inputs import ReviewerIn, ReviewIn
from starter.intake import Intake, record
from store import Store, accounts, macros, members, reviews
from store.accounts import hash_secret, new_api_key
from store.records import Macro, Ticket, now

BUSINESSES = [
    ("biz_harbour_bakery", "Harbour Bakery", "owner@harbour-bakery.example"),
    ("biz_quickfix", "QuickFix Repairs", "support@quickfix.example"),
]
# Two: an appeal is decided by a moderator other than the one who decided (DESIGN rule 11).
MODERATORS = [("mod_demo", "Demo Moderator"), ("mod_second", "Sam Second")]
PLATFORM = ("platform", "The review platform")
# (member id, business, name, handle, email): an agent in each team (rule 17).
AGENTS = [
    (
        "mb_maria_lopez",
        "biz_harbour_bakery",
        "Maria Lopez",
        "maria",
        "maria.lopez@harbour-bakery.example",
    ),
    ("mb_tom_fixer", "biz_quickfix", "Tom Fixer", "tom", "tom.fixer@quickfix.example"),
]
# (id, display name or None for one who posts anonymously, email)
REVIEWERS: list[tuple[str, str | None, str]] = [
    ("rvr_alice", "Alice M.", "alice.reviewer@example.org"),
    ("rvr_bob", "Bob T.", "bob.reviewer@example.org"),
    ("rvr_chen", "Chen L.", "chen.reviewer@example.org"),
    ("rvr_dana", "Dana K.", "dana.reviewer@example.org"),
    ("rvr_emre", "Emre Y.", "emre.reviewer@example.org"),
    ("rvr_fatima", "Fatima B.", "fatima.reviewer@example.org"),
    ("rvr_gus", "Gus P.", "gus.reviewer@example.org"),
    ("rvr_anon_1", None, "quiet.one@example.org"),
    ("rvr_anon_2", None, "private.person@example.org"),
    ("rvr_anon_3", None, "no.name@example.org"),
]
_REVIEWER = {r[0]: r for r in REVIEWERS}
# A business's reply templates (DESIGN rule 18), after the seed 001's examples: (id, business,
# added by, title, text). Placeholders the desk fills, and [specific detail] for the agent.
MACROS = [
    (
        f"mc_demo_{business.removeprefix('biz_')}_{kind}",
        business,
        added_by,
        title,
        text,
    )
    for business, added_by in (
        ("biz_harbour_bakery", "mb_maria_lopez"),
        ("biz_quickfix", "mb_tom_fixer"),
    )
    for kind, title, text in (
        (
            "thanks",
            "Thank you for the stars",
            "Dear [customer name], thank you so much for the wonderful review. It is a pleasure"
            " to read that your experience with [specific detail] was so good. We look forward"
            " to welcoming you again.\n\nKind regards,\n[your name], [business name]",
        ),
        (
            "sorry",
            "Sorry about a bad experience",
            "Hi [customer name], many thanks for your feedback. We are sincerely sorry to hear"
            " about [specific detail]. This is not the standard we aim for, and we would like to"
            " put it right: could you email us with your order number? Then we will look into"
            " it straight away.\n\nKind regards,\n[your name]",
        ),
        (
            "suggestion",
            "Thanks for the suggestion",
            "Hi [customer name], thank you for your review and for sharing your thoughts. It is"
            " good to hear that [specific detail] went well. Your suggestion is noted and we"
            " will take it into account. We would be glad to hear any further ideas.\n\nBest"
            " wishes,\n[your name]",
        ),
    )
]
ORGANIC, EXTERNAL, INVITED = (
    ReviewSource.ORGANIC,
    ReviewSource.EXTERNAL_INVITATION,
    ReviewSource.PLATFORM_INVITATION,
)
# The reviews from before the desk, with the ids tests and the README use:
# (id, business, reviewer, rating, title, text, source, days ago)
REVIEWS = [
    (
        "rv_bakery_organic_1",
        "biz_harbour_bakery",
        "rvr_alice",
        1,
        "Stale bread, rude staff",
        "The sourdough was stale and nobody apologised.",
        ORGANIC,
        3,
    ),
    (
        "rv_bakery_organic_2",
        "biz_harbour_bakery",
        "rvr_bob",
        2,
        "Cake arrived late",
        "Ordered a birthday cake, it came two hours late.",
        ORGANIC,
        5,
    ),
    (
        "rv_bakery_external_1",
        "biz_harbour_bakery",
        "rvr_chen",
        1,
        "Never again",
        "Overpriced and the croissants were burnt.",
        EXTERNAL,
        7,
    ),
    (
        "rv_bakery_platform_1",
        "biz_harbour_bakery",
        "rvr_dana",
        5,
        "Best cinnamon buns",
        "Lovely staff and the buns are worth the queue.",
        INVITED,
        9,
    ),
    (
        "rv_quickfix_organic_1",
        "biz_quickfix",
        "rvr_alice",
        1,
        "Phone still broken",
        "Paid for a screen repair and the screen still flickers.",
        ORGANIC,
        2,
    ),
]
# The platform's reviews since the desk: (external id, business, reviewer, rating, title or
# None, text, source, hours ago). Every rating, every source, some anonymous, over five weeks;
# the review ids are the intake's own.
POSTED: list[tuple[str, str, str, int, str | None, str, ReviewSource, float]] = [
    (
        "tp-40001",
        "biz_harbour_bakery",
        "rvr_emre",
        4,
        "Good coffee, slow queue",
        "Great flat white, but I waited fifteen minutes at nine o'clock.",
        ORGANIC,
        2,
    ),
    (
        "tp-40002",
        "biz_harbour_bakery",
        "rvr_anon_1",
        1,
        "Found a hair in my bun",
        "Not what you want with breakfast. Staff shrugged it off.",
        ORGANIC,
        5,
    ),
    (
        "tp-40003",
        "biz_harbour_bakery",
        "rvr_fatima",
        3,
        None,
        "Nice bread, a bit pricey for the size of the loaves.",
        INVITED,
        20,
    ),
    (
        "tp-40004",
        "biz_harbour_bakery",
        "rvr_gus",
        5,
        "Wedding cake was perfect",
        "They listened to every detail and it tasted even better than it looked.",
        EXTERNAL,
        30,
    ),
    (
        "tp-40005",
        "biz_harbour_bakery",
        "rvr_anon_2",
        2,
        "Wrong order twice",
        "Asked for gluten-free, got regular bread. Twice in one week.",
        EXTERNAL,
        44,
    ),
    (
        "tp-40006",
        "biz_harbour_bakery",
        "rvr_chen",
        4,
        None,
        "Friendly team and the rye is excellent.",
        ORGANIC,
        24 * 4,
    ),
    (
        "tp-40007",
        "biz_harbour_bakery",
        "rvr_dana",
        3,
        "Fine, nothing special",
        "Croissants were okay. The seating area could be cleaner.",
        ORGANIC,
        24 * 11,
    ),
    (
        "tp-40008",
        "biz_harbour_bakery",
        "rvr_anon_3",
        5,
        "Best sourdough in town",
        "Crusty outside, soft inside. I buy one every Saturday.",
        INVITED,
        24 * 16,
    ),
    (
        "tp-40009",
        "biz_harbour_bakery",
        "rvr_emre",
        2,
        "Closed during opening hours",
        "The sign said open until six; the door was locked at five.",
        ORGANIC,
        24 * 23,
    ),
    (
        "tp-40010",
        "biz_harbour_bakery",
        "rvr_bob",
        5,
        "Saved our party",
        "Last-minute order of forty rolls, ready in an hour. Thank you!",
        EXTERNAL,
        24 * 33,
    ),
    (
        "tp-50001",
        "biz_quickfix",
        "rvr_fatima",
        2,
        "Battery dies after a day",
        "New battery fitted last week, it drains faster than the old one.",
        ORGANIC,
        3,
    ),
    (
        "tp-50002",
        "biz_quickfix",
        "rvr_gus",
        5,
        "Screen fixed in 30 minutes",
        "Quick, fair price and they cleaned the phone too.",
        INVITED,
        9,
    ),
    (
        "tp-50003",
        "biz_quickfix",
        "rvr_anon_1",
        3,
        None,
        "Repair was fine but nobody told me it would take three days.",
        EXTERNAL,
        28,
    ),
    (
        "tp-50004",
        "biz_quickfix",
        "rvr_chen",
        1,
        "Lost my SIM card",
        "They kept the SIM tray and now say they never had it.",
        ORGANIC,
        50,
    ),
    (
        "tp-50005",
        "biz_quickfix",
        "rvr_dana",
        4,
        "Honest advice",
        "They told me the repair was not worth it and did not charge for the check.",
        ORGANIC,
        24 * 6,
    ),
    (
        "tp-50006",
        "biz_quickfix",
        "rvr_anon_2",
        1,
        "Charged twice",
        "The card machine took the payment twice and the refund still has not arrived.",
        INVITED,
        24 * 12,
    ),
    (
        "tp-50007",
        "biz_quickfix",
        "rvr_bob",
        3,
        "Average",
        "Did the job. Waiting room was crowded.",
        EXTERNAL,
        24 * 19,
    ),
    (
        "tp-50008",
        "biz_quickfix",
        "rvr_emre",
        4,
        None,
        "Laptop hinge repaired well, a day later than promised.",
        ORGANIC,
        24 * 29,
    ),
]


@dataclass(frozen=True)
class DemoSeed:
    demo: dict[str, Any]
    """What ``demo.json`` holds: the keys in clear, and the ids to try things with."""
    tickets: list[Ticket]
    """Every demo review's ticket, to start their workflows with ``start_tickets``."""


def external_id_of(review_id: str) -> str:
    """The platform's id of a review from before the desk."""
    return f"demo-{review_id}"


async def seed_demo(db: Store, demo_file: Path) -> DemoSeed:
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
        platform_id, platform_name = PLATFORM
        keys.setdefault(platform_id, new_api_key("pf"))
        await accounts.add_platform(
            conn, id=platform_id, name=platform_name, api_key_hash=None, created_at=at
        )
        await accounts.set_platform_key(conn, platform_id, hash_secret(keys[platform_id]))
        for member_id, business_id, name, handle, email in AGENTS:
            keys.setdefault(member_id, new_api_key("agt"))
            if await members.get_member(conn, member_id) is None:
                await members.add_member(
                    conn,
                    id=member_id,
                    business_id=business_id,
                    name=name,
                    handle=handle,
                    email=email,
                    role=MemberRole.AGENT,
                    api_key_hash=None,
                    created_at=at,
                )
            await members.set_agent_key(conn, member_id, hash_secret(keys[member_id]))
        for macro_id, business_id, added_by, title, text in MACROS:
            # Seeded once: a macro the business removed is not brought back.
            if not await macros.exists(conn, macro_id):
                await macros.add_macro(
                    conn,
                    Macro(
                        id=macro_id,
                        business_id=business_id,
                        title=title,
                        body=text,
                        created_by=added_by,
                        created_at=at,
                    ),
                )
        for review_id, *_ in REVIEWS:
            # A review seeded before the desk gets its platform id, so the intake below finds
            # it and opens its ticket instead of posting it again.
            await reviews.give_external_id(conn, review_id, external_id_of(review_id))
    tickets: list[Ticket] = []
    for body, own_id, age in _reviews_in():
        posted = await record(db, body, review_id=own_id, at=at - age)
        tickets.append(posted.ticket)
    demo = {
        "note": (
            "Demo sign-in keys, in clear: the store keeps only their hashes, so this file is "
            "their one clear copy, kept for the demo. Delete it in production."
        ),
        "api_keys": keys,
        "businesses": [{"id": b, "name": n} for b, n, _ in BUSINESSES],
        "moderators": [{"id": m, "name": n} for m, n in MODERATORS],
        "platform": {"id": platform_id, "name": platform_name},
        "agents": [{"id": m, "business_id": b, "name": n, "handle": h} for m, b, n, h, _ in AGENTS],
        "reviews": [
            {"id": r[0], "business_id": r[1], "source": r[6].value, "title": r[4]} for r in REVIEWS
        ]
        + [
            {
                "id": t.review_id,
                "external_id": p[0],
                "business_id": p[1],
                "source": p[6].value,
                "title": p[4],
            }
            for p, t in zip(POSTED, tickets[len(REVIEWS) :], strict=True)
        ],
    }
    demo_file.parent.mkdir(parents=True, exist_ok=True)
    demo_file.write_text(json.dumps(demo, indent=2) + "\n")
    demo_file.chmod(0o600)
    return DemoSeed(demo, tickets)


async def start_tickets(intake: Intake, tickets: list[Ticket]) -> None:
    """Starts each demo ticket's workflow, or finds it running (Temporal must be up)."""
    for ticket in tickets:
        await intake.start_ticket(ticket)


def _reviews_in() -> Iterator[tuple[ReviewIn, str | None, timedelta]]:
    """Each demo review as the platform posts it, with its review id if it has one of its own
    and its age."""
    for review_id, business_id, reviewer_id, rating, title, text, source, days in REVIEWS:
        yield (
            _review_in(
                external_id_of(review_id), business_id, reviewer_id, rating, title, text, source
            ),
            review_id,
            timedelta(days=days),
        )
    for external_id, business_id, reviewer_id, rating, subject, text, source, hours in POSTED:
        yield (
            _review_in(external_id, business_id, reviewer_id, rating, subject, text, source),
            None,
            timedelta(hours=hours),
        )


def _review_in(
    external_id: str,
    business_id: str,
    reviewer_id: str,
    rating: int,
    title: str | None,
    text: str,
    source: ReviewSource,
) -> ReviewIn:
    _, display_name, email = _REVIEWER[reviewer_id]
    return ReviewIn(
        external_id=external_id,
        business_id=business_id,
        reviewer=ReviewerIn(id=reviewer_id, display_name=display_name, email=email),
        rating=rating,
        title=title,
        text=text,
        source=source,
    )
