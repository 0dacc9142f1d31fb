"""Statements of reasons (DESIGN rule 10, DSA art. 17 and 24(5)): one for every hide and every
removal, emailed to the reviewer and kept in the shape of the DSA Transparency Database.

Called inside the step that restricts the review, in its transaction: the report's opening
(hidden while handled), the moderator's uphold (removed), and an appeal that reverses a
rejection (removed). The record is built from ids, enums and fixed sentences: no name, no
address and nothing a person wrote, except the law a moderator names for illegal content.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from activities import _notify
from delivery import statement_texts
from delivery.links import Links, Purpose
from delivery.texts import Text
from domain.enums import FlagReason, Grounds, ReportSource, Restriction, SubReason
from settings import Settings
from store import accounts, notices, statements
from store.accounts import hash_secret
from store.connection import Connection
from store.records import Appeal, Business, DecisionRecord, Report, Review, Reviewer, Statement

# Statement ids (the DSA puid, unique for ever) are derived from what the statement is about:
# a retried step, or two attempts of it at once, make the same statement, never a second one.
_PUID_NAMESPACE = uuid.UUID("6f1c2a34-58d1-4c7e-9a2b-3d5e7f901b46")

# The Transparency Database's categories (its API documentation, "category"), per reason as
# DESIGN rule 8 lists them. DESIGN names STATEMENT_CATEGORY_SCOPE_OF_PLATFORM_SERVICE for
# advertising and wrong business: the database's current list no longer has it, and its
# successor for a breach of the platform's own terms is STATEMENT_CATEGORY_OTHER_VIOLATION_TC.
_CATEGORY = {
    FlagReason.NOT_GENUINE: "STATEMENT_CATEGORY_CONSUMER_INFORMATION",
    FlagReason.HARMFUL_OR_ILLEGAL: "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH",
    FlagReason.PERSONAL_INFORMATION: "STATEMENT_CATEGORY_DATA_PROTECTION_AND_PRIVACY_VIOLATIONS",
    FlagReason.ADVERTISING_OR_SPAM: "STATEMENT_CATEGORY_OTHER_VIOLATION_TC",
    FlagReason.WRONG_BUSINESS: "STATEMENT_CATEGORY_OTHER_VIOLATION_TC",
}
_GUIDELINE = {
    FlagReason.NOT_GENUINE: "a review must be based on a genuine buying or service experience",
    FlagReason.HARMFUL_OR_ILLEGAL: "a review must not contain harmful or illegal content",
    FlagReason.PERSONAL_INFORMATION: "a review must not contain anyone's personal information",
    FlagReason.ADVERTISING_OR_SPAM: "a review must not advertise, promote or be spam",
    FlagReason.WRONG_BUSINESS: "a review must be about the business it is posted on",
}
_REASON_WORDS = {
    FlagReason.NOT_GENUINE: "not based on a genuine experience",
    FlagReason.HARMFUL_OR_ILLEGAL: "harmful or illegal",
    FlagReason.PERSONAL_INFORMATION: "containing personal information",
    FlagReason.ADVERTISING_OR_SPAM: "advertising, promotion or spam",
    FlagReason.WRONG_BUSINESS: "about a different business",
}
_SUB_REASON_WORDS = {
    SubReason.HATE_SPEECH: "hate speech",
    SubReason.THREATS_OR_VIOLENCE: "threats or violence",
    SubReason.OBSCENITY: "obscenity",
    SubReason.DEFAMATION: "defamation",
    SubReason.TERRORISM: "terrorist content",
    SubReason.OTHER_ILLEGAL: "illegal content",
}
_GROUNDS_WORDS = {
    Grounds.NO_RESPONSE: "after its author did not answer the business's request for details",
    Grounds.INSUFFICIENT_INFORMATION: (
        "after its author's answer to the business's request did not let it recognise the "
        "experience"
    ),
}
# The decision applies to the whole of the EU and the EEA: the countries the database accepts.
EEA = [
    "AT",
    "BE",
    "BG",
    "CY",
    "CZ",
    "DE",
    "DK",
    "EE",
    "ES",
    "FI",
    "FR",
    "GR",
    "HR",
    "HU",
    "IE",
    "IS",
    "IT",
    "LI",
    "LT",
    "LU",
    "LV",
    "MT",
    "NL",
    "NO",
    "PL",
    "PT",
    "RO",
    "SE",
    "SI",
    "SK",
]
_VISIBILITY = {
    Restriction.HIDDEN: "DECISION_VISIBILITY_CONTENT_DISABLED",
    Restriction.REMOVED: "DECISION_VISIBILITY_CONTENT_REMOVED",
}


def statement_id(
    report: Report, restriction: Restriction, decision_id: str | None, appeal_id: str | None
) -> str:
    key = f"{report.id}:{restriction.value}:{decision_id or ''}:{appeal_id or ''}"
    return str(uuid.uuid5(_PUID_NAMESPACE, key))


def _day(moment: datetime) -> str:
    """The database's dates: YYYY-MM-DD."""
    return moment.strftime("%Y-%m-%d")


