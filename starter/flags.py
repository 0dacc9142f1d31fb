"""Flags: filled in by issue 17's work (placeholder so the service can name it)."""

from __future__ import annotations

from temporalio.client import Client

from settings import Settings
from store import Store


class Flags:
    def __init__(self, client: Client, db: Store, settings: Settings) -> None:
        self.client = client
        self.db = db
        self.settings = settings
