"""Trajectory charts as inline SVG: pure functions over plain values.

The burn-up of a KR (plan against actuals, the forecast, today), and for a shared KR's
combined view each funnel stage against its implied target, the funnel's ratios and each
contribution's progress. No ORM, no Django, no JavaScript library: like the combined
view's chart (notifications/charts.py), each function returns the markup and its legend;
the SVG has `role="img"` with a <title> and a <desc> giving the figures, and the pages
show the same figures as a table beside it.

Every drawn figure carries its value (`data-value`) and its position is computed from it
alone: tests read the geometry back (tests/plans/test_trajectory_charts.py).
"""

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from html import escape

from okrplan.lib.numbers import num
from plans.trajectory import BurnUp, StageRatio

WIDTH = 640
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"
# At least 3:1 against white (WCAG 1.4.11), and distinct from each other.
PLANNED = "#2f5bea"
ACTUAL = "#0f766e"
FORECAST = "#c2410c"
TARGET = "#141a2a"
TODAY = "#7c3aed"
CONTRIBUTIONS = "#a16207"
REFERENCE = "#2f5bea"
HISTORICAL = "#7c3aed"
TRACK = "#8a94a6"
AXIS = "#5d6576"
GRID = "#dfe3ea"

# The burn-up's plot area.
LEFT, RIGHT, TOP, BOTTOM, HEIGHT = 74, 20, 34, 44, 336  # "Today" stands above the plot


@dataclass(frozen=True)
class LegendItem:
    label: str
    color: str
    kind: str = "box"  # "box", "solid" (a line) or "line" (a dashed one)


@dataclass(frozen=True)
class Chart:
    svg: str
    legend: list[LegendItem]


def compact(value: Decimal) -> str:
    """An axis label: 1.5M, 250k, 12.5."""
    sign = "-" if value < 0 else ""
    value = abs(value)
    for size, suffix in ((Decimal(10) ** 9, "B"), (Decimal(10) ** 6, "M"), (Decimal(1000), "k")):
        if value >= size:
            return f"{sign}{num(round(value / size, 2))}{suffix}"
    return f"{sign}{num(round(value, 2))}"


def axis_ticks(low: Decimal, high: Decimal, count: int = 4) -> list[Decimal]:
    """Round steps (1, 2, 2.5 or 5 × 10ⁿ) covering [low, high], from a multiple of the
    step at or below `low` to one at or above `high`."""
    if high <= low:
        high = low + 1
    raw = (high - low) / count
    magnitude = Decimal(1).scaleb(raw.adjusted())
    step = next(
        m * magnitude
        for m in (Decimal(1), Decimal(2), Decimal("2.5"), Decimal(5), Decimal(10))
        if m * magnitude >= raw
    )
    first = (low / step).to_integral_value(rounding="ROUND_FLOOR") * step
    ticks = [first]
    while ticks[-1] < high:
        ticks.append(ticks[-1] + step)
    return ticks


def _open(
    chart_id: str, height: int, title: str, desc: str, css: str, width: int = WIDTH
) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart {css}" role="img" '
        f'aria-labelledby="{chart_id}-title" aria-describedby="{chart_id}-desc" '
        f'viewBox="0 0 {width} {height}" '
        f'width="100%" preserveAspectRatio="xMidYMid meet" font-family="{FONT}" font-size="13">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(desc)}</desc>',
    ]


def _text(x, y, label, *, anchor="start", fill=AXIS, weight="normal", size=13, css="") -> str:
    klass = f' class="{css}"' if css else ""
    return (
        f'<text{klass} x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" fill="{fill}" '
        f'font-size="{size}" font-weight="{weight}">{escape(label)}</text>'
    )


def _q(value: Decimal | None, unit: str) -> str:
    return f"{num(value)} {unit}".strip()


# --- The burn-up ---------------------------------------------------------------------

BURNUP_FONT = 15  # drawn 640 wide, shown up to 860 px (the plan page) or 510 px (beside)


def _btext(*args, **kwargs) -> str:
    return _text(*args, size=BURNUP_FONT, **kwargs)


@dataclass(frozen=True)
class Frame:
    """The burn-up's scales: `x(t)` for a time in periods from the cycle's start (period
    i ends at t = i + 1), `y(v)` for a figure."""

    periods: int
    low: Decimal
    high: Decimal
    height: int = HEIGHT

    @property
    def plot_w(self) -> float:
        return WIDTH - LEFT - RIGHT

    @property
    def plot_h(self) -> float:
        return self.height - TOP - BOTTOM

    def x(self, t) -> float:
        return LEFT + self.plot_w * float(Fraction(t) / max(self.periods, 1))

    def y(self, value: Decimal) -> float:
        return TOP + self.plot_h * float((self.high - value) / (self.high - self.low))


