"""The moderation queue for every reason (issue 17, "Pages"): filters by reason and priority,
high priority first then the oldest, overdue marked, a flag's explanation and the notices
without who sent them; and a decision's legal ground, only where it applies."""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta
from typing import Any

import httpx

from domain import moderation_workflow_id
from domain.enums import FlagReason, ReportSource, ReportStatus, ReviewSource, SubReason
from starter.workflow_inputs import report_input, report_sla
from store import moderation, reports, reviews
from store.records import Report, now, ts
from tests.conftest import Harness
from tests.web import as_, sign_in, web_client
from workflows.report import ReviewReportWorkflow

FLAG_EXPLANATION = "The review prints the home address of our manager."
NOTICE_EXPLANATION = "This review calls a named person a thief."
NOTIFIER_NAME = "Nadia Notifier"
NOTIFIER_EMAIL = "nadia.notifier@private.example"


def _error(response: httpx.Response) -> str:
    body: dict[str, Any] = response.json()
    return str(body["error"]["code"])


async def _report(
    h: Harness,
    review: str,
    reason: FlagReason,
    *,
    age: timedelta,
    overdue: bool = False,
    source: ReportSource = ReportSource.FLAG,
) -> Report:
    """A pending report opened ``age`` ago, as a flag's escalation or a notice would open it."""
    opened = now() - age
    deadline = now() - timedelta(minutes=1) if overdue else opened + report_sla(h.settings, reason)
    sub = SubReason.DEFAMATION if reason is FlagReason.HARMFUL_OR_ILLEGAL else None
    report_id = f"rp_{secrets.token_hex(6)}"
    flag_id = f"fl_{secrets.token_hex(6)}" if source is ReportSource.FLAG else None
    async with h.db.tx() as conn:
        if flag_id:
            await conn.execute(
                "INSERT INTO flags (id, review_id, business_id, reason, sub_reason, explanation,"
                " status, opened_at, report_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    flag_id,
                    h.world.review.get(review, review),
                    h.world.business,
                    reason.value,
                    sub.value if sub else None,
                    FLAG_EXPLANATION,
                    "escalated",
                    ts(opened),
                    report_id,
                ),
            )
        return await moderation.add_report(
            conn,
            id=report_id,
            review_id=h.world.review.get(review, review),
            business_id=h.world.business,
            reason=reason,
            sub_reason=sub,
            source=source,
            opened_at=opened,
            sla_deadline=deadline,
            flag_id=flag_id,
        )


async def _notice(h: Harness, report: Report, at: datetime) -> None:
    async with h.db.tx() as conn:
        await conn.execute(
            "INSERT INTO notices (id, review_id, sub_reason, explanation, name, email,"
            " good_faith, received_at, report_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                f"nt_{secrets.token_hex(6)}",
                report.review_id,
                SubReason.DEFAMATION.value,
                NOTICE_EXPLANATION,
                NOTIFIER_NAME,
                NOTIFIER_EMAIL,
                1,
                ts(at),
                report.id,
            ),
        )


def _cards(page: str) -> list[tuple[str, str]]:
    """The queue's cards in page order: (report id, the card's HTML)."""
    return re.findall(r'<section class="card" data-report="([^"]+)">(.*?)</section>', page, re.S)


