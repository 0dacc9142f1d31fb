"""Outbox messages as emails, and the transport that writes them to files.

With no SMTP server configured, each email is written as an ``.eml`` file in the data folder,
named after its outbox key. A message whose file is there is not written again: a retry never
makes a second copy, nor rewrites the first (a worker killed after writing the file and before
the outbox marked it sent leaves the file as its reader may already have seen it).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import re
import tempfile
from email import policy
from email.charset import QP, Charset
from email.header import Header
from email.message import EmailMessage, Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime
from html import escape
from pathlib import Path
from typing import Protocol

from store.records import OutboxMessage

_URL = re.compile(r"https?://[^\s<>\"']+")
# An addr-spec with a dot-atom on both sides (RFC 5322 3.4.1): nothing to quote or encode.
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_PLAIN_ADDRESS = re.compile(rf"{_ATOM}(\.{_ATOM})*@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+")


def message_id(key: str) -> str:
    """Stable across retries, so a receiver that sees a message twice can tell."""
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@reviewdesk>"


def build_email(message: OutboxMessage, sender: str, link_base: str) -> Message:
    """The same message on every retry, byte for byte: headers, text, HTML and the MIME
    boundary depend only on the outbox row (and the link put into it).

    Built with the standard library's classic MIME classes: ``EmailMessage`` parses every header
    it is given, and building and writing an email with it took ~1.5 ms, the worker's largest
    cost of its own (README, "Benchmark"); this takes ~0.5 ms. Headers come out as
    ``EmailMessage`` writes them. An address that is not plain ASCII (an IDN domain, a UTF-8
    mailbox) still goes through ``EmailMessage``: the SMTP client reads the recipients from the
    header, and only that one keeps such an address readable, for SMTPUTF8.
    """
    for value in (message.subject, message.to_address):
        # Every break str.splitlines() knows, as EmailMessage refused them: none may end a header.
        if value.splitlines() not in ([value], []):
            raise ValueError("a header value may not contain a line break")
    html = html_body(message.subject, message.body_text, link_base)
    from_header = _classic_from(sender)
    if from_header is None or not _PLAIN_ADDRESS.fullmatch(message.to_address):
        return _modern_email(message, sender, html)
    email = MIMEMultipart("alternative", boundary=_boundary(message, html))
    email["From"] = from_header
    email["To"] = message.to_address
    subject = message.subject
    if not subject.isascii():
        subject = Header(subject, "utf-8", None, "Subject").encode()
    email["Subject"] = subject
    _identify(email, message)
    email.attach(_text(message.body_text, "plain"))
    email.attach(_text(html, "html"))
    return email


def _modern_email(message: OutboxMessage, sender: str, html: str) -> EmailMessage:
    email = EmailMessage()
    email["From"] = sender
    email["To"] = message.to_address
    email["Subject"] = message.subject
    _identify(email, message)
    email.set_content(message.body_text)
    email.add_alternative(html, subtype="html")
    email.set_boundary(_boundary(message, html))
    return email


def _boundary(message: OutboxMessage, html: str) -> str:
    """Derived from the message, so every build of it is the same; and from both its parts, so
    neither can contain it (text a person wrote would have to hold a hash of itself)."""
    parts = "\0".join((message.key, message.body_text, html))
    return f"=_{hashlib.sha256(parts.encode()).hexdigest()[:40]}"


def _identify(email: Message, message: OutboxMessage) -> None:
    email["Message-ID"] = message_id(message.key)
    email["Date"] = format_datetime(message.created_at)
    # Out-of-office replies and auto-responders should not answer a notification (RFC 3834).
    email["Auto-Submitted"] = "auto-generated"


# The UTF-8 text as it is while every line fits in 78 bytes, as EmailMessage does. Past that,
# quoted-printable, where EmailMessage may pick base64: the raw file stays readable, and its link
# can still be found with grep.
_UTF8_AS_IS = Charset("utf-8")
_UTF8_AS_IS.body_encoding = None  # type: ignore[assignment]  # None is "as it is"
_UTF8_QP = Charset("utf-8")
_UTF8_QP.body_encoding = QP
_SHORT_LINE = 78
# The line ends the generator writes as line ends; a U+2028 inside a line stays inside it.
_LINE_END = re.compile(r"\r\n|\r|\n")


def _text(body: str, subtype: str) -> MIMEText:
    short = all(len(line.encode()) <= _SHORT_LINE for line in _LINE_END.split(body))
    # A Charset is accepted since Python 3.5; the type stubs still say str.
    part = MIMEText(body, subtype, _UTF8_AS_IS if short else _UTF8_QP)  # type: ignore[arg-type]
    del part["MIME-Version"]  # belongs to the message, not to each of its parts
    return part


@functools.lru_cache(maxsize=4)
def _classic_from(sender: str) -> str | None:
    """The From header as ``EmailMessage`` folds it (a non-ASCII name encoded), worked out once
    per worker; None if the sender's own address is not plain ASCII."""
    header = policy.default.header_factory("From", sender)
    if len(header.addresses) != 1 or not _PLAIN_ADDRESS.fullmatch(header.addresses[0].addr_spec):
        return None
    return str(header.fold(policy=policy.default)).split(":", 1)[1].strip()


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
    async def send(self, key: str, email: Message) -> None: ...


class FileMailer:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def path_for(self, key: str) -> Path:
        return self.folder / (key.replace(":", "_").replace("/", "_") + ".eml")

    async def send(self, key: str, email: Message) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        target = self.path_for(key)
        if target.exists():
            return
        # Written whole under a name of its own, then linked into place: a reader sees the whole
        # mail or none of it, and link() fails where the file already is (a retry, or a stalled
        # attempt beside it), which is then delivered already.
        fd, partial = tempfile.mkstemp(dir=self.folder, prefix=f".{target.stem}.", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(bytes(email))
            with contextlib.suppress(FileExistsError):
                os.link(partial, target)
        finally:
            os.unlink(partial)
