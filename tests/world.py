"""Test data with ids unique to each test: workflow ids are per review, servers are shared."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import timedelta

from domain.desk import handle_for
from domain.enums import MemberRole, ReviewSource, Visibility
from store import Store, accounts, members, reviews
from store.accounts import hash_secret
from store.records import now


@dataclass
class World:
    business: str
    other_business: str
    moderator: str
    # Decides appeals: never the moderator who made the decision appealed.
    second_moderator: str
    reviewer: str
    reviewer_email: str
    business_email: str
    # The desk (issue 19): the platform that posts reviews, and an agent in each business's team
    # (``keys`` holds their keys under these ids; the owner signs in with the business's key).
    platform: str = ""
    agent: str = ""
    agent_email: str = ""
    other_agent: str = ""
    review: dict[str, str] = field(default_factory=dict)
    keys: dict[str, str] = field(default_factory=dict)


async def make_world(db: Store) -> World:
    tag = secrets.token_hex(4)
    w = World(
        business=f"biz_{tag}",
        other_business=f"biz_other_{tag}",
        moderator=f"mod_{tag}",
        second_moderator=f"mod_second_{tag}",
        reviewer=f"rvr_{tag}",
        reviewer_email=f"reviewer.{tag}@private.example",
        business_email=f"owner.{tag}@business.example",
        platform=f"pf_{tag}",
        agent=f"mb_agent_{tag}",
        agent_email=f"alex.{tag}@business.example",
        other_agent=f"mb_other_agent_{tag}",
    )
    at = now()
    async with db.tx() as conn:
        for business, email in (
            (w.business, w.business_email),
            (w.other_business, f"other.{tag}@business.example"),
        ):
            w.keys[business] = f"rd_biz_{secrets.token_urlsafe(16)}"
            await accounts.add_business(
                conn,
                id=business,
                name=f"Shop {business}",
                email=email,
                api_key_hash=hash_secret(w.keys[business]),
                created_at=at,
            )
        for moderator, name in ((w.moderator, "Mo"), (w.second_moderator, "Sam")):
            w.keys[moderator] = f"rd_mod_{secrets.token_urlsafe(16)}"
            await accounts.add_moderator(
                conn,
                id=moderator,
                name=name,
                api_key_hash=hash_secret(w.keys[moderator]),
                created_at=at,
            )
        w.keys[w.platform] = f"rd_pf_{secrets.token_urlsafe(16)}"
        await accounts.add_platform(
            conn,
            id=w.platform,
            name="The platform",
            api_key_hash=hash_secret(w.keys[w.platform]),
            created_at=at,
        )
        for agent, business, name, email in (
            (w.agent, w.business, "Alex Agent", w.agent_email),
            (w.other_agent, w.other_business, "Olive Other", f"olive.{tag}@business.example"),
        ):
            w.keys[agent] = f"rd_agt_{secrets.token_urlsafe(16)}"
            await members.add_member(
                conn,
                id=agent,
                business_id=business,
                name=name,
                handle=handle_for(name).split(".")[0],
                email=email,
                role=MemberRole.AGENT,
                api_key_hash=hash_secret(w.keys[agent]),
                created_at=at,
            )
        await accounts.add_reviewer(
            conn, id=w.reviewer, display_name="Robin R.", email=w.reviewer_email, created_at=at
        )
        specs = {
            "organic": (w.business, ReviewSource.ORGANIC, Visibility.VISIBLE),
            "organic2": (w.business, ReviewSource.ORGANIC, Visibility.VISIBLE),
            "external": (w.business, ReviewSource.EXTERNAL_INVITATION, Visibility.VISIBLE),
            "platform": (w.business, ReviewSource.PLATFORM_INVITATION, Visibility.VISIBLE),
            "removed": (w.business, ReviewSource.ORGANIC, Visibility.REMOVED),
            "others": (w.other_business, ReviewSource.ORGANIC, Visibility.VISIBLE),
        }
        for name, (business, source, visibility) in specs.items():
            review_id = f"rv_{name}_{tag}"
            w.review[name] = review_id
            await reviews.add_review(
                conn,
                id=review_id,
                business_id=business,
                reviewer_id=w.reviewer,
                rating=1,
                title=f"Review {name}",
                text=f"Text of {name}",
                source=source,
                created_at=at - timedelta(days=1),
                visibility=visibility,
            )
    return w
