"""Sessions end with the key they began with; sign-in cookies are Secure behind https (15.9)."""

from __future__ import annotations

import re

import httpx
import pytest

from starter.web.app import create_app
from tests.conftest import Harness
from tests.terminal import run_cli
from tests.web import as_, web_client


async def _sign_in(web: httpx.AsyncClient, key: str) -> httpx.Response:
    await web.get("/login")
    return await web.post("/login", data={"api_key": key, "csrf": web.cookies["rd_login_csrf"]})


async def test_a_rotated_key_signs_out_its_sessions_and_stops_working(
    live: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    h, w = live, live.world
    old_key = w.keys[w.business]
    async with web_client(h) as web:
        assert (await _sign_in(web, old_key)).headers["location"] == "/dashboard"
        board = await web.get("/dashboard")
        assert board.status_code == 200
        csrf = re.search(r'name="csrf" value="([^"]+)"', board.text)
        assert csrf

        rotated = await run_cli(h, monkeypatch, "key", "rotate", w.business)
        assert rotated.exit_code == 0, rotated.output
        new_key = rotated.output.strip().splitlines()[-1]
        assert new_key.startswith("rd_biz_") and new_key != old_key

        # The same browser, same cookie: signed out at its next page and its next form.
        gone = await web.get("/dashboard")
        assert gone.status_code == 303 and gone.headers["location"] == "/login"
        posted = await web.post(
            f"/dashboard/reviews/{w.review['organic']}/contact",
            data={"csrf": csrf.group(1), "message": "Hello"},
        )
        assert posted.status_code == 401
        assert await h.outbox() == []

        assert (await web.get("/api/v1/contacts", headers=as_(old_key))).status_code == 401
        assert (await web.get("/api/v1/contacts", headers=as_(new_key))).status_code == 200
        assert (await _sign_in(web, old_key)).status_code == 401
        assert (await _sign_in(web, new_key)).headers["location"] == "/dashboard"
        assert (await web.get("/dashboard")).status_code == 200


async def test_rotating_the_key_of_an_unknown_account_is_refused(
    live: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    refused = await run_cli(live, monkeypatch, "key", "rotate", "biz_nobody")
    assert refused.exit_code == 2
    assert "account_not_found" in refused.output


@pytest.mark.parametrize("base", ["https://reviews.example", "http://localhost:8000"])
async def test_the_sign_in_cookies_are_secure_behind_https(live: Harness, base: str) -> None:
    h, w = live, live.world
    app = create_app(h.settings.model_copy(update={"public_base_url": base}), h.service)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=base) as web:
        form = await web.get("/login")
        signed = await web.post(
            "/login",
            data={"api_key": w.keys[w.business], "csrf": web.cookies["rd_login_csrf"]},
        )
    assert signed.status_code == 303
    cookies = form.headers.get_list("set-cookie") + signed.headers.get_list("set-cookie")
    named = {c.split("=", 1)[0]: c for c in cookies}
    assert set(named) == {"rd_login_csrf", "rd_session"}
    for cookie in cookies:
        assert ("; secure" in cookie.lower()) is base.startswith("https://"), cookie
