"""The transparency figures (DESIGN rule 13, issue 18 acceptance 5): after a mixed run driven
through the services, what GET /api/v1/transparency says equals what this test counts on its own
from the store's rows, for a period that holds everything and one that leaves part out; the CSV
says what the JSON says; a bad period is 422 and changes nothing; a store that does not answer
is a 503 with Retry-After."""

from __future__ import annotations

import csv
import io
import secrets
import statistics
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio

from domain import notice_workflow_id
from domain.enums import (
    Answer,
    AppealDecision,
    Decision,
    Finding,
    FlagReason,
    Grounds,
    ReviewSource,
    StandingStepKind,
    StandingSubject,
    StepEnd,
    SubReason,
    Visibility,
)
from settings import Settings
from starter.appeal_inputs import AppealBody, AppealDecisionBody
from starter.flag_inputs import FlagBody
from starter.inputs import ContactRequestBody, DecisionBody, ReplyBody, ReportBody
from starter.notice_inputs import NoticeBody
from starter.service import Reviewdesk
from store import Store, reviews, standing
from store.errors import StoreUnavailable
from store.records import StandingStep, now, ts
from tests import moderation_flows as flows
from tests.conftest import Harness
from tests.web import web_client
from tests.world import make_world

DAY = timedelta(days=1)


# --- the mixed run -----------------------------------------------------------------------------


async def _review(h: Harness, name: str) -> str:
    review_id = f"rv_{name}_{secrets.token_hex(4)}"
    async with h.db.tx() as conn:
        await reviews.add_review(
            conn,
            id=review_id,
            business_id=h.world.business,
            reviewer_id=h.world.reviewer,
            rating=2,
            title=f"Review {name}",
            text=f"Text of {name}",
            source=ReviewSource.ORGANIC,
            created_at=now() - 2 * DAY,
            visibility=Visibility.VISIBLE,
        )
    return review_id


async def _opened(h: Harness, report_id: str) -> None:
    async def check() -> bool:
        view = await h.service.report_view(report_id)
        return "opened" in [e.type for e in view.history]

    await h.eventually(check)


async def _mixed_run(h: Harness) -> dict[str, str]:
    """Flags of several reasons, notices, a contact ending in a report, decisions upheld and
    rejected, an appeal granted and one denied. Returns the ids the test moves in time."""
    w = h.world
    ids: dict[str, str] = {}

    # A personal-information flag, edited, escalated, upheld; the reviewer's appeal granted.
    removed = await flows.flag_edited_escalated_removed(h)
    granted = await flows.appeal_granted(h, removed)
    assert removed.report_id is not None
    ids["upheld_flag_report"], ids["granted_appeal"] = removed.report_id, granted.ids[0]
    # A harmful flag upheld, a notice upheld.
    ids["harmful_upheld_report"] = (await flows.harmful_flag_upheld(h)).ids[1]
    ids["notice_upheld_report"] = (await flows.notice_upheld(h)).ids[1]

    # A contact ending in a not-genuine report (the review hidden), rejected; the business's
    # appeal denied.
    contacted = await _review(h, "contacted")
    contact = (
        await h.service.request_contact(
            w.business, contacted, ContactRequestBody(message="We cannot find your booking.")
        )
    ).contact
    await h.service.answer(
        await h.reply_token(contact.id), Answer.REPLY, ReplyBody(message="It was in May.")
    )
    report = await h.service.report(
        w.business, contact.id, ReportBody(grounds=Grounds.INSUFFICIENT_INFORMATION)
    )
    rejected = await h.service.decide(
        w.moderator, report.report.id, DecisionBody(decision=Decision.REJECT, note="Checked.")
    )
    assert rejected.decision is not None
    appeal = await h.service.appeals.by_business(
        w.business, rejected.decision.id, AppealBody(statement="We still think so.")
    )
    await h.service.appeals.decide(
        w.second_moderator,
        appeal.appeal.id,
        AppealDecisionBody(decision=AppealDecision.DENY, note="It stands."),
    )
    ids["contact_report"], ids["denied_appeal"] = report.report.id, appeal.appeal.id

    # A harmful flag rejected (moved 40 days back below).
    hateful = await _review(h, "hateful")
    flagged = await h.service.flags.flag(
        w.business,
        hateful,
        FlagBody(
            reason=FlagReason.HARMFUL_OR_ILLEGAL,
            sub_reason=SubReason.HATE_SPEECH,
            explanation="It insults our staff for where they come from.",
        ),
    )
    assert flagged.report is not None
    await _opened(h, flagged.report.id)
    await h.service.decide(
        w.moderator, flagged.report.id, DecisionBody(decision=Decision.REJECT, note="Opinion.")
    )
    ids["old_report"] = flagged.report.id

    # Received, not decided: an advertising flag waiting for the reviewer, a notice pending
    # (moved 40 days back below).
    await h.service.flags.flag(
        w.business,
        hateful,
        FlagBody(reason=FlagReason.ADVERTISING_OR_SPAM, explanation="It links to a rival shop."),
    )
    noticed = await h.service.notices.submit(
        NoticeBody(
            review_id=await _review(h, "noticed"),
            sub_reason=SubReason.HATE_SPEECH,
            explanation="It attacks people for their religion.",
            name="Ann Other",
            email="ann.other@example.org",
            good_faith=True,
        )
    )
    await h.client.get_workflow_handle(notice_workflow_id(noticed.notice_id)).result()
    ids["old_notice"] = noticed.notice_id
    return ids