async def test_queue_puts_high_priority_first_then_oldest_and_filters_by_reason_and_priority(
    live: Harness,
) -> None:
    h, w = live, live.world
    personal = await _report(h, "organic", FlagReason.PERSONAL_INFORMATION, age=timedelta(hours=3))
    harmful_new = await _report(
        h, "organic2", FlagReason.HARMFUL_OR_ILLEGAL, age=timedelta(hours=1)
    )
    harmful_old = await _report(
        h,
        "external",
        FlagReason.HARMFUL_OR_ILLEGAL,
        age=timedelta(hours=2),
        source=ReportSource.NOTICE,
    )
    spam = await _report(
        h, "organic", FlagReason.ADVERTISING_OR_SPAM, age=timedelta(hours=4), overdue=True
    )
    await _notice(h, harmful_old, now() - timedelta(hours=2))
    await _notice(h, harmful_old, now() - timedelta(minutes=90))
    mod = as_(w.keys[w.moderator])

    async with web_client(h) as api:

        async def listed(query: str = "") -> list[dict[str, Any]]:
            response = await api.get(f"/api/v1/reports{query}", headers=mod)
            assert response.status_code == 200, response.text
            found: list[dict[str, Any]] = response.json()
            return found

        everything = await listed()
        assert [r["id"] for r in everything] == [
            harmful_old.id,
            harmful_new.id,
            spam.id,
            personal.id,
        ]
        by_id = {r["id"]: r for r in everything}
        assert [r["id"] for r in everything if r["overdue"]] == [spam.id]
        assert by_id[harmful_new.id]["priority"] == "high"
        assert by_id[harmful_new.id]["sub_reason"] == "defamation"
        assert by_id[personal.id]["flag"]["explanation"] == FLAG_EXPLANATION
        assert by_id[personal.id]["contact_id"] is None
        assert [n["explanation"] for n in by_id[harmful_old.id]["notices"]] == [
            NOTICE_EXPLANATION
        ] * 2
        assert NOTIFIER_NAME not in str(everything) and NOTIFIER_EMAIL not in str(everything)

        harmful = await listed("?reason=harmful_or_illegal")
        assert [r["id"] for r in harmful] == [harmful_old.id, harmful_new.id]
        normal = await listed("?priority=normal")
        assert [r["id"] for r in normal] == [spam.id, personal.id]
        assert [r["id"] for r in await listed("?reason=personal_information&priority=high")] == []
        assert [r["id"] for r in await listed("?limit=2&offset=2")] == [spam.id, personal.id]
        assert await listed("?status=upheld") == []
        bad = await api.get("/api/v1/reports?reason=rude", headers=mod)
        assert (bad.status_code, _error(bad)) == (422, "invalid_input")
        business = await api.get("/api/v1/reports", headers=as_(w.keys[w.business]))
        assert business.status_code in (401, 403)

        await sign_in(api, w.keys[w.moderator])
        page = (await api.get("/moderation")).text
        assert [rid for rid, _ in _cards(page)] == [r["id"] for r in everything]
        cards = dict(_cards(page))
        assert 'class="overdue"' in cards[spam.id]
        assert 'class="overdue"' not in cards[personal.id] + cards[harmful_new.id]
        assert "High priority" in cards[harmful_new.id] and "High priority" not in cards[spam.id]
        assert "Harmful or illegal (defamation)" in cards[harmful_new.id]
        assert FLAG_EXPLANATION in cards[personal.id]
        assert "2 notices from the public" in cards[harmful_old.id]
        assert NOTICE_EXPLANATION in cards[harmful_old.id]
        assert NOTIFIER_NAME not in page and NOTIFIER_EMAIL not in page
        # The filters are offered in words, never codes.
        assert ">Personal information</option>" in page and ">High priority</option>" in page
        assert ">personal_information<" not in page and "harmful_or_illegal<" not in page

        filtered = (await api.get("/moderation?reason=harmful_or_illegal&priority=")).text
        assert [rid for rid, _ in _cards(filtered)] == [harmful_old.id, harmful_new.id]
        assert '<option value="harmful_or_illegal" selected>' in filtered
        normal_page = (await api.get("/moderation?priority=normal")).text
        assert [rid for rid, _ in _cards(normal_page)] == [spam.id, personal.id]
        none = (await api.get("/moderation?reason=wrong_business")).text
        assert _cards(none) == [] and "No pending reports of this kind." in none
        assert (await api.get("/moderation?reason=rude")).status_code == 422


async def test_queue_pages_keep_their_filters(live: Harness) -> None:
    h, w = live, live.world
    async with h.db.tx() as conn:
        for i in range(51):
            await reviews.add_review(
                conn,
                id=f"{w.review['organic']}_{i}",
                business_id=w.business,
                reviewer_id=w.reviewer,
                rating=1,
                title=f"Review {i}",
                text="Text",
                source=ReviewSource.ORGANIC,
                created_at=now() - timedelta(days=1),
            )
    for i in range(51):
        await _report(
            h,
            f"{w.review['organic']}_{i}",
            FlagReason.WRONG_BUSINESS,
            age=timedelta(minutes=100 - i),
        )
    async with web_client(h) as api:
        await sign_in(api, w.keys[w.moderator])
        first = (await api.get("/moderation?reason=wrong_business")).text
        assert len(_cards(first)) == 50
        [next_link] = re.findall(r'<a href="([^"]+)" rel="next">', first)
        assert "reason=wrong_business" in next_link and "page=2" in next_link
        second = (await api.get(next_link.replace("&amp;", "&"))).text
        assert len(_cards(second)) == 1


async def _running(h: Harness, report: Report) -> None:
    await h.client.start_workflow(
        ReviewReportWorkflow.run,
        report_input(h.settings, report),
        id=moderation_workflow_id(report.id),
        task_queue=h.settings.task_queue,
    )


async def _decision_row(h: Harness, report_id: str) -> Report | None:
    async with h.db.read() as conn:
        return await reports.get_report(conn, report_id)


