"""Every reason Reviewdesk refuses a request, with the HTTP status the API answers with.

Workflows raise ``ApplicationError(type=<reason>)``; starters turn it back into a ``Refused``.
The values are part of the API: clients switch on them, so never rename one.
"""

from __future__ import annotations

from enum import StrEnum

from temporalio.exceptions import ApplicationError


class Refusal(StrEnum):
    REVIEW_NOT_FOUND = "review_not_found"
    NOT_ELIGIBLE_SOURCE = "not_eligible_source"
    REVIEW_NOT_VISIBLE = "review_not_visible"
    OPEN_CONTACT = "open_contact"
    ALREADY_REPORTED = "already_reported"
    CONTACT_NOT_FOUND = "contact_not_found"
    WINDOW_OPEN = "window_open"
    REPORT_WINDOW_OVER = "report_window_over"
    GROUNDS_MISMATCH = "grounds_mismatch"
    CONTACT_CLOSED = "contact_closed"
    LINK_NOT_FOUND = "link_not_found"
    WINDOW_CLOSED = "window_closed"
    ALREADY_ANSWERED = "already_answered"
    REPORT_NOT_FOUND = "report_not_found"
    ALREADY_DECIDED = "already_decided"
    BUSINESS_NOT_FOUND = "business_not_found"
    WEBHOOK_NOT_FOUND = "webhook_not_found"
    WEBHOOK_REMOVED = "webhook_removed"
    WEBHOOK_URL_NOT_ALLOWED = "webhook_url_not_allowed"
    WEBHOOK_LIMIT_REACHED = "webhook_limit_reached"
    WEBHOOK_EVENT_NOT_FOUND = "webhook_event_not_found"
    WEBHOOK_EVENT_NOT_FAILED = "webhook_event_not_failed"
    ALREADY_CLEARED = "already_cleared"
    ALREADY_FLAGGED = "already_flagged"
    FLAG_NOT_FOUND = "flag_not_found"
    FLAG_CLOSED = "flag_closed"
    REVIEWER_STEP_OPEN = "reviewer_step_open"
    SUB_REASON_MISMATCH = "sub_reason_mismatch"
    NOT_YOUR_REVIEW = "not_your_review"
    NOTICE_NOT_FOUND = "notice_not_found"
    DECISION_NOT_FOUND = "decision_not_found"
    NOT_APPEALABLE = "not_appealable"
    ALREADY_APPEALED = "already_appealed"
    APPEAL_WINDOW_OVER = "appeal_window_over"
    APPEAL_NOT_FOUND = "appeal_not_found"
    SAME_MODERATOR = "same_moderator"
    APPEAL_DECIDED = "appeal_decided"
    LEGAL_GROUND_NOT_APPLICABLE = "legal_ground_not_applicable"
    CONTACT_FIRST = "contact_first"
    DAILY_CAP = "daily_cap"
    CONTACT_COOLDOWN = "contact_cooldown"
    BUSINESS_RESTRICTED = "business_restricted"
    NOTIFIER_SUSPENDED = "notifier_suspended"
    RATE_LIMITED = "rate_limited"
    STANDING_STEP_NOT_FOUND = "standing_step_not_found"
    NOTHING_TO_LIFT = "nothing_to_lift"
    TICKET_NOT_FOUND = "ticket_not_found"
    MEMBER_NOT_FOUND = "member_not_found"
    OWNER_ONLY = "owner_only"
    OWNER_NOT_REMOVABLE = "owner_not_removable"
    HANDLE_TAKEN = "handle_taken"
    POLICY_NOT_FOUND = "policy_not_found"
    POLICY_LIMIT_REACHED = "policy_limit_reached"
    REPLY_ALREADY_PUBLISHED = "reply_already_published"
    PLACEHOLDERS_LEFT = "placeholders_left"
    MARKED_AS_SPAM = "marked_as_spam"
    MACRO_NOT_FOUND = "macro_not_found"
    MACRO_LIMIT_REACHED = "macro_limit_reached"
    REPLY_FIRST = "reply_first"
    IDEMPOTENCY_KEY_REUSED = "idempotency_key_reused"

    @property
    def http_status(self) -> int:
        return _HTTP_STATUS[self]

    @property
    def message(self) -> str:
        return _MESSAGES[self]


