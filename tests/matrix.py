"""The objects both permission matrices point their routes at (`objs`).

tests/test_permission_matrix.py (the API) and tests/test_page_permission_matrix.py (the
pages) call every route with the same objects, made by the services: a shared KR with an
open modification round, a child KR of Marketing owned by pat (under another KR of the
parent owner's) (so maya leads its
department without owning it), a funnel of the owner's whose first stage is that
department's, maya's review step and notification.
"""

from datetime import date, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from hierarchy import services as hs
from hierarchy.models import Department, Membership
from notifications import services as ns
from notifications import webhooks
from notifications.models import Notification, Round, StepKind
from tests.conftest import make_user
from tests.planning import lock, make_kr, set_plan

User = get_user_model()


@pytest.fixture
def objs(world, planning):
    """Real objects, made by the services, for the path parameters and the bodies."""
    org, pipeline = world.org, planning.pipeline
    pat = User.objects.get(username="pat")
    # A modification round on the shared pipeline: locked, then Sales cuts its plan.
    lock(pipeline)
    set_plan(planning.sales_kr, [400000, 400000, 400000], rationale="Two reps left")
    round = Round.objects.get(parent_kr=pipeline)
    # The KR the routes point at: Marketing's (maya leads it), owned by pat, a draft under
    # a parent of the owner's that is not locked (a KR that joins a locked parent is
    # locked with it: docs/decisions.md, issue 13 item 6).
    events = make_kr(world, planning.objective, title="Events pipeline", owner=world.owner)
    kr = make_kr(
        world,
        planning.objective,
        title="Marketing events pipeline",
        owner=pat,
        department=world.marketing,
        parent=events,
    )
    set_plan(kr, [100, 100, 100])
    set_plan(events, [300, 300, 300])  # a parent's draft that its owner may submit
    # A KR without history, which may be deleted (revisions and check-ins are kept).
    unplanned = make_kr(
        world,
        planning.objective,
        title="Marketing podcast pipeline",
        owner=pat,
        department=world.marketing,
        parent=events,
    )
    lockable = make_kr(world, planning.objective, title="Expansion pipeline", owner=world.owner)
    # A funnel of the owner's (its department is Sales) whose first stage is Marketing's,
    # owned by pat (maya leads it): the structure page's stage routes point at it.
    funnel = make_kr(
        world,
        planning.objective,
        title="Events funnel",
        owner=world.owner,
        unit="deals",
        aggregation="sequential",
    )
    stage = make_kr(
        world,
        planning.objective,
        title="Event leads",
        owner=pat,
        department=world.marketing,
        unit="leads",
        parent=funnel,
        stage=1,
    )
    make_kr(
        world,
        planning.objective,
        title="Event deals",
        owner=world.sales_lead,
        department=world.sales,
        unit="deals",
        parent=funnel,
        stage=2,
    )
    # A KR without children, at the top of the objective: archived by its editors.
    archivable = make_kr(
        world,
        planning.objective,
        title="Marketing webinars",
        owner=pat,
        department=world.marketing,
    )
    dependency = hs.dependency_create(
        org=org,
        upstream=planning.sales_kr,
        downstream=kr,
        assumption="Sales books the venues",
        actor=pat,
    )
    now = timezone.now()
    step = ns.review_open(
        kind=StepKind.DOWNWARD_REVIEW,
        kr=planning.marketing_kr,
        source_kr_id=pipeline.pk,
        due_at=now + timedelta(hours=48),
        now=now,
        message=lambda step: "The pipeline target changed: review your plan.",
    )
    notification = Notification.objects.get(step=step)
    make_user("newcomer")
    # A pending invitation of acme (its admins see and withdraw it), and one of globex to
    # maya (the `lead` column: she alone answers it; acme's people are strangers to it).
    invitation = hs.invitation_create(
        org=org, actor=world.admin, role="member", username="somebody-new"
    )
    mine = hs.invitation_create(
        org=world.other_org, actor=world.outsider, role="member", username="maya"
    )
    # A cycle without objectives, which may be deleted.
    empty_cycle = hs.cycle_create(
        org=org, name="Q3 2020", start=date(2020, 7, 1), end=date(2020, 9, 30), granularity="month"
    )
    return {
        "world": world,
        "planning": planning,
        "kr": kr,
        "events": events,
        "lockable": lockable,
        "archivable": archivable,
        "unplanned": unplanned,
        "funnel": funnel,
        "stage": stage,
        "path": {
            "org": org.slug,
            "kr_id": kr.pk,
            "objective_id": hs.objective_create(
                org=org, cycle=planning.cycle, title="Spare", owner=world.owner
            ).pk,
            "cycle_id": planning.cycle.pk,
            "member_id": Membership.objects.get(organization=org, user=world.member).pk,
            "department_id": Department.objects.create(
                organization=org, name="Events", lead=pat
            ).pk,
            "dependency_id": dependency.pk,
            "step_id": step.pk,
            "round_id": round.pk,
            "notification_id": notification.pk,
            "invitation_id": invitation.pk,
            "token": mine.token,
            "token_id": hs.personal_token_create(user=world.marketing_lead, name="maya's")[0].pk,
            "webhook_id": webhooks.webhook_create(
                org=org,
                actor=world.admin,
                url="https://hooks.example.test/okrplan",
                events=["round.opened"],
            ).pk,
        },
        "mine": mine,
        # path parameters of one route (or one operation) that differ from the defaults
        "override": {
            "api-kr-lock": {"kr_id": lockable.pk},
            "api-alignment": {"kr_id": pipeline.pk},
            ("api-kr", "delete"): {"kr_id": unplanned.pk},
            ("api-cycle", "delete"): {"cycle_id": empty_cycle.pk},
            "api-invitation-accept": {"invitation_id": mine.pk},
            "api-invitation-decline": {"invitation_id": mine.pk},
        },
    }
