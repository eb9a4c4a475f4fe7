"""The combined view as a spreadsheet: /o/<org>/krs/<id>/alignment/export.csv and .xlsx,
from the page's own selector (`alignment_view`)."""

import csv
import io
from decimal import Decimal

from openpyxl import load_workbook

from hierarchy import services as hs
from tests.planning import make_kr, set_plan

D = Decimal
MONTHS = ["Jan 2026", "Feb 2026", "Mar 2026"]


def url(kr, fmt: str) -> str:
    return f"/o/acme/krs/{kr.pk}/alignment/export.{fmt}"


def read_csv(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"), newline="")))


def test_it_exports_each_contribution_per_period_then_the_aggregate_and_target(
    planning, world, client
):
    client.force_login(world.viewer)  # everyone who reads the combined view
    response = client.get(url(planning.pipeline, "csv"))
    assert response.status_code == 200
    assert response["Content-Disposition"] == (
        'attachment; filename="generate-5m-in-new-pipeline.csv"'
    )
    rows = read_csv(response)
    assert rows[0] == [
        "Department",
        "Key result",
        "KR id",
        "Owner",
        *MONTHS,
        "Target (USD)",
        "Plan",
        "Centroid",
    ]
    assert rows[1:4] == [
        ["Marketing", "Marketing pipeline", str(planning.marketing_kr.pk), "maya",
         "1000000", "1000000", "1000000", "3000000", "draft", "0.5"],
        ["Sales", "Sales outbound pipeline", str(planning.sales_kr.pk), "sam",
         "500000", "500000", "500000", "1500000", "draft", "0.5"],
        ["Partnerships", "Partner-sourced pipeline", str(planning.partnerships_kr.pk), "pat",
         "100000", "200000", "200000", "500000", "draft", "0.6"],
    ]  # fmt: skip
    pipeline = [planning.pipeline.title, str(planning.pipeline.pk), "owner"]
    assert rows[4] == ["Aggregate", *pipeline, "1600000", "1700000", "1700000", "5000000"]
    assert rows[5] == ["Target", *pipeline, "1666666.67", "1666666.67", "1666666.66", "5000000"]


def test_it_exports_xlsx_with_numbers_as_numbers_and_titles_inert(planning, world, client):
    for title, values in (('=HYPERLINK("http://evil.test","x")', [1, 2, 3]), ("@x", [0, 0, 1])):
        kr = make_kr(
            world,
            planning.objective,
            title=title,
            owner=world.marketing_lead,
            department=world.marketing,
            parent=planning.pipeline,
        )
        set_plan(kr, values)
    client.force_login(world.owner)
    response = client.get(url(planning.pipeline, "xlsx"))
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    header = [cell.value for cell in sheet[1]]
    assert header[4:7] == MONTHS
    rows = {row[1].value: row for row in sheet.iter_rows(min_row=2)}
    marketing = rows["Marketing pipeline"]
    assert [(c.value, c.data_type) for c in marketing[4:8]] == [(1000000, "n")] * 3 + [
        (3000000, "n")
    ]
    for title in ('=HYPERLINK("http://evil.test","x")', "@x"):
        cell = rows["'" + title][1]
        assert (cell.value, cell.data_type) == ("'" + title, "s")
    target = [c.value for c in sheet[sheet.max_row]]
    assert target[0] == "Target" and target[4:8] == [1666666.67, 1666666.67, 1666666.66, 5000000]


def test_it_exports_a_funnels_stages_and_ratios(funnel, world, client):
    client.force_login(world.admin)
    rows = read_csv(client.get(url(funnel.parent, "csv")))
    header = rows[0]
    assert header[0] == "Stage"
    assert header[-5:] == ["Ratio", "Historical ratio", "Implied target", "Plan", "Centroid"]
    trials = dict(zip(header, rows[2], strict=True))
    assert (trials["Stage"], trials["Key result"], trials["Ratio"]) == (
        "2",
        "Trials started",
        "0.2",
    )
    assert trials["Implied target"] == "2000"
    # each stage in its own unit (issue 16 §5), not the shared KR's ("Target (paid)")
    assert (header[header.index("Target") + 1], trials["Unit"]) == ("Unit", "trials")
    assert dict(zip(header, rows[1], strict=True))["Unit"] == "visitors"


def test_it_finds_no_kr_of_another_organization(planning, world, client):
    client.force_login(world.outsider)
    assert client.get(url(planning.pipeline, "csv")).status_code == 404
    cycle = hs.cycle_create(
        org=world.other_org,
        name="Theirs",
        start=planning.cycle.start,
        end=planning.cycle.end,
        granularity="month",
    )
    objective = hs.objective_create(
        org=world.other_org, cycle=cycle, title="Theirs", owner=world.outsider
    )
    theirs = hs.kr_create(
        org=world.other_org,
        objective=objective,
        title="Theirs",
        owner=world.outsider,
        department=world.other_department,
        unit="USD",
        metric_kind="cumulative",
        target=D(0),
    )
    client.force_login(world.admin)
    assert client.get(url(theirs, "xlsx")).status_code == 404


def test_it_links_the_exports_from_the_combined_view(planning, world, client):
    client.force_login(world.viewer)
    page = client.get(f"/o/acme/krs/{planning.pipeline.pk}/alignment/").content.decode()
    assert f'href="{url(planning.pipeline, "csv")}" download>Export CSV' in page
    assert f'href="{url(planning.pipeline, "xlsx")}" download>Export XLSX' in page
