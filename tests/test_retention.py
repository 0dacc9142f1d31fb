"""What people wrote is purged `retention` after its case ended; events and decisions stay."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest

from delivery.links import Links, Purpose
from delivery.mail import FileMailer
from domain.enums import (
    Answer,
    ContactStatus,
    Decision,
    Finding,
    FlagReason,
    ReviewerAction,
    StandingStepKind,
    StandingSubject,
    StepEnd,
    SubReason,
)
from domain.refusals import Refused
from settings import Settings
from starter.flag_inputs import FlagBody, ReviewEditBody
from starter.inputs import ContactRequestBody, DecisionBody
from starter.notice_inputs import NoticeBody
from starter.retention import purge_due
from starter.web.schemas import ContactOut
from store import (
    Database,
    contacts,
    flags,
    history,
    notices,
    outbox,
    reports,
    retention,
    standing,
)
from store.records import Event, Notice, OutboxMessage, StandingStep, now
from tests import flows
from tests.conftest import Harness
from tests.web import as_, web_client
from tests.world import make_world

CLOSED_MESSAGE = "Closed case: which table were you at?"
OPEN_MESSAGE = "Open case: do you still have the receipt?"
REFUSED_MESSAGE = "Refused request: hello there"
REMOVED = "removed after the retention period"


async def _case(h: Harness, contact_id: str) -> tuple[list[Event], list[OutboxMessage]]:
    async with h.db.read() as conn:
        contact = await contacts.get_contact(conn, contact_id)
        assert contact is not None
        subjects = [contact_id, contact.report_id or ""]
        return await history.history_of(conn, subjects), await outbox.messages_about(conn, subjects)


def _purged(messages: list[OutboxMessage]) -> bool:
    return all(
        m.purged_at is not None
        and m.body_text == ""
        and (m.to_address == "" if m.channel == "email" else True)
        for m in messages
    )


async def test_a_case_ended_retention_ago_is_purged_one_ended_since_is_not_an_open_one_never(
    skipping: Harness,
) -> None:
    h, w = skipping, skipping.world
    retention = h.settings.retention
    # Closed: the reviewer declines, the business closes without reporting.
    closed = (
        await h.service.request_contact(
            w.business, w.review["organic2"], ContactRequestBody(message=CLOSED_MESSAGE)
        )
    ).contact
    await h.service.answer(await h.reply_token(closed.id), Answer.DECLINE)
    await h.service.close(w.business, closed.id)
    with pytest.raises(Refused):
        await h.service.request_contact(
            w.business, w.review["platform"], ContactRequestBody(message=REFUSED_MESSAGE)
        )
    # Ten days later: replied, reported and decided (a note kept with the decision).
    await h.env.sleep(timedelta(days=10))
    decided = await flows.replied_then_rejected(h)
    # And one still waiting for its reviewer.
    waiting = (
        await h.service.request_contact(
            w.business, w.review["external"], ContactRequestBody(message=OPEN_MESSAGE)
        )
    ).contact

    async with h.db.read() as conn:
        closed_at = (await contacts.get_contact(conn, closed.id)).closed_at  # type: ignore[union-attr]
        report = await reports.get_report(conn, decided.report_id)
    assert closed_at is not None and report is not None and report.decided_at is not None
    decided_at: datetime = report.decided_at
    assert decided_at - closed_at > timedelta(days=9)
    before = {c: await _case(h, c) for c in (closed.id, decided.contact_id, waiting.id)}

    # A day short of `retention` after the decision: only the case closed ten days earlier.
    purged = await purge_due(h.db, h.settings, at=decided_at + retention - timedelta(days=1))
    assert (purged.requests, purged.answers) == (2, 1)  # the closed one's and the refused one's
    async with h.db.read() as conn:
        gone = await contacts.get_contact(conn, closed.id)
        kept = await contacts.get_contact(conn, decided.contact_id)
        refused = [
            r
            for r in await conn.fetch_all("SELECT message, purged_at FROM contact_requests")
            if r[1] is not None
        ]
    assert gone is not None and gone.message == "" and gone.purged_at is not None
    assert kept is not None and kept.message == flows.BUSINESS_MESSAGE and kept.purged_at is None
    assert sorted(r[0] for r in refused) == ["", ""]
    events, messages = await _case(h, closed.id)
    assert events == before[closed.id][0] and _purged(messages)
    assert [m.key for m in messages] == [m.key for m in before[closed.id][1]]
    _, decided_messages = await _case(h, decided.contact_id)
    assert decided_messages == before[decided.contact_id][1]

    # A day past `retention` after the decision: that case too, its decision and note kept.
    purged = await purge_due(h.db, h.settings, at=decided_at + retention + timedelta(days=1))
    assert (purged.requests, purged.answers) == (1, 1) and purged.messages > 0
    view = await h.service.report_view(decided.report_id)
    assert view.decision is not None and view.decision.note == flows.MODERATOR_NOTE
    assert view.report == report
    events, messages = await _case(h, decided.contact_id)
    assert events == before[decided.contact_id][0] and _purged(messages)
    shown = ContactOut.of(await h.service.contact_view(decided.contact_id))
    assert shown.message is None and shown.purged_at is not None and shown.reply is not None
    assert (shown.reply.order_reference, shown.reply.contact_details, shown.reply.message) == (
        None,
        None,
        None,
    )

    # However late, a case still open keeps everything; and a purge run again finds nothing.
    purged = await purge_due(h.db, h.settings, at=decided_at + 20 * retention)
    assert purged.total == 0
    async with h.db.read() as conn:
        still = await contacts.get_contact(conn, waiting.id)
    assert still is not None and still.status is ContactStatus.AWAITING_REPLY
    assert still.message == OPEN_MESSAGE and still.purged_at is None
    assert await _case(h, waiting.id) == before[waiting.id]

    # What the business reads says the text was removed, and shows none of it.
    async with web_client(h) as api:
        got = await api.get(
            f"/api/v1/contacts/{decided.contact_id}", headers=as_(w.keys[w.business])
        )
        assert got.status_code == 200 and got.json()["message"] is None
        page = await _signed_in_page(api, w.keys[w.business], decided.contact_id)
    assert page.status_code == 200 and REMOVED in page.text
    for text in (flows.BUSINESS_MESSAGE, flows.SHARED_ORDER, flows.SHARED_MESSAGE):
        assert text not in page.text


async def _signed_in_page(api: httpx.AsyncClient, key: str, contact_id: str) -> httpx.Response:
    await api.get("/login")
    signed = await api.post("/login", data={"api_key": key, "csrf": api.cookies["rd_login_csrf"]})
    assert signed.status_code == 303
    return await api.get(f"/dashboard/contacts/{contact_id}")


async def _closed_case(h: Harness, message: str) -> str:
    """A case the business closed after the reviewer declined; its id."""
    w = h.world
    contact = (
        await h.service.request_contact(
            w.business, w.review["organic2"], ContactRequestBody(message=message)
        )
    ).contact
    await h.service.answer(await h.reply_token(contact.id), Answer.DECLINE)
    await h.service.close(w.business, contact.id)
    await h.all_delivered()
    return contact.id


def _store_files(h: Harness) -> bytes:
    """The store as it lies on disk: the file and its write-ahead log, raw."""
    store = h.settings.store_path
    return b"".join(
        p.read_bytes() for p in (store, store.with_name(store.name + "-wal")) if p.exists()
    )


@pytest.mark.sqlite_only
async def test_a_purged_text_is_gone_from_the_store_file_and_its_write_ahead_log(
    skipping: Harness,
) -> None:
    """Not only unreadable through the store: its bytes are overwritten, and the write-ahead
    log's older copies of the pages are gone too."""
    h = skipping
    written = "Purge-me: table 12, the blue scarf, ask for Olwen"
    # Long: SQLite writes a row's shorter new version over the end of the old one, so only
    # erasing keeps the old one's start (what is searched for) from staying in the file.
    contact_id = await _closed_case(h, f"{written}. {'We would like to know more. ' * 40}")
    assert written.encode() in _store_files(h)  # so the scan below cannot pass for want of it

    async with h.db.read() as conn:
        closed_at = (await contacts.get_contact(conn, contact_id)).closed_at  # type: ignore[union-attr]
    assert closed_at is not None
    purged = await purge_due(h.db, h.settings, at=closed_at + h.settings.retention)
    assert purged.requests == 1 and purged.messages > 0

    assert written.encode() not in _store_files(h)


