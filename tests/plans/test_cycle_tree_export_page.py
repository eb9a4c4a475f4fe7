"""The cycle tree as a spreadsheet: /o/<org>/cycles/<id>/export.csv and .xlsx."""

import csv
import io
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from hierarchy import services as hs
from tests.planning import make_kr, set_plan

D = Decimal
HYPERLINK = '=HYPERLINK("http://evil.test","click")'


def url(cycle, fmt: str) -> str:
    return f"/o/acme/cycles/{cycle.pk}/export.{fmt}"


def read_csv(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"), newline="")))


def read_xlsx(response):
    return load_workbook(io.BytesIO(response.content)).active


@pytest.fixture
def hostile(world, planning) -> None:
    """An objective and KRs whose titles a spreadsheet would run, one with negative values."""
    objective = hs.objective_create(
        org=world.org, cycle=planning.cycle, title=HYPERLINK, owner=world.owner
    )
    plus = make_kr(world, objective, title="+1", target=D(0))
    churn = make_kr(
        world,
        objective,
        title="@x",
        unit="%",
        metric_kind="level",
        start_value=D(-1),
        target=D(-4),
    )
    set_plan(churn, ["-2", "-3.5", "-4"])
    make_kr(world, objective, title="-1", target=D(0), parent=plus)


def test_it_exports_the_tree_as_csv_with_the_periods_as_columns(planning, world, client):
    client.force_login(world.viewer)  # everyone who reads the tree exports it
    response = client.get(url(planning.cycle, "csv"))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="acme-q1-2026.csv"'
    rows = read_csv(response)
    header = rows[0]
    assert header[:6] == ["Objective", "Objective progress (%)", "KR id", "Key result", "Level",
                          "Contributes to"]  # fmt: skip
    assert header[-3:] == ["Jan 2026", "Feb 2026", "Mar 2026"]
    by_title = {row[3]: dict(zip(header, row, strict=True)) for row in rows[1:]}
    assert list(by_title) == [
        "Generate $5M in new pipeline",
        "Marketing pipeline",
        "Sales outbound pipeline",
        "Partner-sourced pipeline",
    ]  # the page's order: the parent, then its contributions
    pipeline = by_title["Generate $5M in new pipeline"]
    assert pipeline["KR id"] == str(planning.pipeline.pk) and pipeline["Level"] == "1"
    assert pipeline["Aggregation"] == "Additive" and pipeline["Target"] == "5000000"
    assert [pipeline[m] for m in ("Jan 2026", "Feb 2026", "Mar 2026")] == [
        "1666666.67",
        "1666666.67",
        "1666666.66",
    ]
    partners = by_title["Partner-sourced pipeline"]
    assert partners["Level"] == "2" and partners["Contributes to"] == pipeline["Key result"]
    assert (partners["Department"], partners["Unit"], partners["Plan"]) == (
        "Partnerships",
        "USD",
        "Draft",
    )
    assert partners["Progress"] == "Not started" and partners["Progress (%)"] == ""
    assert [partners[m] for m in ("Jan 2026", "Feb 2026", "Mar 2026")] == [
        "100000",
        "200000",
        "200000",
    ]


def test_it_exports_the_tree_as_xlsx_with_numbers_as_numbers(planning, world, client, hostile):
    client.force_login(world.member)
    response = client.get(url(planning.cycle, "xlsx"))
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="acme-q1-2026.xlsx"'
    sheet = read_xlsx(response)
    assert sheet.title == "Q1 2026"
    header = [cell.value for cell in sheet[1]]
    assert header[-3:] == ["Jan 2026", "Feb 2026", "Mar 2026"]
    rows = {row[3].value: row for row in sheet.iter_rows(min_row=2)}
    pipeline = rows["Generate $5M in new pipeline"]
    jan = pipeline[header.index("Jan 2026")]
    assert (jan.value, jan.data_type, jan.number_format) == (1666666.67, "n", "#,##0.00")
    target = pipeline[header.index("Target")]
    assert (target.value, target.data_type) == (5000000, "n")
    kr_id = pipeline[header.index("KR id")]
    assert (kr_id.value, kr_id.data_type) == (planning.pipeline.pk, "n")
    # Titles a spreadsheet would run are text; negative values are numbers.
    for title in ("+1", "-1", "@x"):
        cell = rows["'" + title][3]
        assert (cell.value, cell.data_type) == ("'" + title, "s")
    objective = rows["'+1"][0]
    assert (objective.value, objective.data_type) == ("'" + HYPERLINK, "s")
    values = [rows["'@x"][header.index(m)] for m in ("Jan 2026", "Feb 2026", "Mar 2026")]
    assert [(c.value, c.data_type) for c in values] == [(-2, "n"), (-3.5, "n"), (-4, "n")]
    assert rows["'-1"][header.index("Contributes to")].value == "'+1"


def test_it_keeps_csv_titles_inert_too(planning, world, client, hostile):
    client.force_login(world.admin)
    rows = read_csv(client.get(url(planning.cycle, "csv")))
    titles = [row[3] for row in rows[1:]]
    assert {"'+1", "'-1", "'@x"} <= set(titles)
    assert "'" + HYPERLINK in [row[0] for row in rows[1:]]
    churn = next(row for row in rows if row[3] == "'@x")
    assert churn[-3:] == ["-2", "-3.5", "-4"]  # numbers: no quote


def test_it_gives_an_objective_without_key_results_a_row(planning, world, client):
    hs.objective_create(org=world.org, cycle=planning.cycle, title="Hire well", owner=world.owner)
    client.force_login(world.admin)
    rows = read_csv(client.get(url(planning.cycle, "csv")))
    assert ["Hire well", ""] in rows


def test_it_finds_no_cycle_of_another_organization_nor_another_format(planning, world, client):
    client.force_login(world.outsider)
    assert client.get(url(planning.cycle, "csv")).status_code == 404
    other = hs.cycle_create(
        org=world.other_org,
        name="Theirs",
        start=planning.cycle.start,
        end=planning.cycle.end,
        granularity="month",
    )
    client.force_login(world.admin)
    assert client.get(url(other, "xlsx")).status_code == 404
    assert client.get(url(planning.cycle, "pdf")).status_code == 404
    assert client.post(url(planning.cycle, "csv")).status_code == 405


def test_it_links_the_exports_from_the_tree(planning, world, client):
    client.force_login(world.viewer)
    page = client.get(f"/o/acme/cycles/{planning.cycle.pk}/").content.decode()
    assert f'href="{url(planning.cycle, "csv")}" download>Export CSV' in page
    assert f'href="{url(planning.cycle, "xlsx")}" download>Export XLSX' in page
