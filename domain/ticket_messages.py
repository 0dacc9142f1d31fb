"""Inputs of TicketWorkflow and its steps: ids and times only. A ticket's subject, requester,
notes and the review's text stay in the store; the workflow carries the ticket's id and when
its reminder and breach fall."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from domain.messages import DeliveryPolicy


class _Message(BaseModel):
    model_config = ConfigDict(frozen=True)


class TicketInput(_Message):
    ticket_id: str
    review_id: str
    business_id: str
    # Fixed when the ticket opened, by the policy that matched then (DESIGN rule 20).
    remind_at: datetime
    target_at: datetime
    delivery: DeliveryPolicy = DeliveryPolicy()


class TicketStepInput(_Message):
    ticket_id: str
    at: datetime
    delivery: DeliveryPolicy | None = None


class TicketStepDone(_Message):
    # A solved ticket has nothing left to time: its workflow ends.
    solved: bool = False


class PublishInput(_Message):
    """The reply to publish, by its draft's id: its text stays in the store."""

    draft_id: str


class PublishStepInput(_Message):
    ticket_id: str
    draft_id: str
    at: datetime
    delivery: DeliveryPolicy | None = None


class Published(_Message):
    reply_id: str
    solved: bool


class SpamInput(_Message):
    """Who marked the review as spam or irrelevant, and the flag that took it to moderation."""

    member_id: str
    flag_id: str
    # Names the request (a hash of who sent it and its Idempotency-Key, never the key): recorded
    # with the mark, so a retry of that request finds it answered, also after the run ended.
    request_id: str | None = None


class SpamStepInput(_Message):
    ticket_id: str
    member_id: str
    flag_id: str
    at: datetime
    delivery: DeliveryPolicy | None = None
    request_id: str | None = None


class MarkedSpam(_Message):
    note_id: str
