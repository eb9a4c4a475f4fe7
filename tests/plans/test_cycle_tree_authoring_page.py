"""Writing objectives and key results in the cycle tree (plans/tree_views.py): create, edit,
move, archive and restore, each for whoever SPEC.md §1 allows, with the API's validation
and messages next to the field, and nothing written on a refusal."""

import re
from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from hierarchy import services as hs
from hierarchy.models import KeyResult, Objective
from okrplan.lib.numbers import fmt
from plans.models import Plan
from tests.planning import lock, make_kr, set_plan

D = Decimal
HTMX = {"HX-Request": "true"}


def tree_url(cycle, query="") -> str:
    return f"/o/acme/cycles/{cycle.pk}/" + (f"?{query}" if query else "")


def field_errors(page: str, field_id: str) -> str:
    """The error list the input `field_id` points at (aria-describedby)."""
    match = re.search(rf'id="{field_id}"[^>]*aria-describedby="([^"]+)"', page)
    assert match, f"{field_id} shows no error"
    errors = re.search(rf'<ul class="errorlist" id="{match.group(1)}">(.*?)</ul>', page, re.S)
    assert errors, f"no error list {match.group(1)}"
    return errors.group(1)


def row(page: str, kr) -> str:
    match = re.search(rf'<tr id="kr-{kr.pk}".*?</tr>', page, re.S)
    assert match, f"no row for {kr.title}"
    return match.group(0)


def snapshot():
    """What a refused write must leave as it was."""
    return (
        list(Objective.objects.values_list("pk", "title", "owner_id", "position", "archived_at")),
        list(
            KeyResult.objects.values_list(
                "pk", "title", "target", "unit", "metric_kind", "position", "archived_at"
            )
        ),
        list(Plan.objects.values_list("pk", "version", "values_json")),
    )


# --- Objectives ---------------------------------------------------------------------


def test_it_adds_an_objective_at_the_end_owned_by_who_adds_it(planning, world, client):
    client.force_login(world.member)
    url = reverse("objective-create", args=["acme", planning.cycle.pk])
    page = client.get(url).content.decode()
    assert 'id="objective-add-title"' in page  # the tree, with the form open in its place
    response = client.post(url, {"title": "Delight customers", "department": ""})
    assert response.status_code == 302
    objective = Objective.objects.get(title="Delight customers")
    assert response["Location"] == tree_url(planning.cycle) + f"#objective-{objective.pk}"
    assert objective.owner == world.member and objective.department is None
    assert objective.position > planning.objective.position
    page = client.get(response["Location"]).content.decode()
    assert "Added the objective “Delight customers”." in page
    assert page.index(f'id="objective-{planning.objective.pk}"') < page.index(
        f'id="objective-{objective.pk}"'
    )


