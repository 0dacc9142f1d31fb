"""No hangs: with Temporal or the store out of reach, a 503 with Retry-After in seconds, never a
wait for ever; and a retry with the same idempotency key gets its own success, once."""

from __future__ import annotations

import asyncio
import re
import secrets
import sqlite3
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from delivery.mail import message_id
from domain.enums import Answer, Grounds, RequestedItem
from settings import Settings
from starter.client import connect
from starter.devserver import DevServer
from starter.service import Reviewdesk
from starter.unavailable import is_outage
from starter.web.app import create_app
from store import Database, contacts, outbox, reports
from store.accounts import hash_secret
from store.database import translated
from store.records import ContactRequest, now
from tests.conftest import Harness, Running
from tests.processes import BIN, ROOT, env_for, free_port
from tests.survive import eventually, reply_token, start_stack
from tests.web import as_
from tests.world import World, make_world

pytestmark = pytest.mark.devserver

ASK = {"message": "Which of our shops did you visit?", "requested": ["order_reference"]}
# How long a caller may wait for a 503 (issue 15, acceptance 3).
PATIENCE = 10.0


@asynccontextmanager
async def http(settings: Settings, service: Reviewdesk) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(settings, service))
    async with httpx.AsyncClient(transport=transport, base_url="http://reviewdesk.test") as c:
        yield c


async def timed(call: Awaitable[httpx.Response]) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = await call
    return response, time.monotonic() - started


def unavailable(response: httpx.Response) -> bool:
    """A 503 a client can act on: the error's code, and when to try again."""
    return (
        response.status_code == 503
        and int(response.headers["Retry-After"]) > 0
        and (
            "json" not in response.headers["content-type"]
            or response.json()["error"]["code"] == "unavailable"
        )
    )


async def test_a_reply_with_the_worker_down_answers_503_in_time_and_its_retry_200_once(
    tmp_path: Path,
) -> None:
    """Acceptance 3: dev server, worker.py as a process, the reply page as a browser posts it."""
    stack = await start_stack(tmp_path)
    try:
        w = await make_world(stack.db)
        # The web app's own deadline, not the survival suites' patient one.
        service = stack.service(temporal_call_timeout=timedelta(seconds=5))
        async with http(stack.settings, service) as web:
            opened = await web.post(
                f"/api/v1/reviews/{w.review['organic']}/contacts",
                json=ASK,
                headers=as_(w.keys[w.business]),
            )
            assert opened.status_code == 201, opened.text
            contact_id = opened.json()["id"]
            token = await reply_token(stack, contact_id)
            page = await web.get(f"/reply/{token}")
            [key] = _hidden(page.text, "idempotency_key")
            form = {
                "action": "reply",
                "order_reference": "ORD-4471",
                "message": "It was the harbour shop.",
                "idempotency_key": key,
            }

            stack.worker.stop()
            first, took = await timed(web.post(f"/reply/{token}", data=form))
            assert unavailable(first) and took < PATIENCE, (first.status_code, took)
            # Nothing changed that anyone can see: the link still shows its form, the business
            # sees a contact awaiting its reply, and no one was told of a reply.
            again = await web.get(f"/reply/{token}")
            assert again.status_code == 200 and 'value="reply"' in again.text
            shown = await web.get(f"/api/v1/contacts/{contact_id}", headers=as_(w.keys[w.business]))
            assert shown.json()["status"] == "awaiting_reply" and shown.json()["reply"] is None
            assert not await _replied_emails(stack.db, contact_id)

            stack.worker.start()
            await stack.worker.wait_polling()
            retried = await web.post(f"/reply/{token}", data=form)
            assert retried.status_code == 200, retried.text
            assert "Thank you" in retried.text

            shown = await web.get(f"/api/v1/contacts/{contact_id}", headers=as_(w.keys[w.business]))
            assert shown.json()["status"] == "replied"
            assert shown.json()["reply"]["order_reference"] == "ORD-4471"
        [email] = await _replied_emails(stack.db, contact_id)
        await eventually(
            lambda: _arrived(stack.smtp.inbox.by_id(), message_id(email)), 30, "the reply email"
        )
        await asyncio.sleep(1)  # a second copy, if one were coming, would be on its way by now
        assert stack.smtp.inbox.by_id()[message_id(email)] == 1
        assert await _count(stack.db, "answers", "contact_id", contact_id) == 1
    finally:
        await stack.close()


def _hidden(page: str, name: str) -> list[str]:
    return re.findall(rf'name="{name}" value="([^"]+)"', page)


