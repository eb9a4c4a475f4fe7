"""plans/trajectory_charts.py: the geometry of the charts, read back from the SVG: each
point and bar where its figure puts it, not only a chart that renders."""

import xml.etree.ElementTree as ET
from decimal import Decimal
from fractions import Fraction

import pytest

from plans.trajectory import StageRatio, burnup
from plans.trajectory_charts import (
    LEFT,
    RIGHT,
    WIDTH,
    ContributionProgress,
    StageActual,
    burnup_chart,
    contributions_chart,
    forecast_sentence,
    ratios_chart,
    stages_chart,
)

D = Decimal
NS = {"svg": "http://www.w3.org/2000/svg"}
LABELS = ["Jan 2026", "Feb 2026", "Mar 2026"]


def svg(chart) -> ET.Element:
    return ET.fromstring(chart.svg)


def one(root, css: str) -> ET.Element:
    found = [e for e in root.iter() if css in (e.get("class") or "").split()]
    assert len(found) == 1, f"{css}: {len(found)}"
    return found[0]


def every(root, css: str) -> list[ET.Element]:
    return [e for e in root.iter() if css in (e.get("class") or "").split()]


def points(element) -> list[tuple[float, float]]:
    return [tuple(map(float, p.split(","))) for p in element.get("points").split()]


def pipeline_chart(actuals, today=None, contributions=None):
    result = burnup(
        metric_kind="cumulative",
        start_value=D(0),
        target=D(3000000),
        plan=[D(1000000)] * 3,
        actuals={p: D(v) for p, v in actuals.items()},
        places=2,
    )
    chart = burnup_chart(
        chart_id="kr-1-burnup",
        title="Marketing pipeline: running total planned against actual",
        unit="USD",
        periods=LABELS,
        burnup=result,
        today=today,
        contributions=contributions,
    )
    return svg(chart), result


def test_the_planned_line_runs_from_zero_to_the_target_at_even_steps():
    root, _ = pipeline_chart({0: 800000, 1: 900000})
    planned = points(one(root, "burnup-planned"))
    target_y = float(one(root, "burnup-target").get("y1"))

    assert [x for x, _ in planned] == pytest.approx(
        [LEFT + (WIDTH - LEFT - RIGHT) * i / 3 for i in range(4)], abs=0.1
    )
    zero = planned[0][1]
    # each point's height above zero is its running total's share of the target's height
    for (_, y), total in zip(planned, [0, 1000000, 2000000, 3000000], strict=True):
        assert (zero - y) / (zero - target_y) == pytest.approx(total / 3000000, abs=0.002)


def test_the_actual_line_and_its_points_stand_at_the_running_totals():
    root, _ = pipeline_chart({0: 800000, 1: 900000})
    planned = points(one(root, "burnup-planned"))
    actual = points(one(root, "burnup-actual"))
    zero, top = planned[0][1], planned[3][1]  # 0 and 3,000,000

    assert [x for x, _ in actual] == pytest.approx([x for x, _ in planned[:3]], abs=0.1)
    heights = [(zero - y) / (zero - top) * 3000000 for _, y in actual]
    assert heights == pytest.approx([0, 800000, 1700000], abs=3000000 * 0.002)
    circles = every(root, "burnup-point")
    centres = [v for c in circles for v in (float(c.get("cx")), float(c.get("cy")))]
    assert centres == pytest.approx([v for point in actual[1:] for v in point], abs=0.1)
    assert [c.findtext("svg:title", namespaces=NS) for c in circles] == [
        "Jan 2026: 800,000 USD",
        "Feb 2026: 1,700,000 USD",
    ]


def test_the_forecast_goes_on_from_the_latest_actual_at_its_pace():
    root, result = pipeline_chart({0: 800000, 1: 900000})
    planned = points(one(root, "burnup-planned"))
    forecast = points(one(root, "burnup-forecast"))
    actual = points(one(root, "burnup-actual"))
    zero, top = planned[0][1], planned[3][1]

    assert forecast[0] == actual[-1]
    assert forecast[-1][0] == pytest.approx(planned[3][0], abs=0.1)  # the end of March
    assert (zero - forecast[-1][1]) / (zero - top) * 3000000 == pytest.approx(2550000, rel=0.003)
    assert result.forecast.short_by == D(450000)
    desc = root.findtext("svg:desc", namespaces=NS)
    assert "2,550,000 USD in Mar 2026: 450,000 USD short of the target of 3,000,000 USD" in desc