def test_it_refuses_a_bad_objective_next_to_the_field_and_writes_nothing(planning, world, client):
    client.force_login(world.member)
    url = reverse("objective-create", args=["acme", planning.cycle.pk])
    before = snapshot()
    response = client.post(url, {"title": "Two\nlines"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "Use one line" in field_errors(page, "objective-add-title")
    assert snapshot() == before
    response = client.post(url, {"title": "Fine", "owner": "viewer"})
    assert response.status_code == 400
    assert "viewers read only" in field_errors(response.content.decode(), "objective-add-owner")
    response = client.post(url, {"title": "", "owner": "nobody"})
    page = response.content.decode()
    assert "Required: this cannot be left empty." in field_errors(page, "objective-add-title")
    assert "No member of this organization is named" in field_errors(page, "objective-add-owner")
    assert snapshot() == before


def test_with_htmx_a_form_answers_itself_with_errors_and_the_tree_on_success(
    planning, world, client
):
    client.force_login(world.member)
    url = reverse("objective-create", args=["acme", planning.cycle.pk])
    form = client.get(url, headers=HTMX)
    assert form.status_code == 200
    fragment = form.content.decode()
    assert fragment.lstrip().startswith('<div id="objective-add"') and "<html" not in fragment
    bad = client.post(url, {"title": ""}, headers=HTMX)
    assert bad.status_code == 200  # htmx swaps 2xx only
    assert "Required: this cannot be left empty." in bad.content.decode()
    assert "<html" not in bad.content.decode()
    good = client.post(url, {"title": "Delight customers"}, headers=HTMX)
    assert good.status_code == 200
    assert good["HX-Retarget"] == "#tree" and good["HX-Reswap"] == "outerHTML"
    body = good.content.decode()
    assert body.lstrip().startswith('<div id="tree"')
    assert "Delight customers" in body and "Added the objective" in body


def test_only_its_owner_and_admins_edit_an_objective(planning, world, client):
    objective = planning.objective  # the owner's
    url = reverse("objective-edit", args=["acme", objective.pk])
    for user in (world.member, world.marketing_lead, world.viewer):
        client.force_login(user)
        assert client.get(url).status_code == 403
        assert client.post(url, {"title": "Mine now"}).status_code == 403
    client.force_login(world.outsider)
    assert client.get(url).status_code == 404
    client.force_login(world.owner)
    page = client.get(url).content.decode()
    assert f'id="objective-{objective.pk}-head-title"' in page
    response = client.post(
        url, {"title": "Grow new business fast", "owner": "maya", "department": world.sales.pk}
    )
    assert response.status_code == 302
    objective.refresh_from_db()
    assert (objective.title, objective.owner, objective.department) == (
        "Grow new business fast",
        world.marketing_lead,
        world.sales,
    )


def test_it_refuses_a_viewer_as_an_objectives_owner_next_to_the_field(planning, world, client):
    client.force_login(world.owner)
    url = reverse("objective-edit", args=["acme", planning.objective.pk])
    before = snapshot()
    response = client.post(url, {"title": "Grow", "owner": "viewer"})
    assert response.status_code == 400
    field = f"objective-{planning.objective.pk}-head-owner"
    assert "viewers read only" in field_errors(response.content.decode(), field)
    assert snapshot() == before


# --- Key results ----------------------------------------------------------------------


def kr_body(**overrides) -> dict:
    return {
        "title": "Webinar signups",
        "owner": "maya",
        "department": "",
        "unit": "signups",
        "decimals": "",
        "metric_kind": "cumulative",
        "start_value": "0",
        "target": "1,200",
        **overrides,
    }


def test_a_lead_adds_a_kr_with_a_draft_plan_of_zeros(planning, world, client):
    client.force_login(world.marketing_lead)
    url = reverse("kr-create", args=["acme", planning.objective.pk])
    page = client.get(url).content.decode()
    slot = f"objective-{planning.objective.pk}-add"
    # her department is chosen for her
    assert re.search(rf'<option value="{world.marketing.pk}" selected>Marketing</option>', page)
    response = client.post(url, kr_body(department=world.marketing.pk))
    assert response.status_code == 302
    kr = KeyResult.objects.get(title="Webinar signups")
    assert response["Location"] == tree_url(planning.cycle) + f"#kr-{kr.pk}"
    assert (kr.owner, kr.department, kr.target, kr.decimals) == (
        world.marketing_lead,
        world.marketing,
        D(1200),
        0,
    )
    assert kr.plan.values == [D(0)] * 3 and kr.plan.version == 1
    assert kr.position > planning.pipeline.position
    assert slot in page


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("target", "lots", "“lots” is not a number"),
        ("target", "1e3", "is not a number"),
        ("target", "-5", "its target cannot be negative"),
        ("target", "12.5", "Use at most 0 decimal places"),
        ("start_value", "NaN", "is not a number"),
        ("title", "", "Required: this cannot be left empty."),
        ("title", "Line\u2028break", "Use one line"),
        ("unit", "", "Required: this cannot be left empty."),
        ("department", "", "Required: give a value."),
        ("metric_kind", "flow", "is not one of the choices"),
    ],
)
def test_it_refuses_a_bad_kr_next_to_the_field_and_writes_nothing(
    planning, world, client, field, value, message
):
    client.force_login(world.marketing_lead)
    url = reverse("kr-create", args=["acme", planning.objective.pk])
    before = snapshot()
    body = {**kr_body(department=world.marketing.pk), field: value}
    response = client.post(url, body)
    assert response.status_code == 400
    slot = f"objective-{planning.objective.pk}-add"
    assert message in field_errors(response.content.decode(), f"{slot}-{field}")
    assert snapshot() == before


