"""Import of operational history from CSV (SPEC.md §7).

`parse_history_csv` is pure (no ORM): the bytes of a file and what the caller
may know of the key results it names go in; the points (rows summed per KR and
period), the number of data rows and every row's errors come out.

`history_import` is the service: it loads the organization's key results named
in the file (one query), parses, and writes the whole file or nothing: an
`ImportBatch`, the history of every KR in the file (replacing what they had) and
the `historical_ratio` of the funnel stages the file touches. `history_check` is its
first half, which writes nothing: the import page's preview.

The file: a header row naming the columns `kr`, `value` and `period` and/or
`date` (any case, any order), then one row per KR and period (a period index
from 0) or date (YYYY-MM-DD inside the KR's cycle). Row 1 is the header; blank
rows are skipped but keep their number, as in a spreadsheet.
"""

import csv
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from hierarchy.models import Aggregation, KeyResult, MetricKind, Organization
from hierarchy.periods import Period, period_index_for
from hierarchy.permissions import kr_can_edit
from hierarchy.scope import Scope
from hierarchy.services import MAX_ABS_VALUE, kr_historical_ratios_set
from okrplan.lib.fields import number_message, parse_decimal
from plans.models import HistoryPoint, ImportBatch

MAX_BYTES = 10 * 1024 * 1024
MAX_ROWS = 100_000
MAX_ERRORS = 1_000  # listed; the rest are counted in one last message
VALUE_STEP = Decimal("0.000001")  # HistoryPoint.value keeps 6 decimal places
RATIO_STEP = Decimal("0.000001")  # KeyResult.historical_ratio keeps 6 decimal places

COLUMNS = ("kr", "period", "date", "value")
COLUMNS_HINT = "kr, period or date, value"

_INTEGER = re.compile(r"-?[0-9]+")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


@dataclass(frozen=True)
class KrInfo:
    """What the parser needs to know of a key result named in the file."""

    id: int
    periods: list[Period]
    metric_kind: str
    editable: bool


@dataclass(frozen=True)
class RowError:
    """A reason the file is rejected; row 1 is the header, row 0 the file as a whole."""

    row: int
    message: str


@dataclass(frozen=True)
class ParsedRow:
    """A data row that passed every check: what it gives (a period index from 0)."""

    row: int
    kr: int
    period: int
    value: Decimal


@dataclass
class ParsedImport:
    points: dict[tuple[int, int], Decimal] = field(default_factory=dict)
    rows: int = 0
    errors: list[RowError] = field(default_factory=list)
    # The rows that passed, in file order (also when others did not: a preview shows them).
    accepted: list[ParsedRow] = field(default_factory=list)


# --- Reading the file -----------------------------------------------------------------


@dataclass
class _Table:
    """The non-blank records of a file, numbered as rows; or why it could not be read."""

    header_row: int = 0
    header: list[str] = field(default_factory=list)
    records: list[tuple[int, list[str]]] = field(default_factory=list)
    error: RowError | None = None


def _read(content: bytes) -> _Table:
    table = _Table()
    if len(content) > MAX_BYTES:
        table.error = RowError(0, f"The file is larger than {MAX_BYTES // 1024 // 1024} MB.")
        return table
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        table.error = RowError(
            0, "The file is not UTF-8 text: save it as CSV (UTF-8) and upload it again."
        )
        return table
    row = 0
    try:
        for row, record in enumerate(csv.reader(io.StringIO(text, newline="")), start=1):
            cells = [cell.strip() for cell in record]
            if not any(cells):
                continue
            if not table.header_row:
                table.header_row, table.header = row, cells
                continue
            table.records.append((row, cells))
            if len(table.records) > MAX_ROWS:
                table.error = RowError(
                    0, f"The file has more than {MAX_ROWS:,} data rows: split it into smaller ones."
                )
                return table
    except csv.Error as error:
        table.error = RowError(row + 1, f"The file is not valid CSV here: {error}.")
    return table