async def test_the_email_files_of_a_purged_case_are_removed_an_open_case_keeps_its_own(
    skipping: Harness,
) -> None:
    """Without an SMTP server the .eml files are the platform's copy of what it sent."""
    h, w = skipping, skipping.world
    closed = await _closed_case(h, CLOSED_MESSAGE)
    waiting = (
        await h.service.request_contact(
            w.business, w.review["external"], ContactRequestBody(message=OPEN_MESSAGE)
        )
    ).contact
    delivered = await h.all_delivered()
    mailer = FileMailer(h.settings.mail_dir)

    def files(subject: str) -> list[Path]:
        emails = [m for m in delivered if m.channel == "email" and m.subject_id == subject]
        return [mailer.path_for(m.key) for m in emails]

    assert len(files(closed)) >= 2 and len(files(waiting.id)) == 1  # request, told the business
    assert all(p.exists() for p in files(closed) + files(waiting.id))
    async with h.db.read() as conn:
        closed_at = (await contacts.get_contact(conn, closed)).closed_at  # type: ignore[union-attr]
    assert closed_at is not None

    await purge_due(h.db, h.settings, at=closed_at + h.settings.retention)

    assert not [p for p in files(closed) if p.exists()]
    assert all(p.exists() for p in files(waiting.id))
    assert not any(CLOSED_MESSAGE in p.read_text() for p in h.settings.mail_dir.glob("*.eml"))
    # Run again (another worker's purge, a file already gone): nothing fails, nothing more goes.
    assert (await purge_due(h.db, h.settings, at=closed_at + 2 * h.settings.retention)).total == 0
    assert all(p.exists() for p in files(waiting.id))