def test_a_member_may_not_add_a_kr_for_someone_else_in_a_department_they_do_not_lead(
    planning, world, client
):
    client.force_login(world.member)
    url = reverse("kr-create", args=["acme", planning.objective.pk])
    before = snapshot()
    response = client.post(url, kr_body(owner="maya", department=world.marketing.pk))
    assert response.status_code == 403  # the API's answer, with the form and the reason
    slot = f"objective-{planning.objective.pk}-add"
    assert "Create key results you will own" in field_errors(
        response.content.decode(), f"{slot}-owner"
    )
    assert snapshot() == before
    response = client.post(url, kr_body(owner="member", department=world.marketing.pk))
    assert response.status_code == 302  # one they will own


def test_viewers_and_outsiders_add_nothing(planning, world, client):
    urls = [
        reverse("objective-create", args=["acme", planning.cycle.pk]),
        reverse("kr-create", args=["acme", planning.objective.pk]),
    ]
    before = snapshot()
    for user, status in ((world.viewer, 403), (world.outsider, 404)):
        client.force_login(user)
        for url in urls:
            assert client.get(url).status_code == status
            assert client.post(url, kr_body(department=world.marketing.pk)).status_code == status
    assert snapshot() == before


def edit(client, kr, **changes):
    kr.refresh_from_db()
    kr.plan.refresh_from_db()
    body = {
        "title": kr.title,
        "owner": kr.owner.username,
        "department": kr.department_id,
        "unit": kr.unit,
        "decimals": kr.decimals,
        "metric_kind": kr.metric_kind,
        "start_value": fmt(kr.start_value),
        "target": fmt(kr.target),
        "version": kr.plan.version,
        **changes,
    }
    return client.post(reverse("kr-edit", args=["acme", kr.pk]), body)


def test_a_lead_edits_a_kr_and_a_new_target_moves_its_plan(planning, world, client):
    kr = planning.marketing_kr  # maya's, planned 1,000,000 a month
    client.force_login(world.marketing_lead)
    page = client.get(reverse("kr-edit", args=["acme", kr.pk])).content.decode()
    assert f'id="kr-{kr.pk}-title"' in page and 'class="editing"' in page
    response = edit(client, kr, title="Marketing-sourced pipeline", target="3,300,000")
    assert response.status_code == 302
    kr.refresh_from_db()
    kr.plan.refresh_from_db()
    assert kr.title == "Marketing-sourced pipeline" and kr.target == D(3300000)
    assert sum(kr.plan.values) == D(3300000) and kr.plan.version == 3
    page = client.get(response["Location"]).content.decode()
    assert "Its plan now adds up to the new target, 3,300,000 USD" in page


def test_a_new_target_on_a_locked_plan_needs_a_rationale_next_to_the_field(planning, world, client):
    lock(planning.pipeline)
    kr = planning.marketing_kr
    client.force_login(world.marketing_lead)
    page = client.get(reverse("kr-edit", args=["acme", kr.pk])).content.decode()
    assert "required: the plan is locked" in page
    before = snapshot()
    response = edit(client, kr, target="2400000")
    assert response.status_code == 400
    assert "rationale" in field_errors(response.content.decode(), f"kr-{kr.pk}-rationale").lower()
    assert snapshot() == before
    response = edit(client, kr, target="2400000", rationale="Channel algorithm change")
    assert response.status_code == 302
    kr.refresh_from_db()
    assert kr.target == D(2400000)
    assert kr.revisions.filter(is_modification=True).exists()


def test_the_shared_target_is_the_parent_owners_not_its_departments_lead(planning, world, client):
    pipeline = planning.pipeline  # owner's, in Sales (sam leads it)
    client.force_login(world.sales_lead)
    page = client.get(reverse("kr-edit", args=["acme", pipeline.pk])).content.decode()
    assert re.search(rf'id="kr-{pipeline.pk}-target"[^>]* disabled', page)
    assert "Only the owner of “Generate $5M in new pipeline” or an admin" in page
    before = snapshot()
    assert edit(client, pipeline, target="5100000").status_code == 403
    assert snapshot() == before
    response = edit(client, pipeline, title="Generate $5M of pipeline")  # the rest is theirs
    assert response.status_code == 302
    client.force_login(world.owner)
    assert edit(client, pipeline, target="5,100,000").status_code == 302
    pipeline.refresh_from_db()
    assert pipeline.target == D(5100000)


def test_a_stale_version_is_409_and_nothing_is_written(planning, world, client):
    kr = planning.marketing_kr
    client.force_login(world.marketing_lead)
    kr.plan.refresh_from_db()
    stale = kr.plan.version
    set_plan(kr, [1000000, 1000000, 1100000])
    before = snapshot()
    response = edit(client, kr, target="3500000", version=stale)
    assert response.status_code == 409
    assert "changed while you were editing" in response.content.decode()
    assert snapshot() == before


