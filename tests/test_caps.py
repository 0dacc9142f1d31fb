"""The misuse guard's limits (DESIGN rules 1 and 12; issue 18, acceptance 1 and the refusals of
2 and 3): the day's caps with their Retry-After, a review's contact cooldown, one flag per review
per reason, and a restricted business or a suspended notifier turned away with nothing stored."""

from __future__ import annotations

import asyncio
import secrets
from datetime import datetime, timedelta
from typing import Any

import httpx

from delivery.links import Links, Purpose
from domain.enums import (
    Finding,
    FlagReason,
    FlagStatus,
    ReviewerAction,
    ReviewSource,
    StandingStepKind,
    StandingSubject,
    StepEnd,
    Visibility,
)
from starter.flag_inputs import FlagBody, ReviewEditBody
from starter.inputs import ContactRequestBody
from store import contacts, flags, reviews, standing
from store.records import Flag, StandingStep, now
from tests.conftest import Harness
from tests.web import as_, csrf_of, sign_in, web_client

ASK = ContactRequestBody(message="Could you tell us your order number?")
PERSONAL = FlagBody(reason=FlagReason.PERSONAL_INFORMATION, explanation="It names our manager.")
NOTIFIER = "nora.notifier@public.example"
NOTICE = {
    "sub_reason": "defamation",
    "explanation": "It calls a named shop assistant a thief, which is defamation.",
    "name": "Nora Notifier",
    "email": NOTIFIER,
    "good_faith": True,
}


def _code(response: httpx.Response) -> str:
    return str(response.json()["error"]["code"])


async def _new_reviews(h: Harness, count: int) -> list[str]:
    """More of the business's reviews, each one that may be contacted and flagged."""
    made = [f"rv_cap_{secrets.token_hex(6)}" for _ in range(count)]
    async with h.db.tx() as conn:
        for review_id in made:
            await reviews.add_review(
                conn,
                id=review_id,
                business_id=h.world.business,
                reviewer_id=h.world.reviewer,
                rating=1,
                title="Dreadful",
                text="Dreadful.",
                source=ReviewSource.ORGANIC,
                created_at=now() - timedelta(days=2),
                visibility=Visibility.VISIBLE,
            )
    return made


async def _contacts_opened(h: Harness, review_ids: list[str], at: datetime) -> None:
    """Contacts opened at ``at``, written as the opening step writes them (the request, then the
    open contact), without the workflows and emails that nothing here looks at."""
    async with h.db.tx() as conn:
        for review_id in review_ids:
            contact_id = f"ct_{secrets.token_hex(8)}"
            await contacts.add_request(
                conn,
                id=contact_id,
                review_id=review_id,
                business_id=h.world.business,
                message=ASK.message,
                requested=[],
                created_at=at,
            )
            request = await contacts.get_request(conn, contact_id)
            assert request is not None
            await contacts.open_contact(
                conn,
                request=request,
                reviewer_id=h.world.reviewer,
                opened_at=at,
                deadline=at + h.settings.reply_window,
            )


async def _flags_made(h: Harness, review_ids: list[str], at: datetime) -> None:
    """Flags made at ``at`` as the service records them, then dropped by the business."""
    async with h.db.tx() as conn:
        for review_id in review_ids:
            flag = Flag(
                id=f"fl_{secrets.token_hex(8)}",
                review_id=review_id,
                business_id=h.world.business,
                reason=PERSONAL.reason,
                explanation=PERSONAL.explanation,
                status=FlagStatus.AWAITING_REVIEWER,
                opened_at=at,
            )
            await flags.add_flag(conn, flag, idempotency_key=None)
            await flags.end_flag(conn, flag.id, status=FlagStatus.DROPPED, at=at)


async def _contacts_of(h: Harness, review_id: str) -> int:
    async with h.db.read() as conn:
        return len(await contacts.contacts_of_review(conn, review_id))


async def _flags_of(h: Harness, review_id: str) -> int:
    async with h.db.read() as conn:
        row = await conn.fetch_one(
            "SELECT CAST(COUNT(*) AS INTEGER) FROM flags WHERE review_id = ?", (review_id,)
        )
    assert row is not None
    return int(row[0])


