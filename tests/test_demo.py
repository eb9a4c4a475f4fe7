from decimal import Decimal

from django.core.management import call_command

from hierarchy.models import Department, Membership, Organization


def test_it_loads_the_demo_once_however_often_it_runs(db, api):
    call_command("load_demo")
    call_command("load_demo")
    org = Organization.objects.get(slug="acme")
    assert Membership.objects.filter(organization=org).count() == 9
    assert sorted(Department.objects.filter(organization=org).values_list("name", flat=True)) == [
        "Customer Success",
        "Engineering",
        "Marketing",
        "Partnerships",
        "Product",
        "Sales",
    ]
    response = api().post("/api/v1/auth/token/", {"username": "maya", "password": "okrplan-demo"})
    assert response.status_code == 200


def test_it_prints_the_url_and_the_logins(db, capsys):
    call_command("load_demo", url="http://127.0.0.1:8123/")
    out = capsys.readouterr().out
    assert "http://127.0.0.1:8123/" in out
    for username in ("alice", "victor", "maya", "vera"):
        assert username in out
    assert "okrplan-demo" in out


def test_it_holds_the_worked_examples_in_the_current_quarter(db):
    from datetime import date

    import time_machine

    from hierarchy.models import Cycle, KeyResult

    with time_machine.travel(date(2026, 11, 23)):
        call_command("load_demo")
        call_command("load_demo")
    cycle = Cycle.objects.get(organization__slug="acme")
    assert (cycle.name, cycle.start, cycle.end) == (
        "Q4 2026",
        date(2026, 10, 1),
        date(2026, 12, 31),
    )
    assert [p.label for p in cycle.periods] == ["Oct 2026", "Nov 2026", "Dec 2026"]
    pipeline = KeyResult.objects.get(title="Generate $5M in new pipeline")
    assert pipeline.cross_functional
    assert sorted(c.target for c in pipeline.children.all()) == [500_000, 1_500_000, 3_000_000]
    assert pipeline.plan.status == "locked"
    funnel = KeyResult.objects.get(title="Convert 500 trial users to paid")
    stages = [(c.stage, c.target, c.historical_ratio) for c in funnel.children.order_by("stage")]
    assert [(s, t) for s, t, _ in stages] == [(1, 10_000), (2, 2_000), (3, 500)]
    assert stages[1][2] == Decimal("0.18")
    nps = KeyResult.objects.get(title="Raise NPS from 32 to 45")
    assert (nps.start_value, nps.target, nps.aggregation) == (32, 45, "parallel")
    assert KeyResult.objects.filter(organization__slug="acme").count() == 12
