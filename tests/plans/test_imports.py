"""plans/imports.py: the pure parser of history files (SPEC.md §7). No database."""

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hierarchy.periods import periods_derive
from plans.imports import (
    MAX_BYTES,
    MAX_ERRORS,
    MAX_ROWS,
    KrInfo,
    RowError,
    kr_ids_named,
    parse_history_csv,
)

D = Decimal
PERIODS = periods_derive(date(2026, 1, 1), date(2026, 3, 31), "month")
VISITORS = KrInfo(id=7, periods=PERIODS, metric_kind="cumulative", editable=True)
NPS = KrInfo(id=8, periods=PERIODS, metric_kind="level", editable=True)
THEIRS = KrInfo(id=9, periods=PERIODS, metric_kind="cumulative", editable=False)
KRS = {kr.id: kr for kr in (VISITORS, NPS, THEIRS)}
HEADER = "kr,period,date,value\n"


def parse(content: str | bytes, krs: dict[int, KrInfo] = KRS):
    data = content.encode() if isinstance(content, str) else content
    return parse_history_csv(data, krs=krs)


def test_it_sums_rows_per_kr_and_period():
    result = parse(HEADER + "7,0,,100\n7,,2026-01-15,50\n7,,2026-02-01,70.5\n7,2,,0\n8,1,,42\n")
    assert result.errors == []
    assert result.rows == 5
    assert result.points == {
        (7, 0): D(150),
        (7, 1): D("70.5"),
        (7, 2): D(0),
        (8, 1): D(42),
    }


def test_it_reads_columns_in_any_order_and_case_with_a_bom_and_crlf():
    content = "\ufeff Value ;".replace(";", ",") + " KR , Date \r\n1.5, 7 , 2026-03-31\r\n"
    result = parse(content)
    assert result.errors == []
    assert result.points == {(7, 2): D("1.5")}


def test_it_needs_only_one_of_period_and_date_columns():
    assert parse("kr,period,value\n7,1,3\n").points == {(7, 1): D(3)}
    assert parse("kr,date,value\n7,2026-02-10,3\n").points == {(7, 1): D(3)}


def test_it_skips_blank_rows_but_keeps_their_numbers():
    result = parse(HEADER + "7,0,,1\n\n,,,\n7,x,,1\n")
    assert result.rows == 2
    assert [error.row for error in result.errors] == [5]


def test_it_reads_quoted_cells():
    assert parse('kr,period,value\n"7","0","1000.25"\n').points == {(7, 0): D("1000.25")}


@pytest.mark.parametrize(
    "content",
    [
        b"kr,period,value\n7,0,caf\xe9\n",
        "kr,period,value\n7,0,1\n".encode("utf-16"),
        b"\xff\xfe\x00\x00",
    ],
)
def test_it_rejects_a_file_that_is_not_utf8_in_one_error(content):
    result = parse(content)
    assert len(result.errors) == 1
    assert result.errors[0].row == 0
    assert "not UTF-8 text" in result.errors[0].message
    assert result.points == {}


@pytest.mark.parametrize(
    ("header", "words"),
    [
        ("kr,value", "missing column(s) period or date"),
        ("period,value", "missing column(s) kr"),
        ("kr,period", "missing column(s) value"),
        ("7,0,5", "missing column(s) kr, period or date, value"),
        ("kr,period,value,note", 'unknown column(s) "note"'),
        ("kr,period,value,", "unknown column(s) (a column with no name)"),
        ("kr,period,kr,value", 'the column "kr" appears more than once'),
    ],
)
def test_it_rejects_a_bad_header_on_row_1(header, words):
    result = parse(f"{header}\n7,0,5\n")
    assert result.errors, header
    assert {error.row for error in result.errors} == {1}
    assert any(words in error.message for error in result.errors), result.errors
    assert all(error.message.startswith("header:") for error in result.errors)


