"""The misuse guard's ladder (issue 18, acceptance 2 and 3): findings, steps, expiry, lift.

Under the time-skipping server: each step's end is a durable timer in the subject's standing
workflow, so skipping to a minute before it shows the step still in force, and past it ended.
Thresholds are settings, lowered here so a finding takes a few flags or notices.
"""

from __future__ import annotations

import asyncio
import dataclasses
import secrets
from datetime import timedelta
from typing import Any, cast

import pytest
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from delivery.links import Links, Purpose
from domain import flag_workflow_id, moderation_workflow_id, standing_workflow_id
from domain.enums import (
    AppealDecision,
    AppealStatus,
    Decision,
    Finding,
    FlagReason,
    Restriction,
    ReviewSource,
    StandingStepKind,
    StandingSubject,
    StepEnd,
    SubReason,
)
from domain.refusals import Refusal, Refused
from domain.standing_messages import AssessSignal, StandingInput
from settings import Settings
from starter.appeal_inputs import AppealBody, AppealDecisionBody
from starter.flag_inputs import FlagBody
from starter.inputs import ContactRequestBody, DecisionBody
from starter.notice_inputs import NoticeBody
from starter.service import Reviewdesk
from starter.unavailable import Unavailable
from store import Store, reviews, standing, statements
from store import webhooks as stored_webhooks
from store.records import StandingStep, now
from tests.conftest import Harness, Running
from tests.web import as_, web_client
from workflows.standing import StandingWorkflow

HARMFUL = FlagBody(
    reason=FlagReason.HARMFUL_OR_ILLEGAL,
    sub_reason=SubReason.DEFAMATION,
    explanation="It says our owner is a thief.",
)
PERSONAL = FlagBody(
    reason=FlagReason.PERSONAL_INFORMATION, explanation="It names our cashier in full."
)
LIFT_NOTE = "LIFTNOTE the rejected flags were about a review since found fake"
NOTIFIER_EMAIL = "quentin.notifier@people.example"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Two decided flags (or notices) make a finding; three flags on 1-2 star reviews do."""
    return settings.model_copy(
        update={
            "misuse_min_decided_flags": 2,
            "misuse_min_flags": 3,
            "notifier_min_decided": 2,
        }
    )


# --- helpers ---------------------------------------------------------------------------------


async def _reviews(h: Harness, count: int, rating: int) -> list[str]:
    """Reviews of the business of its own, so each may be flagged once."""
    ids = [f"rv_std_{secrets.token_hex(5)}" for _ in range(count)]
    async with h.db.tx() as conn:
        for review_id in ids:
            await reviews.add_review(
                conn,
                id=review_id,
                business_id=h.world.business,
                reviewer_id=h.world.reviewer,
                rating=rating,
                title="A review",
                text="Some words about a visit.",
                source=ReviewSource.ORGANIC,
                created_at=now() - timedelta(days=2),
            )
    return ids


async def _opened(h: Harness, report_id: str) -> None:
    async def check() -> bool:
        view = await h.service.report_view(report_id)
        return "opened" in [e.type for e in view.history]

    await h.eventually(check)


async def _flags_decided(h: Harness, count: int, decision: Decision, rating: int = 5) -> list[str]:
    """Flags the business's reviews as harmful (straight to moderation) and has each decided;
    the reports' ids."""
    report_ids = []
    for review_id in await _reviews(h, count, rating):
        flagged = await h.service.flags.flag(h.world.business, review_id, HARMFUL)
        assert flagged.report is not None
        await _opened(h, flagged.report.id)
        await h.service.decide(
            h.world.moderator,
            flagged.report.id,
            DecisionBody(decision=decision, note="Within our guidelines."),
        )
        report_ids.append(flagged.report.id)
    return report_ids


async def _steps(
    h: Harness,
    count: int,
    kind: StandingSubject = StandingSubject.BUSINESS,
    subject_id: str | None = None,
) -> list[StandingStep]:
    """Waits until the subject has ``count`` steps; newest first."""
    subject = subject_id or h.world.business

    async def check() -> list[StandingStep] | None:
        async with h.db.read() as conn:
            found = await standing.steps_of(conn, kind, subject)
        return found if len(found) >= count else None

    found: list[StandingStep] = await h.eventually(check)
    assert len(found) == count, found
    return found


async def _step(h: Harness, step_id: str) -> StandingStep:
    async with h.db.read() as conn:
        step = await standing.get_step(conn, step_id)
    assert step is not None
    return step


async def _ended(h: Harness, step_id: str) -> StandingStep:
    async def check() -> StandingStep | None:
        step = await _step(h, step_id)
        return None if step.in_force else step

    ended: StandingStep = await h.eventually(check)
    return ended


