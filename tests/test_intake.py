"""Every review in (issue 19, acceptance 1): the platform posts each review with its key, once
however often it is sent, and each opens its ticket (tags, priority, requester) with the
ticket's workflow running; the operator's `review add` and `platform key`, and the demo seed,
go the same way."""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import time
from datetime import timedelta
from typing import Any

import httpx
import pytest
from temporalio.client import WorkflowExecutionStatus

from domain import ticket_workflow_id
from domain.desk import ANONYMOUS
from starter.client import connect
from starter.devserver import DevServer
from starter.seed import seed_demo, start_tickets
from starter.service import Reviewdesk
from starter.web.app import create_app
from store import reviews
from store.records import fetch_one
from tests.conftest import Harness
from tests.processes import free_port
from tests.terminal import run_cli
from tests.web import as_, web_client

pytestmark = pytest.mark.devserver


def review_body(h: Harness, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "external_id": f"tp-{secrets.token_hex(6)}",
        "business_id": h.world.business,
        "reviewer": {
            "id": f"rvr_pf_{secrets.token_hex(4)}",
            "display_name": "Casey Q.",
            "email": "casey.reviewer@private.example",
        },
        "rating": 4,
        "title": "Nice shop",
        "text": "Friendly staff, fair prices.",
        "source": "organic",
    }
    return {**body, **changes}


async def post(api: httpx.AsyncClient, h: Harness, body: dict[str, Any]) -> httpx.Response:
    return await api.post("/api/v1/reviews", json=body, headers=as_(h.world.keys[h.world.platform]))


async def stored(h: Harness, external_id: str) -> tuple[int, int]:
    """How many reviews carry this platform id, and how many tickets they have."""
    async with h.db.read() as conn:
        row = await fetch_one(
            conn,
            "SELECT CAST(COUNT(DISTINCT r.id) AS INTEGER) AS reviews,"
            " CAST(COUNT(t.id) AS INTEGER) AS tickets"
            " FROM reviews r LEFT JOIN tickets t ON t.review_id = r.id WHERE r.external_id = ?",
            (external_id,),
        )
    assert row is not None
    return int(row["reviews"]), int(row["tickets"])


async def workflow_status(h: Harness, review_id: str) -> WorkflowExecutionStatus | None:
    described = await h.client.get_workflow_handle(ticket_workflow_id(review_id)).describe()
    return described.status


async def test_the_same_review_posted_twice_makes_one_review_and_one_ticket(live: Harness) -> None:
    h = live
    body = review_body(h)
    async with web_client(h) as api:
        first = await post(api, h, body)
        again = await post(api, h, body)
        # Two at once, as a platform retrying on a timeout might send them.
        racing = review_body(h)
        raced = await asyncio.gather(post(api, h, racing), post(api, h, racing))

    assert first.status_code == 201, first.text
    assert again.status_code == 200 and again.json() == first.json()
    assert await stored(h, body["external_id"]) == (1, 1)
    assert sorted(r.status_code for r in raced) == [200, 201], [r.text for r in raced]
    assert raced[0].json() == raced[1].json()
    assert await stored(h, racing["external_id"]) == (1, 1)
    review = first.json()["review"]
    assert review["external_id"] == body["external_id"] and review["author"] == "Casey Q."
    assert "casey.reviewer" not in first.text  # never the reviewer's address
    assert await workflow_status(h, review["id"]) is WorkflowExecutionStatus.RUNNING


async def test_a_ticket_is_tagged_by_rating_and_negative_ones_are_high_priority(
    live: Harness,
) -> None:
    h = live
    async with web_client(h) as api:
        answers = {
            rating: (await post(api, h, review_body(h, rating=rating))).json()["ticket"]
            for rating in (1, 2, 3, 4, 5)
        }
    tagged = {rating: (set(t["tags"]), t["priority"]) for rating, t in answers.items()}
    assert tagged == {
        1: ({"rating_1", "negative"}, "high"),
        2: ({"rating_2", "negative"}, "high"),
        3: ({"rating_3"}, "normal"),
        4: ({"rating_4", "positive"}, "normal"),
        5: ({"rating_5", "positive"}, "normal"),
    }
    ticket = answers[2]
    assert (ticket["status"], ticket["subject"], ticket["requester"]) == (
        "new",
        "Nice shop",
        "Casey Q.",
    )


