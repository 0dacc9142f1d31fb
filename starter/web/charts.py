"""Bar charts drawn on the server as SVG: no script, no front-end build. Horizontal bars
(``bar_chart``, template ``_chart.html``) for figures by kind; stacked columns
(``stacked_chart``, template ``_stacked_chart.html``) for counts over time by series.

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


# --- stacked columns over time -----------------------------------------------------------------

STACK_LEGEND_Y = 30  # the legend's row, under the value axis' caption
STACK_TOP = 56  # the plot's top: the largest total reaches it
STACK_HEIGHT = 160
STACK_BOTTOM = 46  # under the plot: the dates, and the category axis' caption
# A column takes this share of its slot, and never more than this share of the chart (a period
# of a few days would draw slabs).
COLUMN_SHARE = 0.72
COLUMN_MAX = 8.0
# Dates written under the columns: the first, the last and a few between, so they never collide
# on a phone.
MAX_TICKS = 4


@dataclass(frozen=True)
class Segment:
    y: float
    height: float
    tone: str
    title: str  # what it is, for a pointer hovering it: "3 March: 2 reviews of 1 star"


@dataclass(frozen=True)
class Column:
    x: float  # percent
    width: float  # percent
    segments: list[Segment]


@dataclass(frozen=True)
class Tick:
    x: float  # percent
    label: str
    anchor: str  # SVG text-anchor


@dataclass(frozen=True)
class LegendItem:
    x: float  # percent
    label: str
    tone: str


@dataclass(frozen=True)
class StackedChart:
    key: str  # unique on the page: names the title and description the SVG points to
    title: str
    description: str
    category_axis: str
    value_axis: str
    columns: list[Column]
    ticks: list[Tick]
    legend: list[LegendItem]
    largest: str
    legend_y = STACK_LEGEND_Y
    top = STACK_TOP
    axis_y = STACK_TOP + STACK_HEIGHT
    height = STACK_TOP + STACK_HEIGHT + STACK_BOTTOM


def stacked_chart(
    key: str,
    title: str,
    *,
    category_axis: str,
    value_axis: str,
    series: list[tuple[str, str]],
    columns: list[tuple[str, str, list[float]]],
) -> StackedChart:
    """Columns from left to right, each (its short label, it in words, a value per series),
    stacked in ``series`` order (each a name and a colour) from the bottom up."""
    largest = max((sum(values) for _, _, values in columns), default=0.0)
    slot = 100.0 / max(len(columns), 1)
    width = min(slot * COLUMN_SHARE, COLUMN_MAX)
    drawn: list[Column] = []
    for i, (short, _, values) in enumerate(columns):
        segments, below = [], 0.0
        for (name, tone), value in zip(series, values, strict=True):
            if value <= 0 or largest <= 0:
                continue
            height = STACK_HEIGHT * value / largest
            segments.append(
                Segment(
                    round(STACK_TOP + STACK_HEIGHT - below - height, 2),
                    round(height, 2),
                    tone,
                    f"{short}: {_number(value)} {name}",
                )
            )
            below += height
        drawn.append(Column(round(slot * i + (slot - width) / 2, 3), round(width, 3), segments))
    ticks = [_tick(i, len(columns), slot, columns[i][0]) for i in _ticked(len(columns))]
    legend_slot = 100.0 / max(len(series), 1)
    said = "; ".join(words for _, words, values in columns if sum(values) > 0)
    return StackedChart(
        key=key,
        title=title,
        description=f"{value_axis} by {category_axis.lower()}. {said or 'None'}.",
        category_axis=category_axis,
        value_axis=value_axis,
        columns=drawn,
        ticks=ticks,
        legend=[
            LegendItem(round(legend_slot * i, 3), name, tone)
            for i, (name, tone) in enumerate(series)
        ],
        largest=_number(largest) if largest > 0 else "",
    )


def _ticked(count: int) -> list[int]:
    """Which columns have their date written: up to ``MAX_TICKS``, spread, the ends included."""
    if count <= 1:
        return list(range(count))
    shown = min(count, MAX_TICKS)
    return sorted({round(k * (count - 1) / (shown - 1)) for k in range(shown)})


def _tick(i: int, count: int, slot: float, label: str) -> Tick:
    """The first date starts at the left edge and the last ends at the right one, so neither is
    cut off; one between is centred under its column."""
    if i == 0:
        return Tick(0.0, label, "start")
    if i == count - 1:
        return Tick(100.0, label, "end")
    return Tick(round(slot * (i + 0.5), 3), label, "middle")