async def _skip_to_just_before(h: Harness, step: StandingStep) -> None:
    await h.env.sleep(step.ends_at - await h.env.get_current_time() - timedelta(minutes=1))


async def _refused(call: Any) -> Refusal:
    try:
        await call
    except Refused as refused:
        return refused.reason
    raise AssertionError("not refused")


async def _endpoint(h: Harness) -> None:
    """A webhook endpoint of the business's, so its events are recorded (private addresses are
    refused at delivery: the events stay in the outbox to read)."""
    async with h.db.tx() as conn:
        await stored_webhooks.add_endpoint(
            conn,
            id=f"we_{secrets.token_hex(6)}",
            business_id=h.world.business,
            url="https://127.0.0.1:9/standing",
            event_types=[],
            sealed_secret=h.service.webhooks.sealer.seal("whsec_dGVzdHNlY3JldA=="),
            at=now(),
        )


async def _webhooks(h: Harness, event: str) -> list[Any]:
    return [m for m in await h.outbox() if m.event_type == event and m.channel == "webhook"]


async def _add_step(
    db: Store,
    subject_id: str,
    kind: StandingStepKind,
    ends_in: timedelta,
    subject_kind: StandingSubject = StandingSubject.BUSINESS,
) -> StandingStep:
    """A step taken earlier (the ladder's level), as its workflow would have recorded it."""
    at = now()
    step = StandingStep(
        id=f"st_seed_{secrets.token_hex(6)}",
        subject_kind=subject_kind,
        subject_id=subject_id,
        kind=kind,
        finding=Finding.REJECTED_FLAGS,
        figures={"decided": 2, "rejected": 2},
        taken_at=at - timedelta(hours=1),
        ends_at=at + ends_in,
    )
    async with db.tx() as conn:
        await standing.add_step(conn, step)
    return step


# --- the business's ladder -------------------------------------------------------------------


async def test_rejected_flags_warn_then_restrict_then_put_a_consumer_warning_each_ending_on_time(
    skipping: Harness,
) -> None:
    h, w = skipping, skipping.world
    await _endpoint(h)

    # Half or more of its decided flags rejected: a warning, told once by email and webhook.
    await _flags_decided(h, 2, Decision.REJECT)
    [warning] = await _steps(h, 1)
    assert (warning.kind, warning.finding) == (StandingStepKind.WARNING, Finding.REJECTED_FLAGS)
    assert warning.figures == {"decided": 2, "rejected": 2}
    assert warning.ends_at - warning.taken_at == h.settings.warning_period
    [mail] = await h.messages("standing.step_taken", "business")
    assert mail.to_address == w.business_email
    assert "2 flags" in mail.body_text and "a warning" in mail.body_text
    [hook] = await _webhooks(h, "standing.step_taken")
    assert '"kind":"warning"' in hook.body_text.replace(" ", "")
    async with web_client(h) as client:
        seen = await client.get(
            f"/api/v1/businesses/{w.business}/standing", headers=as_(w.keys[w.business])
        )
        assert seen.status_code == 200, seen.text
        [shown] = seen.json()["steps"]
        assert shown["kind"] == "warning" and shown["in_force"] is True
        assert shown["figures"] == {"decided": 2, "rejected": 2}
        assert shown["lifted_by"] is None
        # Another business's standing is answered as one that does not exist.
        other = await client.get(
            f"/api/v1/businesses/{w.business}/standing", headers=as_(w.keys[w.other_business])
        )
        assert other.status_code == 404
        assert other.json()["error"]["code"] == "business_not_found"
    # A warning restricts nothing.
    assert not (await h.service.standing.of_business(w.business)).restricted

    # Another finding, on new evidence only: the warning's flags are not counted again.
    await _flags_decided(h, 2, Decision.REJECT)
    [restriction, _] = await _steps(h, 2)
    assert restriction.kind is StandingStepKind.RESTRICTION
    assert restriction.figures == {"decided": 2, "rejected": 2}
    assert restriction.ends_at - restriction.taken_at == h.settings.restriction_period
    [review_id] = await _reviews(h, 1, 5)
    assert (
        await _refused(h.service.flags.flag(w.business, review_id, HARMFUL))
        is Refusal.BUSINESS_RESTRICTED
    )
    contact = h.service.request_contact(
        w.business, w.review["organic"], ContactRequestBody(message="May we talk?")
    )
    assert await _refused(contact) is Refusal.BUSINESS_RESTRICTED

    # Not a minute before its end...
    await _skip_to_just_before(h, restriction)
    assert (await _step(h, restriction.id)).in_force
    assert (await h.service.standing.of_business(w.business)).restricted
    # ...and ended at it, told once.
    await h.env.sleep(timedelta(minutes=2))
    ended = await _ended(h, restriction.id)
    assert (ended.end_reason, ended.ended_at) == (StepEnd.EXPIRED, restriction.ends_at)
    [ended_mail] = await h.messages("standing.step_ended", "business")
    assert ended_mail.subject_id == restriction.id and "expired" in ended_mail.body_text
    assert not (await h.service.standing.of_business(w.business)).restricted

    # A third finding: the public "Consumer warning".
    await _flags_decided(h, 2, Decision.REJECT)
    [consumer, *_] = await _steps(h, 3)
    assert consumer.kind is StandingStepKind.CONSUMER_WARNING
    assert consumer.ends_at - consumer.taken_at == h.settings.consumer_warning_period
    shown_warning = await h.service.standing.consumer_warning(w.business)
    assert shown_warning is not None and shown_warning.id == consumer.id
    async with web_client(h) as client:
        page = await client.get(f"/businesses/{w.business}")
        assert page.status_code == 200 and "Consumer warning" in page.text
        # The other business's page shows none.
        assert "Consumer warning" not in (await client.get(f"/businesses/{w.other_business}")).text
    await _skip_to_just_before(h, consumer)
    assert await h.service.standing.consumer_warning(w.business) is not None
    await h.env.sleep(timedelta(minutes=2))
    await _ended(h, consumer.id)
    assert await h.service.standing.consumer_warning(w.business) is None
    async with web_client(h) as client:
        assert "Consumer warning" not in (await client.get(f"/businesses/{w.business}")).text


