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
