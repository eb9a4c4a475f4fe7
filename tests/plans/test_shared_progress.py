"""Progress that adds up (issue 16 §1): a shared KR's status and progress come from its
contributions' actuals as SPEC.md §3 aggregates them, and an objective's from those, the
same on every page and in the API (plans/actuals.py, plans/selectors.py::progress_map).

Before: the shared KR said "not started" (it has no check-ins of its own) while its
objective averaged the contributions' progress (the 14.58 % of the report)."""

import re
from datetime import date
from decimal import Decimal

from hierarchy.models import Department
from plans import services as ps
from tests.planning import make_kr, set_plan

D = Decimal
MARCH_END = date(2026, 3, 31)


def check_in(kr, period, value):
    kr.refresh_from_db()
    ps.checkin_create(kr=kr, period=period, value=D(value), author=kr.owner, today=MARCH_END)


def kr_api(api, world, kr):
    return api(world.viewer).get(f"/api/v1/orgs/acme/krs/{kr.pk}/").json()


def _january(planning):
    """January plans: Marketing 1,000,000, Sales 500,000, Partnerships 100,000; the
    pipeline's own plan 1,666,666.67. Actuals 950,000 + 400,000 + 10,000 = 1,360,000:
    81.6 % of the pipeline's plan to date (at risk), 27.20 % of its 5,000,000 target."""
    check_in(planning.marketing_kr, 0, "950000")
    check_in(planning.sales_kr, 0, "400000")
    check_in(planning.partnerships_kr, 0, "10000")


def test_an_additive_kr_is_its_contributions_summed(planning, world, api):
    _january(planning)

    body = kr_api(api, world, planning.pipeline)

    assert body["status"] == "at_risk"
    assert body["progress_pct"] == "27.20"


def test_the_kr_list_shows_the_same_as_the_kr(planning, world, api):
    _january(planning)
    listed = api(world.viewer).get("/api/v1/orgs/acme/krs/?root=1").json()["results"]

    pipeline = next(kr for kr in listed if kr["id"] == planning.pipeline.pk)
    assert (pipeline["status"], pipeline["progress_pct"]) == ("at_risk", "27.20")


def test_an_objective_counts_a_shared_kr_not_its_contributions_again(planning, world, api):
    """The objective holds the pipeline and its three contributions: the contributions
    are in the pipeline's progress already, so the objective's is the pipeline's."""
    _january(planning)
    url = f"/api/v1/orgs/acme/objectives/{planning.objective.pk}/"

    assert api(world.viewer).get(url).json()["progress_pct"] == "27.20"
    listed = api(world.viewer).get("/api/v1/orgs/acme/objectives/").json()["results"]
    assert [o["progress_pct"] for o in listed if o["id"] == planning.objective.pk] == ["27.20"]


def test_the_cycle_tree_shows_the_shared_kr_and_its_objective_from_the_contributions(
    planning, world, client
):
    _january(planning)
    client.force_login(world.viewer)

    page = client.get(f"/o/acme/cycles/{planning.cycle.pk}/").content.decode()

    pipeline = re.search(rf'<tr id="kr-{planning.pipeline.pk}".*?</tr>', page, re.S).group(0)
    assert "progress-at_risk" in pipeline and "27.2%" in pipeline
    section = page[: page.index(f'id="kr-{planning.pipeline.pk}"')]
    assert re.search(r'class="figure-value">27\.2%</span>', section)


def test_my_work_and_the_plan_page_say_the_same(planning, world, client):
    _january(planning)
    client.force_login(world.owner)  # the pipeline is the owner's

    mine = client.get("/o/acme/me/").content.decode()
    assert re.search(r"Generate \$5M in new pipeline.*?progress-at_risk.*?27\.2%", mine, re.S), (
        "My work"
    )
    plan = client.get(f"/o/acme/krs/{planning.pipeline.pk}/plan/").content.decode()
    assert 'class="progress progress-at_risk">At risk</span> <span class="pct">27.2%' in plan


def test_a_funnel_is_its_last_stage(funnel, world, api):
    """The trial-to-paid funnel's output is what its last stage converts: 90 paid users
    in January against the parent's plan of 100 (on track), 18 % of 500."""
    check_in(funnel.visitors, 0, "3000")
    check_in(funnel.trials, 0, "500")
    check_in(funnel.paid, 0, "90")

    body = kr_api(api, world, funnel.parent)

    assert (body["status"], body["progress_pct"]) == ("on_track", "18.00")


def test_a_funnel_has_not_started_before_its_last_stage_checks_in(funnel, world, api):
    check_in(funnel.visitors, 0, "3000")

    assert kr_api(api, world, funnel.parent)["status"] == "not_started"


def test_a_parallel_kr_measures_its_own_metric(nps, world, api):
    """NPS is measured, not summed: its contributions' check-ins do not make it; its own
    does (36 in January: 4 of the 4.3 points planned, 30.77 % of the 13 needed)."""
    check_in(nps.success, 0, "30")
    assert kr_api(api, world, nps.parent)["status"] == "not_started"

    check_in(nps.parent, 0, "36")
    body = kr_api(api, world, nps.parent)
    assert (body["status"], body["progress_pct"]) == ("on_track", "30.77")


def test_contributions_of_contributions_add_up_too(planning, world, api):
    """Marketing's pipeline made of two regions (Marketing's own and Product's): their
    check-ins make Marketing's actual, and Marketing's the shared pipeline's."""
    product = Department.objects.get(organization=world.org, name="Product")
    regions = [
        make_kr(
            world,
            planning.objective,
            title=f"Marketing {name}",
            department=department,
            owner=department.lead,
            parent=planning.marketing_kr,
        )
        for name, department in (("EMEA", world.marketing), ("Americas", product))
    ]
    for region in regions:
        set_plan(region, [500000, 500000, 500000])
    check_in(regions[0], 0, "450000")
    check_in(regions[1], 0, "500000")
    check_in(planning.sales_kr, 0, "400000")
    check_in(planning.partnerships_kr, 0, "10000")

    marketing = kr_api(api, world, planning.marketing_kr)
    assert (marketing["status"], marketing["progress_pct"]) == ("on_track", "31.67")
    assert kr_api(api, world, planning.pipeline)["progress_pct"] == "27.20"


def test_a_level_contribution_counts_its_latest_level_in_a_sum(planning, world, api):
    """Two teams' active users (levels) add up: a team without a check-in in a period
    counts its latest earlier level, before any its start value."""
    parent = make_kr(
        world,
        planning.objective,
        title="Active users",
        unit="users",
        metric_kind="level",
        start_value=D(100),
        target=D(300),
    )
    set_plan(parent, [150, 200, 300])
    teams = [
        make_kr(
            world,
            planning.objective,
            title=f"Active users of {name}",
            unit="users",
            metric_kind="level",
            start_value=D(50),
            target=D(150),
            department=department,
            owner=department.lead,
            parent=parent,
        )
        for name, department in (("ads", world.marketing), ("sales", world.sales))
    ]
    for team in teams:
        set_plan(team, [75, 100, 150])
    check_in(teams[0], 0, "80")
    check_in(teams[0], 1, "110")
    check_in(teams[1], 0, "70")  # February: still 70

    body = kr_api(api, world, parent)
    # February: 110 + 70 = 180 against 200 planned, both from the start value 100: 80 of
    # 100, at risk; 80 of the 200 needed: 40 %
    assert (body["status"], body["progress_pct"]) == ("at_risk", "40.00")
