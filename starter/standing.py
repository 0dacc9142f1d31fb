"""A business's standing and the moderators' view of the ladder (DESIGN rule 12): placeholder."""

from __future__ import annotations

from temporalio.client import Client

from settings import Settings
from store import Store


class Standing:
    def __init__(self, client: Client, db: Store, settings: Settings) -> None:
        self.client = client
        self.db = db
        self.settings = settings
