"""Rounds are numbered per shared KR, one numbering everywhere (issue 16 §5).

The combined view said "Round 2" (the row's id, counted across the organization) for
the funnel's first round, which the quarterly report called "Round 1" (its place in the
report's list). `Round.number` is 1, 2, 3 … per shared KR, given when the round starts;
`Round.label` ("Round 2") is what every page and message says, and the API adds
`number` beside the `id` it keeps (docs/decisions.md)."""

import re

import pytest

from notifications.models import Round, Step
from notifications.services import round_close
from tests.planning import lock, set_plan


@pytest.fixture
def rounds(planning, funnel, world):
    """The pipeline's round, closed; then the funnel's first; then the pipeline's second."""
    lock(planning.pipeline)
    set_plan(planning.marketing_kr, [800000] * 3, rationale="Channel algorithm change")
    first = Round.objects.get(parent_kr=planning.pipeline)
    round_close(round=first, actor=world.owner, note="We accept 4.4M")
    lock(funnel.parent)
    set_plan(funnel.visitors, [2400, 2400, 3200], rationale="Paid search budget cut")
    set_plan(planning.marketing_kr, [700000] * 3, rationale="Events cancelled")
    funnel_round = Round.objects.get(parent_kr=funnel.parent)
    second = Round.objects.get(parent_kr=planning.pipeline, status="open")
    assert funnel_round.pk > first.pk and second.pk > funnel_round.pk  # ids: 1, 2, 3
    return first, funnel_round, second


def _headings(html: str) -> list[str]:
    return re.findall(r"Round \d+", html)


def test_the_combined_view_numbers_rounds_per_shared_kr(rounds, planning, funnel, world, client):
    client.force_login(world.owner)
    html = client.get(f"/o/acme/krs/{funnel.parent.pk}/alignment/").content.decode()
    assert set(_headings(html)) == {"Round 1"}
    html = client.get(f"/o/acme/krs/{planning.pipeline.pk}/alignment/").content.decode()
    assert "Round 2" in html and "Close round 2" in html
    assert re.search(r'<li id="round-\d+">Round 1 <span class="badge badge-closed">', html)


def test_the_report_and_the_combined_view_agree(rounds, planning, funnel, world, client):
    client.force_login(world.owner)
    html = client.get(f"/o/acme/reports/quarterly/?cycle={planning.cycle.pk}").content.decode()
    first, funnel_round, second = rounds
    for round_, label in ((first, "Round 1"), (funnel_round, "Round 1"), (second, "Round 2")):
        heading = re.search(rf'<h3 id="round-{round_.pk}-h">(Round \d+)', html)
        assert heading and heading.group(1) == label, label


def test_steps_my_work_the_agenda_and_the_history_say_the_same(
    rounds, planning, funnel, world, client
):
    funnel_round = rounds[1]
    client.force_login(world.owner)
    notify = Step.objects.get(round=funnel_round, kind="notify")
    html = client.get(f"/o/acme/steps/{notify.pk}/").content.decode()
    assert "Round 1 of “Convert 500 trial users to paid”" in html
    html = client.get("/o/acme/me/").content.decode()
    assert set(_headings(html)) == {"Round 1", "Round 2"}
    html = client.get(f"/o/acme/krs/{funnel.parent.pk}/agenda/").content.decode()
    assert set(_headings(html)) == {"Round 1"}
    html = client.get(f"/o/acme/krs/{planning.pipeline.pk}/history/").content.decode()
    assert set(_headings(html)) == {"Round 1", "Round 2"}


def test_the_api_gives_the_number_beside_the_id(rounds, planning, funnel, world, api):
    _, funnel_round, second = rounds
    body = api(world.owner).get(f"/api/v1/orgs/acme/krs/{funnel.parent.pk}/alignment/").json()
    assert [(r["id"], r["number"]) for r in body["rounds"]] == [(funnel_round.pk, 1)]
    body = api(world.owner).get(f"/api/v1/orgs/acme/rounds/{second.pk}/").json()
    assert (body["id"], body["number"]) == (second.pk, 2)
    report = (
        api(world.owner)
        .get(f"/api/v1/orgs/acme/reports/quarterly/?cycle={planning.cycle.pk}")
        .json()
    )
    numbers = {r["id"]: r["number"] for kr in report["krs"] for r in kr["rounds"]}
    assert numbers[funnel_round.pk] == 1 and numbers[second.pk] == 2
