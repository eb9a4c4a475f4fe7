"""The structure page of a KR (`/o/<org>/krs/<id>/structure/`): making it shared.

Each form: success, each error in the person's words next to its field with 400 and
nothing written, the viewer's 403, the outsider's 404, and a locked parent's refusal
(docs/decisions.md, issue 13 item 6). The services are the API's (kr_create, kr_change,
kr_stage_move, kr_contribution_update, kr_delete, dependency_create, dependency_delete).
"""

import re
from datetime import date
from decimal import Decimal
from html import unescape

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from hierarchy import services as hs
from hierarchy.models import Dependency, KeyResult
from plans.models import Plan
from tests.planning import lock, make_kr

D = Decimal
NOTATION = "write digits, with an optional leading - and decimal point, like -1234.5"
HTMX = {"HTTP_HX_REQUEST": "true"}


def page(kr) -> str:
    return f"/o/acme/krs/{kr.pk}/structure/"


def aggregation_url(kr) -> str:
    return f"/o/acme/krs/{kr.pk}/structure/aggregation/"


def add_url(kr) -> str:
    return f"/o/acme/krs/{kr.pk}/structure/contributions/"


def figures_url(child) -> str:
    return f"/o/acme/krs/{child.pk}/contribution/"


def move_url(child) -> str:
    return f"/o/acme/krs/{child.pk}/contribution/move/"


def remove_url(child) -> str:
    return f"/o/acme/krs/{child.pk}/contribution/remove/"


def dependency_url(kr) -> str:
    return f"/o/acme/krs/{kr.pk}/structure/dependencies/"


def dependency_remove_url(kr, dependency) -> str:
    return f"/o/acme/krs/{kr.pk}/structure/dependencies/{dependency.pk}/remove/"


