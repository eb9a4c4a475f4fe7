"""The combined view's chart as inline SVG: pure functions over plain values.

No ORM, no Django, no JavaScript library: each function takes numbers and
labels and returns a `Chart` (the SVG markup and its legend), so the page can
be printed, read by a screen reader (`role="img"` with a <title> and a <desc>
giving the numbers) and tested as a string.
"""

import textwrap
from dataclasses import dataclass
from decimal import Decimal
from html import escape

from plans.checks import num

WIDTH = 640
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"
# At least 3:1 against white (WCAG 1.4.11), and distinct from each other.
PALETTE = [
    "#2f5bea",
    "#c2410c",
    "#0f766e",
    "#7c3aed",
    "#a16207",
    "#be185d",
    "#4d7c0f",
    "#475569",
]
TARGET = "#141a2a"
IMPLIED = "#c2410c"
NEEDED = "#c62828"
AXIS = "#5d6576"
GRID = "#dfe3ea"


@dataclass(frozen=True)
class LegendItem:
    label: str
    color: str
    kind: str = "box"  # "box" or "line"


@dataclass(frozen=True)
class Chart:
    svg: str
    legend: list[LegendItem]


def color(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def compact(value: Decimal) -> str:
    """An axis label: 1.5M, 250k, 12.5."""
    sign = "-" if value < 0 else ""
    value = abs(value)
    for size, suffix in ((Decimal(10) ** 9, "B"), (Decimal(10) ** 6, "M"), (Decimal(1000), "k")):
        if value >= size:
            return f"{sign}{num(round(value / size, 2))}{suffix}"
    return f"{sign}{num(round(value, 2))}"


def nice_ticks(top: Decimal, count: int = 4) -> list[Decimal]:
    """Round steps (1, 2, 2.5 or 5 × 10ⁿ) from 0 to at least `top`."""
    if top <= 0:
        return [Decimal(0), Decimal(1)]
    raw = top / count
    magnitude = Decimal(1).scaleb(raw.adjusted())
    step = next(
        m * magnitude
        for m in (Decimal(1), Decimal(2), Decimal("2.5"), Decimal(5), Decimal(10))
        if m * magnitude >= raw
    )
    ticks = [Decimal(0)]
    while ticks[-1] < top:
        ticks.append(ticks[-1] + step)
    return ticks


def period_targets(*, target: Decimal, own_values: list[Decimal], periods: int) -> list[Decimal]:
    """The parent's target per period: its own plan if it has one, else an even split."""
    if periods <= 0:
        return []
    if len(own_values) == periods and any(v != 0 for v in own_values):
        return list(own_values)
    return [target / periods] * periods


def _q(value: Decimal | None, unit: str) -> str:
    return f"{num(value)} {unit}".strip()


def _open(
    chart_id: str, height: int, title: str, desc: str, width: int = WIDTH, kind: str = ""
) -> list[str]:
    css = f"chart {kind}".strip()
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="{css}" role="img" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" viewBox="0 0 {width} {height}" '
        f'width="100%" preserveAspectRatio="xMidYMid meet" font-family="{FONT}" font-size="13">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(desc)}</desc>',
    ]


def _text(x, y, label, *, anchor="start", fill=AXIS, weight="normal", size=13) -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" fill="{fill}" '
        f'font-size="{size}" font-weight="{weight}">{escape(label)}</text>'
    )


