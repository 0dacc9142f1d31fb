"""The bench's data, written straight into the store: a few businesses with many reviews each.

Every contact needs a review of its own (the contact workflow's id is ``contact-<review id>``),
so there is one review per contact the run will open, plus one for each warm-up contact.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from domain.enums import ReviewSource
from store import Store, accounts, reviews
from store.accounts import hash_secret, new_api_key
from store.records import now

REVIEWS_PER_REVIEWER = 10


@dataclass
class World:
    business_keys: dict[str, str] = field(default_factory=dict)
    moderator_key: str = ""
    # An appeal is decided by another moderator than the one who decided (DESIGN rule 11).
    second_moderator_key: str = ""
    # Review ids by purpose ("warmup", "lifecycle", "open"), each with the business it belongs to.
    reviews: dict[str, list[tuple[str, str]]] = field(default_factory=dict)

    @property
    def businesses(self) -> list[str]:
        return list(self.business_keys)


async def seed(db: Store, *, businesses: int, counts: dict[str, int]) -> World:
    world = World(moderator_key=new_api_key("mod"), second_moderator_key=new_api_key("mod"))
    at = now()
    async with db.tx() as conn:
        for b in range(businesses):
            business_id = f"biz_bench_{b}"
            key = new_api_key("biz")
            world.business_keys[business_id] = key
            await accounts.add_business(
                conn,
                id=business_id,
                name=f"Bench Business {b}",
                email=f"owner{b}@bench.example",
                api_key_hash=hash_secret(key),
                created_at=at,
            )
        await accounts.add_moderator(
            conn,
            id="mod_bench",
            name="Bench Moderator",
            api_key_hash=hash_secret(world.moderator_key),
            created_at=at,
        )
        await accounts.add_moderator(
            conn,
            id="mod_bench_2",
            name="Second Bench Moderator",
            api_key_hash=hash_secret(world.second_moderator_key),
            created_at=at,
        )
        n = 0
        for purpose, count in counts.items():
            made: list[tuple[str, str]] = []
            for i in range(count):
                business_id = f"biz_bench_{n % businesses}"
                reviewer_id = f"rvr_bench_{n // REVIEWS_PER_REVIEWER}"
                if n % REVIEWS_PER_REVIEWER == 0:
                    await accounts.add_reviewer(
                        conn,
                        id=reviewer_id,
                        display_name=f"Reviewer {n // REVIEWS_PER_REVIEWER}",
                        email=f"reviewer{n // REVIEWS_PER_REVIEWER}@bench.example",
                        created_at=at,
                    )
                review_id = f"rv_{purpose}_{i}"
                await reviews.add_review(
                    conn,
                    id=review_id,
                    business_id=business_id,
                    reviewer_id=reviewer_id,
                    rating=1 + n % 5,
                    title=f"Review {n}",
                    text="The order arrived late and the staff did not answer the phone.",
                    source=ReviewSource.ORGANIC if n % 2 else ReviewSource.EXTERNAL_INVITATION,
                    created_at=at - timedelta(minutes=n),
                )
                made.append((review_id, business_id))
                n += 1
            world.reviews[purpose] = made
    return world
