"""Horizontal bar charts drawn on the server as SVG: no script, no front-end build.

Heights are in pixels, widths in percent of the chart's width, so text keeps its size on a phone
while the bars take the room there is. Each row is a label above its bar with the value at the
bar's end; under the bars, an axis from 0 to the largest value with its caption. The template
(``_chart.html``) draws what ``bar_chart`` computes here.
"""

from __future__ import annotations

from dataclasses import dataclass

# The longest bar takes this share of the width, leaving room for its value after it (a count;
# a chart whose values are words, "4.5 hours", leaves more).
PLOT = 78.0
# A value above zero always shows as a bar, however small beside the largest.
MIN_BAR = 0.8
TOP = 24  # the category axis' caption
ROW = 46  # a label (18px) over a bar (18px), and a gap
LABEL_BASE = 16
BAR_Y = 21
BAR_HEIGHT = 16
AXIS = 44  # the axis, its ends' values and its caption
TONES = ("#0b6b4f", "#2f5d9e", "#9a3b00")


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    shown: str  # the value as the reader reads it ("3", "4.5 hours", "none decided")
    top: int  # the row's top, in pixels
    width: float  # percent of the chart's width; 0 draws no bar
    tone: str

    @property
    def label_y(self) -> int:
        return self.top + LABEL_BASE

    @property
    def bar_y(self) -> int:
        return self.top + BAR_Y

    @property
    def value_y(self) -> int:
        return self.top + BAR_Y + BAR_HEIGHT - 3


@dataclass(frozen=True)
class BarChart:
    key: str  # unique on the page: names the title and description the SVG points to
    title: str
    description: str  # every bar in words, for a screen reader
    category_axis: str
    value_axis: str
    bars: list[Bar]
    largest: str
    plot: float = PLOT

    @property
    def axis_y(self) -> int:
        return TOP + ROW * len(self.bars) + 2

    @property
    def height(self) -> int:
        return self.axis_y + AXIS

    bar_height = BAR_HEIGHT


def bar_chart(
    key: str,
    title: str,
    *,
    category_axis: str,
    value_axis: str,
    rows: list[tuple[str, float | None, str]],
    tones: list[int] | None = None,
    unit: str = "",
    plot: float = PLOT,
) -> BarChart:
    """A chart of ``rows`` (label, value or None for "nothing to show", the value in words);
    ``tones`` picks a colour per row (a group: flags, notices, contacts)."""
    values = [v for _, v, _ in rows if v is not None]
    largest = max(values, default=0.0)
    bars = []
    for i, (label, value, shown) in enumerate(rows):
        width = 0.0
        if value is not None and value > 0 and largest > 0:
            width = max(MIN_BAR, plot * value / largest)
        tone = TONES[(tones[i] if tones else 0) % len(TONES)]
        bars.append(Bar(label, value or 0.0, shown, TOP + ROW * i, round(width, 2), tone))
    described = "; ".join(f"{label}: {shown}" for label, _, shown in rows)
    return BarChart(
        key=key,
        title=title,
        description=f"{category_axis} against {value_axis.lower()}. {described}.",
        category_axis=category_axis,
        value_axis=value_axis,
        bars=bars,
        # An axis of nothing but zeros names no end.
        largest=_number(largest) + unit if largest > 0 else "",
        plot=plot,
    )


def _number(value: float) -> str:
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.2f}".rstrip("0").rstrip(".") if value < 1 else f"{value:.1f}"
