"""The admin page of the propagation rules: /o/<org>/admin/rules/ (the organization's
default, and the per-KR overrides)."""

import re
from datetime import date
from decimal import Decimal

import pytest
from django.test import Client

from hierarchy import services as hs
from notifications import selectors
from notifications.models import PropagationRule
from tests.planning import make_kr

D = Decimal
URL = "/o/acme/admin/rules/"
OVERRIDES = f"{URL}krs/"


def remove_url(kr) -> str:
    return f"{OVERRIDES}{kr.pk}/remove/"


def errors_of(page: str, error_id: str) -> str:
    match = re.search(rf'<ul class="errorlist" id="{error_id}">(.*?)</ul>', page, re.S)
    assert match, f"no errors {error_id}"
    return match.group(1)


def test_it_shows_the_default_rule_checked(world, client):
    client.force_login(world.admin)
    response = client.get(URL)
    assert response.status_code == 200
    page = response.content.decode()
    assert "<h1>Propagation rules</h1>" in page
    assert '<input type="radio" name="upward" value="threshold" checked>' in page
    assert '<input type="radio" name="downward" value="notify" checked>' in page
    assert 'id="default-threshold" name="threshold_pct" value="10"' in page
    assert "No overrides: every key result follows the default." in page


def test_it_saves_the_default_rule(world, client):
    client.force_login(world.admin)
    body = {"upward": "threshold", "threshold_pct": "15", "downward": "review_required"}
    response = client.post(URL, body)
    assert response.status_code == 302 and response["Location"] == URL
    rule = PropagationRule.objects.get(organization=world.org, kr__isnull=True)
    assert (rule.upward, rule.threshold_pct, rule.downward) == (
        "threshold",
        Decimal(15),
        "review_required",
    )
    page = client.get(URL).content.decode()
    assert (
        "Default rule saved: upward: notify past 15%; downward: child owners must review." in page
    )
    assert 'value="15"' in page
    assert '<input type="radio" name="downward" value="review_required" checked>' in page


def test_a_blank_threshold_keeps_the_stored_one_like_the_api(world, client):
    client.force_login(world.admin)
    client.post(URL, {"upward": "threshold", "threshold_pct": "12.5", "downward": "none"})
    response = client.post(URL, {"upward": "notify", "threshold_pct": "", "downward": "none"})
    assert response.status_code == 302
    rule = selectors.rule_default(org=world.org)
    assert (rule.upward, rule.threshold_pct) == ("notify", Decimal("12.5"))


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"upward": "sometimes", "downward": "none"}, "upward", "is not one of the choices"),
        ({"upward": "none", "downward": "shout"}, "downward", "is not one of the choices"),
        (
            {"upward": "threshold", "threshold_pct": "0", "downward": "none"},
            "threshold",
            "above 0 and at most 1000",
        ),
        (
            {"upward": "threshold", "threshold_pct": "NaN", "downward": "none"},
            "threshold",
            "“NaN” is not a number",
        ),
        (
            {"upward": "threshold", "threshold_pct": "lots", "downward": "none"},
            "threshold",
            "is not a number",
        ),
        ({"downward": "none"}, "upward", "Required: give a value."),
    ],
)
def test_it_refuses_a_bad_default_and_writes_nothing(world, client, body, field, message):
    client.force_login(world.admin)
    response = client.post(URL, body)
    assert response.status_code == 400
    page = response.content.decode()
    assert message in errors_of(page, f"default-{field}-errors")
    assert not PropagationRule.objects.exists()


def test_it_adds_changes_and_removes_an_override(planning, world, client):
    pipeline = planning.pipeline
    client.force_login(world.admin)
    page = client.get(URL).content.decode()
    assert f'<option value="{pipeline.pk}">Generate $5M in new pipeline</option>' in page
    assert f'<option value="{planning.marketing_kr.pk}">' not in page  # no children
    response = client.post(
        OVERRIDES,
        {"kr": pipeline.pk, "upward": "threshold", "threshold_pct": "20", "downward": "none"},
    )
    assert response.status_code == 302 and response["Location"] == URL
    rule, inherited = selectors.rule_for_kr(org=world.org, kr=pipeline)
    assert (rule.upward, rule.threshold_pct, rule.downward, inherited) == (
        "threshold",
        Decimal(20),
        "none",
        False,
    )
    page = client.get(URL).content.decode()
    assert "Override for “Generate $5M in new pipeline” saved" in page
    assert f'<tr id="override-{pipeline.pk}"' in page

    response = client.post(
        OVERRIDES,
        {"kr": pipeline.pk, "source": "row", "upward": "notify", "threshold_pct": "20",
         "downward": "review_required"},
    )  # fmt: skip
    assert response.status_code == 302
    rule, _ = selectors.rule_for_kr(org=world.org, kr=pipeline)
    assert (rule.upward, rule.downward) == ("notify", "review_required")
    assert PropagationRule.objects.filter(kr=pipeline).count() == 1

    response = client.post(remove_url(pipeline))
    assert response.status_code == 302
    _, inherited = selectors.rule_for_kr(org=world.org, kr=pipeline)
    assert inherited is True
    assert "follows the organization&#x27;s default rule again" in client.get(URL).content.decode()


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"kr": ""}, "kr", "Required: give a value."),
        ({"kr": "999999"}, "kr", "Not found: nothing with id 999999 here."),
        ({"kr": "x"}, "kr", "Give its id (a whole number)."),
        ({"upward": "sometimes"}, "upward", "is not one of the choices"),
        ({"threshold_pct": "0"}, "threshold", "above 0 and at most 1000"),
        ({"downward": "shout"}, "downward", "is not one of the choices"),
    ],
)
def test_it_refuses_a_bad_override_and_writes_nothing(
    planning, world, client, change, field, message
):
    body = {"kr": str(planning.pipeline.pk), "upward": "threshold", "threshold_pct": "5",
            "downward": "none", **change}  # fmt: skip
    client.force_login(world.admin)
    response = client.post(OVERRIDES, body)
    assert response.status_code == 400
    assert message in errors_of(response.content.decode(), f"add-{field}-errors")
    assert not PropagationRule.objects.exists()


