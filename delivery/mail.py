"""Outbox messages as emails, and the transport that writes them to files.

With no SMTP server configured, each email is written as an ``.eml`` file in the data folder,
named after its outbox key: writing it again replaces it, so a retry never makes a second copy.
"""

from __future__ import annotations

import hashlib
import os
import re
from email.message import EmailMessage
from email.utils import format_datetime
from html import escape
from pathlib import Path
from typing import Protocol

from store.records import OutboxMessage

_URL = re.compile(r"https?://[^\s<>\"']+")


def message_id(key: str) -> str:
    """Stable across retries, so a receiver that sees a message twice can tell."""
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@reviewdesk>"


def build_email(message: OutboxMessage, sender: str, link_base: str) -> EmailMessage:
    """The same message on every retry: headers, text and HTML depend only on the outbox row."""
    email = EmailMessage()
    email["From"] = sender
    email["To"] = message.to_address
    email["Subject"] = message.subject
    email["Message-ID"] = message_id(message.key)
    email["Date"] = format_datetime(message.created_at)
    # Out-of-office replies and auto-responders should not answer a notification (RFC 3834).
    email["Auto-Submitted"] = "auto-generated"
    email.set_content(message.body_text)
    email.add_alternative(html_body(message.subject, message.body_text, link_base), subtype="html")
    return email


def html_body(title: str, text: str, link_base: str) -> str:
    """The text part as simple HTML. Everything is escaped, and only our own links are links:
    a URL someone typed into a message stays plain text, so an email cannot be made to carry a
    clickable link the platform did not write."""
    paragraphs = [p for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]
    rendered = "\n".join(
        "<p>" + "<br>\n".join(_inline(line, link_base) for line in p.splitlines()) + "</p>"
        for p in paragraphs
    )
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head><meta charset="utf-8">'
        f"<title>{escape(title)}</title></head>\n"
        "<body style=\"font-family: -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif; "
        "font-size: 15px; line-height: 1.5; color: #1f2328; max-width: 560px; margin: 0 auto; "
        'padding: 16px;">\n'
        f"{rendered}\n</body>\n</html>\n"
    )


def _inline(line: str, link_base: str) -> str:
    out: list[str] = []
    pos = 0
    for match in _URL.finditer(line):
        url = match.group(0)
        out.append(escape(line[pos : match.start()]))
        if url.startswith(link_base + "/"):
            out.append(f'<a href="{escape(url)}">{escape(url)}</a>')
        else:
            out.append(escape(url))
        pos = match.end()
    out.append(escape(line[pos:]))
    return "".join(out)


class Mailer(Protocol):
    async def send(self, key: str, email: EmailMessage) -> None: ...


class FileMailer:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def path_for(self, key: str) -> Path:
        return self.folder / (key.replace(":", "_").replace("/", "_") + ".eml")

    async def send(self, key: str, email: EmailMessage) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        target = self.path_for(key)
        partial = target.with_suffix(".part")
        partial.write_bytes(bytes(email))
        # A rename is atomic: a reader sees the whole mail or none of it.
        os.replace(partial, target)
