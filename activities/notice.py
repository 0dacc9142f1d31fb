"""NoticeActivities: placeholder, filled in by issue 17's work."""

from __future__ import annotations

from temporalio.client import Client

from activities import _notify
from settings import Settings
from store import Store


class NoticeActivities:
    def __init__(
        self,
        db: Store,
        settings: Settings,
        client: Client,
        hand_over: _notify.HandOver | None = None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.client = client
        self.hand_over = hand_over
