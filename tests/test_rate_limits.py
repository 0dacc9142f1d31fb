"""Request limits (DESIGN rule 12, acceptance 4 of issue 18): every API key, and the anonymous
notice form per client address, answer 429 ``rate_limited`` with ``Retry-After`` past their
limit, change nothing when they do, and serve again once the window has moved on."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI

from delivery.links import Links, Purpose
from starter.web.app import create_app
from tests.conftest import Harness
from tests.web import as_

WHY = "It calls a named shop assistant a thief, which is defamation under the Criminal Code."
HERE, ELSEWHERE = "203.0.113.7", "198.51.100.20"


def _app(h: Harness, **limits: str) -> FastAPI:
    return create_app(h.settings.model_copy(update=limits), h.service)


@asynccontextmanager
async def _from(app: FastAPI, address: str = HERE) -> AsyncIterator[httpx.AsyncClient]:
    """A client of ``app`` connecting from ``address``: the limiter is the app's, shared."""
    transport = httpx.ASGITransport(app=app, client=(address, 50123))
    async with httpx.AsyncClient(transport=transport, base_url="http://reviewdesk.test") as client:
        yield client


def _refused(response: httpx.Response, longest: int = 60) -> int:
    """Asserts a 429 rate_limited and returns its Retry-After."""
    assert response.status_code == 429, response.text
    assert response.json()["error"]["code"] == "rate_limited"
    retry_after = int(response.headers["Retry-After"])
    assert 1 <= retry_after <= longest, retry_after
    return retry_after


def _notice(h: Harness, n: int, **change: Any) -> dict[str, Any]:
    return {
        "review_id": h.world.review["organic"],
        "sub_reason": "defamation",
        "explanation": WHY,
        "name": "Nora Notifier",
        "email": f"nora.{n}@public.example",
        "good_faith": True,
        **change,
    }


async def _count(h: Harness, table: str) -> int:
    async with h.db.read() as conn:
        row = await conn.fetch_one(f"SELECT CAST(COUNT(*) AS INTEGER) AS n FROM {table}")
    assert row is not None
    return int(row["n"])


async def _refused_so_far(api: httpx.AsyncClient, limit: str) -> float:
    """What an operator reads in the web app's metrics."""
    scraped = await api.get("/metrics")
    found = re.search(
        rf'^reviewdesk_rate_limited_total{{limit="{limit}"}} (\S+)$', scraped.text, re.M
    )
    assert found is not None, scraped.text[:2000]
    return float(found.group(1))


async def test_the_sixth_request_of_a_key_in_a_minute_is_429_and_other_keys_are_still_served(
    live: Harness,
) -> None:
    h, w = live, live.world
    business, other, moderator = (w.keys[k] for k in (w.business, w.other_business, w.moderator))
    app = _app(h, api_rate_limit="5/minute")
    async with _from(app) as api:
        refused_before = await _refused_so_far(api, "key")
        # A wrong key is a 401 and counts against no one.
        for _ in range(8):
            assert (
                await api.get("/api/v1/contacts", headers=as_("rd_biz_wrong"))
            ).status_code == 401
        for _ in range(5):
            assert (await api.get("/api/v1/contacts", headers=as_(business))).status_code == 200

        # The sixth, a request that would open a contact: refused, and nothing is opened.
        sixth = await api.post(
            f"/api/v1/reviews/{w.review['organic']}/contacts",
            json={"message": "Could you tell us your order number?", "requested": []},
            headers=as_(business),
        )
        _refused(sixth)
        assert await _count(h, "contacts") == 0
        # Any route, the same key: the count is the key's, not the route's.
        _refused(await api.get("/api/v1/flags", headers=as_(business)))

        # Another business's key and a moderator's key are served, even from the same address.
        for _ in range(4):
            assert (await api.get("/api/v1/contacts", headers=as_(other))).status_code == 200
        assert (await api.get("/api/v1/reports", headers=as_(moderator))).status_code == 200

        assert await _refused_so_far(api, "key") == refused_before + 2


