"""The steps of a contact: eligibility, opening, the request to the reviewer, outcome, report."""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import NamedTuple

from temporalio import activity
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from activities import _notify
from activities._steps import ProcessSteps
from delivery import texts
from delivery.links import Purpose
from domain import report_workflow_id
from domain.enums import (
    REVIEWER_CONTACTED_LABEL,
    Answer,
    ContactStatus,
    GuardedAction,
    ReviewSource,
    StandingSubject,
    Visibility,
)
from domain.ladder import REFUSED_WITH
from domain.messages import (
    CloseInput,
    ContactStepInput,
    EligibilityInput,
    FileReportInput,
    OpenContactInput,
    Opened,
    OpenInput,
    OutcomeInput,
    RefusalInput,
    ReportWorkflowInput,
)
from domain.refusals import Refusal, refusal_error
from settings import Settings
from starter import metrics
from store import accounts, caps, contacts, history, outbox, reports, reviews, standing, tickets
from store.accounts import hash_secret
from store.connection import Connection
from store.records import AnswerRecord, Business, Contact, ContactRequest, Review, Reviewer
from workflows.report import ReviewReportWorkflow

_OUTCOME_EVENTS = {
    ContactStatus.REPLIED: "contact.replied",
    ContactStatus.DECLINED: "contact.declined",
    ContactStatus.NO_RESPONSE: "contact.no_response",
}


class _Opening(NamedTuple):
    review: Review
    contact: Contact
    reviewer: Reviewer
    token: str  # the reply link's, of which the store keeps only a hash
    email: texts.Text