def as_user(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def text(response) -> str:
    """The page's text, tags and entities aside, one space between words."""
    html = re.sub(r"<[^>]+>", " ", response.content.decode())
    html = unescape(html)
    return re.sub(r"\s+([:.,)])", r"\1", re.sub(r"\s+", " ", html))


def field_error(response, field_id: str) -> str:
    """The error list Django renders with the input `field_id` (its `…_error` list)."""
    html = response.content.decode()
    match = re.search(rf'<ul class="errorlist" id="{field_id}_error">(.*?)</ul>', html, re.S)
    assert match, f"no error next to {field_id}"
    return unescape(re.sub(r"<[^>]+>", "", match.group(1)).strip())


def children(kr) -> list[str]:
    return list(
        KeyResult.objects.filter(parent=kr).order_by("stage", "id").values_list("title", flat=True)
    )


@pytest.fixture
def new_kr(world, planning):
    """A KR of the owner's with nothing under it yet (what the browser test starts from)."""
    return make_kr(
        world, planning.objective, title="Win 300 new customers", unit="customers", target=D(300)
    )


# --- The page -------------------------------------------------------------------


def test_it_shows_a_funnels_stages_with_their_ratios_and_implied_targets(world, funnel):
    hs.kr_update(kr=funnel.trials, historical_ratio=D("0.18"))
    response = as_user(world.viewer).get(page(funnel.parent))
    assert response.status_code == 200
    body = text(response)
    assert "Contributions · 3 in 3 departments" in body
    assert "Implied output 500 paid" in body
    for words in ("Website visitors", "Trials started", "Trials converted", "0.18", "0.25"):
        assert words in body
    # the viewer reads: no form anywhere
    assert '<form method="post" action="/o/acme/krs/' not in response.content.decode()


def test_it_shows_a_parallel_krs_claimed_impacts_and_the_overlap(world, nps):
    body = text(as_user(world.owner).get(page(nps.parent)))
    assert "Needed 13 points Claimed 15 points After overlap 11.25 points" in body
    assert 'value="8"' in as_user(world.owner).get(page(nps.parent)).content.decode()


def test_it_explains_each_aggregation_with_the_specs_example(world, new_kr):
    body = text(as_user(world.owner).get(page(new_kr)))
    assert "Marketing 3,000,000 + Sales 1,500,000 + Partnerships 500,000 = 5,000,000 USD" in body
    assert "10,000 visitors → Product 2,000 trials (ratio 0.20) → Sales 500 paid" in body
    assert "Customer Success claims +8, Product +7: 15 claimed, 11.25 after the overlap" in body
    assert "No contributions yet. Add one per department below" in body


def test_it_links_back_to_the_combined_view_and_the_cycle_tree(world, planning):
    html = as_user(world.member).get(page(planning.marketing_kr)).content.decode()
    assert '<nav class="crumbs" aria-label="Breadcrumb">' in html
    assert f'href="/o/acme/krs/{planning.pipeline.pk}/alignment/"' not in html  # not its own
    assert f'href="/o/acme/krs/{planning.marketing_kr.pk}/alignment/">Combined view' in html
    assert f'href="/o/acme/cycles/{planning.cycle.pk}/#kr-{planning.marketing_kr.pk}"' in html
    assert f'<a href="/o/acme/krs/{planning.pipeline.pk}/structure/">' in html  # its parent


@pytest.mark.parametrize(
    ("who", "shapes"), [("owner", True), ("admin", True), ("sales_lead", False), ("member", False)]
)
def test_it_offers_the_shaping_forms_to_the_owner_and_admins_only(world, planning, who, shapes):
    """sam leads the pipeline's department (Sales) without owning it: the parent owner's."""
    html = as_user(getattr(world, who)).get(page(planning.pipeline)).content.decode()
    assert ('id="add-contribution"' in html) is shapes
    assert (f'action="{aggregation_url(planning.pipeline)}"' in html) is shapes


def test_it_answers_404_to_an_outsider_for_the_page_and_every_form(world, funnel):
    client = as_user(world.outsider)
    assert client.get(page(funnel.parent)).status_code == 404
    for url in (
        aggregation_url(funnel.parent),
        add_url(funnel.parent),
        figures_url(funnel.trials),
        move_url(funnel.trials),
        remove_url(funnel.trials),
        dependency_url(funnel.parent),
    ):
        assert client.post(url, {"direction": "up"}).status_code == 404, url


# --- Choosing the aggregation -------------------------------------------------------


def test_it_makes_a_kr_sequential(world, new_kr):
    response = as_user(world.owner).post(aggregation_url(new_kr), {"aggregation": "sequential"})
    assert response.status_code == 302
    assert response["Location"] == page(new_kr)
    assert KeyResult.objects.get(pk=new_kr.pk).aggregation == "sequential"


def test_it_refuses_an_aggregation_it_does_not_know(world, new_kr):
    response = as_user(world.owner).post(aggregation_url(new_kr), {"aggregation": "multiplied"})
    assert response.status_code == 400
    assert "Choose additive, sequential or parallel." in text(response)
    assert KeyResult.objects.get(pk=new_kr.pk).aggregation == "additive"


def test_it_keeps_the_aggregation_of_a_kr_with_children_with_the_apis_message(world, planning):
    response = as_user(world.owner).post(
        aggregation_url(planning.pipeline), {"aggregation": "parallel"}
    )
    assert response.status_code == 400
    assert "Remove or move the children before changing how they combine." in text(response)
    assert KeyResult.objects.get(pk=planning.pipeline.pk).aggregation == "additive"


@pytest.mark.parametrize(
    ("who", "status"), [("viewer", 403), ("member", 403), ("sales_lead", 403), ("outsider", 404)]
)
def test_it_leaves_the_aggregation_to_the_owner_and_admins(world, new_kr, who, status):
    response = as_user(getattr(world, who)).post(
        aggregation_url(new_kr), {"aggregation": "parallel"}
    )
    assert response.status_code == status
    assert KeyResult.objects.get(pk=new_kr.pk).aggregation == "additive"


# --- Adding a contribution ----------------------------------------------------------


def contribution(world, **fields) -> dict:
    return {
        "title": "Marketing-sourced customers",
        "department": str(world.marketing.pk),
        "owner": "",
        "unit": "customers",
        "metric_kind": "cumulative",
        "target": "1,200",
        **fields,
    }


def test_it_adds_a_contribution_owned_by_the_departments_lead_in_the_parents_objective(
    world, new_kr
):
    client = as_user(world.owner)
    response = client.post(add_url(new_kr), contribution(world))
    assert response.status_code == 302
    assert response["Location"] == page(new_kr) + "#contributions"
    child = KeyResult.objects.get(parent=new_kr)
    assert (child.title, child.owner, child.department) == (
        "Marketing-sourced customers",
        world.marketing_lead,
        world.marketing,
    )
    assert (child.objective_id, child.unit, child.target) == (
        new_kr.objective_id,
        "customers",
        D(1200),
    )
    assert Plan.objects.get(kr=child).values == [0, 0, 0]  # a draft plan of zeros
    page_text = text(client.get(page(new_kr)))
    assert "Added “Marketing-sourced customers” (Marketing, maya)" in page_text


def test_it_makes_the_kr_shared_with_a_second_department(world, new_kr):
    client = as_user(world.admin)
    client.post(add_url(new_kr), contribution(world))
    assert not KeyResult.objects.get(pk=new_kr.pk).cross_functional
    client.post(
        add_url(new_kr),
        contribution(
            world, title="Sales-closed customers", department=str(world.sales.pk), owner="sam"
        ),
    )
    assert KeyResult.objects.get(pk=new_kr.pk).cross_functional


def test_it_adds_a_funnel_stage_with_its_historical_ratio(world, funnel):
    response = as_user(world.owner).post(
        add_url(funnel.parent),
        contribution(
            world,
            title="Renewals",
            unit="renewals",
            stage="4",
            historical_ratio="0.6",
            target="300",
        ),
    )
    assert response.status_code == 302
    child = KeyResult.objects.get(parent=funnel.parent, stage=4)
    assert child.historical_ratio == D("0.6")


def test_it_adds_a_parallel_contribution_with_its_claimed_impact(world, nps):
    response = as_user(world.owner).post(
        add_url(nps.parent),
        contribution(
            world, title="Faster support replies", unit="hours", claimed_impact="3", target="4"
        ),
    )
    assert response.status_code == 302
    assert (
        KeyResult.objects.get(parent=nps.parent, title="Faster support replies").claimed_impact == 3
    )


@pytest.mark.parametrize(
    ("fields", "field_id", "message"),
    [
        ({"title": ""}, "c-title", "Give the contribution a title: what this department delivers."),
        ({"title": "Two\nlines"}, "c-title", "Use one line: no line breaks or control characters."),
        ({"department": ""}, "c-department", "Choose the department that contributes."),
        (
            {"owner": "viewer"},
            "c-owner",
            "Choose one of the organization's members (viewers own nothing).",
        ),
        ({"target": ""}, "c-target", "Give the target, as a number."),
        (
            {"target": "1e3"},
            "c-target",
            f"“1e3” is not a number ({NOTATION}).",
        ),
        ({"target": "12.5"}, "c-target", "Use at most 0 decimal places for customers (got 12.5)."),
        (
            {"target": "-5"},
            "c-target",
            "A cumulative key result counts a flow: its target cannot be negative.",
        ),
        (
            {"unit": "USD"},
            "c-unit",
            "Children of an additive key result count in its unit (customers).",
        ),
    ],
)
def test_it_refuses_a_bad_contribution_next_to_the_field(world, new_kr, fields, field_id, message):
    response = as_user(world.owner).post(add_url(new_kr), contribution(world, **fields))
    assert response.status_code == 400
    assert field_error(response, field_id) == message
    assert children(new_kr) == []
    # what was typed is shown again
    if fields.get("target"):
        assert f'value="{fields["target"]}"' in response.content.decode()


@pytest.mark.parametrize(
    ("fields", "field_id", "message"),
    [
        ({"stage": "2"}, "c-stage", "Stage 2 of this funnel exists already."),
        ({"stage": "1.5"}, "c-stage", "Stages are numbered 1, 2, 3 … (a whole number up to 50)."),
        ({"stage": ""}, "c-stage", "Give the stage's place in the funnel (1, 2, 3 …)."),
        (
            {"stage": "4", "historical_ratio": "1.5"},
            "c-historical_ratio",
            "Must be greater than 0 and at most 1.",
        ),
    ],
)
def test_it_refuses_a_bad_stage_next_to_the_field(world, funnel, fields, field_id, message):
    before = children(funnel.parent)
    response = as_user(world.owner).post(
        add_url(funnel.parent), contribution(world, unit="renewals", target="300", **fields)
    )
    assert response.status_code == 400
    assert field_error(response, field_id) == message
    assert children(funnel.parent) == before


def test_it_refuses_a_stage_that_would_move_a_locked_funnels_output(world, funnel):
    lock(funnel.parent)
    response = as_user(world.owner).post(
        add_url(funnel.parent), contribution(world, unit="renewals", stage="4", target="300")
    )
    assert response.status_code == 400
    errors = re.search(
        r'<div class="form-errors"[^>]*>(.*?)</div>', response.content.decode(), re.S
    )
    assert "“Convert 500 trial users to paid” is locked" in errors.group(1)
    assert "Renewals" not in children(funnel.parent)
    assert KeyResult.objects.filter(parent=funnel.parent).count() == 3


def test_it_answers_the_region_to_htmx_with_the_message_or_the_errors(world, new_kr):
    client = as_user(world.owner)
    done = client.post(add_url(new_kr), contribution(world), **HTMX)
    assert done.status_code == 200
    assert done.content.decode().lstrip().startswith('<div id="structure-region"')
    assert "Added “Marketing-sourced customers”" in text(done)
    failed = client.post(add_url(new_kr), contribution(world, target="many"), **HTMX)
    assert failed.status_code == 200  # htmx swaps 2xx answers only
    assert field_error(failed, "c-target").startswith("“many” is not a number")


@pytest.mark.parametrize(
    ("who", "status"),
    [("viewer", 403), ("member", 403), ("marketing_lead", 403), ("outsider", 404)],
)
def test_it_leaves_adding_contributions_to_the_owner_and_admins(world, new_kr, who, status):
    """maya leads Marketing: through the API she may create Marketing's KRs, but shaping
    someone else's shared KR is its owner's (SPEC.md §1's parent-owner actions)."""
    response = as_user(getattr(world, who)).post(add_url(new_kr), contribution(world))
    assert response.status_code == status
    assert children(new_kr) == []


# --- A contribution's figures -------------------------------------------------------


@pytest.mark.parametrize("who", ["owner", "admin"])
def test_it_sets_a_stages_historical_ratio(world, funnel, who):
    response = as_user(getattr(world, who)).post(
        figures_url(funnel.trials), {"historical_ratio": "0.18"}
    )
    assert response.status_code == 302
    assert response["Location"] == page(funnel.parent) + "#contributions"
    assert KeyResult.objects.get(pk=funnel.trials.pk).historical_ratio == D("0.18")


def test_it_lets_the_stages_own_editors_set_its_ratio_too(world, funnel, planning):
    """priya owns Product's stage (and leads Product): a KR's figures are its editors'."""
    priya = planning.product.lead
    response = as_user(priya).post(figures_url(funnel.trials), {"historical_ratio": "0.2"})
    assert response.status_code == 302


def test_it_clears_a_ratio_left_blank(world, funnel):
    hs.kr_update(kr=funnel.trials, historical_ratio=D("0.18"))
    as_user(world.owner).post(figures_url(funnel.trials), {"historical_ratio": ""})
    assert KeyResult.objects.get(pk=funnel.trials.pk).historical_ratio is None


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("1.5", "Must be greater than 0 and at most 1."),
        ("0", "Must be greater than 0 and at most 1."),
        (
            "½",
            f"“½” is not a number ({NOTATION}).",
        ),
    ],
)
def test_it_refuses_a_bad_ratio_next_to_it(world, funnel, value, message):
    response = as_user(world.owner).post(figures_url(funnel.trials), {"historical_ratio": value})
    assert response.status_code == 400
    html = response.content.decode()
    errors = re.search(rf'id="f{funnel.trials.pk}-historical_ratio-errors">(.*?)</ul>', html, re.S)
    assert re.sub(r"<[^>]+>", "", errors.group(1)).strip() == message
    assert f'value="{value}"' in html
    assert KeyResult.objects.get(pk=funnel.trials.pk).historical_ratio is None


