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


class WebhookEvent(StrEnum):
    """What a webhook endpoint may subscribe to; an endpoint with none listed gets them all."""

    CONTACT_REPLIED = "contact.replied"
    CONTACT_DECLINED = "contact.declined"
    CONTACT_NO_RESPONSE = "contact.no_response"
    REPORT_OPENED = "report.opened"
    REPORT_UPHELD = "report.upheld"
    REPORT_REJECTED = "report.rejected"


REVIEWER_CONTACTED_LABEL = "Reviewer contacted"
REPORT_REASON = "This reviewer has not had a genuine buying or service experience."