async def _ladder(h: Harness, today: datetime) -> None:
    """Steps of the ladder, as the standing workflow records them: one lifted, two expired, one
    taken before the recent period and ended within it."""

    def step(
        subject: StandingSubject,
        subject_id: str,
        kind: StandingStepKind,
        taken_days_ago: int,
        ended: tuple[int, StepEnd] | None = None,
    ) -> StandingStep:
        taken = today - timedelta(days=taken_days_ago, hours=3)
        return StandingStep(
            id=f"st_{secrets.token_hex(6)}",
            subject_kind=subject,
            subject_id=subject_id,
            kind=kind,
            finding=Finding.UNFOUNDED_NOTICES
            if subject is StandingSubject.NOTIFIER
            else Finding.REJECTED_FLAGS,
            figures={"decided": 10, "rejected": 6},
            taken_at=taken,
            ends_at=taken + 30 * DAY,
        )

    business, notifier = h.world.business, f"nk_{secrets.token_hex(8)}"
    B, N = StandingSubject.BUSINESS, StandingSubject.NOTIFIER
    steps = [
        (step(B, business, StandingStepKind.WARNING, 50), (15, StepEnd.EXPIRED)),
        (step(B, business, StandingStepKind.RESTRICTION, 10), (2, StepEnd.LIFTED)),
        (step(B, business, StandingStepKind.CONSUMER_WARNING, 0), None),
        (step(N, notifier, StandingStepKind.WARNING, 30), None),
        (step(N, notifier, StandingStepKind.SUSPENSION, 8), (1, StepEnd.EXPIRED)),
    ]
    async with h.db.tx() as conn:
        for s, ended in steps:
            await standing.add_step(conn, s)
            if ended is not None:
                days_ago, how = ended
                lifted_by = h.world.moderator if how is StepEnd.LIFTED else None
                assert await standing.end_step(
                    conn,
                    s.id,
                    at=today - timedelta(days=days_ago, hours=2),
                    end=how,
                    lifted_by=lifted_by,
                    note="Explained on the phone." if lifted_by else None,
                )


