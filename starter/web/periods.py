"""A period of days asked for by ``from`` and ``to`` (``starter.transparency.Period``), read the
same way for the transparency figures and a business's insight: the API's dates (a bad period
answers 422 in JSON) and the pages' text (read here, so a bad date is said on the page)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import Query

from starter.transparency import Period, PeriodInvalid
from starter.web.errors import ApiError

# A service's ``period(start, end)``: the days asked for, or ``PeriodInvalid`` saying why not.
PeriodOf = Callable[[date | None, date | None], Period]

StartDate = Annotated[
    date | None,
    Query(alias="from", description="First day (UTC), included; default: 29 days before 'to'"),
]
EndDate = Annotated[
    date | None, Query(alias="to", description="Last day (UTC), included; default: today")
]
Format = Annotated[Literal["json", "csv"] | None, Query()]
INVALID: dict[str, Any] = {
    "description": "Not a date, 'from' after 'to', a day after today, or over 366 days"
}

# A page's fields are text, not dates: FastAPI would refuse a mistyped day as JSON.
StartText = Annotated[str | None, Query(alias="from", max_length=40)]
EndText = Annotated[str | None, Query(alias="to", max_length=40)]


def api_period(period_of: PeriodOf, start: date | None, end: date | None) -> Period:
    try:
        return period_of(start, end)
    except PeriodInvalid as invalid:
        raise ApiError(422, "invalid_input", str(invalid)) from None


def _day(value: str | None, name: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise PeriodInvalid(
            f"'{name}' is not a date: write it as year-month-day, such as 2025-03-01."
        ) from None


def page_period(period_of: PeriodOf, start: str | None, end: str | None) -> Period:
    """Raises ``PeriodInvalid`` for the page to say."""
    return period_of(_day(start, "from"), _day(end, "to"))


def page_form(period_of: PeriodOf, start: str | None, end: str | None) -> dict[str, str]:
    """The period form (``_period_form.html``) as it was sent; ``today`` bounds its date fields."""
    return {"from": start or "", "to": end or "", "today": period_of(None, None).end.isoformat()}