def additive_chart(
    *,
    chart_id: str,
    title: str,
    unit: str,
    periods: list[str],
    series: list[tuple[str, list[Decimal]]],
    targets: list[Decimal],
) -> Chart:
    """A stacked bar per period of the children's values, with the target per period."""
    height, left, right, top, bottom = 300, 70, 16, 16, 36
    plot_w, plot_h = WIDTH - left - right, height - top - bottom
    stacks = [
        sum((values[i] for _, values in series if i < len(values)), Decimal(0))
        for i in range(len(periods))
    ]
    ticks = nice_ticks(max([*stacks, *targets, Decimal(0)]) * Decimal("1.05"))
    scale = Decimal(plot_h) / ticks[-1]

    def y(value: Decimal) -> float:
        return float(top + plot_h - value * scale)

    desc = "; ".join(
        f"{label}: {num(stacks[i])} {unit} planned against {num(targets[i])} {unit}"
        if i < len(targets)
        else f"{label}: {num(stacks[i])} {unit} planned"
        for i, label in enumerate(periods)
    )
    parts = _open(chart_id, height, title, f"{desc}.")
    for tick in ticks:
        parts.append(
            f'<line x1="{left}" x2="{WIDTH - right}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" '
            f'stroke="{GRID}" stroke-width="1"/>'
        )
        parts.append(_text(left - 8, y(tick) + 4, compact(tick), anchor="end"))
    slot = plot_w / max(len(periods), 1)
    bar = min(slot * 0.55, 120)
    for i, label in enumerate(periods):
        x = left + slot * i + (slot - bar) / 2
        base = Decimal(0)
        for n, (name, values) in enumerate(series):
            value = values[i] if i < len(values) else Decimal(0)
            y_top, y_base = y(base + value), y(base)
            parts.append(
                f'<rect class="chart-seg" x="{x:.1f}" y="{y_top:.1f}" width="{bar:.1f}" '
                f'height="{max(y_base - y_top, 0):.1f}" fill="{color(n)}" stroke="#fff" '
                f'stroke-width="1"><title>{escape(name)}, {escape(label)}: '
                f"{escape(num(value))} {escape(unit)}</title></rect>"
            )
            base += value
        parts.append(_text(x + bar / 2, y(base) - 5, compact(base), anchor="middle", fill=TARGET))
        parts.append(_text(left + slot * i + slot / 2, height - 12, label, anchor="middle"))
    if targets:
        path = " ".join(
            f"M{left + slot * i + 6:.1f},{y(t):.1f} L{left + slot * (i + 1) - 6:.1f},{y(t):.1f}"
            for i, t in enumerate(targets)
        )
        parts.append(
            f'<path class="chart-target" d="{path}" fill="none" stroke="{TARGET}" '
            f'stroke-width="2.5" stroke-dasharray="7 4"><title>Target per period</title></path>'
        )
    parts.append(
        f'<line x1="{left}" x2="{WIDTH - right}" y1="{y(Decimal(0)):.1f}" '
        f'y2="{y(Decimal(0)):.1f}" stroke="{AXIS}" stroke-width="1"/>'
    )
    parts.append("</svg>")
    legend = [LegendItem(name, color(n)) for n, (name, _) in enumerate(series)]
    legend.append(LegendItem("Target per period", TARGET, "line"))
    return Chart("".join(parts), legend)


# Bar rows are drawn narrower than the period chart, so that their text stays legible
# when a phone scales the chart down (the page caps their width on a wide screen).
ROWS_WIDTH = 400
ROWS_FONT = 12
# A label's width without a text engine: a generous average advance per character (0.62 em;
# system-ui's is about 0.55 em), so that a line estimated to fit does fit.
CHAR_EM = 0.62


def text_width(label: str, size: int = ROWS_FONT) -> float:
    return len(label) * size * CHAR_EM


