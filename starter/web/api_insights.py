"""GET /api/v1/insights: a business's insight (DESIGN rule 21) for its owner or agents, as JSON
or CSV.

The CSV has one row per figure and bucket, ``from, to, section, name, bucket_start, bucket_end,
value``: one value column is what a spreadsheet sums, filters and charts without reshaping; the
reviews over time are a row per bucket and rating (``rating_1`` ... ``rating_5``, ``total``),
every other figure a row with the bucket left empty (escalated flags by their report's status as
``escalated_pending``, ``escalated_upheld``, ``escalated_rejected``).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from starter.insights import BusinessInsights
from starter.web.api import ERRORS
from starter.web.auth import MemberDep, ServiceDep
from starter.web.csv_download import CSV, csv_download, wants_csv
from starter.web.periods import INVALID, EndDate, Format, StartDate, api_period

router = APIRouter(prefix="/api/v1", tags=["desk"])
CSV_COLUMNS = ("from", "to", "section", "name", "bucket_start", "bucket_end", "value")
Row = tuple[str, str, str, str, str, str, str]


def _cell(value: Any) -> str:
    return "" if value is None else str(value)


def csv_rows(insights: BusinessInsights) -> list[Row]:
    """Every figure of the JSON, in the JSON's order; an empty value is null in the JSON (a
    rate of no review, a median of no reply)."""
    data = insights.model_dump(mode="json", by_alias=True)
    start, end = data["period"]["from"], data["period"]["to"]

    def row(section: str, name: str, value: Any, first: str = "", last: str = "") -> Row:
        return (start, end, section, name, first, last, _cell(value))

    rows = [row("period", "days", data["period"]["days"])]
    rows.append(row("period", "computed_at", data["computed_at"]))
    reviews = data["reviews"]
    rows.append(row("reviews", "bucket", reviews["bucket"]))
    rows.append(row("reviews", "total", reviews["total"]))
    rows += [row("reviews", f"rating_{r}", n) for r, n in reviews["by_rating"].items()]
    for b in reviews["over_time"]:
        rows += [
            row("reviews_over_time", f"rating_{r}", n, b["start"], b["end"])
            for r, n in b["ratings"].items()
        ]
        rows.append(row("reviews_over_time", "total", b["total"], b["start"], b["end"]))
    for section in ("responses", "breaches"):
        rows += [row(section, name, value) for name, value in data[section].items()]
    for section in ("contacts", "flags"):
        for name, value in data[section].items():
            if name == "by_status":
                rows += [row(section, status, n) for status, n in value.items()]
            elif name == "escalated_by_decision":
                rows += [row(section, f"escalated_{d}", n) for d, n in value.items()]
            else:
                rows.append(row(section, name, value))
    return rows


def csv_response(insights: BusinessInsights) -> Response:
    period = insights.period
    name = f"insights-{period.start.isoformat()}-to-{period.end.isoformat()}.csv"
    return csv_download(CSV_COLUMNS, csv_rows(insights), name)


@router.get(
    "/insights",
    summary="Your business's insight for a period",
    response_model=BusinessInsights,
    responses={
        200: {
            "description": "The figures as JSON, or as CSV (one row per figure and bucket: "
            + ", ".join(CSV_COLUMNS)
            + ") with format=csv or Accept: text/csv",
            "content": {CSV: {"schema": {"type": "string"}}},
        },
        401: ERRORS[401],
        422: INVALID,
        503: {"description": "Briefly unavailable: retry after Retry-After"},
    },
)
async def insights(
    request: Request,
    service: ServiceDep,
    member: MemberDep,
    start: StartDate = None,
    end: EndDate = None,
    format: Format = None,
) -> Response:
    """Your business's reviews by rating over time (by day up to 62 days, else by week from
    Monday), response rate, median hours to the public reply, response-target breaches, and
    your contacts and flags by outcome. For the owner's key or an agent's; your business's
    figures only. At most 366 days at once; by default the last 30 days."""
    period = api_period(service.insights.period, start, end)
    found = await service.insights.of(member.business_id, period)
    if wants_csv(request, format):
        return csv_response(found)
    return JSONResponse(found.model_dump(mode="json", by_alias=True))
