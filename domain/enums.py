"""The states and choices a user can see, as stable string values."""

from enum import StrEnum


class ReviewSource(StrEnum):
    ORGANIC = "organic"
    EXTERNAL_INVITATION = "external_invitation"
    PLATFORM_INVITATION = "platform_invitation"


class Visibility(StrEnum):
    VISIBLE = "visible"
    HIDDEN = "hidden"
    REMOVED = "removed"


class ContactStatus(StrEnum):
    AWAITING_REPLY = "awaiting_reply"
    REPLIED = "replied"
    DECLINED = "declined"
    NO_RESPONSE = "no_response"
    REPORTED = "reported"
    CLOSED = "closed"

    @property
    def window_closed(self) -> bool:
        return self is not ContactStatus.AWAITING_REPLY

    @property
    def is_open(self) -> bool:
        """Open: its workflow still waits for the reviewer or for the business's next step."""
        return self not in (ContactStatus.REPORTED, ContactStatus.CLOSED)


class ReportStatus(StrEnum):
    PENDING = "pending"
    UPHELD = "upheld"
    REJECTED = "rejected"


class RequestedItem(StrEnum):
    ORDER_REFERENCE = "order_reference"
    CONTACT_DETAILS = "contact_details"
    EXPERIENCE_DETAILS = "experience_details"


class Answer(StrEnum):
    REPLY = "reply"
    DECLINE = "decline"


class Grounds(StrEnum):
    NO_RESPONSE = "no_response"
    INSUFFICIENT_INFORMATION = "insufficient_information"


class Decision(StrEnum):
    UPHOLD = "uphold"
    REJECT = "reject"


class FlagReason(StrEnum):
    """Why a review is flagged (DESIGN rule 8); ``not_genuine`` goes through a contact first."""

    NOT_GENUINE = "not_genuine"
    HARMFUL_OR_ILLEGAL = "harmful_or_illegal"
    PERSONAL_INFORMATION = "personal_information"
    ADVERTISING_OR_SPAM = "advertising_or_spam"
    WRONG_BUSINESS = "wrong_business"

    @property
    def reviewer_first(self) -> bool:
        """The reviewer is asked to edit or withdraw before a moderator looks at it."""
        return self in _REVIEWER_FIRST

    @property
    def hides(self) -> bool:
        """Hidden while handled; every other reason leaves the review visible."""
        return self is FlagReason.NOT_GENUINE

    @property
    def high_priority(self) -> bool:
        return self is FlagReason.HARMFUL_OR_ILLEGAL


_REVIEWER_FIRST = frozenset(
    {
        FlagReason.PERSONAL_INFORMATION,
        FlagReason.ADVERTISING_OR_SPAM,
        FlagReason.WRONG_BUSINESS,
    }
)


class SubReason(StrEnum):
    """What kind of harmful or illegal content (DESIGN rule 8); only with that reason."""

    HATE_SPEECH = "hate_speech"
    THREATS_OR_VIOLENCE = "threats_or_violence"
    OBSCENITY = "obscenity"
    DEFAMATION = "defamation"
    TERRORISM = "terrorism"
    OTHER_ILLEGAL = "other_illegal"


class ReportSource(StrEnum):
    """How a report reached moderation: after a contact, a business's flag, or a notice."""

    CONTACT = "contact"
    FLAG = "flag"
    NOTICE = "notice"


class Priority(StrEnum):
    NORMAL = "normal"
    HIGH = "high"


class FlagStatus(StrEnum):
    AWAITING_REVIEWER = "awaiting_reviewer"  # the reviewer may edit or withdraw (3 days)
    AWAITING_BUSINESS = "awaiting_business"  # edited, or the 3 days passed: escalate or drop
    ESCALATED = "escalated"  # a report for moderators (its status says the rest)
    DROPPED = "dropped"  # by the business, or lapsed when it did neither in time
    WITHDRAWN = "withdrawn"  # the reviewer withdrew the review

    @property
    def is_open(self) -> bool:
        return self in (FlagStatus.AWAITING_REVIEWER, FlagStatus.AWAITING_BUSINESS)


class ReviewerAction(StrEnum):
    EDIT = "edit"
    WITHDRAW = "withdraw"


class FlagAction(StrEnum):
    ESCALATE = "escalate"
    DROP = "drop"


class Appellant(StrEnum):
    REVIEWER = "reviewer"  # against a removal
    BUSINESS = "business"  # against a rejection of its flag or report
    NOTIFIER = "notifier"  # against a rejection of their notice