def test_a_foreign_kr_is_refused_like_a_missing_one(world, client):
    cycle = hs.cycle_create(
        org=world.other_org, name="Q1", start=date(2026, 1, 1), end=date(2026, 3, 31),
        granularity="month",
    )  # fmt: skip
    objective = hs.objective_create(
        org=world.other_org, cycle=cycle, title="Theirs", owner=world.outsider
    )
    foreign = hs.kr_create(
        org=world.other_org, objective=objective, title="Their KR", owner=world.outsider,
        department=world.other_department, unit="USD", metric_kind="cumulative", target=D(0),
    )  # fmt: skip
    client.force_login(world.admin)
    response = client.post(OVERRIDES, {"kr": str(foreign.pk), "upward": "none", "downward": "none"})
    assert response.status_code == 400
    foreign_error = errors_of(response.content.decode(), "add-kr-errors")
    response = client.post(OVERRIDES, {"kr": "999999", "upward": "none", "downward": "none"})
    missing_error = errors_of(response.content.decode(), "add-kr-errors")
    assert foreign_error.replace(str(foreign.pk), "N") == missing_error.replace("999999", "N")
    assert client.post(remove_url(foreign)).status_code == 404
    assert not PropagationRule.objects.exists()


def test_a_bad_row_shows_its_error_in_the_row(planning, world, client):
    pipeline = planning.pipeline
    PropagationRule.objects.create(organization=world.org, kr=pipeline, upward="notify")
    client.force_login(world.admin)
    response = client.post(
        OVERRIDES,
        {"kr": pipeline.pk, "source": "row", "upward": "threshold", "threshold_pct": "-3",
         "downward": "none"},
    )  # fmt: skip
    assert response.status_code == 400
    page = response.content.decode()
    assert "above 0 and at most 1000" in errors_of(page, f"override-{pipeline.pk}-threshold-errors")
    assert f'id="override-{pipeline.pk}-threshold" name="threshold_pct" value="-3"' in page
    rule = PropagationRule.objects.get(kr=pipeline)
    assert (rule.upward, rule.threshold_pct) == ("notify", Decimal(10))


@pytest.mark.parametrize("who", ["member", "viewer", "owner", "marketing_lead"])
def test_it_forbids_everyone_but_admins(planning, world, client, who):
    client.force_login(getattr(world, who))
    assert client.get(URL).status_code == 403
    assert client.post(URL, {"upward": "none", "downward": "none"}).status_code == 403
    body = {"kr": planning.pipeline.pk, "upward": "none", "downward": "none"}
    assert client.post(OVERRIDES, body).status_code == 403
    PropagationRule.objects.create(organization=world.org, kr=planning.pipeline, upward="none")
    assert client.post(remove_url(planning.pipeline)).status_code == 403
    assert PropagationRule.objects.count() == 1


def test_it_answers_404_to_an_outsider(planning, world, client):
    client.force_login(world.outsider)
    assert client.get(URL).status_code == 404
    assert client.post(URL, {"upward": "none", "downward": "none"}).status_code == 404
    body = {"kr": planning.pipeline.pk, "upward": "none", "downward": "none"}
    assert client.post(OVERRIDES, body).status_code == 404
    assert client.post(remove_url(planning.pipeline)).status_code == 404
    assert not PropagationRule.objects.exists()


def test_it_refuses_posts_without_a_csrf_token(planning, world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.admin)
    assert client.post(URL, {"upward": "none", "downward": "none"}).status_code == 403
    body = {"kr": planning.pipeline.pk, "upward": "none", "downward": "none"}
    assert client.post(OVERRIDES, body).status_code == 403
    assert not PropagationRule.objects.exists()
    PropagationRule.objects.create(organization=world.org, kr=planning.pipeline, upward="none")
    assert client.post(remove_url(planning.pipeline)).status_code == 403
    assert PropagationRule.objects.filter(kr=planning.pipeline).exists()


def test_it_costs_the_same_queries_for_few_and_many_overrides(
    planning, world, client, django_assert_num_queries
):
    client.force_login(world.admin)
    # session, user, scope, default rule, overrides, KRs with children, + the base's 2
    with django_assert_num_queries(7):
        assert client.get(URL).status_code == 200
    for i in range(15):
        parent = make_kr(world, planning.objective, title=f"Parent {i:02d}")
        make_kr(world, planning.objective, title=f"Child {i:02d}", parent=parent)
        PropagationRule.objects.create(organization=world.org, kr=parent, upward="notify")
    with django_assert_num_queries(7):
        page = client.get(URL).content.decode()
    assert page.count('<tr id="override-') == 15
