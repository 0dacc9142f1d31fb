"""A business's insight (DESIGN rule 21): per period, reviews by rating over time, response
rate, median time to first public reply, response-target breaches, contacts and flags by
outcome. For the business's own team only: each figure counts that business's rows alone.

The period is the transparency report's (``starter.transparency.Period``): UTC days, both
included, 30 by default, at most 366, none after today. Each figure is counted by the time of the
record it is about:

- **reviews** by the day they came in, per rating 1-5, in buckets of a day for a period of at
  most ``DAILY_UP_TO`` days, else of a week from Monday to Sunday (a longer period's days would
  be bars too thin to read; a month would hide a bad week); the first and last weeks are cut at
  the period's ends, so each bucket says its own first and last day;
- **responses**: of the period's reviews, those with a public reply (whenever it came), the rate
  (replied / reviews) and the median hours from the review to its reply;
- **breaches**: of the period's reviews' tickets, those whose response target passed
  unanswered, and of those, the ones replied to afterwards;
- **contacts** and **flags** opened in the period, by their status now (an escalated flag also by
  its report's: pending, upheld or rejected, since a flag stays escalated once decided);
  **spam marks**: tickets marked spam or irrelevant in the period (each also flags its review,
  counted in the flags).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, Field

from domain.enums import ContactStatus, FlagStatus, ReportStatus
from settings import Settings
from starter.transparency import Period
from store import Store
from store import insights as figures
from store.records import now

DAILY_UP_TO = 62
RATINGS = (1, 2, 3, 4, 5)


class Bucket(StrEnum):
    DAY = "day"
    WEEK = "week"


class RatingsIn(BaseModel):
    """The reviews that came in one bucket of the period."""

    start: date = Field(description="The bucket's first day (UTC)")
    end: date = Field(description="The bucket's last day (UTC), included")
    ratings: dict[int, int] = Field(description="Reviews by rating, 1 to 5 stars")
    total: int


class Reviews(BaseModel):
    total: int = Field(description="Reviews that came in during the period")
    by_rating: dict[int, int] = Field(description="Reviews by rating, 1 to 5 stars")
    bucket: Bucket = Field(
        description=f"'day' for a period of up to {DAILY_UP_TO} days, else 'week' (Monday to"
        " Sunday, the first and last cut at the period's ends)"
    )
    over_time: list[RatingsIn] = Field(description="Every bucket of the period, in order")


class Responses(BaseModel):
    reviews: int = Field(description="Reviews that came in during the period")
    replied: int = Field(description="Of those, the ones with a public reply (whenever it came)")
    rate: float | None = Field(description="replied / reviews, to 4 places; null with no review")
    median_hours_to_reply: float | None = Field(
        description="Median hours from a review to its public reply; null when none was replied"
    )


class Breaches(BaseModel):
    tickets: int = Field(description="Tickets of the period's reviews")
    breached: int = Field(description="Of those, tickets whose response target passed unanswered")
    replied_after: int = Field(description="Of the breached, the ones replied to afterwards")


class Contacts(BaseModel):
    total: int = Field(description="Find Reviewer contacts opened in the period")
    by_status: dict[ContactStatus, int] = Field(description="Those contacts by their status now")


class Flags(BaseModel):
    total: int = Field(description="Flags sent in the period")
    by_status: dict[FlagStatus, int] = Field(description="Those flags by their status now")
    escalated_by_decision: dict[ReportStatus, int] = Field(
        description="The escalated ones by their report's status now: pending (with the"
        " moderators), upheld (the review removed) or rejected (the review kept)"
    )
    spam_marks: int = Field(
        description="Tickets marked spam or irrelevant in the period (each also flags its review)"
    )


class BusinessInsights(BaseModel):
    """A business's own figures for a period (DESIGN rule 21)."""

    period: Period
    computed_at: datetime = Field(description="When these figures were counted")
    reviews: Reviews
    responses: Responses
    breaches: Breaches
    contacts: Contacts
    flags: Flags


def buckets(period: Period) -> tuple[Bucket, list[tuple[date, date]]]:
    """The period's buckets, each its first and last day."""
    if period.days <= DAILY_UP_TO:
        days = [period.start + timedelta(days=i) for i in range(period.days)]
        return Bucket.DAY, [(d, d) for d in days]
    weeks: list[tuple[date, date]] = []
    first = period.start
    while first <= period.end:
        sunday = first + timedelta(days=6 - first.weekday())
        weeks.append((first, min(sunday, period.end)))
        first = sunday + timedelta(days=1)
    return Bucket.WEEK, weeks


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


class Insights:
    def __init__(self, db: Store, settings: Settings) -> None:
        self.db = db
        self.settings = settings

    def period(self, start: date | None, end: date | None) -> Period:
        """Raises ``starter.transparency.PeriodInvalid`` with what is wrong."""
        return Period.of(start, end, today=now().date())

    async def of(self, business_id: str, period: Period) -> BusinessInsights:
        """Every figure from one snapshot of the store, so they agree with each other."""
        start, end = period.bounds
        async with self.db.read() as conn:
            by_day = await figures.reviews_by_day(conn, business_id, start, end)
            answered = await figures.answered(conn, business_id, start, end)
            median = await figures.median_hours_to_reply(
                conn, self.db.dialect, business_id, start, end, count=answered.replied
            )
            contacts = await figures.contacts_by_status(conn, business_id, start, end)
            flags = await figures.flags_by_status(conn, business_id, start, end)
            decided = await figures.escalated_by_decision(conn, business_id, start, end)
            spam = await figures.spam_marks(conn, business_id, start, end)

        bucket, spans = buckets(period)
        counts = [{r: 0 for r in RATINGS} for _ in spans]
        index = {first: i for i, (first, _) in enumerate(spans)}
        for (day, rating), n in by_day.items():
            # A week's bucket is found by its Monday, or by the period's first day.
            monday = max(day - timedelta(days=day.weekday()), period.start)
            counts[index[day if bucket is Bucket.DAY else monday]][rating] += n
        over_time = [
            RatingsIn(start=first, end=last, ratings=c, total=sum(c.values()))
            for (first, last), c in zip(spans, counts, strict=True)
        ]
        by_rating = {r: sum(n for (_, rating), n in by_day.items() if rating == r) for r in RATINGS}
        return BusinessInsights(
            period=period,
            computed_at=now(),
            reviews=Reviews(
                total=sum(by_rating.values()),
                by_rating=by_rating,
                bucket=bucket,
                over_time=over_time,
            ),
            responses=Responses(
                reviews=answered.reviews,
                replied=answered.replied,
                rate=_rate(answered.replied, answered.reviews),
                median_hours_to_reply=None if median is None else round(median, 2),
            ),
            breaches=Breaches(
                tickets=answered.tickets,
                breached=answered.breached,
                replied_after=answered.breached_replied,
            ),
            contacts=Contacts(
                total=sum(contacts.values()),
                by_status={s: contacts.get(s.value, 0) for s in ContactStatus},
            ),
            flags=Flags(
                total=sum(flags.values()),
                by_status={s: flags.get(s.value, 0) for s in FlagStatus},
                escalated_by_decision={d: decided.get(d.value, 0) for d in ReportStatus},
                spam_marks=spam,
            ),
        )