def test_it_sets_a_claimed_impact(world, nps):
    response = as_user(world.owner).post(figures_url(nps.success), {"claimed_impact": "5"})
    assert response.status_code == 302
    assert KeyResult.objects.get(pk=nps.success.pk).claimed_impact == 5


def test_it_keeps_a_locked_parents_claimed_impact(world, nps):
    lock(nps.parent)
    response = as_user(world.owner).post(figures_url(nps.success), {"claimed_impact": "5"})
    assert response.status_code == 400
    assert "A claimed impact is fixed while the parent is locked." in text(response)
    assert KeyResult.objects.get(pk=nps.success.pk).claimed_impact == 8


@pytest.mark.parametrize(("who", "status"), [("viewer", 403), ("member", 403), ("outsider", 404)])
def test_it_refuses_the_figures_to_those_who_neither_shape_nor_edit(world, funnel, who, status):
    response = as_user(getattr(world, who)).post(
        figures_url(funnel.trials), {"historical_ratio": "0.2"}
    )
    assert response.status_code == status
    assert KeyResult.objects.get(pk=funnel.trials.pk).historical_ratio is None


def test_it_answers_404_for_a_kr_that_contributes_to_nothing(world, new_kr):
    for url in (figures_url(new_kr), move_url(new_kr), remove_url(new_kr)):
        assert as_user(world.admin).post(url, {"direction": "up"}).status_code == 404, url