async def test_legal_ground_is_kept_with_an_upheld_harmful_report_and_shown_once_decided(
    live: Harness,
) -> None:
    h, w = live, live.world
    report = await _report(h, "organic", FlagReason.HARMFUL_OR_ILLEGAL, age=timedelta(minutes=5))
    await _running(h, report)
    law = "Defamation Act 2013, section 1"
    async with web_client(h) as api:
        await sign_in(api, w.keys[w.moderator])
        form = (await api.get(f"/moderation/reports/{report.id}/decide?decision=uphold")).text
        assert "Law broken, if illegal" in form and 'name="legal_ground"' in form
        reject_form = (
            await api.get(f"/moderation/reports/{report.id}/decide?decision=reject")
        ).text
        assert 'name="legal_ground"' not in reject_form
        decided = await api.post(
            f"/api/v1/reports/{report.id}/decision",
            json={
                "decision": "uphold",
                "note": "A named person is called a thief",
                "legal_ground": law,
            },
            headers=as_(w.keys[w.moderator]),
        )
        assert decided.status_code == 200, decided.text
        assert decided.json()["status"] == "upheld"
        assert decided.json()["decision"]["legal_ground"] == law
        done = await _decision_row(h, report.id)
        assert done is not None and done.decision_id
        async with h.db.read() as conn:
            kept = await reports.get_decision(conn, done.decision_id)
        assert kept is not None and kept.legal_ground == law
        page = (await api.get("/moderation?show=decided")).text
        assert f"Law broken: “{law}”" in dict(_cards(page))[report.id]
        assert "Appealed" not in dict(_cards(page))[report.id]

        # Once appealed and granted, the decided card says so, and who decided the appeal.
        async with h.db.tx() as conn:
            await conn.execute(
                "INSERT INTO appeals (id, decision_id, report_id, review_id, appellant,"
                " appellant_id, statement, status, opened_at, sla_deadline, decided_at,"
                " moderator_id, decision) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    f"ap_{secrets.token_hex(6)}",
                    done.decision_id,
                    report.id,
                    report.review_id,
                    "reviewer",
                    w.reviewer,
                    "I only said what happened to me.",
                    "granted",
                    ts(now()),
                    ts(now() + timedelta(days=5)),
                    ts(now()),
                    w.second_moderator,
                    "grant",
                ),
            )
        card = dict(_cards((await api.get("/moderation?show=decided")).text))[report.id]
        words = re.sub(r"<[^>]+>", "", card)
        assert "Appealed by the reviewer on" in words
        assert "Granted: the decision is reversed · by Sam" in words
        assert "Upheld: the review is removed (reversed on appeal)" in words


async def test_legal_ground_is_refused_with_a_rejection_or_for_another_reason(
    live: Harness,
) -> None:
    h, w = live, live.world
    mod = as_(w.keys[w.moderator])
    harmful = await _report(h, "organic", FlagReason.HARMFUL_OR_ILLEGAL, age=timedelta(minutes=5))
    personal = await _report(
        h, "organic2", FlagReason.PERSONAL_INFORMATION, age=timedelta(minutes=5)
    )
    await _running(h, personal)
    async with web_client(h) as api:

        async def decide(report: Report, body: dict[str, Any]) -> httpx.Response:
            return await api.post(f"/api/v1/reports/{report.id}/decision", json=body, headers=mod)

        rejected = await decide(harmful, {"decision": "reject", "legal_ground": "Penal code 1"})
        assert (rejected.status_code, _error(rejected)) == (422, "invalid_input")
        assert "legal_ground" in rejected.json()["error"]["message"]
        too_long = await decide(harmful, {"decision": "uphold", "legal_ground": "x" * 201})
        assert (too_long.status_code, _error(too_long)) == (422, "invalid_input")
        other = await decide(personal, {"decision": "uphold", "legal_ground": "GDPR art. 6"})
        assert (other.status_code, _error(other)) == (422, "legal_ground_not_applicable")
        form = (await _form(api, h, personal)).text
        assert 'name="legal_ground"' not in form
        # Nothing changed: both still wait for a moderator, with no decision drafted.
        for report in (harmful, personal):
            now_ = await _decision_row(h, report.id)
            assert now_ is not None and now_.status is ReportStatus.PENDING
            assert now_.decision_id is None
        async with h.db.read() as conn:
            drafts = await conn.fetch_all(
                "SELECT id FROM decisions WHERE report_id IN (?, ?)", (harmful.id, personal.id)
            )
        assert drafts == []
        # Without a legal ground, the same decision goes through: the platform's own rules.
        upheld = await decide(personal, {"decision": "uphold", "legal_ground": ""})
        assert upheld.status_code == 200, upheld.text
        assert upheld.json()["decision"]["legal_ground"] is None


async def _form(api: httpx.AsyncClient, h: Harness, report: Report) -> httpx.Response:
    await sign_in(api, h.world.keys[h.world.moderator])
    return await api.get(f"/moderation/reports/{report.id}/decide?decision=uphold")
