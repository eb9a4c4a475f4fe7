"""The combined view page (SPEC.md §6) with SPEC.md §8's worked examples."""

import re
from decimal import Decimal

from django.db import connection
from django.test.utils import CaptureQueriesContext

from notifications import charts
from tests.planning import lock, make_kr, set_plan

D = Decimal


def url(kr) -> str:
    return f"/o/acme/krs/{kr.pk}/alignment/"


def page(client, user, kr) -> str:
    client.force_login(user)
    response = client.get(url(kr))
    assert response.status_code == 200
    return response.content.decode()


def test_it_shows_the_contributions_and_the_gap_after_marketing_modifies(planning, world, client):
    lock(planning.pipeline)
    set_plan(planning.marketing_kr, [800000, 800000, 800000], rationale="Channel algorithm change")
    html = page(client, world.member, planning.pipeline)
    assert "Generate $5M in new pipeline" in html
    for name in ("Marketing", "Sales", "Partnerships", "Jan 2026", "Feb 2026", "Mar 2026"):
        assert name in html
    assert "800,000" in html and "4,400,000 USD" in html and "5,000,000 USD" in html
    assert "600,000 USD" in html and "12.00%" in html
    assert "badge-critical" in html
    assert "4,400,000 USD against a target of 5,000,000 USD: 600,000 short (12.00%)" in html
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img"' in html
    assert "Open rounds" in html and "Send the impact notice" in html


def test_it_says_so_when_the_contributions_add_up(planning, world, client):
    html = page(client, world.viewer, planning.pipeline)
    assert "No problems found" in html
    assert html.count('class="chart-seg"') == 9  # 3 departments × 3 months


def test_it_shows_the_funnels_implied_targets(funnel, world, client):
    lock(funnel.parent)
    set_plan(funnel.visitors, [2400, 2400, 3200], rationale="Paid search budget cut")
    html = page(client, world.owner, funnel.parent)
    assert "Implied output" in html and "Implied target" in html
    assert "1,600" in html and "400 paid" in html
    assert "The funnel implies" in html
    assert "target 2,000, implied 1,600" in html  # the chart's description


def test_it_shows_the_parallel_claims(nps, world, client):
    html = page(client, world.owner, nps.parent)
    assert re.search(r"Raw claim</span><span class=\"figure-value\">15 points", html)
    assert re.search(r"Discounted claim</span><span class=\"figure-value\">11.25 points", html)
    assert re.search(r"Needed</span><span class=\"figure-value\">13 points", html)
    assert "Raw claim 15 points, discounted claim 11.25 points, needed 13 points." in html


def test_it_is_404_for_an_outsider(planning, world, client):
    client.force_login(world.outsider)
    assert client.get(url(planning.pipeline)).status_code == 404


def test_it_is_404_for_a_kr_of_another_organization(planning, world, client):
    client.force_login(world.owner)
    assert client.get("/o/acme/krs/999999/alignment/").status_code == 404
    assert client.get(f"/o/globex/krs/{planning.pipeline.pk}/alignment/").status_code == 404


def test_it_redirects_anonymous_visitors_to_log_in(planning, client):
    response = client.get(url(planning.pipeline))
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_it_costs_the_same_queries_for_3_and_30_children(planning, world, client):
    client.force_login(world.owner)
    client.get(url(planning.pipeline))  # warm the session
    with CaptureQueriesContext(connection) as three:
        assert client.get(url(planning.pipeline)).status_code == 200
    for n in range(27):
        child = make_kr(
            world,
            planning.objective,
            title=f"Region {n} pipeline",
            parent=planning.pipeline,
            department=world.sales,
            owner=world.sales_lead,
        )
        set_plan(child, [1000, 1000, 1000])
    with CaptureQueriesContext(connection) as thirty:
        response = client.get(url(planning.pipeline))
    assert response.content.decode().count('class="chart-seg"') == 90
    assert len(thirty) == len(three), [q["sql"] for q in thirty.captured_queries]


# charts.py: pure functions


def test_it_draws_one_segment_per_child_per_period_and_the_target_line():
    chart = charts.additive_chart(
        chart_id="c",
        title="Pipeline",
        unit="USD",
        periods=["Jan", "Feb", "Mar"],
        series=[("Marketing", [D(1), D(2), D(3)]), ("Sales", [D(4), D(5), D(6)])],
        targets=[D(5), D(7), D(9)],
    )
    assert chart.svg.count('class="chart-seg"') == 6
    assert chart.svg.count('class="chart-target"') == 1
    assert 'role="img" aria-labelledby="c-title c-desc"' in chart.svg
    assert '<title id="c-title">Pipeline</title>' in chart.svg
    assert "Feb: 7 USD planned against 7 USD" in chart.svg
    assert 'viewBox="0 0 640 300" width="100%"' in chart.svg
    assert [item.label for item in chart.legend] == ["Marketing", "Sales", "Target per period"]


def test_it_escapes_labels():
    chart = charts.additive_chart(
        chart_id="c",
        title="<b>",
        unit="$",
        periods=["Q1"],
        series=[("R&D", [D(1)])],
        targets=[D(1)],
    )
    assert "<b>" not in chart.svg and "R&amp;D" in chart.svg


def test_the_target_per_period_is_the_parents_plan_or_an_even_split():
    assert charts.period_targets(target=D(90), own_values=[D(10), D(20), D(60)], periods=3) == [
        D(10),
        D(20),
        D(60),
    ]
    assert charts.period_targets(target=D(90), own_values=[D(0)] * 3, periods=3) == [D(30)] * 3


