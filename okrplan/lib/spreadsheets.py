"""Spreadsheets out and in: every export's CSV and XLSX, and an XLSX upload read as CSV.

Every export is one `Table` (a header row, then rows of cells) written by the same rules
in both formats (docs/decisions.md, issue 14 item 5):

- A number is a number. `Decimal` is a quantity: in XLSX a numeric cell whose number
  format shows its decimal places (`#,##0.00`), in CSV its plain decimal text (`-1234.5`,
  as the API writes it). `int` is a count or an id: a plain number. A negative number
  is a number too, never text.
- Text is inert (OWASP, "CSV Injection"): a cell whose text starts with `=`, `+`, `-`,
  `@`, a tab or a carriage return gets a leading `'`, and in XLSX every text cell is a
  string cell, never a formula (openpyxl reads a text starting with `=` as one) nor an
  error value (`#N/A`).
- A date is a date. A datetime is shown in the current time zone without its offset
  (XLSX has none), so the caller names the zone in the header (`time_header`).

XLSX keeps what a spreadsheet keeps of a number: 15 to 16 significant digits (an IEEE
double, which is what Excel computes with); the CSV keeps every digit.
"""

import csv
import io
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from django.http import HttpResponse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.text import slugify
from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from okrplan.lib.numbers import fmt

Cell = str | Decimal | int | date | datetime | None

FORMATS = ("csv", "xlsx")
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
# A text cell starting with one of these is a formula (or starts one) to a spreadsheet.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
MAX_DECIMALS = 6  # what the models keep; a computed figure is rounded to it
_STEP = Decimal(1).scaleb(-MAX_DECIMALS)
WIDEST_COLUMN = 60  # characters


@dataclass
class Table:
    """One sheet: `title` names the worksheet (XLSX) and the file."""

    title: str
    header: list[str]
    rows: list[list[Cell]] = field(default_factory=list)


def inert(text: str) -> str:
    """`text` as a spreadsheet shows it and never runs it."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def time_header(label: str) -> str:
    """A column of datetimes, named with the time zone they are shown in."""
    return f"{label} ({timezone.get_current_timezone_name()})"


def _local(value: datetime) -> datetime:
    """An aware datetime in the current time zone, without its offset."""
    if timezone.is_aware(value):
        value = timezone.localtime(value)
    return value.replace(tzinfo=None, microsecond=0)


def _number(value: Decimal) -> Decimal:
    """At most MAX_DECIMALS places (an even split of a target has 28), no trailing zeros."""
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -MAX_DECIMALS:
        value = value.quantize(_STEP, rounding=ROUND_HALF_UP)
    return value


# --- CSV ---------------------------------------------------------------------------


def _csv_cell(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        raise TypeError("say yes or no in words: a bool is not a cell")
    if isinstance(value, Decimal):
        return fmt(_number(value))
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime):
        return _local(value).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return inert(str(value))


def csv_bytes(table: Table) -> bytes:
    """The table as CSV, UTF-8 with a byte order mark (so that Excel reads it as UTF-8;
    the history import reads it back as well)."""
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow([inert(name) for name in table.header])
    for row in table.rows:
        writer.writerow([_csv_cell(value) for value in row])
    return out.getvalue().encode("utf-8-sig")


# --- XLSX --------------------------------------------------------------------------


def _places(value: Decimal) -> int:
    """The decimal places `value` needs (none for 5000000.000000)."""
    exponent = _number(value).normalize().as_tuple().exponent if value else 0
    return min(MAX_DECIMALS, -exponent) if isinstance(exponent, int) and exponent < 0 else 0


def _decimal_format(places: int) -> str:
    """Thousands separated, with `places` decimal places."""
    return "#,##0." + "0" * places if places else "#,##0"


def _sheet_title(title: str) -> str:
    """A worksheet name Excel accepts: at most 31 characters, none of []:*?/\\."""
    cleaned = "".join(" " if char in "[]:*?/\\" else char for char in title).strip(" '")
    return ILLEGAL_CHARACTERS_RE.sub("", cleaned)[:31] or "Sheet"


def _put(sheet, row: int, column: int, value: Cell, places: int = 0) -> int:
    """Write one cell (a Decimal with `places` decimal places); the width it needs."""
    cell = sheet.cell(row=row, column=column)
    if value is None:
        return 0
    if isinstance(value, bool):
        raise TypeError("say yes or no in words: a bool is not a cell")
    if isinstance(value, Decimal):
        value = _number(value)
        cell.value = value  # openpyxl writes it as a number (16 significant digits)
        cell.number_format = _decimal_format(places)
        return len(f"{value:,.{places}f}")
    if isinstance(value, int):
        cell.value = value
        return len(str(value))
    if isinstance(value, datetime):
        cell.value = _local(value)
        cell.number_format = "yyyy-mm-dd hh:mm"
        return 16
    if isinstance(value, date):
        cell.value = value
        cell.number_format = "yyyy-mm-dd"
        return 10
    text = ILLEGAL_CHARACTERS_RE.sub("", inert(str(value)))
    cell.value = text
    cell.data_type = "s"  # a string, whatever it looks like: never a formula or an error
    return max((len(line) for line in text.splitlines()), default=0)


def xlsx_bytes(table: Table) -> bytes:
    """The table as an XLSX workbook of one worksheet: the header bold and frozen, each
    column's numbers with the decimal places the most precise of them needs."""
    places: dict[int, int] = {}
    for row in table.rows:
        for column, value in enumerate(row, start=1):
            if isinstance(value, Decimal):
                places[column] = max(places.get(column, 0), _places(value))
    book = Workbook()
    sheet = book.active
    sheet.title = _sheet_title(table.title)
    widths: dict[int, int] = {}
    bold = Font(bold=True)
    for column, name in enumerate(table.header, start=1):
        widths[column] = _put(sheet, 1, column, name)
        sheet.cell(row=1, column=column).font = bold
    for row_number, row in enumerate(table.rows, start=2):
        for column, value in enumerate(row, start=1):
            width = _put(sheet, row_number, column, value, places.get(column, 0))
            widths[column] = max(widths.get(column, 0), width)
    for column, width in widths.items():
        sheet.column_dimensions[get_column_letter(column)].width = min(WIDEST_COLUMN, width + 2)
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# --- The response ------------------------------------------------------------------


