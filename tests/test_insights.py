"""A business's insight (issue 20 acceptance 5, DESIGN rule 21): from a mix generated straight
in the store (reviews of every rating over days in and out of the period, replies at known
delays, tickets breached, contacts and flags in every status, spam marks, and another business's
rows of each kind), what GET /api/v1/insights says as JSON and as CSV equals what this test
computes on its own from the list it generated, for a short period (daily buckets) and a long
one (weekly); another business sees only its own; a bad period is 422; the page says it in
words and charts."""

from __future__ import annotations

import csv
import io
import random
import secrets
import statistics
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import httpx
import pytest_asyncio

from domain.enums import (
    ContactStatus,
    FlagReason,
    FlagStatus,
    Priority,
    ReportSource,
    ReportStatus,
    ReviewSource,
    TicketStatus,
    Visibility,
)
from settings import Settings
from starter.service import Reviewdesk
from starter.web.app import create_app
from store import Store, contacts, flags, moderation, replies, reviews, tickets
from store.records import Flag, Ticket, now, ts
from tests.web import as_, sign_in
from tests.world import World, make_world

DAY = timedelta(days=1)


@dataclass
class Made:
    business: str
    created: datetime
    rating: int
    ticket: bool
    breached: bool
    reply_after: float | None  # hours from the review to its public reply


@dataclass
class Mix:
    reviews: list[Made] = field(default_factory=list)
    contacts: list[tuple[str, datetime, ContactStatus]] = field(default_factory=list)
    # An escalated flag's report status: its moderator's decision (None: no report yet).
    flags: list[tuple[str, datetime, FlagStatus, ReportStatus | None]] = field(default_factory=list)
    spam: list[tuple[str, datetime]] = field(default_factory=list)


@dataclass
class App:
    api: httpx.AsyncClient
    db: Store
    world: World
    mix: Mix
    base: date  # the short period's first day


@pytest_asyncio.fixture
async def app(db: Store, settings: Settings) -> AsyncIterator[App]:
    """The web app on a store holding the mix: the figures need no worker."""
    world = await make_world(db)
    base = now().date() - 120 * DAY
    mix = await _generate(db, world, base)
    service = Reviewdesk(None, db, settings)  # type: ignore[arg-type]
    transport = httpx.ASGITransport(app=create_app(settings, service))
    async with httpx.AsyncClient(transport=transport, base_url="http://reviewdesk.test") as api:
        yield App(api, db, world, mix, base)


def _at(day: date, minutes: float) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC) + timedelta(minutes=minutes)