async def test_flags_upheld_are_no_finding(skipping: Harness) -> None:
    h = skipping
    for report_id in await _flags_decided(h, 3, Decision.UPHOLD):
        await h.client.get_workflow_handle(moderation_workflow_id(report_id)).result()
    handle = h.client.get_workflow_handle(
        standing_workflow_id(StandingSubject.BUSINESS.value, h.world.business)
    )
    # Its standing was asked, found nothing and ended: nothing in force, nothing to time.
    await handle.result()
    assert (await handle.describe()).status is WorkflowExecutionStatus.COMPLETED
    async with h.db.read() as conn:
        assert await standing.steps_of(conn, StandingSubject.BUSINESS, h.world.business) == []


async def test_flagging_only_one_and_two_star_reviews_is_found_as_misuse(skipping: Harness) -> None:
    h, w = skipping, skipping.world
    # Nothing decided: the finding is on the flags themselves, all on 1-2 star reviews.
    for review_id in [*await _reviews(h, 2, 2), *await _reviews(h, 1, 1)]:
        await h.service.flags.flag(w.business, review_id, PERSONAL)
    [warning] = await _steps(h, 1)
    assert warning.finding is Finding.NEGATIVE_ONLY
    assert warning.figures == {"flags": 3, "negative": 3}
    [mail] = await h.messages("standing.step_taken", "business")
    assert "1 or 2 star" in mail.body_text


async def test_a_granted_appeal_turns_an_upheld_flag_rejected_and_warns_without_a_new_flag(
    skipping: Harness,
) -> None:
    h, w = skipping, skipping.world
    # Two flags upheld, then one rejected: one of three rejected, below half.
    upheld = await _flags_decided(h, 2, Decision.UPHOLD)
    decided = [*upheld, *await _flags_decided(h, 1, Decision.REJECT)]
    for report_id in decided:
        await h.client.get_workflow_handle(moderation_workflow_id(report_id)).result()
    await h.client.get_workflow_handle(
        standing_workflow_id(StandingSubject.BUSINESS.value, w.business)
    ).result()
    async with h.db.read() as conn:
        assert await standing.steps_of(conn, StandingSubject.BUSINESS, w.business) == []
        found = await statements.statements_of_report(conn, upheld[0])
    # The reviewer appeals the removal; another moderator grants it: two of three rejected.
    [removal] = [s for s in found if s.restriction is Restriction.REMOVED]
    token = Links.of(h.settings).token(Purpose.APPEAL, removal.id)
    appealed = await h.service.appeals.by_reviewer(
        token, AppealBody(statement="My review was an honest account of my visit.")
    )
    granted = await h.service.appeals.decide(
        w.second_moderator,
        appealed.appeal.id,
        AppealDecisionBody(decision=AppealDecision.GRANT, note="An honest account."),
    )
    assert granted.appeal.status is AppealStatus.GRANTED
    [warning] = await _steps(h, 1)
    assert (warning.kind, warning.finding) == (StandingStepKind.WARNING, Finding.REJECTED_FLAGS)
    assert warning.figures == {"decided": 3, "rejected": 2}


