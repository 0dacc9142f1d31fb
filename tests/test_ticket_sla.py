"""Response targets (issue 19, acceptance 5; DESIGN rule 20) under the time-skipping server: the
reminder at three quarters of the target to the assignee or the owner, the breach at the target
(tag, the owner's email, the webhook event, once), a business's policy that matches first, a
policy change that leaves open tickets alone, a solved ticket left alone; and the policies'
API and page."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from temporalio.client import WorkflowExecutionStatus

from activities.ticket import REMINDER, TicketActivities
from domain import ticket_workflow_id
from domain.desk import SLA_BREACHED
from domain.enums import TicketEventKind, WebhookEvent
from domain.messages import DeliveryPolicy
from domain.ticket_messages import TicketStepInput
from starter.inputs import WebhookBody
from starter.policies import PolicyIn
from store import members, tickets
from store.records import OutboxMessage, Ticket, now
from tests import ticket_flows
from tests.conftest import Harness
from tests.ticket_flows import assign, review_in, solve, ticket, until
from tests.web import as_, csrf_of, sign_in, web_client
from tests.webhook_receiver import Delivery, Receiver, receiver, settings

__all__ = ["receiver", "settings"]  # the fixtures: webhooks to a receiver on loopback

BREACHED = WebhookEvent.TICKET_SLA_BREACHED.value
MINUTE = timedelta(minutes=1)


async def _mails(h: Harness, event_type: str, ticket_id: str) -> list[OutboxMessage]:
    return [
        m
        for m in await h.outbox()
        if m.channel == "email" and m.event_type == event_type and m.subject_id == ticket_id
    ]


async def _reminded(h: Harness, ticket_id: str) -> Ticket | None:
    found = await ticket(h, ticket_id)
    return found if found.reminded_at is not None else None


async def _breached(h: Harness, ticket_id: str) -> Ticket | None:
    found = await ticket(h, ticket_id)
    return found if found.breached_at is not None else None


async def _nothing_happens(h: Harness, ticket_id: str) -> Ticket:
    """A moment of real time for a step that is not due to show itself if it ran anyway."""
    await asyncio.sleep(0.5)
    return await ticket(h, ticket_id)


async def _events(h: Harness, ticket_id: str) -> list[TicketEventKind]:
    async with h.db.read() as conn:
        return [e.kind for e in await tickets.events_of(conn, ticket_id)]


async def test_a_one_star_ticket_is_reminded_at_36_hours_and_breached_at_2_days(
    skipping: Harness, receiver: Receiver
) -> None:
    h, w = skipping, skipping.world
    await h.service.webhooks.register(w.business, WebhookBody(url=receiver.url))
    opened = (await h.service.intake.post(review_in(h, 1))).ticket
    assert opened.policy_name == "Negative reviews (1-2 stars)"

    # The business's endpoint hears of the review: ids, rating and source, not the reviewer.
    [created] = await h.eventually(lambda: _received(receiver, WebhookEvent.REVIEW_CREATED.value))
    data = created.event["data"]
    assert (data["ticket_id"], data["rating"], data["source"]) == (opened.id, 1, "organic")
    for private in (w.reviewer_email, ticket_flows.REVIEWER_NAME, ticket_flows.TEXT):
        assert private.encode() not in created.body

    await until(h, opened.created_at + timedelta(hours=35, minutes=59))
    assert (await _nothing_happens(h, opened.id)).reminded_at is None
    assert await _mails(h, REMINDER, opened.id) == []

    await until(h, opened.created_at + timedelta(hours=36) + MINUTE)
    reminded = await h.eventually(lambda: _reminded(h, opened.id))
    assert reminded.reminded_at is not None
    assert (
        timedelta(hours=36)
        <= reminded.reminded_at - opened.created_at
        < timedelta(hours=36, minutes=2)
    )
    # No one took it: the owner is reminded.
    [reminder] = await _mails(h, REMINDER, opened.id)
    assert reminder.to_address == w.business_email
    assert reminder.recipient_id == members.owner_id(w.business)
    assert reminder.subject.startswith(f"Reply to {ticket_flows.REVIEWER_NAME}'s review by ")
    assert f"/desk/tickets/{opened.id}" in reminder.body_text

    await until(h, opened.created_at + timedelta(hours=47, minutes=59))
    assert (await _nothing_happens(h, opened.id)).breached_at is None

    await until(h, opened.created_at + timedelta(days=2) + MINUTE)
    breached = await h.eventually(lambda: _breached(h, opened.id))
    assert breached.breached_at is not None
    assert (
        timedelta(days=2)
        <= breached.breached_at - opened.created_at
        < timedelta(days=2) + 2 * MINUTE
    )
    assert SLA_BREACHED in breached.tags
    [told] = await h.messages(BREACHED, "business")
    assert told.to_address == w.business_email and told.subject_id == opened.id
    [event] = await h.eventually(lambda: _received(receiver, BREACHED))
    assert event.event["data"]["ticket_id"] == opened.id
    assert await _events(h, opened.id) == [
        TicketEventKind.CREATED,
        TicketEventKind.REMINDED,
        TicketEventKind.SLA_BREACHED,
    ]

    # Days later: still told once, and the workflow waits for what the ticket is asked next.
    await h.env.sleep(timedelta(days=10))
    assert len(await h.messages(BREACHED, "business")) == 1
    assert len(await _received(receiver, BREACHED) or []) == 1
    handle = h.client.get_workflow_handle(ticket_workflow_id(opened.review_id))
    assert (await handle.describe()).status is WorkflowExecutionStatus.RUNNING


async def _received(receiver: Receiver, event_type: str) -> list[Delivery] | None:
    found = [d for d in receiver.accepted() if d.event["type"] == event_type]
    return found or None


async def test_a_four_star_ticket_is_reminded_at_5_25_days_to_its_assignee_and_breached_at_7(
    skipping: Harness,
) -> None:
    h, w = skipping, skipping.world
    opened = (await h.service.intake.post(review_in(h, 4, display_name=None))).ticket
    await assign(h, opened.id, w.agent)

    await until(h, opened.created_at + timedelta(days=5, hours=6) - 2 * MINUTE)
    assert (await _nothing_happens(h, opened.id)).reminded_at is None

    await until(h, opened.created_at + timedelta(days=5, hours=6) + MINUTE)
    reminded = await h.eventually(lambda: _reminded(h, opened.id))
    assert reminded.reminded_at is not None
    assert reminded.reminded_at - opened.created_at >= timedelta(days=5, hours=6)
    [reminder] = await _mails(h, REMINDER, opened.id)
    assert (reminder.to_address, reminder.recipient_id) == (w.agent_email, w.agent)
    assert reminder.subject.startswith("Reply to an anonymous reviewer's review by ")

    await until(h, opened.created_at + timedelta(days=7) - 2 * MINUTE)
    assert (await _nothing_happens(h, opened.id)).breached_at is None
    await until(h, opened.created_at + timedelta(days=7) + MINUTE)
    breached = await h.eventually(lambda: _breached(h, opened.id))
    assert breached.breached_at is not None
    assert breached.breached_at - opened.created_at >= timedelta(days=7)
    # The owner is told of the breach, the assignee was reminded.
    [told] = await h.messages(BREACHED, "business")
    assert told.to_address == w.business_email


async def test_a_business_policy_that_matches_first_wins(skipping: Harness) -> None:
    h, w = skipping, skipping.world
    policies = h.service.policies
    await policies.add(
        w.business, PolicyIn(name="Any review", ratings=[1, 2, 3, 4, 5], target_hours=24)
    )
    # Put before it: the 1-star review matches this one first.
    await policies.add(
        w.business, PolicyIn(name="One star", ratings=[1], target_hours=4, position=0)
    )
    one = (await h.service.intake.post(review_in(h, 1))).ticket
    three = (await h.service.intake.post(review_in(h, 3))).ticket
    assert (one.policy_name, one.target_at - one.created_at) == ("One star", timedelta(hours=4))
    assert (three.policy_name, three.target_at - three.created_at) == (
        "Any review",
        timedelta(hours=24),
    )

    await until(h, one.created_at + timedelta(hours=3) - 2 * MINUTE)
    assert (await _nothing_happens(h, one.id)).reminded_at is None
    await until(h, one.created_at + timedelta(hours=3) + MINUTE)
    reminded = await h.eventually(lambda: _reminded(h, one.id))
    assert reminded.reminded_at is not None
    assert reminded.reminded_at - one.created_at < timedelta(hours=3, minutes=2)
    await until(h, one.created_at + timedelta(hours=4) + MINUTE)
    assert SLA_BREACHED in (await h.eventually(lambda: _breached(h, one.id))).tags
    await until(h, three.created_at + timedelta(hours=24) + MINUTE)
    assert SLA_BREACHED in (await h.eventually(lambda: _breached(h, three.id))).tags


async def test_a_policy_added_after_a_ticket_opened_applies_to_new_tickets_only(
    skipping: Harness,
) -> None:
    h, w = skipping, skipping.world
    before = (await h.service.intake.post(review_in(h, 1))).ticket
    await h.service.policies.add(
        w.business, PolicyIn(name="Within 4 hours", ratings=[1, 2], target_hours=4)
    )
    after = (await h.service.intake.post(review_in(h, 1))).ticket
    assert after.policy_name == "Within 4 hours"

    await until(h, after.created_at + timedelta(hours=4) + MINUTE)
    assert (await h.eventually(lambda: _breached(h, after.id))).reminded_at is not None
    kept = await _nothing_happens(h, before.id)
    assert (kept.reminded_at, kept.policy_name) == (None, "Negative reviews (1-2 stars)")
    assert kept.target_at - kept.created_at == timedelta(days=2)
    await until(h, before.created_at + timedelta(hours=36) + MINUTE)
    assert await h.eventually(lambda: _reminded(h, before.id))


async def test_a_solved_ticket_is_neither_reminded_nor_breached(skipping: Harness) -> None:
    h = skipping
    opened = (await h.service.intake.post(review_in(h, 2))).ticket
    await solve(h, opened.id)
    await until(h, opened.target_at + timedelta(days=1))
    # Its reminder step found it solved: nothing is left to time, the workflow ended.
    await h.client.get_workflow_handle(ticket_workflow_id(opened.review_id)).result()
    left = await ticket(h, opened.id)
    assert (left.reminded_at, left.breached_at) == (None, None)
    assert SLA_BREACHED not in left.tags
    assert [m for m in await h.outbox() if m.subject_id == opened.id] == []
    assert await _events(h, opened.id) == [TicketEventKind.CREATED]


async def test_a_retried_step_records_and_sends_nothing_twice(skipping: Harness) -> None:
    h, w = skipping, skipping.world
    opened = (await h.service.intake.post(review_in(h, 1))).ticket
    handed: list[list[str]] = []

    async def hand_over(keys: list[str], policy: DeliveryPolicy) -> None:
        handed.append(keys)

    steps = TicketActivities(h.db, h.settings, h.client, hand_over)
    at = now()
    remind = TicketStepInput(ticket_id=opened.id, at=at, delivery=DeliveryPolicy())
    breach = remind.model_copy(update={"at": at + MINUTE})
    # As Temporal retries a step whose first try committed but whose answer was lost: twice,
    # and the workflow's own step at its time after them.
    for _ in range(2):
        await steps.remind(remind)
        await steps.breach(breach)
    await until(h, opened.created_at + timedelta(days=2) + MINUTE)
    await h.eventually(lambda: _handled_by_workflow(h, opened))

    [reminder] = await _mails(h, REMINDER, opened.id)
    [told] = await h.messages(BREACHED, "business")
    # Each try handed the same messages over again (delivery sends each once).
    assert handed == [[reminder.key], [told.key]] * 2
    assert await _events(h, opened.id) == [
        TicketEventKind.CREATED,
        TicketEventKind.REMINDED,
        TicketEventKind.SLA_BREACHED,
    ]
    assert (await ticket(h, opened.id)).tags.count(SLA_BREACHED) == 1
    assert w.business_email == told.to_address


async def _handled_by_workflow(h: Harness, opened: Ticket) -> bool:
    """The workflow ran its breach step too: its history holds three steps."""
    history = await h.client.get_workflow_handle(
        ticket_workflow_id(opened.review_id)
    ).fetch_history()
    steps = [
        e
        for e in history.events
        if e.HasField("marker_recorded_event_attributes")
        and e.marker_recorded_event_attributes.marker_name == ticket_flows.LOCAL_ACTIVITY
    ]
    return len(steps) == 3


# --- the policies' API and page ----------------------------------------------------------------


async def test_the_owner_adds_and_removes_policies_and_agents_only_read_them(live: Harness) -> None:
    h, w = live, live.world
    owner, agent = as_(w.keys[w.business]), as_(w.keys[w.agent])
    body = {"name": "Unhappy first", "ratings": [2, 1, 1], "target_hours": 6}
    async with web_client(h) as api:
        first = await api.post(
            "/api/v1/policies", json=body, headers={**owner, "Idempotency-Key": "pol-1"}
        )
        assert first.status_code == 201, first.text
        again = await api.post(
            "/api/v1/policies", json=body, headers={**owner, "Idempotency-Key": "pol-1"}
        )
        assert again.json() == first.json()
        policy = first.json()
        assert (policy["ratings"], policy["target_hours"], policy["position"]) == ([1, 2], 6, 0)
        assert policy["words"] == "1-2 stars: within 6 hours"

        top = await api.post(
            "/api/v1/policies",
            json={"name": "Five stars", "ratings": [5], "target_hours": 72, "position": 0},
            headers=owner,
        )
        assert top.status_code == 201

        listed = await api.get("/api/v1/policies", headers=agent)
        assert listed.status_code == 200
        assert [p["name"] for p in listed.json()["policies"]] == ["Five stars", "Unhappy first"]
        assert [p["words"] for p in listed.json()["defaults"]] == [
            "1-2 stars: within 2 days",
            "1-5 stars: within 7 days",
        ]

        refused = await api.post("/api/v1/policies", json=body, headers=agent)
        assert (refused.status_code, refused.json()["error"]["code"]) == (403, "owner_only")
        gone = await api.delete(f"/api/v1/policies/{policy['id']}", headers=agent)
        assert (gone.status_code, gone.json()["error"]["code"]) == (403, "owner_only")

        # Another business's policy is as one that does not exist.
        other = as_(w.keys[w.other_business])
        hidden = await api.delete(f"/api/v1/policies/{policy['id']}", headers=other)
        assert (hidden.status_code, hidden.json()["error"]["code"]) == (404, "policy_not_found")

        removed = await api.delete(f"/api/v1/policies/{policy['id']}", headers=owner)
        assert removed.status_code == 200
        again_removed = await api.delete(f"/api/v1/policies/{policy['id']}", headers=owner)
        assert again_removed.status_code == 404
        listed = await api.get("/api/v1/policies", headers=owner)
        assert [p["name"] for p in listed.json()["policies"]] == ["Five stars"]


@pytest.mark.parametrize(
    "bad",
    [
        {"name": "", "ratings": [1], "target_hours": 6},
        {"name": "x" * 101, "ratings": [1], "target_hours": 6},
        {"name": "No stars", "ratings": [], "target_hours": 6},
        {"name": "Six stars", "ratings": [6], "target_hours": 6},
        {"name": "Too quick", "ratings": [1], "target_hours": 0},
        {"name": "Too slow", "ratings": [1], "target_hours": 721},
        {"name": "Line\nbreak", "ratings": [1], "target_hours": 6},
        {"name": "Extra", "ratings": [1], "target_hours": 6, "colour": "red"},
    ],
)
async def test_a_malformed_policy_is_refused_and_nothing_is_added(
    live: Harness, bad: dict[str, object]
) -> None:
    h, w = live, live.world
    owner = as_(w.keys[w.business])
    async with web_client(h) as api:
        refused = await api.post("/api/v1/policies", json=bad, headers=owner)
        assert refused.status_code == 422, refused.text
        assert (await api.get("/api/v1/policies", headers=owner)).json()["policies"] == []


async def test_the_policies_page_lists_targets_in_words_and_the_owner_adds_and_removes(
    live: Harness,
) -> None:
    h, w = live, live.world
    async with web_client(h) as web:
        await sign_in(web, w.keys[w.agent])
        page = await web.get("/desk/policies")
        assert page.status_code == 200
        assert "1-2 stars: within 2 days" in page.text and "1-5 stars: within 7 days" in page.text
        assert "Add a target" not in page.text
        refused = await web.post(
            "/desk/policies",
            data={"csrf": csrf_of(page.text), "name": "Mine", "ratings": "1", "target": "2"},
        )
        assert refused.status_code == 403

        await sign_in(web, w.keys[w.business])
        page = await web.get("/desk/policies")
        form = {"csrf": csrf_of(page.text), "name": "Unhappy first", "target": "4"}
        unticked = await web.post("/desk/policies", data={**form, "unit": "hours"})
        assert unticked.status_code == 422 and "Stars: tick at least one" in unticked.text
        added = await web.post(
            "/desk/policies", data={**form, "unit": "hours", "ratings": ["1", "2"]}
        )
        assert added.status_code == 303
        page = await web.get(added.headers["location"])
        assert "<strong>Unhappy first</strong>: 1-2 stars: within 4 hours" in page.text
        [policy] = (await h.service.policies.of(w.business)).policies

        confirm = await web.get(f"/desk/policies/{policy.id}/remove")
        assert confirm.status_code == 200 and "cannot be undone" in confirm.text
        assert (await h.service.policies.of(w.business)).policies, "asking removes nothing"
        removed = await web.post(
            f"/desk/policies/{policy.id}/remove", data={"csrf": csrf_of(confirm.text)}
        )
        assert removed.status_code == 303
        assert (await h.service.policies.of(w.business)).policies == []
