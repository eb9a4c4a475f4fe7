"""The plan editor page (/o/<org>/krs/<id>/plan/) and its check-ins (SPEC.md §6)."""

from decimal import Decimal

import pytest
from django.test import Client

from notifications.models import Notification
from plans.models import CheckIn, Plan, PlanRevision
from tests.planning import lock, make_kr, set_plan

D = Decimal


def url(kr) -> str:
    return f"/o/acme/krs/{kr.pk}/plan/"


def checkin_url(kr) -> str:
    return f"/o/acme/krs/{kr.pk}/checkins/"


def plan_of(kr) -> Plan:
    return Plan.objects.get(kr=kr)


def post_values(client, kr, values, version=None, **extra):
    version = plan_of(kr).version if version is None else version
    return client.post(url(kr), {"values": values, "version": version, **extra})


def test_it_shows_the_periods_values_totals_and_centroid(planning, world, client):
    client.force_login(planning.partnerships_kr.owner)  # pat, the lead of Partnerships
    response = client.get(url(planning.partnerships_kr))
    assert response.status_code == 200
    html = response.content.decode()
    assert "<h1>Partner-sourced pipeline</h1>" in html
    for i, (label, value) in enumerate(
        [("Jan 2026", "100000"), ("Feb 2026", "200000"), ("Mar 2026", "200000")]
    ):
        assert f'<label for="value-{i}">{label}</label>' in html
        assert f'id="value-{i}" name="values" value="{value}"' in html
    assert 'id="live-total">500,000 <span class="unit">USD' in html
    # centroid of [1, 2, 2]: (0 + 2 + 4) / (2 * 5) = 0.6
    assert 'id="live-centroid">0.60<' in html
    assert 'name="version" value="2"' in html
    assert 'aria-live="polite"' in html
    assert f'href="/o/acme/krs/{planning.pipeline.pk}/alignment/"' in html  # the shared parent
    html = client.get(url(planning.pipeline)).content.decode()
    assert "this plan sets the shared target" in html


def test_it_saves_the_values_through_the_plan_service(planning, world, client):
    kr = planning.marketing_kr
    client.force_login(world.marketing_lead)
    response = post_values(client, kr, ["800,000", "800000", "800000"])
    assert response.status_code == 302 and response["Location"] == url(kr)
    plan = plan_of(kr)
    assert plan.values == [D(800000)] * 3 and plan.version == 3
    kr.refresh_from_db()
    assert kr.target == D(2400000)
    revision = PlanRevision.objects.get(kr=kr, version=3)
    assert revision.actor == world.marketing_lead and revision.cause == "edit"
    html = client.get(url(kr)).content.decode()
    assert "Saved the plan: version 3." in html


def _assert_nothing_written(kr, version=2):
    plan = plan_of(kr)
    assert plan.version == version and plan.values == [D(1000000)] * 3
    assert not PlanRevision.objects.filter(kr=kr, version=version + 1).exists()


def test_it_names_the_period_of_a_negative_value_and_keeps_what_was_typed(planning, world, client):
    kr = planning.marketing_kr
    client.force_login(world.marketing_lead)
    response = post_values(client, kr, ["900000", "-5", "700000"])
    assert response.status_code == 400
    html = response.content.decode()
    assert "Nothing was saved." in html
    assert "Feb 2026 (value 2): a cumulative key result counts a flow" in html
    assert 'id="value-1" name="values" value="-5" autocomplete="off" aria-invalid="true"' in html
    assert 'aria-describedby="value-1-error" autofocus>' in html and 'id="value-1-error"' in html
    assert 'value="900000"' in html and 'value="700000"' in html
    _assert_nothing_written(kr)


def test_it_names_the_period_of_a_value_with_too_many_decimals(planning, world, client):
    kr = planning.marketing_kr
    client.force_login(world.marketing_lead)
    response = post_values(client, kr, ["1000000", "1000000", "1000000.125"])
    assert response.status_code == 400
    html = response.content.decode()
    assert "Mar 2026 (value 3): Use at most 2 decimal places for USD (got 1000000.125)." in html
    assert 'value="1000000.125"' in html
    _assert_nothing_written(kr)


def test_it_names_the_period_of_a_value_that_is_not_a_number(planning, world, client):
    kr = planning.marketing_kr
    client.force_login(world.marketing_lead)
    response = post_values(client, kr, ["1000000", "lots", "1000000"])
    assert response.status_code == 400
    assert "Feb 2026 (value 2): “lots” is not a number (write digits" in response.content.decode()
    _assert_nothing_written(kr)


