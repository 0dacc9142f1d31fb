"""The transparency figures (DESIGN rule 13, DSA art. 15 and 24): what moderation received and
did in a period, for anyone to read. No personal data and no ids: counts and medians only.

Each figure is counted by the time of the record that says it happened:

- **received**: businesses' flags by reason (``flags.opened_at``; a flag dropped or settled by
  the reviewer's edit still came in), notices from anyone by sub-reason
  (``notices.received_at``), and not-genuine reports after a contact, which reach the
  moderators without a flag or a notice (``reports`` of source ``contact``, ``opened_at``);
- **actions**: ``hidden`` and ``removed`` are the statements of reasons made in the period
  (``statements.restriction``): a statement is made for each restriction of a review and only
  then, so a removal reversing a rejection on appeal counts, and an upheld report on a review
  removed already does not; ``no_action`` is the reports rejected in the period (the review
  stays or becomes visible). A rejection later reversed on appeal is a ``no_action`` when it
  was decided and a ``removed`` when the appeal removed the review;
- **decisions**: reports decided in the period, and the median hours from a report's opening
  to its decision (for a flag that went to the reviewer first, from its escalation: the time
  the moderators had it), overall and by source;
- **appeals**: received (opened in the period), decided, reversed (granted), median hours from
  opening to decision of those decided in the period;
- **misuse steps**: the ladder's steps taken in the period by kind, and those that ended in it
  (lifted by a moderator, or expired), for businesses and for notifiers.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from pydantic import BaseModel, ConfigDict, Field, computed_field

from domain.enums import (
    AppealStatus,
    FlagReason,
    ReportSource,
    ReportStatus,
    Restriction,
    StandingStepKind,
    StandingSubject,
    StepEnd,
    SubReason,
)
from domain.ladder import LADDER
from settings import Settings
from store import Store
from store import transparency as figures
from store.records import now

DEFAULT_DAYS = 30
MAX_DAYS = 366
# What a business can flag: a not-genuine report goes through a contact first (rule 8).
FLAG_REASONS = tuple(r for r in FlagReason if r is not FlagReason.NOT_GENUINE)


class PeriodInvalid(ValueError):
    """A period the figures cannot be given for; the message says why, for the person asking."""


class Period(BaseModel):
    """UTC dates, both included."""

    model_config = ConfigDict(populate_by_name=True, frozen=True)

    start: date = Field(alias="from", description="First day counted (UTC), included")
    end: date = Field(alias="to", description="Last day counted (UTC), included")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def days(self) -> int:
        """Days counted."""
        return (self.end - self.start).days + 1

    @property
    def bounds(self) -> tuple[datetime, datetime]:
        """``[start, end)`` as times: from the first day's midnight to the one after the last."""
        start = datetime.combine(self.start, time(), tzinfo=UTC)
        return start, datetime.combine(self.end, time(), tzinfo=UTC) + timedelta(days=1)

    @classmethod
    def of(cls, start: date | None, end: date | None, *, today: date) -> Period:
        """The period asked for: the last 30 days up to today by default; ``from`` alone runs to
        today, ``to`` alone covers the 30 days up to it. Raises ``PeriodInvalid``."""
        for day, name in ((start, "from"), (end, "to")):
            if day is not None and day > today:
                raise PeriodInvalid(
                    f"'{name}' ({day.isoformat()}) is after today ({today.isoformat()}, UTC):"
                    " nothing has been counted for it yet."
                )
        end = end or today
        if start is None:
            # A date near year 1 has fewer days before it: the period starts on the first one.
            start = date.fromordinal(max(1, end.toordinal() - (DEFAULT_DAYS - 1)))
        if start > end:
            raise PeriodInvalid(f"'from' ({start.isoformat()}) is after 'to' ({end.isoformat()}).")
        period = cls(start=start, end=end)
        if period.days > MAX_DAYS:
            raise PeriodInvalid(
                f"The period is {period.days} days long; at most {MAX_DAYS} can be asked at once."
            )
        return period


class Received(BaseModel):
    flags: dict[FlagReason, int] = Field(
        description="Businesses' flags by reason, by when they were sent"
    )
    notices: dict[SubReason, int] = Field(
        description="Notices of illegal content from anyone (DSA art. 16), by kind"
    )
    after_contact: int = Field(
        description="Reports that a review is not based on a genuine experience, made by a "
        "business after contacting its reviewer"
    )
    total: int


class Actions(BaseModel):
    hidden: int = Field(description="Reviews hidden while a report about them was handled")
    removed: int = Field(description="Reviews removed (a report upheld, or a rejection reversed)")
    no_action: int = Field(description="Reports rejected: the review stays visible")


class DecisionTime(BaseModel):
    decided: int
    median_hours: float | None = Field(
        description="Median hours from the report to its decision; null when none was decided"
    )