async def _spread_in_time(h: Harness, ids: dict[str, str]) -> None:
    """Everything in the run happened in the last minutes: reports and appeals are given waits
    of different lengths, so that the medians are medians of something, and two cases (the
    upheld notice, the rejected hate-speech flag) and the pending notice are moved back as if
    they had come 40 days ago, so that a period can leave them out."""
    waits = {
        ids["upheld_flag_report"]: 5,
        ids["harmful_upheld_report"]: 30,
        ids["notice_upheld_report"]: 40,
        ids["contact_report"]: 12,
        ids["old_report"]: 50,
    }
    back = 40 * DAY

    def earlier(at: str, by: timedelta) -> str:
        return ts(datetime.fromisoformat(at) - by)

    async with h.db.tx() as conn:
        for report_id, hours in waits.items():
            row = await conn.fetch_one("SELECT decided_at FROM reports WHERE id = ?", (report_id,))
            assert row is not None
            await conn.execute(
                "UPDATE reports SET opened_at = ? WHERE id = ?",
                (earlier(row[0], timedelta(hours=hours)), report_id),
            )
        for appeal_id, hours in ((ids["granted_appeal"], 20), (ids["denied_appeal"], 70)):
            row = await conn.fetch_one("SELECT decided_at FROM appeals WHERE id = ?", (appeal_id,))
            assert row is not None
            await conn.execute(
                "UPDATE appeals SET opened_at = ? WHERE id = ?",
                (earlier(row[0], timedelta(hours=hours)), appeal_id),
            )
        for report_id in (ids["notice_upheld_report"], ids["old_report"]):
            row = await conn.fetch_one(
                "SELECT opened_at, decided_at FROM reports WHERE id = ?", (report_id,)
            )
            assert row is not None
            await conn.execute(
                "UPDATE reports SET opened_at = ?, decided_at = ? WHERE id = ?",
                (earlier(row[0], back), earlier(row[1], back), report_id),
            )
            for table, column in (
                ("statements", "created_at"),
                ("notices", "received_at"),
                ("flags", "opened_at"),
            ):
                for found in await conn.fetch_all(
                    f"SELECT id, {column} FROM {table} WHERE report_id = ?", (report_id,)
                ):
                    await conn.execute(
                        f"UPDATE {table} SET {column} = ? WHERE id = ?",
                        (earlier(found[1], back), found[0]),
                    )
        row = await conn.fetch_one(
            "SELECT received_at FROM notices WHERE id = ?", (ids["old_notice"],)
        )
        assert row is not None
        await conn.execute(
            "UPDATE notices SET received_at = ? WHERE id = ?",
            (earlier(row[0], back), ids["old_notice"]),
        )


# --- what the test counts on its own -----------------------------------------------------------


def _day_of(at: Any) -> date | None:
    if at is None:
        return None
    found = at if isinstance(at, datetime) else datetime.fromisoformat(str(at))
    return found.astimezone(UTC).date()


def _hours(rows: list[tuple[Any, Any]]) -> float | None:
    waits = [
        (datetime.fromisoformat(str(end)) - datetime.fromisoformat(str(start))).total_seconds()
        / 3600
        for start, end in rows
    ]
    return statistics.median(waits) if waits else None


