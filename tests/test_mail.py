"""An outbox row as the email a mail client reads: headers, both parts, and nothing injected."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

import pytest
from aiosmtplib.email import extract_recipients, extract_sender

from delivery.mail import build_email, message_id
from store.records import OutboxMessage

BASE = "https://reviews.example"
LINK = f"{BASE}/reply/" + "T" * 43


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
        body_text=f"Hello,\n\nCafé Lumière asks — kindly.\n\n{LINK}\n\nThe team\n",
        created_at=datetime(2026, 11, 24, 9, 30, tzinfo=UTC),
    )
    return row.model_copy(update=changes)


def _modern(name: str, value: str) -> EmailMessage:
    email = EmailMessage()
    email[name] = value
    return email


def _header(raw: bytes, name: str) -> bytes:
    found = re.search(rb"^" + name.encode() + rb": .*(\n .*)*", raw, re.MULTILINE)
    assert found is not None
    return found.group(0)


def _as_read(raw: bytes):  # type: ignore[no-untyped-def]
    return BytesParser(policy=policy.default).parsebytes(raw)


@pytest.mark.parametrize(
    ("sender", "to"),
    [
        ("Reviewdesk <noreply@reviews.example>", "ana@example.org"),
        ("Reviewdesk <noreply@reviews.example>", "o'brien+reviews@mail.example.co.uk"),
        ("Reviewdesk <noreply@reviews.example>", '"ana maria"@example.org'),
        ("Avis Vérifiés <noreply@avis.example>", "ana@exämple.org"),
        ("Reviewdesk <noreply@reviews.example>", "Ana María Pérez <ana@example.org>"),
        ("Reviewdesk <noreply@reviews.example>", "anä@example.org"),
        (
            "Avis Vérifiés de la Très Grande Boulangerie Pâtisserie du Port <no@avis.example>",
            "ana@example.org",
        ),
        ("Reviewdesk <noreply@révision.example>", "ana@example.org"),
    ],
)
def test_headers_read_back_as_written(sender: str, to: str) -> None:
    row = _row(to_address=to)
    raw = bytes(build_email(row, sender, BASE))
    mail = _as_read(raw)
    assert raw.isascii() or b"Content-Transfer-Encoding: 8bit" in raw
    head = raw.split(b"\n\n", 1)[0]
    assert head.isascii()  # headers are encoded, never raw UTF-8
    # Written as EmailMessage writes it (which folds a long name between encoded-words; the
    # standard library's parser then reads one space too many inside "Pâtisserie").
    assert _header(raw, "From") == _header(bytes(_modern("From", sender)), "From")
    assert str(mail["To"]) == to
    assert str(mail["Subject"]) == row.subject
    assert mail["Message-ID"] == message_id(row.key)
    assert mail["Date"].datetime == row.created_at
    assert mail["Auto-Submitted"] == "auto-generated"
    assert mail.get_content_type() == "multipart/alternative"
    assert all(not part.defects for part in mail.walk())
    assert max(len(line) for line in raw.splitlines()) <= 78
    # What the SMTP client sends to (RCPT TO) and from (MAIL FROM) is the address itself.
    email = build_email(row, sender, BASE)
    assert extract_recipients(email) == [str(mail["To"].addresses[0].addr_spec)]
    assert extract_sender(email) == str(mail["From"].addresses[0].addr_spec)


def test_short_lines_stay_readable_and_a_long_line_is_quoted_printable() -> None:
    raw = bytes(build_email(_row(), "R <r@reviews.example>", BASE))
    mail = _as_read(raw)
    text = mail.get_body(("plain",))
    assert text is not None and text.get_content() == _row().body_text
    # In the raw file the link is whole, and the text is as written.
    assert LINK.encode() in raw
    assert "Café Lumière asks — kindly.".encode() in raw
    html = mail.get_body(("html",))
    assert html is not None and f'<a href="{LINK}">' in html.get_content()

    # A line too long for the raw file: one line of words, 40 characters of 2 bytes each, or
    # lines that only U+2028 separates (it ends no line in a file).
    for long in ["word " * 300, "é" * 40, "line\u2028" * 300]:
        raw = bytes(build_email(_row(body_text=long), "R <r@reviews.example>", BASE))
        text = _as_read(raw).get_body(("plain",))
        assert text is not None and text["Content-Transfer-Encoding"] == "quoted-printable"
        assert text.get_content().rstrip("\n") == long
        assert max(len(line) for line in raw.splitlines()) <= 78


@pytest.mark.parametrize(
    "subject",
    [
        *("Hello\nBcc: eve@example.org", "Café\r\nBcc: eve@example.org", "Café\rX: y"),
        *("Hello\x0cWorld", "Hello\x0bBcc: eve@example.org", "Hello\u2028World", "Hello\x85"),
    ],
)
def test_a_line_break_in_a_header_is_refused(subject: str) -> None:
    with pytest.raises(ValueError, match="line break"):
        build_email(_row(subject=subject), "R <r@reviews.example>", BASE)