def test_todays_marker_stands_where_the_days_gone_put_it():
    root, _ = pipeline_chart({0: 800000}, today=1 + Fraction(14, 28))  # 15 February
    today = one(root, "burnup-today")
    x = float(today.get("x1"))

    assert x == pytest.approx(LEFT + (WIDTH - LEFT - RIGHT) * 1.5 / 3, abs=0.1)
    assert today.get("x2") == today.get("x1")


def test_no_today_marker_outside_the_cycle_and_no_actual_line_before_a_check_in():
    root, _ = pipeline_chart({})
    result = burnup(
        metric_kind="cumulative", start_value=D(0), target=D(1), plan=[D(1)], actuals={}
    )
    legend = burnup_chart(chart_id="x", title="x", unit="", periods=["W1"], burnup=result).legend
    assert [item.label for item in legend] == ["Planned", "Target"]

    assert every(root, "burnup-today") == []
    assert every(root, "burnup-actual") == []
    assert every(root, "burnup-forecast") == []
    assert "No check-in yet" in root.findtext("svg:desc", namespaces=NS)


def test_what_the_contributions_plan_is_drawn_when_it_differs_from_the_own_plan():
    root, _ = pipeline_chart({0: 800000}, contributions=[D(900000), D(1800000), D(2400000)])
    planned = points(one(root, "burnup-planned"))
    theirs = points(one(root, "burnup-contributions"))
    zero, top = planned[0][1], planned[3][1]

    assert (zero - theirs[-1][1]) / (zero - top) * 3000000 == pytest.approx(2400000, rel=0.003)
    same, _ = pipeline_chart({0: 1}, contributions=[D(1000000), D(2000000), D(3000000)])
    assert every(same, "burnup-contributions") == []


def test_a_level_starts_at_its_start_value():
    """NPS from 32: the lines start at 32, not at 0, and the axis need not reach 0."""
    result = burnup(
        metric_kind="level",
        start_value=D(32),
        target=D(45),
        plan=[D("36.3"), D("40.7"), D(45)],
        actuals={0: D(36), 2: D(41)},
        places=1,
    )
    root = svg(
        burnup_chart(chart_id="nps", title="NPS", unit="points", periods=LABELS, burnup=result)
    )
    planned = points(one(root, "burnup-planned"))
    actual = points(one(root, "burnup-actual"))
    target_y = float(one(root, "burnup-target").get("y1"))
    start_y = planned[0][1]

    def level(y):  # the figure at height y, from the start value's and the target's
        return 32 + (start_y - y) / (start_y - target_y) * 13

    assert [level(y) for _, y in planned] == pytest.approx([32, 36.3, 40.7, 45], abs=0.05)
    # no check-in in February: the line goes from January's point to March's
    assert [x for x, _ in actual] == pytest.approx(
        [planned[0][0], planned[1][0], planned[3][0]], abs=0.1
    )
    assert [level(y) for _, y in actual] == pytest.approx([32, 36, 41], abs=0.05)
    assert all(float(t.text.replace("k", "")) > 0 for t in every(root, "tick"))


def test_it_escapes_labels():
    result = burnup(
        metric_kind="cumulative",
        start_value=D(0),
        target=D(10),
        plan=[D(5), D(5)],
        actuals={0: D(1)},
    )
    chart = burnup_chart(
        chart_id="x",
        title="<script>alert(1)</script>",
        unit="&",
        periods=["<b>", "Feb"],
        burnup=result,
    )
    assert "<script>" not in chart.svg and "<b>" not in chart.svg
    root = svg(chart)  # well-formed
    assert root.findtext("svg:title", namespaces=NS) == "<script>alert(1)</script>"


def _width(rect) -> float:
    return float(rect.get("width"))


def _plot_width(root) -> float:
    return float(one(root, "plot").get("data-width"))