async def _replied_emails(db: Database, contact_id: str) -> list[str]:
    async with db.read() as conn:
        found = await outbox.messages_about(conn, [contact_id])
    return [m.key for m in found if m.event_type == "contact.replied" and m.channel == "email"]


async def _arrived(copies: Any, mid: str) -> bool:
    return bool(copies[mid])


async def _count(db: Database, table: str, column: str, value: str) -> int:
    """Rows of ``table`` about one object, drafts included: what no page shows."""
    async with db.read() as conn:
        row = await conn.fetch_one(f"SELECT COUNT(*) FROM {table} WHERE {column} = ?", (value,))
    return int(row[0]) if row else 0


# --- Temporal out of reach ---------------------------------------------------------------------


async def _awaiting_contact(db: Database, w: World, review: str) -> tuple[str, str]:
    """A contact awaiting its reply, as the store holds it, and its reply token."""
    contact_id, token = f"ct_{secrets.token_hex(6)}", secrets.token_urlsafe(24)
    request = ContactRequest(
        id=contact_id,
        review_id=w.review[review],
        business_id=w.business,
        message="Which shop?",
        requested=[RequestedItem.ORDER_REFERENCE],
        created_at=now(),
    )
    async with db.tx() as conn:
        await contacts.add_request(
            conn,
            id=contact_id,
            review_id=request.review_id,
            business_id=w.business,
            message=request.message,
            requested=request.requested,
            created_at=request.created_at,
        )
        await contacts.open_contact(
            conn,
            request=request,
            reviewer_id=w.reviewer,
            opened_at=now(),
            deadline=now() + timedelta(days=5),
        )
        await contacts.set_token_hash(conn, contact_id, hash_secret(token))
    return contact_id, token


async def _pending_report(db: Database, w: World, contact_id: str) -> str:
    report_id = f"rp_{secrets.token_hex(6)}"
    async with db.tx() as conn:
        await reports.add_report(
            conn,
            id=report_id,
            review_id=w.review["organic"],
            contact_id=contact_id,
            business_id=w.business,
            grounds=Grounds.NO_RESPONSE,
            opened_at=now(),
            sla_deadline=now() + timedelta(days=2),
        )
    return report_id


async def test_temporal_out_of_reach_answers_503_with_retry_after_on_every_write(
    db: Database, settings: Settings
) -> None:
    """A dev server of its own, stopped: the client's calls get no answer. Each write answers
    503 within the deadline, keeps its draft for a retry, and shows nothing to anyone."""
    settings = settings.model_copy(
        update={
            "temporal_address": f"127.0.0.1:{free_port()}",
            "temporal_ui_port": 0,
            "temporal_call_timeout": timedelta(seconds=2),
        }
    )
    server = DevServer(settings)
    await server.start()
    client = await connect(settings)
    await server.stop()

    w = await make_world(db)
    contact_id, token = await _awaiting_contact(db, w, "organic")
    report_id = await _pending_report(db, w, contact_id)
    business, moderator = as_(w.keys[w.business]), as_(w.keys[w.moderator])
    async with http(settings, Reviewdesk(client, db, settings)) as web:
        calls: dict[str, Callable[[], Awaitable[httpx.Response]]] = {
            "contact request": lambda: web.post(
                f"/api/v1/reviews/{w.review['external']}/contacts", json=ASK, headers=business
            ),
            "report": lambda: web.post(
                f"/api/v1/contacts/{contact_id}/report",
                json={"grounds": "no_response"},
                headers={**business, "Idempotency-Key": "report-1"},
            ),
            "decision": lambda: web.post(
                f"/api/v1/reports/{report_id}/decision",
                json={"decision": "reject", "note": "fine"},
                headers={**moderator, "Idempotency-Key": "decision-1"},
            ),
            "reply page": lambda: web.post(
                f"/reply/{token}",
                data={"action": "reply", "message": "Harbour shop", "idempotency_key": "k" * 24},
            ),
        }
        for what, call in calls.items():
            response, took = await timed(call())
            assert unavailable(response), (what, response.status_code, response.text)
            assert took < PATIENCE, (what, took)
        shown = await web.get(f"/api/v1/contacts/{contact_id}", headers=business)
        queue = await web.get("/api/v1/reports?status=pending", headers=moderator)
    # Nothing shows: no reply, the report still pending. The drafts wait, unlinked, for a retry.
    assert shown.json()["status"] == "awaiting_reply" and shown.json()["reply"] is None
    [pending] = queue.json()
    assert pending["id"] == report_id and pending["status"] == "pending"
    async with db.read() as conn:
        assert await contacts.answer_for_key(conn, contact_id, "k" * 24) is not None
        assert await reports.decision_for_key(conn, report_id, w.moderator, "decision-1")


