"""The history import page /o/<org>/imports/ (SPEC.md §7): check a file, see its rows and
every error by row number, commit the signed file whole or not at all."""

import io
import re
from datetime import timedelta

import pytest
import time_machine
from django.core import signing
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from openpyxl import Workbook

from plans import import_views
from plans.models import HistoryPoint, ImportBatch

URL = "/o/acme/imports/"


def upload(text: str | bytes, name: str = "history.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode() if isinstance(text, str) else text)


def check(client, text, name="history.csv"):
    return client.post(URL, {"action": "check", "file": upload(text, name)})


def payload_of(page: str) -> str:
    match = re.search(r'name="payload" value="([^"]+)"', page)
    assert match, "no commit form"
    return match.group(1)


def nothing_written():
    assert not HistoryPoint.objects.exists() and not ImportBatch.objects.exists()


@pytest.fixture
def lead(client, world):
    client.force_login(world.marketing_lead)
    return client


def test_it_lists_the_key_results_one_may_import_for_with_their_ids(planning, lead):
    page = lead.get(URL).content.decode()
    assert "Import operational history" in page
    mine = re.search(r'<table class="import-krs">.*?</table>', page, re.S).group(0)
    assert f'<th scope="row" class="num">{planning.marketing_kr.pk}</th>' in mine
    assert "Marketing pipeline" in mine and '<span class="sub">Marketing · Q1 2026</span>' in mine
    periods = re.sub(r"<[^>]+>", "", mine.split("Marketing · Q1 2026")[1])
    assert "0 Jan 2026 · 1 Feb 2026 · 2 Mar 2026" in periods
    assert "Sales outbound pipeline" not in mine  # Sam's


def test_it_shows_the_parsed_rows_and_imports_nothing_before_the_commit(planning, lead):
    kr = planning.marketing_kr
    response = check(lead, f"kr,period,date,value\n{kr.pk},0,,1200.5\n{kr.pk},,2026-03-02,900\n")
    assert response.status_code == 200
    page = response.content.decode()
    rows = re.search(r'<table class="import-rows">.*?</table>', page, re.S).group(0)
    assert re.search(
        r">2</th><td>Marketing pipeline .*?</td><td>Jan 2026</td><td[^>]*>1,200.5 USD", rows
    )
    assert re.search(
        r">3</th><td>Marketing pipeline .*?</td><td>Mar 2026</td><td[^>]*>900 USD", rows
    )
    assert "replaces the whole history" in page and "Import 2 rows" in page
    payload_of(page)
    nothing_written()


def test_it_lists_every_error_with_its_row_number_and_offers_no_commit(planning, world, lead):
    kr, theirs = planning.marketing_kr, planning.sales_kr
    text = (
        "kr,period,value\n"
        f"{kr.pk},0,100\n"
        f"{kr.pk},7,100\n"  # row 3: no such period
        "\n"
        f"{theirs.pk},0,5\n"  # row 5: Sam's
        f"{kr.pk},1,1,000\n"  # row 6: four cells
        f"{kr.pk},2,abc\n"  # row 7: not a number
    )
    response = check(lead, text)
    assert response.status_code == 400
    page = response.content.decode()
    assert "This file cannot be imported: 4 problems." in page
    errors = re.search(r'<table class="import-errors">.*?</table>', page, re.S).group(0)
    found = re.findall(r'<th scope="row" class="num">(\d+)</th><td>(.*?)</td>', errors)
    assert [row for row, _ in found] == ["3", "5", "6", "7"]
    assert "period: 7 is out of range" in found[0][1]
    assert f"you may not import history for key result {theirs.pk}" in found[1][1]
    assert "value: “abc” is not a number" in found[3][1].replace("&ldquo;", "“")
    assert 'name="payload"' not in page
    assert "Rows that passed" in page  # row 2
    nothing_written()


def test_it_imports_the_checked_file_on_commit(planning, lead):
    kr = planning.marketing_kr
    page = check(lead, f"kr,period,value\n{kr.pk},0,100\n{kr.pk},0,50\n{kr.pk},2,7\n")
    response = lead.post(URL, {"action": "commit", "payload": payload_of(page.content.decode())})
    assert response.status_code == 302 and response["Location"] == URL
    assert dict(HistoryPoint.objects.filter(kr=kr).values_list("period", "value")) == {0: 150, 2: 7}
    batch = ImportBatch.objects.get()
    assert (batch.filename, batch.rows, batch.uploaded_by.username) == ("history.csv", 3, "maya")
    shown = lead.get(URL).content.decode()
    assert "Imported 3 rows of “history.csv”: the history of 1 key result was replaced." in (
        shown.replace("&ldquo;", "“").replace("&rdquo;", "”")
    )


def test_it_refuses_a_changed_payload_and_writes_nothing(planning, lead):
    kr = planning.marketing_kr
    payload = payload_of(check(lead, f"kr,period,value\n{kr.pk},0,100\n").content.decode())
    data = signing.loads(payload, salt=import_views.SALT)
    data["csv"] = data["csv"].replace("100", "999999")
    forged = signing.dumps(data, salt="another salt", compress=True)
    for tampered in (payload[:-3] + "abc", forged, "", "not a payload"):
        response = lead.post(URL, {"action": "commit", "payload": tampered})
        assert response.status_code == 400
        assert "could not be verified" in response.content.decode()
    nothing_written()


def test_it_refuses_a_payload_checked_by_someone_else_or_too_long_ago(planning, world, client):
    kr = planning.marketing_kr
    client.force_login(world.admin)
    payload = payload_of(check(client, f"kr,period,value\n{kr.pk},0,100\n").content.decode())
    client.force_login(world.marketing_lead)
    response = client.post(URL, {"action": "commit", "payload": payload})
    assert response.status_code == 400
    assert "This check was made by someone else" in response.content.decode()
    client.force_login(world.admin)
    with time_machine.travel(timezone.now() + timedelta(hours=1, minutes=1)):
        response = client.post(URL, {"action": "commit", "payload": payload})
    assert response.status_code == 400
    assert "more than an hour old" in response.content.decode()
    nothing_written()


def test_it_checks_the_file_again_at_the_commit(planning, world, lead):
    """Maya checks a file for her department's KR, then stops leading it: nothing is
    imported, and the page shows why, row by row."""
    kr = planning.marketing_kr
    payload = payload_of(check(lead, f"kr,period,value\n{kr.pk},0,100\n").content.decode())
    kr.owner = world.admin
    kr.save(update_fields=["owner"])
    world.marketing.lead = world.sales_lead
    world.marketing.save(update_fields=["lead"])
    response = lead.post(URL, {"action": "commit", "payload": payload})
    assert response.status_code == 400
    page = response.content.decode()
    assert "Nothing was imported." in page
    assert f"you may not import history for key result {kr.pk}" in page
    nothing_written()


def test_it_reads_an_xlsx_workbook_with_the_sheets_row_numbers(planning, lead):
    kr = planning.marketing_kr
    book = Workbook()
    sheet = book.active
    sheet.append(["kr", "period", "value"])
    sheet.append([kr.pk, 0, 1200.5])
    sheet.append([])
    sheet.append([kr.pk, 9, 1])  # row 4
    out = io.BytesIO()
    book.save(out)
    response = check(lead, out.getvalue(), name="history.xlsx")
    assert response.status_code == 400
    page = response.content.decode()
    assert '<th scope="row" class="num">4</th><td>period: 9 is out of range' in page
    sheet.delete_rows(4)
    out = io.BytesIO()
    book.save(out)
    page = check(lead, out.getvalue(), name="history.xlsx").content.decode()
    assert lead.post(URL, {"action": "commit", "payload": payload_of(page)}).status_code == 302
    assert HistoryPoint.objects.get(kr=kr).value == pytest.approx(1200.5)
    assert ImportBatch.objects.get().filename == "history.xlsx"


def test_it_says_what_is_wrong_with_a_missing_or_unreadable_file(planning, lead):
    response = lead.post(URL, {"action": "check"})
    assert response.status_code == 400
    assert "Choose a CSV or XLSX file to upload." in response.content.decode()
    response = check(lead, b"PK\x03\x04garbage", name="broken.xlsx")
    assert response.status_code == 400
    assert "not an XLSX workbook that can be read" in response.content.decode()
    response = check(lead, b"\xff\xfe kr,period,value")
    assert response.status_code == 400
    assert "The file is not UTF-8 text" in response.content.decode()
    nothing_written()


def test_it_refuses_a_file_too_large_to_travel_in_the_page(planning, lead, settings):
    kr = planning.marketing_kr
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024 + 100
    response = check(lead, f"kr,period,value\n{kr.pk},0,100\n")
    assert response.status_code == 400
    assert "too large to import from this page" in response.content.decode()


def test_it_lets_viewers_read_nothing_here_and_outsiders_find_nothing(planning, world, client):
    kr = planning.marketing_kr
    client.force_login(world.viewer)
    assert client.get(URL).status_code == 403
    assert check(client, f"kr,period,value\n{kr.pk},0,100\n").status_code == 403
    client.force_login(world.outsider)
    assert client.get(URL).status_code == 404
    assert check(client, f"kr,period,value\n{kr.pk},0,100\n").status_code == 404
    nothing_written()


def test_it_links_the_import_for_writers_only(planning, world, client):
    client.force_login(world.member)
    assert URL in client.get("/o/acme/cycles/").content.decode()
    client.force_login(world.viewer)
    assert URL not in client.get("/o/acme/cycles/").content.decode()
