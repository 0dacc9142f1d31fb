"""The transparency figures (DESIGN rule 13, DSA art. 15 and 24): placeholder."""

from __future__ import annotations

from settings import Settings
from store import Store


class Transparency:
    def __init__(self, db: Store, settings: Settings) -> None:
        self.db = db
        self.settings = settings
