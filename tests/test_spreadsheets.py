"""okrplan/lib/spreadsheets.py: what every export writes, and an XLSX upload read as CSV."""

import csv
import io
import zipfile
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.utils import timezone
from openpyxl import Workbook, load_workbook

from okrplan.lib import spreadsheets
from okrplan.lib.spreadsheets import (
    Table,
    UnreadableWorkbook,
    csv_bytes,
    filename,
    inert,
    sheet_response,
    xlsx_as_csv,
    xlsx_bytes,
)

D = Decimal
HOSTILE = ['=HYPERLINK("http://evil.test","click")', "+1", "-1", "@x", "\tx", "\rx", "=1+1"]


def table() -> Table:
    return Table(
        title="Q1: [plan]/x",
        header=["Name", "Value", "Count", "When", "Day"],
        rows=[
            [
                HOSTILE[0],
                D("-1234.50"),
                -3,
                datetime(2026, 1, 2, 3, 4, tzinfo=UTC),
                date(2026, 1, 5),
            ],
            ["#N/A", D("1666666.666666666666666666667"), 7, None, None],
            ["plain", D("5000000.000000"), 0, None, None],
            *[[text, None, None, None, None] for text in HOSTILE[1:]],
        ],
    )


def read_csv(body: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))


def read_xlsx(body: bytes):
    return load_workbook(io.BytesIO(body)).active


@pytest.mark.parametrize("text", HOSTILE)
def test_it_makes_a_formula_start_inert(text):
    assert inert(text) == "'" + text
    assert inert("Pipeline = sales") == "Pipeline = sales"  # only the first character counts


def test_it_writes_csv_with_numbers_as_plain_decimals_and_text_inert():
    rows = read_csv(csv_bytes(table()))
    assert rows[0] == ["Name", "Value", "Count", "When", "Day"]
    assert rows[1] == ["'" + HOSTILE[0], "-1234.5", "-3", "2026-01-02 03:04", "2026-01-05"]
    assert rows[2][:2] == ["#N/A", "1666666.666667"]  # at most 6 places
    assert rows[3][:2] == ["plain", "5000000"]
    assert [row[0] for row in rows[4:]] == ["'" + text for text in HOSTILE[1:]]


def test_it_shows_datetimes_in_the_current_time_zone():
    with timezone.override("Europe/Berlin"):
        assert read_csv(csv_bytes(table()))[1][3] == "2026-01-02 04:04"
        assert spreadsheets.time_header("Due") == "Due (Europe/Berlin)"


def test_it_writes_xlsx_numbers_as_numbers_and_text_as_strings_never_formulas():
    sheet = read_xlsx(xlsx_bytes(table()))
    assert sheet.title == "Q1   plan  x"
    assert [cell.value for cell in sheet[1]] == ["Name", "Value", "Count", "When", "Day"]
    assert sheet["A1"].font.b and sheet.freeze_panes == "A2"
    name, value, count, when, day = sheet[2]
    assert (name.value, name.data_type) == ("'" + HOSTILE[0], "s")
    assert (value.value, value.data_type) == (-1234.5, "n")
    # a column's numbers show the places its most precise one needs (at most 6)
    assert {sheet[f"B{row}"].number_format for row in (2, 3, 4)} == {"#,##0.000000"}
    assert (count.value, count.data_type) == (-3, "n")  # a negative number is a number
    assert when.value == datetime(2026, 1, 2, 3, 4) and when.is_date
    assert day.value == datetime(2026, 1, 5) and day.number_format == "yyyy-mm-dd"
    assert (sheet["A3"].value, sheet["A3"].data_type) == ("#N/A", "s")  # not an error value
    assert sheet["B3"].value == pytest.approx(1666666.666667)
    assert sheet["B4"].value == 5000000
    for row, text in enumerate(HOSTILE[1:], start=5):
        cell = sheet.cell(row=row, column=1)
        # (XML reads a carriage return back as a line feed)
        assert (cell.value, cell.data_type) == ("'" + text.replace("\r", "\n"), "s"), text


def test_it_leaves_no_formula_in_the_workbooks_xml():
    with zipfile.ZipFile(io.BytesIO(xlsx_bytes(table()))) as archive:
        xml = archive.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in xml and "<f " not in xml
    assert 't="inlineStr"' in xml


def test_it_formats_a_whole_number_column_without_decimals():
    sheet = read_xlsx(xlsx_bytes(Table("t", ["a"], [[D("5000000.000000")], [D("-3")]])))
    assert [sheet[f"A{row}"].number_format for row in (2, 3)] == ["#,##0", "#,##0"]
    assert (sheet["A3"].value, sheet["A3"].data_type) == (-3, "n")


def test_it_drops_characters_a_workbook_cannot_hold():
    sheet = read_xlsx(xlsx_bytes(Table("t", ["a"], [["bell\x07 here"]])))
    assert sheet["A2"].value == "bell here"


def test_it_names_the_file_after_the_title_or_a_fallback():
    assert filename("acme Generate $5M in new pipeline", "kr-1", "csv") == (
        "acme-generate-5m-in-new-pipeline.csv"
    )
    assert filename("Продажи", "key-result-7", "xlsx") == "key-result-7.xlsx"


def test_it_answers_a_download_with_its_content_type():
    response = sheet_response(table(), fmt_="xlsx", name="Q1 2026", fallback="cycle")
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert response["Content-Disposition"] == 'attachment; filename="q1-2026.xlsx"'
    response = sheet_response(table(), fmt_="csv", name="Q1 2026", fallback="cycle")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    with pytest.raises(ValueError):
        sheet_response(table(), fmt_="pdf", name="x", fallback="x")


# --- An XLSX upload, read as CSV -------------------------------------------------------


def workbook(cells: dict[str, object]) -> bytes:
    book = Workbook()
    for where, value in cells.items():
        book.active[where] = value
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_it_reads_a_workbook_row_by_row_keeping_the_row_numbers():
    content = workbook(
        {
            "A3": "kr", "B3": "period", "C3": "value",
            "A4": 7, "B4": 0, "C4": 0.1,
            "A6": 7, "B6": 1, "C6": 1e-7,
            "A7": 7, "B7": datetime(2026, 2, 5), "C7": 1234567.0,
            "A8": 7, "B8": 2,  # an empty value
            "F9": None,
        }
    )  # fmt: skip
    rows = read_csv(xlsx_as_csv(content, max_rows=100))
    assert rows[:8] == [
        [],
        [],
        ["kr", "period", "value"],
        ["7", "0", "0.1"],
        [],
        ["7", "1", "0.0000001"],
        ["7", "2026-02-05", "1234567"],
        ["7", "2", ""],  # as wide as the header: the empty value is an empty cell
    ]


def test_it_stops_reading_past_the_row_limit():
    book = Workbook()
    for n in range(10):
        book.active.append([n, 0, 1])
    out = io.BytesIO()
    book.save(out)
    assert len(read_csv(xlsx_as_csv(out.getvalue(), max_rows=3))) == 5  # header + 3 + 1


def test_it_refuses_a_damaged_workbook_and_one_that_unpacks_too_large(monkeypatch):
    with pytest.raises(UnreadableWorkbook, match="not an XLSX workbook"):
        xlsx_as_csv(b"PK\x03\x04 not really a zip", max_rows=10)
    monkeypatch.setattr(spreadsheets, "MAX_UNPACKED", 1000)
    with pytest.raises(UnreadableWorkbook, match="unpacks to more than"):
        xlsx_as_csv(workbook({"A1": "kr"}), max_rows=10)