async def _notices_stored(h: Harness) -> int:
    async with h.db.read() as conn:
        row = await conn.fetch_one("SELECT CAST(COUNT(*) AS INTEGER) FROM notices")
    assert row is not None
    return int(row[0])


def _step(subject: StandingSubject, subject_id: str, kind: StandingStepKind) -> StandingStep:
    taken = now()
    return StandingStep(
        id=f"st_{secrets.token_hex(8)}",
        subject_kind=subject,
        subject_id=subject_id,
        kind=kind,
        finding=Finding.UNFOUNDED_NOTICES
        if subject is StandingSubject.NOTIFIER
        else Finding.REJECTED_FLAGS,
        figures={"decided": 10, "rejected": 8},
        taken_at=taken,
        ends_at=taken + timedelta(days=30),
    )


async def test_the_101st_contact_in_a_day_is_refused_429_until_the_oldest_leaves_the_day(
    skipping: Harness,
) -> None:
    h, w = skipping, skipping.world
    start = await h.env.get_current_time()
    # 97 of the day's 100 contacts are written into the store as the opening step writes them,
    # opened 23 hours ago on the workflows' clock; the last three and the 101st go through the
    # service and the API, each judged at its workflow's time.
    await _contacts_opened(h, await _new_reviews(h, 97), start - timedelta(hours=23))
    fresh = await _new_reviews(h, 4)
    for review_id in fresh[:3]:
        await h.service.request_contact(w.business, review_id, ASK)

    url = f"/api/v1/reviews/{fresh[3]}/contacts"
    once = {**as_(w.keys[w.business]), "Idempotency-Key": "the-101st"}
    async with web_client(h) as api:
        refused = await api.post(url, json=ASK.model_dump(mode="json"), headers=once)
        assert (refused.status_code, _code(refused)) == (429, "daily_cap"), refused.text
        # A place frees when the 23-hour-old contacts leave the day: in an hour.
        retry_after = int(refused.headers["Retry-After"])
        assert 3500 < retry_after <= 3600
        assert refused.json()["error"]["message"] == (
            "This business has asked to contact 100 reviewers in the last 24 hours, its daily"
            " limit; the next is possible in about an hour."
        )
        # Refused: no contact, no email (the 97 written ones sent none).
        assert await _contacts_of(h, fresh[3]) == 0
        assert len(await h.messages("contact.requested", "reviewer")) == 3

        # Sent again with its key: the first answer, and how long is left.
        again = await api.post(url, json=ASK.model_dump(mode="json"), headers=once)
        assert (again.status_code, _code(again)) == (429, "daily_cap")
        assert 1 <= int(again.headers["Retry-After"]) <= retry_after

        # The dashboard's "Find reviewer" form says it in words, and when.
        await sign_in(api, w.keys[w.business])
        board = await api.get("/dashboard")
        page = await api.post(
            f"/dashboard/reviews/{fresh[3]}/contact",
            data={"csrf": csrf_of(board.text), "message": ASK.message},
        )
        assert page.status_code == 429 and int(page.headers["Retry-After"]) <= retry_after
        assert "asked to contact 100 reviewers in the last 24 hours" in page.text
        assert await _contacts_of(h, fresh[3]) == 0

        # Another business has its own day.
        others = f"/api/v1/reviews/{w.review['others']}/contacts"
        other = await api.post(
            others, json=ASK.model_dump(mode="json"), headers=as_(w.keys[w.other_business])
        )
        assert other.status_code == 201, other.text

        await h.env.sleep(timedelta(seconds=retry_after + 1))
        accepted = await api.post(
            url, json=ASK.model_dump(mode="json"), headers=as_(w.keys[w.business])
        )
        assert accepted.status_code == 201, accepted.text
        assert accepted.json()["status"] == "awaiting_reply"
    assert await _contacts_of(h, fresh[3]) == 1


