"""Every API route: success, each refusal, ownership, auth, malformed input (issue 4: 1 and 3)."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import anyio.to_thread
import httpx
import pytest

from starter.service import Reviewdesk
from tests.conftest import Harness
from tests.web import as_, web_client

ASK = {"message": "Could you share your order number?", "requested": ["order_reference"]}


def _error(response: httpx.Response) -> str:
    body: dict[str, Any] = response.json()
    assert set(body) == {"error"} and {"code", "message"} <= set(body["error"])
    return str(body["error"]["code"])


async def _contact(api: httpx.AsyncClient, h: Harness, review: str = "organic") -> dict[str, Any]:
    response = await api.post(
        f"/api/v1/reviews/{h.world.review[review]}/contacts",
        json=ASK,
        headers=as_(h.world.keys[h.world.business]),
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_contact_request_answers_201_with_the_open_contact_and_refusals_with_reasons(
    live: Harness,
) -> None:
    h, w = live, live.world
    biz, other = as_(w.keys[w.business]), as_(w.keys[w.other_business])
    async with web_client(h) as api:
        created = await _contact(api, h)
        assert created["status"] == "awaiting_reply"
        assert created["requested"] == ["order_reference"]
        assert "reviewer" not in str(created).lower() or w.reviewer_email not in str(created)
        assert w.reviewer_email not in str(created)

        def url(review: str) -> str:
            return f"/api/v1/reviews/{w.review.get(review, review)}/contacts"

        again = await api.post(url("organic"), json=ASK, headers=biz)
        assert (again.status_code, _error(again)) == (409, "open_contact")
        missing = await api.post(url("rv_nope"), json=ASK, headers=biz)
        theirs = await api.post(url("organic2"), json=ASK, headers=other)
        assert (missing.status_code, _error(missing)) == (404, "review_not_found")
        # Another business's review answers exactly like one that does not exist.
        assert (theirs.status_code, theirs.json()) == (404, missing.json())
        platform = await api.post(url("platform"), json=ASK, headers=biz)
        assert (platform.status_code, _error(platform)) == (422, "not_eligible_source")
        removed = await api.post(url("removed"), json=ASK, headers=biz)
        assert (removed.status_code, _error(removed)) == (422, "review_not_visible")
        # Someone else's open contact does not show through as a 409 either.
        peek = await api.post(url("organic"), json=ASK, headers=other)
        assert (peek.status_code, peek.json()) == (404, missing.json())


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"message": ""},
        {"message": 42},
        {"message": "x" * 2001},
        {"message": "hi", "requested": ["passport_scan"]},
        {"message": "hi", "requested": "order_reference"},
        {"message": "hi", "extra": True},
        {"message": "bell\x07"},
    ],
    ids=["empty", "blank", "number", "oversized", "unknown-item", "not-a-list", "extra", "control"],
)
async def test_malformed_contact_requests_get_422_and_change_nothing(
    live: Harness, body: dict[str, Any]
) -> None:
    h, w = live, live.world
    async with web_client(h) as api:
        response = await api.post(
            f"/api/v1/reviews/{w.review['organic']}/contacts",
            json=body,
            headers=as_(w.keys[w.business]),
        )
        assert (response.status_code, _error(response)) == (422, "invalid_input")
        listed = await api.get("/api/v1/contacts", headers=as_(w.keys[w.business]))
        assert listed.json() == []
    assert (await h.review(w.review["organic"])).labels == []


async def test_a_retried_request_with_the_same_idempotency_key_returns_the_first_answer(
    live: Harness,
) -> None:
    h, w = live, live.world
    headers = {**as_(w.keys[w.business]), "Idempotency-Key": "req-1"}
    async with web_client(h) as api:
        url = f"/api/v1/reviews/{w.review['organic']}/contacts"
        first = await api.post(url, json=ASK, headers=headers)
        second = await api.post(url, json=ASK, headers=headers)
        assert first.status_code == second.status_code == 201
        assert first.json()["id"] == second.json()["id"]
        refused = {**headers, "Idempotency-Key": "req-2"}
        platform = f"/api/v1/reviews/{w.review['platform']}/contacts"
        one = await api.post(platform, json=ASK, headers=refused)
        two = await api.post(platform, json=ASK, headers=refused)
        assert one.status_code == two.status_code == 422 and one.json() == two.json()
        listed = await api.get("/api/v1/contacts", headers=as_(w.keys[w.business]))
        assert [c["id"] for c in listed.json()] == [first.json()["id"]]
    assert len(await h.messages("contact.requested", "reviewer")) == 1


async def test_no_key_or_a_wrong_key_is_401_and_the_wrong_role_is_403(live: Harness) -> None:
    h, w = live, live.world
    async with web_client(h) as api:
        for headers in ({}, as_("rd_biz_forged"), {"Authorization": "Basic abc"}):
            for method, path in (
                ("POST", f"/api/v1/reviews/{w.review['organic']}/contacts"),
                ("GET", "/api/v1/contacts"),
                ("GET", "/api/v1/contacts/ct_x"),
                ("POST", "/api/v1/contacts/ct_x/report"),
                ("POST", "/api/v1/contacts/ct_x/close"),
                ("GET", "/api/v1/reports?status=pending"),
                ("POST", "/api/v1/reports/rp_x/decision"),
            ):
                response = await api.request(method, path, json=ASK, headers=headers)
                assert (response.status_code, _error(response)) == (401, "unauthorized"), path
                assert response.headers["www-authenticate"] == "Bearer"
        as_business = await api.get("/api/v1/reports", headers=as_(w.keys[w.business]))
        assert (as_business.status_code, _error(as_business)) == (403, "forbidden")
        as_moderator = await api.get("/api/v1/contacts", headers=as_(w.keys[w.moderator]))
        assert (as_moderator.status_code, _error(as_moderator)) == (403, "forbidden")


async def test_contacts_report_close_and_decision_routes_with_their_refusals(live: Harness) -> None:
    h, w = live, live.world
    biz, other, mod = (
        as_(w.keys[w.business]),
        as_(w.keys[w.other_business]),
        as_(w.keys[w.moderator]),
    )
    async with web_client(h) as api:
        contact = await _contact(api, h)
        cid = contact["id"]
        report_url = f"/api/v1/contacts/{cid}/report"

        listed = await api.get("/api/v1/contacts", headers=biz)
        assert [c["id"] for c in listed.json()] == [cid]
        assert (await api.get("/api/v1/contacts", headers=other)).json() == []
        shown = await api.get(f"/api/v1/contacts/{cid}", headers=biz)
        assert shown.status_code == 200 and shown.json()["deadline"]
        assert [e["type"] for e in shown.json()["history"]] == ["opened", "request_sent"]
        hidden = await api.get(f"/api/v1/contacts/{cid}", headers=other)
        unknown = await api.get("/api/v1/contacts/ct_unknown", headers=biz)
        assert hidden.status_code == unknown.status_code == 404
        assert hidden.json() == unknown.json()

        early = await api.post(report_url, json={"grounds": "no_response"}, headers=biz)
        assert (early.status_code, _error(early)) == (409, "window_open")
        bad = await api.post(report_url, json={"grounds": "i_dont_like_it"}, headers=biz)
        assert (bad.status_code, _error(bad)) == (422, "invalid_input")
        theirs = await api.post(report_url, json={"grounds": "no_response"}, headers=other)
        assert (theirs.status_code, _error(theirs)) == (404, "contact_not_found")

        token = await h.reply_token(cid)
        declined = await api.post(f"/reply/{token}", data={"action": "decline"})
        assert declined.status_code == 200
        wrong = await api.post(
            report_url, json={"grounds": "insufficient_information"}, headers=biz
        )
        assert (wrong.status_code, _error(wrong)) == (422, "grounds_mismatch")
        reported = await api.post(report_url, json={"grounds": "no_response"}, headers=biz)
        assert reported.status_code == 202, reported.text
        report = reported.json()
        assert report["status"] == "pending" and report["review"]["visibility"] == "hidden"
        twice = await api.post(report_url, json={"grounds": "no_response"}, headers=biz)
        assert (twice.status_code, _error(twice)) == (409, "already_reported")
        closing = await api.post(f"/api/v1/contacts/{cid}/close", headers=biz)
        assert (closing.status_code, _error(closing)) == (409, "already_reported")

        queue = await api.get("/api/v1/reports?status=pending", headers=mod)
        assert report["id"] in [r["id"] for r in queue.json()]
        decision_url = f"/api/v1/reports/{report['id']}/decision"
        malformed = await api.post(decision_url, json={"decision": "maybe"}, headers=mod)
        assert (malformed.status_code, _error(malformed)) == (422, "invalid_input")
        unknown_report = await api.post(
            "/api/v1/reports/rp_unknown/decision", json={"decision": "reject"}, headers=mod
        )
        assert (unknown_report.status_code, _error(unknown_report)) == (404, "report_not_found")
        decided = await api.post(
            decision_url, json={"decision": "reject", "note": "ok"}, headers=mod
        )
        assert decided.status_code == 200
        assert decided.json()["status"] == "rejected"
        assert decided.json()["review"]["visibility"] == "visible"
        again = await api.post(decision_url, json={"decision": "uphold"}, headers=mod)
        assert (again.status_code, _error(again)) == (409, "already_decided")
        assert (await api.get("/api/v1/reports?status=rejected", headers=mod)).json()[0][
            "id"
        ] == report["id"]

        second = await _contact(api, h, "external")
        closed = await api.post(f"/api/v1/contacts/{second['id']}/close", headers=biz)
        assert closed.status_code == 200 and closed.json()["status"] == "closed"
        again_closed = await api.post(f"/api/v1/contacts/{second['id']}/close", headers=biz)
        assert (again_closed.status_code, _error(again_closed)) == (409, "contact_closed")


async def test_public_reviews_show_labels_placeholders_and_nothing_of_removed_ones(
    live: Harness,
) -> None:
    h, w = live, live.world
    async with web_client(h) as api:
        contact = await _contact(api, h, "organic")
        await _contact(api, h, "external")
        token = await h.reply_token(contact["id"])
        await api.post(f"/reply/{token}", data={"action": "decline"})
        await api.post(
            f"/api/v1/contacts/{contact['id']}/report",
            json={"grounds": "no_response"},
            headers=as_(w.keys[w.business]),
        )
        page = await api.get(f"/api/v1/businesses/{w.business}/reviews")
        assert page.status_code == 200
        reviews = {r["id"]: r for r in page.json()["reviews"]}
        assert reviews[w.review["organic"]] == {
            "id": w.review["organic"],
            "hidden": True,
            "placeholder": "This review is hidden while a report about it is handled.",
            "rating": None,
            "title": None,
            "text": None,
            "author": None,
            "created_at": None,
            "labels": [],
            "reply": None,
        }
        assert reviews[w.review["external"]]["labels"] == ["Reviewer contacted"]
        assert reviews[w.review["external"]]["text"] == "Text of external"
        assert reviews[w.review["organic2"]]["labels"] == []
        assert w.review["removed"] not in reviews
        assert w.reviewer_email not in page.text
        unknown = await api.get("/api/v1/businesses/biz_nope/reviews")
        assert (unknown.status_code, _error(unknown)) == (404, "business_not_found")


async def test_the_reply_link_survives_repeated_gets_and_is_used_up_by_the_post(
    live: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    h, w = live, live.world
    caplog.set_level(logging.DEBUG)
    async with web_client(h) as api:
        contact = await _contact(api, h)
        token = await h.reply_token(contact["id"])
        for _ in range(3):
            page = await api.get(f"/reply/{token}")
            assert page.status_code == 200
            assert "Send reply" in page.text and "Could you share your order number?" in page.text
            assert page.headers["referrer-policy"] == "no-referrer"
        answered = await api.post(
            f"/reply/{token}", data={"action": "reply", "order_reference": "Z-77"}
        )
        assert answered.status_code == 200 and "Thank you" in answered.text
        assert (await api.get(f"/reply/{token}")).status_code == 409
        second = await api.post(f"/reply/{token}", data={"action": "decline"})
        assert second.status_code == 409 and "Already answered" in second.text
        forged = await api.get("/reply/not-a-real-token")
        assert forged.status_code == 404 and contact["id"] not in forged.text
        shown = await api.get(f"/api/v1/contacts/{contact['id']}", headers=as_(w.keys[w.business]))
        assert shown.json()["status"] == "replied"
        assert shown.json()["reply"]["order_reference"] == "Z-77"
    for record in caplog.records:
        if record.name == "httpx":
            continue  # the test's own client, standing in for the reviewer's browser
        assert token not in record.getMessage(), (record.name, record.getMessage()[:300])
    assert any("/reply/<token>" in r.getMessage() for r in caplog.records)


async def test_an_expired_reply_link_says_when_the_window_closed(live: Harness) -> None:
    h = live
    quick = h.settings.model_copy(update={"reply_window": timedelta(seconds=1)})
    h.service = Reviewdesk(h.client, h.db, quick)
    async with web_client(h) as api:
        contact = await _contact(api, h)
        token = await h.reply_token(contact["id"])

        async def closed() -> bool:
            return (await api.get(f"/reply/{token}")).status_code == 410

        await h.eventually(closed)
        page = await api.get(f"/reply/{token}")
        assert "The time to answer" in page.text and "ended on" in page.text
        late = await api.post(f"/reply/{token}", data={"action": "reply", "message": "late"})
        assert late.status_code == 410


async def test_openapi_document_lists_every_route_and_responses_set_referrer_policy(
    live: Harness,
) -> None:
    async with web_client(live) as api:
        spec = await api.get("/api/v1/openapi.json")
        assert spec.status_code == 200
        assert spec.headers["referrer-policy"] == "no-referrer"
        paths = spec.json()["paths"]
        assert set(paths) >= {
            "/api/v1/reviews/{review_id}/contacts",
            "/api/v1/contacts",
            "/api/v1/contacts/{contact_id}",
            "/api/v1/contacts/{contact_id}/report",
            "/api/v1/contacts/{contact_id}/close",
            "/api/v1/reports",
            "/api/v1/reports/{report_id}/decision",
            "/api/v1/businesses/{business_id}/reviews",
        }
        big = await api.post(
            "/api/v1/reviews/x/contacts",
            content=b"{" + b" " * 70000 + b"}",
            headers={"Content-Type": "application/json"},
        )
        assert (big.status_code, _error(big)) == (413, "too_large")


async def test_requests_never_wait_for_a_worker_thread(
    live: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """FastAPI runs a plain function, as a route or a dependency, on a worker thread: under load
    each request then waits for a thread and back. Every route and dependency here is async."""
    hops: list[str] = []
    real = anyio.to_thread.run_sync

    async def counted(func: Any, *args: Any, **kwargs: Any) -> Any:
        hops.append(repr(func))
        return await real(func, *args, **kwargs)

    monkeypatch.setattr(anyio.to_thread, "run_sync", counted)
    w = live.world
    biz, mod = as_(w.keys[w.business]), as_(w.keys[w.moderator])
    async with web_client(live) as api:
        created = await _contact(api, live)
        for path, headers in (
            ("/api/v1/contacts", biz),
            (f"/api/v1/contacts/{created['id']}", biz),
            ("/api/v1/reports?status=pending", mod),
            ("/login", {}),
        ):
            assert (await api.get(path, headers=headers)).status_code == 200, path
    assert hops == []