# --- Ordering the funnel -------------------------------------------------------------


def test_it_moves_a_stage_up(world, funnel):
    response = as_user(world.owner).post(move_url(funnel.paid), {"direction": "up"})
    assert response.status_code == 302
    assert children(funnel.parent) == ["Website visitors", "Trials converted", "Trials started"]


def test_it_moves_a_stage_in_place_for_htmx(world, funnel):
    response = as_user(world.owner).post(move_url(funnel.visitors), {"direction": "down"}, **HTMX)
    assert response.status_code == 200
    assert "“Website visitors” is stage 2 now." in text(response)
    assert children(funnel.parent) == ["Trials started", "Website visitors", "Trials converted"]


def test_it_refuses_to_move_the_first_stage_up_next_to_its_row(world, funnel):
    response = as_user(world.owner).post(move_url(funnel.visitors), {"direction": "up"})
    assert response.status_code == 400
    assert "“Website visitors” is the first stage already." in text(response)
    assert 'class="has-errors"' in response.content.decode()


def test_it_refuses_a_move_of_a_locked_funnel(world, funnel):
    lock(funnel.parent)
    response = as_user(world.owner).post(move_url(funnel.paid), {"direction": "up"})
    assert response.status_code == 400
    assert "“Convert 500 trial users to paid” is locked" in text(response)
    assert children(funnel.parent) == ["Website visitors", "Trials started", "Trials converted"]


