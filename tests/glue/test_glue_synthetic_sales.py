"""The synthetic lake generator: determinism, sizes, the recipe sample, agreement with the job."""

from __future__ import annotations

import csv
import hashlib
import json
from datetime import date
from pathlib import Path

from local.data import synthetic_sales as gen
from sales_job.contract import CUSTOMER_COLUMNS, SALES_COLUMNS
from tests.support.lake import run_day


def tree_digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def read_csv(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def test_headers_are_the_job_contract():
    assert gen.SALES_HEADER == SALES_COLUMNS
    assert gen.CUSTOMER_HEADER == CUSTOMER_COLUMNS


def test_same_arguments_give_identical_bytes_and_a_day_does_not_depend_on_the_range(tmp_path):
    kwargs = dict(orders_per_day=300, customers=50, bad_row_rate=0.05, seed=3)
    gen.write_synthetic_lake(tmp_path / "a", start=date(2024, 2, 1), days=3, **kwargs)
    gen.write_synthetic_lake(tmp_path / "b", start=date(2024, 2, 1), days=3, **kwargs)
    assert tree_digest(tmp_path / "a") == tree_digest(tmp_path / "b")

    gen.write_synthetic_lake(tmp_path / "c", start=date(2024, 2, 3), days=1, **kwargs)
    day3 = "raw-data/sales/order_date=2024-02-03/part-0000.csv"
    assert tree_digest(tmp_path / "a")[day3] == tree_digest(tmp_path / "c")[day3]

    gen.write_synthetic_lake(
        tmp_path / "d", start=date(2024, 2, 1), days=1, **{**kwargs, "seed": 4}
    )
    day1 = "raw-data/sales/order_date=2024-02-01/part-0000.csv"
    assert tree_digest(tmp_path / "a")[day1] != tree_digest(tmp_path / "d")[day1]


def test_counts_files_and_injected_defects(tmp_path):
    summary = gen.write_synthetic_lake(
        tmp_path, start=date(2024, 2, 1), days=2, orders_per_day=500, customers=40,
        bad_row_rate=0.2, seed=5, files_per_day=3,
    )  # fmt: skip
    assert [d.day for d in summary.days] == ["2024-02-01", "2024-02-02"]
    for day in summary.days:
        rows = []
        for path in day.files:
            content = read_csv(Path(path))
            assert content[0] == list(SALES_COLUMNS)
            rows.extend(content[1:])
        assert len(day.files) == 3
        assert len(rows) == day.rows == 500
        assert 60 < sum(day.bad_rows.values()) < 140  # 20% of 500, give or take
        assert set(day.bad_rows) <= set(gen.BAD_KINDS)
        short_rows = sum(1 for r in rows if len(r) != len(SALES_COLUMNS))
        assert short_rows == day.bad_rows.get("wrong_column_count", 0)
    customers = read_csv(tmp_path / "raw-data/customers/snapshot_date=2024-02-01/customers.csv")
    assert customers[0] == list(CUSTOMER_COLUMNS)
    assert len(customers) == 41
    assert customers[25][1] == 'Smith, "J25"'  # quoting survives a round trip


def test_recipe_sample_is_the_recipe_data(tmp_path):
    summary = gen.write_recipe_sample_lake(tmp_path)
    assert [(d.day, d.rows) for d in summary.days] == [(f"2024-01-{n}", 2) for n in range(15, 20)]
    rows = []
    for day in summary.days:
        content = read_csv(Path(day.files[0]))
        assert all(r[5] == day.day for r in content[1:])
        rows.extend(tuple(r) for r in content[1:])
    assert tuple(rows) == gen.RECIPE_SALES
    assert rows[0] == ("1001", "C001", "P001", "2", "29.99", "2024-01-15", "North")
    customers = read_csv(tmp_path / "raw-data/customers/snapshot_date=2024-01-15/customers.csv")
    assert [tuple(r) for r in customers[1:]] == list(gen.RECIPE_CUSTOMERS)
    assert len(customers) == 8


def test_cli_writes_a_lake_and_prints_its_summary(tmp_path, capsys):
    out = tmp_path / "lake"
    assert (
        gen.main(["--out", str(out), "--days", "2", "--orders-per-day", "5", "--customers", "3"])
        == 0
    )
    summary = json.loads(capsys.readouterr().out)
    assert [d["rows"] for d in summary["days"]] == [5, 5]
    assert (out / "raw-data/sales/order_date=2024-01-02/part-0000.csv").exists()


def test_job_quarantines_exactly_the_injected_defects(spark, tmp_path):
    summary = gen.write_synthetic_lake(
        tmp_path, start=date(2024, 2, 1), days=1, orders_per_day=400, customers=30,
        bad_row_rate=0.25, seed=9, files_per_day=2,
    )  # fmt: skip
    [day] = summary.days
    manifest = run_day(spark, tmp_path, day.day, max_quarantine_ratio="1")
    assert manifest["quarantine_reasons"] == day.bad_rows
    assert manifest["rows_in"] == day.rows
    assert manifest["rows_valid"] == day.rows - sum(day.bad_rows.values())
