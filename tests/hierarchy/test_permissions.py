"""The permission functions are asked by the services too (hierarchy/permissions.py): a
caller that skips the API and the pages (a task, a command, a new view) meets the same
rule. The lead of the parent's department is the case issue 13 found open."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied

from notifications import services as ns
from notifications.models import Round
from plans import services as ps
from plans.models import Plan
from tests.planning import lock, set_plan

D = Decimal
D_DAY = date(2026, 2, 1)  # January, the first period, has begun


def _state(kr):
    plan = Plan.objects.get(kr=kr)
    return plan.version, plan.values_json, type(kr).objects.get(pk=kr.pk).target


def test_it_refuses_the_parents_plan_to_the_lead_of_its_department(world, planning):
    pipeline = planning.pipeline
    before = _state(pipeline)
    with pytest.raises(PermissionDenied, match="Only the owner of"):
        set_plan(pipeline, [1700000, 1700000, 1700000], actor=world.sales_lead)
    with pytest.raises(PermissionDenied):
        ps.kr_target_set(kr=pipeline, target=D(5100000), actor=world.sales_lead)
    assert _state(pipeline) == before
    set_plan(pipeline, [1700000, 1700000, 1700000], actor=world.owner)
    set_plan(pipeline, [1800000, 1700000, 1700000], actor=world.admin)


def test_it_leaves_a_childless_kr_to_the_lead_of_its_department(world, planning):
    kr = planning.sales_kr
    kr.owner = world.member
    kr.save(update_fields=["owner"])
    set_plan(kr, [1, 2, 3], actor=world.sales_lead)
    ps.kr_target_set(kr=kr, target=D(12), actor=world.sales_lead)
    assert _state(kr)[2] == D(12)
    with pytest.raises(PermissionDenied):
        set_plan(kr, [1, 2, 3], actor=world.marketing_lead)


def test_it_keeps_lock_notice_and_close_to_the_parent_owner(world, planning):
    pipeline = planning.pipeline
    with pytest.raises(PermissionDenied):
        ps.plan_lock(kr=pipeline, actor=world.sales_lead)
    assert Plan.objects.get(kr=pipeline).status != "locked"
    lock(pipeline)
    set_plan(planning.sales_kr, [400000, 400000, 400000], rationale="Two reps left")
    round = Round.objects.get(parent_kr=pipeline)
    with pytest.raises(PermissionDenied):
        ns.round_notice(round=round, actor=world.sales_lead, message="Please assess.")
    with pytest.raises(PermissionDenied):
        ns.round_close(round=round, actor=world.sales_lead, note="Fine.", target=D(4000000))
    round.refresh_from_db()
    assert round.status == "open" and round.noticed_at is None
    ns.round_notice(round=round, actor=world.owner, message="Please assess.")
    ns.round_close(round=round, actor=world.admin, note="Fine.")


def test_it_refuses_a_viewer_whatever_they_own(world, planning):
    with pytest.raises(PermissionDenied, match="Viewers"):
        set_plan(planning.pipeline, [1, 1, 1], actor=world.viewer)


def test_it_keeps_submitting_a_parents_plan_to_its_owner(world, planning):
    """Submitting is a plan edit (`plan_require_edit`): a parent's plan is its owner's and
    admins', not its department lead's; a childless KR's is its lead's too."""
    pipeline = planning.pipeline
    for who in (world.sales_lead, world.member, world.viewer):
        with pytest.raises(PermissionDenied):
            ps.plan_submit(kr=pipeline, actor=who)
    assert Plan.objects.get(kr=pipeline).status == "draft"
    ps.plan_submit(kr=pipeline, actor=world.owner)
    assert Plan.objects.get(kr=pipeline).status == "submitted"
    marketing = planning.marketing_kr  # maya's; the member leads nothing
    with pytest.raises(PermissionDenied):
        ps.plan_submit(kr=marketing, actor=world.member)
    assert Plan.objects.get(kr=marketing).status == "draft"
    sales = planning.sales_kr
    sales.owner = world.member
    sales.save(update_fields=["owner"])
    ps.plan_submit(kr=sales, actor=world.sales_lead)  # the childless KR's lead
    assert Plan.objects.get(kr=sales).status == "submitted"


def test_it_keeps_check_ins_and_dependencies_to_the_kr_editors(world, planning):
    """`checkin_create` and `dependency_create` take the person acting: they ask
    `kr_require_edit` of them (the downstream's, for a dependency), as the API does."""
    from hierarchy import services as hs
    from hierarchy.models import Dependency
    from plans.models import CheckIn

    kr = planning.marketing_kr  # maya's, in her department
    for who in (world.member, world.sales_lead, world.viewer):
        with pytest.raises(PermissionDenied):
            ps.checkin_create(kr=kr, period=0, value=D(5), author=who, today=D_DAY)
        with pytest.raises(PermissionDenied):
            hs.dependency_create(
                org=world.org,
                upstream=planning.sales_kr,
                downstream=kr,
                assumption="Sales goes first",
                actor=who,
            )
    assert not CheckIn.objects.filter(kr=kr).exists()
    assert not Dependency.objects.filter(downstream=kr).exists()
    ps.checkin_create(kr=kr, period=0, value=D(5), author=world.marketing_lead, today=D_DAY)
    hs.dependency_create(
        org=world.org,
        upstream=planning.sales_kr,
        downstream=kr,
        assumption="Sales goes first",
        actor=world.admin,
    )
