"""The steps of a contact: eligibility, opening, the request to the reviewer, outcome, report."""

from __future__ import annotations

import contextlib
import secrets

import aiosqlite
from temporalio import activity
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from activities import _notify
from delivery import texts
from domain import report_workflow_id
from domain.enums import (
    REVIEWER_CONTACTED_LABEL,
    Answer,
    ContactStatus,
    ReviewSource,
    Visibility,
)
from domain.messages import (
    CloseInput,
    ContactStepInput,
    EligibilityInput,
    FileReportInput,
    OpenContactInput,
    OutcomeInput,
    RefusalInput,
    ReportWorkflowInput,
)
from domain.refusals import Refusal, refusal_error
from settings import Settings
from store import Database, accounts, contacts, history, outbox, reports, reviews
from store.accounts import hash_secret
from store.records import AnswerRecord, Business, Contact, Review, Reviewer
from workflows.report import ReviewReportWorkflow

_OUTCOME_EVENTS = {
    ContactStatus.REPLIED: "contact.replied",
    ContactStatus.DECLINED: "contact.declined",
    ContactStatus.NO_RESPONSE: "contact.no_response",
}


class ContactActivities:
    def __init__(self, db: Database, settings: Settings, client: Client) -> None:
        self.db = db
        self.settings = settings
        self.client = client

    @activity.defn
    async def check_eligibility(self, inp: EligibilityInput) -> None:
        """DESIGN rule 1, each refusal with its own reason, in the order a caller can act on."""
        async with self.db.read() as conn:
            review = await reviews.get_review(conn, inp.review_id)
            # Another business's review is answered exactly like one that does not exist.
            if review is None or review.business_id != inp.business_id:
                raise refusal_error(Refusal.REVIEW_NOT_FOUND)
            if review.source is ReviewSource.PLATFORM_INVITATION:
                raise refusal_error(Refusal.NOT_ELIGIBLE_SOURCE)
            if await reports.report_for_review(conn, inp.review_id) is not None:
                raise refusal_error(Refusal.ALREADY_REPORTED)
            if review.visibility is not Visibility.VISIBLE:
                raise refusal_error(Refusal.REVIEW_NOT_VISIBLE)
            other = await contacts.open_contact_for_review(conn, inp.review_id)
            if other is not None and other.id != inp.contact_id:
                raise refusal_error(Refusal.OPEN_CONTACT)

    @activity.defn
    async def record_refusal(self, inp: RefusalInput) -> None:
        async with self.db.tx() as conn:
            await contacts.refuse_request(conn, inp.contact_id, inp.refusal.value)
            await history.add_event(
                conn,
                subject_id=inp.contact_id,
                type="refused",
                at=inp.at,
                detail={"reason": inp.refusal.value},
            )

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
            await contacts.open_contact(
                conn,
                request=request,
                reviewer_id=review.reviewer_id,
                opened_at=inp.opened_at,
                deadline=inp.deadline,
            )
            await reviews.add_label(conn, inp.review_id, REVIEWER_CONTACTED_LABEL, inp.opened_at)
            await history.add_event(
                conn,
                subject_id=inp.contact_id,
                type="opened",
                at=inp.opened_at,
                detail={
                    "requested": [r.value for r in request.requested],
                    "deadline": inp.deadline.isoformat(),
                },
            )

    @activity.defn
    async def send_request_to_reviewer(self, inp: ContactStepInput) -> list[str]:
        """Issues the reply link and records the email that carries it, once."""
        async with self.db.read() as conn:
            contact, review, business, reviewer = await _parties(conn, inp.contact_id)
        key = _notify.outbox_key(contact.id, "contact.requested", "reviewer")
        async with self.db.tx() as conn:
            if await outbox.has_message(conn, key):
                # A retry must not issue a second token: the first one is in the recorded email.
                return [key]
            token = secrets.token_urlsafe(32)
            await contacts.set_token_hash(conn, contact.id, hash_secret(token))
            link = f"{self.settings.public_base_url}/reply/{token}"
            await _notify.email(
                conn,
                subject_id=contact.id,
                event_type="contact.requested",
                recipient_kind="reviewer",
                recipient_id=reviewer.id,
                to_address=reviewer.email,
                text=texts.contact_request(business, reviewer, review, contact, link),
                at=inp.at,
            )
            await history.add_event(conn, subject_id=contact.id, type="request_sent", at=inp.at)
        return [key]

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
            if answer is not None and answer.answer is Answer.REPLY:
                text = texts.contact_replied(business, reviewer, review, answer)
            elif answer is not None:
                text = texts.contact_declined(business, reviewer, review)
            else:
                text = texts.contact_no_response(business, reviewer, review)
            key = await _notify.email(
                conn,
                subject_id=contact.id,
                event_type=event_type,
                recipient_kind="business",
                recipient_id=business.id,
                to_address=business.email,
                text=text,
                at=inp.at,
            )
            hooks = await _notify.webhook(
                conn,
                business=business,
                subject_id=contact.id,
                event_type=event_type,
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
        return [key, *hooks]

    @activity.defn
    async def close_contact(self, inp: CloseInput) -> None:
        async with self.db.tx() as conn:
            await contacts.end_contact(conn, inp.contact_id, status=ContactStatus.CLOSED, at=inp.at)
            await history.add_event(
                conn,
                subject_id=inp.contact_id,
                type="closed",
                at=inp.at,
                detail={"by": "business" if inp.by_business else "report_window_over"},
            )

    @activity.defn
    async def file_report(self, inp: FileReportInput) -> list[str]:
        """Records the report and hides the review in one step, so a 202 means it is hidden."""
        async with self.db.tx() as conn:
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
            await history.add_event(
                conn,
                subject_id=contact.id,
                type="reported",
                at=inp.at,
                detail={"report_id": inp.report_id, "grounds": inp.grounds.value},
            )
            report = await reports.get_report(conn, inp.report_id)
            assert report is not None
            key = await _notify.email(
                conn,
                subject_id=report.id,
                event_type="report.opened",
                recipient_kind="business",
                recipient_id=business.id,
                to_address=business.email,
                text=texts.report_opened_for_business(business, review, report),
                at=inp.at,
            )
            hooks = await _notify.webhook(
                conn,
                business=business,
                subject_id=report.id,
                event_type="report.opened",
                data={
                    "report_id": report.id,
                    "contact_id": contact.id,
                    "review_id": review.id,
                    "status": report.status.value,
                    "grounds": report.grounds.value,
                    "review_visibility": Visibility.HIDDEN.value,
                },
                at=inp.at,
            )
        return [key, *hooks]

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


async def _parties(
    conn: aiosqlite.Connection, contact_id: str
) -> tuple[Contact, Review, Business, Reviewer]:
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