def burnup_frame(burnup: BurnUp, extra: list[Decimal] = ()) -> Frame:
    forecast = burnup.forecast
    figures = [
        burnup.origin,
        burnup.target,
        *burnup.planned,
        *(v for v in burnup.actual if v is not None),
        *(forecast.projected if forecast else []),
        *extra,
    ]
    low, high = min(figures), max(figures)
    if burnup.metric_kind == "cumulative":
        low = min(low, Decimal(0))
    span = high - low or Decimal(1)
    ticks = axis_ticks(low if low == 0 else low - span * Decimal("0.05"), high + span / 20)
    return Frame(periods=len(burnup.planned), low=ticks[0], high=ticks[-1])


def _points(frame: Frame, points: list[tuple[Fraction | int, Decimal]]) -> str:
    return " ".join(f"{frame.x(t):.1f},{frame.y(v):.1f}" for t, v in points)


def _values(points: list[tuple[Fraction | int, Decimal]]) -> str:
    return " ".join(format(v, "f") for _, v in points)


def _polyline(frame, css, points, color, *, width=2.5, dash="", label="") -> str:
    dashes = f' stroke-dasharray="{dash}"' if dash else ""
    title = f"<title>{escape(label)}</title>" if label else ""
    return (
        f'<polyline class="{css}" points="{_points(frame, points)}" '
        f'data-values="{_values(points)}" fill="none" stroke="{color}" '
        f'stroke-width="{width}" stroke-linejoin="round"{dashes}>{title}</polyline>'
    )


def forecast_sentence(burnup: BurnUp, *, unit: str, periods: list[str]) -> str:
    """What the forecast says, in words (the chart's <desc> ends with it, the page
    shows it beside the chart)."""
    forecast = burnup.forecast
    target = _q(burnup.target, unit)
    if forecast is None:
        return f"No check-in yet: the forecast of reaching {target} starts with the first."
    if forecast.reaches is not None and forecast.reaches <= burnup.through:
        return f"The target of {target} was reached in {periods[forecast.reaches]}."
    if burnup.metric_kind == "cumulative":
        pace = f"{_q(forecast.pace, unit)} a period"
    else:
        sign = "+" if forecast.pace > 0 else ""
        pace = f"a change of {sign}{_q(forecast.pace, unit)} a period"
    if not forecast.projected:  # the last period is checked in: nothing left to project
        return (
            f"By the end of {periods[-1]} it reached {_q(forecast.end, unit)}: "
            f"{_q(forecast.short_by, unit)} short of the target of {target}."
        )
    if forecast.reaches is not None:
        when = periods[forecast.reaches]
        return f"At the current pace ({pace}) it reaches the target of {target} in {when}."
    return (
        f"At the current pace ({pace}) it ends at {_q(forecast.end, unit)} in {periods[-1]}: "
        f"{_q(forecast.short_by, unit)} short of the target of {target}."
    )