@pytest.mark.parametrize(
    ("row", "words"),
    [
        ("x,0,,1", 'kr: "x" is not a key result id'),
        ("7.0,0,,1", 'kr: "7.0" is not a key result id'),
        (",0,,1", "kr: empty"),
        ("999,0,,1", "kr: there is no key result 999 in this organization."),
        ("9" * 40 + ",0,,1", "kr: there is no key result"),
        ("9,0,,1", "kr: you may not import history for key result 9."),
        ("7,3,,1", "period: 3 is out of range; key result 7 has periods 0 to 2."),
        ("7,-1,,1", "period: -1 is out of range; key result 7 has periods 0 to 2."),
        ("7," + "9" * 30 + ",,1", "is out of range; key result 7 has periods 0 to 2."),
        ("7,one,,1", 'period: "one" is not a period index'),
        ("7,1.5,,1", 'period: "1.5" is not a period index'),
        ("7,,2025-12-31,1", "date: 2025-12-31 is outside the cycle of key result 7"),
        ("7,,2026-04-01,1", "(2026-01-01 to 2026-03-31)"),
        ("7,,2026-02-30,1", 'date: "2026-02-30" is not a date (YYYY-MM-DD).'),
        ("7,,01/02/2026,1", 'date: "01/02/2026" is not a date'),
        ("7,,20260105,1", 'date: "20260105" is not a date'),
        ("7,,2026-01-05T10:00,1", "date: "),
        ("7,1,2026-01-05,1", "period, date: give a period or a date, not both."),
        ("7,,,1", "period, date: empty"),
        ("7,0,,", "value: empty"),
        ("7,0,,NaN", "value: “NaN” is not a number (write digits"),
        ("7,0,,nan", "value: "),
        ("7,0,,Infinity", "value: “Infinity” is not a number"),
        ("7,0,,-inf", "value: "),
        ("7,0,,abc", "value: “abc” is not a number"),
        ("7,0,,1_000", "value: “1_000” is not a number"),
        ("7,0,,+5", "value: “+5” is not a number"),
        ("7,0,,.5", "value: “.5” is not a number"),
        ("7,0,,\u0661\u0662", "value: “\u0661\u0662” is not a number"),
        ("7,0,,0x10", "value: "),
        ("7,0,,1e999999999999999999999", "value: "),
        ("7,0,,1e400", "value: “1e400” is not a number"),
        ("7,0,,1e15", "value: “1e15” is not a number"),
        ("7,0,,1000000000000000", "value: Must be smaller than 1,000,000,000,000,000 in size."),
        ("8,0,,-1000000000000000", "value: "),
        ("7,0,,0.0000001", "value: "),
        ("7,0,,1e-999999999999", "value: "),
        ("7,0,,-1", 'value: "-1" is negative; key result 7 is cumulative'),
        ("7,0,1", "this row has 3 cell(s); the header has 4 (kr, period, date, value)."),
        ("7,0,,1,2", "this row has 5 cell(s)"),
    ],
)
def test_it_rejects_a_bad_row_naming_the_column_and_the_reason(row, words):
    result = parse(HEADER + "7,0,,5\n" + row + "\n")
    assert [error.row for error in result.errors] == [3], result.errors
    assert words in result.errors[0].message
    assert result.points == {}


def test_it_reports_every_problem_of_every_bad_row():
    result = parse(HEADER + "7,0,,5\nx,0,,1\n7,0,,5\n7,9,,NaN\n8,,,\n")
    assert result.rows == 5
    assert [(error.row, error.message.split(":")[0]) for error in result.errors] == [
        (3, "kr"),
        (5, "period"),
        (5, "value"),
        (6, "period, date"),
        (6, "value"),
    ]
    assert result.points == {}


def test_it_gives_an_unknown_id_one_message_whatever_the_reason():
    first = parse(HEADER + "123,0,,1\n", krs={}).errors[0].message
    second = parse(HEADER + "456,0,,1\n", krs={}).errors[0].message
    assert first.replace("123", "N") == second.replace("456", "N")


