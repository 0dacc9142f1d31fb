"""Hostile callers: every route as each kind of caller, on each business's objects; reply tokens
forged, truncated, expired, reused and crossed; and no route ever shows a reviewer's address."""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from delivery.links import Links, Purpose
from domain.enums import Answer, RequestedItem
from starter.inputs import ContactRequestBody
from starter.service import Reviewdesk
from store import outbox
from tests.running import RunningService, running_world, snapshot
from tests.world import World

ASK = {"message": "Could you share your order number?", "requested": ["order_reference"]}


@pytest.fixture
def running(dev_env: WorkflowEnvironment, tmp_path: Path) -> Iterator[tuple[RunningService, World]]:
    with running_world(dev_env.client.service_client.config.target_host, tmp_path) as found:
        yield found


def _token(service: RunningService, contact_id: str) -> str:
    async def find(s: Reviewdesk) -> str:
        async with s.db.read() as conn:
            message = await outbox.get_message(conn, f"{contact_id}:contact.requested:reviewer")
        assert message is not None
        # Put into the email as it is sent: the outbox holds it without the link.
        return Links.of(s.settings).token(Purpose.REPLY, contact_id)

    return service.call(find)


def _wait_for_message(service: RunningService, key: str) -> None:
    async def recorded(s: Reviewdesk) -> bool:
        async with s.db.read() as conn:
            return await outbox.get_message(conn, key) is not None

    for _ in range(300):
        if service.call(recorded):
            return
        time.sleep(0.1)
    raise AssertionError(f"{key} was never recorded")


class Caller:
    def __init__(self, http: httpx.Client, key: str | None, seen: list[httpx.Response]) -> None:
        self.http, self.key, self.seen = http, key, seen

    def __call__(self, method: str, path: str, **kwargs: object) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.key}"} if self.key else {}
        response = self.http.request(method, path, headers=headers, **kwargs)  # type: ignore[arg-type]
        self.seen.append(response)
        return response


def test_every_route_as_each_caller_on_each_business_objects(
    running: tuple[RunningService, World],
) -> None:
    service, w = running
    seen: list[httpx.Response] = []
    with httpx.Client(base_url=service.base_url, timeout=30) as http:
        callers = {
            "a": Caller(http, w.keys[w.business], seen),
            "b": Caller(http, w.keys[w.other_business], seen),
            "mod": Caller(http, w.keys[w.moderator], seen),
            "anon": Caller(http, None, seen),
            "forged": Caller(http, "rd_biz_" + secrets.token_urlsafe(32), seen),
        }
        a_reviews = (w.review["organic"], w.review["organic2"], w.review["external"])
        b_review = w.review["others"]
        # Objects of both businesses: a contact each, a closed window each, one report of A's.
        a1 = callers["a"]("POST", f"/api/v1/reviews/{a_reviews[0]}/contacts", json=ASK).json()
        a2 = callers["a"]("POST", f"/api/v1/reviews/{a_reviews[1]}/contacts", json=ASK).json()
        b1 = callers["b"]("POST", f"/api/v1/reviews/{b_review}/contacts", json=ASK).json()
        for contact in (a1, b1):
            http.post(f"/reply/{_token(service, contact['id'])}", data={"action": "decline"})
        report = callers["a"](
            "POST", f"/api/v1/contacts/{a2['id']}/report", json={"grounds": "no_response"}
        )
        assert report.status_code == 409  # a2's window is still open
        http.post(f"/reply/{_token(service, a2['id'])}", data={"action": "decline"})
        rp = callers["a"](
            "POST", f"/api/v1/contacts/{a2['id']}/report", json={"grounds": "no_response"}
        ).json()

        # The report's own workflow tells the reviewer just after the 202: let it finish first.
        _wait_for_message(service, f"{rp['id']}:report.opened:reviewer")
        before = snapshot(service)
        for other, contact, review in (("b", a1, a_reviews[2]), ("a", b1, None)):
            cid = contact["id"]
            routes: list[tuple[str, str, Any]] = [
                ("GET", f"/api/v1/contacts/{cid}", None),
                ("POST", f"/api/v1/contacts/{cid}/report", {"grounds": "no_response"}),
                ("POST", f"/api/v1/contacts/{cid}/close", None),
            ]
            if review:
                routes.append(("POST", f"/api/v1/reviews/{review}/contacts", ASK))
            for method, path, body in routes:
                assert callers[other](method, path, json=body).status_code == 404, path
                assert callers["mod"](method, path, json=body).status_code == 403, path
                assert callers["anon"](method, path, json=body).status_code == 401, path
                assert callers["forged"](method, path, json=body).status_code == 401, path
            listed = [c["id"] for c in callers[other]("GET", "/api/v1/contacts").json()]
            assert cid not in listed
        decision = f"/api/v1/reports/{rp['id']}/decision"
        for who, status in (("a", 403), ("b", 403), ("anon", 401), ("forged", 401)):
            assert callers[who]("GET", "/api/v1/reports").status_code == status, who
            assert callers[who]("POST", decision, json={"decision": "reject"}).status_code == status
        # None of that changed anything.
        assert snapshot(service) == before

        # Pages: another business's contact through a signed-in form is as unknown as via the API.
        http.get("/login")
        page = http.post(
            "/login",
            data={"api_key": w.keys[w.other_business], "csrf": http.cookies["rd_login_csrf"]},
        )
        assert page.status_code == 303 and page.headers["location"] == "/dashboard"
        dashboard = http.get("/dashboard")
        assert a1["id"] not in dashboard.text and w.review["organic"] not in dashboard.text
        seen.append(dashboard)
        csrf = re.search(r'name="csrf" value="([^"]+)"', dashboard.text)
        assert csrf
        crossed = http.post(f"/dashboard/contacts/{a1['id']}/close", data={"csrf": csrf.group(1)})
        assert crossed.status_code == 404
        assert http.get("/moderation").headers.get("location") == "/login"
        assert snapshot(service) == before

        # The owners, last: each may do what the others could not.
        assert callers["a"]("GET", f"/api/v1/contacts/{a1['id']}").status_code == 200
        assert callers["b"]("POST", f"/api/v1/contacts/{b1['id']}/close").status_code == 200
        assert callers["mod"]("GET", "/api/v1/reports").status_code == 200
        assert callers["mod"]("POST", decision, json={"decision": "reject"}).status_code == 200
        for who in ("a", "b", "mod", "anon"):
            seen.append(callers[who]("GET", f"/api/v1/businesses/{w.business}/reviews"))

    # No response of any route, to anyone, carried the reviewer's address.
    for response in seen:
        assert w.reviewer_email not in response.text
        assert w.reviewer_email not in str(response.headers)