async def test_a_key_is_served_again_once_its_window_has_moved_on(live: Harness) -> None:
    h, w = live, live.world
    key = w.keys[w.business]
    app = _app(h, api_rate_limit="5 per 2 seconds")
    async with _from(app) as api:
        for _ in range(5):
            assert (await api.get("/api/v1/contacts", headers=as_(key))).status_code == 200
        retry_after = _refused(await api.get("/api/v1/contacts", headers=as_(key)), longest=2)
        await asyncio.sleep(retry_after + 0.1)
        assert (await api.get("/api/v1/contacts", headers=as_(key))).status_code == 200


async def test_the_sixth_notice_from_one_address_is_refused_and_not_stored(live: Harness) -> None:
    h = live
    app = _app(h, notice_rate_limit="5/minute")
    async with _from(app) as api, _from(app, ELSEWHERE) as someone_else:
        refused_before = await _refused_so_far(api, "notice")
        # A malformed notice counts too: the count comes before the body is checked.
        malformed = await api.post("/api/v1/notices", json=_notice(h, 0, good_faith=False))
        assert malformed.status_code == 422
        for n in range(1, 5):
            response = await api.post("/api/v1/notices", json=_notice(h, n))
            assert response.status_code == 202, response.text
        assert await _count(h, "notices") == 4

        sixth = await api.post("/api/v1/notices", json=_notice(h, 6))
        _refused(sixth)
        assert "nora.6" not in sixth.text
        # The public form's POST shares the count: refused too, before its CSRF check.
        form = await api.post(
            f"/reviews/{h.world.review['organic']}/notice",
            data={"csrf": "x", "explanation": WHY, "good_faith": "yes"},
        )
        assert form.status_code == 429 and int(form.headers["Retry-After"]) >= 1
        assert await _count(h, "notices") == 4

        # Someone else, from another address, is served.
        other = await someone_else.post("/api/v1/notices", json=_notice(h, 7))
        assert other.status_code == 202, other.text
        assert await _count(h, "notices") == 5
        assert await _refused_so_far(api, "notice") == refused_before + 2


async def test_the_public_notice_form_past_its_limit_answers_in_words_and_stores_nothing(
    live: Harness,
) -> None:
    h, w = live, live.world
    review_id = w.review["external"]
    app = _app(h, notice_rate_limit="5/minute")
    async with _from(app) as web:
        page = await web.get(f"/reviews/{review_id}/notice")
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert csrf is not None

        def fields(n: int) -> dict[str, str]:
            return {
                "csrf": csrf.group(1),
                "sub_reason": "hate_speech",
                "explanation": WHY,
                "name": "Nora Notifier",
                "email": f"nora.form.{n}@public.example",
                "good_faith": "yes",
                "idempotency_key": f"form-{n}",
            }

        for n in range(5):
            done = await web.post(f"/reviews/{review_id}/notice", data=fields(n))
            assert done.status_code == 200 and "Thank you" in done.text
        stored = await _count(h, "notices")
        assert stored == 5

        refused = await web.post(f"/reviews/{review_id}/notice", data=fields(5))
        assert refused.status_code == 429
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
        assert "Too many notices have been sent from your connection" in refused.text
        assert re.search(r"try again in (\d+ seconds|a minute)", refused.text), refused.text
        assert "rate_limited" not in refused.text.replace('data-code="rate_limited"', "")
        assert "Retry-After" not in refused.text
        assert await _count(h, "notices") == stored

        # The form itself still opens (only sending counts), and a notifier's one-time link
        # page is not limited: its token bounds it.
        assert (await web.get(f"/reviews/{review_id}/notice")).status_code == 200
        notices = await _notices(h)
        token = Links.of(h.settings).token(Purpose.NOTICE, notices[0])

        async def link_opens() -> bool:
            return (await web.get(f"/notice/{token}")).status_code == 200

        await h.eventually(link_opens)
        for _ in range(6):
            assert (await web.get(f"/notice/{token}")).status_code == 200


async def _notices(h: Harness) -> list[str]:
    async with h.db.read() as conn:
        rows = await conn.fetch_all("SELECT id FROM notices ORDER BY received_at")
    return [str(r["id"]) for r in rows]