_HTTP_STATUS = {
    Refusal.REVIEW_NOT_FOUND: 404,
    Refusal.NOT_ELIGIBLE_SOURCE: 422,
    Refusal.REVIEW_NOT_VISIBLE: 422,
    Refusal.OPEN_CONTACT: 409,
    Refusal.ALREADY_REPORTED: 409,
    Refusal.CONTACT_NOT_FOUND: 404,
    Refusal.WINDOW_OPEN: 409,
    Refusal.REPORT_WINDOW_OVER: 409,
    Refusal.GROUNDS_MISMATCH: 422,
    Refusal.CONTACT_CLOSED: 409,
    Refusal.LINK_NOT_FOUND: 404,
    Refusal.WINDOW_CLOSED: 410,
    Refusal.ALREADY_ANSWERED: 409,
    Refusal.REPORT_NOT_FOUND: 404,
    Refusal.ALREADY_DECIDED: 409,
    Refusal.BUSINESS_NOT_FOUND: 404,
    Refusal.WEBHOOK_NOT_FOUND: 404,
    Refusal.WEBHOOK_REMOVED: 409,
    Refusal.WEBHOOK_URL_NOT_ALLOWED: 422,
    Refusal.WEBHOOK_LIMIT_REACHED: 409,
    Refusal.WEBHOOK_EVENT_NOT_FOUND: 404,
    Refusal.WEBHOOK_EVENT_NOT_FAILED: 409,
    Refusal.ALREADY_CLEARED: 409,
    Refusal.ALREADY_FLAGGED: 409,
    Refusal.FLAG_NOT_FOUND: 404,
    Refusal.FLAG_CLOSED: 409,
    Refusal.REVIEWER_STEP_OPEN: 409,
    Refusal.SUB_REASON_MISMATCH: 422,
    Refusal.NOT_YOUR_REVIEW: 404,
    Refusal.NOTICE_NOT_FOUND: 404,
    Refusal.DECISION_NOT_FOUND: 404,
    Refusal.NOT_APPEALABLE: 409,
    Refusal.ALREADY_APPEALED: 409,
    Refusal.APPEAL_WINDOW_OVER: 409,
    Refusal.APPEAL_NOT_FOUND: 404,
    Refusal.SAME_MODERATOR: 409,
    Refusal.APPEAL_DECIDED: 409,
    Refusal.LEGAL_GROUND_NOT_APPLICABLE: 422,
    Refusal.CONTACT_FIRST: 422,
    Refusal.DAILY_CAP: 429,
    Refusal.CONTACT_COOLDOWN: 409,
    Refusal.BUSINESS_RESTRICTED: 403,
    Refusal.NOTIFIER_SUSPENDED: 403,
    Refusal.RATE_LIMITED: 429,
    Refusal.STANDING_STEP_NOT_FOUND: 404,
    Refusal.NOTHING_TO_LIFT: 409,
    Refusal.TICKET_NOT_FOUND: 404,
    Refusal.MEMBER_NOT_FOUND: 422,
    Refusal.OWNER_ONLY: 403,
    Refusal.OWNER_NOT_REMOVABLE: 409,
    Refusal.HANDLE_TAKEN: 409,
    Refusal.POLICY_NOT_FOUND: 404,
    Refusal.POLICY_LIMIT_REACHED: 409,
    Refusal.REPLY_ALREADY_PUBLISHED: 409,
    Refusal.PLACEHOLDERS_LEFT: 422,
    Refusal.MARKED_AS_SPAM: 409,
    Refusal.MACRO_NOT_FOUND: 404,
    Refusal.MACRO_LIMIT_REACHED: 409,
    Refusal.REPLY_FIRST: 409,
    Refusal.IDEMPOTENCY_KEY_REUSED: 422,
}

