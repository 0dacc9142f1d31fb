"""The desk's insight page (DESIGN rule 21), ``/desk/insights``: a business's figures of a period
in words, SVG charts (``starter.web.charts``) and tables, for its owner and agents, with the CSV
to download (``/desk/insights.csv``: the API's CSV, for the signed-in team member, whose page
session is not an API key)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from domain.enums import FlagStatus
from starter.insights import RATINGS, Bucket, BusinessInsights
from starter.transparency import PeriodInvalid
from starter.web import words
from starter.web.api_insights import csv_response
from starter.web.auth import ServiceDep, check_session
from starter.web.charts import BarChart, StackedChart, bar_chart, stacked_chart
from starter.web.desk_pages import _member
from starter.web.pages import render
from starter.web.periods import EndText, StartText, page_form, page_period

router = APIRouter(include_in_schema=False, dependencies=[Depends(check_session)])
PAGE = "/desk/insights"
# From one star (red) to five (green): the colours people read ratings in.
RATING_TONES = {1: "#b3261e", 2: "#e07b39", 3: "#9aa1ad", 4: "#5a9e6f", 5: "#0b6b4f"}


@dataclass
class Section:
    key: str
    heading: str
    said: list[str]
    chart: BarChart | StackedChart
    table_head: tuple[str, ...] = ("Figure", "Value")
    table: Sequence[tuple[str, ...]] = field(default_factory=list)

    @property
    def over_time(self) -> bool:
        return isinstance(self.chart, StackedChart)


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def _stars(r: int) -> str:
    return _count(r, "star")


def _short(d: date) -> str:
    return f"{d.day} {d:%b}"


def _bucket_words(first: date, last: date) -> str:
    return (
        words.day_words(first) if first == last else f"{_short(first)} to {words.day_words(last)}"
    )


def _percent(rate: float | None) -> str:
    return "none" if rate is None else f"{rate * 100:.0f}%"


def _hours(h: float | None) -> str:
    return "none replied" if h is None else words.span(timedelta(hours=h))


def _reviews(found: BusinessInsights) -> Section:
    r = found.reviews
    by = ", ".join(f"{r.by_rating[s]} of {_stars(s)}" for s in RATINGS)
    per = "day" if r.bucket is Bucket.DAY else "week (Monday to Sunday)"
    columns = []
    for b in r.over_time:
        said = ", ".join(f"{b.ratings[s]} of {_stars(s)}" for s in RATINGS if b.ratings[s])
        columns.append(
            (
                _short(b.start),
                f"{_bucket_words(b.start, b.end)}: {said}",
                [float(b.ratings[s]) for s in RATINGS],
            )
        )
    return Section(
        "reviews",
        "Reviews by rating",
        [f"{_count(r.total, 'review')} came in: {by}." if r.total else "No review came in."],
        stacked_chart(
            "reviews",
            f"Reviews by rating, per {per}",
            category_axis="Day" if r.bucket is Bucket.DAY else "Week",
            value_axis="Number of reviews",
            series=[(_stars(s), RATING_TONES[s]) for s in RATINGS],
            columns=columns,
        ),
        ("Day" if r.bucket is Bucket.DAY else "Week", *(f"{s}★" for s in RATINGS), "All"),
        [
            (
                _bucket_words(b.start, b.end),
                *(str(b.ratings[s]) for s in RATINGS),
                str(b.total),
            )
            for b in r.over_time
        ],
    )


def _responses(found: BusinessInsights) -> Section:
    a = found.responses
    said = [
        f"{_count(a.replied, 'review')} of {a.reviews} got a public reply ({_percent(a.rate)})."
        if a.reviews
        else "No review came in, so none was replied to."
    ]
    if a.median_hours_to_reply is not None:
        said.append(
            f"Half of those replies went out within {_hours(a.median_hours_to_reply)}"
            " of the review."
        )
    rows: list[tuple[str, float | None, str]] = [
        ("Replied publicly", a.replied, str(a.replied)),
        ("Not replied", a.reviews - a.replied, str(a.reviews - a.replied)),
    ]
    return Section(
        "responses",
        "Public replies",
        said,
        bar_chart(
            "responses",
            "The period's reviews, replied or not",
            category_axis="Reviews",
            value_axis="Number of reviews",
            rows=rows,
            tones=[0, 2],
        ),
        table=[(label, shown) for label, _, shown in rows]
        + [
            ("Response rate", _percent(a.rate)),
            ("Median time to the reply", _hours(a.median_hours_to_reply)),
        ],
    )


def _breaches(found: BusinessInsights) -> Section:
    b = found.breaches
    said = (
        [
            f"{b.breached} of {_count(b.tickets, 'ticket')} missed the response target;"
            f" {b.replied_after} of those got a public reply afterwards."
        ]
        if b.tickets
        else ["No ticket for this period's reviews."]
    )
    rows: list[tuple[str, float | None, str]] = [
        ("Target not missed", b.tickets - b.breached, str(b.tickets - b.breached)),
        ("Missed, replied afterwards", b.replied_after, str(b.replied_after)),
        ("Missed, not replied", b.breached - b.replied_after, str(b.breached - b.replied_after)),
    ]
    return Section(
        "breaches",
        "Response targets",
        said,
        bar_chart(
            "breaches",
            "Tickets by their response target",
            category_axis="Tickets",
            value_axis="Number of tickets",
            rows=rows,
            tones=[0, 1, 2],
        ),
        table=[(label, shown) for label, _, shown in rows],
    )


def _contacts(found: BusinessInsights) -> Section:
    c = found.contacts
    rows: list[tuple[str, float | None, str]] = [
        (words.say(status), n, str(n)) for status, n in c.by_status.items()
    ]
    return Section(
        "contacts",
        "Find Reviewer contacts by outcome",
        [f"You opened {_count(c.total, 'contact')} with reviewers; here is where each stands now."],
        bar_chart(
            "contacts",
            "Contacts opened in the period, by where they stand",
            category_axis="Outcome",
            value_axis="Number of contacts",
            rows=rows,
        ),
        table=[(label, shown) for label, _, shown in rows],
    )


def _flags(found: BusinessInsights) -> Section:
    f = found.flags
    rows: list[tuple[str, float | None, str]] = []
    for status, n in f.by_status.items():
        if status is FlagStatus.ESCALATED:
            # It stays escalated once decided: said by its report, as the moderators left it.
            rows += [
                (words.ESCALATED_OUTCOMES[decision], k, str(k))
                for decision, k in f.escalated_by_decision.items()
            ]
        else:
            rows.append((words.FLAG_OUTCOMES[status], n, str(n)))
    return Section(
        "flags",
        "Flags by outcome",
        [
            f"You sent {_count(f.total, 'flag')}; here is where each stands now.",
            f"{_count(f.spam_marks, 'ticket was', 'tickets were')} marked spam or irrelevant,"
            " each flagging its review to the moderators.",
        ],
        bar_chart(
            "flags",
            "Flags sent in the period, by where they stand",
            category_axis="Outcome",
            value_axis="Number of flags",
            rows=rows,
            tones=[1] * len(rows),
        ),
        table=[(label, shown) for label, _, shown in rows]
        + [("Marked spam or irrelevant", str(f.spam_marks))],
    )


@router.get(PAGE, response_class=HTMLResponse)
async def insights_page(
    request: Request, service: ServiceDep, start: StartText = None, end: EndText = None
) -> Response:
    member = await _member(request, service)  # the desk's sign-in: else to sign in first
    form = page_form(service.insights.period, start, end)
    try:
        period = page_period(service.insights.period, start, end)
    except PeriodInvalid as invalid:
        return render(request, "desk_insights.html", 422, form=form, error=str(invalid))
    found = await service.insights.of(member.business_id, period)
    query = {"from": period.start.isoformat(), "to": period.end.isoformat()}
    form.update(query)
    return render(
        request,
        "desk_insights.html",
        form=form,
        found=found,
        period_words=f"{words.day_words(period.start)} to {words.day_words(period.end)}",
        days=_count(period.days, "day"),
        sections=[
            _reviews(found),
            _responses(found),
            _breaches(found),
            _contacts(found),
            _flags(found),
        ],
        csv=(f"{PAGE}.csv?{urlencode(query)}", f"insights-{query['from']}-to-{query['to']}.csv"),
    )


@router.get(f"{PAGE}.csv")
async def insights_csv(
    request: Request, service: ServiceDep, start: StartText = None, end: EndText = None
) -> Response:
    member = await _member(request, service)  # the desk's sign-in: else to sign in first
    try:
        period = page_period(service.insights.period, start, end)
    except PeriodInvalid as invalid:
        form = page_form(service.insights.period, start, end)
        return render(request, "desk_insights.html", 422, form=form, error=str(invalid))
    return csv_response(await service.insights.of(member.business_id, period))
