"""GET /api/v1/transparency: the transparency figures (DESIGN rule 13) for anyone, no key, as
JSON or CSV.

The CSV has one row per figure, ``from, to, section, name, value``: one value column is what a
spreadsheet sums, filters and charts without reshaping, and the period on every row lets files
of several periods be pasted under each other and compared in one pivot table.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from starter.transparency import TransparencyReport
from starter.web.auth import ServiceDep
from starter.web.csv_download import CSV, csv_download, wants_csv
from starter.web.periods import INVALID, EndDate, Format, StartDate, api_period

router = APIRouter(prefix="/api/v1")
CSV_COLUMNS = ("from", "to", "section", "name", "value")


def _leaves(value: Any, path: str = "") -> list[tuple[str, Any]]:
    if isinstance(value, dict):
        found: list[tuple[str, Any]] = []
        for key, inner in value.items():
            found += _leaves(inner, f"{path}.{key}" if path else str(key))
        return found
    return [(path, value)]


def csv_rows(report: TransparencyReport) -> list[tuple[str, str, str, str, str]]:
    """Every figure of the JSON, one row each, in the JSON's order; an empty value is a median
    of nothing (null in the JSON)."""
    data = report.model_dump(mode="json", by_alias=True)
    start, end = data["period"]["from"], data["period"]["to"]
    rows = [(start, end, "period", "days", str(data["period"]["days"]))]
    rows.append((start, end, "period", "computed_at", data.pop("computed_at")))
    data.pop("period")
    for section, values in data.items():
        for name, value in _leaves(values):
            rows.append((start, end, section, name, "" if value is None else str(value)))
    return rows


@router.get(
    "/transparency",
    tags=["public"],
    summary="Transparency figures of a period",
    response_model=TransparencyReport,
    responses={
        200: {
            "description": "The figures as JSON, or as CSV (one row per figure: "
            + ", ".join(CSV_COLUMNS)
            + ") with format=csv or Accept: text/csv",
            "content": {CSV: {"schema": {"type": "string"}}},
        },
        422: INVALID,
        503: {"description": "Briefly unavailable: retry after Retry-After"},
    },
)
async def transparency(
    request: Request,
    service: ServiceDep,
    start: StartDate = None,
    end: EndDate = None,
    format: Format = None,
) -> Response:
    """What moderation received and did in a period (DSA art. 15, 24): reports by reason and
    source, actions taken, median time to decision, appeals, misuse steps. Counts only: no
    personal data. At most 366 days at once; by default the last 30 days."""
    period = api_period(service.transparency.period, start, end)
    report = await service.transparency.report(period)
    if wants_csv(request, format):
        name = f"transparency-{period.start.isoformat()}-to-{period.end.isoformat()}.csv"
        return csv_download(CSV_COLUMNS, csv_rows(report), name)
    return JSONResponse(report.model_dump(mode="json", by_alias=True))