async def _counted(db: Store, first: date, last: date) -> dict[str, Any]:
    """The figures, from every row of the tables read here, filtered and counted in Python."""

    def inside(at: Any) -> bool:
        day = _day_of(at)
        return day is not None and first <= day <= last

    async with db.read() as conn:
        flags = await conn.fetch_all("SELECT reason, opened_at FROM flags")
        notices = await conn.fetch_all("SELECT sub_reason, received_at FROM notices")
        reports = await conn.fetch_all("SELECT source, status, opened_at, decided_at FROM reports")
        statements = await conn.fetch_all("SELECT restriction, created_at FROM statements")
        appeals = await conn.fetch_all("SELECT status, opened_at, decided_at FROM appeals")
        steps = await conn.fetch_all(
            "SELECT subject_kind, kind, taken_at, ended_at, end_reason FROM standing_steps"
        )

    flag_reasons = Counter(r["reason"] for r in flags if inside(r["opened_at"]))
    notice_kinds = Counter(r["sub_reason"] for r in notices if inside(r["received_at"]))
    after_contact = sum(1 for r in reports if r["source"] == "contact" and inside(r["opened_at"]))
    restricted = Counter(r["restriction"] for r in statements if inside(r["created_at"]))
    decided = [
        r for r in reports if r["status"] in ("upheld", "rejected") and inside(r["decided_at"])
    ]
    appeals_decided = [
        a for a in appeals if a["status"] in ("granted", "denied") and inside(a["decided_at"])
    ]

    def ladder(subject: str, kinds: list[str]) -> dict[str, Any]:
        mine = [s for s in steps if s["subject_kind"] == subject]
        return {
            "taken": {
                k: sum(1 for s in mine if s["kind"] == k and inside(s["taken_at"])) for k in kinds
            },
            "lifted": sum(1 for s in mine if s["end_reason"] == "lifted" and inside(s["ended_at"])),
            "expired": sum(
                1 for s in mine if s["end_reason"] == "expired" and inside(s["ended_at"])
            ),
        }

    flags_by = {
        r: flag_reasons[r]
        for r in (
            "harmful_or_illegal",
            "personal_information",
            "advertising_or_spam",
            "wrong_business",
        )
    }
    notices_by = {s.value: notice_kinds[s.value] for s in SubReason}
    return {
        "period": {
            "from": first.isoformat(),
            "to": last.isoformat(),
            "days": (last - first).days + 1,
        },
        "received": {
            "flags": flags_by,
            "notices": notices_by,
            "after_contact": after_contact,
            "total": sum(flags_by.values()) + sum(notices_by.values()) + after_contact,
        },
        "actions": {
            "hidden": restricted["hidden"],
            "removed": restricted["removed"],
            "no_action": sum(1 for r in decided if r["status"] == "rejected"),
        },
        "decisions": {
            "decided": len(decided),
            "upheld": sum(1 for r in decided if r["status"] == "upheld"),
            "rejected": sum(1 for r in decided if r["status"] == "rejected"),
            "median_hours": _hours([(r["opened_at"], r["decided_at"]) for r in decided]),
            "by_source": {
                source: {
                    "decided": sum(1 for r in decided if r["source"] == source),
                    "median_hours": _hours(
                        [
                            (r["opened_at"], r["decided_at"])
                            for r in decided
                            if r["source"] == source
                        ]
                    ),
                }
                for source in ("contact", "flag", "notice")
            },
        },
        "appeals": {
            "received": sum(1 for a in appeals if inside(a["opened_at"])),
            "decided": len(appeals_decided),
            "reversed": sum(1 for a in appeals_decided if a["status"] == "granted"),
            "median_hours": _hours([(a["opened_at"], a["decided_at"]) for a in appeals_decided]),
        },
        "misuse_steps": {
            "businesses": ladder("business", ["warning", "restriction", "consumer_warning"]),
            "notifiers": ladder("notifier", ["warning", "suspension"]),
        },
    }


def _same(got: Any, counted: Any, path: str = "") -> None:
    """Counts equal; medians equal to the hundredth of an hour the API rounds them to."""
    if isinstance(counted, dict):
        assert isinstance(got, dict) and set(got) == set(counted), path
        for key in counted:
            _same(got[key], counted[key], f"{path}.{key}")
    elif isinstance(counted, float):
        assert got == pytest.approx(counted, abs=0.006), path
    else:
        assert got == counted, path


def _csv_figures(text: str) -> dict[str, str]:
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["from", "to", "section", "name", "value"]
    # The period is on every row, for files of several periods pasted under each other.
    [(first, last)] = {(r[0], r[1]) for r in rows[1:]}
    return {"period.from": first, "period.to": last} | {f"{r[2]}.{r[3]}": r[4] for r in rows[1:]}


def _json_leaves(value: Any, path: str = "") -> dict[str, str]:
    if isinstance(value, dict):
        found: dict[str, str] = {}
        for key, inner in value.items():
            found.update(_json_leaves(inner, f"{path}.{key}" if path else key))
        return found
    return {path: "" if value is None else str(value)}


# --- the tests ---------------------------------------------------------------------------------


