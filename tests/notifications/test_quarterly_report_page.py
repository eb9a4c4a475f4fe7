"""The quarterly review report page /o/<org>/reports/quarterly/?cycle=: per shared KR
its rounds, how long each step took and what was missed (`reports.quarterly_report`,
the same computation as the API)."""

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from django.conf import settings

from hierarchy import services as hs
from notifications.deadlines import deadline_scan
from notifications.models import Round, Step
from notifications.services import round_close, round_notice, step_answer
from tests.planning import lock, make_kr, set_plan

URL = "/o/acme/reports/quarterly/"
T0 = datetime(2026, 1, 12, 9, 0, tzinfo=UTC)
T1 = T0 + timedelta(hours=100)
SEEN_AT = T1 + timedelta(hours=26)


def h(n: float) -> timedelta:
    return timedelta(hours=n)


@pytest.fixture
def rounds(world, planning) -> tuple[Round, Round]:
    """A round closed after a missed assessment, and a round nobody sent a notice for
    (as in test_quarterly_report_api.py)."""
    with time_machine.travel(T0, tick=False) as clock:
        lock(planning.pipeline)
        set_plan(planning.marketing_kr, [800000] * 3, rationale="Channel algorithm change")
        closed = Round.objects.get(modified_kr=planning.marketing_kr)
        clock.move_to(T0 + h(2))
        round_notice(round=closed, actor=world.owner, message="Marketing plans 600k less.")
        clock.move_to(T0 + h(5))
        sales = Step.objects.get(round=closed, kind="assess", kr=planning.sales_kr)
        step_answer(step=sales, actor=world.sales_lead, answer="no_change", note="We keep ours.")
        clock.move_to(T0 + h(40))
        deadline_scan()
        clock.move_to(T0 + h(51))
        deadline_scan()
        clock.move_to(T0 + h(70))
        round_close(round=closed, actor=world.owner, note="The shared target stays.")
        clock.move_to(T1)
        set_plan(planning.sales_kr, [400000] * 3, rationale="Two reps left")
        orphaned = Round.objects.get(modified_kr=planning.sales_kr)
        clock.move_to(T1 + h(25))
        deadline_scan()
    return closed, orphaned


def get(client, query=""):
    with time_machine.travel(SEEN_AT, tick=False):
        return client.get(URL + query)


def step_rows(page: str, round) -> list[str]:
    pattern = rf'<article class="round report-round" id="round-{round.pk}".*?</article>'
    article = re.search(pattern, page, re.S)
    assert article, f"no round {round.pk}"
    return re.findall(
        r'<tr(?: class="overdue")?>\s*<th scope="row">.*?</tr>', article.group(0), re.S
    )


def test_it_shows_each_round_with_step_durations_and_misses(world, planning, rounds, client):
    closed, orphaned = rounds
    client.force_login(world.viewer)
    response = get(client, f"?cycle={planning.cycle.pk}")
    assert response.status_code == 200
    page = response.content.decode()
    assert "<h1>Q1 2026: modification rounds</h1>" in page
    assert "Generate $5M in new pipeline" in page
    assert f'href="/o/acme/krs/{planning.pipeline.pk}/alignment/"' in page
    assert "Round 1: Marketing modified “Marketing pipeline”" in page
    assert "Round 2: Sales modified “Sales outbound pipeline”" in page
    assert "Channel algorithm change" in page and "Two reps left" in page

    rows = step_rows(page, closed)
    assert len(rows) == 4
    notify, *assess, close = rows
    assert "Send the impact notice" in notify and "2.00 h" in notify and "missed" not in notify
    sales = next(r for r in assess if "Sales" in r)
    assert "3.00 h" in sales and "(no change)" in sales and 'class="overdue"' not in sales
    partnerships = next(r for r in assess if "Partnerships" in r)
    assert 'class="overdue"' in partnerships and "badge-critical" in partnerships
    assert "70.00 h" in close
    closed_block = re.search(rf'id="round-{closed.pk}".*?</dl>', page, re.S).group(0)
    assert "<dt>Notice after</dt><dd>2.00 h</dd>" in closed_block
    assert "<dt>Closed after</dt><dd>70.00 h</dd>" in closed_block
    assert "<dt>Missed</dt><dd>Assess the impact</dd>" in closed_block
    assert "<dt>Reminders</dt><dd>1</dd>" in closed_block

    orphan_block = re.search(rf'id="round-{orphaned.pk}".*?</dl>', page, re.S).group(0)
    assert "orphaned" in orphan_block and "<dt>Closed after</dt><dd>not closed</dd>" in orphan_block