@pytest.mark.parametrize(
    ("who", "status"),
    [("viewer", 403), ("sales_lead", 403), ("marketing_lead", 403), ("outsider", 404)],
)
def test_it_leaves_the_order_to_the_owner_and_admins(world, funnel, who, status):
    response = as_user(getattr(world, who)).post(move_url(funnel.paid), {"direction": "up"})
    assert response.status_code == status
    assert children(funnel.parent) == ["Website visitors", "Trials started", "Trials converted"]


# --- Removing a contribution ---------------------------------------------------------


def test_it_removes_a_contribution_without_history(world, new_kr):
    child = make_kr(
        world, new_kr.objective, title="Events customers", unit="customers", parent=new_kr
    )
    response = as_user(world.owner).post(remove_url(child))
    assert response.status_code == 302
    assert response["Location"] == page(new_kr) + "#contributions"
    assert children(new_kr) == []


def test_it_keeps_a_contribution_with_a_plan_history_and_says_why(world, planning):
    response = as_user(world.owner).post(remove_url(planning.sales_kr))
    assert response.status_code == 400
    assert "This key result has a plan history or check-ins, which are kept." in text(response)
    assert "Sales outbound pipeline" in children(planning.pipeline)


def test_it_refuses_to_remove_what_a_locked_parent_counts(world, nps, planning):
    """A claim added before the lock, never planned: removing it would move the locked
    discounted claim, so the locked parent refuses (issue 13 item 6), with the figures."""
    claim = make_kr(
        world,
        planning.objective,
        title="Community events",
        unit="events",
        parent=nps.parent,
        claimed_impact=D(4),
        department=planning.product,
        owner=planning.product.lead,
    )
    lock(nps.parent)
    response = as_user(world.owner).post(remove_url(claim))
    assert response.status_code == 400
    body = text(response)
    assert (
        "“Raise NPS from 32 to 45” is locked: this would move its shared total from 14.25 to "
        "11.25 points" in body
    )
    assert KeyResult.objects.filter(pk=claim.pk).exists()