async def test_figures_of_a_mixed_run_equal_what_the_records_say_for_any_period(
    live: Harness,
) -> None:
    h = live
    ids = await _mixed_run(h)
    today = now()
    await _ladder(h, today)
    await _spread_in_time(h, ids)

    everything = (today.date() - 60 * DAY, today.date())
    recent = (today.date() - 20 * DAY, today.date())
    async with web_client(h) as api:
        for first, last in (everything, recent):
            query = {"from": first.isoformat(), "to": last.isoformat()}
            answer = await api.get("/api/v1/transparency", params=query)
            assert answer.status_code == 200, answer.text
            got = answer.json()
            assert datetime.fromisoformat(got.pop("computed_at")) >= today
            counted = await _counted(h.db, first, last)
            _same(got, counted)

            # The CSV, asked either way, holds the same figures.
            for csv_answer in (
                await api.get("/api/v1/transparency", params={**query, "format": "csv"}),
                await api.get("/api/v1/transparency", params=query, headers={"Accept": "text/csv"}),
            ):
                assert csv_answer.status_code == 200
                assert csv_answer.headers["content-type"].startswith("text/csv")
                assert "attachment" in csv_answer.headers["content-disposition"]
                from_csv = _csv_figures(csv_answer.text)
                assert from_csv.pop("period.computed_at")
                assert from_csv == _json_leaves(got)

    # What the run holds, so that the comparison above compared something.
    all_of_it = await _counted(h.db, *everything)
    assert all_of_it["received"]["flags"] == {
        "harmful_or_illegal": 2,
        "personal_information": 1,
        "advertising_or_spam": 1,
        "wrong_business": 0,
    }
    assert all_of_it["received"]["notices"]["hate_speech"] == 1
    assert all_of_it["received"]["notices"]["defamation"] == 1
    assert all_of_it["received"]["after_contact"] == 1
    assert all_of_it["actions"] == {"hidden": 1, "removed": 3, "no_action": 2}
    assert all_of_it["decisions"]["decided"] == 5
    assert all_of_it["decisions"]["median_hours"] == pytest.approx(30, abs=0.01)
    assert all_of_it["appeals"] == {
        "received": 2,
        "decided": 2,
        "reversed": 1,
        "median_hours": pytest.approx(45, abs=0.01),
    }
    assert all_of_it["misuse_steps"]["businesses"] == {
        "taken": {"warning": 1, "restriction": 1, "consumer_warning": 1},
        "lifted": 1,
        "expired": 1,
    }
    assert all_of_it["misuse_steps"]["notifiers"] == {
        "taken": {"warning": 1, "suspension": 1},
        "lifted": 0,
        "expired": 1,
    }
    # The recent period leaves out what came 40 days ago and the oldest step.
    part = await _counted(h.db, *recent)
    assert part["received"]["flags"]["harmful_or_illegal"] == 1
    assert part["received"]["notices"]["hate_speech"] == 0
    assert part["received"]["notices"]["defamation"] == 0
    assert part["actions"] == {"hidden": 1, "removed": 2, "no_action": 1}
    assert part["decisions"]["decided"] == 3
    assert part["decisions"]["median_hours"] == pytest.approx(12, abs=0.01)
    # A step counts when it is taken, its end when it ends: the warning of 50 days ago expired
    # within the period.
    assert part["misuse_steps"]["businesses"]["taken"]["warning"] == 0
    assert part["misuse_steps"]["businesses"]["expired"] == 1
    assert part["misuse_steps"]["notifiers"]["taken"] == {"warning": 0, "suspension": 1}


@pytest_asyncio.fixture
async def figures_app(
    db: Store, settings: Settings
) -> AsyncIterator[tuple[httpx.AsyncClient, Store]]:
    """The web app on a store with a world and a few ladder steps: the figures need no worker."""
    from starter.web.app import create_app

    world = await make_world(db)
    async with db.tx() as conn:
        await standing.add_step(
            conn,
            StandingStep(
                id=f"st_{secrets.token_hex(6)}",
                subject_kind=StandingSubject.BUSINESS,
                subject_id=world.business,
                kind=StandingStepKind.WARNING,
                finding=Finding.NEGATIVE_ONLY,
                figures={"flags": 20, "negative": 19},
                taken_at=now() - 3 * DAY,
                ends_at=now() + 87 * DAY,
            ),
        )
    service = Reviewdesk(None, db, settings)  # type: ignore[arg-type]
    transport = httpx.ASGITransport(app=create_app(settings, service))
    async with httpx.AsyncClient(transport=transport, base_url="http://reviewdesk.test") as api:
        yield api, db


