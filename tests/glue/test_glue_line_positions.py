"""Line numbers and first copies when Spark reads one file in several splits, in parallel.

The job numbers lines from a per-split line count (no per-file window), so a file cut into
many splits must still report each quarantined line at its true 1-based line number, and the
first copy of a repeated order id must be the earlier line, in whichever split it sits.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from sales_job import spark_io
from sales_job.contract import MAX_LINE_BYTES, SALES_COLUMNS, Reason
from sales_job.csv_lines import first_content_line, plan_header
from sales_job.lake_fs import LakeFs
from tests.support.lake import (
    SALES_HEADER,
    output_dir,
    read_partition,
    run_day,
    sales_dir,
    write_customers,
    write_file,
)

DAY = "2024-01-15"
LINES = 400
SPLIT_BYTES = 2048  # about 45 lines per split


def sales_line(number: int) -> str:
    return f"{number:06d},C001,P001,2,10.00,{DAY},North"


# line number -> (the line, the reason it must be quarantined with)
BAD_LINES = {
    2: ("000002,C001,P001,two,10.00,2024-01-15,North", Reason.INVALID_QUANTITY),
    97: ("000097,C999,P001,2,10.00,2024-01-15,North", Reason.UNKNOWN_CUSTOMER),
    203: ("000203,C001,P001,2,10.00,2024-01-15", Reason.WRONG_COLUMN_COUNT),
    # A copy of line 5's order id, many splits later: the later line is the duplicate.
    351: (sales_line(5), Reason.DUPLICATE_ORDER_ID),
    400: ("000400,C001,P001,2,-1.00,2024-01-15,North", Reason.NON_POSITIVE_PRICE),
}


@pytest.fixture
def small_splits(spark) -> Iterator[None]:
    """Let Spark cut even a small file into many splits (restored afterwards)."""
    keys = ("spark.sql.files.maxPartitionBytes", "spark.sql.files.openCostInBytes")
    before = {key: spark.conf.get(key) for key in keys}
    for key in keys:
        spark.conf.set(key, str(SPLIT_BYTES))
    try:
        yield
    finally:
        for key, value in before.items():
            spark.conf.set(key, value)


@pytest.mark.parametrize("hash_filter", ["on", "off"])
def test_line_numbers_and_first_copies_across_splits(
    spark, tmp_path: Path, small_splits, monkeypatch: pytest.MonkeyPatch, hash_filter: str
) -> None:
    if hash_filter == "off":  # as for a day repeating more ids than one filter may list
        monkeypatch.setattr(spark_io, "MAX_HASH_FILTER", 0)
    lines = [SALES_HEADER] + [
        BAD_LINES[n][0] if n in BAD_LINES else sales_line(n) for n in range(2, LINES + 1)
    ]
    path = write_file(sales_dir(tmp_path, DAY) / "part-0000.csv", "\n".join(lines) + "\n")
    write_customers(tmp_path)
    splits = spark.read.text(str(path)).select("_metadata.file_block_start").distinct().count()
    assert splits > 5, "the file must really be read in several splits"

    manifest = run_day(spark, tmp_path, DAY, max_quarantine_ratio="1")

    quarantine = read_partition(spark, output_dir(tmp_path, "quarantine", DAY))
    got = {q["line_number"]: (q["raw_line"], q["reason"]) for q in quarantine}
    assert got == BAD_LINES
    assert (manifest["rows_in"], manifest["rows_valid"]) == (LINES - 1, LINES - 1 - len(BAD_LINES))


@pytest.mark.parametrize(
    ("first_line", "text", "columns"),
    [
        (SALES_HEADER, SALES_HEADER, SALES_COLUMNS),
        (
            ' price ,"order_id",customer_id,product_id,quantity,order_date,region',
            ' price ,"order_id",customer_id,product_id,quantity,order_date,region',
            ("price", "order_id", "customer_id", "product_id", "quantity", "order_date", "region"),
        ),
        ("order_id,customer_id", "order_id,customer_id", None),  # names some: a bad header
        (SALES_HEADER + ",order_id", SALES_HEADER + ",order_id", None),  # a repeated name
        (SALES_HEADER.upper(), None, None),  # names none: no header, the line is a row
        ("invalid,data,format", None, None),
        (None, None, None),  # an empty file
    ],
)
def test_a_files_first_line_decides_its_header(first_line, text, columns) -> None:
    plan = plan_header(first_line, SALES_COLUMNS)
    assert (plan.text, plan.columns) == (text, columns)


def test_the_first_line_read_on_the_driver_skips_blank_lines_and_the_bom(
    spark, tmp_path: Path
) -> None:
    path = write_file(tmp_path / "a.csv", b"\r\n  \r\n\xef\xbb\xbforder_id,x\r\n1,2\r\n")
    with closing(LakeFs(spark).lines(f"file://{path}", MAX_LINE_BYTES)) as lines:
        assert first_content_line(lines) == "order_id,x"
