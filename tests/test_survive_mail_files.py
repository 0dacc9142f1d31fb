"""kill -9 right after a request email's .eml file is written: the file is written once.

The worker writes mail as files (no SMTP server) and kills itself the moment the third
reviewer's email is on disk, before the outbox marks it sent (``tests/dying_worker.py``). A fresh
worker retries the step, finds the file there and leaves it alone (issue 15, acceptance 7).
"""

from __future__ import annotations

import asyncio
import secrets
import signal
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
import pytest_asyncio

from delivery.mail import FileMailer
from domain.enums import ContactStatus, ReviewSource
from settings import Settings
from starter.client import connect
from starter.devserver import DevServer
from starter.inputs import ContactRequestBody
from starter.service import Reviewdesk
from store import Database, accounts, contacts, outbox, reviews
from store.records import now
from tests.processes import env_for, free_port
from tests.survive import WorkerProcess, eventually

pytestmark = [pytest.mark.devserver, pytest.mark.survive, pytest.mark.timeout(120)]

CONTACTS = 6
DIE_AT_EMAIL = 3


@dataclass
class FileStack:
    settings: Settings
    server: DevServer
    worker: WorkerProcess
    db: Database
    service: Reviewdesk


@pytest_asyncio.fixture
async def stack(tmp_path: Path) -> AsyncIterator[FileStack]:
    base = {
        "temporal_address": f"127.0.0.1:{free_port()}",
        "temporal_ui_port": "0",
        "task_queue": f"files-{secrets.token_hex(4)}",
        "public_base_url": "http://reviewdesk.test",
        # A killed worker's attempt is retried after this, not after the default 30s.
        "delivery_attempt_timeout": "PT6S",
        "smtp_timeout": "PT3S",
        "webhook_timeout": "PT3S",
    }
    data_dir = tmp_path / "data"
    settings = Settings(_env_file=None, data_dir=data_dir, **base)  # type: ignore[arg-type]
    server = DevServer(settings)
    await server.start()
    db = await Database(settings.store_path).connect()
    worker = WorkerProcess(env_for(data_dir, **base), tmp_path / "worker.log")
    client = await connect(settings)
    found = FileStack(settings, server, worker, db, Reviewdesk(client, db, settings))
    try:
        yield found
    finally:
        worker.stop()
        await db.close()
        await server.stop()


async def _seed(db: Database) -> tuple[str, list[str]]:
    at = now()
    async with db.tx() as conn:
        await accounts.add_business(
            conn, id="biz_f", name="Files", email="o@f.example", api_key_hash=None, created_at=at
        )
        for i in range(CONTACTS):
            await accounts.add_reviewer(
                conn, id=f"rvr_{i}", display_name=f"R {i}", email=f"r{i}@x.example", created_at=at
            )
            await reviews.add_review(
                conn,
                id=f"rv_{i}",
                business_id="biz_f",
                reviewer_id=f"rvr_{i}",
                rating=1,
                title=f"Review {i}",
                text="Text",
                source=ReviewSource.ORGANIC,
                created_at=at - timedelta(days=1),
            )
    return "biz_f", [f"rv_{i}" for i in range(CONTACTS)]


def _request_key(contact_id: str) -> str:
    return f"{contact_id}:contact.requested:reviewer"


async def test_a_request_email_file_written_just_before_a_kill_is_not_written_again(
    stack: FileStack,
) -> None:
    business, review_ids = await _seed(stack.db)
    ask = ContactRequestBody(message="Could you share your order number?", requested=[])
    mail = FileMailer(stack.settings.mail_dir)
    stack.worker.start(dying_after=f"mail_file:{DIE_AT_EMAIL}")
    await stack.worker.wait_polling()

    async def request(i: int) -> None:
        await stack.service.request_contact(business, review_ids[i], ask, idempotency_key=f"k{i}")

    async def until_answered(i: int) -> None:
        """As a client does with a 503 while no worker runs: the same request again, same key."""
        give_up = time.monotonic() + 60
        while True:
            try:
                return await request(i)
            except Exception:
                if time.monotonic() > give_up:
                    raise
                await asyncio.sleep(0.5)

    requests = [asyncio.create_task(request(i)) for i in range(CONTACTS)]
    assert await stack.worker.died(timeout=60) == -signal.SIGKILL, stack.worker.log()

    # The gap: a file on disk whose message the outbox still holds as pending.
    async with stack.db.read() as conn:
        rows = await outbox.all_messages(conn)
    requested = {m.subject_id: m for m in rows if m.event_type == "contact.requested"}
    in_gap = [
        c for c, m in requested.items() if m.status == "pending" and mail.path_for(m.key).exists()
    ]
    assert in_gap, "the worker did not die between writing a file and marking it sent"
    written = {
        path.name: (path.stat().st_ino, path.stat().st_mtime_ns, path.read_bytes())
        for path in stack.settings.mail_dir.glob("*.eml")
    }

    stack.worker.start()
    await stack.worker.wait_polling()
    outcomes = await asyncio.gather(*requests, return_exceptions=True)
    await asyncio.gather(
        *(until_answered(i) for i, done in enumerate(outcomes) if isinstance(done, BaseException))
    )

    async def all_sent() -> bool:
        async with stack.db.read() as conn:
            messages = [m for m in await outbox.all_messages(conn) if m.channel == "email"]
        return len(messages) == CONTACTS and all(m.status == "sent" for m in messages)

    await eventually(all_sent, 60, "every request email sent")
    async with stack.db.read() as conn:
        rows = await outbox.all_messages(conn)
        opened = [await contacts.get_contact(conn, m.subject_id) for m in rows]
    # Each outbox row was sent once: the retry found its file and wrote nothing.
    assert sorted((m.status, m.attempts) for m in rows) == [("sent", 1)] * CONTACTS
    assert all(c is not None and c.status is ContactStatus.AWAITING_REPLY for c in opened)
    files = sorted(p.name for p in stack.settings.mail_dir.iterdir())
    # One file per email, no partial copy left beside them.
    assert files == sorted(mail.path_for(m.key).name for m in rows)
    for name, (inode, mtime, content) in written.items():
        path = stack.settings.mail_dir / name
        assert (path.stat().st_ino, path.stat().st_mtime_ns) == (inode, mtime), name
        assert path.read_bytes() == content, name
    assert {mail.path_for(_request_key(c)).name for c in in_gap} <= written.keys()
