"""The audit trail of a KR (/o/<org>/krs/<id>/history/): plan revisions and round
events, oldest first, the same entries as GET /api/v1/orgs/{org}/krs/{id}/history/."""

import re
from datetime import timedelta

import time_machine
from django.utils import timezone

from notifications import services
from notifications.deadlines import deadline_scan
from notifications.models import Round, Step, StepKind
from tests.planning import lock, make_kr, set_plan


def url(kr, org="acme") -> str:
    return f"/o/{org}/krs/{kr.pk}/history/"


def page(client, user, kr) -> str:
    client.force_login(user)
    response = client.get(url(kr))
    assert response.status_code == 200
    return response.content.decode()


def whole_round(planning, world) -> Round:
    """Locked, Marketing modifies, reminder and escalation, notice, Sales answers, close."""
    lock(planning.pipeline)
    set_plan(planning.marketing_kr, [800000, 800000, 800000], rationale="Channel algorithm change")
    round = Round.objects.get(parent_kr=planning.pipeline)
    with time_machine.travel(timezone.now() + timedelta(hours=18)):
        deadline_scan()
    with time_machine.travel(timezone.now() + timedelta(hours=25)):
        deadline_scan()
        services.round_notice(round=round, actor=world.owner, message="Sales, please assess.")
        step = Step.objects.get(round=round, kind=StepKind.ASSESS, kr=planning.sales_kr)
        services.step_answer(step=step, actor=world.sales_lead, answer="no_change", note="Fine")
        services.round_close(round=round, actor=world.owner, note="Target stays.")
    return round


def rows(html: str) -> list[str]:
    body = html[html.index("<tbody>") : html.index("</tbody>")]
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", r)).strip() for r in body.split("<tr")[1:]]


def test_it_lists_the_modified_kr_revisions_with_the_round_events_oldest_first(
    planning, world, client
):
    whole_round(planning, world)
    html = page(client, world.viewer, planning.marketing_kr)
    assert "History of “Marketing pipeline”" in html
    lines = rows(html)
    assert "Plan version 2" in lines[0]
    assert "0 → 3,000,000 USD" in lines[0] and "no" in lines[0]
    modification = next(line for line in lines if "Plan version 3" in line)
    assert "maya" in modification and "Edit" in modification
    assert "3,000,000 → 2,400,000 USD" in modification
    assert "Channel algorithm change" in modification and "modification" in modification
    what = [
        label
        for line in lines
        for label in (
            "Round started",
            "Reminder",
            "Escalation",
            "Orphaned modification",
            "Automatic notice",
            "Impact notice sent",
            "Answered",
            "Round closed",
        )
        if f" {label} " in f" {line} "
    ]
    assert what == [
        "Round started",
        "Reminder",
        "Escalation",
        "Orphaned modification",
        "Automatic notice",
        "Impact notice sent",
        "Answered",
        "Round closed",
    ]
    assert lines.index(modification) < next(
        i for i, line in enumerate(lines) if "Round started" in line
    )
    answered = next(line for line in lines if "Answered" in line)
    assert "sam" in answered and "Fine" in answered
    assert 'class="history-revision is-modification"' in html


def test_it_shows_the_shared_krs_trail_and_links_back(planning, world, client):
    round = whole_round(planning, world)
    html = page(client, world.member, planning.pipeline)
    assert f"{round.label}" in html
    assert "Sales, please assess." in html and "Target stays." in html
    assert f'href="/o/acme/krs/{planning.pipeline.pk}/alignment/"' in html
    assert f'href="/o/acme/krs/{planning.pipeline.pk}/agenda/"' in html
    assert f'href="/o/acme/cycles/{planning.cycle.pk}/"' in html


def test_it_holds_the_same_entries_as_the_api(planning, world, client, api):
    whole_round(planning, world)
    body = api(world.owner).get(f"/api/v1/orgs/acme/krs/{planning.pipeline.pk}/history/").json()
    html = page(client, world.owner, planning.pipeline)
    assert len(rows(html)) == body["count"]
    assert [r["event"] for r in body["results"] if r["kind"] == "round_event"] == re.findall(
        r'data-event="(\w+)"', html
    )


def test_it_is_linked_from_the_combined_view_and_the_cycle_tree(planning, world, client):
    client.force_login(world.member)
    html = client.get(f"/o/acme/krs/{planning.pipeline.pk}/alignment/").content.decode()
    assert f'href="{url(planning.pipeline)}"' in html
    html = client.get(f"/o/acme/cycles/{planning.cycle.pk}/").content.decode()
    for kr in (planning.pipeline, planning.marketing_kr, planning.sales_kr):
        assert f'href="{url(kr)}"' in html


def test_it_says_so_when_nothing_is_recorded(world, planning, client):
    kr = make_kr(world, planning.objective, title="Fresh", parent=None)
    assert "Nothing recorded yet." in page(client, world.viewer, kr)


def test_it_is_404_for_an_outsider_and_a_foreign_id(planning, world, client):
    client.force_login(world.outsider)
    assert client.get(url(planning.pipeline)).status_code == 404
    assert client.get(url(planning.pipeline, org="globex")).status_code == 404
    client.force_login(world.owner)
    assert client.get("/o/acme/krs/999999/history/").status_code == 404


def test_it_redirects_anonymous_visitors_to_log_in(planning, client):
    response = client.get(url(planning.pipeline))
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


HISTORY_QUERIES = 8  # the unread badge reuses the view's scope


def test_it_costs_the_same_queries_for_few_and_many_entries(
    planning, world, client, django_assert_num_queries
):
    lock(planning.pipeline)
    set_plan(planning.marketing_kr, [800000, 800000, 800000], rationale="Channel algorithm change")
    client.force_login(world.owner)
    client.get(url(planning.pipeline))  # warm the session
    with django_assert_num_queries(HISTORY_QUERIES):
        assert client.get(url(planning.pipeline)).status_code == 200
    for i in range(30):  # many children, many revisions, many rounds and events
        child = make_kr(
            world,
            planning.objective,
            title=f"Region {i}",
            parent=planning.pipeline,
            department=world.marketing,
            owner=world.marketing_lead,
        )
        set_plan(child, [1, 1, 1], rationale=f"Region {i} joins")  # locked with it
        lock(child)
        set_plan(child, [1, 1, 2], rationale=f"Change {i}")
    set_plan(planning.pipeline, [1, 1, 1], rationale="Owner's change")
    with django_assert_num_queries(HISTORY_QUERIES):
        html = client.get(url(planning.pipeline)).content.decode()
    assert "Owner&#x27;s change" in html