async def _flags_told_standing(h: Harness, flag_ids: list[str]) -> None:
    """Waits until each flag's workflow has told the business's standing of it, and the
    standing has judged and ended: nothing is left for a later flag to be judged with."""
    for flag_id in flag_ids:
        handle = h.client.get_workflow_handle(flag_workflow_id(flag_id))

        async def told(handle: Any = handle) -> bool:
            events = (await handle.fetch_history()).events
            scheduled = {
                e.event_id
                for e in events
                if e.HasField("activity_task_scheduled_event_attributes")
                and e.activity_task_scheduled_event_attributes.activity_type.name
                == "standing.flag_opened"
            }
            return any(
                e.activity_task_completed_event_attributes.scheduled_event_id in scheduled
                for e in events
                if e.HasField("activity_task_completed_event_attributes")
            )

        await h.eventually(told)
    await h.client.get_workflow_handle(
        standing_workflow_id(StandingSubject.BUSINESS.value, h.world.business)
    ).result()


async def test_negative_only_just_below_the_share_is_no_finding_and_at_it_is(
    time_env: Any, db: Store, settings: Settings
) -> None:
    """With ``misuse_min_flags`` 9 and the default share of 0.9: eight of nine flags on 1-2
    star reviews (0.89) is not misuse; a tenth makes nine of ten (0.9), which is."""
    assert settings.misuse_negative_share == 0.9
    nine = settings.model_copy(update={"misuse_min_flags": 9})
    async with Running(time_env, db, nine) as h:
        w = h.world
        below = [*await _reviews(h, 1, 5), *await _reviews(h, 8, 2)]
        flag_ids = [(await h.service.flags.flag(w.business, r, PERSONAL)).flag.id for r in below]
        await _flags_told_standing(h, flag_ids)
        async with h.db.read() as conn:
            assert await standing.steps_of(conn, StandingSubject.BUSINESS, w.business) == []
        [review_id] = await _reviews(h, 1, 1)
        await h.service.flags.flag(w.business, review_id, PERSONAL)
        [warning] = await _steps(h, 1)
        assert warning.finding is Finding.NEGATIVE_ONLY
        assert warning.figures == {"flags": 10, "negative": 9}


async def test_an_assess_carried_across_continue_as_new_produces_its_finding(
    skipping: Harness,
) -> None:
    """A run that continues as new with an ``assess`` not yet acted on passes it in its input
    (``assess_pending``): the new run judges at once, with no signal of its own."""
    h, w = skipping, skipping.world
    workflow_id = standing_workflow_id(StandingSubject.BUSINESS.value, w.business)
    # The findings' evidence, while the business's standing is parked on a task queue nobody
    # polls: the decisions' signals reach it and nothing acts on them.
    parked = await h.client.start_workflow(
        StandingWorkflow.run,
        StandingInput(subject_kind=StandingSubject.BUSINESS, subject_id=w.business),
        id=workflow_id,
        task_queue=f"{h.settings.task_queue}-parked",
    )
    for report_id in await _flags_decided(h, 2, Decision.REJECT):
        await h.client.get_workflow_handle(moderation_workflow_id(report_id)).result()
    await parked.terminate()
    async with h.db.read() as conn:
        assert await standing.steps_of(conn, StandingSubject.BUSINESS, w.business) == []
    # What a run continuing as new with an assess pending starts its next run with.
    handle = await h.client.start_workflow(
        StandingWorkflow.run,
        StandingInput(
            subject_kind=StandingSubject.BUSINESS, subject_id=w.business, assess_pending=True
        ),
        id=workflow_id,
        task_queue=h.settings.task_queue,
    )
    [warning] = await _steps(h, 1)
    assert (warning.kind, warning.figures) == (
        StandingStepKind.WARNING,
        {"decided": 2, "rejected": 2},
    )
    timers = await handle.query(StandingWorkflow.in_force)
    assert [t.step_id for t in timers.steps] == [warning.id]


