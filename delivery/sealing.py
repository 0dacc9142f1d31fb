"""Secrets the store must keep but must not hold in clear: sealed with a key that is not in it.

A webhook's signing secret is needed back to sign, so it cannot be hashed like a key. It is
sealed (Fernet: AES and HMAC) with a key derived from the service's secret key, which lives
outside the store, so a copy of the database or a backup is not enough to forge an event.
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from delivery.links import secret_key
from settings import Settings

CLEAR_PREFIX = "whsec_"


def standard_form(legacy: str) -> str:
    """A secret from before Standard Webhooks (``whsec_`` and random URL-safe text), written so
    that the standard's key is the key it signed with before.

    The old signature's HMAC key was the whole string's bytes, ``whsec_`` included; the standard's
    key is the base64 after ``whsec_``, which the old text is not (or decodes to other bytes). A
    receiver that kept the old secret verifies with this form and nothing else changes for it.
    """
    return CLEAR_PREFIX + base64.b64encode(legacy.encode()).decode()


class Unreadable(Exception):
    """Sealed with another key: the service's secret key changed since."""


class Sealer:
    def __init__(self, secret_key: bytes, *, purpose: str = "webhook signing secrets") -> None:
        # A key of its own per purpose: one leaked derived key opens nothing else.
        derived = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=f"reviewdesk {purpose}".encode()
        ).derive(secret_key)
        self._fernet = Fernet(base64.urlsafe_b64encode(derived))

    def seal(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode()).decode()

    def open(self, sealed: str) -> str:
        if sealed.startswith(CLEAR_PREFIX):
            # Moved in clear from before sealing; sealed when a worker next starts.
            return standard_form(sealed)
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken:
            raise Unreadable from None


def sealer_for(settings: Settings) -> Sealer:
    """Sealed with the key one-time links are derived from, for another purpose."""
    return Sealer(secret_key(settings))