def test_what_a_kr_measures_changes_until_something_is_measured_in_it(planning, world, client):
    kr = make_kr(
        world,
        planning.objective,
        title="Signups",
        owner=world.marketing_lead,
        department=world.marketing,
        unit="signups",
    )
    client.force_login(world.marketing_lead)
    response = edit(client, kr, metric_kind="level", start_value="40", decimals="1", target="55.5")
    assert response.status_code == 302
    kr.refresh_from_db()
    assert (kr.metric_kind, kr.start_value, kr.decimals, kr.target) == ("level", 40, 1, D("55.5"))
    planned = planning.marketing_kr
    page = client.get(reverse("kr-edit", args=["acme", planned.pk])).content.decode()
    assert re.search(r'<fieldset class="measure" disabled', page)
    before = snapshot()
    response = edit(client, planned, metric_kind="level")
    assert response.status_code == 400
    message = field_errors(response.content.decode(), f"kr-{planned.pk}-metric_kind")
    assert "fixed now: its plan is saved" in message
    assert snapshot() == before


def test_only_who_may_edit_a_kr_opens_its_form(planning, world, client):
    kr = planning.marketing_kr
    url = reverse("kr-edit", args=["acme", kr.pk])
    for user in (world.member, world.sales_lead, world.viewer):
        client.force_login(user)
        assert client.get(url).status_code == 403
        assert edit(client, kr, title="Taken over").status_code == 403
    client.force_login(world.outsider)
    assert client.get(url).status_code == 404
    client.force_login(world.admin)
    assert client.get(url).status_code == 200


# --- Order ------------------------------------------------------------------------------


def objective_order(page: str, *objectives) -> list[int]:
    return [page.index(f'id="objective-{o.pk}"') for o in objectives]


def test_objectives_move_up_and_down_without_javascript(planning, world, client):
    second = hs.objective_create(
        org=world.org, cycle=planning.cycle, title="Delight customers", owner=world.owner
    )
    client.force_login(world.owner)
    page = client.get(tree_url(planning.cycle)).content.decode()
    assert objective_order(page, planning.objective, second) == sorted(
        objective_order(page, planning.objective, second)
    )
    response = client.post(reverse("objective-move", args=["acme", second.pk]), {"direction": "up"})
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    first, then = objective_order(page, second, planning.objective)
    assert first < then
    assert "Moved “Delight customers” up." in page
    response = client.post(reverse("objective-move", args=["acme", second.pk]), {"direction": "up"})
    page = client.get(response["Location"]).content.decode()
    assert "“Delight customers” is first already." in page
    # the API's list keeps its id order
    body = client.get(f"/api/v1/orgs/acme/objectives/?cycle={planning.cycle.pk}").json()
    assert [o["id"] for o in body["results"]] == [planning.objective.pk, second.pk]


def test_sibling_krs_move_and_the_tree_follows(planning, world, client):
    client.force_login(world.owner)  # the objective's owner arranges its KRs
    sales = planning.sales_kr
    response = client.post(reverse("kr-move", args=["acme", sales.pk]), {"direction": "up"})
    assert response.status_code == 302
    page = client.get(tree_url(planning.cycle)).content.decode()
    order = [
        page.index(f'id="kr-{kr.pk}"')
        for kr in (planning.pipeline, sales, planning.marketing_kr, planning.partnerships_kr)
    ]
    assert order == sorted(order)
    marketing_row = row(page, planning.marketing_kr)
    assert "Move “Marketing pipeline” up" in marketing_row
    assert "Move “Sales outbound pipeline” up" not in row(page, sales)  # first now
    assert "Move “Partner-sourced pipeline” down" not in row(page, planning.partnerships_kr)
    # roots move among the objective's roots
    other = make_kr(world, planning.objective, title="Expansion pipeline")
    client.post(reverse("kr-move", args=["acme", other.pk]), {"direction": "up"})
    page = client.get(tree_url(planning.cycle)).content.decode()
    assert page.index(f'id="kr-{other.pk}"') < page.index(f'id="kr-{planning.pipeline.pk}"')