async def test_a_moderators_lift_ends_a_step_early_and_its_timer_then_changes_nothing(
    skipping: Harness,
) -> None:
    h, w = skipping, skipping.world
    await _endpoint(h)
    await _flags_decided(h, 2, Decision.REJECT)
    [warning] = await _steps(h, 1)
    path = f"/api/v1/businesses/{w.business}/standing/lift"
    async with web_client(h) as client:
        mod = {**as_(w.keys[w.moderator]), "Idempotency-Key": "lift-1"}
        # Only a moderator lifts; a note is required; another subject's step is not found.
        assert (
            await client.post(path, json={"note": LIFT_NOTE}, headers=as_(w.keys[w.business]))
        ).status_code == 403
        assert (await client.post(path, json={"note": " "}, headers=mod)).status_code == 422
        stranger = await client.post(
            f"/api/v1/businesses/{w.other_business}/standing/lift",
            json={"note": LIFT_NOTE, "step_id": warning.id},
            headers=as_(w.keys[w.moderator]),
        )
        assert stranger.status_code == 404
        assert stranger.json()["error"]["code"] == "standing_step_not_found"

        lifted = await client.post(
            path, json={"note": LIFT_NOTE, "step_id": warning.id}, headers=mod
        )
        assert lifted.status_code == 200, lifted.text
        [shown] = lifted.json()["steps"]
        assert shown["in_force"] is False and shown["end_reason"] == "lifted"
        assert shown["lift_note"] == LIFT_NOTE and shown["lifted_by"] == w.moderator
        # The same request again answers as the first; another lift finds nothing.
        again = await client.post(
            path, json={"note": LIFT_NOTE, "step_id": warning.id}, headers=mod
        )
        assert again.status_code == 200 and again.json() == lifted.json()
        nothing = await client.post(
            path, json={"note": LIFT_NOTE}, headers=as_(w.keys[w.moderator])
        )
        assert nothing.status_code == 409
        assert nothing.json()["error"]["code"] == "nothing_to_lift"
        # The business sees why, but not who.
        own = await client.get(
            f"/api/v1/businesses/{w.business}/standing", headers=as_(w.keys[w.business])
        )
        assert own.json()["steps"][0]["lift_note"] == LIFT_NOTE
        assert own.json()["steps"][0]["lifted_by"] is None
    step = await _step(h, warning.id)
    assert (step.end_reason, step.lifted_by, step.lift_note) == (
        StepEnd.LIFTED,
        w.moderator,
        LIFT_NOTE,
    )
    [mail] = await h.messages("standing.step_ended", "business")
    assert mail.to_address == w.business_email and LIFT_NOTE in mail.body_text
    [hook] = await _webhooks(h, "standing.step_ended")
    assert '"end_reason":"lifted"' in hook.body_text.replace(" ", "")
    assert LIFT_NOTE not in hook.body_text

    # The timers follow the lift: the run ends now, long before the warning's own end.
    handle = h.client.get_workflow_handle(
        standing_workflow_id(StandingSubject.BUSINESS.value, w.business)
    )
    await handle.result()
    assert await h.env.get_current_time() < warning.ends_at
    assert len(await h.messages("standing.step_ended", "business")) == 1

    # A lifted step never counts: the next finding is a warning again, not a restriction.
    await _flags_decided(h, 2, Decision.REJECT)
    [again_warned, _] = await _steps(h, 2)
    assert again_warned.kind is StandingStepKind.WARNING


async def test_a_restriction_in_force_survives_a_worker_restart(
    dev_env: Any, db: Store, settings: Settings
) -> None:
    """On the dev server, in real time: a restriction of a few seconds, its worker stopped and
    another started; the step is still refused by, and its timer ends it at its end."""
    short = settings.model_copy(update={"restriction_period": timedelta(seconds=12)})
    async with Running(dev_env, db, short) as h:
        w = h.world
        await _add_step(db, w.business, StandingStepKind.WARNING, timedelta(days=80))
        await _flags_decided(h, 2, Decision.REJECT)
        [restriction, _] = await _steps(h, 2)
        assert restriction.kind is StandingStepKind.RESTRICTION
    # The worker is gone; a new one starts and finds the step, and its timer, where they were.
    async with Running(dev_env, db, short) as h2:
        h2.world = w
        [review_id] = await _reviews(h2, 1, 5)
        refused = h2.service.flags.flag(w.business, review_id, HARMFUL)
        assert await _refused(refused) is Refusal.BUSINESS_RESTRICTED
        await asyncio.sleep(max((restriction.ends_at - now()).total_seconds() - 2, 0))
        assert (await _step(h2, restriction.id)).in_force
        ended = await _ended(h2, restriction.id)
        assert (ended.end_reason, ended.ended_at) == (StepEnd.EXPIRED, restriction.ends_at)
        assert now() >= restriction.ends_at
        flagged = await h2.service.flags.flag(w.business, review_id, HARMFUL)
        assert flagged.report is not None