def test_a_contributions_bars_are_as_long_as_their_progress_with_the_100_percent_mark():
    chart = contributions_chart(
        chart_id="c",
        title="Contributions",
        contributions=[
            ContributionProgress("Customer Success", D("62.5"), "On track"),
            ContributionProgress("Product", D(25), "At risk"),
            ContributionProgress("Engineering", None, "Not started"),
        ],
    )
    root = svg(chart)
    bars = every(root, "contribution-progress")
    mark = float(one(root, "scale-100").get("x1"))
    left = float(one(root, "plot").get("data-left"))

    assert [_width(b) for b in bars] == pytest.approx(
        [(mark - left) * 0.625, (mark - left) * 0.25, 0], abs=0.1
    )
    assert mark == pytest.approx(left + _plot_width(root), abs=0.1)  # 100 % is the top


def test_progress_beyond_100_percent_moves_the_mark_in():
    root = svg(
        contributions_chart(
            chart_id="c",
            title="Contributions",
            contributions=[
                ContributionProgress("Ahead", D(150), "On track"),
                ContributionProgress("Half", D(50), "Off track"),
            ],
        )
    )
    left, plot = float(one(root, "plot").get("data-left")), _plot_width(root)
    bars = every(root, "contribution-progress")

    assert _width(bars[0]) == pytest.approx(plot, abs=0.1)
    assert float(one(root, "scale-100").get("x1")) == pytest.approx(left + plot / 1.5, abs=0.1)
    assert _width(bars[1]) == pytest.approx(plot / 3, abs=0.1)


def test_each_stage_is_drawn_against_its_implied_target_at_its_own_scale():
    root = svg(
        stages_chart(
            chart_id="s",
            title="Stages",
            stages=[
                StageActual("1. Website visitors", "visitors", D(2500), D(10000)),
                StageActual("2. Trials started", "trials", D(450), D(2000)),
                StageActual("3. Trials converted", "paid", D(600), D(500)),  # past it
                StageActual("4. Renewals", "paid", None, D(400)),
            ],
        )
    )
    plot = _plot_width(root)
    implied = [_width(r) for r in every(root, "stage-implied")]
    actual = [_width(r) for r in every(root, "stage-actual")]

    assert implied == pytest.approx([plot, plot, plot * 500 / 600, plot], abs=0.1)
    assert actual == pytest.approx([plot * 0.25, plot * 0.225, plot, 0], abs=0.1)
    assert "1. Website visitors: actual 2,500 visitors of an implied target of 10,000" in (
        root.findtext("svg:desc", namespaces=NS)
    )


def test_the_ratios_share_one_scale():
    root = svg(
        ratios_chart(
            chart_id="r",
            title="Ratios",
            ratios=[
                ("Visitors → trials", StageRatio(2, D("0.15"), D("0.2"), D("0.18"), 0)),
                ("Trials → paid", StageRatio(3, None, D("0.25"), None, None)),
            ],
        )
    )
    plot = _plot_width(root)

    def widths(css):
        return [_width(r) for r in every(root, css)]

    assert widths("ratio-actual") == pytest.approx([plot * 0.15 / 0.25, 0], abs=0.1)
    assert widths("ratio-reference") == pytest.approx([plot * 0.2 / 0.25, plot], abs=0.1)
    assert widths("ratio-historical") == pytest.approx([plot * 0.18 / 0.25, 0], abs=0.1)


def test_a_cycle_checked_in_to_its_end_says_where_it_ended():
    result = burnup(
        metric_kind="cumulative",
        start_value=D(0),
        target=D(300),
        plan=[D(100)] * 3,
        actuals={0: D(90), 1: D(80), 2: D(70)},
    )
    assert forecast_sentence(result, unit="trials", periods=LABELS) == (
        "By the end of Mar 2026 it reached 240 trials: 60 trials short of the target of 300 trials."
    )
    reached = burnup(
        metric_kind="cumulative",
        start_value=D(0),
        target=D(300),
        plan=[D(100)] * 3,
        actuals={0: D(150), 1: D(150)},
    )
    assert forecast_sentence(reached, unit="trials", periods=LABELS) == (
        "The target of 300 trials was reached in Feb 2026."
    )
