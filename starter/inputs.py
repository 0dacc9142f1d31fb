"""What callers send, checked before anything changes: bad input is refused with a clear error."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from domain.enums import Decision, Grounds, RequestedItem, WebhookEvent

MAX_TEXT = 2000
EMPTY_REPLY = (
    "Fill in at least one field to send a reply (order reference, contact details or a message), "
    "or decline."
)


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def _no_control_characters(value: str | None) -> str | None:
    if value is not None and any(ord(c) < 32 and c not in "\n\r\t" for c in value):
        raise ValueError("must not contain control characters")
    return value


def one_line(value: str | None) -> str | None:
    """A name or a title: it may become an email's subject, which is one line, so no line break,
    tab or other control character."""
    # C0 and C1 controls (a tab, a line break, \x85), and the Unicode line and paragraph
    # separators: every break str.splitlines() knows, as delivery/mail.py refuses them.
    if value is not None and any(
        ord(c) < 32 or 0x7F <= ord(c) <= 0x9F or c in "\u2028\u2029" for c in value
    ):
        raise ValueError("must be one line, without control characters")
    return value


class ContactRequestBody(_Input):
    message: str = Field(min_length=1, max_length=MAX_TEXT)
    requested: list[RequestedItem] = Field(default_factory=list, max_length=len(RequestedItem))

    _clean = field_validator("message")(_no_control_characters)

    @field_validator("requested")
    @classmethod
    def _unique(cls, value: list[RequestedItem]) -> list[RequestedItem]:
        return list(dict.fromkeys(value))


class ReplyBody(_Input):
    """What a reviewer chooses to share: any of the fields, but at least one (DESIGN rule 4).

    An empty reply would tell the business nothing while using up the link; declining is the
    way to say no.
    """

    order_reference: str | None = Field(default=None, max_length=200)
    contact_details: str | None = Field(default=None, max_length=500)
    message: str | None = Field(default=None, max_length=MAX_TEXT)

    _clean = field_validator("order_reference", "contact_details", "message")(
        _no_control_characters
    )

    @field_validator("order_reference", "contact_details", "message")
    @classmethod
    def _empty_is_none(cls, value: str | None) -> str | None:
        return value or None

    @model_validator(mode="after")
    def _something_shared(self) -> ReplyBody:
        if not (self.order_reference or self.contact_details or self.message):
            raise PydanticCustomError("empty_reply", EMPTY_REPLY)
        return self


class ReportBody(_Input):
    grounds: Grounds


_CITATION = re.compile(r"[\w §().,;:'/\-]+")
_DIGIT_RUN = re.compile(r"\d[\d ]{6,}")


class DecisionBody(_Input):
    decision: Decision
    note: str = Field(default="", max_length=MAX_TEXT)
    legal_ground: str | None = Field(default=None, max_length=200)
    """The law the review breaks, for a statement of reasons on illegal content (DESIGN rule
    10): only with ``uphold``, and only for a harmful or illegal report (the service checks
    the report's reason: ``legal_ground_not_applicable``)."""

    _clean = field_validator("note", "legal_ground")(_no_control_characters)

    @field_validator("legal_ground")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        # The decide page's field is left empty for content that is harmful but not illegal.
        return value or None

    @field_validator("legal_ground")
    @classmethod
    def _a_citation_only(cls, value: str | None) -> str | None:
        # It goes into the public statement of reasons, which holds no personal data: a law's
        # name and article, never an address, a link or a phone number typed by mistake.
        if value and (
            not _CITATION.fullmatch(value)
            or _DIGIT_RUN.search(value)
            or "://" in value
            or "www." in value.lower()
        ):
            raise PydanticCustomError(
                "legal_ground_not_a_citation",
                "legal_ground names a law and its article (letters, numbers, § and ordinary "
                "punctuation), never an address, a link or a phone number",
            )
        return value

    @model_validator(mode="after")
    def _only_when_upheld(self) -> DecisionBody:
        if self.legal_ground and self.decision is not Decision.UPHOLD:
            raise PydanticCustomError(
                "legal_ground_not_applicable",
                "legal_ground is given only with decision uphold: a rejection breaks no law",
            )
        return self


class WebhookBody(_Input):
    """An endpoint for a business's events: its URL, and the events it takes (none: all).

    Whether the URL may be requested (https, public addresses) is checked when it is
    registered, with a lookup of its host: ``delivery.egress``.
    """

    url: str = Field(min_length=1, max_length=2000)
    event_types: list[WebhookEvent] = Field(default_factory=list, max_length=len(WebhookEvent))

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parsed = urlsplit(value)
        _ = parsed.port  # raises ValueError for a port that is not a number in range
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ValueError("must be an https:// URL")
        if any(c.isspace() or ord(c) < 32 for c in value):
            raise ValueError("must not contain spaces or control characters")
        return value

    @field_validator("event_types")
    @classmethod
    def _unique_events(cls, value: list[WebhookEvent]) -> list[WebhookEvent]:
        return list(dict.fromkeys(value))
