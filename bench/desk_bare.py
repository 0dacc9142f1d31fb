"""The bare ticket's input, kept apart from its workflow as Reviewdesk keeps its messages, so
the workflow sandbox imports it once."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict


class BareTicketInput(BaseModel):
    model_config = ConfigDict(frozen=True)

    instance: str
    remind_at: datetime
    target_at: datetime