class ContactActivities(ProcessSteps):
    @activity.defn
    async def open_and_request(self, inp: OpenInput) -> Opened:
        """v3: the whole opening as one step: eligibility, the open contact, the reviewer's email
        with its reply link, and that email's first try. Before v3 these were four steps.

        Read and composed beside the writer, then recorded in one transaction, so the store's
        one write lock is held for the writes alone. A retry finds the decision recorded (the
        refusal, or the open contact with its one email: a second reply link is never issued)
        and only hands the email over again.
        """
        key = _notify.outbox_key(inp.contact_id, "contact.requested", "reviewer")
        async with self.db.read() as conn:
            request = await contacts.get_request(conn, inp.contact_id)
            if request is None:
                raise RuntimeError(f"contact {inp.contact_id} has no request")
            opened = await _opened(conn, inp.contact_id, request.refusal, key)
            decided = None if opened is not None else await self._decide(conn, request, inp)
        recorded = False
        if decided is not None:
            async with self.db.tx() as conn:
                # Checked again under the write lock: an attempt of this step that overlaps
                # (a stalled worker's, say) may have decided meanwhile, and the first decision
                # stands; a second reply link would void the one already emailed.
                refusal = await contacts.refusal_of(conn, inp.contact_id)
                opened = await _opened(conn, inp.contact_id, refusal, key)
                if opened is None:
                    if isinstance(decided, _Opening):
                        # Counted again under the write lock, which every opening takes: two
                        # at once cannot both take the cap's last place, nor open past a
                        # restriction taken meanwhile.
                        decided = (
                            await _business_refusal(
                                conn, self.settings, inp.business_id, inp.opened_at
                            )
                            or decided
                        )
                    await self._record_decision(conn, request, decided, inp)
                    refusal = decided.value if isinstance(decided, Refusal) else None
                    opened = await _opened(conn, inp.contact_id, refusal, key)
                    recorded = True
        assert opened is not None
        if recorded:  # counted once committed, and by the one attempt that decided
            metrics.contact_decided(opened.refusal)
        if opened.refusal is None:
            await _notify.hand_over([key], inp.delivery, self.hand_over)
        return opened

    async def _record_decision(
        self,
        conn: Connection,
        request: ContactRequest,
        decided: Refusal | _Opening,
        inp: OpenInput,
    ) -> None:
        if isinstance(decided, Refusal):
            await _refuse(conn, inp.contact_id, decided, inp.opened_at)
            return
        await _open(conn, request, decided.review, inp.opened_at, inp.deadline)
        await _record_request(
            conn, decided.contact, decided.reviewer, decided.token, decided.email, inp.opened_at
        )

    async def _decide(
        self, conn: Connection, request: ContactRequest, inp: OpenInput
    ) -> Refusal | _Opening:
        """Why the contact is refused, or the contact it opens and the email that asks."""
        review = await reviews.get_review(conn, inp.review_id)
        refusal = await _refusal(
            conn, self.settings, review, inp.contact_id, inp.business_id, inp.opened_at
        )
        if refusal is not None:
            return refusal
        assert review is not None
        business, reviewer = await _business_and_reviewer(conn, review)
        contact = Contact(
            id=request.id,
            review_id=review.id,
            business_id=request.business_id,
            reviewer_id=review.reviewer_id,
            status=ContactStatus.AWAITING_REPLY,
            message=request.message,
            requested=request.requested,
            opened_at=inp.opened_at,
            deadline=inp.deadline,
        )
        token, text = self._request_text(contact, review, business, reviewer)
        return _Opening(review, contact, reviewer, token, text)

    @activity.defn
    async def check_eligibility(self, inp: EligibilityInput) -> None:
        """DESIGN rule 1, each refusal with its own reason, in the order a caller can act on."""
        # Its input has no time: judged at the time the workflow scheduled it. Refused and
        # opened in separate steps, so the cap is not counted under the opening's write lock:
        # only executions from before v3 take this path.
        at = activity.info().scheduled_time
        async with self.db.read() as conn:
            review = await reviews.get_review(conn, inp.review_id)
            refusal = await _refusal(
                conn, self.settings, review, inp.contact_id, inp.business_id, at
            )
        if refusal is not None:
            raise refusal_error(refusal)

    @activity.defn
    async def record_refusal(self, inp: RefusalInput) -> None:
        async with self.db.tx() as conn:
            await _refuse(conn, inp.contact_id, inp.refusal, inp.at)

    @activity.defn
    async def open_contact(self, inp: OpenContactInput) -> None:
        # What the step reads does not change once the request is made, so it is read beside
        # the writer: the store's one write lock is held for the writes alone.
        async with self.db.read() as conn:
            request = await contacts.get_request(conn, inp.contact_id)
            review = await reviews.get_review(conn, inp.review_id)
        if request is None or review is None:
            raise RuntimeError(f"contact {inp.contact_id} has no request or review")
        async with self.db.tx() as conn:
            await _open(conn, request, review, inp.opened_at, inp.deadline)

    @activity.defn
    async def send_request_to_reviewer(self, inp: ContactStepInput) -> list[str]:
        """Issues the reply link and records the email that carries it, once."""
        async with self.db.read() as conn:
            contact, review, business, reviewer = await _parties(conn, inp.contact_id)
        token, text = self._request_text(contact, review, business, reviewer)
        key = _notify.outbox_key(contact.id, "contact.requested", "reviewer")
        async with self.db.tx() as conn:
            # A retry finds the email recorded, and records nothing again.
            if not await outbox.has_message(conn, key):
                await _record_request(conn, contact, reviewer, token, text, inp.at)
        return [key]

    def _request_text(
        self, contact: Contact, review: Review, business: Business, reviewer: Reviewer
    ) -> tuple[str, texts.Text]:
        """The reply link's token, and the email that is to carry the link.

        The token is derived, the same on every retry and every send of the email: the store
        keeps its hash, and the outbox the email with a mark where the link goes.
        """
        token = self.links.token(Purpose.REPLY, contact.id)
        return token, texts.contact_request(business, reviewer, review, contact)

    @activity.defn
    async def record_outcome(self, inp: OutcomeInput) -> list[str]:
        """Closes the reply window (reply, decline or silence) and tells the business."""
        event_type = _OUTCOME_EVENTS[inp.status]
        async with self.db.tx() as conn:
            contact, review, business, reviewer = await _parties(conn, inp.contact_id)
            answer = await contacts.get_answer(conn, inp.answer_id) if inp.answer_id else None
            if inp.answer_id and answer is None:
                raise RuntimeError(f"answer {inp.answer_id} is missing from the store")
            await contacts.close_window(
                conn,
                contact.id,
                status=inp.status,
                at=inp.at,
                report_deadline=inp.report_deadline,
                answer_id=inp.answer_id,
            )
            # The reviewer replied, declined or stayed silent: the dialogue the ticket waited on
            # is over, and its next move is the business's.
            await tickets.follow_contact(conn, review.id, contact.id, ended=True, at=inp.at)
            if answer is not None and answer.answer is Answer.REPLY:
                text = texts.contact_replied(business, reviewer, review, answer)
            elif answer is not None:
                text = texts.contact_declined(business, reviewer, review)
            else:
                text = texts.contact_no_response(business, reviewer, review)
            keys = await _notify.tell_business(
                conn,
                business=business,
                subject_id=contact.id,
                event_type=event_type,
                text=text,
                data={
                    "contact_id": contact.id,
                    "review_id": review.id,
                    "status": inp.status.value,
                    "report_possible_until": inp.report_deadline.isoformat(),
                    **({"reply": _shared(answer)} if inp.status is ContactStatus.REPLIED else {}),
                },
                at=inp.at,
            )
            await history.add_event(
                conn,
                subject_id=contact.id,
                type=inp.status.value,
                at=inp.at,
                detail={"report_deadline": inp.report_deadline.isoformat()},
            )
        await _notify.hand_over(keys, inp.delivery, self.hand_over)
        return keys

    @activity.defn
    async def close_contact(self, inp: CloseInput) -> None:
        async with self.db.tx() as conn:
            await contacts.end_contact(conn, inp.contact_id, status=ContactStatus.CLOSED, at=inp.at)
            contact = await contacts.get_contact(conn, inp.contact_id)
            if contact is not None:  # closed by the business while the reviewer's window ran
                await tickets.follow_contact(
                    conn, contact.review_id, contact.id, ended=True, at=inp.at
                )
            await history.add_event(
                conn,
                subject_id=inp.contact_id,
                type="closed",
                at=inp.at,
                detail={"by": "business" if inp.by_business else "report_window_over"},
            )

    @activity.defn
    async def file_report(self, inp: FileReportInput) -> list[str]:
        """Records the report and hides the review in one step, so a 202 means it is hidden.

        A retry that finds the report filed changes nothing: the worker may have died after
        the first attempt committed, and by the time the workflow task is retried a moderator
        may have rejected the report and reinstated the review, which must stay visible.
        """
        async with self.db.tx() as conn:
            filed = await _filed(conn, inp.report_id)
            keys = filed if filed is not None else await self._file(conn, inp)
        await _notify.hand_over(keys, inp.delivery, self.hand_over)
        return keys

    async def _file(self, conn: Connection, inp: FileReportInput) -> list[str]:
        """``file_report``'s writes, in its transaction; the keys of the messages recorded."""
        contact, review, business, _ = await _parties(conn, inp.contact_id)
        await reports.add_report(
            conn,
            id=inp.report_id,
            review_id=review.id,
            contact_id=contact.id,
            business_id=business.id,
            grounds=inp.grounds,
            opened_at=inp.at,
            sla_deadline=inp.sla_deadline,
        )
        await reviews.set_visibility(conn, review.id, Visibility.HIDDEN)
        await contacts.end_contact(
            conn, contact.id, status=ContactStatus.REPORTED, at=inp.at, report_id=inp.report_id
        )
        await tickets.follow_contact(conn, review.id, contact.id, ended=True, at=inp.at)
        await history.add_event(
            conn,
            subject_id=contact.id,
            type="reported",
            at=inp.at,
            detail={"report_id": inp.report_id, "grounds": inp.grounds.value},
        )
        report = await reports.get_report(conn, inp.report_id)
        assert report is not None
        return await _notify.tell_business(
            conn,
            business=business,
            subject_id=report.id,
            event_type="report.opened",
            text=texts.report_opened_for_business(business, review, report),
            data={
                "report_id": report.id,
                "contact_id": contact.id,
                "review_id": review.id,
                "status": report.status.value,
                "grounds": inp.grounds.value,
                "review_visibility": Visibility.HIDDEN.value,
            },
            at=inp.at,
        )

    @activity.defn
    async def start_report_workflow(self, inp: ReportWorkflowInput) -> None:
        """Starts the report as a workflow of its own, which outlives this contact.

        A retry finds it running (or already finished) under the same id and starts nothing.
        """
        with contextlib.suppress(WorkflowAlreadyStartedError):
            await self.client.start_workflow(
                ReviewReportWorkflow.run,
                inp,
                id=report_workflow_id(inp.review_id),
                task_queue=activity.info().task_queue,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            )