async def test_the_21st_flag_in_a_day_is_refused_429_on_the_api_and_the_page(
    skipping: Harness,
) -> None:
    h, w = skipping, skipping.world
    # The 20th flag goes through the service; the 19 before it are written into the store as
    # the service records them, 24 hours less a few seconds ago. A flag is judged at the
    # service's own clock (its workflow starts after), so the day is waited out in real time:
    # the few seconds Retry-After says.
    await h.service.flags.flag(w.business, w.review["organic"], PERSONAL)
    await _flags_made(h, await _new_reviews(h, 19), now() - timedelta(hours=24, seconds=-10))

    url = f"/api/v1/reviews/{w.review['organic2']}/flags"
    async with web_client(h) as api:
        refused = await api.post(
            url, json=PERSONAL.model_dump(mode="json"), headers=as_(w.keys[w.business])
        )
        assert (refused.status_code, _code(refused)) == (429, "daily_cap"), refused.text
        assert 1 <= int(refused.headers["Retry-After"]) <= 10
        assert await _flags_of(h, w.review["organic2"]) == 0

        # The same on the flag form, in words.
        await sign_in(api, w.keys[w.business])
        form = await api.get(f"/dashboard/reviews/{w.review['organic2']}/flag")
        fields = {
            "csrf": csrf_of(form.text),
            "reason": PERSONAL.reason.value,
            "explanation": PERSONAL.explanation,
            "confirmed": "yes",
        }
        page = await api.post(f"/dashboard/reviews/{w.review['organic2']}/flag", data=fields)
        assert page.status_code == 429 and "Retry-After" in page.headers
        assert "flagged reviews 20 times in the last 24 hours" in page.text
        assert "the next is possible in about a minute" in page.text
        assert await _flags_of(h, w.review["organic2"]) == 0

        wait = int(page.headers["Retry-After"])
        await asyncio.sleep(wait)
        accepted = await api.post(
            url, json=PERSONAL.model_dump(mode="json"), headers=as_(w.keys[w.business])
        )
        assert accepted.status_code == 201, accepted.text
    assert await _flags_of(h, w.review["organic2"]) == 1


async def test_a_review_whose_contact_closed_29_days_ago_is_refused_and_31_days_ago_accepted(
    skipping: Harness,
) -> None:
    h, w = skipping, skipping.world
    review_id = w.review["organic"]
    first = await h.service.request_contact(w.business, review_id, ASK)
    await h.service.close(w.business, first.contact.id)

    url = f"/api/v1/reviews/{review_id}/contacts"
    headers = as_(w.keys[w.business])
    async with web_client(h) as api:
        await h.env.sleep(timedelta(days=29))
        refused = await api.post(url, json=ASK.model_dump(mode="json"), headers=headers)
        assert (refused.status_code, _code(refused)) == (409, "contact_cooldown"), refused.text
        closed = (await h.service.contact_view(first.contact.id)).contact.closed_at
        assert closed is not None
        # Says from when, in words a person can act on.
        assert f"{closed + timedelta(days=30):%-d %B %Y}" in refused.json()["error"]["message"]
        assert await _contacts_of(h, review_id) == 1

        await h.env.sleep(timedelta(days=2))
        accepted = await api.post(url, json=ASK.model_dump(mode="json"), headers=headers)
        assert accepted.status_code == 201, accepted.text
    assert await _contacts_of(h, review_id) == 2


async def test_a_restricted_business_can_neither_contact_nor_flag_until_the_step_ends(
    skipping: Harness,
) -> None:
    h, w = skipping, skipping.world
    step = _step(StandingSubject.BUSINESS, w.business, StandingStepKind.RESTRICTION)
    async with h.db.tx() as conn:
        await standing.add_step(conn, step)

    contact_url = f"/api/v1/reviews/{w.review['organic']}/contacts"
    flag_url = f"/api/v1/reviews/{w.review['organic2']}/flags"
    headers = as_(w.keys[w.business])
    contact: dict[str, Any] = ASK.model_dump(mode="json")
    flag: dict[str, Any] = PERSONAL.model_dump(mode="json")
    async with web_client(h) as api:
        refused = await api.post(contact_url, json=contact, headers=headers)
        assert (refused.status_code, _code(refused)) == (403, "business_restricted")
        refused = await api.post(flag_url, json=flag, headers=headers)
        assert (refused.status_code, _code(refused)) == (403, "business_restricted")
        # Still "no such review" for another business's review: nothing shows through.
        others = await api.post(
            f"/api/v1/reviews/{w.review['others']}/contacts", json=contact, headers=headers
        )
        assert (others.status_code, _code(others)) == (404, "review_not_found")
        assert await _contacts_of(h, w.review["organic"]) == 0
        assert await _flags_of(h, w.review["organic2"]) == 0
        assert await h.outbox() == []

        # Its time passing on the calendar does not end it: only its workflow's timer or a
        # moderator's lift does.
        async with h.db.tx() as conn:
            assert await standing.end_step(
                conn, step.id, at=now(), end=StepEnd.LIFTED, lifted_by=w.moderator, note="Heard"
            )
        opened = await api.post(contact_url, json=contact, headers=headers)
        assert opened.status_code == 201, opened.text
        flagged = await api.post(flag_url, json=flag, headers=headers)
        assert flagged.status_code == 201, flagged.text