async def test_an_anonymous_review_has_an_anonymous_requester_and_author_everywhere(
    live: Harness,
) -> None:
    h = live
    # A reviewer the platform knows by name posts once with it, then without it.
    named = review_body(h, title="Signed review")
    anonymous = review_body(
        h,
        reviewer={**named["reviewer"], "display_name": None},
        title=None,
        rating=2,
    )
    blank = review_body(h, reviewer={**named["reviewer"], "display_name": "   "}, title="Blank")
    async with web_client(h) as api:
        assert (await post(api, h, named)).status_code == 201
        posted = (await post(api, h, anonymous)).json()
        blank_posted = (await post(api, h, blank)).json()
        page = (await api.get(f"/businesses/{h.world.business}")).text
        public = (await api.get(f"/api/v1/businesses/{h.world.business}/reviews")).json()

    assert posted["ticket"]["requester"] == ANONYMOUS == "Anonymous reviewer"
    assert posted["ticket"]["subject"] == "New review"
    assert posted["review"]["author"] == ANONYMOUS and posted["review"]["title"] is None
    assert blank_posted["ticket"]["requester"] == ANONYMOUS
    authors = {r["id"]: r["author"] for r in public["reviews"]}
    assert authors[posted["review"]["id"]] == ANONYMOUS
    card = re.search(rf'data-review="{posted["review"]["id"]}">(.*?)</article>', page, re.S)
    assert card is not None and ANONYMOUS in card.group(1) and "Casey" not in card.group(1)
    assert "Casey Q." in page  # the signed review still shows the name


async def test_only_the_platform_key_posts_reviews(live: Harness) -> None:
    h, w = live, live.world
    body = review_body(h)
    async with web_client(h) as api:
        for who in (w.business, w.moderator, w.agent):
            refused = await api.post("/api/v1/reviews", json=body, headers=as_(w.keys[who]))
            assert refused.status_code == 403, (who, refused.text)
            assert refused.json()["error"]["code"] == "forbidden"
        anonymous = await api.post("/api/v1/reviews", json=body)
        assert anonymous.status_code == 401
        unknown = await post(api, h, {**body, "business_id": "biz_nobody"})
        assert unknown.status_code == 404
        assert unknown.json()["error"]["code"] == "business_not_found"
    assert await stored(h, body["external_id"]) == (0, 0)


BAD: list[dict[str, Any]] = [
    {"rating": 6},
    {"rating": "five"},
    {"rating": None},
    {"text": ""},
    {"source": "bought"},
    {"external_id": "has space"},
    {"business_id": ""},
    {"title": "x" * 5000},
    {"text": "bell\x07"},
    # A title and a name are one line: they become a ticket's subject and requester, which
    # emails' subjects carry.
    {"title": "A\nB"},
    {"title": "Tab\tin the title"},
    {"reviewer": {"id": "rvr_x", "display_name": "Sam\nLee", "email": "sam@r.example"}},
    {"reviewer": {"id": "rvr_x", "display_name": "Sam\u2028Lee", "email": "sam@r.example"}},
    {"reviewer": {"id": "rvr_x", "display_name": "X", "email": "not-an-address"}},
    {"reviewer": {"id": "rvr_x", "display_name": "X"}},
    {"unexpected": "field"},
]


async def test_a_malformed_review_is_refused_422_and_nothing_is_stored(live: Harness) -> None:
    h = live
    async with h.db.read() as conn:
        before = await fetch_one(conn, "SELECT CAST(COUNT(*) AS INTEGER) AS n FROM reviews", ())
    async with web_client(h) as api:
        for change in BAD:
            refused = await post(api, h, review_body(h, **change))
            assert refused.status_code == 422, (change, refused.text)
        garbled = await api.post(
            "/api/v1/reviews",
            content=b"{not json",
            headers={**as_(h.world.keys[h.world.platform]), "content-type": "application/json"},
        )
        assert garbled.status_code == 422, garbled.text
    async with h.db.read() as conn:
        after = await fetch_one(conn, "SELECT CAST(COUNT(*) AS INTEGER) AS n FROM reviews", ())
    assert before is not None and after is not None and after["n"] == before["n"]


async def test_with_temporal_out_of_reach_the_review_is_kept_and_its_retry_starts_the_ticket(
    live: Harness,
) -> None:
    """A Temporal of its own, stopped: the post answers 503 with Retry-After in seconds; the
    platform's retry, once Temporal answers, finds the review (200) and its workflow runs."""
    h = live
    down = h.settings.model_copy(
        update={
            "temporal_address": f"127.0.0.1:{free_port()}",
            "temporal_ui_port": 0,
            "temporal_call_timeout": timedelta(seconds=2),
        }
    )
    server = DevServer(down)
    await server.start()
    client = await connect(down)
    await server.stop()
    body = review_body(h, rating=1)
    transport = httpx.ASGITransport(app=create_app(down, Reviewdesk(client, h.db, down)))
    async with httpx.AsyncClient(transport=transport, base_url="http://reviewdesk.test") as api:
        started = time.monotonic()
        failed = await post(api, h, body)
        took = time.monotonic() - started
    assert failed.status_code == 503 and int(failed.headers["Retry-After"]) > 0, failed.text
    assert failed.json()["error"]["code"] == "unavailable" and took < 10
    assert await stored(h, body["external_id"]) == (1, 1)

    async with web_client(h) as api:
        retried = await post(api, h, body)
    assert retried.status_code == 200, retried.text
    assert await stored(h, body["external_id"]) == (1, 1)
    review_id = retried.json()["review"]["id"]
    assert await workflow_status(h, review_id) is WorkflowExecutionStatus.RUNNING