def test_it_explains_a_stale_version_and_offers_to_reload(planning, world, client):
    kr = planning.marketing_kr
    client.force_login(world.marketing_lead)
    set_plan(kr, [900000, 900000, 900000], actor=world.admin)  # someone else saves: v3
    response = post_values(client, kr, ["1", "2", "3"], version=2)
    assert response.status_code == 409
    html = response.content.decode()
    assert "Someone else saved this plan while you were editing it" in html
    assert "it is now at version 3, and you started from version 2" in html
    assert f'<a class="button" href="{url(kr)}">Reload the current plan</a>' in html
    assert 'value="1"' in html and 'value="3"' in html  # what was typed is kept
    assert plan_of(kr).version == 3 and plan_of(kr).values == [D(900000)] * 3


def test_it_applies_a_shape_preset_to_a_target(planning, world, client):
    kr = planning.marketing_kr
    client.force_login(world.marketing_lead)
    response = client.post(
        url(kr),
        {
            "values": ["1", "1", "1"],
            "version": 2,
            "action": "shape",
            "shape": "front_loaded",
            "target": "2,400,000",
        },
    )
    assert response.status_code == 302
    plan = plan_of(kr)
    assert plan.values == [D(1200000), D(800000), D(400000)]
    assert plan.shape == "front_loaded"
    assert PlanRevision.objects.get(kr=kr, version=3).cause == "shape"