async def test_the_standing_workflow_continues_as_new_and_keeps_its_timers(
    skipping: Harness,
) -> None:
    h, w = skipping, skipping.world
    step = await _add_step(h.db, w.business, StandingStepKind.WARNING, timedelta(days=10))
    workflow_id = standing_workflow_id(StandingSubject.BUSINESS.value, w.business)
    first = await h.client.start_workflow(
        StandingWorkflow.run,
        StandingInput(subject_kind=StandingSubject.BUSINESS, subject_id=w.business, event_limit=12),
        id=workflow_id,
        task_queue=h.settings.task_queue,
    )
    latest = h.client.get_workflow_handle(workflow_id)

    async def continued() -> bool:
        return (await latest.describe()).run_id != first.result_run_id

    # Each assessment (finding nothing) adds a few events; past 12 the run continues as new.
    for _ in range(20):
        await latest.signal(StandingWorkflow.assess, AssessSignal())
        await asyncio.sleep(0.2)
        if await continued():
            break
    assert await continued()
    timers = await latest.query(StandingWorkflow.in_force)
    assert [t.step_id for t in timers.steps] == [step.id]
    await _skip_to_just_before(h, step)
    assert (await _step(h, step.id)).in_force
    await h.env.sleep(timedelta(minutes=2))
    assert (await _ended(h, step.id)).end_reason is StepEnd.EXPIRED


async def test_the_timer_leaves_a_step_lifted_without_its_signal_alone(skipping: Harness) -> None:
    """A lift whose ``changed`` signal was never sent: the timer fires, finds the step ended by
    the moderator, and neither ends it again nor tells anyone."""
    h, w = skipping, skipping.world
    step = await _add_step(h.db, w.business, StandingStepKind.RESTRICTION, timedelta(days=2))
    handle = await h.client.start_workflow(
        StandingWorkflow.run,
        StandingInput(subject_kind=StandingSubject.BUSINESS, subject_id=w.business),
        id=standing_workflow_id(StandingSubject.BUSINESS.value, w.business),
        task_queue=h.settings.task_queue,
    )

    async def timed() -> bool:
        return bool((await handle.query(StandingWorkflow.in_force)).steps)

    await h.eventually(timed)
    async with h.db.tx() as conn:
        lifted_at = now()
        assert await standing.end_step(
            conn, step.id, at=lifted_at, end=StepEnd.LIFTED, lifted_by=w.moderator, note=LIFT_NOTE
        )
    await handle.result()  # skips to the step's end, where the run ends
    ended = await _step(h, step.id)
    assert (ended.end_reason, ended.lift_note) == (StepEnd.LIFTED, LIFT_NOTE)
    assert await h.messages("standing.step_ended", "business") == []


class _TemporalDown:
    """A Temporal client whose server does not answer: every start (and signal-with-start)
    fails as an unreachable server's would."""

    async def start_workflow(self, *args: Any, **kwargs: Any) -> Any:
        raise RPCError("connection refused", RPCStatusCode.UNAVAILABLE, b"")


def _temporal_down(h: Harness) -> Harness:
    down = Reviewdesk(cast(Client, _TemporalDown()), h.db, h.settings)
    return dataclasses.replace(h, service=down)


async def _lift_emails(h: Harness) -> list[Any]:
    return await h.messages("standing.step_ended", "business")


async def test_a_lift_with_temporal_down_answers_503_and_its_keyed_retry_delivers_it_once(
    skipping: Harness,
) -> None:
    h, w = skipping, skipping.world
    step = await _add_step(h.db, w.business, StandingStepKind.RESTRICTION, timedelta(days=20))
    path = f"/api/v1/businesses/{w.business}/standing/lift"
    mod = {**as_(w.keys[w.moderator]), "Idempotency-Key": "lift-down-1"}
    body = {"note": LIFT_NOTE, "step_id": step.id}
    async with web_client(_temporal_down(h)) as client:
        down = await client.post(path, json=body, headers=mod)
    # "Try again": the lift is recorded, its email waits in the outbox, nobody told yet.
    assert down.status_code == 503, down.text
    assert down.json()["error"]["code"] == "unavailable" and int(down.headers["Retry-After"]) > 0
    assert (await _step(h, step.id)).end_reason is StepEnd.LIFTED
    [waiting] = await _lift_emails(h)
    assert waiting.status == "pending"

    async with web_client(h) as client:
        retried = await client.post(path, json=body, headers=mod)
        assert retried.status_code == 200, retried.text
        [shown] = retried.json()["steps"]
        assert shown["end_reason"] == "lifted" and shown["lift_note"] == LIFT_NOTE

        async def sent() -> bool:
            return [m.status for m in await _lift_emails(h)] == ["sent"]

        await h.eventually(sent)
        again = await client.post(path, json=body, headers=mod)
        assert again.status_code == 200 and again.json() == retried.json()
    [mail] = await _lift_emails(h)
    assert mail.to_address == w.business_email and LIFT_NOTE in mail.body_text
    assert [p.name for p in h.settings.mail_dir.glob(f"{step.id}_*.eml")] == [
        mail.key.replace(":", "_") + ".eml"
    ]
    # The standing workflow was told too: it has no timer left and ends, long before the end.
    handle = h.client.get_workflow_handle(
        standing_workflow_id(StandingSubject.BUSINESS.value, w.business)
    )
    await handle.result()
    assert await h.env.get_current_time() < step.ends_at


