"""One test per kind of bad input. All kinds sit in one sales partition, one file per kind, and
the job runs once (max_quarantine_ratio=1 so it publishes). Each test checks its own file: which
lines were quarantined with which reason (from the job's quarantine output, raw line included),
which lines are valid (from the same pure transforms the job runs), and that every data line of
the file is accounted for exactly once.
"""

from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from sales_job.args import JobArgs
from sales_job.contract import CUSTOMER_COLUMNS, SALES_COLUMNS, Reason
from sales_job.csv_lines import HeaderPlan, plan_header
from sales_job.daily_run import SalesEtlError, run_sales_etl
from sales_job.manifest import collect_line_counts
from sales_job.run_context import RunContext
from sales_job.spark_io import read_parsed_lines, without_later_copies
from sales_job.validation import check_rows, select_customers
from tests.support import lake as lake_files
from tests.support.fake_catalog import catalog_for
from tests.support.lake import (
    SALES_HEADER,
    job_args,
    output_dir,
    read_partition,
    sales_dir,
    write_customers,
    write_file,
)

DAY = "2024-01-15"
H = SALES_HEADER
LINE_LIMIT = 120  # bytes: lowered for this lake (every other line here is shorter)


def row(order_id: str, customer: str = "C001", quantity: str = "2", price: str = "10.00",
        order_date: str = DAY, region: str = "North", product: str = "P001") -> str:  # fmt: skip
    return ",".join([order_id, customer, product, quantity, price, order_date, region])


FILES: dict[str, str | bytes] = {
    "00_good.csv": "\n".join([H, row("1001"), row("1002", "C002"), row("1003", "C003")]) + "\n",
    # The expected names in another order, spaced: read by name (price and quantity swapped).
    "reordered_header.csv": " price , order_id,customer_id,product_id,quantity,order_date,region\n"
    + "\n".join(
        ["10.00,1051,C001,P001,2,2024-01-15,North", "3.50,1052,C002,P002,4,2024-01-15,East"]
    )
    + "\n",
    "missing_column.csv": "order_id,customer_id,product_id,quantity,price,order_date\n"
    + "\n".join([row("1101"), row("1102")])
    + "\n",
    "unknown_column.csv": "order_id,customer_id,product_id,quantity,price,order_date,zone\n"
    + row("1111")
    + "\n",
    "duplicated_column.csv": "order_id,order_id,product_id,quantity,price,order_date,region\n"
    + row("1121")
    + "\n",
    "extra_column.csv": H + ",channel\n" + row("1131") + ",web\n",
    # Case matters, as for the exact header: this is not a header, so it may be data.
    "uppercase_header.csv": H.upper() + "\n" + row("1141") + "\n",
    "recipe_invalid.csv": "invalid,data,format\n",
    "wrong_columns.csv": "\n".join(
        [H, "1201,C001,P001,2,10.00,2024-01-15", row("1202") + ",extra", '1203,"C001,P001,2']
    )
    + "\n",
    "missing_field.csv": "\n".join([H, row("1301", customer=""), row("1302", region=" ")]) + "\n",
    "invalid_quantity.csv": "\n".join([H, row("1401", quantity="two"), row("1402", quantity="2.5")])
    + "\n",
    "non_positive_quantity.csv": "\n".join(
        [H, row("1501", quantity="-1"), row("1502", quantity="0")]
    )
    + "\n",
    "invalid_price.csv": "\n".join([H, row("1601", price="abc"), row("1602", price="9.999")])
    + "\n",
    "non_positive_price.csv": "\n".join([H, row("1701", price="-9.99"), row("1702", price="0.00")])
    + "\n",
    "invalid_date.csv": "\n".join(
        [
            H,
            row("1801", order_date="2024-13-45"),
            row("1802", order_date="15/01/2024"),
            row("1803", order_date="2024-02-30"),
        ]
    )
    + "\n",
    "date_mismatch.csv": "\n".join([H, row("1901", order_date="2024-01-16")]) + "\n",
    "unknown_customer.csv": "\n".join([H, row("2001", customer="C999")]) + "\n",
    # 2101: first valid copy kept, later copies (same file, later file) quarantined.
    # 2102: the first copy is invalid, so the later valid copy is kept.
    "duplicate_a.csv": "\n".join(
        [H, row("2101"), row("2101", quantity="5"), row("2102", quantity="x"), row("2102")]
    )
    + "\n",
    "duplicate_b.csv": "\n".join([H, row("2101", customer="C002")]) + "\n",
    "blank_lines.csv": f"{H}\n\n{row('2201')}\n   \n{row('2202')}\n\n",
    "quoted.csv": "\n".join(
        [
            H,
            '2301,C003,"P-9,1",1,5.00,2024-01-15,"North, Upper"',
            '"2302","C001","P002","3","1.50","2024-01-15","South ""Q"""',
        ]
    )
    + "\n",
    "crlf.csv": "\r\n".join([H, row("2401"), row("2402", region="East")]) + "\r\n",
    "bom.csv": b"\xef\xbb\xbf" + ("\n".join([H, row("2501")]) + "\n").encode(),
    "empty.csv": b"",
    "header_only.csv": H + "\n",
    # Latin-1, not UTF-8: the id and the region each hold one such byte.
    "latin1.csv": (
        "\n".join([H, row("2601"), row("26\xe902"), row("2603", region="K\xf6ln")]) + "\n"
    ).encode("latin-1"),
    "long_line.csv": "\n".join([H, row("2701"), row("2702", region="N" * LINE_LIMIT)]) + "\n",
}


