"""Each message exists once even when the step that writes it crashes right after its write (6)."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
import pytest_asyncio
from temporalio import activity
from temporalio.testing import WorkflowEnvironment

from activities.contact import ContactActivities
from activities.delivery import DeliveryActivities
from activities.report import ReportActivities
from delivery.mail import FileMailer
from domain.enums import Answer, ContactStatus, Decision, Grounds
from domain.messages import (
    ApplyDecisionInput,
    FileReportInput,
    Opened,
    OpenInput,
    OutcomeInput,
    ReportStepInput,
)
from domain.refusals import Refusal, Refused
from settings import Settings
from starter.inputs import ContactRequestBody, DecisionBody, ReplyBody, ReportBody
from store import Database
from tests.conftest import Harness, Running, _harness
from worker import activities_of

FAILED_ONCE: Counter[str] = Counter()


def crash_on_first_attempt() -> None:
    """As if the worker died after the transaction committed but before Temporal heard back."""
    info = activity.info()
    if info.attempt == 1:
        FAILED_ONCE[info.activity_type] += 1
        raise RuntimeError("worker lost after the write")


# From v3 each of these steps also sends its messages at their first try, so each crash comes
# after the sending: the retry must neither record nor send anything twice.
class CrashingContact(ContactActivities):
    @activity.defn(name="open_and_request")
    async def open_and_request(self, inp: OpenInput) -> Opened:
        opened = await super().open_and_request(inp)
        crash_on_first_attempt()
        return opened

    @activity.defn(name="record_outcome")
    async def record_outcome(self, inp: OutcomeInput) -> list[str]:
        keys = await super().record_outcome(inp)
        crash_on_first_attempt()
        return keys

    @activity.defn(name="file_report")
    async def file_report(self, inp: FileReportInput) -> list[str]:
        keys = await super().file_report(inp)
        crash_on_first_attempt()
        return keys


class CrashingReport(ReportActivities):
    @activity.defn(name="open_report")
    async def open_report(self, inp: ReportStepInput) -> list[str]:
        keys = await super().open_report(inp)
        crash_on_first_attempt()
        return keys

    @activity.defn(name="escalate")
    async def escalate(self, inp: ReportStepInput) -> list[str]:
        keys = await super().escalate(inp)
        crash_on_first_attempt()
        return keys

    @activity.defn(name="apply_decision")
    async def apply_decision(self, inp: ApplyDecisionInput) -> list[str]:
        keys = await super().apply_decision(inp)
        crash_on_first_attempt()
        return keys


@pytest_asyncio.fixture
async def crashing(
    time_env: WorkflowEnvironment, db: Database, settings: Settings
) -> AsyncIterator[Harness]:
    FAILED_ONCE.clear()
    delivery = DeliveryActivities(db, settings, FileMailer(settings.mail_dir), time_env.client)
    activities = activities_of(
        CrashingContact(db, settings, time_env.client, delivery.hand_over),
        CrashingReport(db, settings, delivery.hand_over),
        delivery,
    )
    harness, worker = await _harness(time_env, db, settings, activities=activities)
    async with Running.around(worker):
        yield harness


async def test_every_message_exists_once_when_each_writing_step_crashes_after_its_write(
    crashing: Harness,
) -> None:
    h, w = crashing, crashing.world
    contact = (
        await h.service.request_contact(
            w.business, w.review["organic"], ContactRequestBody(message="Which shop was it?")
        )
    ).contact
    # The link in the one email still works: the retry did not issue a second token.
    token = await h.reply_token(contact.id)
    replied = await h.service.answer(token, Answer.REPLY, ReplyBody(message="The one on Main St"))
    assert replied.status is ContactStatus.REPLIED
    report = await h.service.report(
        w.business, contact.id, ReportBody(grounds=Grounds.INSUFFICIENT_INFORMATION)
    )
    await h.env.sleep(timedelta(days=2, minutes=1))
    await h.eventually(lambda: h.messages("report.escalated", "moderation"))
    await h.service.decide(
        w.moderator, report.report.id, DecisionBody(decision=Decision.UPHOLD, note="")
    )
    delivered = await h.all_delivered()

    assert set(FAILED_ONCE) == {
        "open_and_request",
        "record_outcome",
        "file_report",
        "open_report",
        "escalate",
        "apply_decision",
    }
    sent = Counter((m.subject_id, m.event_type, m.recipient_kind) for m in delivered)
    assert sorted((event, to) for (_, event, to) in sent) == sorted(
        [
            ("contact.requested", "reviewer"),
            ("contact.replied", "business"),
            ("report.opened", "business"),
            ("report.opened", "reviewer"),
            ("report.escalated", "moderation"),
            ("report.upheld", "business"),
            ("report.upheld", "reviewer"),
        ]
    )
    assert set(sent.values()) == {1}
    assert len(list(h.settings.mail_dir.glob("*.eml"))) == len(delivered)
    history = [e.type for e in (await h.service.contact_view(contact.id)).history]
    assert Counter(history) == Counter(
        ["opened", "request_sent", "replied", "reported", "opened", "escalated", "upheld"]
    )


async def test_a_refusal_recorded_before_a_crash_is_the_answer_of_the_retry(
    crashing: Harness,
) -> None:
    h, w = crashing, crashing.world
    with pytest.raises(Refused) as refused:
        await h.service.request_contact(
            w.business, w.review["platform"], ContactRequestBody(message="Which shop was it?")
        )

    assert refused.value.reason is Refusal.NOT_ELIGIBLE_SOURCE
    assert FAILED_ONCE == {"open_and_request": 1}
    async with h.db.read() as conn:
        rows = await conn.fetch_all(
            "SELECT type, count(*) FROM events WHERE type = 'refused' GROUP BY type"
        )
    assert [tuple(r) for r in rows] == [("refused", 1)]
    assert await h.outbox() == []