def _what(reason: FlagReason, sub_reason: SubReason | None) -> str:
    if reason is FlagReason.HARMFUL_OR_ILLEGAL and sub_reason is not None:
        return f"{_REASON_WORDS[reason]} ({_SUB_REASON_WORDS[sub_reason]})"
    return _REASON_WORDS[reason]


def _source(report: Report, notified: bool) -> str:
    if report.source is ReportSource.CONTACT:
        grounds = _GROUNDS_WORDS[report.grounds] if report.grounds else ""
        return f"by the business it is about, {grounds}".rstrip(", ")
    if report.source is ReportSource.FLAG:
        by = "by the business it is about"
        return f"{by}, and in a notice from the public" if notified else by
    return "in a notice from the public (Digital Services Act, article 16)"


def dsa_body(
    settings: Settings,
    *,
    puid: str,
    report: Report,
    review: Review,
    restriction: Restriction,
    at: datetime,
    notified: bool,
    decision: DecisionRecord | None,
    appeal: Appeal | None,
) -> dict[str, Any]:
    """The statement as the Transparency Database's API takes it (see
    domain/dsa_statement.schema.json)."""
    reason, sub_reason = report.reason, report.sub_reason
    what = _what(reason, sub_reason)
    facts = f"A review on a business's page was reported {_source(report, notified)} as {what}."
    if restriction is Restriction.HIDDEN:
        facts += " Under the platform's rules it is hidden while a moderator looks into the report."
        explanation = (
            f"The review was reported as {what}; a review reported for this reason is hidden "
            "until a moderator has decided whether it breaks the guideline."
        )
    elif appeal is not None:
        facts += (
            " A moderator rejected the report; on appeal, a second moderator reversed that "
            "decision and removed the review."
        )
        explanation = f"On appeal, a moderator found that the review is {what}."
    else:
        facts += " A moderator looked into the report and removed the review."
        explanation = f"A moderator found that the review is {what}."
    category = _CATEGORY[reason]
    if sub_reason is SubReason.THREATS_OR_VIOLENCE:
        category = "STATEMENT_CATEGORY_VIOLENCE"
    body: dict[str, Any] = {
        "decision_visibility": [_VISIBILITY[restriction]],
        # A hide lasts until the decision, due by the report's deadline; a removal has no end.
        "end_date_visibility_restriction": (
            _day(max(report.sla_deadline, at)) if restriction is Restriction.HIDDEN else None
        ),
        "content_type": ["CONTENT_TYPE_TEXT"],
        "category": category,
        "territorial_scope": EEA,
        "content_date": _day(review.created_at),
        "application_date": _day(at),
        "decision_facts": facts,
        "source_type": "SOURCE_ARTICLE_16" if notified else "SOURCE_VOLUNTARY",
        "automated_detection": "No",
        "automated_decision": "AUTOMATED_DECISION_NOT_AUTOMATED",
        "url": f"{settings.public_base_url}/businesses/{review.business_id}#review-{review.id}",
        "puid": puid,
    }
    legal_ground = decision.legal_ground if decision is not None else None
    if (
        restriction is Restriction.REMOVED
        and reason is FlagReason.HARMFUL_OR_ILLEGAL
        and legal_ground
    ):
        body["decision_ground"] = "DECISION_GROUND_ILLEGAL_CONTENT"
        body["illegal_content_legal_ground"] = legal_ground[:500]
        body["illegal_content_explanation"] = (
            f"{explanation.rstrip('.')}, which the law named makes illegal."
        )
    else:
        body["decision_ground"] = "DECISION_GROUND_INCOMPATIBLE_CONTENT"
        body["incompatible_content_ground"] = f"Reviewdesk content guidelines: {_GUIDELINE[reason]}"
        body["incompatible_content_explanation"] = explanation
    return body


