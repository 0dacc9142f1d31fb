"""What every process's steps hold: the store, the settings, the Temporal client (to start the
workflows a step hands work to), delivery (to hand over the messages a step records) and the
one-time links its emails carry."""

from __future__ import annotations

from temporalio.client import Client

from activities import _notify
from delivery.links import Links
from settings import Settings
from store import Store


class ProcessSteps:
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
        self.links = Links.of(settings)