@pytest.mark.parametrize(
    ("who", "status"),
    [("viewer", 403), ("member", 403), ("marketing_lead", 403), ("outsider", 404)],
)
def test_it_leaves_removing_to_the_owner_and_admins(world, new_kr, who, status):
    child = make_kr(
        world,
        new_kr.objective,
        title="Events customers",
        unit="customers",
        parent=new_kr,
        department=world.marketing,
        owner=world.marketing_lead,
    )
    response = as_user(getattr(world, who)).post(remove_url(child))
    assert response.status_code == status
    assert children(new_kr) == ["Events customers"]


# --- Dependencies --------------------------------------------------------------------


def dependency(other, **fields) -> dict:
    return {
        "other_is": "upstream",
        "other": str(other.pk) if hasattr(other, "pk") else other,
        "assumption": "10,000 visitors by mid-quarter",
        **fields,
    }


def test_it_registers_what_a_stage_depends_on_with_its_expectation(world, funnel, planning):
    priya = planning.product.lead
    response = as_user(priya).post(
        dependency_url(funnel.trials),
        dependency(other=str(funnel.visitors.pk), expected_value="5,000", expected_by="2026-02-15"),
    )
    assert response.status_code == 302
    assert response["Location"] == page(funnel.trials) + "#dependencies"
    registered = Dependency.objects.get()
    assert (registered.upstream_id, registered.downstream_id) == (
        funnel.visitors.pk,
        funnel.trials.pk,
    )
    assert (registered.expected_value, registered.expected_by) == (D(5000), date(2026, 2, 15))
    assert registered.created_by == priya
    body = text(as_user(world.viewer).get(page(funnel.trials)))
    assert "“10,000 visitors by mid-quarter”" in body
    assert (
        "Expects 5,000 visitors by 15 Feb 2026: the upstream plan delivers 6,000 (holds)." in body
    )
    # and the other KR's page lists it the other way round
    assert "Depending on “Website visitors” Trials started" in text(
        as_user(world.viewer).get(page(funnel.visitors))
    )


def test_it_registers_a_dependency_on_this_kr_for_an_editor_of_the_other(world, funnel):
    response = as_user(world.owner).post(
        dependency_url(funnel.parent), dependency(other_is="downstream", other=str(funnel.paid.pk))
    )
    assert response.status_code == 400  # the owner edits the parent, not sam's stage
    assert field_error(response, "d-other").startswith("Only the owner of “Trials converted”")
    assert not Dependency.objects.exists()
    response = as_user(world.admin).post(
        dependency_url(funnel.parent), dependency(other_is="downstream", other=str(funnel.paid.pk))
    )
    assert response.status_code == 302
    assert Dependency.objects.get().downstream_id == funnel.paid.pk


@pytest.mark.parametrize(
    ("fields", "field_id", "message"),
    [
        ({"assumption": ""}, "d-assumption", "Write the assumption the downstream plan rests on."),
        ({"other": ""}, "d-other", "Choose the other key result."),
        ({"other_is": "sideways"}, "d-other_is", "Choose which of the two depends on the other."),
        (
            {"expected_value": "5000"},
            "d-expected_by",
            "A quantified expectation needs both a value and a date, or neither.",
        ),
        (
            {"expected_value": "5000", "expected_by": "2026-05-01"},
            "d-expected_by",
            "Must fall inside Q1 2026 (2026-01-01 to 2026-03-31).",
        ),
        (
            {"expected_value": "lots", "expected_by": "2026-02-01"},
            "d-expected_value",
            f"“lots” is not a number ({NOTATION}).",
        ),
        (
            {"expected_value": "5000", "expected_by": "15/02/2026"},
            "d-expected_by",
            "Enter a date like 2026-02-15.",
        ),
    ],
)
def test_it_refuses_a_bad_dependency_next_to_the_field(world, funnel, fields, field_id, message):
    data = dependency(**{"other": funnel.visitors, **fields})
    response = as_user(world.admin).post(dependency_url(funnel.trials), data)
    assert response.status_code == 400
    assert field_error(response, field_id) == message
    assert not Dependency.objects.exists()