def test_the_funnel_puts_target_and_implied_side_by_side():
    chart = charts.funnel_chart(
        chart_id="f",
        title="Funnel",
        stages=[
            ("1. Visitors", D(10000), D(10000), "visitors"),
            ("2. Trials", D(2000), D(1600), "trials"),
        ],
    )
    assert chart.svg.count('class="chart-bar"') == 4
    assert "2. Trials: target 2,000 trials, implied 1,600 trials" in chart.svg


def test_the_parallel_chart_shows_raw_discounted_and_needed():
    chart = charts.parallel_chart(
        chart_id="p", title="NPS", unit="points", raw=D(15), discounted=D("11.25"), needed=D(13)
    )
    assert chart.svg.count('class="chart-bar"') == 3
    assert "Raw claim 15 points, discounted claim 11.25 points, needed 13 points." in chart.svg


def test_the_funnel_writes_each_stage_label_whole():
    label = "3. Trials converted to paying customers in the quarter, counted at signature"
    chart = charts.funnel_chart(
        chart_id="f", title="Funnel", stages=[(label, D(500), D(400), "paid")]
    )
    lines = re.findall(r"<text [^>]*font-weight=\"600\">([^<]*)</text>", chart.svg)
    assert " ".join(lines) == label
    assert all(charts.text_width(line) <= charts.ROWS_WIDTH - 8 for line in lines)
    assert "…" not in chart.svg


def _charts() -> list[charts.Chart]:
    return [
        charts.additive_chart(
            chart_id="a",
            title="Pipeline",
            unit="USD",
            periods=["Jan"],
            series=[("Marketing", [D(1)])],
            targets=[D(1)],
        ),
        charts.funnel_chart(chart_id="f", title="F", stages=[("1. V", D(2), D(1), "v")]),
        charts.parallel_chart(
            chart_id="p", title="P", unit="pt", raw=D(3), discounted=D(2), needed=D(1)
        ),
    ]


def test_no_style_rule_reaches_into_a_chart(settings):
    """A chart's geometry is its SVG attributes; CSS outranks those, so a page rule on a
    class or element inside a chart would redraw it (the progress bar's `.bar {width:
    160px}` once made every funnel bar 160 px). No selector of the style sheet names one."""
    css = (settings.BASE_DIR / "static" / "css" / "app.css").read_text()
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    selectors = [s.strip() for s in re.findall(r"([^{}]+)\{[^{}]*\}", css)]
    inside = set()
    elements = set()
    for chart in _charts():
        body = chart.svg.split(">", 1)[1]  # inside the <svg> root
        inside |= {c for attr in re.findall(r'class="([^"]+)"', body) for c in attr.split()}
        elements |= set(re.findall(r"<([a-z]+)[\s>/]", body))
    assert inside and {"rect", "text"} <= elements
    for selector in selectors:
        classes = set(re.findall(r"\.([\w-]+)", selector))
        bare = re.sub(r"\[.*?\]|\(.*?\)", "", selector)  # attributes, :has(), :not()
        tags = set(re.findall(r"(?<![\w.#:-])([a-z]+)(?![\w-])", bare))
        assert not classes & inside, selector
        assert not tags & elements, selector


def test_compact_axis_labels():
    assert [charts.compact(D(v)) for v in (0, 12, 2500, 1500000)] == ["0", "12", "2.5k", "1.5M"]


def test_nice_ticks_reach_the_top_in_round_steps():
    assert charts.nice_ticks(D(5250000)) == [D(0), D(2000000), D(4000000), D(6000000)]
    assert charts.nice_ticks(D("9.45")) == [D(0), D("2.5"), D(5), D("7.5"), D(10)]


def test_the_target_per_period_is_shown_to_the_units_decimals(planning, world, client):
    """A parent without a plan of its own: its target split evenly, 100 over three
    months, shown as 33.33 (USD: 2 decimals), not as 33.333333333333333333333333."""
    parent = make_kr(world, planning.objective, title="Evenly split", target=D(100), decimals=2)
    make_kr(world, planning.objective, title="Its part", target=D(100), parent=parent)
    html = page(client, world.owner, parent)
    row = re.search(r'<tr class="target-row">.*?</tr>', html, re.S).group(0)
    assert row.count(">33.33</td>") == 3, row
    assert "33.3333" not in html


def test_a_rounds_modified_kr_is_shown_in_its_own_unit(funnel, nps, world, client):
    """Issue 16 §5: "Website visitors (now 8,000 paid)", "(now 100 points)" for a plan in
    %: a contribution's figures are in its own unit, not the shared KR's."""
    lock(funnel.parent)
    set_plan(funnel.visitors, [2400, 2400, 3200], rationale="Paid search budget cut")
    html = page(client, world.owner, funnel.parent)
    assert "Marketing modified “Website visitors” (now 8,000 visitors)." in html
    assert '<td class="num">8,000 visitors</td>' in html  # the contributions' Target column
    lock(nps.parent)
    set_plan(nps.success, [30, 30, 50], rationale="A second onboarding call")
    html = page(client, world.owner, nps.parent)
    assert "Marketing modified “Onboarding CSAT” (now 110 %)." in html
    assert '<td class="num">8 points</td>' in html  # a claim is in the shared KR's metric