def _shared(answer: AnswerRecord | None) -> dict[str, str | None]:
    """What the reviewer chose to share, field by field; their address is never among it."""
    return {
        "order_reference": answer.order_reference if answer else None,
        "contact_details": answer.contact_details if answer else None,
        "message": answer.message if answer else None,
    }


async def _parties(conn: Connection, contact_id: str) -> tuple[Contact, Review, Business, Reviewer]:
    """The contact and everyone in it; a missing one is a bug, so retrying will not help."""
    contact = await contacts.get_contact(conn, contact_id)
    if contact is None:
        raise RuntimeError(f"contact {contact_id} is not in the store")
    review = await reviews.get_review(conn, contact.review_id)
    business = await accounts.get_business(conn, contact.business_id)
    reviewer = await accounts.get_reviewer(conn, contact.reviewer_id)
    if review is None or business is None or reviewer is None:
        raise RuntimeError(f"contact {contact_id} refers to a missing record")
    return contact, review, business, reviewer


async def _opened(
    conn: Connection, contact_id: str, refusal: str | None, key: str
) -> Opened | None:
    """What an attempt of ``open_and_request`` decided, if one did: the request's refusal as
    recorded, or its email and the deadline that email states (a retried or re-driven opening
    computes a later one, which must not count)."""
    if refusal is not None:
        return Opened(refusal=Refusal(refusal))
    if not await outbox.has_message(conn, key):
        return None
    return Opened(deadline=await contacts.deadline_of(conn, contact_id))