def test_it_shows_the_summary(world, planning, rounds, client):
    client.force_login(world.member)
    page = get(client, f"?cycle={planning.cycle.pk}").content.decode()
    figures = dict(
        re.findall(
            r'<span class="figure-label">(.*?)</span><span class="figure-value">(.*?)</span>', page
        )
    )
    assert figures["Rounds"] == "2" and figures["Closed"] == "1" and figures["Orphaned"] == "1"
    assert figures["Median time to close"] == "70.00 h"


def test_it_picks_a_cycle(world, planning, rounds, client):
    later = hs.cycle_create(
        org=world.org, name="Q2 2026", start=date(2026, 4, 1), end=date(2026, 6, 30),
        granularity="month",
    )  # fmt: skip
    client.force_login(world.viewer)
    page = get(client).content.decode()  # no cycle asked for: the running one
    assert "<h1>Q1 2026: modification rounds</h1>" in page
    assert '<label for="report-cycle">Cycle</label>' in page
    assert f'<option value="{later.pk}">Q2 2026</option>' in page
    assert f'<option value="{planning.cycle.pk}" selected>Q1 2026</option>' in page
    page = get(client, f"?cycle={later.pk}").content.decode()
    assert "<h1>Q2 2026: modification rounds</h1>" in page
    assert "No modification rounds in Q2 2026" in page


def test_it_is_printable(world, planning, rounds, client):
    client.force_login(world.viewer)
    page = get(client, f"?cycle={planning.cycle.pk}").content.decode()
    assert 'class="cycle-picker"' in page
    css = (Path(settings.BASE_DIR) / "static" / "css" / "app.css").read_text(encoding="utf-8")
    print_rules = " ".join(re.findall(r"@media print \{(.*?)\n\}", css, re.S))
    assert ".cycle-picker" in print_rules and ".report-round" in print_rules


def test_it_answers_404_for_a_foreign_or_missing_cycle_and_to_an_outsider(world, planning, client):
    foreign = hs.cycle_create(
        org=world.other_org, name="Theirs", start=date(2026, 1, 1), end=date(2026, 3, 31),
        granularity="month",
    )  # fmt: skip
    client.force_login(world.viewer)
    assert get(client, f"?cycle={foreign.pk}").status_code == 404
    assert get(client, "?cycle=999999").status_code == 404
    assert get(client, "?cycle=abc").status_code == 404
    client.force_login(world.outsider)
    assert get(client, f"?cycle={planning.cycle.pk}").status_code == 404
    client.force_login(world.viewer)
    assert client.post(URL).status_code == 405


def test_it_says_so_when_there_are_no_cycles(world, client):
    client.force_login(world.viewer)
    response = client.get(URL)
    assert response.status_code == 200
    assert "No cycles yet." in response.content.decode()


def test_it_costs_the_same_queries_for_few_and_many_rounds(
    world, planning, rounds, client, django_assert_num_queries
):
    client.force_login(world.viewer)
    query = f"?cycle={planning.cycle.pk}"
    # session, user, scope, cycles, rounds, steps, + the base template's 2
    with django_assert_num_queries(7):
        assert get(client, query).status_code == 200
    with time_machine.travel(SEEN_AT, tick=False):
        for i in range(4):
            parent = make_kr(world, planning.objective, title=f"Shared {i}")
            a = make_kr(world, planning.objective, title=f"A {i}", parent=parent,
                        department=world.marketing, owner=world.marketing_lead)  # fmt: skip
            make_kr(world, planning.objective, title=f"B {i}", parent=parent)
            set_plan(parent, [10, 10, 10])
            set_plan(a, [5, 5, 5])
            lock(parent)
            set_plan(a, [4, 4, 4], rationale=f"Change {i}")
    assert Round.objects.count() == 6
    with django_assert_num_queries(7):
        page = get(client, query).content.decode()
    assert page.count('<article class="round report-round"') == 6
