"""Statements of reasons, as the moderators export them for the DSA Transparency Database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from temporalio.client import Client

from settings import Settings
from store import Store, statements
from store.records import Statement

PAGE = 500


class Statements:
    def __init__(self, client: Client, db: Store, settings: Settings) -> None:
        self.client = client
        self.db = db
        self.settings = settings

    async def export(
        self, start: datetime | None = None, end: datetime | None = None
    ) -> AsyncIterator[dict[str, Any]]:
        """Every statement made in [start, end), in time order, as its DSA record.

        Read a page at a time, each in its own short read, so an export of any size neither
        holds the store nor the memory of the web app.
        """
        after: tuple[datetime, str] | None = None
        while True:
            async with self.db.read() as conn:
                page = await statements.statements_between(
                    conn, start=start, end=end, after=after, limit=PAGE
                )
            for statement in page:
                yield statement.body
            if len(page) < PAGE:
                return
            after = (page[-1].created_at, page[-1].id)

    async def of_report(self, report_id: str) -> list[Statement]:
        async with self.db.read() as conn:
            return await statements.statements_of_report(conn, report_id)