def _show(text: str, limit: int = 40) -> str:
    """A cell quoted for a message, cut short when long."""
    return f'"{text[:limit]}…"' if len(text) > limit else f'"{text}"'


def _columns(table: _Table) -> tuple[dict[str, int], list[RowError]]:
    """The header's column positions by name, or the errors that make it unusable."""
    row = table.header_row
    names = [cell.lower() for cell in table.header]
    errors = []
    unknown = [name for name in names if name not in COLUMNS]
    if unknown:
        shown = ", ".join(_show(name) if name else "(a column with no name)" for name in unknown)
        errors.append(
            RowError(row, f"header: unknown column(s) {shown}; the columns are {COLUMNS_HINT}.")
        )
    for name in COLUMNS:
        if names.count(name) > 1:
            errors.append(RowError(row, f'header: the column "{name}" appears more than once.'))
    missing = [name for name in ("kr", "value") if name not in names]
    if "period" not in names and "date" not in names:
        missing.insert(1, "period or date")
    if missing:
        errors.append(
            RowError(
                row,
                f"header: missing column(s) {', '.join(missing)}; "
                f"the first row names the columns {COLUMNS_HINT}.",
            )
        )
    return {name: names.index(name) for name in COLUMNS if name in names}, errors


def _kr_ids(table: _Table) -> set[int]:
    """The key result ids the `kr` column names (whatever else is wrong with the file)."""
    if not table.header_row:
        return set()
    position, _ = _columns(table)
    if "kr" not in position:
        return set()
    ids = set()
    for _, cells in table.records:
        if len(cells) > position["kr"]:
            text = cells[position["kr"]]
            if _INTEGER.fullmatch(text) and len(text) <= 18:
                ids.add(int(text))
    return ids


def kr_ids_named(content: bytes) -> set[int]:
    """The key result ids a history file names: the ones to load before parsing it."""
    return _kr_ids(_read(content))


# --- Checking the rows ------------------------------------------------------------------


class _Errors:
    """Collects row errors; past MAX_ERRORS it counts instead of listing."""

    def __init__(self) -> None:
        self.listed: list[RowError] = []
        self.more = 0

    def add(self, row: int, message: str) -> None:
        if len(self.listed) < MAX_ERRORS:
            self.listed.append(RowError(row, message))
        else:
            self.more += 1

    @property
    def count(self) -> int:
        return len(self.listed) + self.more

    def result(self) -> list[RowError]:
        if not self.more:
            return list(self.listed)
        return [
            *self.listed,
            RowError(0, f"… and {self.more:,} more error(s) not listed: fix these and try again."),
        ]


def _kr(text: str, krs: dict[int, KrInfo], errors: _Errors, row: int) -> tuple[KrInfo | None, bool]:
    """The KR a row names (None when unknown) and whether the caller may import for it."""
    if not text:
        errors.add(row, "kr: empty; give the id of a key result.")
        return None, False
    if not _INTEGER.fullmatch(text):
        errors.add(row, f"kr: {_show(text)} is not a key result id (a whole number).")
        return None, False
    info = krs.get(int(text)) if len(text) <= 18 else None
    if info is None:
        # The same words for a foreign id as for a missing one: nothing of another tenant shows.
        shown = str(int(text)) if len(text) <= 18 else _show(text)
        errors.add(row, f"kr: there is no key result {shown} in this organization.")
        return None, False
    if not info.editable:
        errors.add(row, f"kr: you may not import history for key result {info.id}.")
        return info, False
    return info, True