def text_of(content: str | bytes) -> str:
    return content.decode("utf-8", "replace") if isinstance(content, bytes) else content


def non_blank_lines(content: str | bytes) -> list[tuple[int, str]]:
    lines = text_of(content).lstrip("\ufeff").splitlines()
    return [(i, line) for i, line in enumerate(lines, start=1) if line.strip()]


def has_header(content: str | bytes) -> bool:
    """Independent rule: the first non-blank line names at least one expected column."""
    numbered = non_blank_lines(content)
    names = {f.strip().strip('"').strip() for f in numbered[0][1].split(",")} if numbered else set()
    return bool(names & set(SALES_COLUMNS))


def data_lines(content: str | bytes) -> list[int]:
    """Independent count: line numbers that are rows (non-blank, not the header)."""
    numbered = non_blank_lines(content)
    if has_header(content):
        numbered = numbered[1:]
    return [i for i, _ in numbered]


@pytest.fixture(scope="module")
def outcome(spark, tmp_path_factory) -> dict[str, Any]:
    base: Path = tmp_path_factory.mktemp("bad-inputs-lake")
    for name, content in FILES.items():
        write_file(sales_dir(base, DAY) / name, content)
    write_customers(base)
    args = job_args(base, DAY, max_quarantine_ratio="1")
    manifest = run_sales_etl(
        spark, dataclasses.replace(args, max_line_bytes=LINE_LIMIT), catalog_for(base)
    )

    # The job's own classification (check_rows, then without_later_copies), with every
    # column check_rows gives, collected so per-line outcomes can be checked.
    folder = sales_dir(base, DAY)
    uris = [f"file://{folder / name}" for name in sorted(FILES)]
    snapshot = base / "raw-data/customers/snapshot_date=2024-01-01/customers.csv"
    own_args = JobArgs(date(2024, 1, 15), f"file://{base}", max_line_bytes=LINE_LIMIT)
    with RunContext.start(spark, own_args) as ctx:
        customers = select_customers(
            read_parsed_lines(ctx, [f"file://{snapshot}"], CUSTOMER_COLUMNS)
        )
        lines = read_parsed_lines(ctx, uris, SALES_COLUMNS)
        checked = check_rows(lines, customers, ctx.day)
        classified_lines = without_later_copies(ctx, checked, [])
        _counts, line_numbers = collect_line_counts(classified_lines)
        numbered = line_numbers.add_to(classified_lines)
        classified = [r.asDict() for r in numbered.collect()]
    quarantine = read_partition(spark, output_dir(base, "quarantine", DAY))
    return {"manifest": manifest, "classified": classified, "quarantine": quarantine}


def check_file(
    outcome: dict[str, Any], name: str, quarantined: dict[int, str], valid: list[int]
) -> list[dict[str, Any]]:
    """Assert the file's quarantined lines/reasons and valid lines; return its valid rows."""
    content = FILES[name]
    raw_lines = text_of(content).splitlines()
    got_quarantine = {
        q["line_number"]: q for q in outcome["quarantine"] if q["source_file"] == name
    }
    assert {n: q["reason"] for n, q in got_quarantine.items()} == quarantined
    for number, q in got_quarantine.items():
        raw = raw_lines[number - 1]
        if q["reason"] == Reason.LINE_TOO_LONG:
            raw = raw[:LINE_LIMIT]  # ASCII here: bytes are characters
        assert q["raw_line"].lstrip("\ufeff") == raw.lstrip("\ufeff")
    rows = [r for r in outcome["classified"] if r["source_file"] == name]
    valid_rows = [r for r in rows if r["line_kind"] == "row" and r["reason"] is None]
    assert sorted(r["line_number"] for r in valid_rows) == valid
    # Reconciliation for this file: every data line is valid or quarantined, exactly once.
    assert sorted([*quarantined, *valid]) == data_lines(content)
    return valid_rows