_MESSAGES = {
    Refusal.REVIEW_NOT_FOUND: "No such review.",
    Refusal.NOT_ELIGIBLE_SOURCE: (
        "This review was written after an invitation sent by the platform, so its author "
        "cannot be contacted."
    ),
    Refusal.REVIEW_NOT_VISIBLE: "This review is not visible, so its author cannot be contacted.",
    Refusal.OPEN_CONTACT: "The author of this review is already being contacted.",
    Refusal.ALREADY_REPORTED: "This review has already been reported.",
    Refusal.CONTACT_NOT_FOUND: "No such contact.",
    Refusal.WINDOW_OPEN: "The reviewer still has time to reply; a report is possible once it ends.",
    Refusal.REPORT_WINDOW_OVER: "The time to report this review has passed.",
    Refusal.GROUNDS_MISMATCH: (
        "These grounds do not fit: use no_response after silence or a decline, "
        "insufficient_information after a reply."
    ),
    Refusal.CONTACT_CLOSED: "This contact is closed.",
    Refusal.LINK_NOT_FOUND: "This link is not valid.",
    Refusal.WINDOW_CLOSED: "The time to answer this request has passed.",
    Refusal.ALREADY_ANSWERED: "This request has already been answered.",
    Refusal.REPORT_NOT_FOUND: "No such report.",
    Refusal.ALREADY_DECIDED: "This report has already been decided.",
    Refusal.BUSINESS_NOT_FOUND: "No such business.",
    Refusal.WEBHOOK_NOT_FOUND: "No such webhook endpoint.",
    Refusal.WEBHOOK_REMOVED: "This webhook endpoint has been removed.",
    Refusal.WEBHOOK_URL_NOT_ALLOWED: "Only https:// URLs to public internet addresses are allowed.",
    Refusal.WEBHOOK_LIMIT_REACHED: (
        "A business may keep at most 10 webhook endpoints: remove one first."
    ),
    Refusal.WEBHOOK_EVENT_NOT_FOUND: "No such webhook event.",
    Refusal.WEBHOOK_EVENT_NOT_FAILED: (
        "Only a failed event can be sent again; this one is sent or still being sent."
    ),
    Refusal.ALREADY_CLEARED: (
        "A moderator has already cleared this review for this reason; it cannot be flagged "
        "for it again."
    ),
    Refusal.ALREADY_FLAGGED: "This review is already flagged for this reason.",
    Refusal.FLAG_NOT_FOUND: "No such flag.",
    Refusal.FLAG_CLOSED: "This flag is no longer open.",
    Refusal.REVIEWER_STEP_OPEN: (
        "The reviewer still has time to edit or withdraw the review; escalate or drop once "
        "they have edited it or their time has passed."
    ),
    Refusal.SUB_REASON_MISMATCH: (
        "A sub-reason is required for harmful_or_illegal, and only for it."
    ),
    Refusal.NOT_YOUR_REVIEW: "No such review.",
    Refusal.NOTICE_NOT_FOUND: "No such notice.",
    Refusal.DECISION_NOT_FOUND: "No such decision.",
    Refusal.NOT_APPEALABLE: (
        "This decision cannot be appealed by you: the reviewer may appeal a removal, the "
        "business or the notifier a rejection, and an appeal's own decision is final."
    ),
    Refusal.ALREADY_APPEALED: "This decision has already been appealed; it can be appealed once.",
    Refusal.APPEAL_WINDOW_OVER: "The time to appeal this decision has passed.",
    Refusal.APPEAL_NOT_FOUND: "No such appeal.",
    Refusal.SAME_MODERATOR: (
        "An appeal is decided by a moderator other than the one who made the decision."
    ),
    Refusal.APPEAL_DECIDED: "This appeal has already been decided.",
    Refusal.LEGAL_GROUND_NOT_APPLICABLE: (
        "A legal ground is given only when upholding a report of harmful or illegal content."
    ),
    Refusal.CONTACT_FIRST: (
        "Ask to contact the reviewer first; a review is reported as not genuine from its contact."
    ),
    Refusal.DAILY_CAP: (
        "This business has reached its limit of new requests of this kind for the last 24 "
        "hours; try again after Retry-After seconds."
    ),
    Refusal.CONTACT_COOLDOWN: (
        "This review's author was contacted recently; a new contact is possible once the "
        "cooldown after the last one (30 days by default) has passed."
    ),
    Refusal.BUSINESS_RESTRICTED: (
        "This business is restricted after repeated misuse of reports: it cannot contact "
        "reviewers or flag reviews until the restriction ends."
    ),
    Refusal.NOTIFIER_SUSPENDED: (
        "Notices from this address are suspended for a while after repeated unfounded notices."
    ),
    Refusal.RATE_LIMITED: "Too many requests; try again after Retry-After seconds.",
    Refusal.STANDING_STEP_NOT_FOUND: "No such step.",
    Refusal.NOTHING_TO_LIFT: "Nothing is in force to lift.",
    Refusal.TICKET_NOT_FOUND: "No such ticket.",
    Refusal.MEMBER_NOT_FOUND: "No such member of your team.",
    Refusal.OWNER_ONLY: "Only the business's owner may do this.",
    Refusal.OWNER_NOT_REMOVABLE: (
        "The owner cannot be removed from the team: the business signs in with their key."
    ),
    Refusal.HANDLE_TAKEN: "Someone in your team already goes by this name; choose another.",
    Refusal.POLICY_NOT_FOUND: "No such response policy.",
    Refusal.POLICY_LIMIT_REACHED: (
        "A business keeps at most 20 response policies: remove one before adding another."
    ),
    Refusal.REPLY_ALREADY_PUBLISHED: (
        "This review already has its public reply; a reply is published once and can never be "
        "edited or replaced."
    ),
    Refusal.PLACEHOLDERS_LEFT: "The reply still holds placeholders to fill in before it goes.",
    Refusal.MARKED_AS_SPAM: (
        "This review was marked as spam or irrelevant: it gets no public reply."
    ),
    Refusal.MACRO_NOT_FOUND: "No such macro.",
    Refusal.MACRO_LIMIT_REACHED: (
        "A business keeps at most 100 macros: remove one before adding another."
    ),
    Refusal.REPLY_FIRST: (
        "Publish a public reply first ('Send as solved' does both), or mark the review as spam "
        "or irrelevant."
    ),
    Refusal.IDEMPOTENCY_KEY_REUSED: (
        "This Idempotency-Key was used for a different reply; send a new key for a new text."
    ),
}


class Refused(Exception):
    """A request refused for a reason the caller can act on; nothing was changed."""

    def __init__(
        self, reason: Refusal, message: str | None = None, *, retry_after: int | None = None
    ) -> None:
        super().__init__(message or reason.message)
        self.reason = reason
        self.message = message or reason.message
        # Seconds until the request may succeed (a cap or a rate limit): the Retry-After header.
        self.retry_after = retry_after


def refusal_error(reason: Refusal) -> ApplicationError:
    """How a workflow or activity refuses: non-retryable, typed by the reason."""
    return ApplicationError(reason.message, type=reason.value, non_retryable=True)


def refusal_in(error: BaseException | None) -> Refusal | None:
    """The refusal behind an activity, update or workflow failure, if it was one."""
    while error is not None:
        if isinstance(error, ApplicationError) and error.type in _BY_VALUE:
            return _BY_VALUE[error.type]
        error = error.__cause__ or getattr(error, "cause", None)
    return None


_BY_VALUE = {r.value: r for r in Refusal}