def _period(
    cells: list[str], position: dict[str, int], info: KrInfo | None, errors: _Errors, row: int
) -> int | None:
    """The period index a row gives, by index or by date, or None (with an error)."""
    period_text = cells[position["period"]] if "period" in position else ""
    date_text = cells[position["date"]] if "date" in position else ""
    if period_text and date_text:
        errors.add(row, "period, date: give a period or a date, not both.")
        return None
    if not period_text and not date_text:
        named = ", ".join(name for name in ("period", "date") if name in position)
        errors.add(row, f"{named}: empty; give a period index (from 0) or a date (YYYY-MM-DD).")
        return None
    if period_text:
        if not _INTEGER.fullmatch(period_text):
            errors.add(row, f"period: {_show(period_text)} is not a period index (a whole number).")
            return None
        if info is None:
            return None
        last = len(info.periods) - 1
        index = int(period_text) if len(period_text) <= 9 else -1
        if not 0 <= index <= last:
            shown = str(int(period_text)) if len(period_text) <= 9 else _show(period_text)
            errors.add(
                row,
                f"period: {shown} is out of range; key result {info.id} has periods 0 to {last}.",
            )
            return None
        return index
    try:
        if not _ISO_DATE.fullmatch(date_text):
            raise ValueError(date_text)
        day = date.fromisoformat(date_text)
    except ValueError:
        errors.add(row, f"date: {_show(date_text)} is not a date (YYYY-MM-DD).")
        return None
    if info is None:
        return None
    index = period_index_for(info.periods, day)
    if index is None:
        first, last = info.periods[0].start, info.periods[-1].end
        errors.add(
            row,
            f"date: {day} is outside the cycle of key result {info.id} ({first} to {last}).",
        )
    return index


def _value(text: str, info: KrInfo | None, errors: _Errors, row: int) -> Decimal | None:
    """The number a row gives, or None (with an error)."""
    if not text:
        errors.add(row, "value: empty; give a number.")
        return None
    try:
        # the API's one parser: plain decimal notation, finite, below MAX_ABS_VALUE in size
        value = parse_decimal(text)
    except ValueError as error:
        errors.add(row, f"value: {number_message(error)}")
        return None
    if value.quantize(VALUE_STEP) != value:
        errors.add(row, f"value: {_show(text)} has more than 6 decimal places.")
        return None
    if value < 0 and info is not None and info.metric_kind == MetricKind.CUMULATIVE:
        errors.add(
            row,
            f"value: {_show(text)} is negative; key result {info.id} is cumulative "
            "(a flow counted over the cycle), so its values cannot be below 0.",
        )
        return None
    return value


def _parse(table: _Table, krs: dict[int, KrInfo]) -> ParsedImport:
    result = ParsedImport(rows=len(table.records))
    if table.error is not None:
        result.errors = [table.error]
        return result
    if not table.header_row:
        result.errors = [
            RowError(0, f"The file is empty: it needs a header row ({COLUMNS_HINT}) and data rows.")
        ]
        return result
    position, header_errors = _columns(table)
    if header_errors:
        result.errors = header_errors
        return result
    if not table.records:
        result.errors = [RowError(0, "The file has no data rows: add rows under the header.")]
        return result

    errors = _Errors()
    points: dict[tuple[int, int], Decimal] = {}
    level_rows: dict[tuple[int, int], int] = {}  # a level KR's period → the row that gave it
    too_large: set[tuple[int, int]] = set()
    width = len(table.header)
    for row, cells in table.records:
        if len(cells) != width:
            errors.add(
                row,
                f"this row has {len(cells)} cell(s); the header has {width} "
                f"({', '.join(table.header)}).",
            )
            continue
        before = errors.count
        info, allowed = _kr(cells[position["kr"]], krs, errors, row)
        index = _period(cells, position, info, errors, row)
        value = _value(cells[position["value"]], info, errors, row)
        if errors.count != before or not allowed:
            continue
        key = (info.id, index)
        if info.metric_kind == MetricKind.LEVEL:
            # A level is measured at a moment: two readings of one period do not add up.
            if key in level_rows:
                errors.add(
                    row,
                    f"period: key result {info.id} is a level (measured at a moment) and has "
                    f"a value for period {index} on row {level_rows[key]} already; "
                    "give one value per period.",
                )
                continue
            level_rows[key] = row
        total = points.get(key, Decimal(0)) + value
        if abs(total) >= MAX_ABS_VALUE and key not in too_large:
            too_large.add(key)
            errors.add(
                row,
                f"value: the values of key result {info.id} for period {index} add up to "
                f"{MAX_ABS_VALUE:,.0f} or more.",
            )
        points[key] = total
        result.accepted.append(ParsedRow(row=row, kr=info.id, period=index, value=value))
    result.errors = errors.result()
    result.points = {} if result.errors else points
    return result