def burnup_chart(
    *,
    chart_id: str,
    title: str,
    unit: str,
    periods: list[str],
    burnup: BurnUp,
    today: Fraction | None = None,
    contributions: list[Decimal] | None = None,
) -> Chart:
    """The plan (running totals of a flow, levels of a level) against the actuals through
    the latest check-in, the forecast at the current pace to the cycle's end, the target
    and today's marker. `contributions`: for a shared KR, what its contributions plan
    (its effective plan, drawn the way the plan is) when that differs from its own plan."""
    if contributions is not None and contributions == burnup.planned:
        contributions = None
    frame = burnup_frame(burnup, contributions or [])
    n = frame.periods
    origin = (0, burnup.origin)
    planned = [origin, *((i + 1, v) for i, v in enumerate(burnup.planned))]
    actual = [origin, *((i + 1, v) for i, v in enumerate(burnup.actual) if v is not None)]
    forecast = burnup.forecast

    parts = _open(
        chart_id,
        frame.height,
        title,
        _burnup_desc(burnup, unit=unit, periods=periods, contributions=contributions),
        "burnup",
    )
    ticks = axis_ticks(frame.low, frame.high)
    for tick in [t for t in ticks if frame.low <= t <= frame.high]:
        parts.append(
            f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{frame.y(tick):.1f}" '
            f'y2="{frame.y(tick):.1f}" stroke="{GRID}" stroke-width="1"/>'
        )
        parts.append(_btext(LEFT - 8, frame.y(tick) + 4, compact(tick), anchor="end", css="tick"))
    step = max(1, -(-n // 8))  # at most 8 period labels under the axis
    for i, label in enumerate(periods):
        parts.append(
            f'<line x1="{frame.x(i):.1f}" x2="{frame.x(i):.1f}" y1="{frame.y(frame.low):.1f}" '
            f'y2="{frame.y(frame.low) + 5:.1f}" stroke="{AXIS}" stroke-width="1"/>'
        )
        if i % step == 0:
            x = frame.x(Fraction(2 * i + 1, 2))
            parts.append(
                _btext(x, frame.height - BOTTOM + 20, label, anchor="middle", css="period")
            )
    parts.append(
        f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{frame.y(frame.low):.1f}" '
        f'y2="{frame.y(frame.low):.1f}" stroke="{AXIS}" stroke-width="1"/>'
    )
    y_target = frame.y(burnup.target)
    parts.append(
        f'<line class="burnup-target" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y_target:.1f}" '
        f'y2="{y_target:.1f}" data-value="{burnup.target}" stroke="{TARGET}" stroke-width="2" '
        f'stroke-dasharray="7 4"><title>Target: {escape(_q(burnup.target, unit))}</title></line>'
    )
    parts.append(
        _btext(
            WIDTH - RIGHT - 4,
            y_target - 6,
            f"Target {compact(burnup.target)}",
            anchor="end",
            fill=TARGET,
            weight="600",
            css="target-label",
        )
    )
    if contributions:
        points = [origin, *((i + 1, v) for i, v in enumerate(contributions))]
        parts.append(
            _polyline(
                frame,
                "burnup-contributions",
                points,
                CONTRIBUTIONS,
                width=2,
                dash="2 4",
                label="What the contributions plan",
            )
        )
    parts.append(_polyline(frame, "burnup-planned", planned, PLANNED, label="Planned"))
    if forecast is not None and forecast.projected:
        points = [
            actual[-1],
            *((burnup.through + 2 + i, v) for i, v in enumerate(forecast.projected)),
        ]
        parts.append(
            _polyline(
                frame,
                "burnup-forecast",
                points,
                FORECAST,
                dash="6 5",
                label="Forecast at the current pace",
            )
        )
    if len(actual) > 1:
        parts.append(_polyline(frame, "burnup-actual", actual, ACTUAL, width=3, label="Actual"))
        for t, value in actual[1:]:
            parts.append(
                f'<circle class="burnup-point" cx="{frame.x(t):.1f}" cy="{frame.y(value):.1f}" '
                f'r="4" data-value="{value}" fill="{ACTUAL}" stroke="#fff" stroke-width="1.5">'
                f"<title>{escape(periods[t - 1])}: {escape(_q(value, unit))}</title></circle>"
            )
    if today is not None:
        x = frame.x(today)
        parts.append(
            f'<line class="burnup-today" x1="{x:.1f}" x2="{x:.1f}" y1="{TOP - 6}" '
            f'y2="{frame.y(frame.low):.1f}" data-value="{float(today):.4f}" stroke="{TODAY}" '
            f'stroke-width="2"><title>Today</title></line>'
        )
        anchor = "end" if x > WIDTH - 90 else "middle" if x > LEFT + 40 else "start"
        parts.append(
            _btext(
                x,
                TOP - 10,
                "Today",
                anchor=anchor,
                fill=TODAY,
                weight="600",
                css="today-label",
            )
        )
    parts.append("</svg>")
    legend = [
        LegendItem("Planned", PLANNED, "solid"),
        *(
            [LegendItem("What the contributions plan", CONTRIBUTIONS, "line")]
            if contributions
            else []
        ),
        *([LegendItem("Actual", ACTUAL, "solid")] if len(actual) > 1 else []),
        *(
            [LegendItem("Forecast at the current pace", FORECAST, "line")]
            if forecast is not None and forecast.projected
            else []
        ),
        LegendItem("Target", TARGET, "line"),
        *([LegendItem("Today", TODAY, "line")] if today is not None else []),
    ]
    return Chart("".join(parts), legend)


def _burnup_desc(burnup: BurnUp, *, unit: str, periods: list[str], contributions) -> str:
    what = "running total" if burnup.metric_kind == "cumulative" else "level"
    planned = ", ".join(f"{p} {num(v)}" for p, v in zip(periods, burnup.planned, strict=False))
    actual = ", ".join(
        f"{p} {num(v)}" for p, v in zip(periods, burnup.actual, strict=False) if v is not None
    )
    parts = [f"Planned {what} ({unit}): {planned}."]
    if contributions:
        planned_by = ", ".join(
            f"{p} {num(v)}" for p, v in zip(periods, contributions, strict=False)
        )
        parts.append(f"What the contributions plan: {planned_by}.")
    parts.append(f"Actual: {actual}." if actual else "No actuals yet.")
    parts.append(forecast_sentence(burnup, unit=unit, periods=periods))
    return " ".join(parts)


# --- Horizontal bars: stages, ratios, contributions ---------------------------------

# Each row's label stands above its bars (a label beside them is clipped once it is
# longer than the margin, issue 16 §5); the figures follow each bar, in the right margin.
# Narrower than the burn-up: they stand beside it, or alone on a phone, and stay legible.
BARS_WIDTH = 420
BAR_LEFT, BAR_RIGHT, BAR_H, BAR_GAP, LABEL_H, GROUP_GAP, BAR_TOP = 8, 150, 16, 4, 22, 14, 6


@dataclass(frozen=True)
class Bar:
    value: Decimal
    color: str
    css: str
    label: str  # what the bar is, for its <title>
    text: str = ""  # written after the bar


def _bars(
    *,
    chart_id: str,
    title: str,
    desc: str,
    css: str,
    rows: list[tuple[str, list[Bar], Decimal]],
    marks: list[tuple[Decimal, str, str]] = (),
    shared: Decimal | None = None,
) -> str:
    """Rows of horizontal bars: each row (label, bars, its scale's top); a bar's length is
    value / top × the plot's width. `marks`: (value, css, label) vertical lines at a value
    of the `shared` scale (100% of a progress chart)."""
    per_row = max((len(bars) for _, bars, _ in rows), default=1)
    group_h = LABEL_H + per_row * BAR_H + (per_row - 1) * BAR_GAP
    bottom = 22 if marks else 6
    height = BAR_TOP + len(rows) * group_h + max(len(rows) - 1, 0) * GROUP_GAP + bottom
    plot_w = BARS_WIDTH - BAR_LEFT - BAR_RIGHT
    parts = _open(chart_id, height, title, desc, css, width=BARS_WIDTH)
    parts.append(f'<g class="plot" data-left="{BAR_LEFT}" data-width="{plot_w}">')
    # the marks first: the bars and their figures stand over them
    for value, mark_css, mark_label in marks:
        x = BAR_LEFT + float(value / shared) * plot_w if shared else BAR_LEFT
        parts.append(
            f'<line class="{mark_css}" x1="{x:.1f}" x2="{x:.1f}" y1="{BAR_TOP + LABEL_H - 4}" '
            f'y2="{height - 18}" data-value="{value}" stroke="{TARGET}" stroke-width="1.5" '
            f'stroke-dasharray="4 3"><title>{escape(mark_label)}</title></line>'
        )
        parts.append(
            _text(
                x, height - 5, mark_label, anchor="middle", fill=TARGET, size=12, css="mark-label"
            )
        )
    for r, (label, bars, top) in enumerate(rows):
        y0 = BAR_TOP + r * (group_h + GROUP_GAP)
        parts.append(
            _text(BAR_LEFT, y0 + LABEL_H - 7, label, fill=TARGET, weight="600", css="row-label")
        )
        for b, bar in enumerate(bars):
            w = float(max(bar.value, Decimal(0)) / top) * plot_w if top > 0 else 0.0
            y = y0 + LABEL_H + b * (BAR_H + BAR_GAP)
            parts.append(
                f'<rect class="{bar.css}" x="{BAR_LEFT}" y="{y:.1f}" width="{w:.1f}" '
                f'height="{BAR_H}" data-value="{bar.value}" data-top="{top}" fill="{bar.color}" '
                f'rx="2"><title>{escape(bar.label)}</title></rect>'
            )
            if bar.text:
                parts.append(
                    _text(
                        BAR_LEFT + w + 6,
                        y + BAR_H - 3,
                        bar.text,
                        fill=TARGET,
                        size=12,
                        css="bar-text",
                    )
                )
    parts.append("</g></svg>")
    return "".join(parts)


def _pct(part: Decimal, whole: Decimal) -> Decimal | None:
    return None if not whole else (part / whole * 100).quantize(Decimal("0.1"))


@dataclass(frozen=True)
class StageActual:
    label: str
    unit: str
    actual: Decimal | None  # to date; None before its first check-in
    implied_target: Decimal


def stages_chart(*, chart_id: str, title: str, stages: list[StageActual]) -> Chart:
    """Each funnel stage's actual to date against its implied target, each row at its
    own scale (the stages count different things, by orders of magnitude): the implied
    target's bar is the row's full length unless the actual passed it."""
    rows, described = [], []
    for s in stages:
        actual = s.actual or Decimal(0)
        top = max(s.implied_target, actual)
        share = _pct(actual, s.implied_target)
        share_text = f" ({num(share)}%)" if share is not None else ""
        rows.append(
            (
                s.label,
                [
                    Bar(
                        s.implied_target,
                        TRACK,
                        "stage-implied",
                        f"Implied target: {_q(s.implied_target, s.unit)}",
                        f"implied {compact(s.implied_target)}",
                    ),
                    Bar(
                        actual,
                        ACTUAL,
                        "stage-actual",
                        f"Actual to date: {_q(s.actual, s.unit)}",
                        f"actual {compact(actual)}{share_text}",
                    ),
                ],
                top,
            )
        )
        described.append(
            f"{s.label}: actual {_q(s.actual, s.unit) if s.actual is not None else 'none yet'} "
            f"of an implied target of {_q(s.implied_target, s.unit)}{share_text}"
        )
    svg = _bars(
        chart_id=chart_id,
        title=title,
        desc="; ".join(described) + ". Each stage is drawn at its own scale.",
        css="stages",
        rows=rows,
    )
    return Chart(svg, [LegendItem("Implied target", TRACK), LegendItem("Actual to date", ACTUAL)])


def ratios_chart(*, chart_id: str, title: str, ratios: list[tuple[str, StageRatio]]) -> Chart:
    """Each stage's conversion from the previous one: actual so far, reference (as
    planned at lock) and historical, on one shared scale."""
    top = max(
        [v for _, r in ratios for v in (r.actual, r.reference, r.historical) if v is not None]
        + [Decimal("0.01")]
    )
    rows, described = [], []
    for label, r in ratios:
        bars = []
        for value, color, css, what in (
            (r.actual, ACTUAL, "ratio-actual", "actual"),
            (r.reference, REFERENCE, "ratio-reference", "reference"),
            (r.historical, HISTORICAL, "ratio-historical", "historical"),
        ):
            text = (
                f"{what} {num(value)}"
                if value is not None
                else f"{what}: none yet"
                if what == "actual"
                else f"{what}: none"
            )
            bars.append(
                Bar(
                    value or Decimal(0),
                    color,
                    css,
                    f"{what.capitalize()} ratio: {num(value)}",
                    text,
                )
            )
        rows.append((label, bars, top))
        described.append(
            f"{label}: actual {num(r.actual)}, reference {num(r.reference)}, "
            f"historical {num(r.historical)}"
        )
    svg = _bars(
        chart_id=chart_id,
        title=title,
        desc="; ".join(described) + ".",
        css="ratios",
        rows=rows,
    )
    legend = [
        LegendItem("Actual ratio so far", ACTUAL),
        LegendItem("Reference ratio", REFERENCE),
        LegendItem("Historical ratio", HISTORICAL),
    ]
    return Chart(svg, legend)


@dataclass(frozen=True)
class ContributionProgress:
    label: str
    progress_pct: Decimal | None
    status: str  # its status label


def _pct_text(value: Decimal | None) -> str:
    return "no progress yet" if value is None else f"{num(value)}%"


def contributions_chart(
    *, chart_id: str, title: str, contributions: list[ContributionProgress]
) -> Chart:
    """Each contribution's progress against its own target (%), on one scale from 0 to
    100% or to the furthest beyond it, with the 100% mark."""
    top = max([Decimal(100)] + [c.progress_pct or Decimal(0) for c in contributions])
    rows = [
        (
            c.label,
            [
                Bar(
                    c.progress_pct or Decimal(0),
                    ACTUAL,
                    "contribution-progress",
                    f"{c.label}: {num(c.progress_pct)}% · {c.status}",
                    f"{num(c.progress_pct)}% · {c.status}"
                    if c.progress_pct is not None
                    else c.status,
                )
            ],
            top,
        )
        for c in contributions
    ]
    desc = "; ".join(f"{c.label}: {_pct_text(c.progress_pct)}, {c.status}" for c in contributions)
    svg = _bars(
        chart_id=chart_id,
        title=title,
        desc=f"{desc}.",
        css="contributions-progress",
        rows=rows,
        marks=[(Decimal(100), "scale-100", "100%")],
        shared=top,
    )
    return Chart(svg, [LegendItem("Progress against its target", ACTUAL)])