async def test_a_lift_whose_503_is_never_retried_is_delivered_at_the_steps_original_end(
    skipping: Harness,
) -> None:
    h, w = skipping, skipping.world
    step = await _add_step(h.db, w.business, StandingStepKind.RESTRICTION, timedelta(days=2))
    handle = await h.client.start_workflow(
        StandingWorkflow.run,
        StandingInput(subject_kind=StandingSubject.BUSINESS, subject_id=w.business),
        id=standing_workflow_id(StandingSubject.BUSINESS.value, w.business),
        task_queue=h.settings.task_queue,
    )

    async def timed() -> bool:
        return bool((await handle.query(StandingWorkflow.in_force)).steps)

    await h.eventually(timed)
    with pytest.raises(Unavailable):
        await _temporal_down(h).service.standing.lift(
            w.moderator, StandingSubject.BUSINESS, w.business, LIFT_NOTE, step.id
        )
    [waiting] = await _lift_emails(h)
    assert waiting.status == "pending"
    await handle.result()  # skips to the step's original end: its timer hands the lift over
    assert await h.env.get_current_time() >= step.ends_at
    [mail] = await _lift_emails(h)
    assert mail.status == "sent" and LIFT_NOTE in mail.body_text
    assert (await _step(h, step.id)).end_reason is StepEnd.LIFTED


# --- notifiers -------------------------------------------------------------------------------


async def _notices_decided(h: Harness, count: int, decision: Decision, sent: int = 1) -> list[str]:
    """The notifier's notices on ``count`` reviews, each sent ``sent`` times (the copies join
    the review's report), and each report decided; the reports' ids."""
    review_ids = await _reviews(h, count, 1)
    report_ids = []
    for review_id in review_ids:
        for _ in range(sent):
            out = await h.service.notices.submit(
                NoticeBody(
                    review_id=review_id,
                    sub_reason=SubReason.DEFAMATION,
                    explanation="This review accuses a named person of fraud.",
                    name="Quentin Q.",
                    email=NOTIFIER_EMAIL,
                    good_faith=True,
                )
            )

            async def reported(notice_id: str = out.notice_id) -> str | None:
                return (await h.service.notices.notice(notice_id)).report_id

            report_id = await h.eventually(reported)
        await _opened(h, report_id)
        report_ids.append(report_id)
        await h.service.decide(
            h.world.moderator, report_id, DecisionBody(decision=decision, note="Lawful opinion.")
        )
    return report_ids


async def test_a_notifier_of_unfounded_notices_is_warned_then_suspended(skipping: Harness) -> None:
    h = skipping
    key = Links.of(h.settings).notifier_key(NOTIFIER_EMAIL)
    await _notices_decided(h, 2, Decision.REJECT)
    [warning] = await _steps(h, 1, StandingSubject.NOTIFIER, key)
    assert (warning.kind, warning.finding) == (StandingStepKind.WARNING, Finding.UNFOUNDED_NOTICES)
    assert warning.figures == {"decided": 2, "rejected": 2}
    [mail] = await h.messages("standing.step_taken", "notifier")
    assert mail.to_address == NOTIFIER_EMAIL and "2 notices" in mail.body_text
    assert "Quentin" not in mail.body_text

    await _notices_decided(h, 2, Decision.REJECT)
    [suspension, _] = await _steps(h, 2, StandingSubject.NOTIFIER, key)
    assert suspension.kind is StandingStepKind.SUSPENSION
    assert suspension.ends_at - suspension.taken_at == h.settings.suspension_period
    # Its standing workflow is named by a keyed hash, and carries neither address nor name.
    handle = h.client.get_workflow_handle(standing_workflow_id(StandingSubject.NOTIFIER.value, key))

    async def recorded() -> bytes | None:
        # The step is in the store as soon as its local activity commits; its marker reaches
        # the history with the workflow task that follows, a moment later.
        history = await handle.fetch_history()
        raw = b"".join(event.SerializeToString() for event in history.events)
        return raw if suspension.id.encode() in raw else None

    raw = await h.eventually(recorded)
    assert NOTIFIER_EMAIL.encode() not in raw and b"Quentin" not in raw
    [review_id] = await _reviews(h, 1, 1)
    refused = h.service.notices.submit(
        NoticeBody(
            review_id=review_id,
            sub_reason=SubReason.DEFAMATION,
            explanation="Another review accusing someone.",
            name="Quentin Q.",
            email=NOTIFIER_EMAIL,
            good_faith=True,
        )
    )
    assert await _refused(refused) is Refusal.NOTIFIER_SUSPENDED
    await _skip_to_just_before(h, suspension)
    assert (await _step(h, suspension.id)).in_force
    await h.env.sleep(timedelta(minutes=2))
    assert (await _ended(h, suspension.id)).end_reason is StepEnd.EXPIRED
    # A notifier has no account: the emails speak of their notices.
    told = await h.messages("standing.step_ended", "notifier")
    assert [m.subject_id for m in told] == [suspension.id]
    assert "account" not in told[0].subject + told[0].body_text
    assert "notices" in told[0].subject