def test_reply_tokens_forged_truncated_expired_reused_and_crossed(
    running: tuple[RunningService, World],
) -> None:
    service, w = running
    with httpx.Client(base_url=service.base_url, timeout=30) as http:
        key = {"Authorization": f"Bearer {w.keys[w.business]}"}
        first = http.post(
            f"/api/v1/reviews/{w.review['organic']}/contacts", json=ASK, headers=key
        ).json()
        second = http.post(
            f"/api/v1/reviews/{w.review['external']}/contacts", json=ASK, headers=key
        ).json()
        token, other = _token(service, first["id"]), _token(service, second["id"])

        for bad in (secrets.token_urlsafe(32), token[:-1], token[:10], token + "x", "%00"):
            assert http.get(f"/reply/{bad}").status_code == 404
            assert http.post(f"/reply/{bad}", data={"action": "decline"}).status_code == 404
        # The other contact's token answers the other contact, never this one.
        assert (
            http.post(f"/reply/{other}", data={"action": "reply", "message": "hi"}).status_code
            == 200
        )
        first_now = http.get(f"/api/v1/contacts/{first['id']}", headers=key).json()
        assert first_now["status"] == "awaiting_reply" and first_now["reply"] is None
        # Used once, then refused.
        assert http.post(f"/reply/{token}", data={"action": "decline"}).status_code == 200
        assert http.post(f"/reply/{token}", data={"action": "reply"}).status_code == 409
        assert http.post(f"/reply/{other}", data={"action": "decline"}).status_code == 409

        # Expired: a contact opened with a one-second window.
        async def quick(s: Reviewdesk) -> str:
            short = s.settings.model_copy(update={"reply_window": timedelta(seconds=1)})
            view = await Reviewdesk(s.client, s.db, short).request_contact(
                w.business,
                w.review["organic2"],
                ContactRequestBody(message="Quick one", requested=[RequestedItem.ORDER_REFERENCE]),
            )
            return view.contact.id

        expired = _token(service, service.call(quick))
        for _ in range(100):
            if http.get(f"/reply/{expired}").status_code == 410:
                break
            time.sleep(0.1)
        assert http.get(f"/reply/{expired}").status_code == 410
        assert (
            http.post(f"/reply/{expired}", data={"action": Answer.REPLY.value}).status_code == 410
        )