async def test_a_warned_business_with_a_consumer_warning_still_contacts_and_flags(
    skipping: Harness,
) -> None:
    """Only a restriction blocks (``domain.ladder.BLOCKS``): a warning and a consumer warning are
    words, to the business and to its readers, not a block."""
    h, w = skipping, skipping.world
    async with h.db.tx() as conn:
        for kind in (StandingStepKind.WARNING, StandingStepKind.CONSUMER_WARNING):
            await standing.add_step(conn, _step(StandingSubject.BUSINESS, w.business, kind))
    headers = as_(w.keys[w.business])
    async with web_client(h) as api:
        opened = await api.post(
            f"/api/v1/reviews/{w.review['organic']}/contacts",
            json=ASK.model_dump(mode="json"),
            headers=headers,
        )
        assert opened.status_code == 201, opened.text
        flagged = await api.post(
            f"/api/v1/reviews/{w.review['organic2']}/flags",
            json=PERSONAL.model_dump(mode="json"),
            headers=headers,
        )
        assert flagged.status_code == 201, flagged.text


async def test_a_suspended_notifiers_notice_is_refused_and_not_stored(skipping: Harness) -> None:
    h, w = skipping, skipping.world
    body = {**NOTICE, "review_id": w.review["organic"]}
    async with web_client(h) as api:
        # Accepted before the suspension: a retry with its key still answers as it did.
        before = await api.post("/api/v1/notices", json=body, headers={"Idempotency-Key": "n1"})
        assert before.status_code == 202, before.text
        stored = await _notices_stored(h)

        key = Links.of(h.settings).notifier_key(NOTIFIER)
        async with h.db.tx() as conn:
            await standing.add_step(
                conn, _step(StandingSubject.NOTIFIER, key, StandingStepKind.SUSPENSION)
            )
        # The same person, their address written another way.
        shouted = {**body, "email": "Nora.Notifier@PUBLIC.example"}
        refused = await api.post("/api/v1/notices", json=shouted)
        assert (refused.status_code, _code(refused)) == (403, "notifier_suspended")
        assert await _notices_stored(h) == stored

        retried = await api.post("/api/v1/notices", json=body, headers={"Idempotency-Key": "n1"})
        assert retried.status_code == 202
        assert retried.json()["notice_id"] == before.json()["notice_id"]

        other = await api.post("/api/v1/notices", json={**body, "email": "olga@public.example"})
        assert other.status_code == 202, other.text
        assert await _notices_stored(h) == stored + 1


async def test_a_review_is_flagged_once_per_reason_even_after_its_flag_was_dropped(
    skipping: Harness,
) -> None:
    h, w = skipping, skipping.world
    review_id = w.review["organic"]
    flag = (await h.service.flags.flag(w.business, review_id, PERSONAL)).flag
    token = Links.of(h.settings).token(Purpose.FLAG, flag.id)
    await h.service.flags.act(token, ReviewerAction.EDIT, ReviewEditBody(text="Edited."))
    dropped = await h.service.flags.drop(w.business, flag.id)
    assert dropped.flag.status is FlagStatus.DROPPED

    url = f"/api/v1/reviews/{review_id}/flags"
    headers = as_(w.keys[w.business])
    async with web_client(h) as api:
        again = await api.post(url, json=PERSONAL.model_dump(mode="json"), headers=headers)
        assert (again.status_code, _code(again)) == (409, "already_flagged"), again.text
        # Another reason is a flag of its own.
        spam = FlagBody(reason=FlagReason.ADVERTISING_OR_SPAM, explanation="An advert.")
        other = await api.post(url, json=spam.model_dump(mode="json"), headers=headers)
        assert other.status_code == 201, other.text
    assert await _flags_of(h, review_id) == 2
