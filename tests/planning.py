"""The planning fixtures: SPEC.md §8's shared key results in Q1 2026 (monthly)."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest

from hierarchy import services as hs
from hierarchy.models import Cycle, Department, KeyResult, Objective
from plans import services as ps
from tests.conftest import make_member

D = Decimal


@dataclass
class Planning:
    cycle: Cycle
    objective: Objective
    partnerships: Department
    product: Department
    pipeline: KeyResult
    marketing_kr: KeyResult
    sales_kr: KeyResult
    partnerships_kr: KeyResult


def set_plan(kr: KeyResult, values, actor=None, rationale=None):
    kr.refresh_from_db()
    plan = kr.plan
    plan.refresh_from_db()
    return ps.plan_update(
        kr=kr,
        values=[D(str(v)) for v in values],
        version=plan.version,
        actor=actor or kr.owner,
        rationale=rationale,
    )


def make_kr(world, objective, **fields) -> KeyResult:
    defaults = {
        "org": world.org,
        "objective": objective,
        "owner": world.owner,
        "department": world.sales,
        "unit": "USD",
        "metric_kind": "cumulative",
        "target": D(0),
    }
    return hs.kr_create(**{**defaults, **fields})


@pytest.fixture
def planning(world) -> Planning:
    pat = make_member(world.org, "pat")
    priya = make_member(world.org, "priya")
    partnerships = Department.objects.create(organization=world.org, name="Partnerships", lead=pat)
    product = Department.objects.create(organization=world.org, name="Product", lead=priya)
    cycle = hs.cycle_create(
        org=world.org,
        name="Q1 2026",
        start=date(2026, 1, 1),
        end=date(2026, 3, 31),
        granularity="month",
    )
    objective = hs.objective_create(
        org=world.org, cycle=cycle, title="Grow new business", owner=world.owner
    )
    pipeline = make_kr(world, objective, title="Generate $5M in new pipeline", target=D(0))
    marketing_kr = make_kr(
        world,
        objective,
        title="Marketing pipeline",
        owner=world.marketing_lead,
        department=world.marketing,
        parent=pipeline,
    )
    sales_kr = make_kr(
        world,
        objective,
        title="Sales outbound pipeline",
        owner=world.sales_lead,
        department=world.sales,
        parent=pipeline,
    )
    partnerships_kr = make_kr(
        world,
        objective,
        title="Partner-sourced pipeline",
        owner=pat,
        department=partnerships,
        parent=pipeline,
    )
    set_plan(pipeline, [1666666.67, 1666666.67, 1666666.66])
    set_plan(marketing_kr, [1000000, 1000000, 1000000])
    set_plan(sales_kr, [500000, 500000, 500000])
    set_plan(partnerships_kr, [100000, 200000, 200000])
    for kr in (pipeline, marketing_kr, sales_kr, partnerships_kr):
        kr.refresh_from_db()
    return Planning(
        cycle=cycle,
        objective=objective,
        partnerships=partnerships,
        product=product,
        pipeline=pipeline,
        marketing_kr=marketing_kr,
        sales_kr=sales_kr,
        partnerships_kr=partnerships_kr,
    )


def lock(kr: KeyResult, actor=None):
    kr.refresh_from_db()
    return ps.plan_lock(kr=kr, actor=actor or kr.owner)


@dataclass
class Funnel:
    parent: KeyResult
    visitors: KeyResult
    trials: KeyResult
    paid: KeyResult


@pytest.fixture
def funnel(world, planning) -> Funnel:
    """SPEC.md §8 Sequential: 10,000 visitors → 2,000 trials (0.20) → 500 paid (0.25)."""
    priya = Department.objects.get(organization=world.org, name="Product").lead
    parent = make_kr(
        world,
        planning.objective,
        title="Convert 500 trial users to paid",
        unit="paid",
        aggregation="sequential",
    )
    visitors = make_kr(
        world,
        planning.objective,
        title="Website visitors",
        unit="visitors",
        parent=parent,
        stage=1,
        department=world.marketing,
        owner=world.marketing_lead,
    )
    trials = make_kr(
        world,
        planning.objective,
        title="Trials started",
        unit="trials",
        parent=parent,
        stage=2,
        department=planning.product,
        owner=priya,
    )
    paid = make_kr(
        world,
        planning.objective,
        title="Trials converted",
        unit="paid",
        parent=parent,
        stage=3,
        department=world.sales,
        owner=world.sales_lead,
    )
    set_plan(parent, [100, 150, 250])
    set_plan(visitors, [3000, 3000, 4000])
    set_plan(trials, [600, 600, 800])
    set_plan(paid, [100, 150, 250])
    for kr in (parent, visitors, trials, paid):
        kr.refresh_from_db()
    return Funnel(parent=parent, visitors=visitors, trials=trials, paid=paid)


@dataclass
class Nps:
    parent: KeyResult
    success: KeyResult
    product: KeyResult


@pytest.fixture
def nps(world, planning) -> Nps:
    """SPEC.md §8 Parallel: NPS from 32 to 45; Customer Success +8, Product +7."""
    priya = Department.objects.get(organization=world.org, name="Product").lead
    parent = make_kr(
        world,
        planning.objective,
        title="Raise NPS from 32 to 45",
        unit="points",
        metric_kind="level",
        start_value=D(32),
        target=D(45),
        aggregation="parallel",
    )
    set_plan(parent, ["36.3", "40.7", "45"])
    success = make_kr(
        world,
        planning.objective,
        title="Onboarding CSAT",
        unit="%",
        parent=parent,
        claimed_impact=D(8),
        department=world.marketing,
        owner=world.marketing_lead,
    )
    product = make_kr(
        world,
        planning.objective,
        title="Top features shipped",
        unit="features",
        parent=parent,
        claimed_impact=D(7),
        department=planning.product,
        owner=priya,
    )
    set_plan(success, [30, 30, 40])
    set_plan(product, [1, 2, 2])
    for kr in (parent, success, product):
        kr.refresh_from_db()
    return Nps(parent=parent, success=success, product=product)