async def test_a_store_locked_past_its_busy_timeout_answers_503(
    db: Database, settings: Settings
) -> None:
    """Another process holds the store's write lock: the API and the pages say "try again"."""
    w = await make_world(db)
    _, token = await _awaiting_contact(db, w, "organic")
    busy = await Database(settings.store_path, busy_timeout=timedelta(milliseconds=300)).connect()
    holder = sqlite3.connect(settings.store_path, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        # Temporal is never reached: the store refuses first.
        service = Reviewdesk(cast(Client, None), busy, settings)
        async with http(settings, service) as web:
            api = await web.post(
                f"/api/v1/reviews/{w.review['external']}/contacts",
                json=ASK,
                headers=as_(w.keys[w.business]),
            )
            page = await web.post(f"/reply/{token}", data={"action": "reply", "message": "Hi"})
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        await busy.close()
    assert unavailable(api), api.text
    assert api.json()["error"]["code"] == "unavailable"
    assert unavailable(page) and "try again" in page.text


class TurnedAway:
    """A Temporal client whose every update fails with one RPC status, as a server would."""

    def __init__(self, status: RPCStatusCode) -> None:
        self.status = status

    def get_workflow_handle_for(self, *args: Any, **kwargs: Any) -> TurnedAway:
        return self

    async def execute_update(self, *args: Any, **kwargs: Any) -> Any:
        raise RPCError("the server's own words", self.status, b"")


@pytest.mark.parametrize(
    ("status", "draft_kept"),
    [(RPCStatusCode.PERMISSION_DENIED, False), (RPCStatusCode.INTERNAL, True)],
)
async def test_any_other_rpc_error_is_a_503_and_leaves_a_draft_only_if_it_may_still_land(
    db: Database, settings: Settings, status: RPCStatusCode, draft_kept: bool
) -> None:
    """Turned away (a permission, a bad argument): nothing happened, the draft goes. An internal
    error says nothing of the outcome: the draft stays for the retry. Never a 500."""
    w = await make_world(db)
    contact_id, _ = await _awaiting_contact(db, w, "organic")
    report_id = await _pending_report(db, w, contact_id)
    service = Reviewdesk(cast(Client, TurnedAway(status)), db, settings)
    async with http(settings, service) as web:
        response = await web.post(
            f"/api/v1/reports/{report_id}/decision",
            json={"decision": "uphold", "note": "n"},
            headers={**as_(w.keys[w.moderator]), "Idempotency-Key": "once"},
        )
    assert unavailable(response), response.text
    assert "own words" not in response.text
    async with db.read() as conn:
        draft = await reports.decision_for_key(conn, report_id, w.moderator, "once")
    assert (draft is not None) is draft_kept


def test_the_cli_says_unavailable_and_exits_3_when_temporal_is_out_of_reach(
    tmp_path: Path,
) -> None:
    env = env_for(tmp_path / "data", temporal_address=f"127.0.0.1:{free_port()}")
    started = time.monotonic()
    done = subprocess.run(
        [str(BIN / "reviewdesk"), "close", "ct_x", "--business", "biz_x"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 3, done.stderr
    assert "unavailable" in done.stderr and "Traceback" not in done.stderr
    assert time.monotonic() - started < 30


# --- idempotent retries ------------------------------------------------------------------------


async def test_a_retried_report_close_and_decision_with_their_key_get_their_own_success(
    live: Harness,
) -> None:
    """A client that lost the answer retries with the same Idempotency-Key: the first outcome,
    not a 409; without the key, the repeat is refused as before."""
    h, w = live, live.world
    business, moderator = as_(w.keys[w.business]), as_(w.keys[w.moderator])
    async with http(h.settings, h.service) as web:
        first = await _opened(web, w, "organic")
        token = await h.reply_token(first)
        await h.service.answer(token, Answer.DECLINE)
        url = f"/api/v1/contacts/{first}/report"
        keyed = {**business, "Idempotency-Key": "report-attempt-1"}
        reported = await web.post(url, json={"grounds": "no_response"}, headers=keyed)
        assert reported.status_code == 202, reported.text
        again = await web.post(url, json={"grounds": "no_response"}, headers=keyed)
        assert (again.status_code, again.json()["id"]) == (202, reported.json()["id"])
        other = await web.post(
            url, json={"grounds": "no_response"}, headers={**business, "Idempotency-Key": "b"}
        )
        assert (other.status_code, other.json()["error"]["code"]) == (409, "already_reported")

        decision_url = f"/api/v1/reports/{reported.json()['id']}/decision"
        keyed = {**moderator, "Idempotency-Key": "decision-attempt-1"}
        body = {"decision": "reject", "note": "The reviewer was there."}
        decided = await web.post(decision_url, json=body, headers=keyed)
        assert decided.status_code == 200, decided.text
        again = await web.post(decision_url, json=body, headers=keyed)
        assert (again.status_code, again.json()["status"]) == (200, "rejected")
        unkeyed = await web.post(decision_url, json=body, headers=moderator)
        assert (unkeyed.status_code, unkeyed.json()["error"]["code"]) == (409, "already_decided")

        second = await _opened(web, w, "external")
        keyed = {**business, "Idempotency-Key": "close-attempt-1"}
        closed = await web.post(f"/api/v1/contacts/{second}/close", headers=keyed)
        assert closed.status_code == 200, closed.text
        again = await web.post(f"/api/v1/contacts/{second}/close", headers=keyed)
        assert (again.status_code, again.json()["status"]) == (200, "closed")
        unkeyed = await web.post(f"/api/v1/contacts/{second}/close", headers=business)
        assert (unkeyed.status_code, unkeyed.json()["error"]["code"]) == (409, "contact_closed")
    assert len(await h.messages("report.rejected", "business")) == 1


async def _opened(web: httpx.AsyncClient, w: World, review: str) -> str:
    opened = await web.post(
        f"/api/v1/reviews/{w.review[review]}/contacts", json=ASK, headers=as_(w.keys[w.business])
    )
    assert opened.status_code == 201, opened.text
    return str(opened.json()["id"])


async def test_a_decision_sent_while_the_worker_is_down_is_applied_once_and_its_retry_succeeds(
    dev_env: WorkflowEnvironment, db: Database, settings: Settings
) -> None:
    """The first try's update waits in Temporal; the worker back applies it; the retry with the
    same key sends the same update id and gets that outcome, not "already decided"."""
    settings = settings.model_copy(update={"temporal_call_timeout": timedelta(seconds=2)})
    async with Running(dev_env, db, settings) as h:
        w = h.world
        async with http(settings, h.service) as web:
            contact = await _opened(web, w, "organic")
            token = await h.reply_token(contact)
            declined = await web.post(f"/reply/{token}", data={"action": "decline"})
            assert declined.status_code == 200, declined.text
            reported = await web.post(
                f"/api/v1/contacts/{contact}/report",
                json={"grounds": "no_response"},
                headers=as_(w.keys[w.business]),
            )
            assert reported.status_code == 202, reported.text
    report_id = reported.json()["id"]
    url = f"/api/v1/reports/{report_id}/decision"
    headers = {**as_(w.keys[w.moderator]), "Idempotency-Key": "one-click"}
    body = {"decision": "uphold", "note": "Not a genuine experience."}
    async with http(settings, h.service) as web:
        down, took = await timed(web.post(url, json=body, headers=headers))
        assert unavailable(down) and took < PATIENCE, (down.status_code, took)
    async with Running(dev_env, db, settings) as h, http(settings, h.service) as web:
        retried = await web.post(url, json=body, headers=headers)
        assert retried.status_code == 200, retried.text
        assert retried.json()["status"] == "upheld"
        assert retried.json()["review"]["visibility"] == "removed"
        assert await _count(db, "decisions", "report_id", report_id) == 1
        await h.eventually(lambda: h.messages("report.upheld", "business"))
        assert len(await h.messages("report.upheld", "business")) == 1


def test_a_store_error_that_is_a_bug_is_not_dressed_up_as_try_again() -> None:
    # A caller told "try again" for a statement that can never work would retry for ever.
    def seen(err: Exception) -> bool:
        return is_outage(translated(err))

    assert seen(sqlite3.OperationalError("database is locked"))
    assert seen(sqlite3.OperationalError("disk I/O error"))
    assert seen(sqlite3.OperationalError("unable to open database file"))
    assert not seen(sqlite3.OperationalError("no such column: purged_at"))
    assert not seen(sqlite3.OperationalError('near "SELEC": syntax error'))
    assert not seen(sqlite3.IntegrityError("UNIQUE constraint failed"))