class AppealStatus(StrEnum):
    PENDING = "pending"
    GRANTED = "granted"
    DENIED = "denied"


class AppealDecision(StrEnum):
    GRANT = "grant"
    DENY = "deny"


class Restriction(StrEnum):
    """What a statement of reasons tells the reviewer about (DESIGN rule 10)."""

    HIDDEN = "hidden"  # while a report is handled
    REMOVED = "removed"  # upheld, or a rejection reversed on appeal


class WebhookEvent(StrEnum):
    """What a webhook endpoint may subscribe to; an endpoint with none listed gets them all."""

    CONTACT_REPLIED = "contact.replied"
    CONTACT_DECLINED = "contact.declined"
    CONTACT_NO_RESPONSE = "contact.no_response"
    REPORT_OPENED = "report.opened"
    REPORT_UPHELD = "report.upheld"
    REPORT_REJECTED = "report.rejected"
    FLAG_OPENED = "flag.opened"
    FLAG_REVIEWER_EDITED = "flag.reviewer_edited"
    FLAG_REVIEWER_WITHDREW = "flag.reviewer_withdrew"
    FLAG_AWAITING_BUSINESS = "flag.awaiting_business"
    FLAG_ESCALATED = "flag.escalated"
    FLAG_DROPPED = "flag.dropped"
    APPEAL_OPENED = "appeal.opened"
    APPEAL_GRANTED = "appeal.granted"
    APPEAL_DENIED = "appeal.denied"
    STANDING_STEP_TAKEN = "standing.step_taken"
    STANDING_STEP_ENDED = "standing.step_ended"
    REVIEW_CREATED = "review.created"
    TICKET_ASSIGNED = "ticket.assigned"
    TICKET_SLA_BREACHED = "ticket.sla_breached"
    REPLY_PUBLISHED = "reply.published"


class StandingSubject(StrEnum):
    """Who the misuse guard (DESIGN rule 12) watches: a business's flags, a notifier's notices."""

    BUSINESS = "business"
    NOTIFIER = "notifier"


class StandingStepKind(StrEnum):
    """The ladder's steps. A business: warning, restriction, consumer warning; a notifier:
    warning, suspension."""

    WARNING = "warning"
    RESTRICTION = "restriction"
    CONSUMER_WARNING = "consumer_warning"
    SUSPENSION = "suspension"


class Finding(StrEnum):
    """What a step was taken for (DESIGN rule 12)."""

    REJECTED_FLAGS = "rejected_flags"  # half or more of its decided flags rejected
    NEGATIVE_ONLY = "negative_only"  # flags almost only on 1-2 star reviews
    UNFOUNDED_NOTICES = "unfounded_notices"  # a notifier's notices mostly rejected


class StepEnd(StrEnum):
    EXPIRED = "expired"
    LIFTED = "lifted"


class GuardedAction(StrEnum):
    """What a step of the ladder in force may block (``domain.ladder.BLOCKS``)."""

    CONTACT = "contact"  # a business asks to contact a reviewer
    FLAG = "flag"  # a business flags a review
    NOTICE = "notice"  # a notifier sends a notice


REVIEWER_CONTACTED_LABEL = "Reviewer contacted"
REPORT_REASON = "This reviewer has not had a genuine buying or service experience."


class MemberRole(StrEnum):
    """Who is who in a business's team (DESIGN rule 17): one owner, any number of agents."""

    OWNER = "owner"
    AGENT = "agent"


class TicketStatus(StrEnum):
    """A ticket's status (DESIGN rule 15): new until someone acts on it, pending while a private
    dialogue (a Find Reviewer contact) runs, solved once answered."""

    NEW = "new"
    OPEN = "open"
    PENDING = "pending"
    SOLVED = "solved"


class TicketView(StrEnum):
    """The inbox's views (DESIGN rule 16), in the order the inbox shows them."""

    UNANSWERED_NEGATIVE = "unanswered_negative"
    NEW = "new"
    ASSIGNED_TO_ME = "assigned_to_me"
    ALL = "all"


class TicketEventKind(StrEnum):
    """What a ticket's history records."""

    CREATED = "created"
    ASSIGNED = "assigned"
    UNASSIGNED = "unassigned"
    NOTED = "noted"
    CONTACT_OPENED = "contact_opened"
    CONTACT_ENDED = "contact_ended"
    REMINDED = "reminded"
    SLA_BREACHED = "sla_breached"
    REPLY_PUBLISHED = "reply_published"
    SOLVED = "solved"
    MARKED_SPAM = "marked_spam"