class Decisions(BaseModel):
    decided: int
    upheld: int
    rejected: int
    median_hours: float | None = Field(
        description="Median hours from the report to its decision; null when none was decided"
    )
    by_source: dict[ReportSource, DecisionTime]


class Appeals(BaseModel):
    received: int
    decided: int
    reversed: int = Field(description="Appeals granted: the decision appealed was reversed")
    median_hours: float | None = Field(
        description="Median hours from the appeal to its decision; null when none was decided"
    )


class LadderSteps(BaseModel):
    taken: dict[StandingStepKind, int] = Field(description="Steps taken in the period, by kind")
    lifted: int = Field(description="Steps a moderator lifted early in the period")
    expired: int = Field(description="Steps that expired in the period")


class MisuseSteps(BaseModel):
    businesses: LadderSteps
    notifiers: LadderSteps


class TransparencyReport(BaseModel):
    """What moderation received and did in a period (DSA art. 15, 24)."""

    model_config = ConfigDict(populate_by_name=True)

    period: Period
    computed_at: datetime = Field(description="When these figures were counted")
    received: Received
    actions: Actions
    decisions: Decisions
    appeals: Appeals
    misuse_steps: MisuseSteps


def _hours(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


class Transparency:
    def __init__(self, db: Store, settings: Settings) -> None:
        self.db = db
        self.settings = settings

    def period(self, start: date | None, end: date | None) -> Period:
        """Raises ``PeriodInvalid`` with what is wrong."""
        return Period.of(start, end, today=now().date())

    async def report(self, period: Period) -> TransparencyReport:
        """Every figure from one snapshot of the store, so they agree with each other."""
        start, end = period.bounds
        dialect = self.db.dialect
        async with self.db.read() as conn:
            flags = await figures.flags_received(conn, start, end)
            notices = await figures.notices_received(conn, start, end)
            opened = await figures.reports_opened(conn, start, end)
            restricted = await figures.restrictions(conn, start, end)
            decided = await figures.decisions(conn, start, end)
            by_source: dict[ReportSource, DecisionTime] = {}
            for source in ReportSource:
                count = sum(n for (s, _), n in decided.items() if s == source.value)
                median = await figures.median_hours_to_decision(
                    conn, dialect, start, end, sources=[source.value], count=count
                )
                by_source[source] = DecisionTime(decided=count, median_hours=_hours(median))
            total_decided = sum(decided.values())
            median_all = await figures.median_hours_to_decision(
                conn,
                dialect,
                start,
                end,
                sources=[s.value for s in ReportSource],
                count=total_decided,
            )
            appeals_in = await figures.appeals_opened(conn, start, end)
            appeals_out = await figures.appeals_decided(conn, start, end)
            appeal_median = await figures.median_hours_to_appeal_decision(
                conn, dialect, start, end, count=sum(appeals_out.values())
            )
            taken = await figures.steps_taken(conn, start, end)
            ended = await figures.steps_ended(conn, start, end)

        def status_count(status: ReportStatus) -> int:
            return sum(n for (_, s), n in decided.items() if s == status.value)

        received = Received(
            flags={r: flags.get(r.value, 0) for r in FLAG_REASONS},
            notices={s: notices.get(s.value, 0) for s in SubReason},
            after_contact=opened.get(ReportSource.CONTACT.value, 0),
            total=0,
        )
        received.total = (
            sum(received.flags.values()) + sum(received.notices.values()) + received.after_contact
        )
        return TransparencyReport(
            period=period,
            computed_at=now(),
            received=received,
            actions=Actions(
                hidden=restricted.get(Restriction.HIDDEN.value, 0),
                removed=restricted.get(Restriction.REMOVED.value, 0),
                no_action=status_count(ReportStatus.REJECTED),
            ),
            decisions=Decisions(
                decided=total_decided,
                upheld=status_count(ReportStatus.UPHELD),
                rejected=status_count(ReportStatus.REJECTED),
                median_hours=_hours(median_all),
                by_source=by_source,
            ),
            appeals=Appeals(
                received=appeals_in,
                decided=sum(appeals_out.values()),
                reversed=appeals_out.get(AppealStatus.GRANTED.value, 0),
                median_hours=_hours(appeal_median),
            ),
            misuse_steps=MisuseSteps(
                businesses=_ladder(StandingSubject.BUSINESS, taken, ended),
                notifiers=_ladder(StandingSubject.NOTIFIER, taken, ended),
            ),
        )


def _ladder(
    subject: StandingSubject,
    taken: dict[tuple[str, str], int],
    ended: dict[tuple[str, str], int],
) -> LadderSteps:
    return LadderSteps(
        taken={k: taken.get((subject.value, k.value), 0) for k in LADDER[subject]},
        lifted=ended.get((subject.value, StepEnd.LIFTED.value), 0),
        expired=ended.get((subject.value, StepEnd.EXPIRED.value), 0),
    )
