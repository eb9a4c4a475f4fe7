"""What the pages show of a KR's trajectory (templates/plans/includes/burnup.html): the
burn-up chart, the forecast in words and the same figures as a table. Built from the
KR, its plan and its effective actuals (plans/selectors.py::kr_effective); the math is
plans/trajectory.py's, the SVG plans/trajectory_charts.py's."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from hierarchy.models import KeyResult
from plans.trajectory import BurnUp, burnup, today_position
from plans.trajectory_charts import Chart, burnup_chart, forecast_sentence

MADE_OF = {
    "additive": "the sum of its contributions' check-ins",
    "sequential": "the last stage's check-ins (what the funnel puts out)",
}


@dataclass(frozen=True)
class BurnUpRow:
    period: str
    planned: Decimal
    contributions: Decimal | None
    actual: Decimal | None
    forecast: Decimal | None


@dataclass(frozen=True)
class BurnUpView:
    """The include's context: `svg` is the chart's markup (escaped by charts' own code)."""

    id: str
    heading: str
    burnup: BurnUp
    chart: Chart
    svg: SafeString
    sentence: str
    rows: list[BurnUpRow]
    unit: str
    made_of: str  # where the actuals come from, in words ("" for the KR's own check-ins)
    flow: bool
    today: str  # the period today falls in ("" outside the cycle)

    @property
    def has_contributions(self) -> bool:
        return any(row.contributions is not None for row in self.rows)


def burnup_view(
    *,
    kr: KeyResult,
    actuals: dict[int, Decimal],
    made: str | None = None,
    contributions: list[Decimal] | None = None,
    today: date | None = None,
    heading: str = "Plan against actuals",
) -> BurnUpView:
    """The burn-up of `kr` (with its cycle and plan) from its effective `actuals`;
    `made`: how they are made ("additive", "sequential"; None: its own check-ins);
    `contributions`: the effective plan of a shared KR, drawn beside its own."""
    periods = kr.cycle.periods
    labels = [p.label for p in periods]
    result = burnup(
        metric_kind=kr.metric_kind,
        start_value=kr.start_value,
        target=kr.target,
        plan=kr.plan.values,
        actuals=actuals,
        places=kr.decimals,
    )
    flow = kr.metric_kind == "cumulative"
    mine = None
    if contributions is not None:
        running, mine = Decimal(0), []
        for value in contributions:
            running += value
            mine.append(running if flow else value)
        if mine == result.planned:
            mine = None
    when = today_position([(p.start, p.end) for p in periods], today or timezone.localdate())
    chart = burnup_chart(
        chart_id=f"kr-{kr.pk}-burnup",
        # no KR title in the name: the section's heading and the page say whose it is (a
        # name with it would answer for the combined view's chart too: get_by_role("img"))
        title=f"{'Running total' if flow else 'Level'} planned against actual, in {kr.unit}",
        unit=kr.unit,
        periods=labels,
        burnup=result,
        today=when,
        contributions=mine,
    )
    forecast = result.forecast
    rows = []
    for i, label in enumerate(labels):
        projected = None
        if forecast is not None and i > result.through:
            projected = forecast.projected[i - result.through - 1]
        rows.append(
            BurnUpRow(
                period=label,
                planned=result.planned[i],
                contributions=mine[i] if mine else None,
                actual=result.actual[i] if i < len(result.actual) else None,
                forecast=projected,
            )
        )
    return BurnUpView(
        id=f"kr-{kr.pk}-burnup",
        heading=heading,
        burnup=result,
        chart=chart,
        # trajectory_charts escapes every label it writes (tests/plans: test_it_escapes_labels)
        svg=mark_safe(chart.svg),  # noqa: S308  # nosec B308 B703
        sentence=forecast_sentence(result, unit=kr.unit, periods=labels),
        rows=rows,
        unit=kr.unit,
        made_of=MADE_OF.get(made or "", ""),
        flow=flow,
        today=labels[int(when)] if when is not None else "",
    )
