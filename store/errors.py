"""The store's own errors: what a caller above ``store/`` may catch, whichever database is behind.

Each backend translates its driver's exceptions into these, so services, pages and activities
never name ``sqlite3`` or ``asyncpg``.
"""

from __future__ import annotations


class StoreError(Exception):
    """Something the store could not do; the base of the others."""


class Conflict(StoreError):
    """A write broke a uniqueness or reference rule: the row exists already, or what it names
    does not."""


class StoreUnavailable(StoreError):
    """The store did not answer in time: locked by another writer, unreachable, or shut down.
    Worth retrying; the web app answers 503 with Retry-After."""
