"""A failed webhook attempt recorded before issue 15 shows its business only a status code or a
fixed phrase after the upgrade, never the receiver's answer or the connection error's text."""

from __future__ import annotations

from pathlib import Path
from typing import cast

from temporalio.client import Client

from settings import Settings
from starter.webhooks import WebhookEndpoints
from store import Database
from store.records import now, ts
from store.schema import MIGRATIONS

# What a receiver inside the worker's network answered, and how a closed port failed.
ANSWERED = "<h1>Admin console of 10.0.0.7</h1>"
REFUSED = "ConnectError: [Errno 111] Connection refused"
# Each row's last_error as the code before kept it, and what its business reads after.
SHAPES: dict[str, tuple[str | None, str | None]] = {
    "ct_a": (f"HTTP 500: {ANSWERED}", "HTTP 500"),
    "ct_b": (REFUSED, "connection failed"),
    "ct_c": ("ReadTimeout: ", "timed out"),
    "ct_d": (
        f"gave up after 12 attempts; last: HTTP 502: {ANSWERED}",
        "gave up after 12 attempts; last: HTTP 502",
    ),
    "ct_e": (
        f"gave up after 12 attempts; last: {REFUSED}",
        "gave up after 12 attempts; last: connection failed",
    ),
    "ct_f": ("gave up after 3 attempts", "gave up after 3 attempts"),
    "ct_g": (
        "gave up after 1 attempts; last: the business has no webhook now",
        "gave up after 1 attempts; last: no webhook registered",
    ),
    "ct_h": ("timed out", "timed out"),
    "ct_i": (None, None),
}


async def test_an_old_failed_attempt_keeps_only_its_status_code_or_a_fixed_phrase(
    settings: Settings,
) -> None:
    path = settings.data_dir / "old.db"
    mine = next(i for i, m in enumerate(MIGRATIONS) if "'connection failed'" in m)
    old = await Database(path).connect(MIGRATIONS[:mine])
    async with old.tx() as conn:
        # As the business was written then: today's `add_business` also makes its team's owner,
        # in a table this old store does not have yet.
        await conn.execute(
            "INSERT INTO businesses (id, name, email, created_at)"
            " VALUES ('biz_old', 'Old', 'o@x.test', ?)",
            (ts(now()),),
        )
        for subject, (error, _) in SHAPES.items():
            await conn.execute(
                "INSERT INTO outbox (key, channel, subject_id, event_type, recipient_kind,"
                " recipient_id, to_address, subject, body_text, created_at, status, attempts,"
                " last_error) VALUES (?, 'webhook', ?, 'contact.declined', 'business', 'biz_old',"
                " 'https://hooks.example/in', 'contact.declined', '{}', ?, ?, 12, ?)",
                (
                    f"{subject}:contact.declined:webhook",
                    subject,
                    ts(now()),
                    "failed" if error and error.startswith("gave up") else "pending",
                    error,
                ),
            )
        # An email's error is the operator's, not a business's: left as it was.
        await conn.execute(
            "INSERT INTO outbox (key, channel, subject_id, event_type, recipient_kind,"
            " recipient_id, to_address, subject, body_text, created_at, last_error)"
            " VALUES ('ct_m:contact.requested:reviewer', 'email', 'ct_m', 'contact.requested',"
            " 'reviewer', 'rv_1', 'ana@example.org', 'Subject', 'Hi', ?, 'SMTPDataError: 451')",
            (ts(now()),),
        )
    await old.close()

    db = await Database(path).connect()
    try:
        seen = await WebhookEndpoints(cast(Client, None), db, settings).deliveries("biz_old")
        async with db.read() as conn:
            email = await conn.fetch_one("SELECT last_error FROM outbox WHERE channel = 'email'")
    finally:
        await db.close()

    assert {d.subject_id: d.last_error for d in seen} == {
        s: after for s, (_, after) in SHAPES.items()
    }
    assert email is not None and email[0] == "SMTPDataError: 451"
    # Nor left in the file, for anyone with a copy of it.
    assert not [p for p in _files(path.parent) if ANSWERED.encode() in p.read_bytes()]
    assert not [p for p in _files(path.parent) if b"Errno 111" in p.read_bytes()]


def _files(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if p.is_file()]