def filename(name: str, fallback: str, fmt_: str) -> str:
    """`name` slugified (ASCII) with the format's extension; `fallback` when nothing
    of it is left (a title in another script)."""
    return f"{slugify(name)[:80].strip('-') or fallback}.{fmt_}"


def sheet_response(table: Table, *, fmt_: str, name: str, fallback: str) -> HttpResponse:
    """The table as a download: CSV or XLSX, named after `name`."""
    if fmt_ not in FORMATS:
        raise ValueError(f"not a spreadsheet format: {fmt_!r}")
    body = csv_bytes(table) if fmt_ == "csv" else xlsx_bytes(table)
    response = HttpResponse(body, content_type=CONTENT_TYPES[fmt_])
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=True, filename=filename(name, fallback, fmt_)
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


class SheetFormatConverter:
    """`<sheet:fmt>` in a URL: `csv` or `xlsx`, anything else is not found."""

    regex = "csv|xlsx"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


# --- XLSX in ------------------------------------------------------------------------

XLSX_MAGIC = b"PK\x03\x04"  # a zip archive, which an XLSX workbook is
MAX_UNPACKED = 100 * 1024 * 1024  # what a workbook may unpack to (a zip bomb is refused)


class UnreadableWorkbook(ValueError):
    """The upload looks like a workbook but cannot be read as one; the message says why."""


def is_xlsx(content: bytes) -> bool:
    return content.startswith(XLSX_MAGIC)


def _text_of(value) -> str:
    """A cell's value as the CSV parser expects it: plain decimal notation for numbers,
    YYYY-MM-DD for dates."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        # repr is the shortest text that reads back as the same double: what was typed
        return format(Decimal(repr(value)), "f")
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else str(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def xlsx_as_csv(content: bytes, *, max_rows: int) -> bytes:
    """The first worksheet of a workbook as CSV, one record per worksheet row from row 1
    on (blank rows kept), so that the CSV parser's row numbers are the worksheet's.

    Trailing empty cells are dropped and a row shorter than the header row is filled
    with empty cells (a spreadsheet has no row length: an empty last cell is an empty
    value). Reading stops after `max_rows` + 1 non-blank rows (the parser then says the
    file is too long). Formulas give their last computed value.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            if sum(member.file_size for member in archive.infolist()) > MAX_UNPACKED:
                raise UnreadableWorkbook(
                    f"The workbook unpacks to more than {MAX_UNPACKED // 1024 // 1024} MB: "
                    "save the sheet as CSV (UTF-8) and upload that."
                )
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except UnreadableWorkbook:
        raise
    except Exception:  # openpyxl raises many kinds on a damaged or foreign file
        raise UnreadableWorkbook(
            "The file is not an XLSX workbook that can be read: save it again as .xlsx, "
            "or as CSV (UTF-8), and upload it again."
        ) from None
    try:
        sheet = book.worksheets[0] if book.worksheets else None
        records = list(_records(sheet, max_rows)) if sheet is not None else []
    finally:
        book.close()
    out = io.StringIO(newline="")
    csv.writer(out).writerows(records)
    return out.getvalue().encode("utf-8")


def _records(sheet, max_rows: int) -> Iterable[list[str]]:
    width = 0
    filled = 0
    for values in sheet.iter_rows(min_row=1, values_only=True):
        cells = [_text_of(value) for value in values]
        while cells and not cells[-1].strip():
            cells.pop()
        if cells:
            filled += 1
            if not width:
                width = len(cells)  # the header row
            cells += [""] * (width - len(cells))
        yield cells
        if filled > max_rows + 1:
            return