async def _filed(conn: Connection, report_id: str) -> list[str] | None:
    """The business's messages about the report an earlier attempt of ``file_report`` filed,
    if one did."""
    if await reports.get_report(conn, report_id) is None:
        return None
    return [
        m.key
        for m in await outbox.messages_about(conn, [report_id])
        # The business's email and each of its webhook endpoints' events (and an old
        # single-webhook row): every one of them must be handed over again.
        if m.event_type == "report.opened" and m.recipient_kind in ("business", "endpoint")
    ]


async def _refusal(
    conn: Connection,
    settings: Settings,
    review: Review | None,
    contact_id: str,
    business_id: str,
    at: datetime,
) -> Refusal | None:
    """DESIGN rule 1, each refusal with its own reason, in the order a caller can act on: what
    holds for every review of the business (a restriction, then the day's cap) before what
    holds for this one, so the caller does not try another review only to be refused again;
    the restriction first, as the cap's Retry-After would promise what it cannot keep."""
    # Another business's review is answered exactly like one that does not exist.
    if review is None or review.business_id != business_id:
        return Refusal.REVIEW_NOT_FOUND
    refusal = await _business_refusal(conn, settings, business_id, at)
    if refusal is not None:
        return refusal
    if review.source is ReviewSource.PLATFORM_INVITATION:
        return Refusal.NOT_ELIGIBLE_SOURCE
    if await reports.report_for_review(conn, review.id) is not None:
        return Refusal.ALREADY_REPORTED
    if review.visibility is not Visibility.VISIBLE:
        return Refusal.REVIEW_NOT_VISIBLE
    other = await contacts.open_contact_for_review(conn, review.id)
    if other is not None and other.id != contact_id:
        return Refusal.OPEN_CONTACT
    # After the open contact: the cooldown counts from a contact's end.
    until = await caps.cooldown_ends(conn, review.id, settings.contact_cooldown)
    if until is not None and at < until:
        return Refusal.CONTACT_COOLDOWN
    return None


async def _business_refusal(
    conn: Connection, settings: Settings, business_id: str, at: datetime
) -> Refusal | None:
    """DESIGN rule 12: a business under restriction, or with the day's contacts opened, opens
    none; judged at ``at``, the workflow's time, which a test server may have moved on."""
    action = GuardedAction.CONTACT
    if await standing.blocking(conn, StandingSubject.BUSINESS, business_id, action):
        return REFUSED_WITH[action]
    if await caps.contacts_full_until(conn, business_id, at=at, cap=settings.daily_contact_cap):
        return Refusal.DAILY_CAP
    return None


async def _refuse(conn: Connection, contact_id: str, refusal: Refusal, at: datetime) -> None:
    await contacts.refuse_request(conn, contact_id, refusal.value)
    await history.add_event(
        conn, subject_id=contact_id, type="refused", at=at, detail={"reason": refusal.value}
    )


async def _open(
    conn: Connection,
    request: ContactRequest,
    review: Review,
    opened_at: datetime,
    deadline: datetime,
) -> None:
    await contacts.open_contact(
        conn,
        request=request,
        reviewer_id=review.reviewer_id,
        opened_at=opened_at,
        deadline=deadline,
    )
    await reviews.add_label(conn, review.id, REVIEWER_CONTACTED_LABEL, opened_at)
    await tickets.follow_contact(conn, review.id, request.id, ended=False, at=opened_at)
    await history.add_event(
        conn,
        subject_id=request.id,
        type="opened",
        at=opened_at,
        detail={
            "requested": [r.value for r in request.requested],
            "deadline": deadline.isoformat(),
        },
    )


async def _record_request(
    conn: Connection,
    contact: Contact,
    reviewer: Reviewer,
    token: str,
    text: texts.Text,
    at: datetime,
) -> None:
    await contacts.set_token_hash(conn, contact.id, hash_secret(token))
    await _notify.email(
        conn,
        subject_id=contact.id,
        event_type="contact.requested",
        recipient_kind="reviewer",
        recipient_id=reviewer.id,
        to_address=reviewer.email,
        text=text,
        at=at,
        link_purpose=Purpose.REPLY,
    )
    await history.add_event(conn, subject_id=contact.id, type="request_sent", at=at)


async def _business_and_reviewer(conn: Connection, review: Review) -> tuple[Business, Reviewer]:
    business = await accounts.get_business(conn, review.business_id)
    reviewer = await accounts.get_reviewer(conn, review.reviewer_id)
    if business is None or reviewer is None:
        raise RuntimeError(f"review {review.id} refers to a missing record")
    return business, reviewer