async def test_a_request_that_never_became_a_contact_is_purged_retention_after_it_was_made(
    db: Database, settings: Settings
) -> None:
    """Left by a step that failed before the opening (the worker down, a 503) and never retried:
    no contact, no refusal, so no case that could end."""
    world = await make_world(db)
    made = now()
    async with db.tx() as conn:
        for request_id, at in (("cr_old", made), ("cr_recent", made + timedelta(days=30))):
            await contacts.add_request(
                conn,
                id=request_id,
                review_id=world.review["organic"],
                business_id=world.business,
                message=f"{request_id}: which table were you at?",
                requested=[],
                created_at=at,
            )

    purged = await purge_due(db, settings, at=made + settings.retention + timedelta(days=1))

    async with db.read() as conn:
        old = await contacts.get_request(conn, "cr_old")
        recent = await contacts.get_request(conn, "cr_recent")
    assert purged.requests == 1
    assert old is not None and old.message == "" and old.purged_at is not None
    assert recent is not None and recent.message == "cr_recent: which table were you at?"
    assert recent.purged_at is None


async def test_flags_notices_and_their_emails_are_purged_after_their_report_is_decided(
    live: Harness,
) -> None:
    h, w = live, live.world
    name, email = "Nadia Noticer", "nadia.noticer@public.example"
    why = "It names a private person and calls them a thief: defamation."
    notice = await h.service.notices.submit(
        NoticeBody(
            review_id=w.review["organic"],
            sub_reason=SubReason.DEFAMATION,
            explanation=why,
            name=name,
            email=email,
            good_faith=True,
        )
    )
    flagged = await h.service.flags.flag(
        w.business,
        w.review["organic2"],
        FlagBody(reason=FlagReason.PERSONAL_INFORMATION, explanation="Names our cashier."),
    )

    async def report_opened() -> str | None:
        async with h.db.read() as conn:
            stored = await notices.get_notice(conn, notice.notice_id)
            report_id = stored.report_id if stored else None
            events = await history.history_of(conn, [report_id or ""])
        return report_id if any(e.type == "opened" for e in events) else None

    report_id = await h.eventually(report_opened)
    await h.service.decide(
        w.moderator, report_id, DecisionBody(decision=Decision.REJECT, note="Fair")
    )
    token = Links.of(h.settings).token(Purpose.FLAG, flagged.flag.id)
    edited = "Lovely bread, friendly staff."
    await h.service.flags.act(token, ReviewerAction.EDIT, ReviewEditBody(text=edited))
    await h.service.flags.drop(w.business, flagged.flag.id)
    await h.all_delivered()

    # Before the case ended `retention` ago, nothing goes; after, the words and addresses do.
    async with h.db.tx() as conn:
        early = await retention.purge(conn, before=now() - timedelta(days=1), at=now())
    assert (early.flags, early.notices) == (0, 0)
    async with h.db.tx() as conn:
        purged = await retention.purge(conn, before=now() + timedelta(seconds=1), at=now())
    assert (purged.flags, purged.notices) == (1, 1)
    async with h.db.read() as conn:
        stored = await notices.get_notice(conn, notice.notice_id)
        flag = await flags.get_flag(conn, flagged.flag.id)
        left = await outbox.messages_about(conn, [notice.notice_id, flagged.flag.id])
    assert stored is not None and (stored.name, stored.email, stored.explanation) == ("", "", "")
    assert flag is not None and flag.explanation == "" and flag.purged_at is not None
    async with h.db.read() as conn:
        kept = await conn.fetch_all(
            "SELECT title, text FROM review_edits WHERE flag_id = ?", (flagged.flag.id,)
        )
    assert [tuple(row) for row in kept] == [(None, None)]
    assert left and _purged(left)
    # The report and its decision stay, for the record and the transparency figures.
    async with h.db.read() as conn:
        report = await reports.get_report(conn, report_id)
    assert report is not None and report.decision_id is not None


