"""Idempotency keys on the pages: every form that changes something carries a fresh one.

A form sent twice (a double click, the browser's resend after a 503, a reload) reaches the
service with the same key, which finds the first try's answer, decision or request and sends
the same update again: the first outcome, never a second action or "already answered".
Templates write ``<input type="hidden" name="idempotency_key" value="{{ idempotency_key() }}">``.
"""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import Form

FIELD = "idempotency_key"
IdempotencyKeyField = Annotated[str | None, Form(alias=FIELD, max_length=200)]


def idempotency_key() -> str:
    """A fresh key for one form as rendered: random, so it says nothing about who sent it."""
    return secrets.token_urlsafe(18)