def test_it_says_inline_when_there_is_no_history_to_shape_from(planning, world, client):
    kr = planning.marketing_kr
    client.force_login(world.marketing_lead)
    response = client.post(
        url(kr),
        {"values": ["7", "8", "9"], "version": 2, "action": "shape", "shape": "history"},
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "Give the target to reach, as a number." in html
    response = client.post(
        url(kr),
        {
            "values": ["7", "8", "9"],
            "version": 2,
            "action": "shape",
            "shape": "history",
            "target": "3000000",
        },
    )
    html = response.content.decode()
    assert "No history has been imported for this key result yet." in html
    assert 'id="shape-error"' in html and 'value="history" selected' in html
    assert 'value="7"' in html
    _assert_nothing_written(kr)


def test_it_becomes_the_modification_form_when_the_plan_is_locked(planning, world, client):
    lock(planning.pipeline)
    kr = planning.marketing_kr
    client.force_login(world.marketing_lead)
    html = client.get(url(kr)).content.decode()
    assert "Modify the locked plan" in html and "This plan is locked." in html
    assert "The rationale is shared with the other departments" in html
    assert 'name="rationale" rows="3" required aria-required="true"' in html
    assert "Save the modification" in html

    response = post_values(client, kr, ["800000", "800000", "800000"], rationale="  ")
    assert response.status_code == 400
    html = response.content.decode()
    assert "This plan is locked: changing it is a modification, so say why" in html
    assert 'id="rationale-error"' in html and 'value="800000"' in html
    assert 'aria-invalid="true" autofocus>' in html  # the focus goes to the rationale
    assert plan_of(kr).version == 2

    response = post_values(
        client, kr, ["800000", "800000", "800000"], rationale="Channel algorithm change"
    )
    assert response.status_code == 302
    revision = PlanRevision.objects.get(kr=kr, version=3)
    assert revision.is_modification and revision.rationale == "Channel algorithm change"
    assert Notification.objects.filter(user=world.owner, kr=planning.pipeline).exists()


def test_it_answers_the_live_totals_fragment_without_writing(planning, world, client):
    kr = planning.marketing_kr
    client.force_login(world.marketing_lead)
    response = client.post(
        url(kr),
        {"values": ["0", "0", "1500"], "version": 2, "live": "1"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html
    assert 'id="live-total">1,500 <span' in html
    assert 'id="live-change">-2,998,500 <span class="unit">USD<' in html
    assert 'id="live-centroid">1.00<' in html
    response = client.post(
        url(kr), {"values": ["10", "-1", "0"], "version": 2, "live": "1"}, HTTP_HX_REQUEST="true"
    )
    assert "Feb 2026 (value 2): a cumulative key result counts a flow" in response.content.decode()
    _assert_nothing_written(kr)


def test_it_shows_a_viewer_a_read_only_plan_and_refuses_their_post(planning, world, client):
    kr = planning.marketing_kr
    client.force_login(world.viewer)
    html = client.get(url(kr)).content.decode()
    assert 'id="read-only-note"' in html and 'id="plan-form"' not in html
    assert "1,000,000" in html
    assert post_values(client, kr, ["1", "2", "3"]).status_code == 403
    assert post_values(client, kr, ["1", "2", "3"], live="1").status_code == 403
    assert client.post(checkin_url(kr), {"period": 0, "value": "5"}).status_code == 403
    _assert_nothing_written(kr)
    assert not CheckIn.objects.exists()


def test_it_refuses_a_member_who_neither_owns_nor_leads(planning, world, client):
    kr = planning.marketing_kr
    client.force_login(world.sales_lead)
    assert 'id="read-only-note"' in client.get(url(kr)).content.decode()
    assert post_values(client, kr, ["1", "2", "3"]).status_code == 403
    _assert_nothing_written(kr)


def test_it_is_404_for_an_outsider_and_for_a_foreign_kr(planning, world, client):
    kr = planning.marketing_kr
    client.force_login(world.outsider)
    assert client.get(url(kr)).status_code == 404
    assert post_values(client, kr, ["1", "2", "3"]).status_code == 404
    assert client.post(checkin_url(kr), {"period": 0, "value": "5"}).status_code == 404
    client.force_login(world.admin)
    assert client.get("/o/acme/krs/999999/plan/").status_code == 404
    assert client.get(f"/o/globex/krs/{kr.pk}/plan/").status_code == 404


def test_it_refuses_posts_without_a_csrf_token(planning, world):
    kr = planning.marketing_kr
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.marketing_lead)
    assert post_values(client, kr, ["1", "2", "3"]).status_code == 403
    assert client.post(checkin_url(kr), {"period": 0, "value": "5"}).status_code == 403
    _assert_nothing_written(kr)
    client.get(url(kr))
    token = client.cookies["csrftoken"].value
    response = client.post(
        url(kr), {"values": ["1", "2", "3"], "version": 2, "csrfmiddlewaretoken": token}
    )
    assert response.status_code == 302


@pytest.mark.parametrize("siblings", [3, 30])
def test_it_costs_the_same_queries_however_many_krs(
    planning, world, client, django_assert_num_queries, siblings
):
    for n in range(siblings):
        child = make_kr(
            world,
            planning.objective,
            title=f"Region {n}",
            parent=planning.pipeline,
            department=world.marketing,
            owner=world.marketing_lead,
        )
        set_plan(child, [10, 10, 10])
    kr = planning.marketing_kr
    for period in range(3):
        CheckIn.objects.create(
            organization=world.org, kr=kr, period=period, value=D(5), author=world.marketing_lead
        )
    client.force_login(world.marketing_lead)
    # session, user, scope; the KR (kr_get); its parent; its check-ins; its contributions
    # (none: its actuals are its own, plans/actuals.py); the badge's count (the badge
    # reuses the view's scope)
    with django_assert_num_queries(8):
        assert client.get(url(kr)).status_code == 200
    # the totals fragment, asked for as one types: session, user, scope, the KR
    with django_assert_num_queries(4):
        response = client.post(url(kr), {"values": ["1", "2", "3"], "version": 2, "live": "1"})
    assert 'id="live-total">6 <span' in response.content.decode()


# --- Check-ins ----------------------------------------------------------------------


def test_it_records_a_check_in_and_lists_it_by_period(planning, world, client):
    kr = planning.marketing_kr
    client.force_login(world.marketing_lead)
    response = client.post(
        checkin_url(kr), {"period": "1", "value": "950,000", "note": "Webinar week"}
    )
    assert response.status_code == 302 and response["Location"] == url(kr) + "#checkins"
    checkin = CheckIn.objects.get(kr=kr)
    assert (checkin.period, checkin.value, checkin.note) == (1, D(950000), "Webinar week")
    assert checkin.author == world.marketing_lead
    html = client.get(url(kr)).content.decode()
    assert "Checked in 950,000 USD for Feb 2026." in html
    assert "Webinar week" in html and "950,000" in html


def test_it_rerenders_a_bad_check_in_with_the_error_and_writes_nothing(planning, world, client):
    kr = planning.marketing_kr
    client.force_login(world.marketing_lead)
    response = client.post(checkin_url(kr), {"period": "0", "value": "-3", "note": "oops"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "The check-in was not saved." in html
    assert "A cumulative key result counts a flow: not negative." in html
    assert 'id="checkin-value" name="value" value="-3"' in html and 'value="oops"' in html
    response = client.post(checkin_url(kr), {"period": "7", "value": "3"})
    assert "Give a period index from 0 to 2." in response.content.decode()
    response = client.post(checkin_url(kr), {"period": "", "value": "many"})
    html = response.content.decode()
    assert "Choose the period this value is for." in html
    assert "“many” is not a number (write digits" in html
    response = client.post(checkin_url(kr), {"period": "0", "value": ""})
    assert "Give the actual value, as a number." in response.content.decode()
    for typed in ["1_000", "+5", "1e3", "\u0661\u0662", "\uff11\uff12"]:
        response = client.post(checkin_url(kr), {"period": "0", "value": typed})
        assert response.status_code == 400
        assert f"“{typed}” is not a number" in response.content.decode()
    assert not CheckIn.objects.exists()


def test_it_submits_the_saved_plan(planning, world, client):
    kr = planning.marketing_kr
    client.force_login(world.marketing_lead)
    assert 'form="submit-form"' in client.get(url(kr)).content.decode()
    response = client.post(url(kr), {"action": "submit"})
    assert response.status_code == 302
    assert plan_of(kr).status == "submitted"
    html = client.get(url(kr)).content.decode()
    assert "Submitted the plan" in html and 'form="submit-form"' not in html


def test_it_says_inline_why_a_plan_cannot_be_submitted(planning, world, client):
    kr = make_kr(
        world,
        planning.objective,
        title="Unplanned",
        department=world.marketing,
        owner=world.marketing_lead,
    )
    client.force_login(world.marketing_lead)
    response = client.post(url(kr), {"action": "submit"})
    assert response.status_code == 400
    assert "Plan something before submitting: all values are 0." in response.content.decode()
    assert plan_of(kr).status == "draft"


def test_it_shows_a_level_kr_by_its_final_level(nps, world, client):
    client.force_login(world.owner)
    html = client.get(url(nps.parent)).content.decode()
    assert "Expected level at the end of each period, in points" in html
    assert 'Final level</dt><dd class="figure-value" id="live-total">45 <span' in html
    assert "Start value</dt><dd>32 points" in html
    response = client.post(
        url(nps.parent), {"values": ["34", "38", "44"], "version": 2, "live": "1"}
    )
    html = response.content.decode()
    assert 'id="live-total">44 <span' in html and 'id="live-change">-1 <span' in html


def test_it_refuses_a_nul_character_in_a_rationale_or_a_note(planning, world, client):
    """PostgreSQL cannot store a NUL: the page passed it to the service, which answered
    500 there (found by the stateful fuzzing on PostgreSQL). Now a 400 naming the field."""
    kr = planning.marketing_kr
    client.force_login(world.marketing_lead)
    response = post_values(client, kr, ["800000"] * 3, rationale="Channel\x00change")
    assert response.status_code == 400
    assert "Remove the null character: it cannot be stored." in response.content.decode()
    _assert_nothing_written(kr)
    response = client.post(checkin_url(kr), {"period": "0", "value": "5", "note": "a\x00b"})
    assert response.status_code == 400
    assert "Remove the null character: it cannot be stored." in response.content.decode()
    assert not CheckIn.objects.filter(kr=kr).exists()


def test_it_refuses_a_whole_pasted_row_in_one_period_naming_the_period(planning, world, client):
    """Without JavaScript a pasted row lands in one input as it is: the one parser refuses
    it with the period's name, and nothing is written; a cell with thousands separators
    ("1,000,000", what a spreadsheet copies) is a number as typed."""
    kr = planning.marketing_kr
    client.force_login(world.marketing_lead)
    response = post_values(client, kr, ["1200000\t900000\t600000", "1", "1"])
    assert response.status_code == 400
    assert "Jan 2026 (value 1): “1200000\t900000\t600000” is not a number" in (
        response.content.decode().replace("&ldquo;", "“").replace("&rdquo;", "”")
    )
    _assert_nothing_written(kr)
    assert post_values(client, kr, ["1,200,000", "900,000", "600000"]).status_code == 302
    assert plan_of(kr).values == [D(1200000), D(900000), D(600000)]


def test_it_loads_the_paste_script_and_marks_the_period_inputs(planning, world, client):
    client.force_login(world.marketing_lead)
    html = client.get(url(planning.marketing_kr)).content.decode()
    assert '<script src="/static/js/plan-paste.js" defer></script>' in html
    assert 'data-period="0" id="value-0"' in html and 'data-period="2" id="value-2"' in html
    assert 'id="paste-note" role="status"' in html


def test_it_refuses_a_check_in_period_that_is_not_a_whole_number(planning, world, client):
    """The check-in form reads its period with the one parser: anything but a whole
    number is "choose the period", and nothing is written."""
    kr = planning.marketing_kr
    client.force_login(world.marketing_lead)
    for typed in ["first", "1.5", "1e0", "+1"]:
        response = client.post(checkin_url(kr), {"period": typed, "value": "5"})
        assert response.status_code == 400
        html = response.content.decode()
        assert "Choose the period this value is for." in html
        assert 'id="checkin-period" name="period" aria-invalid="true"' in html
    assert not CheckIn.objects.exists()


def test_a_mangled_version_is_answered_as_a_stale_one(planning, world, client):
    """The hidden version is not the person's to type: a mangled one is version 0, which
    no plan is at (409, what was typed kept), as before the editor was a Django Form."""
    kr = planning.marketing_kr
    client.force_login(world.marketing_lead)
    response = client.post(url(kr), {"values": ["1", "2", "3"], "version": "two"})
    assert response.status_code == 409
    assert 'id="value-0" name="values" value="1"' in response.content.decode()
    _assert_nothing_written(kr)
