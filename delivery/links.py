"""One-time links in emails, which the store never holds in clear.

A link's token is derived from a key kept out of the store (``Settings.secret_key``) and what
the link is for: the same on every build of the email, so the store keeps only its hash (to
find the link's subject when it is used) and the outbox keeps the email with a mark where the
link goes. The link is put in only when the email is built for sending.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from enum import StrEnum

from settings import Settings, kept_secret
from store.records import OutboxMessage

# What the outbox body holds where the link goes, and what a page shows of a sent email.
MARK = "[link sent by email]"


class Purpose(StrEnum):
    """What a one-time link is for; the subject is the id of the thing it acts on."""

    REPLY = "reply"  # a reviewer's answer to a contact request; subject: the contact
    FLAG = "flag"  # the reviewer edits or withdraws a flagged review; subject: the flag
    APPEAL = "appeal"  # the reviewer appeals a removal; subject: the statement of reasons
    NOTICE = "notice"  # the notifier follows and appeals their notice; subject: the notice


_PATHS = {
    Purpose.REPLY: "/reply/",
    Purpose.FLAG: "/flag/",
    Purpose.APPEAL: "/appeal/",
    Purpose.NOTICE: "/notice/",
}


def ticket_url(base_url: str, ticket_id: str) -> str:
    """A desk ticket's page, as mentions and reminders link to it (signed out, the page sends
    the reader to sign in and back)."""
    return f"{base_url}/desk/tickets/{ticket_id}"


def secret_key(settings: Settings) -> bytes:
    """The service's secret key: from the settings, or kept in the data folder (secret.key)."""
    return kept_secret(settings.secret_key, settings.data_dir / "secret.key").encode()


@dataclass(frozen=True)
class Links:
    key: bytes
    base_url: str

    @classmethod
    def of(cls, settings: Settings) -> Links:
        return cls(secret_key(settings), settings.public_base_url)

    def token(self, purpose: Purpose, subject_id: str) -> str:
        """256 bits, URL-safe: only someone holding the key can make one."""
        digest = hmac.new(self.key, f"{purpose.value}:{subject_id}".encode(), hashlib.sha256)
        return base64.urlsafe_b64encode(digest.digest()).rstrip(b"=").decode()

    def notifier_key(self, email: str) -> str:
        """Who a notifier is to the misuse guard (DESIGN rule 12): a keyed hash of their address,
        the same for every notice they send, and no address in a workflow id or at rest after
        their notices are purged."""
        address = email.strip().lower()
        return hmac.new(self.key, f"notifier:{address}".encode(), hashlib.sha256).hexdigest()[:32]

    def url(self, purpose: Purpose, subject_id: str) -> str:
        return f"{self.base_url}{_PATHS[purpose]}{self.token(purpose, subject_id)}"

    def filled(self, message: OutboxMessage) -> OutboxMessage:
        """The message as it is sent: its link put in at the place its row names.

        Only there: a business's text inside the email may hold the mark too, and stays as
        written. A row from before links were derived (no purpose) is sent as it is.
        """
        if message.link_purpose is None:
            return message
        at, body = message.link_at, message.body_text
        if at is None or body[at : at + len(MARK)] != MARK:
            raise ValueError(f"outbox message {message.key} has no link mark where it says")
        link = self.url(Purpose(message.link_purpose), message.subject_id)
        return message.model_copy(update={"body_text": body[:at] + link + body[at + len(MARK) :]})