async def test_a_notifier_is_counted_per_case_not_per_copy_of_a_notice(skipping: Harness) -> None:
    """The same notice sent five times about one review is one case, decided once: one
    unfounded case is below the two a finding needs; a second case makes it."""
    h = skipping
    key = Links.of(h.settings).notifier_key(NOTIFIER_EMAIL)
    [report_id] = await _notices_decided(h, 1, Decision.REJECT, sent=5)
    await h.client.get_workflow_handle(moderation_workflow_id(report_id)).result()
    await h.client.get_workflow_handle(
        standing_workflow_id(StandingSubject.NOTIFIER.value, key)
    ).result()
    async with h.db.read() as conn:
        assert await standing.steps_of(conn, StandingSubject.NOTIFIER, key) == []
    await _notices_decided(h, 1, Decision.REJECT)
    [warning] = await _steps(h, 1, StandingSubject.NOTIFIER, key)
    assert warning.figures == {"decided": 2, "rejected": 2}


async def test_reconcile_starts_the_standing_workflow_of_a_step_left_without_it(
    skipping: Harness,
) -> None:
    """A step in force whose workflow was lost (a server's data lost, a workflow terminated)
    would stay in force for ever: reconcile starts the workflow again, and its timer ends it."""
    from starter.reconcile import reconcile

    h, w = skipping, skipping.world
    step = await _add_step(h.db, w.business, StandingStepKind.RESTRICTION, timedelta(days=2))
    lines = await reconcile(h.db, h.client, h.settings, apply=False)
    assert any(f"standing-business-{w.business} does not exist" in line for line in lines), lines
    lines = await reconcile(h.db, h.client, h.settings, apply=True)
    assert any("re-driven: standing-business-" in line for line in lines), lines
    await _skip_to_just_before(h, step)
    assert (await _step(h, step.id)).in_force
    await h.env.sleep(timedelta(minutes=2))
    ended = await _ended(h, step.id)
    assert (ended.end_reason, ended.ended_at) == (StepEnd.EXPIRED, step.ends_at)
    assert len(await h.messages("standing.step_ended", "business")) == 1
    assert (await reconcile(h.db, h.client, h.settings, apply=False)) == [
        "The store and Temporal agree: nothing to reconcile."
    ]


async def test_the_default_thresholds_ten_decided_flags_half_of_them_rejected(
    time_env: Any, db: Store, settings: Settings
) -> None:
    """DESIGN's numbers: nine decided flags are too few however many were rejected; at the
    tenth, half rejected (five of ten) is misuse."""
    defaults = Settings(_env_file=None)
    assert (defaults.misuse_min_decided_flags, defaults.misuse_rejected_share) == (10, 0.5)
    default = settings.model_copy(
        update={
            "misuse_min_decided_flags": defaults.misuse_min_decided_flags,
            "misuse_min_flags": defaults.misuse_min_flags,
        }
    )
    async with Running(time_env, db, default) as h:
        reports = await _flags_decided(h, 5, Decision.REJECT)
        reports += await _flags_decided(h, 4, Decision.UPHOLD)
        for report_id in reports:
            await h.client.get_workflow_handle(moderation_workflow_id(report_id)).result()
        await h.client.get_workflow_handle(
            standing_workflow_id(StandingSubject.BUSINESS.value, h.world.business)
        ).result()
        async with h.db.read() as conn:
            assert await standing.steps_of(conn, StandingSubject.BUSINESS, h.world.business) == []
        await _flags_decided(h, 1, Decision.UPHOLD)
        [warning] = await _steps(h, 1)
        assert warning.figures == {"decided": 10, "rejected": 5}
