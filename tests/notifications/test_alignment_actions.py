"""The parent owner's actions on the combined view: lock, impact notice, close a
round, change the target (SPEC.md §5, §6), through the same services as the API."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.utils import timezone

from notifications.models import (
    Notification,
    NotificationKind,
    Round,
    RoundStatus,
    Step,
    StepKind,
    StepState,
)
from notifications.services import rule_set
from plans.models import Plan, PlanRevision, PlanStatus
from tests.planning import lock, make_kr, set_plan

D = Decimal
HTMX = {"HTTP_HX_REQUEST": "true"}


def alignment(kr) -> str:
    return f"/o/acme/krs/{kr.pk}/alignment/"


def lock_url(kr) -> str:
    return f"/o/acme/krs/{kr.pk}/lock/"


def target_url(kr) -> str:
    return f"/o/acme/krs/{kr.pk}/target/"


def notice_url(round) -> str:
    return f"/o/acme/rounds/{round.pk}/notice/"


def close_url(round) -> str:
    return f"/o/acme/rounds/{round.pk}/close/"


def modified(planning) -> Round:
    """SPEC.md §8: locked at 5,000,000, then Marketing modifies to 2,400,000."""
    lock(planning.pipeline)
    set_plan(planning.marketing_kr, [800000, 800000, 800000], rationale="Channel algorithm change")
    return Round.objects.get(parent_kr=planning.pipeline)


def statuses(planning) -> set[str]:
    krs = [planning.pipeline, planning.marketing_kr, planning.sales_kr, planning.partnerships_kr]
    return set(Plan.objects.filter(kr__in=krs).values_list("status", flat=True))


def told(kind) -> set[str]:
    return set(Notification.objects.filter(kind=kind).values_list("user__username", flat=True))


def csrf_from(html: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)


# --- Who sees the forms ---------------------------------------------------------


@pytest.mark.parametrize("who", ["owner", "admin"])
def test_it_shows_the_actions_to_the_parent_owner_and_admins(planning, world, client, who):
    round = modified(planning)
    client.force_login(getattr(world, who))
    html = client.get(alignment(planning.pipeline)).content.decode()
    assert "Parent owner's actions" in html
    assert f'action="{target_url(planning.pipeline)}"' in html
    assert f'hx-post="{notice_url(round)}"' in html and f'action="{close_url(round)}"' in html
    assert "Sends one message to Sales (sam), Partnerships (pat)" in html
    assert "Marketing (maya), Sales (sam), Partnerships (pat) are told the decision" in html
    assert "Partnerships (pat) are also told of the new target." in html  # downward: notify


@pytest.mark.parametrize("who", ["member", "viewer", "sales_lead", "marketing_lead"])
def test_it_shows_no_forms_to_anyone_else(planning, world, client, who):
    modified(planning)
    client.force_login(getattr(world, who))
    html = client.get(alignment(planning.pipeline)).content.decode()
    assert "Parent owner's actions" not in html
    assert '<form method="post" action="/o/acme/rounds/' not in html
    assert "Send the impact notice" in html  # the step is still listed


# --- Lock -----------------------------------------------------------------------


def test_it_locks_the_plans_of_the_kr_and_its_children(planning, world, client):
    client.force_login(world.owner)
    html = client.get(alignment(planning.pipeline)).content.decode()
    assert "Locks the plan of “Generate $5M in new pipeline” and of its 3 contributing" in html
    assert "(Marketing, Partnerships, Sales)" in html
    response = client.post(lock_url(planning.pipeline), follow=True)
    assert response.redirect_chain == [(alignment(planning.pipeline), 302)]
    assert statuses(planning) == {PlanStatus.LOCKED}
    assert Plan.objects.get(kr=planning.pipeline).baseline == D(5000000)
    html = response.content.decode()
    assert "Locked the plan of “Generate $5M in new pipeline” and of its 3 contributing" in html
    assert "Baseline: 5,000,000 USD." in html
    assert "All plans are locked." in html
    assert not Notification.objects.exists()  # locking tells no one


def test_it_locks_with_htmx_and_answers_the_pages_region(planning, world, client):
    client.force_login(world.owner)
    response = client.post(lock_url(planning.pipeline), **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="alignment-region"')
    assert "<html" not in html
    assert 'class="messages" role="status"' in html and "Locked the plan of" in html
    assert statuses(planning) == {PlanStatus.LOCKED}


def test_it_lets_an_admin_lock(planning, world, client):
    client.force_login(world.admin)
    assert client.post(lock_url(planning.pipeline)).status_code == 302
    assert statuses(planning) == {PlanStatus.LOCKED}


# --- Impact notice ----------------------------------------------------------------


def test_it_sends_the_impact_notice_and_opens_the_assess_steps(planning, world, client):
    round = modified(planning)
    client.force_login(world.owner)
    response = client.post(
        notice_url(round),
        {"message": "Marketing's MQL volume is down 20%. Sales, does this affect you?"},
        follow=True,
    )
    assert response.redirect_chain == [(alignment(planning.pipeline), 302)]
    round.refresh_from_db()
    assert round.noticed_at is not None and round.notice_message.startswith("Marketing's MQL")
    notify = round.steps.get(kind=StepKind.NOTIFY)
    assert notify.state == StepState.DONE and notify.done_by == world.owner
    assess = round.steps.filter(kind=StepKind.ASSESS, state=StepState.OPEN)
    assert {s.assignee.username for s in assess} == {"sam", "pat"}
    assert told(NotificationKind.IMPACT_NOTICE) == {"sam", "pat"}
    html = response.content.decode()
    assert "Impact notice sent for round" in html
    assert "Assess the impact" in html and html.count("Assess the impact") >= 2
    assert 'action="/o/acme/rounds/' + str(round.pk) + '/notice/"' not in html  # sent: no form


def test_it_adds_a_line_for_one_department(planning, world, client):
    round = modified(planning)
    client.force_login(world.owner)
    html = client.get(alignment(planning.pipeline)).content.decode()
    assert "Only for Sales (optional)" in html and "Only for Partnerships (optional)" in html
    assert "Only for Marketing" not in html  # the modifying department is not told
    line = "Your plan assumes 60% of leads come from Marketing MQLs."
    client.post(
        notice_url(round),
        {
            "message": "Marketing's MQL volume is down 20%.",
            f"department_{world.sales.pk}": line,
            f"department_{planning.partnerships.pk}": "  ",
        },
    )
    notices = {
        n.user.username: n.message
        for n in Notification.objects.filter(kind=NotificationKind.IMPACT_NOTICE)
    }
    assert f"Marketing's MQL volume is down 20%. For Sales: {line}" in notices["sam"]
    assert "For " not in notices["pat"] and "down 20%." in notices["pat"]
    event = round.events.get(kind="notice_sent")
    assert event.data == {"departments": {str(world.sales.pk): line}}
    assert f"For Sales: {line}" in event.message


def test_it_refuses_an_empty_notice_naming_the_field(planning, world, client):
    round = modified(planning)
    client.force_login(world.owner)
    response = client.post(notice_url(round), {"message": "  "})
    assert response.status_code == 400
    html = response.content.decode()
    assert "Write the impact notice the departments will read." in html
    assert re.search(r'<textarea name="message"[^>]*aria-invalid="true"', html)
    round.refresh_from_db()
    assert round.noticed_at is None
    assert not round.steps.filter(kind=StepKind.ASSESS).exists()
    assert not Notification.objects.filter(kind=NotificationKind.IMPACT_NOTICE).exists()


def test_it_shows_htmx_errors_in_the_region(planning, world, client):
    round = modified(planning)
    client.force_login(world.owner)
    response = client.post(notice_url(round), {"message": ""}, **HTMX)
    assert response.status_code == 200  # htmx swaps 2xx answers only
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="alignment-region"')
    assert "Write the impact notice the departments will read." in html


def test_it_refuses_a_second_notice(planning, world, client):
    round = modified(planning)
    client.force_login(world.owner)
    client.post(notice_url(round), {"message": "First."})
    response = client.post(notice_url(round), {"message": "Second."})
    assert response.status_code == 400
    assert f"{round.label}: The impact notice was sent already." in response.content.decode()
    round.refresh_from_db()
    assert round.notice_message == "First."


# --- Close --------------------------------------------------------------------------


def test_it_closes_the_round_confirming_the_target(planning, world, client):
    round = modified(planning)
    client.force_login(world.owner)
    client.post(notice_url(round), {"message": "Please assess."})
    data = {"note": "We accept the gap.", "target": ""}
    response = client.post(close_url(round), data, follow=True)
    assert response.redirect_chain == [(alignment(planning.pipeline), 302)]
    round.refresh_from_db()
    assert round.status == RoundStatus.CLOSED and round.close_note == "We accept the gap."
    assert round.closed_target == D(5000000)
    assert not round.steps.filter(state=StepState.OPEN).exists()
    assert told(NotificationKind.ROUND_CLOSED) == {"maya", "sam", "pat"}
    html = response.content.decode()
    assert f"{round.label} is closed: the shared target is 5,000,000 USD." in html
    assert "No open rounds." in html
    assert "Recently closed" in html and "“We accept the gap.”" in html


def test_it_closes_the_round_with_a_new_target(planning, world, client):
    round = modified(planning)
    client.force_login(world.owner)
    response = client.post(close_url(round), {"note": "Revised aggregate", "target": "4,600,000"})
    assert response.status_code == 302
    round.refresh_from_db()
    planning.pipeline.refresh_from_db()
    assert round.status == RoundStatus.CLOSED and round.closed_target == D(4600000)
    assert planning.pipeline.target == D(4600000)
    revision = PlanRevision.objects.filter(kr=planning.pipeline).latest("id")
    assert revision.is_modification and revision.rationale == "Revised aggregate"
    assert told(NotificationKind.ROUND_CLOSED) == {"maya", "sam", "pat"}


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"note": "", "target": ""}, "note", "Say what was decided"),
        ({"note": "Fine", "target": "lots"}, "target", "is not a number"),
        ({"note": "Fine", "target": "-5"}, "target", "cannot be negative"),
    ],
)
def test_it_refuses_a_bad_close_naming_the_field(planning, world, client, data, field, message):
    round = modified(planning)
    client.force_login(world.owner)
    response = client.post(close_url(round), data)
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html
    assert re.search(rf'name="{field}"[^>]*aria-invalid="true"', html), field
    round.refresh_from_db()
    planning.pipeline.refresh_from_db()
    assert round.status == RoundStatus.OPEN and planning.pipeline.target == D(5000000)
    assert not Notification.objects.filter(kind=NotificationKind.ROUND_CLOSED).exists()


def test_it_says_why_a_closed_round_cannot_be_closed_again(planning, world, client):
    round = modified(planning)
    client.force_login(world.owner)
    client.post(close_url(round), {"note": "Done."})
    response = client.post(close_url(round), {"note": "Again."})
    assert response.status_code == 400
    assert f"{round.label}: This round is closed already." in response.content.decode()


# --- Change the target --------------------------------------------------------------


def test_it_changes_the_target_and_notifies_the_contributors(planning, world, client):
    lock(planning.pipeline)
    version = Plan.objects.get(kr=planning.pipeline).version
    client.force_login(world.owner)
    html = client.get(alignment(planning.pipeline)).content.decode()
    assert "Downward rule <strong>notify</strong>: Marketing (maya), Sales (sam)" in html
    response = client.post(
        target_url(planning.pipeline),
        {"target": "4,600,000", "rationale": "Revised aggregate", "version": version},
        follow=True,
    )
    assert response.redirect_chain == [(alignment(planning.pipeline), 302)]
    planning.pipeline.refresh_from_db()
    assert planning.pipeline.target == D(4600000)
    assert sum(planning.pipeline.plan.values) == D(4600000)
    assert told(NotificationKind.CHANGE) == {"maya", "sam", "pat"}
    assert "is now 4,600,000 USD (was 5,000,000)" in response.content.decode()


def test_it_changes_the_target_with_review_required(planning, world, client):
    lock(planning.pipeline)
    rule_set(org=world.org, kr=planning.pipeline, upward="threshold", downward="review_required")
    client.force_login(world.owner)
    html = client.get(alignment(planning.pipeline)).content.decode()
    assert "Downward rule <strong>review required</strong>" in html
    assert "must review their plan within 48 hours" in html
    version = Plan.objects.get(kr=planning.pipeline).version
    client.post(
        target_url(planning.pipeline),
        {"target": "4600000", "rationale": "Revised", "version": version},
    )
    reviews = Step.objects.filter(kind=StepKind.DOWNWARD_REVIEW, state=StepState.OPEN)
    assert {s.assignee.username for s in reviews} == {"maya", "sam", "pat"}


def test_it_says_no_one_is_told_of_a_draft_target(planning, world, client):
    client.force_login(world.owner)
    html = client.get(alignment(planning.pipeline)).content.decode()
    assert "The plan is not locked yet, so this is a draft change: no one is notified." in html
    version = Plan.objects.get(kr=planning.pipeline).version
    client.post(target_url(planning.pipeline), {"target": "4800000", "version": version})
    planning.pipeline.refresh_from_db()
    assert planning.pipeline.target == D(4800000)
    assert not Notification.objects.exists()


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"target": "4600000", "rationale": ""}, "rationale", "This plan is locked"),
        ({"target": "", "rationale": "x"}, "target", "Required: give a value"),
        ({"target": "4.6M", "rationale": "x"}, "target", "is not a number"),
        ({"target": "4_600_000", "rationale": "x"}, "target", "“4_600_000” is not a number"),
        ({"target": "+4600000", "rationale": "x"}, "target", "“+4600000” is not a number"),
        ({"target": "46,00,000", "rationale": "x"}, "target", "“46,00,000” is not a number"),
        ({"target": "-1", "rationale": "x"}, "target", "cannot be negative"),
        ({"target": "5,000,000", "rationale": "x"}, "target", "is 5,000,000 USD already"),
    ],
)
def test_it_refuses_a_bad_target_naming_the_field(planning, world, client, data, field, message):
    lock(planning.pipeline)
    version = Plan.objects.get(kr=planning.pipeline).version
    revisions = PlanRevision.objects.count()
    client.force_login(world.owner)
    response = client.post(target_url(planning.pipeline), {**data, "version": version})
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html
    assert re.search(rf'name="{field}"[^>]*aria-invalid="true"', html), field
    planning.pipeline.refresh_from_db()
    assert planning.pipeline.target == D(5000000)
    assert PlanRevision.objects.count() == revisions
    assert not Notification.objects.exists()


def test_it_refuses_a_stale_version_and_offers_the_current_one(planning, world, client):
    version = Plan.objects.get(kr=planning.pipeline).version
    set_plan(planning.pipeline, [2000000, 2000000, 1000000])  # someone else, meanwhile
    client.force_login(world.owner)
    response = client.post(target_url(planning.pipeline), {"target": "4", "version": version})
    assert response.status_code == 400
    html = response.content.decode()
    assert "The plan changed while you were looking at it" in html
    assert f'name="version" value="{version + 1}"' in html
    planning.pipeline.refresh_from_db()
    assert planning.pipeline.target == D(5000000)


# --- Permissions, tenancy, CSRF --------------------------------------------------------


def _posts(planning, round):
    version = Plan.objects.get(kr=planning.pipeline).version
    return [
        (lock_url(planning.pipeline), {}),
        (target_url(planning.pipeline), {"target": "1", "rationale": "x", "version": version}),
        (notice_url(round), {"message": "Hello"}),
        (close_url(round), {"note": "Done"}),
    ]


@pytest.mark.parametrize("who", ["member", "viewer", "sales_lead", "marketing_lead"])
def test_it_is_403_for_everyone_but_the_parent_owner_and_admins(planning, world, client, who):
    round = modified(planning)
    revisions = PlanRevision.objects.count()
    client.force_login(getattr(world, who))
    for url, data in _posts(planning, round):
        assert client.post(url, data).status_code == 403, url
        assert client.post(url, data, **HTMX).status_code == 403, url
    round.refresh_from_db()
    assert round.status == RoundStatus.OPEN and round.noticed_at is None
    assert PlanRevision.objects.count() == revisions


def test_it_is_404_for_an_outsider(planning, world, client):
    round = modified(planning)
    client.force_login(world.outsider)
    for url, data in _posts(planning, round):
        assert client.post(url, data).status_code == 404, url
        assert client.post(url.replace("/o/acme/", "/o/globex/"), data).status_code == 404, url


def test_it_answers_get_with_405(planning, world, client):
    round = modified(planning)
    client.force_login(world.owner)
    for url, _ in _posts(planning, round):
        assert client.get(url).status_code == 405, url


def test_it_refuses_posts_without_a_csrf_token(planning, world):
    round = modified(planning)
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.owner)
    for url, data in _posts(planning, round):
        assert client.post(url, data).status_code == 403, url
        assert client.post(url, data, **HTMX).status_code == 403, url
    round.refresh_from_db()
    assert round.noticed_at is None and round.status == RoundStatus.OPEN
    token = csrf_from(client.get(alignment(planning.pipeline)).content.decode())
    response = client.post(notice_url(round), {"message": "Hi"}, HTTP_X_CSRFTOKEN=token, **HTMX)
    assert response.status_code == 200  # the header that <body hx-headers> sends is enough
    round.refresh_from_db()
    assert round.noticed_at is not None


# --- Rounds, deadlines, queries ------------------------------------------------------------


def test_it_marks_overdue_steps_with_text_and_a_class(planning, world, client):
    modified(planning)
    client.force_login(world.owner)
    with time_machine.travel(timezone.now() + timedelta(hours=25)):
        html = client.get(alignment(planning.pipeline)).content.decode()
    assert '<tr class="overdue">' in html
    assert '<span class="badge badge-critical">1\xa0hour overdue</span>' in html


def _add_children(world, planning, n):
    for i in range(n):
        child = make_kr(
            world,
            planning.objective,
            title=f"Region {i} pipeline",
            parent=planning.pipeline,
            department=world.sales,
            owner=world.sales_lead,
        )
        set_plan(child, [1000, 1000, 1000], rationale="A region joins")  # locked with it


# The unread badge reuses the view's scope. PostgreSQL: one more, the organization found
# by slug and set for row-level security in one statement (okrplan/lib/tenancy.py).
# "Against actuals" (notifications/trajectory.py): 3, the contributions, the level below
# them (none), the check-ins of all.
ALIGNMENT_QUERIES = 11 + 3 + (connection.vendor == "postgresql")


def test_it_costs_the_owner_the_same_queries_for_3_and_30_children(
    planning, world, client, django_assert_num_queries
):
    round = modified(planning)
    client.force_login(world.owner)
    client.post(notice_url(round), {"message": "Please assess."})
    client.get(alignment(planning.pipeline))  # warm the session
    with django_assert_num_queries(ALIGNMENT_QUERIES):
        assert client.get(alignment(planning.pipeline)).status_code == 200
    _add_children(world, planning, 27)
    with django_assert_num_queries(ALIGNMENT_QUERIES):
        html = client.get(alignment(planning.pipeline)).content.decode()
    assert "Region 26 pipeline" in html
