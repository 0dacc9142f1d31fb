"""One outbox message, one email: the same bytes on every build, one file ever written."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest

from delivery.mail import FileMailer, build_email
from store.records import OutboxMessage

BASE = "https://reviews.example"
SENDER = "Reviewdesk <noreply@reviews.example>"


def _row(**changes: str) -> OutboxMessage:
    row = OutboxMessage(
        key="ct_1:contact.requested:reviewer",
        channel="email",
        subject_id="ct_1",
        event_type="contact.requested",
        recipient_kind="reviewer",
        recipient_id="rv_1",
        to_address="ana@example.org",
        subject="Café Lumière would like to hear more about your review",
        body_text=f"Hello,\n\nCafé Lumière asks — kindly.\n\n{BASE}/reply/{'T' * 43}\n\nThanks\n",
        created_at=datetime(2026, 11, 24, 9, 30, tzinfo=UTC),
    )
    return row.model_copy(update=changes)


# A plain address takes the classic MIME classes; one that is not ASCII, EmailMessage.
@pytest.mark.parametrize("to", ["ana@example.org", "anä@exämple.org"])
def test_two_builds_of_one_outbox_message_are_the_same_bytes(to: str) -> None:
    first = bytes(build_email(_row(to_address=to), SENDER, BASE))
    again = bytes(build_email(_row(to_address=to), SENDER, BASE))
    assert first == again
    assert b"multipart/alternative" in first
    # Another message has a boundary of its own.
    other = bytes(
        build_email(_row(to_address=to, key="ct_2:contact.requested:reviewer"), SENDER, BASE)
    )
    boundary = BytesParser(policy=policy.default).parsebytes(first).get_boundary()
    assert boundary is not None and boundary.encode() not in other


@pytest.mark.parametrize("to", ["ana@example.org", "anä@exämple.org"])
def test_a_business_typing_the_boundary_of_its_email_cannot_add_a_part(to: str) -> None:
    """The boundary is known to anyone who can build the email again: what it would be for a
    text is no boundary of that text with a line added that holds it."""
    boundary = (
        BytesParser(policy=policy.default)
        .parsebytes(bytes(build_email(_row(to_address=to), SENDER, BASE)))
        .get_boundary()
    )
    injected = (
        f"Hello\n\n--{boundary}\nContent-Type: text/html\n\n<a href='https://evil.example'>x</a>\n"
    )
    mail = BytesParser(policy=policy.default).parsebytes(
        bytes(build_email(_row(to_address=to, body_text=injected), SENDER, BASE))
    )
    parts = [p.get_content_type() for p in mail.iter_parts()]
    assert parts == ["text/plain", "text/html"]
    plain = mail.get_body(("plain",))
    assert plain is not None and plain.get_content() == injected


async def test_a_message_whose_file_is_written_is_not_written_again(tmp_path: Path) -> None:
    mailer = FileMailer(tmp_path / "mail")
    row = _row()
    await mailer.send(row.key, build_email(row, SENDER, BASE))
    path = mailer.path_for(row.key)
    written = (path.stat().st_ino, path.stat().st_mtime_ns, path.read_bytes())
    await asyncio.sleep(0.01)
    # A retry (or a stalled attempt beside it) sends the message again: the file stays as it was.
    changed = row.model_copy(update={"body_text": "Something else"})
    await mailer.send(row.key, build_email(changed, SENDER, BASE))
    await asyncio.gather(
        *(mailer.send(row.key, build_email(changed, SENDER, BASE)) for _ in range(5))
    )
    assert (path.stat().st_ino, path.stat().st_mtime_ns, path.read_bytes()) == written
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no partial copy left over


async def test_senders_racing_on_one_new_message_leave_one_whole_file(tmp_path: Path) -> None:
    mailer = FileMailer(tmp_path / "mail")
    row = _row()
    raw = bytes(build_email(row, SENDER, BASE))
    await asyncio.gather(*(mailer.send(row.key, build_email(row, SENDER, BASE)) for _ in range(8)))
    path = mailer.path_for(row.key)
    assert path.read_bytes() == raw
    assert [p.name for p in path.parent.iterdir()] == [path.name]
