"""POST /api/v1/orgs/{org}/imports/: operational history from CSV (SPEC.md §7, API.md)."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest
import yaml
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from hierarchy.models import KeyResult
from hierarchy.services import cycle_create, kr_create, objective_create
from plans.models import HistoryPoint, ImportBatch

URL = "/api/v1/orgs/acme/imports/"
D = Decimal


@dataclass
class Krs:
    mqls: KeyResult  # Marketing, cumulative, owned by maya
    paid: KeyResult  # sequential parent owned by `owner`
    visitors: KeyResult  # stage 1, Marketing
    trials: KeyResult  # stage 2, Sales; historical ratio 0.25 to begin with
    nps: KeyResult  # Sales, level
    foreign: KeyResult  # globex's


def _objective(org, owner, name):
    cycle = cycle_create(
        org=org, name=name, start=date(2026, 1, 1), end=date(2026, 3, 31), granularity="month"
    )
    return objective_create(org=org, cycle=cycle, title="Grow", owner=owner)


@pytest.fixture
def krs(world) -> Krs:
    org = world.org
    objective = _objective(org, world.owner, "Q1 2026")

    def kr(**fields) -> KeyResult:
        return kr_create(org=org, objective=objective, metric_kind="cumulative", **fields)

    paid = kr(
        title="Convert 500 trial users to paid",
        owner=world.owner,
        department=world.sales,
        unit="customers",
        target=D(500),
        aggregation="sequential",
    )
    other = _objective(world.other_org, world.outsider, "Q1 2026")
    return Krs(
        mqls=kr(
            title="MQLs",
            owner=world.marketing_lead,
            department=world.marketing,
            unit="MQLs",
            target=D(3000),
        ),
        paid=paid,
        visitors=kr(
            title="Visitors",
            owner=world.marketing_lead,
            department=world.marketing,
            unit="visitors",
            target=D(10000),
            parent=paid,
            stage=1,
        ),
        trials=kr(
            title="Trials",
            owner=world.sales_lead,
            department=world.sales,
            unit="trials",
            target=D(2000),
            parent=paid,
            stage=2,
            historical_ratio=D("0.25"),
        ),
        nps=kr_create(
            org=org,
            objective=objective,
            title="NPS",
            owner=world.sales_lead,
            department=world.sales,
            unit="points",
            metric_kind="level",
            start_value=D(32),
            target=D(45),
        ),
        foreign=kr_create(
            org=world.other_org,
            objective=other,
            title="Their MQLs",
            owner=world.outsider,
            department=world.other_department,
            unit="MQLs",
            metric_kind="cumulative",
            target=D(100),
        ),
    )


def upload(client, content: str | bytes, name: str = "history.csv"):
    data = content.encode() if isinstance(content, str) else content
    return client.post(
        URL, {"file": SimpleUploadedFile(name, data, content_type="text/csv")}, format="multipart"
    )


def history(kr: KeyResult) -> dict[int, Decimal]:
    return dict(HistoryPoint.objects.filter(kr=kr).values_list("period", "value"))


def snapshot() -> tuple:
    """Everything an import may write."""
    return (
        ImportBatch.objects.count(),
        sorted(HistoryPoint.objects.values_list("kr_id", "period", "value", "batch_id")),
        sorted(KeyResult.objects.values_list("pk", "historical_ratio")),
    )


def test_it_imports_period_and_date_rows_summed_per_period(world, api, krs):
    m = krs.mqls.pk
    response = upload(
        api(world.marketing_lead),
        f"kr,period,date,value\n{m},0,,100\n{m},,2026-01-15,50\n{m},,2026-02-01,70.5\n{m},2,,30\n",
        name="mqls-2025.csv",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    batch = ImportBatch.objects.get()
    assert body == {
        "batch": batch.pk,
        "rows": 4,
        "krs": [m],
        "ratios": [],
        "skipped_ratios": [],
    }
    assert (batch.organization, batch.rows, batch.filename, batch.uploaded_by) == (
        world.org,
        4,
        "mqls-2025.csv",
        world.marketing_lead,
    )
    assert history(krs.mqls) == {0: D(150), 1: D("70.5"), 2: D(30)}
    assert set(HistoryPoint.objects.values_list("organization_id", "batch_id")) == {
        (world.org.pk, batch.pk)
    }


def test_it_replaces_the_previous_history_of_the_krs_in_the_file(world, api, krs):
    client = api(world.admin)
    m, n = krs.mqls.pk, krs.nps.pk
    first = upload(client, f"kr,period,value\n{m},0,10\n{m},1,20\n{m},2,30\n{n},0,40\n")
    assert first.status_code == 201, first.content

    second = upload(client, f"kr,period,value\n{m},1,25\n")
    assert second.status_code == 201, second.content
    assert second.json()["krs"] == [m]
    assert history(krs.mqls) == {1: D(25)}
    assert history(krs.nps) == {0: D(40)}  # not in the second file: kept
    assert ImportBatch.objects.count() == 2


def test_it_computes_the_funnel_ratio_from_history(world, api, krs):
    v, t = krs.visitors.pk, krs.trials.pk
    response = upload(
        api(world.admin),
        f"kr,period,value\n{v},0,3000\n{v},1,3000\n{v},2,4000\n{t},0,600\n{t},2,1200\n",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["krs"] == [v, t]
    assert body["ratios"] == [{"kr": t, "historical_ratio": "0.180000"}]
    assert body["skipped_ratios"] == []
    krs.trials.refresh_from_db()
    assert krs.trials.historical_ratio == D("0.18")


def test_it_updates_a_stage_ratio_when_only_the_previous_stage_is_imported(world, api, krs):
    v, t = krs.visitors.pk, krs.trials.pk
    assert upload(api(world.sales_lead), f"kr,period,value\n{t},0,1800\n").status_code == 201
    krs.trials.refresh_from_db()
    assert krs.trials.historical_ratio == D("0.25")  # no history of stage 1 yet

    response = upload(api(world.marketing_lead), f"kr,period,value\n{v},0,9000\n")
    assert response.status_code == 201, response.content
    assert response.json()["ratios"] == [{"kr": t, "historical_ratio": "0.200000"}]
    krs.trials.refresh_from_db()
    assert krs.trials.historical_ratio == D("0.2")


def test_it_skips_a_stage_ratio_above_one_and_says_why(world, api, krs):
    v, t = krs.visitors.pk, krs.trials.pk
    response = upload(api(world.admin), f"kr,period,value\n{v},0,100\n{t},0,180\n")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["ratios"] == []
    assert [skip["kr"] for skip in body["skipped_ratios"]] == [t]
    assert "above 1" in body["skipped_ratios"][0]["reason"]
    krs.trials.refresh_from_db()
    assert krs.trials.historical_ratio == D("0.25")
    assert history(krs.trials) == {0: D(180)}  # the history itself is imported


def test_it_skips_a_stage_ratio_to_a_previous_stage_of_zero(world, api, krs):
    v, t = krs.visitors.pk, krs.trials.pk
    response = upload(api(world.admin), f"kr,period,value\n{v},0,0\n{t},0,10\n")
    assert response.status_code == 201, response.content
    assert [skip["kr"] for skip in response.json()["skipped_ratios"]] == [t]
    krs.trials.refresh_from_db()
    assert krs.trials.historical_ratio == D("0.25")


def _good(s: Krs) -> str:
    return f"kr,period,value\n{s.mqls.pk},0,5\n"


# (caller, file, rows with errors, words every message holds)
BAD_FILES = {
    "not utf-8": ("marketing_lead", lambda s: b"kr,period,value\n1,0,caf\xe9\n", [0], "UTF-8"),
    "utf-16": (
        "marketing_lead",
        lambda s: _good(s).encode("utf-16"),
        [0],
        "not UTF-8 text",
    ),
    "missing column": (
        "marketing_lead",
        lambda s: f"kr,value\n{s.mqls.pk},5\n",
        [1],
        "header: missing column(s) period or date",
    ),
    "extra column": (
        "marketing_lead",
        lambda s: f"kr,period,value,Note\n{s.mqls.pk},0,5,hi\n",
        [1],
        'header: unknown column(s) "note"',
    ),
    "half good": (
        "marketing_lead",
        lambda s: f"kr,period,value\n{s.mqls.pk},0,5\n{s.mqls.pk},zero,5\n{s.mqls.pk},1,5\n",
        [3],
        'period: "zero" is not a period index',
    ),
    "foreign kr": (
        "admin",
        lambda s: f"kr,period,value\n{s.foreign.pk},0,5\n",
        [2],
        "kr: there is no key result",
    ),
    "missing kr": (
        "admin",
        lambda s: "kr,period,value\n999999,0,5\n",
        [2],
        "kr: there is no key result 999999 in this organization.",
    ),
    "kr the caller may not edit": (
        "sales_lead",
        lambda s: f"kr,period,value\n{s.trials.pk},0,5\n{s.mqls.pk},0,5\n",
        [3],
        "kr: you may not import history for key result",
    ),
    "a member who edits nothing": (
        "member",
        lambda s: f"kr,period,value\n{s.mqls.pk},0,5\n",
        [2],
        "kr: you may not import history",
    ),
    "period out of range": (
        "marketing_lead",
        lambda s: f"kr,period,value\n{s.mqls.pk},3,5\n",
        [2],
        "has periods 0 to 2",
    ),
    "date outside the cycle": (
        "marketing_lead",
        lambda s: f"kr,date,value\n{s.mqls.pk},2026-04-01,5\n",
        [2],
        "date: 2026-04-01 is outside the cycle",
    ),
    "bad date": (
        "marketing_lead",
        lambda s: f"kr,date,value\n{s.mqls.pk},31/01/2026,5\n",
        [2],
        "(YYYY-MM-DD)",
    ),
    "period and date": (
        "marketing_lead",
        lambda s: f"kr,period,date,value\n{s.mqls.pk},0,2026-01-02,5\n",
        [2],
        "period, date: give a period or a date, not both.",
    ),
    "neither period nor date": (
        "marketing_lead",
        lambda s: f"kr,period,date,value\n{s.mqls.pk},,,5\n",
        [2],
        "period, date: empty",
    ),
    "NaN": ("marketing_lead", lambda s: f"kr,period,value\n{s.mqls.pk},0,NaN\n", [2], "value:"),
    "Infinity": (
        "marketing_lead",
        lambda s: f"kr,period,value\n{s.mqls.pk},0,Infinity\n",
        [2],
        "“Infinity” is not a number",
    ),
    "1e400": (
        "marketing_lead",
        lambda s: f"kr,period,value\n{s.mqls.pk},0,1e400\n",
        [2],
        "value: “1e400” is not a number",
    ),
    "negative for cumulative": (
        "marketing_lead",
        lambda s: f"kr,period,value\n{s.mqls.pk},0,-5\n",
        [2],
        "is negative",
    ),
    "wrong number of cells": (
        "marketing_lead",
        lambda s: f"kr,period,value\n{s.mqls.pk},0\n",
        [2],
        "this row has 2 cell(s); the header has 3",
    ),
    "empty file": ("marketing_lead", lambda s: b"", [0], "The file is empty"),
    "header only": ("marketing_lead", lambda s: "kr,period,value\n", [0], "no data rows"),
}


@pytest.mark.parametrize(
    ("who", "content", "rows", "words"), BAD_FILES.values(), ids=BAD_FILES.keys()
)
def test_it_rejects_a_bad_file_whole_and_writes_nothing(world, api, krs, who, content, rows, words):
    primed = upload(
        api(world.admin),
        f"kr,period,value\n{krs.mqls.pk},0,1\n{krs.visitors.pk},0,100\n{krs.trials.pk},0,10\n",
    )
    assert primed.status_code == 201, primed.content
    before = snapshot()

    response = upload(api(getattr(world, who)), content(krs))

    assert response.status_code == 400, response.content
    errors = response.json()["errors"]
    assert [error["row"] for error in errors] == rows, errors
    assert all(words in error["message"] for error in errors), errors
    assert snapshot() == before


def test_a_foreign_kr_answers_like_a_missing_one(world, api, krs):
    client = api(world.admin)
    foreign = upload(client, f"kr,period,value\n{krs.foreign.pk},0,5\n")
    missing = upload(client, "kr,period,value\n999999,0,5\n")
    assert foreign.status_code == missing.status_code == 400
    assert foreign.json()["errors"][0]["message"].replace(str(krs.foreign.pk), "N") == (
        missing.json()["errors"][0]["message"].replace("999999", "N")
    )
    assert not HistoryPoint.objects.exists()


def test_a_viewer_gets_403_and_nothing_is_written(world, api, krs):
    response = upload(api(world.viewer), f"kr,period,value\n{krs.mqls.pk},0,5\n")
    assert response.status_code == 403
    assert not ImportBatch.objects.exists()
    assert not HistoryPoint.objects.exists()


def test_an_outsider_gets_404(world, api, krs):
    response = upload(api(world.outsider), f"kr,period,value\n{krs.foreign.pk},0,5\n")
    assert response.status_code == 404
    assert not ImportBatch.objects.exists()


def test_an_anonymous_caller_gets_401(world, api, krs):
    response = upload(api(), f"kr,period,value\n{krs.mqls.pk},0,5\n")
    assert response.status_code == 401
    assert not ImportBatch.objects.exists()


@pytest.mark.parametrize("data", [{}, {"file": "kr,period,value\n1,0,5\n"}])
def test_it_needs_the_file_field(world, api, krs, data):
    response = api(world.admin).post(URL, data, format="multipart")
    assert response.status_code == 400
    assert list(response.json()) == ["file"]
    assert not ImportBatch.objects.exists()


def test_it_uses_the_same_number_of_queries_however_big_the_file(world, api, krs):
    client = api(world.admin)
    m, n = krs.mqls.pk, krs.nps.pk
    small = f"kr,period,value\n{m},0,5\n"
    big = "kr,period,date,value\n" + "".join(
        f"{m},,2026-{month:02}-{day:02},1\n" for month in (1, 2, 3) for day in range(1, 29)
    )
    big += f"{n},0,,40\n{n},1,,41\n{n},2,,42\n"
    counts = []
    for content in (small, big):
        with CaptureQueriesContext(connection) as queries:
            assert upload(client, content).status_code == 201
        counts.append(len(queries))
    assert counts[0] == counts[1]
    assert history(krs.mqls) == {0: D(28), 1: D(28), 2: D(28)}
    assert history(krs.nps) == {0: D(40), 1: D(41), 2: D(42)}


def test_the_schema_describes_the_upload_without_warnings(db, tmp_path):
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--fail-on-warn", "--file", str(out))
    schema = yaml.safe_load(out.read_text())
    operation = schema["paths"]["/api/v1/orgs/{org}/imports/"]["post"]
    body = operation["requestBody"]["content"]
    assert list(body) == ["multipart/form-data"]
    request = schema["components"]["schemas"][body["multipart/form-data"]["schema"]["$ref"][21:]]
    assert request["properties"]["file"]["format"] == "binary"
    assert set(operation["responses"]) >= {"201", "400"}