async def _generate(db: Store, world: World, base: date) -> Mix:
    """Reviews from 80 days before ``base`` to 25 after it, for both businesses, with the
    period's edges hit exactly (a review at the first day's midnight, one a microsecond before
    the day after the last, one at that midnight)."""
    rng = random.Random(20)
    mix = Mix()
    async with db.tx() as conn:
        review_ids: dict[str, list[str]] = {world.business: [], world.other_business: []}
        edges = {
            0: [0.0],
            19: [24 * 60 - 1 / 60_000_000],
            20: [0.0],
            -70: [0.0],
        }
        for offset in range(-80, 26):
            day = base + offset * DAY
            for business in (world.business, world.other_business):
                minutes = [rng.randrange(0, 24 * 60) + 0.5 for _ in range(rng.randrange(0, 4))]
                if business == world.business:
                    minutes += edges.get(offset, [])
                for m in minutes:
                    made = Made(
                        business=business,
                        created=_at(day, m),
                        rating=rng.randint(1, 5),
                        ticket=rng.random() < 0.8,
                        breached=False,
                        reply_after=None,
                    )
                    if made.ticket:
                        made.breached = rng.random() < 0.35
                        if rng.random() < 0.55:
                            made.reply_after = rng.randrange(1, 400) / 2
                    mix.reviews.append(made)
                    review_ids[business].append(await _store_review(conn, world, made, rng, mix))
        for business, ids in review_ids.items():
            rng.shuffle(ids)
            for i, status in enumerate(list(ContactStatus) * 3):
                opened = _some_time(rng, base, i // len(ContactStatus))
                request_id = f"ct_{secrets.token_hex(8)}"
                await contacts.add_request(
                    conn,
                    id=request_id,
                    review_id=ids[i],
                    business_id=business,
                    message="Could you tell us when you visited?",
                    requested=[],
                    created_at=opened,
                )
                request = await contacts.get_request(conn, request_id)
                assert request is not None
                await contacts.open_contact(
                    conn,
                    request=request,
                    reviewer_id=world.reviewer,
                    opened_at=opened,
                    deadline=opened + 5 * DAY,
                )
                await conn.execute(
                    "UPDATE contacts SET status = ? WHERE id = ?", (status.value, request_id)
                )
                mix.contacts.append((business, opened, status))
            # One flag per review, so open ones never share a review and a reason; escalated
            # ones with no report yet, and with a report pending, upheld or rejected.
            outcomes: list[tuple[FlagStatus, ReportStatus | None]] = [
                (s, None) for s in FlagStatus if s is not FlagStatus.ESCALATED
            ] + [(FlagStatus.ESCALATED, d) for d in (None, *ReportStatus)]
            for i, (flag_status, decided) in enumerate(outcomes * 3):
                opened = _some_time(rng, base, i // len(outcomes))
                flag_id = f"fl_{secrets.token_hex(8)}"
                await flags.add_flag(
                    conn,
                    Flag(
                        id=flag_id,
                        review_id=ids[-1 - i],
                        business_id=business,
                        reason=FlagReason.ADVERTISING_OR_SPAM,
                        explanation="It advertises another shop.",
                        status=flag_status,
                        opened_at=opened,
                    ),
                    idempotency_key=None,
                )
                if decided is not None:
                    await _report(conn, flag_id, ids[-1 - i], business, opened, decided)
                mix.flags.append((business, opened, flag_status, decided))
    return mix


async def _report(
    conn: Any, flag_id: str, review_id: str, business: str, at: datetime, status: ReportStatus
) -> None:
    """The escalated flag's report, as its moderator left it."""
    report = await moderation.add_report(
        conn,
        id=f"rp_{secrets.token_hex(8)}",
        review_id=review_id,
        business_id=business,
        reason=FlagReason.ADVERTISING_OR_SPAM,
        sub_reason=None,
        source=ReportSource.FLAG,
        opened_at=at,
        sla_deadline=at + 5 * DAY,
        flag_id=flag_id,
    )
    await flags.end_flag(conn, flag_id, status=FlagStatus.ESCALATED, at=at, report_id=report.id)
    await conn.execute("UPDATE reports SET status = ? WHERE id = ?", (status.value, report.id))


def _some_time(rng: random.Random, base: date, copy: int) -> datetime:
    """In the short period, in the long one only, or in neither, by ``copy``."""
    days = [(0, 20), (-70, 0), rng.choice([(-80, -70), (20, 26)])][copy]
    return _at(base + rng.randrange(*days) * DAY, rng.randrange(0, 24 * 60))


async def _store_review(conn: Any, world: World, made: Made, rng: random.Random, mix: Mix) -> str:
    review_id = f"rv_{secrets.token_hex(8)}"
    await reviews.add_review(
        conn,
        id=review_id,
        business_id=made.business,
        reviewer_id=world.reviewer,
        rating=made.rating,
        title="A visit",
        text="What happened.",
        source=ReviewSource.ORGANIC,
        created_at=made.created,
        visibility=Visibility.VISIBLE,
    )
    if not made.ticket:
        return review_id
    ticket_id = f"tk_{secrets.token_hex(8)}"
    await tickets.add_ticket(
        conn,
        Ticket(
            id=ticket_id,
            review_id=review_id,
            business_id=made.business,
            subject="A visit",
            requester="Robin R.",
            rating=made.rating,
            status=TicketStatus.NEW,
            priority=Priority.HIGH if made.rating <= 2 else Priority.NORMAL,
            tags=[f"rating_{made.rating}"],
            policy_name="Default",
            target_at=made.created + 2 * DAY,
            remind_at=made.created + 1.5 * DAY,
            created_at=made.created,
            updated_at=made.created,
        ),
        negative=made.rating <= 2,
    )
    if made.breached:
        assert await tickets.mark_breached(conn, ticket_id, made.created + 2 * DAY)
    if made.reply_after is not None:
        agent = world.agent if made.business == world.business else world.other_agent
        draft = await replies.add_draft(
            conn,
            ticket_id=ticket_id,
            author_id=agent,
            text="Thank you for telling us.",
            solve=True,
            at=made.created,
        )
        published = made.created + timedelta(hours=made.reply_after)
        assert await replies.publish(
            conn, draft, review_id=review_id, business_id=made.business, at=published
        )
    elif rng.random() < 0.3:
        # Marked spam a few hours to days later: counted by when it was marked.
        spam_at = made.created + timedelta(hours=rng.randrange(1, 100))
        await conn.execute(
            "UPDATE tickets SET spam_at = ?, status = 'solved' WHERE id = ?",
            (ts(spam_at), ticket_id),
        )
        mix.spam.append((made.business, spam_at))
    return review_id


# --- the figures, computed here from the generated list ----------------------------------------


def _buckets(first: date, last: date) -> tuple[str, list[tuple[date, date]]]:
    days = [first + i * DAY for i in range((last - first).days + 1)]
    if len(days) <= 62:
        return "day", [(d, d) for d in days]
    weeks: dict[date, list[date]] = {}
    for d in days:
        weeks.setdefault(d - d.weekday() * DAY, []).append(d)
    return "week", [(w[0], w[-1]) for w in weeks.values()]


def expected(mix: Mix, business: str, first: date, last: date) -> dict[str, Any]:
    start = datetime.combine(first, time(), tzinfo=UTC)
    end = datetime.combine(last + DAY, time(), tzinfo=UTC)

    def within(at: datetime) -> bool:
        return start <= at < end

    mine = [r for r in mix.reviews if r.business == business and within(r.created)]
    bucket, spans = _buckets(first, last)
    over_time = []
    for a, b in spans:
        ratings = Counter(r.rating for r in mine if a <= r.created.date() <= b)
        over_time.append(
            {
                "start": a.isoformat(),
                "end": b.isoformat(),
                "ratings": {str(s): ratings[s] for s in range(1, 6)},
                "total": sum(ratings.values()),
            }
        )
    by_rating = Counter(r.rating for r in mine)
    delays = [r.reply_after for r in mine if r.reply_after is not None]
    breached = [r for r in mine if r.breached]
    contacts_in = Counter(s for b, at, s in mix.contacts if b == business and within(at))
    flags_in = Counter(s for b, at, s, _ in mix.flags if b == business and within(at))
    # An escalated flag stays escalated once decided: its report says how it ended.
    decided = Counter(
        d or ReportStatus.PENDING
        for b, at, s, d in mix.flags
        if b == business and within(at) and s is FlagStatus.ESCALATED
    )
    return {
        "period": {
            "from": first.isoformat(),
            "to": last.isoformat(),
            "days": (last - first).days + 1,
        },
        "reviews": {
            "total": len(mine),
            "by_rating": {str(s): by_rating[s] for s in range(1, 6)},
            "bucket": bucket,
            "over_time": over_time,
        },
        "responses": {
            "reviews": len(mine),
            "replied": len(delays),
            "rate": round(len(delays) / len(mine), 4) if mine else None,
            "median_hours_to_reply": round(statistics.median(delays), 2) if delays else None,
        },
        "breaches": {
            "tickets": sum(1 for r in mine if r.ticket),
            "breached": len(breached),
            "replied_after": sum(1 for r in breached if r.reply_after is not None),
        },
        "contacts": {
            "total": sum(contacts_in.values()),
            "by_status": {s.value: contacts_in[s] for s in ContactStatus},
        },
        "flags": {
            "total": sum(flags_in.values()),
            "by_status": {s.value: flags_in[s] for s in FlagStatus},
            "escalated_by_decision": {d.value: decided[d] for d in ReportStatus},
            "spam_marks": sum(1 for b, at in mix.spam if b == business and within(at)),
        },
    }


def _csv_cells(text: str) -> dict[tuple[str, str, str], str]:
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["from", "to", "section", "name", "bucket_start", "bucket_end", "value"]
    cells = {(r[2], r[3], r[4]): r[6] for r in rows[1:]}
    assert len(cells) == len(rows) - 1  # one row per figure and bucket
    return cells


def _expected_cells(e: dict[str, Any]) -> dict[tuple[str, str, str], str]:
    def cell(v: Any) -> str:
        return "" if v is None else str(v)

    cells = {("period", "days", ""): str(e["period"]["days"])}
    cells[("reviews", "bucket", "")] = e["reviews"]["bucket"]
    cells[("reviews", "total", "")] = str(e["reviews"]["total"])
    for s, n in e["reviews"]["by_rating"].items():
        cells[("reviews", f"rating_{s}", "")] = str(n)
    for b in e["reviews"]["over_time"]:
        for s, n in b["ratings"].items():
            cells[("reviews_over_time", f"rating_{s}", b["start"])] = str(n)
        cells[("reviews_over_time", "total", b["start"])] = str(b["total"])
    for section in ("responses", "breaches"):
        for name, v in e[section].items():
            cells[(section, name, "")] = cell(v)
    for section in ("contacts", "flags"):
        for name, v in e[section].items():
            if name == "by_status":
                cells.update({(section, s, ""): str(n) for s, n in v.items()})
            elif name == "escalated_by_decision":
                cells.update({(section, f"escalated_{d}", ""): str(n) for d, n in v.items()})
            else:
                cells[(section, name, "")] = str(v)
    return cells


async def _figures(a: App, key: str, first: date, last: date) -> dict[str, Any]:
    query = {"from": first.isoformat(), "to": last.isoformat()}
    answer = await a.api.get("/api/v1/insights", params=query, headers=as_(key))
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    body.pop("computed_at")
    return body


# --- the tests ---------------------------------------------------------------------------------


async def test_the_figures_equal_what_the_generated_mix_says_for_a_short_and_a_long_period(
    app: App,
) -> None:
    a, w = app, app.world
    short = (a.base, a.base + 19 * DAY)
    long = (a.base - 70 * DAY, a.base + 19 * DAY)  # 90 days: weekly buckets
    for first, last in (short, long):
        want = expected(a.mix, w.business, first, last)
        # The mix has something in every figure, so a figure counted wrong cannot pass as zero.
        assert want["responses"]["replied"] > 2 and want["breaches"]["replied_after"] > 0
        assert want["flags"]["spam_marks"] > 0 and all(want["contacts"]["by_status"].values())
        assert all(want["flags"]["escalated_by_decision"].values())
        # The owner's key and an agent's see the same.
        for key in (w.keys[w.business], w.keys[w.agent]):
            assert await _figures(a, key, first, last) == want
        csv_answer = await a.api.get(
            "/api/v1/insights",
            params={"from": first.isoformat(), "to": last.isoformat(), "format": "csv"},
            headers=as_(w.keys[w.agent]),
        )
        assert csv_answer.status_code == 200
        assert csv_answer.headers["content-type"].startswith("text/csv")
        assert csv_answer.headers["content-disposition"] == (
            f'attachment; filename="insights-{first.isoformat()}-to-{last.isoformat()}.csv"'
        )
        cells = _csv_cells(csv_answer.text)
        computed_at = cells.pop(("period", "computed_at", ""))
        assert datetime.fromisoformat(computed_at) <= now()
        assert cells == _expected_cells(want)
    assert (await _figures(a, w.keys[w.business], *short))["reviews"]["bucket"] == "day"
    weeks = (await _figures(a, w.keys[w.business], *long))["reviews"]["over_time"]
    assert all(date.fromisoformat(b["start"]).weekday() == 0 for b in weeks[1:])
    # Accept: text/csv is the CSV too.
    by_accept = await a.api.get(
        "/api/v1/insights",
        params={"from": short[0].isoformat(), "to": short[1].isoformat()},
        headers={**as_(w.keys[w.business]), "Accept": "text/csv"},
    )
    assert by_accept.headers["content-type"].startswith("text/csv")


async def test_another_business_sees_only_its_own_figures(app: App) -> None:
    a, w = app, app.world
    first, last = a.base, a.base + 19 * DAY
    theirs = expected(a.mix, w.other_business, first, last)
    assert theirs != expected(a.mix, w.business, first, last)
    assert await _figures(a, w.keys[w.other_agent], first, last) == theirs
    assert await _figures(a, w.keys[w.other_business], first, last) == theirs


async def test_the_default_period_is_the_last_30_days(app: App) -> None:
    a, w = app, app.world
    body = await _figures(a, w.keys[w.business], *(now().date() - 29 * DAY, now().date()))
    answer = await a.api.get("/api/v1/insights", headers=as_(w.keys[w.business]))
    default = answer.json()
    default.pop("computed_at")
    assert default == body
    # The world's own reviews came in yesterday, none of them generated here.
    assert body["reviews"]["total"] == 5 and body["period"]["days"] == 30


async def test_a_bad_period_or_caller_is_refused(app: App) -> None:
    a, w = app, app.world
    today = now().date()
    key = as_(w.keys[w.business])
    for query in (
        {"from": "2025-03-10", "to": "2025-03-01"},
        {"from": (today - 366 * DAY).isoformat(), "to": today.isoformat()},
        {"to": (today + DAY).isoformat()},
        {"from": "yesterday"},
        {"format": "xml"},
    ):
        answer = await a.api.get("/api/v1/insights", params=query, headers=key)
        assert answer.status_code == 422, query
        assert answer.json()["error"]["code"] == "invalid_input"
    after = await a.api.get(
        "/api/v1/insights", params={"from": "2025-03-10", "to": "2025-03-01"}, headers=key
    )
    assert "after" in after.json()["error"]["message"]
    # 366 days is allowed.
    allowed = {"from": (today - 365 * DAY).isoformat(), "to": today.isoformat()}
    assert (await a.api.get("/api/v1/insights", params=allowed, headers=key)).status_code == 200
    assert (await a.api.get("/api/v1/insights")).status_code == 401
    moderator = await a.api.get("/api/v1/insights", headers=as_(w.keys[w.moderator]))
    assert moderator.status_code == 403


async def test_the_page_says_the_figures_in_words_and_charts_and_gives_the_csv(app: App) -> None:
    a, w = app, app.world
    first, last = a.base, a.base + 19 * DAY
    want = expected(a.mix, w.business, first, last)
    query = {"from": first.isoformat(), "to": last.isoformat()}
    signed_out = await a.api.get("/desk/insights", params=query)
    assert signed_out.status_code in (302, 303)
    await sign_in(a.api, w.keys[w.agent])
    page = await a.api.get("/desk/insights", params=query)
    assert page.status_code == 200
    html = page.text
    r = want["responses"]
    assert f"{r['replied']} reviews of {r['reviews']} got a public reply" in html
    for chart in ("reviews", "responses", "breaches", "contacts", "flags"):
        assert f'data-chart="{chart}"' in html
    # A decided flag is said as decided, not as still with the moderators.
    decided = want["flags"]["escalated_by_decision"]
    for label, n in (
        ("With the moderators", decided["pending"]),
        ("Moderators removed the review", decided["upheld"]),
        ("Moderators kept the review", decided["rejected"]),
    ):
        assert f'<tr><td>{label}</td><td class="n">{n}</td></tr>' in html
    # A column per day, each segment a rating with reviews that day.
    segments = sum(1 for b in want["reviews"]["over_time"] for n in b["ratings"].values() if n)
    assert html.count('class="segment"') == segments
    assert 'href="/desk/insights"' in html  # the desk's nav
    csv_link = f"/desk/insights.csv?from={query['from']}&amp;to={query['to']}"
    assert csv_link in html
    download = await a.api.get("/desk/insights.csv", params=query)
    assert download.status_code == 200
    cells = _csv_cells(download.text)
    cells.pop(("period", "computed_at", ""))
    assert cells == _expected_cells(want)
    bad = await a.api.get("/desk/insights", params={"from": "2025-03-10", "to": "2025-03-01"})
    assert bad.status_code == 422 and "is after" in bad.text