async def test_a_bad_period_is_refused_with_invalid_input_and_changes_nothing(
    figures_app: tuple[httpx.AsyncClient, Store],
) -> None:
    api, db = figures_app
    today = now().date()

    async def figures() -> Any:
        answer = await api.get("/api/v1/transparency")
        assert answer.status_code == 200
        body = answer.json()
        body.pop("computed_at")
        async with db.read() as conn:
            for table in ("flags", "notices", "reports", "appeals", "standing_steps", "events"):
                row = await conn.fetch_one(f"SELECT CAST(COUNT(*) AS INTEGER) FROM {table}")
                assert row is not None
                body[f"rows of {table}"] = row[0]
        return body

    before = await figures()
    assert before["period"] == {
        "from": (today - 29 * DAY).isoformat(),
        "to": today.isoformat(),
        "days": 30,
    }
    assert before["misuse_steps"]["businesses"]["taken"]["warning"] == 1
    bad = {
        "not a date": {"from": "2025-02-30"},
        "not a date either": {"to": "last week"},
        "from after to": {
            "from": (today - 3 * DAY).isoformat(),
            "to": (today - 5 * DAY).isoformat(),
        },
        "over 366 days": {"from": (today - 366 * DAY).isoformat(), "to": today.isoformat()},
        "after today": {"to": (today + DAY).isoformat()},
        "starts after today": {"from": (today + 10 * DAY).isoformat()},
        "an unknown format": {"format": "xlsx"},
    }
    for why, params in bad.items():
        for extra in ({}, {"format": "csv"}):
            answer = await api.get("/api/v1/transparency", params={**extra, **params})
            assert answer.status_code == 422, why
            error = answer.json()["error"]
            assert error["code"] == "invalid_input", why
            assert error["message"], why
        page = await api.get("/transparency", params=params)
        if why != "an unknown format":
            assert page.status_code == 422, why
            assert 'data-code="invalid_input"' in page.text and "<svg" not in page.text, why
    assert (
        (await api.get("/api/v1/transparency", params={"from": "2025-02-30"}))
        .json()["error"]["message"]
        .startswith("from:")
    )
    # 366 days is allowed; so is a period ending today.
    longest = {"from": (today - 365 * DAY).isoformat(), "to": today.isoformat()}
    answer = await api.get("/api/v1/transparency", params=longest)
    assert answer.status_code == 200 and answer.json()["period"]["days"] == 366
    assert await figures() == before


async def test_a_store_that_does_not_answer_is_a_503_with_retry_after(
    figures_app: tuple[httpx.AsyncClient, Store], monkeypatch: pytest.MonkeyPatch
) -> None:
    api, db = figures_app

    def away() -> Any:
        raise StoreUnavailable("store: not answering")

    monkeypatch.setattr(db, "read", away)
    for path, params in (
        ("/api/v1/transparency", {}),
        ("/api/v1/transparency", {"format": "csv"}),
        ("/transparency", {}),
    ):
        answer = await api.get(path, params=params)
        assert answer.status_code == 503, path
        assert int(answer.headers["Retry-After"]) > 0


async def test_the_public_page_says_the_figures_in_words_and_links_the_downloads(
    figures_app: tuple[httpx.AsyncClient, Store],
) -> None:
    api, _ = figures_app
    today = now().date()
    page = await api.get("/transparency", params={"from": (today - 6 * DAY).isoformat()})
    assert page.status_code == 200
    text = page.text
    assert "1 step was taken against misuse" in text
    assert "Warnings to businesses" in text
    first = (today - 6 * DAY).isoformat()
    assert f"/api/v1/transparency?from={first}&amp;to={today.isoformat()}&amp;format=csv" in text
    # Linked from every public page's footer.
    home = await api.get("/")
    assert 'href="/transparency"' in home.text