def parse_history_csv(content: bytes, *, krs: dict[int, KrInfo]) -> ParsedImport:
    """Check a history file against the key results it may name; sum its rows per KR and period.

    `krs` holds the caller's organization's key results named in the file (an id
    not in it is "no such key result", the same for a foreign id as a missing
    one). Every bad row is reported; with any error, `points` is empty (`accepted`
    still lists the rows that passed).
    """
    return _parse(_read(content), krs)


# --- The service -----------------------------------------------------------------------


class ImportRejected(Exception):
    """The file has errors: nothing was imported."""

    def __init__(self, errors: list[RowError]):
        super().__init__(f"The file was rejected with {len(errors)} error(s).")
        self.errors = errors


@dataclass(frozen=True)
class ImportResult:
    batch_id: int
    rows: int
    krs: list[int]
    ratios: list[dict]  # {"kr": id, "historical_ratio": Decimal}
    skipped_ratios: list[dict]  # {"kr": id, "reason": str}


# Up to this many ids are looked up with `IN (...)`; beyond it the organization's key results
# are read whole (still one query) so that no database's limit on query parameters is reached.
_IN_LIMIT = 500


def _chunks(ids: list[int], size: int = _IN_LIMIT) -> Iterator[list[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def _krs_named(org: Organization, ids: set[int]) -> dict[int, KeyResult]:
    """The organization's key results among `ids`, with cycle and department: one query."""
    if not ids:
        return {}
    queryset = KeyResult.objects.filter(organization=org).select_related("cycle", "department")
    if len(ids) <= _IN_LIMIT:
        queryset = queryset.filter(pk__in=ids)
    return {kr.pk: kr for kr in queryset if kr.pk in ids}


def _history_replace(
    org: Organization, batch: ImportBatch, points: dict[tuple[int, int], Decimal]
) -> list[int]:
    """Replace the history of every KR in `points` by `points`; the KR ids, sorted."""
    kr_ids = sorted({kr_id for kr_id, _ in points})
    for chunk in _chunks(kr_ids):
        HistoryPoint.objects.filter(organization=org, kr_id__in=chunk).delete()
    HistoryPoint.objects.bulk_create(
        [
            HistoryPoint(organization=org, kr_id=kr_id, period=period, value=value, batch=batch)
            for (kr_id, period), value in sorted(points.items())
        ],
        batch_size=1000,
    )
    return kr_ids


def _stage_ratio(
    stage: KeyResult, previous: KeyResult, totals: dict[int, Decimal]
) -> tuple[Decimal | None, str | None]:
    """The historical ratio of `stage` to `previous`, or the reason there is none."""
    mine, theirs = totals[stage.pk], totals[previous.pk]
    sums = f"stage {stage.stage} totals {mine}, stage {previous.stage} totals {theirs}"
    if theirs == 0:
        return None, f"{sums}: no ratio to a total of 0."
    raw = mine / theirs
    if raw > 1:
        return None, f"{sums}: the ratio {raw:.6f} is above 1."
    ratio = raw.quantize(RATIO_STEP, rounding=ROUND_HALF_UP)
    if ratio <= 0:
        return None, f"{sums}: the ratio {ratio} is not above 0."
    return ratio, None


def _ratios_update(
    org: Organization, imported: Iterable[KeyResult]
) -> tuple[list[dict], list[dict]]:
    """Set the historical ratio of each funnel stage the import touched (itself or the one before).

    Only stages of a sequential parent, from stage 2 on, whose stage and previous
    stage both have history; only ratios with 0 < ratio ≤ 1 are kept.
    """
    imported = list(imported)
    imported_ids = {kr.pk for kr in imported}
    parent_ids = {kr.parent_id for kr in imported if kr.stage is not None and kr.parent_id}
    if not parent_ids:
        return [], []
    stages = list(
        KeyResult.objects.filter(
            organization=org,
            parent_id__in=parent_ids,
            parent__aggregation=Aggregation.SEQUENTIAL,
            stage__isnull=False,
        ).only("id", "parent_id", "stage")
    )
    totals: dict[int, Decimal] = {}
    for kr_id, value in HistoryPoint.objects.filter(
        organization=org, kr_id__in=[stage.pk for stage in stages]
    ).values_list("kr_id", "value"):
        totals[kr_id] = totals.get(kr_id, Decimal(0)) + value
    by_place = {(stage.parent_id, stage.stage): stage for stage in stages}
    ratios, skipped = [], []
    for stage in sorted(stages, key=lambda kr: (kr.parent_id, kr.stage)):
        previous = by_place.get((stage.parent_id, stage.stage - 1))
        if (
            previous is None
            or not {stage.pk, previous.pk} & imported_ids
            or stage.pk not in totals
            or previous.pk not in totals
        ):
            continue
        ratio, reason = _stage_ratio(stage, previous, totals)
        if ratio is None:
            skipped.append({"kr": stage.pk, "reason": reason})
            continue
        ratios.append({"kr": stage.pk, "historical_ratio": ratio})
    kr_historical_ratios_set(org=org, ratios={r["kr"]: r["historical_ratio"] for r in ratios})
    return ratios, skipped


@dataclass(frozen=True)
class HistoryCheck:
    """A history file checked as `history_import` checks it, nothing written: what it
    would import and every error, with the organization's key results it names."""

    parsed: ParsedImport
    krs: dict[int, KeyResult]  # with cycle and department


def history_check(*, scope: Scope, content: bytes) -> HistoryCheck:
    """Check a history file for the caller of `scope` (who may import for which KR, as in
    `history_import`): the page's preview, and the import itself before it writes."""
    table = _read(content)
    krs = _krs_named(scope.org, _kr_ids(table))
    infos = {
        kr.pk: KrInfo(
            id=kr.pk,
            periods=kr.cycle.periods,
            metric_kind=kr.metric_kind,
            editable=kr_can_edit(scope, kr),
        )
        for kr in krs.values()
    }
    return HistoryCheck(parsed=_parse(table, infos), krs=krs)


@transaction.atomic
def history_import(
    *,
    org: Organization,
    actor: AbstractBaseUser,
    scope: Scope,
    filename: str,
    content: bytes,
) -> ImportResult:
    """Import a history file whole or not at all (SPEC.md §7).

    Raises `ImportRejected` with every row error when anything is wrong. Else
    records an `ImportBatch`, replaces the history of every KR in the file, and
    updates the historical ratios of the funnel stages it touches.
    """
    if scope.org.pk != org.pk:
        raise ValueError("The scope belongs to another organization.")
    checked = history_check(scope=scope, content=content)
    parsed, krs = checked.parsed, checked.krs
    if parsed.errors:
        raise ImportRejected(parsed.errors)
    batch = ImportBatch.objects.create(
        organization=org, filename=filename[:255], rows=parsed.rows, uploaded_by=actor
    )
    kr_ids = _history_replace(org, batch, parsed.points)
    ratios, skipped = _ratios_update(org, (krs[kr_id] for kr_id in kr_ids))
    return ImportResult(
        batch_id=batch.pk, rows=parsed.rows, krs=kr_ids, ratios=ratios, skipped_ratios=skipped
    )
