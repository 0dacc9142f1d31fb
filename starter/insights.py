"""A business's insight (DESIGN rule 21): per period, reviews by rating over time, response
rate, median time to first public reply, response-target breaches, contacts and flags by
outcome."""

from __future__ import annotations

from settings import Settings
from store import Store


class Insights:
    def __init__(self, db: Store, settings: Settings) -> None:
        self.db = db
        self.settings = settings