async def restrict(
    conn: Connection,
    *,
    settings: Settings,
    report: Report,
    review: Review,
    restriction: Restriction,
    at: datetime,
    decision: DecisionRecord | None = None,
    appeal: Appeal | None = None,
) -> list[str]:
    """Records the statement of this restriction and the reviewer's email with it; the outbox
    keys, for the step to hand over.

    Idempotent: the statement's id is derived from the report, the restriction and the decision
    or appeal, so a retried step finds its statement and its email. A removal by a moderator's
    decision may be appealed until ``at`` + ``appeal_window`` (the email carries the appeal
    link, ``Purpose.APPEAL``, whose subject is the statement); one after an appeal is final.
    """
    business = await accounts.get_business(conn, review.business_id)
    reviewer = await accounts.get_reviewer(conn, review.reviewer_id)
    if business is None or reviewer is None:
        raise RuntimeError(f"review {review.id} refers to a missing record")
    decision_id = decision.id if decision is not None else None
    appeal_id = appeal.id if appeal is not None else None
    puid = statement_id(report, restriction, decision_id, appeal_id)
    appealable = restriction is Restriction.REMOVED and appeal is None
    appeal_until = at + settings.appeal_window if appealable else None
    body = dsa_body(
        settings,
        puid=puid,
        report=report,
        review=review,
        restriction=restriction,
        at=at,
        notified=await notices.has_notices(conn, report.id),
        decision=decision,
        appeal=appeal,
    )
    token_hash = hash_secret(Links.of(settings).token(Purpose.APPEAL, puid)) if appealable else None
    await statements.add_statement(
        conn,
        Statement(
            id=puid,
            review_id=review.id,
            report_id=report.id,
            decision_id=decision_id,
            appeal_id=appeal_id,
            restriction=restriction,
            created_at=at,
            appeal_until=appeal_until,
            body=body,
        ),
        token_hash=token_hash,
    )
    return [
        await _email_reviewer(
            conn, business, reviewer, review, report, body, restriction, at, appeal_until, appeal
        )
    ]


async def _email_reviewer(
    conn: Connection,
    business: Business,
    reviewer: Reviewer,
    review: Review,
    report: Report,
    body: dict[str, Any],
    restriction: Restriction,
    at: datetime,
    appeal_until: datetime | None,
    appeal: Appeal | None,
) -> str:
    """The statement to the reviewer, under the event its step has always told them with: a
    hide is the report's opening (``report.opened``, about the report, as before statements),
    a removal the uphold or the appeal granted (about the statement, whose link it carries)."""
    link: str | None = None
    text: Text
    if restriction is Restriction.HIDDEN:
        subject_id, event_type = report.id, "report.opened"
        text = statement_texts.hidden(
            business, reviewer, review, body, since=at, decide_by=max(report.sla_deadline, at)
        )
    elif appeal is not None:
        subject_id, event_type = body["puid"], "appeal.granted"
        text = statement_texts.removed_on_appeal(business, reviewer, review, body, since=at)
    else:
        assert appeal_until is not None
        subject_id, event_type, link = body["puid"], "report.upheld", Purpose.APPEAL.value
        text = statement_texts.removed(
            business, reviewer, review, body, since=at, appeal_until=appeal_until
        )
    return await _notify.email(
        conn,
        subject_id=subject_id,
        event_type=event_type,
        recipient_kind="reviewer",
        recipient_id=reviewer.id,
        to_address=reviewer.email,
        text=text,
        at=at,
        link_purpose=link,
    )


def appeal_deadline(settings: Settings, decided_at: datetime) -> datetime:
    """Until when a moderator's decision may be appealed (DESIGN rule 11)."""
    return decided_at + settings.appeal_window