def test_it_allows_negative_values_for_a_level_kr():
    assert parse(HEADER + "8,0,,-12.5\n").points == {(8, 0): D("-12.5")}


def test_it_rejects_two_values_for_one_period_of_a_level_kr():
    result = parse(HEADER + "8,0,,40\n8,,2026-01-20,42\n")
    assert result.errors == [
        RowError(
            3,
            "period: key result 8 is a level (measured at a moment) and has a value for period 0 "
            "on row 2 already; give one value per period.",
        )
    ]


def test_it_rejects_a_period_total_that_grows_too_large():
    result = parse(HEADER + "7,0,,900000000000000\n7,0,,100000000000000\n7,0,,1\n")
    assert [error.row for error in result.errors] == [3]
    assert result.errors[0].message.startswith("value: the values of key result 7 for period 0")


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"", "The file is empty"),
        (b"\n\n  \n", "The file is empty"),
        (b"\xef\xbb\xbf", "The file is empty"),
        (b"kr,period,value\n", "The file has no data rows"),
        (b"kr,period,value\n\n,,\n", "The file has no data rows"),
    ],
)
def test_it_rejects_a_file_without_data_rows(content, words):
    result = parse(content)
    assert result.errors == [RowError(0, result.errors[0].message)]
    assert words in result.errors[0].message


def test_it_rejects_more_than_the_row_cap():
    result = parse("kr,period,value\n" + "7,0,1\n" * (MAX_ROWS + 1))
    assert [error.row for error in result.errors] == [0]
    assert "more than 100,000 data rows" in result.errors[0].message
    assert result.points == {}


def test_it_accepts_exactly_the_row_cap():
    result = parse("kr,period,value\n" + "7,0,1\n" * MAX_ROWS)
    assert result.errors == []
    assert result.points == {(7, 0): D(MAX_ROWS)}


def test_it_rejects_a_file_over_the_size_cap():
    content = b"kr,period,value\n" + b"7,0,1" + b" " * MAX_BYTES + b"\n"
    result = parse(content)
    assert result.errors == [RowError(0, "The file is larger than 10 MB.")]


def test_it_lists_a_bounded_number_of_errors_and_counts_the_rest():
    result = parse("kr,period,value\n" + "x,0,1\n" * (MAX_ERRORS + 5))
    assert len(result.errors) == MAX_ERRORS + 1
    assert result.errors[-1].row == 0
    assert "5 more error(s)" in result.errors[-1].message


def test_it_names_the_kr_ids_of_a_file_even_when_rows_are_bad():
    content = b"value,kr,period\n1,7,0\nx,12,NaN\n1,abc,0\n1,7,1\n1\n"
    assert kr_ids_named(content) == {7, 12}
    assert kr_ids_named(b"period,value\n0,1\n") == set()
    assert kr_ids_named(b"\xff") == set()


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=2),
            st.decimals(min_value=0, max_value=10**9, places=2, allow_nan=False),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_it_keeps_the_total_of_any_good_cumulative_file(rows):
    content = "kr,period,value\n" + "".join(f"7,{period},{value}\n" for period, value in rows)
    result = parse(content)
    assert result.errors == []
    assert result.rows == len(rows)
    assert sum(result.points.values()) == sum(value for _, value in rows)
    assert set(result.points) == {(7, period) for period, _ in rows}


def test_it_lists_the_rows_that_passed_with_their_numbers_also_beside_errors():
    result = parse(HEADER + "7,0,,100\n\n7,,2026-02-01,70.5\n7,x,,1\n8,2,,42\n")
    assert [error.row for error in result.errors] == [5]
    assert result.points == {}  # a bad row: nothing to import
    assert [(line.row, line.kr, line.period, line.value) for line in result.accepted] == [
        (2, 7, 0, D(100)),
        (4, 7, 1, D("70.5")),
        (6, 8, 2, D(42)),
    ]
