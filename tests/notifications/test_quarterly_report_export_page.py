"""The quarterly review as a spreadsheet: /o/<org>/reports/quarterly/export.csv and .xlsx
(?cycle=), from the report's own selector (`reports.quarterly_report`)."""

import csv
import io
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from openpyxl import load_workbook

from hierarchy import services as hs
from hierarchy.models import Profile
from notifications.models import Round
from notifications.services import round_notice
from tests.planning import lock, set_plan

T0 = datetime(2026, 1, 12, 9, 0, tzinfo=UTC)
RATIONALE = "=1+1 channel algorithm change"


def url(fmt: str, cycle=None) -> str:
    return f"/o/acme/reports/quarterly/export.{fmt}" + (f"?cycle={cycle.pk}" if cycle else "")


def read_csv(response) -> list[dict]:
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"), newline="")))
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


@pytest.fixture
def round_(world, planning) -> Round:
    """Marketing modifies the locked pipeline at T0; the owner sends the notice 2 hours on."""
    with time_machine.travel(T0, tick=False) as clock:
        lock(planning.pipeline)
        set_plan(planning.marketing_kr, [800000] * 3, rationale=RATIONALE)
        round = Round.objects.get(modified_kr=planning.marketing_kr)
        clock.move_to(T0 + timedelta(hours=2))
        round_notice(round=round, actor=world.owner, message="Marketing plans 600k less.")
    return round


def test_it_exports_a_row_per_step_with_its_rounds_figures(planning, world, client, round_):
    client.force_login(world.viewer)
    with time_machine.travel(T0 + timedelta(hours=3), tick=False):
        response = client.get(url("csv", planning.cycle))
    assert response.status_code == 200
    assert response["Content-Disposition"] == (
        'attachment; filename="acme-quarterly-review-q1-2026.csv"'
    )
    rows = read_csv(response)
    assert len(rows) == round_.steps.count() == 4
    steps = {(row["Step"], row["Step department"], row["Assignee"], row["State"]) for row in rows}
    assert steps == {
        ("Send the impact notice", "Sales", "owner", "Done"),
        ("Assess the impact", "Sales", "sam", "Open"),
        ("Assess the impact", "Partnerships", "pat", "Open"),
        ("Close the round", "Sales", "owner", "Open"),
    }
    for row in rows:  # the round's figures on each of its steps
        assert row["Shared key result"] == "Generate $5M in new pipeline"
        assert row["KR id"] == str(planning.pipeline.pk)
        assert row["Modified key result"] == "Marketing pipeline"
        assert row["Rationale"] == "'" + RATIONALE  # inert
        assert row["Started (UTC)"] == "2026-01-12 09:00"
        assert (row["Notice after (h)"], row["Closed after (h)"]) == ("2", "")
        assert (row["Round"], row["Round status"], row["Orphaned"]) == ("1", "open", "no")
    notice = next(row for row in rows if row["Step"] == "Send the impact notice")
    assert notice["Done (UTC)"] == "2026-01-12 11:00" and notice["Took (h)"] == "2"
    assert notice["Missed"] == "no"


def test_it_exports_xlsx_with_times_and_hours_as_numbers(planning, world, client, round_):
    Profile.objects.create(user=world.member, time_zone="Europe/Berlin")  # the reader's zone
    client.force_login(world.member)
    with time_machine.travel(T0 + timedelta(hours=3)):
        response = client.get(url("xlsx"))  # the page's default cycle: the running one
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    header = [cell.value for cell in sheet[1]]
    assert "Started (Europe/Berlin)" in header and "Due (Europe/Berlin)" in header
    first = sheet[2]
    started = first[header.index("Started (Europe/Berlin)")]
    assert started.value == datetime(2026, 1, 12, 10, 0) and started.is_date
    hours = first[header.index("Notice after (h)")]
    assert (hours.value, hours.data_type) == (2, "n")
    rationale = first[header.index("Rationale")]
    assert (rationale.value, rationale.data_type) == ("'" + RATIONALE, "s")


def test_it_finds_no_cycle_of_another_organization(planning, world, client):
    other = hs.cycle_create(
        org=world.other_org,
        name="Theirs",
        start=date(2026, 1, 1),
        end=date(2026, 3, 31),
        granularity="month",
    )
    client.force_login(world.admin)
    assert client.get(url("csv", other)).status_code == 404
    assert client.get(url("csv", planning.cycle)).status_code == 200
    client.force_login(world.outsider)
    assert client.get(url("csv", planning.cycle)).status_code == 404


def test_it_has_nothing_to_export_without_a_cycle(world, client):
    client.force_login(world.admin)
    assert client.get(url("xlsx")).status_code == 404


def test_it_links_the_exports_from_the_report(planning, world, client):
    client.force_login(world.viewer)
    page = client.get(f"/o/acme/reports/quarterly/?cycle={planning.cycle.pk}").content.decode()
    assert f'href="{url("csv")}?cycle={planning.cycle.pk}" download>Export CSV' in page
    assert f'href="{url("xlsx")}?cycle={planning.cycle.pk}" download>Export XLSX' in page