async def test_review_add_posts_through_the_intake_once_per_external_id(
    live: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = live
    args = [
        "review",
        "add",
        "--business",
        h.world.business,
        "--rating",
        "2",
        "--text",
        "The parcel arrived open.",
        "--reviewer-id",
        "rvr_cli",
        "--reviewer-email",
        "cli.reviewer@private.example",
        "--source",
        "external_invitation",
        "--external-id",
        "tp-cli-1",
    ]
    added = await run_cli(h, monkeypatch, *args)
    again = await run_cli(h, monkeypatch, *args)
    refused = await run_cli(h, monkeypatch, *args[:3], "biz_nobody", *args[4:-1], "tp-cli-2")

    assert added.exit_code == 0, added.output
    first = json.loads(added.output)
    assert first["ticket"]["requester"] == ANONYMOUS  # no --reviewer-name
    assert set(first["ticket"]["tags"]) == {"rating_2", "negative"}
    assert json.loads(again.output) == first
    assert await stored(h, "tp-cli-1") == (1, 1)
    assert refused.exit_code == 2 and "refused: business_not_found" in refused.output
    assert await workflow_status(h, first["review"]["id"]) is WorkflowExecutionStatus.RUNNING


async def test_platform_key_makes_then_replaces_the_platforms_key(
    live: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = live
    platform = f"pf_cli_{secrets.token_hex(3)}"
    made = await run_cli(h, monkeypatch, "platform", "key", "--id", platform)
    rotated = await run_cli(h, monkeypatch, "platform", "key", "--id", platform)
    assert made.exit_code == 0 and rotated.exit_code == 0, made.output + rotated.output
    old, new = (r.output.strip().splitlines()[-1] for r in (made, rotated))
    assert old.startswith("rd_pf_") and new.startswith("rd_pf_") and old != new
    async with web_client(h) as api:
        body = review_body(h)
        gone = await api.post("/api/v1/reviews", json=body, headers=as_(old))
        works = await api.post("/api/v1/reviews", json=body, headers=as_(new))
    assert gone.status_code == 401 and works.status_code == 201, works.text


async def test_the_demo_seed_posts_a_mix_with_tickets_and_seeding_again_changes_nothing(
    live: Harness,
) -> None:
    h = live
    demo_file = h.settings.demo_file
    first = await seed_demo(h.db, demo_file)
    await start_tickets(h.service.intake, first.tickets)
    again = await seed_demo(h.db, demo_file)

    assert [t.id for t in again.tickets] == [t.id for t in first.tickets]
    assert again.demo["api_keys"] == first.demo["api_keys"]
    keys = first.demo["api_keys"]
    assert {"platform", "mb_maria_lopez", "mb_tom_fixer"} <= set(keys)
    assert [a["name"] for a in first.demo["agents"]] == ["Maria Lopez", "Tom Fixer"]
    by_review = {}
    async with h.db.read() as conn:
        for t in first.tickets:
            review = await reviews.get_review(conn, t.review_id)
            assert review is not None
            by_review[review.id] = review
    assert {r.rating for r in by_review.values()} == {1, 2, 3, 4, 5}
    assert {r.source.value for r in by_review.values()} == {
        "organic",
        "external_invitation",
        "platform_invitation",
    }
    assert any(r.anonymous for r in by_review.values())
    assert {t.requester for t in first.tickets if by_review[t.review_id].anonymous} == {ANONYMOUS}
    # The reviews the tests and the README name kept their ids, and have tickets too.
    assert "rv_bakery_organic_1" in by_review and "rv_quickfix_organic_1" in by_review
    assert await workflow_status(h, "rv_bakery_organic_1") is WorkflowExecutionStatus.RUNNING
    async with web_client(h) as api:
        # The seeded keys sign in: the platform posts, an agent reads its business's contacts.
        posted = await api.post(
            "/api/v1/reviews",
            json=review_body(h, business_id="biz_quickfix"),
            headers=as_(keys["platform"]),
        )
        agent = await api.get("/api/v1/contacts", headers=as_(keys["mb_tom_fixer"]))
    assert posted.status_code == 201 and agent.status_code == 200