def wrap(label: str, width: float, size: int = ROWS_FONT) -> list[str]:
    """`label` in lines that each fit `width` (words kept whole; a word longer than a line
    is cut at the line's length, never elided)."""
    per_line = max(int(width // (size * CHAR_EM)), 1)
    return textwrap.wrap(label, per_line, break_long_words=True) or [""]


def _bar_rows(
    *,
    chart_id: str,
    title: str,
    desc: str,
    rows: list[tuple[str, list[tuple[Decimal, str]]]],
    shared: Decimal | None = None,
) -> str:
    """Horizontal bars: one shared scale, or each row at its own scale (funnel stages
    differ by orders of magnitude; what matters is each stage against its implied target).

    Each row's label is written whole above its bars, wrapped to the chart's width, and
    each bar's value after it inside the chart: nothing is elided or clipped."""
    pad, bar_h, gap, group_gap, line_h, label_gap = 4, 16, 3, 14, 16, 3
    values = [value for _, bars in rows for value, _ in bars]
    right = max((text_width(num(v)) for v in values), default=0) + 12
    plot_w = ROWS_WIDTH - pad - right
    parts: list[str] = []
    y0 = float(pad)
    for r, (label, bars) in enumerate(rows):
        for line in wrap(label, ROWS_WIDTH - 2 * pad):
            y0 += line_h
            parts.append(_text(pad, y0 - 4, line, fill=TARGET, weight="600", size=ROWS_FONT))
        y0 += label_gap
        largest = shared if shared is not None else max([v for v, _ in bars] + [Decimal(0)])
        for b, (value, fill) in enumerate(bars):
            w = max(float(value / largest) * plot_w, 0) if largest > 0 else 0
            y = y0 + b * (bar_h + gap)
            parts.append(
                f'<rect class="chart-bar" data-row="{r}" data-value="{value}" x="{pad}" '
                f'y="{y:.1f}" width="{w:.1f}" height="{bar_h}" fill="{fill}" rx="2"/>'
            )
            parts.append(_text(pad + w + 6, y + bar_h - 5, num(value), fill=TARGET, size=ROWS_FONT))
        bottom = y0 + len(bars) * bar_h + (len(bars) - 1) * gap
        parts.append(
            f'<line x1="{pad}" x2="{pad}" y1="{y0 - 2:.1f}" y2="{bottom + 2:.1f}" '
            f'stroke="{AXIS}" stroke-width="1"/>'
        )
        y0 += len(bars) * bar_h + (len(bars) - 1) * gap + group_gap
    height = round(y0 - group_gap + pad * 2)
    return "".join(
        [
            *_open(chart_id, height, title, desc, ROWS_WIDTH, "chart-rows"),
            *parts,
            "</svg>",
        ]
    )


def funnel_chart(
    *, chart_id: str, title: str, stages: list[tuple[str, Decimal, Decimal | None, str]]
) -> Chart:
    """One row per stage (label, target, implied target, unit): the two bars side by side."""
    desc = "; ".join(
        f"{label}: target {_q(target, unit)}, implied {_q(implied, unit)}"
        for label, target, implied, unit in stages
    )
    rows = [
        (label, [(target, PALETTE[0]), (implied if implied is not None else Decimal(0), IMPLIED)])
        for label, target, implied, _ in stages
    ]
    svg = _bar_rows(
        chart_id=chart_id,
        title=title,
        desc=f"{desc}. Each stage is drawn at its own scale.",
        rows=rows,
    )
    return Chart(
        svg, [LegendItem("Stage target", PALETTE[0]), LegendItem("Implied target", IMPLIED)]
    )


def parallel_chart(
    *, chart_id: str, title: str, unit: str, raw: Decimal, discounted: Decimal, needed: Decimal
) -> Chart:
    """Raw claim, discounted claim and the improvement needed, on one shared scale."""
    desc = (
        f"Raw claim {num(raw)} {unit}, discounted claim {num(discounted)} {unit}, "
        f"needed {num(needed)} {unit}."
    )
    rows = [
        ("Raw claim", [(raw, PALETTE[7])]),
        ("Discounted claim", [(discounted, PALETTE[0])]),
        ("Needed", [(needed, NEEDED)]),
    ]
    svg = _bar_rows(
        chart_id=chart_id,
        title=title,
        desc=desc,
        rows=rows,
        shared=max(raw, discounted, needed, Decimal(0)),
    )
    legend = [LegendItem(label, bars[0][1]) for label, bars in rows]
    return Chart(svg, legend)
