"""No reply token in clear at rest: only the emailed copy holds one (issue 15, acceptance 1)."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
from email import policy
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import httpx
import pytest

from delivery.links import MARK, Links, Purpose
from delivery.mail import FileMailer, build_email
from starter.inputs import ContactRequestBody
from store import Connection, Database, contacts, outbox
from store.accounts import hash_secret
from store.records import now
from store.schema import MIGRATIONS
from tests.conftest import Harness
from tests.processes import BIN, ROOT, env_for, free_port, reply_token_from_mail

pytestmark = pytest.mark.timeout(240)


def _files_holding(data: Path, tokens: dict[str, str]) -> dict[str, list[str]]:
    """Every file of the data folder but the emails, read raw, and which tokens each holds."""
    found: dict[str, list[str]] = {}
    for path in sorted(data.rglob("*")):
        if not path.is_file() or (path.parent == data / "mail" and path.suffix == ".eml"):
            continue
        raw = path.read_bytes()
        held = [name for name, token in tokens.items() if token.encode() in raw]
        if held:
            found[str(path.relative_to(data))] = held
    return found


def _scanned(data: Path) -> list[str]:
    return [str(p.relative_to(data)) for p in data.rglob("*") if p.is_file()]


def test_after_a_full_journey_no_file_of_the_data_folder_but_the_emails_holds_a_reply_token(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    web_port = free_port()
    base = f"http://127.0.0.1:{web_port}"
    env = env_for(
        data,
        temporal_address=f"127.0.0.1:{free_port()}",
        temporal_ui_port="0",
        web_port=str(web_port),
        public_base_url=base,
    )
    up = subprocess.Popen(
        [str(BIN / "reviewdesk"), "up"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    tokens: dict[str, str] = {}
    try:
        assert up.stdout is not None
        printed = ""
        give_up = time.monotonic() + 90
        while "Press Ctrl-C to stop." not in printed:
            line = up.stdout.readline()
            assert line or up.poll() is None, printed
            printed += line
            assert time.monotonic() < give_up, printed
        keys = json.loads((data / "demo.json").read_text())["api_keys"]
        bakery = {"Authorization": f"Bearer {keys['biz_harbour_bakery']}"}
        moderator = {"Authorization": f"Bearer {keys['mod_demo']}"}
        with httpx.Client(base_url=base, timeout=30) as http:

            def contact(review_id: str) -> str:
                opened = http.post(
                    f"/api/v1/reviews/{review_id}/contacts",
                    headers=bakery,
                    json={"message": "Could you share your order number?", "requested": []},
                )
                assert opened.status_code == 201, opened.text
                return str(opened.json()["id"])

            # One contact replied to, reported and decided; one declined; one left waiting.
            replied, declined, waiting = (
                contact(r)
                for r in ("rv_bakery_organic_1", "rv_bakery_organic_2", "rv_bakery_external_1")
            )
            for name, contact_id in (
                ("replied", replied),
                ("declined", declined),
                ("waiting", waiting),
            ):
                # As the reviewer reads it: from the email file.
                tokens[name] = reply_token_from_mail(data / "mail", contact_id)
            assert http.get(f"/reply/{tokens['waiting']}").status_code == 200
            answered = http.post(
                f"/reply/{tokens['replied']}",
                data={"action": "reply", "order_reference": "HB-2291"},
            )
            assert answered.status_code == 200, answered.text
            assert (
                http.post(f"/reply/{tokens['declined']}", data={"action": "decline"}).status_code
                == 200
            )
            reported = http.post(
                f"/api/v1/contacts/{replied}/report",
                headers=bakery,
                json={"grounds": "insufficient_information"},
            )
            assert reported.status_code == 202, reported.text
            decided = http.post(
                f"/api/v1/reports/{reported.json()['id']}/decision",
                headers=moderator,
                json={"decision": "reject", "note": "The order is real."},
            )
            assert decided.status_code == 200, decided.text

        # The emails do carry the links (so the scan below cannot pass for want of tokens).
        mails = b"".join(p.read_bytes() for p in (data / "mail").glob("*.eml"))
        assert all(f"{base}/reply/{t}".encode() in mails for t in tokens.values())
        # While everything runs: the store with its -wal and -shm, temporal.db, keys, demo.json.
        scanned = _scanned(data)
        assert "reviewdesk.db" in scanned and "temporal.db" in scanned, scanned
        assert _files_holding(data, tokens) == {}
    finally:
        up.send_signal(signal.SIGINT)
        rest, _ = up.communicate(timeout=60)
    assert up.returncode == 0, rest
    # And once stopped, with the write-ahead logs folded into the files.
    assert _files_holding(data, tokens) == {}
    assert len(set(tokens.values())) == 3  # one link per contact


async def test_the_link_goes_only_where_the_platform_put_it_never_into_the_business_text(
    skipping: Harness,
) -> None:
    h, w = skipping, skipping.world
    typed = f"Click {MARK} or {MARK}, or {h.settings.public_base_url}/reply/{'A' * 43}"
    ask = ContactRequestBody(message=typed)
    contact_id = (await h.service.request_contact(w.business, w.review["organic"], ask)).contact.id
    [row] = await h.all_delivered()
    token = Links.of(h.settings).token(Purpose.REPLY, contact_id)
    link = f"{h.settings.public_base_url}/reply/{token}"
    # The outbox holds the email without its link; the store, the link's hash only.
    assert token not in row.body_text and row.body_text.count(MARK) == 3
    async with h.db.read() as conn:
        assert await contacts.contact_for_token_hash(conn, hash_secret(token)) is not None

    sent = BytesParser(policy=policy.default).parsebytes(
        FileMailer(h.settings.mail_dir).path_for(row.key).read_bytes()
    )
    text, html = sent.get_body(("plain",)), sent.get_body(("html",))
    assert text is not None and html is not None
    assert typed in text.get_content()  # word for word, the mark it typed left as it is
    assert text.get_content().count(link) == 1 and text.get_content().count(MARK) == 2
    assert f":\n\n{link}\n\nWe never show" in text.get_content()
    assert link in re.findall(r'href="([^"]+)"', html.get_content())
    # Sending it again builds the very same email, link and all.
    filled = Links.of(h.settings).filled(row)
    again = bytes(build_email(filled, h.settings.mail_from, h.settings.public_base_url))
    assert again == FileMailer(h.settings.mail_dir).path_for(row.key).read_bytes()


def _old_row(key: str, status: str, body: str) -> tuple[str, ...]:
    return (
        key,
        "email",
        key.split(":")[0],
        key.split(":")[1],
        key.split(":")[2],
        "rv_1",
        "ana@example.org",
        "Subject",
        body,
        "2026-01-01T00:00:00.000000+00:00",
        status,
    )


async def test_the_upgrade_takes_the_link_out_of_request_emails_already_sent(
    tmp_path: Path,
) -> None:
    """Rows written before links were derived: the link, random, was kept in the email text."""
    token = "T" * 43
    link = f"https://reviews.example/reply/{token}"
    body = (
        "Hi Ana,\n\nTheir message:\n\nSee https://x.example/reply/" + "B" * 43 + "\n\n"
        f"You can reply until 01 May 2026, 10:00 UTC:\n\n{link}\n\nWe never show it\n"
    )
    mine = next(i for i, m in enumerate(MIGRATIONS) if "link_purpose" in m)
    db = await Database(tmp_path / "old.db").connect(MIGRATIONS[:mine])
    async with db.tx() as conn:
        await _insert_all(
            conn,
            "INSERT INTO outbox (key, channel, subject_id, event_type, recipient_kind,"
            " recipient_id, to_address, subject, body_text, created_at, status)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                _old_row("ct_1:contact.requested:reviewer", "sent", body),
                _old_row("ct_2:contact.requested:reviewer", "failed", body),
                _old_row("ct_3:contact.requested:reviewer", "pending", body),
                # Not as the platform wrote it: the whole text goes.
                _old_row("ct_4:contact.requested:reviewer", "sent", f"{link} and more"),
                _old_row("ct_5:contact.replied:business", "sent", "Order: /reply/ 7"),
            ],
        )
    await db.close()
    db = await Database(tmp_path / "old.db").connect()
    async with db.read() as conn:
        rows = {m.subject_id: m for m in await outbox.all_messages(conn)}
    # The one pending goes out with its link; then its text goes too.
    async with db.tx() as conn:
        await outbox.mark_sent(conn, "ct_3:contact.requested:reviewer", now())
    async with db.read() as conn:
        sent = await outbox.get_message(conn, "ct_3:contact.requested:reviewer")
    await db.close()
    assert sent is not None and sent.body_text == outbox.CLEAR_LINK_REMOVED
    scrubbed = body.replace(link, MARK)
    assert rows["ct_1"].body_text == scrubbed and rows["ct_2"].body_text == scrubbed
    # Still to be sent with the link its reviewer's token hash was made from.
    assert rows["ct_3"].body_text == body and rows["ct_3"].link_purpose is None
    assert token not in rows["ct_4"].body_text and "one-time link" in rows["ct_4"].body_text
    assert rows["ct_5"].body_text == "Order: /reply/ 7"


def _on_disk(path: Path) -> bytes:
    """A store as it lies on disk: the file and its write-ahead log, raw."""
    return b"".join(
        p.read_bytes() for p in (path, path.with_name(path.name + "-wal")) if p.exists()
    )


async def test_a_link_taken_out_is_gone_from_the_file_too_not_only_from_its_rows(
    tmp_path: Path,
) -> None:
    """The upgrade's scrub and the removal once sent overwrite the link's bytes: a copy of the
    file (a backup) holds none, and neither do the write-ahead log's older pages."""
    sent_token, pending_token = "S" * 43, "P" * 43

    def body(token: str) -> str:
        # The link first, then a long text, all replaced by a short one (not as the platform
        # wrote it, for the upgrade): SQLite writes a row's shorter new version over the end of
        # the old one, so only erasing keeps the link from staying in the file.
        return f"https://x.example/reply/{token} " + "Tell us how it went. " * 50

    path = tmp_path / "old.db"
    mine = next(i for i, m in enumerate(MIGRATIONS) if "link_purpose" in m)
    db = await Database(path).connect(MIGRATIONS[:mine])
    async with db.tx() as conn:
        await _insert_all(
            conn,
            "INSERT INTO outbox (key, channel, subject_id, event_type, recipient_kind,"
            " recipient_id, to_address, subject, body_text, created_at, status)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                _old_row("ct_1:contact.requested:reviewer", "sent", body(sent_token)),
                _old_row("ct_2:contact.requested:reviewer", "pending", body(pending_token)),
            ],
        )
    await db.close()
    assert sent_token.encode() in _on_disk(path) and pending_token.encode() in _on_disk(path)

    db = await Database(path).connect()
    try:
        # Upgraded: the link of the one sent is gone from disk, the one pending still there.
        assert sent_token.encode() not in _on_disk(path)
        assert pending_token.encode() in _on_disk(path)
        async with db.tx() as conn:
            await outbox.mark_sent(conn, "ct_2:contact.requested:reviewer", now())
        assert await db.checkpoint()
        assert pending_token.encode() not in _on_disk(path)
    finally:
        await db.close()


async def _insert_all(conn: Connection, sql: str, rows: list[tuple[Any, ...]]) -> None:
    for row in rows:
        await conn.execute(sql, row)
