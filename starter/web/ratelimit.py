"""Request limits (DESIGN rule 12): every API key, and the anonymous notice form per address.

One limiter per web app, in its memory: each process counts on its own (see the README,
"Rate limits"). A moving window, exact: a client cannot send twice the limit across the turn
of a minute, and the request past the limit is refused whenever it comes. (The sliding window
counter costs less CPU but estimates, and near a window's turn lets one more through.) A refused
request takes no place in it, so a client that keeps trying is served again as soon as its
oldest counted request leaves the window.
"""

from __future__ import annotations

import math
import time

from fastapi import FastAPI, Request
from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import MovingWindowRateLimiter

from domain.refusals import Refusal, Refused
from settings import Settings
from starter import metrics


class RateLimits:
    def __init__(self, settings: Settings) -> None:
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self.per_key: RateLimitItem = parse(settings.api_rate_limit)
        self.per_address: RateLimitItem = parse(settings.notice_rate_limit)
        self.per_platform: RateLimitItem = parse(settings.platform_rate_limit)

    async def count(self, item: RateLimitItem, kind: str, who: str) -> int | None:
        """Counts one request; None if it is within the limit, else the seconds until the
        window lets one more through (at least 1: the Retry-After header)."""
        if await self._limiter.hit(item, kind, who):
            return None
        stats = await self._limiter.get_window_stats(item, kind, who)
        metrics.rate_limited(kind)
        return max(1, math.ceil(stats.reset_time - time.time()))


def install(app: FastAPI, settings: Settings) -> None:
    app.state.rate_limits = RateLimits(settings)


def _of(request: Request) -> RateLimits:
    limits: RateLimits = request.app.state.rate_limits
    return limits


async def count_key(request: Request, holder: str, *, platform: bool = False) -> None:
    """Every authenticated API request, by who holds the key (``role:id``: an agent's key
    counts apart from its business's owner); once per request, whatever the number of
    dependencies that ask who is calling."""
    if getattr(request.state, "key_counted", False):
        return
    request.state.key_counted = True
    limits = _of(request)
    item = limits.per_platform if platform else limits.per_key
    retry_after = await limits.count(item, "key", holder)
    if retry_after is not None:
        raise Refused(Refusal.RATE_LIMITED, retry_after=retry_after)


def _address(request: Request) -> str:
    # The connection's own address, never an X-Forwarded-For the app reads itself: any client
    # can write that header, and would get a fresh count with every request. Behind a reverse
    # proxy, uvicorn puts the forwarded address here, but only for connections from the hosts
    # in its `forwarded_allow_ips` (the FORWARDED_ALLOW_IPS variable; 127.0.0.1 and ::1 unless
    # set): name the proxy there, or every notice seems to come from the proxy.
    return request.client.host if request.client is not None else "unknown"


async def limit_notices(request: Request) -> None:
    """Dependency of ``POST /api/v1/notices``: runs before the body is checked or anything stored,
    so a malformed notice counts too and a refused one leaves no trace."""
    limits = _of(request)
    retry_after = await limits.count(limits.per_address, "notice", _address(request))
    if retry_after is not None:
        raise Refused(Refusal.RATE_LIMITED, retry_after=retry_after)


async def limit_notice_form(request: Request) -> None:
    """The same count for the public form's POST (one count per address for both ways in),
    answered in words on the error page."""
    limits = _of(request)
    retry_after = await limits.count(limits.per_address, "notice", _address(request))
    if retry_after is not None:
        raise Refused(
            Refusal.RATE_LIMITED,
            "Too many notices have been sent from your connection in a short time. Nothing "
            f"was sent this time; please try again in {_in_words(retry_after)}.",
            retry_after=retry_after,
        )


def _in_words(seconds: int) -> str:
    if seconds < 60:
        return "a second" if seconds == 1 else f"{seconds} seconds"
    minutes = math.ceil(seconds / 60)
    return "a minute" if minutes == 1 else f"{minutes} minutes"
