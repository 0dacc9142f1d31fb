"""The store and Temporal agree: the invariants that must hold whatever crashed, and when.

``violations`` returns what is wrong, one line each; an empty list means consistent. The checks
in ``_always`` hold at every instant, in the middle of any step, because each step writes in one
transaction; ``settled=True`` adds what holds once nothing is in flight (every message sent, no
workflow failed, no workflow running without its record).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from typing import Any

from temporalio.client import Client

from domain.enums import REVIEWER_CONTACTED_LABEL, ContactStatus
from starter.reconcile import Expected, check
from store import Connection, Store
from store.records import fetch_all

_OPEN = tuple(s.value for s in ContactStatus if s.is_open)
_OUTCOME_EVENT = {"reply": "replied", "decline": "declined", None: "no_response"}


async def violations(
    db: Store, client: Client, *, task_queue: str | None = None, settled: bool = False
) -> list[str]:
    async with db.read() as conn:
        rows = await _rows(conn)
    found = _always(rows)
    missing = await _workflows_of_open_records(client, rows, settled=settled)
    if missing and not settled:
        # A record read as open may have closed, and its workflow ended, since: ask again.
        async with db.read() as conn:
            again = await _workflows_of_open_records(client, await _rows(conn), settled=False)
        missing = [m for m in missing if m in again]
    found += missing
    if settled:
        found += _settled_store(rows)
        if task_queue is not None:
            found += await _no_stray_workflows(client, rows, task_queue)
    return found


async def wait_consistent(
    db: Store,
    client: Client,
    *,
    task_queue: str | None = None,
    settled: bool = True,
    timeout: float = 30,
) -> list[str]:
    """Violations once they are gone, or those left after ``timeout`` (visibility lags a little)."""
    give_up = time.monotonic() + timeout
    while True:
        found = await violations(db, client, task_queue=task_queue, settled=settled)
        if not found or time.monotonic() > give_up:
            return found
        await asyncio.sleep(0.5)


# --- what the store holds --------------------------------------------------------------------


async def _rows(conn: Connection) -> dict[str, Any]:
    async def all_of(sql: str) -> list[dict[str, Any]]:
        return [dict(r) for r in await fetch_all(conn, sql)]

    return {
        "contacts": await all_of(
            "SELECT c.*, a.answer AS answer_kind FROM contacts c"
            " LEFT JOIN answers a ON a.id = c.answer_id"
        ),
        "reviews": await all_of("SELECT id, visibility FROM reviews"),
        "labels": await all_of("SELECT review_id, label FROM review_labels"),
        "reports": await all_of("SELECT * FROM reports"),
        "decisions": {r["id"]: r for r in await all_of("SELECT * FROM decisions")},
        "events": {
            (r["subject_id"], r["type"])
            for r in await all_of("SELECT subject_id, type FROM events")
        },
        "outbox": {r["key"]: r for r in await all_of("SELECT key, status FROM outbox")},
        "statements": await all_of("SELECT id, report_id FROM statements"),
    }


def _always(rows: dict[str, Any]) -> list[str]:
    found: list[str] = []
    events: set[tuple[str, str]] = rows["events"]
    outbox: dict[str, Any] = rows["outbox"]
    labels = {(r["review_id"], r["label"]) for r in rows["labels"]}
    contacted = {c["review_id"] for c in rows["contacts"]}
    reports = {r["id"]: r for r in rows["reports"]}
    reports_of_review = {r["review_id"]: r for r in rows["reports"]}

    def need(ok: bool, message: str) -> None:
        if not ok:
            found.append(message)

    open_per_review: dict[str, int] = {}
    for c in rows["contacts"]:
        cid, status = c["id"], c["status"]
        # Opened in one step: record, label and history together, or none of them.
        need((c["review_id"], REVIEWER_CONTACTED_LABEL) in labels, f"{cid}: review has no label")
        need((cid, "opened") in events, f"{cid}: no 'opened' history")
        # The request email and the token in its link are written together.
        has_request = f"{cid}:contact.requested:reviewer" in outbox
        need(
            (c["token_hash"] is not None) == has_request,
            f"{cid}: reply token and request email disagree",
        )
        if status in _OPEN:
            open_per_review[c["review_id"]] = open_per_review.get(c["review_id"], 0) + 1
        if c["report_deadline"] is not None:
            # The reply window closed through record_outcome: its status, history and email.
            outcome = _OUTCOME_EVENT.get(c["answer_kind"], "no_response")
            need((cid, outcome) in events, f"{cid}: window closed without '{outcome}' history")
            need(
                f"{cid}:contact.{outcome}:business" in outbox,
                f"{cid}: window closed without telling the business",
            )
            need(c["window_closed_at"] is not None, f"{cid}: report deadline without window end")
        if status in ("replied", "declined"):
            need(
                c["answer_kind"] == ("reply" if status == "replied" else "decline"),
                f"{cid}: {status} without a matching answer",
            )
        if status == "awaiting_reply":
            need(c["answer_id"] is None, f"{cid}: awaiting a reply it has")
        if status == "reported":
            report = reports.get(c["report_id"] or "")
            need(report is not None, f"{cid}: reported without its report")
            need((cid, "reported") in events, f"{cid}: no 'reported' history")
            if report is not None:
                need(report["contact_id"] == cid, f"{cid}: its report names another contact")
                need(
                    f"{report['id']}:report.opened:business" in outbox,
                    f"{cid}: reported without telling the business",
                )
        if status == "closed":
            need(c["closed_at"] is not None, f"{cid}: closed without a time")
            need((cid, "closed") in events, f"{cid}: no 'closed' history")
    for review_id, count in open_per_review.items():
        need(count == 1, f"{review_id}: {count} open contacts")
    for review_id, label in labels:
        need(review_id in contacted, f"{review_id}: label '{label}' without any contact")

    for review in rows["reviews"]:
        rid, visibility = review["id"], review["visibility"]
        report = reports_of_review.get(rid)
        status = report["status"] if report else None
        if visibility == "hidden":
            need(status == "pending", f"{rid}: hidden without a pending report")
        if status == "pending":
            need(visibility == "hidden", f"{rid}: pending report but review is {visibility}")
        if status == "upheld":
            need(visibility == "removed", f"{rid}: upheld report but review is {visibility}")
        if status == "rejected":
            need(visibility == "visible", f"{rid}: rejected report but review is {visibility}")
    for report in rows["reports"]:
        rid = report["id"]
        if report["status"] != "pending":
            decision = rows["decisions"].get(report["decision_id"] or "")
            need(decision is not None, f"{rid}: decided without its decision")
            need((rid, report["status"]) in events, f"{rid}: no '{report['status']}' history")
            event = f"report.{report['status']}"
            # A removal's email to the reviewer is its statement of reasons, about the statement.
            about = [rid] + [s["id"] for s in rows["statements"] if s["report_id"] == rid]
            for who in ("business", "reviewer"):
                need(
                    any(f"{subject}:{event}:{who}" in outbox for subject in about),
                    f"{rid}: decision not told to the {who}",
                )
        if report["escalated_at"] is not None:
            need(
                f"{rid}:report.escalated:moderation" in outbox,
                f"{rid}: escalated without telling the moderators",
            )
    return found


def _settled_store(rows: dict[str, Any]) -> list[str]:
    found = [
        f"outbox {key}: still {row['status']}"
        for key, row in rows["outbox"].items()
        if row["status"] != "sent"
    ]
    for c in rows["contacts"]:
        if c["token_hash"] is None:
            found.append(f"{c['id']}: opened but the reviewer was never sent the request")
    for report in rows["reports"]:
        if (report["id"], "opened") not in rows["events"]:
            found.append(f"{report['id']}: its workflow never opened it")
        if f"{report['id']}:report.opened:reviewer" not in rows["outbox"]:
            found.append(f"{report['id']}: the reviewer was never told")
    return found


# --- what Temporal runs ----------------------------------------------------------------------


async def _workflows_of_open_records(
    client: Client, rows: dict[str, Any], *, settled: bool
) -> list[str]:
    """By the rule `reviewdesk reconcile` repairs by: each open record's workflow runs, for it
    (that last checked once settled only, as before)."""
    expected = [
        Expected("contact", c["id"], c["review_id"], c["status"])
        for c in rows["contacts"]
        if c["status"] in _OPEN
    ] + [
        Expected("report", r["id"], r["review_id"], r["status"])
        for r in rows["reports"]
        if r["status"] == "pending"
    ]
    found = [await check(client, e, owner=settled) for e in expected]
    return [str(d) for d in found if d is not None]


async def _no_stray_workflows(client: Client, rows: dict[str, Any], task_queue: str) -> list[str]:
    """Nothing failed, and nothing runs that the store no longer expects to run."""
    found: list[str] = []
    open_reviews = {c["review_id"] for c in rows["contacts"] if c["status"] in _OPEN}
    pending_reviews = {r["review_id"] for r in rows["reports"] if r["status"] == "pending"}
    pending_messages = {k for k, r in rows["outbox"].items() if r["status"] == "pending"}
    async for w in client.list_workflows(f'TaskQueue = "{task_queue}"', page_size=1000):
        status = w.status.name if w.status else "UNKNOWN"
        if status not in ("RUNNING", "COMPLETED"):
            found.append(f"{w.id}: {status}")
        if status != "RUNNING":
            continue
        if w.id.startswith("contact-"):
            expected = w.id.removeprefix("contact-") in open_reviews
        elif w.id.startswith("report-"):
            expected = w.id.removeprefix("report-") in pending_reviews
        elif w.id.startswith("standing-"):
            expected = True  # a standing workflow ends itself once nothing is in force
        else:
            expected = w.id.removeprefix("message-") in pending_messages
        if not expected:
            found.append(f"{w.id}: running, but the store has nothing open for it")
    return found


def summary(found: Iterable[str], limit: int = 20) -> str:
    found = list(found)
    more = f"\n... and {len(found) - limit} more" if len(found) > limit else ""
    return "\n".join(found[:limit]) + more