def test_well_formed_file_is_all_valid(outcome):
    rows = check_file(outcome, "00_good.csv", {}, [2, 3, 4])
    assert {r["customer_id"] for r in rows} == {"C001", "C002", "C003"}


def test_reordered_header_is_read_by_name(outcome):
    rows = check_file(outcome, "reordered_header.csv", {}, [2, 3])
    got = {r["order_id"]: (r["quantity"], str(r["price"]), str(r["amount"])) for r in rows}
    assert got == {"1051": (2, "10.00", "20.00"), "1052": (4, "3.50", "14.00")}


@pytest.mark.parametrize(
    ("name", "rows"),
    [
        ("missing_column.csv", [2, 3]),
        ("unknown_column.csv", [2]),
        ("duplicated_column.csv", [2]),
        ("extra_column.csv", [2]),
    ],
)
def test_header_with_a_missing_unknown_or_repeated_column_quarantines_its_rows(outcome, name, rows):
    # The header line is a header, not a row: only the data lines are quarantined.
    check_file(outcome, name, dict.fromkeys(rows, Reason.BAD_HEADER), [])


def test_first_line_naming_no_column_is_a_quarantined_row(outcome):
    check_file(outcome, "uppercase_header.csv", {1: Reason.BAD_HEADER, 2: Reason.BAD_HEADER}, [])


def test_recipe_one_line_file_is_one_quarantined_row(outcome):
    check_file(outcome, "recipe_invalid.csv", {1: Reason.BAD_HEADER}, [])
    [q] = [q for q in outcome["quarantine"] if q["source_file"] == "recipe_invalid.csv"]
    assert q["raw_line"] == "invalid,data,format"


@pytest.mark.parametrize(
    ("name", "reason", "lines"),
    [
        pytest.param(
            "wrong_columns.csv", Reason.WRONG_COLUMN_COUNT, (2, 3, 4), id="columns-quoting"
        ),
        pytest.param("missing_field.csv", Reason.MISSING_FIELD, (2, 3), id="empty-or-blank-field"),
        pytest.param("invalid_quantity.csv", Reason.INVALID_QUANTITY, (2, 3), id="quantity-text"),
        pytest.param(
            "non_positive_quantity.csv", Reason.NON_POSITIVE_QUANTITY, (2, 3), id="quantity<=0"
        ),
        pytest.param("invalid_price.csv", Reason.INVALID_PRICE, (2, 3), id="price-text-sub-cent"),
        pytest.param("non_positive_price.csv", Reason.NON_POSITIVE_PRICE, (2, 3), id="price<=0"),
        pytest.param("invalid_date.csv", Reason.INVALID_ORDER_DATE, (2, 3, 4), id="bad-date"),
    ],
)
def test_a_file_of_one_bad_kind_quarantines_each_row_with_its_reason(outcome, name, reason, lines):
    check_file(outcome, name, dict.fromkeys(lines, reason), [])


def test_order_date_of_another_day(outcome):
    check_file(outcome, "date_mismatch.csv", {2: Reason.ORDER_DATE_MISMATCH}, [])


def test_customer_not_in_snapshot(outcome):
    check_file(outcome, "unknown_customer.csv", {2: Reason.UNKNOWN_CUSTOMER}, [])


def test_duplicate_order_id_keeps_first_valid_copy_by_file_then_line(outcome):
    kept = check_file(
        outcome,
        "duplicate_a.csv",
        {3: Reason.DUPLICATE_ORDER_ID, 4: Reason.INVALID_QUANTITY},
        [2, 5],
    )
    assert {(r["order_id"], r["quantity"]) for r in kept} == {("2101", 2), ("2102", 2)}
    check_file(outcome, "duplicate_b.csv", {2: Reason.DUPLICATE_ORDER_ID}, [])


def test_blank_lines_are_not_rows(outcome):
    check_file(outcome, "blank_lines.csv", {}, [3, 5])
    assert outcome["manifest"]["lines"]["blank"] == 3


def test_quoted_commas_and_escaped_quotes_parse(outcome):
    rows = check_file(outcome, "quoted.csv", {}, [2, 3])
    assert {(r["product_id"], r["region"]) for r in rows} == {
        ("P-9,1", "North, Upper"),
        ("P002", 'South "Q"'),
    }


def test_crlf_line_endings(outcome):
    rows = check_file(outcome, "crlf.csv", {}, [2, 3])
    assert sorted(r["region"] for r in rows) == ["East", "North"]


def test_utf8_bom(outcome):
    rows = check_file(outcome, "bom.csv", {}, [2])
    assert rows[0]["order_id"] == "2501"


