"""The public transparency page (DESIGN rule 13): the figures of a period in words, charts (SVG
drawn here, ``starter.web.charts``) and tables, with the JSON and CSV to download. No sign-in."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from domain.enums import FlagReason, ReportSource, StandingStepKind, StandingSubject, SubReason
from domain.ladder import LADDER
from starter.transparency import PeriodInvalid, TransparencyReport
from starter.web import words
from starter.web.auth import ServiceDep, check_session
from starter.web.charts import BarChart, bar_chart
from starter.web.pages import render
from starter.web.periods import EndText, StartText, page_form, page_period

router = APIRouter(include_in_schema=False, dependencies=[Depends(check_session)])

SOURCES = {
    ReportSource.CONTACT: "After a contact",
    ReportSource.FLAG: "Flags from businesses",
    ReportSource.NOTICE: "Notices from the public",
}
# Each step of each ladder in words; the chart lists them in the ladder's order.
STEP_LABELS = {
    (StandingSubject.BUSINESS, StandingStepKind.WARNING): "Warnings to businesses",
    (StandingSubject.BUSINESS, StandingStepKind.RESTRICTION): "Businesses restricted",
    (StandingSubject.BUSINESS, StandingStepKind.CONSUMER_WARNING): "Public consumer warnings",
    (StandingSubject.NOTIFIER, StandingStepKind.WARNING): "Warnings to people sending notices",
    (StandingSubject.NOTIFIER, StandingStepKind.SUSPENSION): "People sending notices suspended",
}


@dataclass
class Section:
    key: str
    heading: str
    said: list[str]
    chart: BarChart
    table: list[tuple[str, str]] = field(default_factory=list)


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def _time(h: float | None) -> str:
    """A median in words."""
    if h is None:
        return "none decided"
    if h < 1 / 60:
        return "under a minute"
    if h < 1:
        return _count(round(h * 60), "minute")
    return f"{h:.1f} hours"


def _within(h: float | None) -> str:
    said = _time(h)
    return f"in {said}" if said.startswith("under") else f"within {said}"


def _bar_of(h: float | None) -> float | None:
    """A median decided at all draws a bar, even one the rounding made 0 hours."""
    return None if h is None else max(h, 0.01)


def _reason(value: FlagReason | SubReason) -> str:
    said = words.say(value)
    return said[:1].upper() + said[1:]


def _received(r: TransparencyReport) -> Section:
    got = r.received
    flags, notices = sum(got.flags.values()), sum(got.notices.values())
    rows: list[tuple[str, float | None, str]] = []
    tones: list[int] = []
    for reason, n in got.flags.items():
        rows.append((f"Flag: {_reason(reason)}", n, str(n)))
        tones.append(0)
    for sub, n in got.notices.items():
        rows.append((f"Notice: {_reason(sub)}", n, str(n)))
        tones.append(1)
    rows.append(
        ("After a contact: not a genuine experience", got.after_contact, str(got.after_contact))
    )
    tones.append(2)
    return Section(
        "received",
        "Reports received",
        [
            f"{_count(got.total, 'report')} came in: {_count(flags, 'flag')} from businesses,"
            f" {_count(notices, 'notice')} of illegal content from the public, and"
            f" {_count(got.after_contact, 'report')} that a review was not based on a genuine"
            " experience, made after the business had contacted its reviewer.",
        ],
        bar_chart(
            "received",
            "Reports received, by reason",
            category_axis="Reason",
            value_axis="Number received",
            rows=rows,
            tones=tones,
        ),
        [(label, shown) for label, _, shown in rows] + [("All reports", str(got.total))],
    )


def _actions(r: TransparencyReport) -> Section:
    a = r.actions
    rows: list[tuple[str, float | None, str]] = [
        ("Hidden while handled", a.hidden, str(a.hidden)),
        ("Removed", a.removed, str(a.removed)),
        ("No action: stays visible", a.no_action, str(a.no_action)),
    ]
    return Section(
        "actions",
        "Actions taken",
        [
            f"{_count(a.hidden, 'review was', 'reviews were')} hidden while a report about"
            f" {'it' if a.hidden == 1 else 'them'} was handled,"
            f" {_count(a.removed, 'review was', 'reviews were')} removed, and"
            f" {_count(a.no_action, 'report')} ended with no action: the review stayed visible.",
            "Each review hidden or removed got a statement of reasons saying why and how to"
            " appeal.",
        ],
        bar_chart(
            "actions",
            "Actions taken on reviews",
            category_axis="Action",
            value_axis="Number of reviews",
            rows=rows,
        ),
        [(label, shown) for label, _, shown in rows],
    )


def _decisions(r: TransparencyReport) -> Section:
    d = r.decisions
    said = (
        [
            f"Moderators decided {_count(d.decided, 'report')}: {d.upheld} upheld and"
            f" {d.rejected} rejected. Half of them were decided {_within(d.median_hours)}"
            " of reaching the moderators."
        ]
        if d.decided
        else ["No report was decided in this period."]
    )
    rows: list[tuple[str, float | None, str]] = [
        (
            f"{SOURCES[source]} ({_count(t.decided, 'decided', 'decided')})",
            _bar_of(t.median_hours),
            _time(t.median_hours),
        )
        for source, t in d.by_source.items()
    ]
    rows.append(
        (f"All reports ({d.decided} decided)", _bar_of(d.median_hours), _time(d.median_hours))
    )
    return Section(
        "decisions",
        "Time to decision",
        said,
        bar_chart(
            "decisions",
            "Median time to a moderator's decision, by how the report came",
            category_axis="How the report came",
            value_axis="Median hours to decision",
            rows=rows,
            tones=[0, 1, 2, 0],
            unit=" hours",
            plot=55.0,
        ),
        [(label, shown) for label, _, shown in rows]
        + [("Upheld", str(d.upheld)), ("Rejected", str(d.rejected))],
    )


def _appeals(r: TransparencyReport) -> Section:
    a = r.appeals
    said = [
        f"{_count(a.received, 'appeal')} against a decision came in and"
        f" {_count(a.decided, 'was', 'were')} decided, each by a"
        " moderator other than the one who made the decision;"
        f" {_count(a.reversed, 'decision was', 'decisions were')} reversed."
    ]
    if a.decided:
        said.append(f"Half of the appeals were decided {_within(a.median_hours)}.")
    rows: list[tuple[str, float | None, str]] = [
        ("Received", a.received, str(a.received)),
        ("Decided", a.decided, str(a.decided)),
        ("Decision reversed", a.reversed, str(a.reversed)),
    ]
    return Section(
        "appeals",
        "Appeals",
        said,
        bar_chart(
            "appeals",
            "Appeals against moderators' decisions",
            category_axis="Appeals",
            value_axis="Number of appeals",
            rows=rows,
        ),
        [(label, shown) for label, _, shown in rows]
        + [("Median time to decide", _time(a.median_hours))],
    )


def _misuse(r: TransparencyReport) -> Section:
    m = r.misuse_steps
    subjects = {StandingSubject.BUSINESS: m.businesses, StandingSubject.NOTIFIER: m.notifiers}
    rows: list[tuple[str, float | None, str]] = []
    for subject, steps in subjects.items():
        for kind in LADDER[subject]:
            n = steps.taken.get(kind, 0)
            rows.append((STEP_LABELS[subject, kind], n, str(n)))
    lifted = m.businesses.lifted + m.notifiers.lifted
    expired = m.businesses.expired + m.notifiers.expired
    taken = sum(sum(s.taken.values()) for s in subjects.values())
    return Section(
        "misuse",
        "Misuse of reporting",
        [
            f"{_count(taken, 'step was', 'steps were')} taken against misuse of reporting:"
            " businesses that flag reviews unfairly and people who keep sending unfounded"
            " notices are warned first, then restricted or suspended.",
            f"{_count(lifted, 'step was', 'steps were')} lifted early by a moderator and"
            f" {_count(expired, 'step', 'steps')} ended when {'its' if expired == 1 else 'their'}"
            " time was up.",
        ],
        bar_chart(
            "misuse",
            "Steps taken against misuse, by kind",
            category_axis="Step",
            value_axis="Number of steps",
            rows=rows,
            tones=[0, 0, 0, 1, 1],
        ),
        [(label, shown) for label, _, shown in rows]
        + [
            ("Lifted early (businesses)", str(m.businesses.lifted)),
            ("Lifted early (people sending notices)", str(m.notifiers.lifted)),
            ("Expired (businesses)", str(m.businesses.expired)),
            ("Expired (people sending notices)", str(m.notifiers.expired)),
        ],
    )


def _computed(at: datetime) -> str:
    return f"{at:%H:%M} UTC on {words.day_words(at.date())}"


@router.get("/transparency", response_class=HTMLResponse)
async def transparency_page(
    request: Request, service: ServiceDep, start: StartText = None, end: EndText = None
) -> HTMLResponse:
    form = page_form(service.transparency.period, start, end)
    try:
        period = page_period(service.transparency.period, start, end)
    except PeriodInvalid as invalid:
        return render(request, "transparency.html", 422, form=form, error=str(invalid))
    report = await service.transparency.report(period)
    form.update({"from": period.start.isoformat(), "to": period.end.isoformat()})
    query = {"from": period.start.isoformat(), "to": period.end.isoformat()}
    stem = f"transparency-{query['from']}-to-{query['to']}"
    return render(
        request,
        "transparency.html",
        form=form,
        report=report,
        period_words=f"{words.day_words(period.start)} to {words.day_words(period.end)}",
        days=_count(period.days, "day"),
        computed=_computed(report.computed_at),
        sections=[
            _received(report),
            _actions(report),
            _decisions(report),
            _appeals(report),
            _misuse(report),
        ],
        downloads={
            "csv": (f"/api/v1/transparency?{urlencode({**query, 'format': 'csv'})}", f"{stem}.csv"),
            "json": (
                f"/api/v1/transparency?{urlencode({**query, 'format': 'json'})}",
                f"{stem}.json",
            ),
        },
    )
