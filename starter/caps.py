"""The misuse guard's limits (DESIGN rules 1 and 12) as the caller is told them: when to try
again, in seconds for the ``Retry-After`` header and in words for the person at a form."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Literal

from domain.refusals import Refusal, Refused

_DONE = {"contacts": "asked to contact {cap} reviewers", "flags": "flagged reviews {cap} times"}


def daily_cap_refused(
    kind: Literal["contacts", "flags"], cap: int, frees_at: datetime | None, at: datetime
) -> Refused:
    """``daily_cap``, with the seconds until a place frees at ``at`` (at least one: a place that
    freed meanwhile is taken by the retry)."""
    seconds = max(1, math.ceil((frees_at - at).total_seconds())) if frees_at else 1
    done = _DONE[kind].format(cap=cap)
    return Refused(
        Refusal.DAILY_CAP,
        f"This business has {done} in the last 24 hours, its daily limit;"
        f" the next is possible {_in(seconds)}.",
        retry_after=seconds,
    )


def cooldown_refused(until: datetime | None) -> Refused:
    if until is None:  # ended meanwhile by nothing we can see: the general words
        return Refused(Refusal.CONTACT_COOLDOWN)
    return Refused(
        Refusal.CONTACT_COOLDOWN,
        "The author of this review was contacted recently; a new contact is possible from"
        f" {until:%-d %B %Y, %H:%M} UTC.",
    )


def _in(seconds: int) -> str:
    minutes = round(seconds / 60)
    if minutes <= 1:
        return "in about a minute"
    if minutes < 50:
        return f"in about {minutes} minutes"
    if minutes < 90:
        return "in about an hour"
    return f"in about {round(seconds / 3600)} hours"