def test_it_refuses_a_dependency_registered_already(world, funnel):
    data = dependency(other=str(funnel.visitors.pk))
    client = as_user(world.admin)
    client.post(dependency_url(funnel.trials), data)
    response = client.post(dependency_url(funnel.trials), data)
    assert response.status_code == 400
    assert field_error(response, "d-other") == "This dependency is registered already."
    assert Dependency.objects.count() == 1


def test_it_offers_only_the_krs_of_the_cycle(world, funnel, planning):
    other_cycle = hs.cycle_create(
        org=world.org,
        name="Q2 2026",
        start=date(2026, 4, 1),
        end=date(2026, 6, 30),
        granularity="month",
    )
    objective = hs.objective_create(
        org=world.org, cycle=other_cycle, title="Later", owner=world.owner
    )
    later = make_kr(world, objective, title="Next quarter's visitors", unit="visitors")
    response = as_user(world.admin).post(
        dependency_url(funnel.trials), dependency(other=str(later.pk))
    )
    assert response.status_code == 400
    assert field_error(response, "d-other") == "Choose another key result of this cycle."
    assert (
        "Next quarter&#x27;s visitors"
        not in as_user(world.admin).get(page(funnel.trials)).content.decode()
    )


@pytest.mark.parametrize(
    ("who", "status"), [("viewer", 403), ("member", 403), ("owner", 403), ("outsider", 404)]
)
def test_it_leaves_a_krs_dependencies_to_its_editors(world, funnel, who, status):
    """The owner of the funnel does not edit priya's stage (SPEC.md §1)."""
    response = as_user(getattr(world, who)).post(
        dependency_url(funnel.trials), dependency(other=str(funnel.visitors.pk))
    )
    assert response.status_code == status
    assert not Dependency.objects.exists()


@pytest.fixture
def registered(world, funnel):
    return hs.dependency_create(
        org=world.org,
        upstream=funnel.visitors,
        downstream=funnel.trials,
        assumption="10,000 visitors",
        actor=world.admin,
    )


def test_it_removes_a_dependency(world, funnel, registered, planning):
    response = as_user(planning.product.lead).post(dependency_remove_url(funnel.trials, registered))
    assert response.status_code == 302
    assert not Dependency.objects.exists()


def test_it_answers_404_for_a_dependency_of_other_krs(world, funnel, registered):
    response = as_user(world.admin).post(dependency_remove_url(funnel.paid, registered))
    assert response.status_code == 404
    assert Dependency.objects.exists()


@pytest.mark.parametrize(
    ("who", "status"),
    [("viewer", 403), ("member", 403), ("marketing_lead", 403), ("outsider", 404)],
)
def test_it_leaves_removing_a_dependency_to_the_downstream_editors(
    world, funnel, registered, who, status
):
    """maya owns the upstream stage: the assumption is the downstream's (the API's rule)."""
    response = as_user(getattr(world, who)).post(dependency_remove_url(funnel.visitors, registered))
    assert response.status_code == status
    assert Dependency.objects.exists()


def test_it_writes_no_plan_when_it_shapes_the_structure(world, funnel):
    """A stage's move and a ratio change what the KRs are, not their plans: no version."""
    before = list(Plan.objects.order_by("id").values_list("version", flat=True))
    client = as_user(world.owner)
    client.post(move_url(funnel.paid), {"direction": "up"})
    client.post(figures_url(funnel.trials), {"historical_ratio": "0.2"})
    assert list(Plan.objects.order_by("id").values_list("version", flat=True)) == before


def test_it_reads_the_page_in_as_many_queries_whatever_the_number_of_contributions(
    world, funnel, planning
):
    client = as_user(world.owner)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(page(funnel.parent)).status_code == 200
        return len(captured.captured_queries)

    queries()  # the session, warmed
    few = queries()
    for stage in (4, 5, 6):
        make_kr(
            world,
            planning.objective,
            title=f"Stage {stage}",
            unit="paid",
            parent=funnel.parent,
            stage=stage,
            department=planning.partnerships,
            owner=planning.partnerships.lead,
        )
    hs.dependency_create(
        org=world.org,
        upstream=funnel.visitors,
        downstream=funnel.parent,
        assumption="Visitors first",
        actor=world.admin,
    )
    assert queries() == few