async def test_a_notifiers_key_and_steps_are_forgotten_once_no_finding_or_ladder_counts_them(
    db: Database, settings: Settings
) -> None:
    """A purged notice loses its notifier's key `misuse_window + ladder_memory` after it was
    received; a notifier's step ended `ladder_memory` ago stays, counted by the transparency
    figures, under an id that links to no one, and its email loses its words and address."""
    w = await make_world(db)
    at = now()
    key = Links.of(settings).notifier_key("olga.notifier@people.example")
    forgotten_before = settings.misuse_window + settings.ladder_memory
    day = timedelta(days=1)

    def notice(notice_id: str, received: datetime) -> Notice:
        return Notice(
            id=notice_id,
            review_id=w.review["organic"],
            sub_reason=SubReason.DEFAMATION,
            explanation="Calls a named person a thief.",
            name="Olga",
            email="olga.notifier@people.example",
            good_faith=True,
            received_at=received,
            notifier_key=key,
        )

    def step(step_id: str, ended: datetime | None, kind: StandingSubject) -> StandingStep:
        taken = (ended or at) - timedelta(days=30)
        return StandingStep(
            id=step_id,
            subject_kind=kind,
            subject_id=key if kind is StandingSubject.NOTIFIER else w.business,
            kind=StandingStepKind.WARNING,
            finding=Finding.UNFOUNDED_NOTICES,
            figures={"decided": 5, "rejected": 5},
            taken_at=taken,
            ends_at=taken + timedelta(days=30),
        )

    old_end, recent_end = at - settings.ladder_memory - day, at - settings.ladder_memory + day
    steps = {
        "old": step("st_ret_old", old_end, StandingSubject.NOTIFIER),
        "recent": step("st_ret_recent", recent_end, StandingSubject.NOTIFIER),
        "business": step("st_ret_business", old_end, StandingSubject.BUSINESS),
    }
    mail = OutboxMessage(
        key="st_ret_old:standing.step_ended:notifier",
        channel="email",
        subject_id="st_ret_old",
        event_type="standing.step_ended",
        recipient_kind="notifier",
        recipient_id=key,
        to_address="olga.notifier@people.example",
        subject="Reviewdesk: a warning on the notices you send us has ended",
        body_text="Hello, the warning we gave you has ended.",
        created_at=old_end,
    )
    async with db.tx() as conn:
        await notices.add_notice(
            conn, notice("nt_ret_old", at - forgotten_before - day), idempotency_key=None
        )
        await notices.add_notice(
            conn, notice("nt_ret_recent", at - forgotten_before + day), idempotency_key=None
        )
        for s in steps.values():
            await standing.add_step(conn, s)
            assert s.ended_at is None
            await standing.end_step(conn, s.id, at=s.ends_at, end=StepEnd.EXPIRED)
        await outbox.enqueue(conn, mail)
        await outbox.mark_sent(conn, mail.key, old_end)
    copy = FileMailer(settings.mail_dir).path_for(mail.key)
    copy.parent.mkdir(parents=True, exist_ok=True)
    copy.write_text("To: olga.notifier@people.example")

    purged = await purge_due(db, settings, at=at)
    assert (purged.notifier_keys, purged.notifier_steps) == (1, 1)
    async with db.read() as conn:
        old = await notices.get_notice(conn, "nt_ret_old")
        recent = await notices.get_notice(conn, "nt_ret_recent")
        kept = await standing.steps_of(conn, StandingSubject.NOTIFIER, key)
        anonymous = await standing.get_step(conn, "st_ret_old")
        business = await standing.get_step(conn, "st_ret_business")
        counted = await standing.steps_between(conn, at - timedelta(days=3650), at)
        sent = await outbox.get_message(conn, mail.key)
    # Both notices were purged (their case ended `retention` ago); only the old one's key goes.
    assert old is not None and old.purged_at is not None and old.notifier_key is None
    assert recent is not None and recent.purged_at is not None and recent.notifier_key == key
    # The notifier's recent step still counts on their ladder; the old one names no one.
    assert [s.id for s in kept] == ["st_ret_recent"]
    assert anonymous is not None and anonymous.subject_id == "forgotten-st_ret_old"
    assert (anonymous.kind, anonymous.end_reason) == (StandingStepKind.WARNING, StepEnd.EXPIRED)
    assert business is not None and business.subject_id == w.business
    assert {s.id for s in counted} >= {"st_ret_old", "st_ret_recent", "st_ret_business"}
    assert sent is not None and sent.purged_at is not None
    assert (sent.to_address, sent.body_text, sent.recipient_id) == ("", "", "forgotten-st_ret_old")
    assert not copy.exists()
    # Run again, it finds nothing more to forget.
    again = await purge_due(db, settings, at=at)
    assert (again.notifier_keys, again.notifier_steps) == (0, 0)