def test_lines_that_are_not_utf8_are_quarantined(outcome):
    check_file(outcome, "latin1.csv", dict.fromkeys((3, 4), Reason.INVALID_UTF8), [2])


def test_a_line_over_the_length_limit_is_quarantined(outcome):
    check_file(outcome, "long_line.csv", {3: Reason.LINE_TOO_LONG}, [2])


def test_empty_file_has_no_rows_and_is_reported(outcome):
    check_file(outcome, "empty.csv", {}, [])
    assert outcome["manifest"]["input_files"]["empty"] == ["empty.csv"]


def test_header_only_file_has_no_rows_and_is_reported(outcome):
    check_file(outcome, "header_only.csv", {}, [])
    assert outcome["manifest"]["input_files"]["without_rows"] == ["header_only.csv"]


def test_manifest_reconciles_with_an_independent_line_count(outcome):
    m = outcome["manifest"]
    expected_rows = sum(len(data_lines(c)) for c in FILES.values())
    assert m["status"] == "succeeded"
    assert m["rows_in"] == expected_rows
    assert m["rows_in"] == m["rows_valid"] + m["rows_quarantined"]
    assert (
        m["rows_quarantined"] == len(outcome["quarantine"]) == sum(m["quarantine_reasons"].values())
    )
    assert m["quarantine_ratio"] == pytest.approx(m["rows_quarantined"] / m["rows_in"])
    assert m["input_files"]["count"] == len(FILES)
    assert m["lines"]["header"] == sum(has_header(c) for c in FILES.values())
    valid = [r for r in outcome["classified"] if r["line_kind"] == "row" and r["reason"] is None]
    assert m["rows_valid"] == len(valid)
    assert m["total_revenue"] == f"{sum(r['quantity'] * r['price'] for r in valid):.2f}"
    assert set(m["quarantine_reasons"]) == set(Reason.ALL)


# A file written with another delimiter: its rows stay `bad_header` (the reason code the
# Lambda and the metrics count), but the run says which delimiter its header splits on.
GOOD_ROW = f"1,C001,P1,2,5.00,{DAY},North"


@pytest.mark.parametrize("delimiter", [";", "\t", "|"])
def test_a_header_split_on_another_delimiter_is_named(delimiter):
    # Reordered, spaced and quoted names still count: the same rules as a ',' header.
    names = ['"region"', " order_id ", *SALES_COLUMNS[1:6]]
    plan = plan_header(delimiter.join(names), SALES_COLUMNS)
    assert plan.columns is None  # the job reads ',' only: its rows are bad_header
    assert plan.text == delimiter.join(names)  # a header, not a row
    assert plan.delimiter == delimiter


@pytest.mark.parametrize(
    "line",
    [
        "order_id;customer_id;product_id;quantity;price;order_date",  # a column short
        "invalid;data;format",
        ",".join(SALES_COLUMNS),  # the expected header: no hint
        "order_id,customer_id,product_id,quantity,price,order_date",  # ',' but a column short
    ],
)
def test_no_delimiter_is_named_unless_it_gives_exactly_the_columns(line):
    assert plan_header(line, SALES_COLUMNS).delimiter is None


def test_no_header_line_gives_no_hint():
    assert plan_header(None, SALES_COLUMNS) == HeaderPlan(None, None)


def test_a_semicolon_file_fails_naming_its_delimiter(spark, tmp_path):
    lake_files.write_customers(tmp_path)
    lake_files.write_sales(tmp_path, DAY, [GOOD_ROW])
    semicolon = [";".join(SALES_COLUMNS), GOOD_ROW.replace("1,", "2;", 1).replace(",", ";")]
    lake_files.write_file(
        lake_files.sales_dir(tmp_path, DAY) / "export.csv", "\n".join(semicolon) + "\n"
    )

    with pytest.raises(SalesEtlError) as caught:
        lake_files.run_day(spark, tmp_path, DAY, max_quarantine_ratio="0.4")

    hint = "export.csv: the header splits on ';', not ','"
    assert hint in str(caught.value)
    manifest = lake_files.read_manifest(tmp_path, DAY)
    assert manifest["error"] == str(caught.value)
    assert manifest["input_files"]["header_hints"] == [
        {"name": "export.csv", "hint": "the header splits on ';', not ','"}
    ]
    # The header line is the file's header, not a quarantined row: only its data row is.
    assert (manifest["rows_in"], manifest["quarantine_reasons"]) == (2, {"bad_header": 1})
    assert manifest["lines"]["header"] == 2
    [q] = lake_files.read_partition(spark, lake_files.output_dir(tmp_path, "quarantine", DAY))
    assert (q["source_file"], q["line_number"], q["reason"]) == ("export.csv", 2, "bad_header")
