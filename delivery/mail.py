"""Outbox messages as emails, and the transport that sends them.

With no SMTP server configured, each email is written as an ``.eml`` file in the data folder,
named after its outbox key: writing it again replaces it, so a retry never makes a second copy.
"""

from __future__ import annotations

import hashlib
import os
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Protocol

from store.records import OutboxMessage


def message_id(key: str) -> str:
    """Stable across retries, so a receiver that sees a message twice can tell."""
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@reviewdesk>"


def build_email(message: OutboxMessage, sender: str) -> EmailMessage:
    email = EmailMessage()
    email["From"] = sender
    email["To"] = message.to_address
    email["Subject"] = message.subject
    email["Message-ID"] = message_id(message.key)
    email["Date"] = format_datetime(message.created_at)
    email.set_content(message.body_text)
    return email


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