def test_with_htmx_a_move_answers_the_tree_with_the_focus_kept(planning, world, client):
    client.force_login(world.owner)
    response = client.post(
        reverse("kr-move", args=["acme", planning.sales_kr.pk]),
        {"direction": "down", "back": "archived=1"},
        headers=HTMX,
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="tree"')
    assert 'id="filter-archived" checked' in body  # the filters it came from
    sales_row = row(body, planning.sales_kr)  # last now: the focus goes to its other button
    assert 'title="Move down"' not in sales_row
    assert re.search(r'title="Move up" autofocus', sales_row)


def test_a_funnels_stages_keep_their_stage_order(funnel, world, client):
    client.force_login(world.admin)
    page = client.get(tree_url(funnel.parent.cycle)).content.decode()
    assert "Move “Trials started”" not in row(page, funnel.trials)
    before = snapshot()
    response = client.post(reverse("kr-move", args=["acme", funnel.trials.pk]), {"direction": "up"})
    assert response.status_code == 400
    assert "stages are shown in funnel order" in row(response.content.decode(), funnel.trials)
    assert snapshot() == before


def test_moving_is_for_editors_of_the_kr_and_the_objectives_owner(planning, world, client):
    url = reverse("kr-move", args=["acme", planning.sales_kr.pk])
    before = snapshot()
    for user, status in ((world.viewer, 403), (world.member, 403), (world.outsider, 404)):
        client.force_login(user)
        assert client.post(url, {"direction": "up"}).status_code == status
    assert snapshot() == before
    client.force_login(world.sales_lead)
    assert client.post(url, {"direction": "up"}).status_code == 302


# --- Archive and restore -------------------------------------------------------------


def test_a_root_kr_is_archived_with_its_contributions_and_restored(planning, world, client):
    client.force_login(world.owner)
    response = client.post(reverse("kr-archive", args=["acme", planning.pipeline.pk]))
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert "Archived “Generate $5M in new pipeline” and its 3 contributions." in page
    for kr in (planning.pipeline, planning.marketing_kr):
        assert f'id="kr-{kr.pk}"' not in page
    archived = client.get(tree_url(planning.cycle, "archived=1")).content.decode()
    assert "badge-archived" in row(archived, planning.pipeline)
    assert "Restore" in row(archived, planning.pipeline)
    assert "Restore" not in row(archived, planning.marketing_kr)  # comes back with its parent
    # My work forgets them
    client.force_login(world.marketing_lead)
    assert "Marketing pipeline" not in client.get("/o/acme/me/").content.decode()
    client.force_login(world.owner)
    response = client.post(
        reverse("kr-restore", args=["acme", planning.pipeline.pk]), {"back": "archived=1"}
    )
    assert response["Location"].startswith(tree_url(planning.cycle, "archived=1"))
    page = client.get(tree_url(planning.cycle)).content.decode()
    assert f'id="kr-{planning.marketing_kr.pk}"' in page
    assert not KeyResult.objects.filter(archived_at__isnull=False).exists()


def test_a_contribution_is_not_archived_alone(planning, world, client):
    lock(planning.pipeline)
    client.force_login(world.marketing_lead)
    page = client.get(tree_url(planning.cycle)).content.decode()
    assert "Edit<span" in row(page, planning.marketing_kr)
    assert "Archive<span" not in row(page, planning.marketing_kr)  # not offered: refused
    before = snapshot()
    response = client.post(reverse("kr-archive", args=["acme", planning.marketing_kr.pk]))
    assert response.status_code == 400
    message = row(response.content.decode(), planning.marketing_kr)
    assert "counts in the aggregate of “Generate $5M in new pipeline”" in message
    assert "take it out there first" in message
    assert snapshot() == before


def test_archiving_waits_for_an_open_round(planning, world, client):
    lock(planning.pipeline)
    set_plan(planning.sales_kr, [400000, 400000, 400000], rationale="Two reps left")
    client.force_login(world.owner)
    before = snapshot()
    response = client.post(reverse("kr-archive", args=["acme", planning.pipeline.pk]))
    assert response.status_code == 400
    assert "has an open modification round: close it first" in response.content.decode()
    assert snapshot() == before


def test_a_parent_is_archived_by_its_owner_not_by_its_departments_lead(planning, world, client):
    url = reverse("kr-archive", args=["acme", planning.pipeline.pk])
    before = snapshot()
    for user in (world.sales_lead, world.marketing_lead, world.viewer, world.member):
        client.force_login(user)
        assert client.post(url).status_code == 403
    client.force_login(world.outsider)
    assert client.post(url).status_code == 404
    assert snapshot() == before
    client.force_login(world.admin)
    assert client.post(url).status_code == 302


def test_an_objective_is_archived_with_its_krs_and_restored(planning, world, client):
    client.force_login(world.owner)
    response = client.post(reverse("objective-archive", args=["acme", planning.objective.pk]))
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert "Archived the objective “Grow new business” and its 4 key results." in page
    assert f'id="objective-{planning.objective.pk}"' not in page
    assert "This cycle has no objectives yet." in page
    assert KeyResult.objects.filter(archived_at__isnull=False).count() == 4
    # nothing new goes into it
    client.force_login(world.marketing_lead)
    response = client.post(
        reverse("kr-create", args=["acme", planning.objective.pk]),
        kr_body(department=world.marketing.pk),
    )
    assert response.status_code == 400
    assert "“Grow new business” is archived: restore it first." in response.content.decode()
    client.force_login(world.owner)
    page = client.get(tree_url(planning.cycle, "archived=1")).content.decode()
    assert 'Restore<span class="sr-only"> “Grow new business”' in page
    client.post(reverse("objective-restore", args=["acme", planning.objective.pk]))
    assert not KeyResult.objects.filter(archived_at__isnull=False).exists()
    assert Objective.objects.get(pk=planning.objective.pk).archived_at is None


def test_archiving_and_restoring_twice_changes_nothing_the_second_time(planning, world, client):
    client.force_login(world.owner)
    url = reverse("objective-restore", args=["acme", planning.objective.pk])
    response = client.post(url)
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert "“Grow new business” is not archived." in page


def test_viewers_and_others_archive_nothing(planning, world, client):
    urls = [
        reverse("objective-archive", args=["acme", planning.objective.pk]),
        reverse("objective-restore", args=["acme", planning.objective.pk]),
        reverse("objective-move", args=["acme", planning.objective.pk]),
    ]
    before = snapshot()
    for user, status in ((world.viewer, 403), (world.marketing_lead, 403), (world.outsider, 404)):
        client.force_login(user)
        for url in urls:
            assert client.post(url, {"direction": "up"}).status_code == status
    assert snapshot() == before


# --- What each person is offered ----------------------------------------------------


def test_the_empty_cycle_offers_an_objective_to_writers_only(world, client):
    cycle = hs.cycle_create(
        org=world.org, name="Q2", start=date(2026, 4, 1), end=date(2026, 6, 30), granularity="month"
    )
    client.force_login(world.viewer)
    page = client.get(tree_url(cycle)).content.decode()
    assert "This cycle has no objectives yet." in page and "Add an objective" not in page
    client.force_login(world.member)
    page = client.get(tree_url(cycle)).content.decode()
    assert f'href="/o/acme/cycles/{cycle.pk}/objectives/new/"' in page
    cycles = client.get("/o/acme/cycles/").content.decode()
    assert f'href="/o/acme/cycles/{cycle.pk}/objectives/new/">Add an objective' in cycles


def test_an_objective_without_krs_offers_a_kr_to_writers(planning, world, client):
    empty = hs.objective_create(
        org=world.org, cycle=planning.cycle, title="Delight customers", owner=world.owner
    )
    link = f'href="/o/acme/objectives/{empty.pk}/krs/new/"'
    client.force_login(world.member)
    page = client.get(tree_url(planning.cycle)).content.decode()
    assert "No key results yet." in page and link in page
    client.force_login(world.viewer)
    page = client.get(tree_url(planning.cycle)).content.decode()
    assert link not in page and "Edit<span" not in page and "Archive<span" not in page


def test_no_cycles_offer_the_admins_cycle_page(world, client):
    client.force_login(world.admin)
    page = client.get("/o/acme/cycles/").content.decode()
    assert 'No cycles yet. <a href="/o/acme/admin/cycles/">Create a cycle</a>' in page
    client.force_login(world.member)
    assert "An admin creates them." in client.get("/o/acme/cycles/").content.decode()


def test_each_row_links_to_its_structure_page(planning, world, client):
    client.force_login(world.owner)
    page = client.get(tree_url(planning.cycle)).content.decode()
    link = f'<a href="/o/acme/krs/{planning.pipeline.pk}/structure/">Contributions'
    assert link in row(page, planning.pipeline)
    marketing = f'<a href="/o/acme/krs/{planning.marketing_kr.pk}/structure/">Make shared'
    assert marketing in row(page, planning.marketing_kr)
