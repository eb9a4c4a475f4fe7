"""The demo organization the API fuzzing runs against (tests/test_api_fuzz.py, stateless;
tests/test_api_stateful_fuzz.py, along the schema's links), called through WSGI."""

from datetime import timedelta

import pytest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.utils import timezone
from rest_framework.authtoken.models import Token

from hierarchy import services as hs
from hierarchy.models import Cycle, Department, KeyResult, Membership, Objective
from notifications import services as ns
from notifications import webhooks
from notifications.models import Notification, Round, StepKind
from okrplan.demo import demo_load
from plans import services as ps


@pytest.fixture
def _keep_the_test_connection():
    """Called through WSGI (not Django's test client), Django closes the database connection
    when a request finishes in a transaction, which ends the test's own. The test client
    unhooks that signal around each request; here it is unhooked for the test."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def demo(db, _keep_the_test_connection):
    """The demo organization, a modification round, a review step and a dependency."""
    org = demo_load()
    maya = Membership.objects.get(organization=org, user__username="maya").user
    marketing = Department.objects.get(organization=org, lead=maya)
    kr = KeyResult.objects.filter(organization=org, department=marketing).order_by("id")
    kr = kr.exclude(parent=None).first()
    parent = kr.parent
    if not Round.objects.filter(parent_kr=parent).exists():
        kr.plan.refresh_from_db()
        ps.plan_update(
            kr=kr,
            values=[v * 2 for v in kr.plan.values],
            version=kr.plan.version,
            actor=maya,
            rationale="A second campaign",
        )
    round = Round.objects.filter(parent_kr=parent).latest("id")
    sibling = KeyResult.objects.filter(parent=parent).exclude(pk=kr.pk).first()
    dependency = hs.dependency_create(
        org=org, upstream=sibling, downstream=kr, assumption="They go first", actor=maya
    )
    now = timezone.now()
    step = ns.review_open(
        kind=StepKind.DOWNWARD_REVIEW,
        kr=kr,
        source_kr_id=parent.pk,
        due_at=now + timedelta(hours=48),
        now=now,
        message=lambda step: "Review your plan.",
    )
    alice = Membership.objects.get(organization=org, user__username="alice").user  # an admin
    victor = parent.owner  # the parent owner: lock, impact notice, close
    invitation = hs.invitation_create(org=org, actor=alice, role="member", username="invitee")
    webhook = webhooks.webhook_create(
        org=org, actor=alice, url="https://hooks.example.test/fuzz", events=["round.opened"]
    )
    return {
        "tokens": {
            user.username: Token.objects.get_or_create(user=user)[0].key
            for user in (maya, alice, victor)
        },
        "parent_owner": victor.username,
        "parent_id": parent.pk,
        "path": {
            "org": org.slug,
            "kr_id": kr.pk,
            "objective_id": Objective.objects.filter(organization=org).first().pk,
            "cycle_id": Cycle.objects.filter(organization=org).first().pk,
            "member_id": Membership.objects.get(organization=org, user=maya).pk,
            "department_id": marketing.pk,
            "dependency_id": dependency.pk,
            "step_id": step.pk,
            "round_id": round.pk,
            "notification_id": Notification.objects.filter(user=maya, step=step).get().pk,
            "invitation_id": invitation.pk,
            "webhook_id": webhook.pk,
        },
    }
