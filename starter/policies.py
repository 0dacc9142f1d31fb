"""A business's response policies (DESIGN rule 20), for the API, the pages and the CLI: list
them with the defaults that follow, add one at a place in the order, remove one.

The first policy that matches a review's rating wins, then the defaults (``domain.desk``). A
ticket's target is fixed when it opens: a change applies to new tickets only. Every operation
is checked against the business: another's policy is refused as one that does not exist.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Annotated

from pydantic import BaseModel, Field, field_validator

from domain.desk import DEFAULT_POLICIES, Policy
from domain.refusals import Refusal, Refused
from settings import Settings
from starter.inputs import _Input
from store import Store, accounts, policies
from store.errors import Conflict
from store.records import ResponsePolicy, now

MIN_TARGET_HOURS = 1
MAX_TARGET_HOURS = 30 * 24
# Each new ticket tries them in order; a short list is also one a person can read.
MAX_POLICIES = 20


class PolicyIn(_Input):
    """A response policy to add: which ratings it matches and the time to respond."""

    name: str = Field(min_length=1, max_length=100)
    ratings: list[Annotated[int, Field(ge=1, le=5)]] = Field(min_length=1, max_length=5)
    """Stars it matches, 1 to 5."""
    target_hours: int = Field(ge=MIN_TARGET_HOURS, le=MAX_TARGET_HOURS)
    """From 1 hour to 30 days (720 hours)."""
    position: int | None = Field(default=None, ge=0, le=1000)
    """Its place in the order, 0 first; none, or past the end: after the others."""

    @field_validator("name")
    @classmethod
    def _one_line(cls, value: str) -> str:
        if any(ord(c) < 32 for c in value):
            raise ValueError("must be one line of text")
        return value

    @field_validator("ratings")
    @classmethod
    def _each_once(cls, value: list[int]) -> list[int]:
        return sorted(set(value))


class PolicyRule(BaseModel):
    """What a policy says: the defaults have no id."""

    name: str
    ratings: list[int]
    target_hours: float
    words: str
    """In words: "1-2 stars: within 2 days"."""


class PolicyOut(PolicyRule):
    id: str
    position: int | None
    """0 first: tried before those after it; None once removed (a retried add finds it so)."""
    created_at: datetime


class PolicyList(BaseModel):
    """The business's own policies in the order they are tried, then the defaults."""

    policies: list[PolicyOut]
    defaults: list[PolicyRule]


def ratings_words(ratings: list[int] | frozenset[int]) -> str:
    """ "1-2 stars", "5 stars", "1 star", "1, 3 and 5 stars"."""
    stars = sorted(ratings)
    unit = "star" if stars == [1] else "stars"
    if len(stars) > 1 and stars == list(range(stars[0], stars[-1] + 1)):
        return f"{stars[0]}-{stars[-1]} {unit}"
    if len(stars) == 1:
        return f"{stars[0]} {unit}"
    return f"{', '.join(str(s) for s in stars[:-1])} and {stars[-1]} {unit}"


def target_words(target: timedelta) -> str:
    """ "within 2 days", "within 1 day", "within 4 hours"."""
    minutes = int(target.total_seconds() // 60)
    if minutes % (24 * 60) == 0:
        days = minutes // (24 * 60)
        return f"within {days} day" if days == 1 else f"within {days} days"
    if minutes % 60 == 0:
        hours = minutes // 60
        return f"within {hours} hour" if hours == 1 else f"within {hours} hours"
    return f"within {minutes} minutes"


def _rule(policy: Policy) -> PolicyRule:
    return PolicyRule(
        name=policy.name,
        ratings=sorted(policy.ratings),
        target_hours=policy.target.total_seconds() / 3600,
        words=f"{ratings_words(policy.ratings)}: {target_words(policy.target)}",
    )


def _out(policy: ResponsePolicy, position: int | None) -> PolicyOut:
    [rule] = policies.as_rules([policy])
    return PolicyOut(
        **_rule(rule).model_dump(), id=policy.id, position=position, created_at=policy.created_at
    )


DEFAULTS = [_rule(p) for p in DEFAULT_POLICIES]


class Policies:
    def __init__(self, db: Store, settings: Settings) -> None:
        self.db = db
        self.settings = settings

    async def of(self, business_id: str) -> PolicyList:
        """The business's own policies in order, then the defaults."""
        async with self.db.read() as conn:
            own = await policies.policies_of(conn, business_id)
        return PolicyList(policies=[_out(p, i) for i, p in enumerate(own)], defaults=DEFAULTS)

    async def policy(self, business_id: str, policy_id: str) -> PolicyOut:
        found = await self.of(business_id)
        for policy in found.policies:
            if policy.id == policy_id:
                return policy
        raise Refused(Refusal.POLICY_NOT_FOUND)

    async def add(
        self, business_id: str, body: PolicyIn, *, idempotency_key: str | None = None
    ) -> PolicyOut:
        """Added again with the same ``idempotency_key``: the first policy, not a second one."""
        idempotency_key = idempotency_key or None  # an empty header is no key
        if idempotency_key and (first := await self._added(business_id, idempotency_key)):
            return first
        policy_id = f"rp_{secrets.token_hex(10)}"
        try:
            async with self.db.tx() as conn:
                if await accounts.get_business(conn, business_id) is None:
                    raise Refused(Refusal.BUSINESS_NOT_FOUND)
                own = await policies.policies_of(conn, business_id)
                if len(own) >= MAX_POLICIES:
                    raise Refused(Refusal.POLICY_LIMIT_REACHED)
                # The place in the order is an index; the store shifts the stored positions
                # from the one now there.
                at_index = body.position if body.position is not None else len(own)
                await policies.add_policy(
                    conn,
                    id=policy_id,
                    business_id=business_id,
                    name=body.name,
                    ratings=body.ratings,
                    target_minutes=body.target_hours * 60,
                    created_at=now(),
                    position=own[at_index].position if at_index < len(own) else None,
                    idempotency_key=idempotency_key,
                )
        except Conflict:
            # The same key at once from two requests: the first one stands.
            if idempotency_key and (first := await self._added(business_id, idempotency_key)):
                return first
            raise
        return await self.policy(business_id, policy_id)

    async def _added(self, business_id: str, idempotency_key: str) -> PolicyOut | None:
        async with self.db.read() as conn:
            first = await policies.policy_for_idempotency_key(conn, business_id, idempotency_key)
        if first is None:
            return None
        found = await self.of(business_id)
        # Removed since: the answer is still the policy that was added, out of the order.
        return next((p for p in found.policies if p.id == first.id), None) or _out(first, None)

    async def remove(self, business_id: str, policy_id: str) -> PolicyOut:
        """New tickets no longer match it; tickets already open keep their target."""
        removed = await self.policy(business_id, policy_id)
        async with self.db.tx() as conn:
            if not await policies.remove_policy(conn, business_id, policy_id, now()):
                raise Refused(Refusal.POLICY_NOT_FOUND)
        return removed
